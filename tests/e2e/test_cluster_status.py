"""`liveroomd cluster status` (issue #10): who leads, which nodes run, what is queued, read
from Redis (the lease and the node registry) and PostgreSQL with a node's own config file.

These run in every mode (they start their own clusters on the session's PostgreSQL and Redis)."""

import json
import subprocess
import time

from cluster import cluster_factory  # noqa: F401 (fixture)
from conftest import APP1, APP2, BINARY, require_binary, uid
from test_cluster_rooms import SLOTS, slot_host, wait_for_slot_hosts

LEASE_MS = 2000


def status(config_path, *extra):
    """(exit code, stdout, stderr) of `liveroomd cluster status`."""
    require_binary()
    p = subprocess.run([str(BINARY), "cluster", "status", "--config", str(config_path), *extra],
                       capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout, p.stderr


def status_json(config_path):
    code, out, err = status(config_path, "--json")
    assert code in (0, 1), (code, out, err)
    return code, json.loads(out)


def test_status_names_the_leader_every_node_and_what_is_stored(cluster_factory):
    cluster = cluster_factory("status", lease_ms=LEASE_MS)
    c = cluster.client()
    rooms = [uid("st") for _ in range(3)]
    for room in rooms:
        c.must_create(room)
    leader = cluster.leader()
    follower = next(n for n in cluster.nodes if n is not leader)

    # Any node's config reads the same cluster. The leader's entry says it serves once it
    # does (it is written then, not at the next renewal).
    deadline = time.monotonic() + 2
    while True:
        code, s = status_json(follower.config_path)
        if code == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert code == 0, json.dumps(s)
    assert s["serving"] is True
    assert s["leader"]["node_id"] == leader.node_id
    assert s["leader"]["advertise_url"] == leader.base_url
    assert 0 < s["leader"]["lease_ms_left"] <= LEASE_MS
    assert s["epoch"] >= 1 and s["epoch_node_id"] == leader.node_id
    assert s["rooms"] == len(rooms)
    assert s["webhooks"] == {"pending": 0, "dead": 0}
    nodes = {n["node_id"]: n for n in s["nodes"]}
    assert set(nodes) == {n.node_id for n in cluster.nodes}
    for node in cluster.nodes:
        entry = nodes[node.node_id]
        assert entry["running"] is True, entry
        assert entry["advertise_url"] == node.base_url
        assert entry["pid"] == node.proc.pid
        assert entry["role"] == ("leader" if node is leader else "follower"), entry
    assert nodes[leader.node_id]["lease_valid"] is True
    # Entries are rewritten at each look at the lease (every lease_ms / 3).
    deadline = time.monotonic() + LEASE_MS / 1000 + 2
    while {n["node_id"]: n for n in s["nodes"]}[leader.node_id]["rooms"] != len(rooms):
        assert time.monotonic() < deadline, json.dumps(s)
        time.sleep(0.2)
        _, s = status_json(follower.config_path)

    code, text, _ = status(leader.config_path)
    assert code == 0
    assert f"leader: {leader.node_id} at {leader.base_url}" in text
    assert f"rooms {len(rooms)}; webhooks 0 queued, 0 dead letters" in text

    # A node killed with -9 leaves the registry within the lease time; a stopped one at once.
    follower.kill9()
    deadline = time.monotonic() + LEASE_MS / 1000 + 3
    while True:
        code, s = status_json(leader.config_path)
        entry = {n["node_id"]: n for n in s["nodes"]}[follower.node_id]
        if not entry["running"]:
            break
        assert time.monotonic() < deadline, f"{follower.node_id} still listed as running: {s}"
        time.sleep(0.2)
    assert code == 0 and s["leader"]["node_id"] == leader.node_id
    assert entry == {"node_id": follower.node_id, "running": False}
    code, text, _ = status(leader.config_path)
    assert f"{follower.node_id} " in text and "(no entry: stopped" in text

    other = next(n for n in cluster.nodes if n is not leader and n is not follower)
    other.stop()
    code, s = status_json(leader.config_path)
    assert {n["node_id"]: n for n in s["nodes"]}[other.node_id]["running"] is False


def test_status_without_a_serving_leader_exits_1_and_without_a_cluster_2(cluster_factory,
                                                                          tmp_path):
    cluster = cluster_factory("nolead", lease_ms=LEASE_MS)
    leader = cluster.leader()
    for node in cluster.nodes:
        node.kill9()
    # The lease and the entries outlive the killed nodes by up to lease_ms; then nobody holds
    # the lease and no node is listed as running.
    deadline = time.monotonic() + LEASE_MS / 1000 + 3
    while True:
        code, s = status_json(leader.config_path)
        if s["leader"] is None and not any(n["running"] for n in s["nodes"]):
            break
        assert time.monotonic() < deadline, json.dumps(s)
        time.sleep(0.2)
    assert code == 1 and s["serving"] is False
    assert len(s["nodes"]) == len(cluster.nodes), json.dumps(s)

    single = tmp_path / "single.toml"
    single.write_text('listen = "127.0.0.1:1"\n[[apps]]\nsdkappid = 1400000001\n'
                      'secret_key = "k"\nadmins = ["administrator"]\n')
    code, out, err = status(single)
    assert code == 2 and "has no [cluster] table" in err, (code, out, err)


def test_status_with_placement_by_app_lists_each_apps_host_and_epoch(cluster_factory, tmp_path):
    """With placement = "app" each app has its own lease (<key_prefix>:leader:<sdkappid>) and
    epoch row (app_leadership): status lists them per app of the config, exits 0 only when every
    app is hosted, and ignores the cluster's lease. No node hosts apps yet in this test: a node
    of a cluster (placement by cluster) prepares the schema and stops, then the leases and epoch
    rows are written the way hosts write them."""
    cluster = cluster_factory("appstatus", nodes=1, lease_ms=LEASE_MS)
    node = cluster.nodes[0]
    by_app = tmp_path / "by_app.toml"
    # [cluster] is the config's last table: the key lands in it.
    by_app.write_text(node.config_path.read_text() + 'placement = "app"\n')
    node.stop()  # the cluster's lease is released: nobody leads the cluster

    code, s = status_json(by_app)
    assert code == 1, json.dumps(s)
    assert s["placement"] == "app" and "leader" not in s and "serving" not in s, json.dumps(s)
    assert s["apps"] == [
        {"sdkappid": app, "leader": None, "leader_url": None, "lease_ms_left": 0, "epoch": 0,
         "epoch_node_id": ""} for app in (APP1, APP2)]

    prefix = cluster.key_prefix
    cluster.redis.cli("SET", f"{prefix}:leader:{APP1}", "n7 0a1b2c http://10.0.0.7:8080", "PX",
                      "60000")
    cluster.pg.sql(f"INSERT INTO app_leadership VALUES ({APP1}, 3, 'n7', "
                   f"'http://10.0.0.7:8080', now())", db=cluster.database)
    code, s = status_json(by_app)
    assert code == 1, json.dumps(s)  # APP2 has no host
    first, second = s["apps"]
    assert first["sdkappid"] == APP1 and first["leader"] == "n7", json.dumps(s)
    assert first["leader_url"] == "http://10.0.0.7:8080"
    assert 0 < first["lease_ms_left"] <= 60000
    assert first["epoch"] == 3 and first["epoch_node_id"] == "n7"
    assert second["sdkappid"] == APP2 and second["leader"] is None, json.dumps(s)

    cluster.redis.cli("SET", f"{prefix}:leader:{APP2}", "n8 3d4e5f http://10.0.0.8:8080", "PX",
                      "60000")
    code, text, _ = status(by_app)
    assert code == 0, text  # every app hosted, though no node leads the cluster
    assert "apps (placement by app):" in text
    assert f"{APP1}  n7 at http://10.0.0.7:8080, lease " in text and "ms left, epoch 3" in text
    assert f"{APP2}  n8 at http://10.0.0.8:8080, lease " in text and "epoch 0" in text
    assert "leader:" not in text, text

    # A host that stopped cleanly leaves its lease released: no host.
    cluster.redis.cli("SET", f"{prefix}:leader:{APP2}", "released")
    code, text, _ = status(by_app)
    assert code == 1 and f"{APP2}  no host" in text, text

    # The same cluster's status by cluster is unchanged: its own (released) lease, no leader.
    code, s = status_json(node.config_path)
    assert code == 1 and s["placement"] == "cluster" and s["leader"] is None, json.dumps(s)
    assert "apps" not in s


def test_status_with_placement_by_room_lists_each_slots_host_and_the_nodes_slots(
        cluster_factory):
    """With placement = "room" each slot of each app has its own lease
    (<key_prefix>:leader:<sdkappid>:<slot>) and epoch row (slot_leadership): status lists every
    slot of every app of the config with its host, and each node's entry the slots it hosts."""
    cluster = cluster_factory("roomstatus", lease_ms=LEASE_MS,
                              cluster_extra={"placement": "room", "room_slots": SLOTS})
    for app in (APP1, APP2):
        wait_for_slot_hosts(cluster, sdkappid=app)
    node_ids = {n.node_id: n for n in cluster.nodes}
    every_slot = sorted(f"{app}:{slot}" for app in (APP1, APP2) for slot in range(SLOTS))

    # A node's entry names the slots it hosts once it rewrites it (every lease_ms / 3) after
    # taking them.
    deadline = time.monotonic() + LEASE_MS / 1000 + 3
    while True:
        code, s = status_json(cluster.nodes[0].config_path)
        hosted = sorted(slot for n in s["nodes"] for slot in n.get("slots", []))
        if code == 0 and hosted == every_slot:
            break
        assert time.monotonic() < deadline, json.dumps(s)
        time.sleep(0.2)
    assert s["placement"] == "room" and "leader" not in s and "apps" not in s, json.dumps(s)
    assert [(e["sdkappid"], e["slot"]) for e in s["slots"]] == [
        (app, slot) for app in (APP1, APP2) for slot in range(SLOTS)]
    for e in s["slots"]:
        assert e["leader"] in node_ids, json.dumps(e)
        assert e["leader_url"] == node_ids[e["leader"]].base_url, json.dumps(e)
        assert slot_host(cluster, e["sdkappid"], e["slot"]) is node_ids[e["leader"]], json.dumps(e)
        assert 0 < e["lease_ms_left"] <= LEASE_MS, json.dumps(e)
        assert e["epoch"] >= 1 and e["epoch_node_id"] in node_ids, json.dumps(e)
    for n in s["nodes"]:
        assert n["running"] is True, json.dumps(n)
        for slot in n["slots"]:
            app, number = slot.split(":")
            host = next(e for e in s["slots"]
                        if e["sdkappid"] == int(app) and e["slot"] == int(number))
            assert host["leader"] == n["node_id"], (slot, json.dumps(s))

    code, text, _ = status(cluster.nodes[1].config_path)
    assert code == 0, text
    assert "slots (placement by room):" in text
    assert f"{APP2}/{SLOTS - 1}  " in text and "leader:" not in text, text
    assert "hosts slots [" in text, text
