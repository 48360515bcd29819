"""Placement by app (issue #10, docs/cluster.md "Placement"): with `[cluster] placement = "app"`
each app has its own lease, epoch and host, so the apps of a cluster spread over its nodes.
Any node still answers anything (it carries a call to its app's host), and losing a node moves
only the apps it hosted.

These start their own clusters (the session's PostgreSQL and Redis)."""

import threading
import time

import requests

from cluster import cluster_factory, node_metric, wait_restarted_as_follower  # noqa: F401
from conftest import ADMIN, APP1, APP2, KEY1, KEY2, default_apps, gen_usersig, uid
from gateway_client import FAST_GATEWAY, GatewayServer, rest_members, wait_until
from test_cluster_status import status, status_json

LEASE_MS = 2000
ANSWERS_AGAIN_WITHIN = 10.0
MASK = (1 << 64) - 1


def more_apps(first, count):
    """`count` apps from SDKAppID `first` on, with the tests' keys and administrator."""
    return [{"sdkappid": first + i, "secret_key": KEY1 if i % 2 else KEY2, "admins": [ADMIN],
             "auto_import_accounts": True, "rate_limits": {"default": 0}}
            for i in range(count)]


def apps():
    """APP1 and APP2 of the other tests, and four more: enough that they spread over three
    nodes (checked below from the placement hash, which is deterministic)."""
    return default_apps() + more_apps(1400000100, 4)


def placement_score(sdkappid, node_id):
    """What the nodes compute (src/node/cluster_node.cpp, placement_score): FNV-1a over the app's
    four bytes (least significant first) and the node id, then a final mix."""
    h = 14695981039346656037
    for byte in sdkappid.to_bytes(4, "little") + node_id.encode():
        h ^= byte
        h = (h * 1099511628211) & MASK
    h ^= h >> 33
    h = (h * 0xff51afd7ed558ccd) & MASK
    h ^= h >> 33
    return h


def preferred(sdkappid, node_ids):
    return max(node_ids, key=lambda n: placement_score(sdkappid, n))


def host_of(cluster, sdkappid):
    """The node the app's lease names (key <key_prefix>:leader:<sdkappid>), or None."""
    value = cluster.redis.cli("GET", f"{cluster.key_prefix}:leader:{sdkappid}", timeout=3)
    for n in cluster.nodes:
        if value and value.split(" ")[0] == n.node_id:
            return n
    return None


def wait_for_hosts(cluster, sdkappids, exclude=(), timeout=ANSWERS_AGAIN_WITHIN + 5):
    deadline = time.monotonic() + timeout
    while True:
        hosts = {a: host_of(cluster, a) for a in sdkappids}
        if all(h is not None and h not in exclude for h in hosts.values()):
            return hosts
        assert time.monotonic() < deadline, f"apps without a host: {hosts}\n{cluster.log_tail(30)}"
        time.sleep(0.05)


class AppWriters:
    """Threads writing update_room_info to one room per app, one thread per (app, node), until
    stop(). Each reply is kept with when it was sent and answered: (sent, answered, ErrorCode,
    Notice written); a call that got no reply has ErrorCode None. `why` keeps the ErrorInfo (or
    the exception) of each failed call."""

    def __init__(self, cluster, rooms, nodes):
        self.cluster, self.rooms = cluster, rooms
        self.replies = {a: [] for a in rooms}
        self.why = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._write, args=(a, n), daemon=True)
                         for a in rooms for n in nodes]
        for t in self._threads:
            t.start()

    def _write(self, a, node):
        c = self.cluster.node_client(node, sdkappid=a)
        n = 0
        while not self._stop.is_set():
            n += 1
            value = f"{node.node_id}-{n}"
            sent = time.monotonic()
            try:
                reply = c.update(self.rooms[a], Notice=value)
                code = reply["ErrorCode"]
                if code != 0:
                    self.why.append((a, node.node_id, reply.get("ErrorInfo")))
            except requests.RequestException as e:
                code = None
                self.why.append((a, node.node_id, repr(e)))
            self.replies[a].append((sent, time.monotonic(), code, value))
            if code != 0:
                time.sleep(0.05)

    def stop(self):
        self._stop.set()
        for t in self._threads:
            t.join(20)

    def acked(self, a):
        return [(sent, answered, value) for sent, answered, code, value in self.replies[a]
                if code == 0]

    def failed(self, a):
        return [r for r in self.replies[a] if r[2] != 0]


def app_cluster(cluster_factory, name, **kw):
    return cluster_factory(name, lease_ms=LEASE_MS, apps=apps(),
                           cluster_extra={"placement": "app"}, **kw)


def test_apps_spread_over_the_nodes_and_every_node_answers_for_each(cluster_factory):
    cluster = app_cluster(cluster_factory, "spread")
    ids = [a["sdkappid"] for a in cluster.apps]
    node_ids = [n.node_id for n in cluster.nodes]
    expected = {a: preferred(a, node_ids) for a in ids}
    assert len(set(expected.values())) >= 2, f"the test's apps do not spread: {expected}"
    hosts = wait_for_hosts(cluster, ids)
    # Nodes that start together split the apps by the placement hash: each app's host is its
    # preferred node.
    assert {a: h.node_id for a, h in hosts.items()} == expected
    # `cluster status` says the same, and each node's registry entry names the apps it hosts.
    deadline = time.monotonic() + 5
    while True:
        code, st = status_json(cluster.nodes[0].config_path)
        entries = {n["node_id"]: sorted(n.get("apps", [])) for n in st["nodes"]}
        hosted = {n: sorted(a for a, h in expected.items() if h == n) for n in node_ids}
        if code == 0 and entries == hosted:
            break
        assert time.monotonic() < deadline, (code, st, hosted)
        time.sleep(0.1)
    assert {a["sdkappid"]: a["leader"] for a in st["apps"]} == expected, st
    code, text, _ = status(cluster.nodes[0].config_path)
    assert code == 0 and "apps (placement by app):" in text, text
    rooms = {}
    for a in ids:
        c = cluster.client(sdkappid=a)
        room = uid(f"p{a % 1000}")
        c.must_create(room, RoomName=f"app {a}")
        rooms[a] = room
    for node in cluster.nodes:
        for a in ids:
            nc = cluster.node_client(node, sdkappid=a)
            info = nc.ok("get_room_info", {"RoomId": rooms[a]})
            assert info["RoomInfo"]["RoomName"] == f"app {a}", (node.node_id, a, info)
            # Apps stay apart: another app's room is unknown here, as on a single node.
            other = rooms[ids[(ids.index(a) + 1) % len(ids)]]
            assert nc.call("get_room_info", {"RoomId": other})["ErrorCode"] != 0
    # Writes through every node land on the app's host and are seen through every other.
    for i, node in enumerate(cluster.nodes):
        for a in ids:
            notice = f"from {node.node_id} #{i}"
            assert cluster.node_client(node, sdkappid=a).update(rooms[a], Notice=notice)[
                "ErrorCode"] == 0
            for other in cluster.nodes:
                got = cluster.node_client(other, sdkappid=a).room_info(rooms[a])["Notice"]
                assert got == notice, (node.node_id, other.node_id, a, got)
    # /metrics of a node hosting two apps is one valid exposition: each family once.
    for node in cluster.nodes:
        text = requests.get(node.base_url + "/metrics", timeout=5).text
        types = [line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")]
        assert len(types) == len(set(types)), f"{node.node_id}: a family twice in /metrics"
        hosted = [a for a, h in hosts.items() if h is node]
        for a in hosted:
            assert f'liveroom_rooms{{app="{a}"}} 1' in text, (node.node_id, a)


def test_killing_a_host_moves_only_its_apps_and_loses_no_acknowledged_write(cluster_factory):
    cluster = app_cluster(cluster_factory, "move")
    ids = [a["sdkappid"] for a in cluster.apps]
    hosts = wait_for_hosts(cluster, ids)
    victim = hosts[APP1]
    untouched = [a for a in ids if hosts[a] is not victim]
    assert untouched, f"every app on {victim.node_id}: {hosts}"
    survivors = [n for n in cluster.nodes if n is not victim]
    rooms = {a: uid(f"m{a % 1000}") for a in (APP1, untouched[0])}
    for a, room in rooms.items():
        cluster.client(sdkappid=a).must_create(room)

    writers = AppWriters(cluster, rooms, survivors[:1])
    time.sleep(1.0)
    killed_at = time.monotonic()
    victim.kill9()
    new_hosts = wait_for_hosts(cluster, ids, exclude=[victim])
    deadline = time.monotonic() + ANSWERS_AGAIN_WITHIN
    while not any(sent > killed_at for sent, _, _ in writers.acked(APP1)):
        assert time.monotonic() < deadline, f"APP1 not served again:\n{cluster.log_tail(30)}"
        time.sleep(0.05)
    time.sleep(0.5)
    writers.stop()
    acked = {a: writers.acked(a) for a in rooms}
    back = next(t for sent, t, _ in acked[APP1] if sent > killed_at) - killed_at
    print(f"kill -9 of {victim.node_id}: APP1 served again after {back:.2f} s")
    assert back <= ANSWERS_AGAIN_WITHIN
    # The apps the victim did not host never moved, and their writes went on without a pause.
    for a in untouched:
        assert new_hosts[a] is hosts[a], (a, hosts[a].node_id, new_hosts[a].node_id)
    other = untouched[0]
    assert not writers.failed(other), writers.failed(other)[:5]
    times = [t for _, t, _ in acked[other]]
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert max(gaps) < 1.0, f"app {other} paused {max(gaps):.2f} s while another app moved"
    # The victim's apps went to their preferred node among the survivors.
    live_ids = [n.node_id for n in survivors]
    for a in ids:
        if hosts[a] is victim:
            assert new_hosts[a].node_id == preferred(a, live_ids), (a, new_hosts[a].node_id)
    # No acknowledged write lost: each room shows its last acknowledged value through every node.
    for a, room in rooms.items():
        last = acked[a][-1][2]
        for node in survivors:
            got = cluster.node_client(node, sdkappid=a).room_info(room)["Notice"]
            assert got == last, (a, node.node_id, got, last)
    # The killed node comes back as a follower of every app it hosted and answers for them.
    cluster.start_node(victim)
    for a, room in rooms.items():
        got = cluster.node_client(victim, sdkappid=a).room_info(room)["Notice"]
        assert got == acked[a][-1][2]


def test_a_client_logging_in_by_message_reaches_its_apps_host_through_any_node(cluster_factory):
    cluster = app_cluster(cluster_factory, "login", node_cls=GatewayServer, gateway=FAST_GATEWAY)
    hosts = wait_for_hosts(cluster, [APP1, APP2])
    clients = []
    try:
        for app in (APP1, APP2):
            rest = cluster.client(sdkappid=app)
            room = uid("lg")
            rest.must_create(room)
            members = []
            for node in cluster.nodes:
                user = uid(f"u{node.node_id}")
                rest.import_account(user)
                # No credentials in the upgrade's query: the node learns the app from `login`.
                c = node.connect(name=f"{user}@{node.node_id}")
                clients.append(c)
                reply = c.login(app, user, gen_usersig(app, cluster.keys[app], user))
                assert reply["code"] == 0, (app, node.node_id, hosts[app].node_id, reply)
                c.enter(room)
                members.append((user, c))
            # Every member is in the one room its app's host keeps, whichever node it came by.
            wait_until(lambda: {u for u, _ in members} <= set(rest_members(rest, room)[0]),
                       what=f"every member of app {app} listed")
            # And each sees what the others send.
            sender, c0 = members[0]
            c0.ok("send_text", RoomId=room, Text=f"hello from app {app}")
            for user, c in members[1:]:
                c.expect_event("Message", timeout=5,
                               predicate=lambda e: e.get("From_Account") == sender)
    finally:
        for c in clients:
            c.close()


def test_a_client_that_sends_nothing_is_closed_at_the_login_deadline(cluster_factory):
    """Such a client has no app yet, so no app's gateway holds its deadline: the node does,
    and closes it as a single node would (1008), not at the idle timeout (three heartbeats)."""
    cluster = app_cluster(cluster_factory, "silent", node_cls=GatewayServer,
                          gateway={**FAST_GATEWAY, "login_timeout_ms": 600,
                                   "heartbeat_interval_ms": 10_000})
    wait_for_hosts(cluster, [APP1, APP2])
    started = time.monotonic()
    silent = [node.connect(name=f"silent@{node.node_id}") for node in cluster.nodes]
    for c in silent:
        assert c.wait_closed(timeout=5) == 1008
    assert time.monotonic() - started < 3  # the idle timeout would be 30 s


def test_stopping_a_host_hands_its_apps_over_without_refusing_a_call(cluster_factory):
    """SIGTERM of a host: each of its apps goes straight to its preferred node among the
    survivors (where rebalancing would send it anyway: one move, not two), and no call to it
    through the other nodes is refused."""
    cluster = app_cluster(cluster_factory, "handover")
    ids = [a["sdkappid"] for a in cluster.apps]
    hosts = wait_for_hosts(cluster, ids)
    victim = hosts[APP1]
    moving = [a for a in ids if hosts[a] is victim]
    others = [n for n in cluster.nodes if n is not victim]
    rooms = {a: uid(f"h{a % 1000}") for a in moving}
    for a, room in rooms.items():
        cluster.client(sdkappid=a).must_create(room)
    writers = AppWriters(cluster, rooms, others)
    time.sleep(0.8)
    victim.send_sigterm()
    assert victim.wait_exit(15) == 0, victim.log_tail(40)
    new_hosts = wait_for_hosts(cluster, ids, exclude=[victim])
    # Two looks: time enough for a survivor's rebalancer to move an app it should not host.
    time.sleep(2 * LEASE_MS / 3000 + 0.2)
    writers.stop()
    survivors = [n.node_id for n in others]
    for a in ids:
        assert host_of(cluster, a) is new_hosts[a], (a, new_hosts[a].node_id)
        if a in moving:
            assert new_hosts[a].node_id == preferred(a, survivors), (a, new_hosts[a].node_id)
        else:
            assert new_hosts[a] is hosts[a], (a, hosts[a].node_id, new_hosts[a].node_id)
    handed = sum(node_metric(n, "liveroom_cluster_apps_handed_over_total", absent=0)
                 for n in others)
    assert handed == 0, f"{handed} apps moved again after the stop\n{cluster.log_tail(30)}"
    for a in moving:
        refused = writers.failed(a)
        assert not refused, f"app {a}: {len(refused)} calls refused: {writers.why[:3]}"
        slowest = max(answered - sent for sent, answered, _, _ in writers.replies[a])
        print(f"app {a} moved from {victim.node_id} to {new_hosts[a].node_id}: "
              f"{len(writers.replies[a])} calls, the slowest {slowest:.2f} s")
        assert new_hosts[a] in others


def test_a_node_that_comes_back_gets_its_apps_back_without_refusing_a_call(cluster_factory):
    """Rebalancing: kill -9 of a host moves its apps to the survivors; once it is back (live for
    a lease), each of those apps moves back to it, the node the hash prefers, by a hand-over:
    no call refused, no acknowledged write lost, the other apps untouched. The moved app's own
    clients on the node it left are closed with 1001 and come back through any node."""
    cluster = app_cluster(cluster_factory, "back", node_cls=GatewayServer, gateway=FAST_GATEWAY)
    ids = [a["sdkappid"] for a in cluster.apps]
    node_ids = [n.node_id for n in cluster.nodes]
    hosts = wait_for_hosts(cluster, ids)
    victim = hosts[APP1]
    returning = [a for a in ids if hosts[a] is victim]
    staying = [a for a in ids if hosts[a] is not victim]
    assert staying, f"every app on {victim.node_id}: {hosts}"
    survivors = [n for n in cluster.nodes if n is not victim]
    rooms = {a: uid(f"b{a % 1000}") for a in returning + staying[:1]}
    for a, room in rooms.items():
        cluster.client(sdkappid=a).must_create(room)

    victim.kill9()
    interim = wait_for_hosts(cluster, ids, exclude=[victim])
    # A member of APP1 connected straight to APP1's interim host, and one of an app that stays
    # (each in a room of its own: the writers' rooms change too often for a test client).
    members, quiet = {}, {}
    for a in (APP1, staying[0]):
        user, quiet[a] = uid(f"m{a % 1000}"), uid(f"q{a % 1000}")
        cluster.client(sdkappid=a).must_create(quiet[a])
        cluster.client(sdkappid=a).import_account(user)
        c = interim[a].connect(name=f"{user}@{interim[a].node_id}")
        assert c.login(a, user, gen_usersig(a, cluster.keys[a], user))["code"] == 0
        c.enter(quiet[a])
        members[a] = (user, c)

    writers = AppWriters(cluster, rooms, survivors)
    time.sleep(0.5)
    cluster.start_node(victim)
    back = wait_for_hosts(cluster, ids, timeout=8 * LEASE_MS / 1000)
    deadline = time.monotonic() + 8 * LEASE_MS / 1000
    while any(host_of(cluster, a) is not victim for a in returning):
        assert time.monotonic() < deadline, \
            f"not back on {victim.node_id}: {[(a, host_of(cluster, a)) for a in returning]}\n" \
            f"{cluster.log_tail(40)}"
        time.sleep(0.05)
    time.sleep(0.5)
    writers.stop()
    back = {a: host_of(cluster, a) for a in ids}
    # Every app is where the hash puts it among the three nodes; the others never moved.
    for a in ids:
        assert back[a].node_id == preferred(a, node_ids), (a, back[a].node_id)
    for a in staying:
        assert back[a] is hosts[a], (a, hosts[a].node_id, back[a].node_id)
    for a in rooms:
        refused = writers.failed(a)
        assert not refused, f"app {a}: {len(refused)} calls refused: {writers.why[:3]}"
        slowest = max(answered - sent for sent, answered, _, _ in writers.replies[a])
        print(f"app {a}: {len(writers.replies[a])} calls, the slowest {slowest:.2f} s")
    # No acknowledged write lost: every node shows one the writes that may have committed last
    # (two nodes write each room: the last sent, or one still unanswered when it was sent).
    for a, room in rooms.items():
        acked = writers.acked(a)
        last_sent = max(sent for sent, _, _ in acked)
        could_be_last = {value for _, answered, value in acked if answered >= last_sent}
        for node in cluster.nodes:
            got = cluster.node_client(node, sdkappid=a).room_info(room)["Notice"]
            assert got in could_be_last, (a, node.node_id, got, could_be_last)
    # The moved app's member was told to reconnect; the other's connection never noticed.
    user, moved = members[APP1]
    assert moved.wait_closed(timeout=5) == 1001, moved.close_reason
    again = survivors[0].connect(name=f"{user} again")
    try:
        assert again.login(APP1, user, gen_usersig(APP1, cluster.keys[APP1], user))["code"] == 0
        again.enter(quiet[APP1])
        wait_until(lambda: user in rest_members(cluster.client(sdkappid=APP1), quiet[APP1])[0],
                   what="the member back in its room")
    finally:
        again.close()
    # The node that handed them over counts them.
    handed = sum(node_metric(n, "liveroom_cluster_apps_handed_over_total", absent=0)
                 for n in survivors)
    assert handed == len(returning), (handed, returning)
    _, stayed = members[staying[0]]
    assert not stayed.closed
    assert stayed.request("heartbeat")["code"] == 0
    for _, c in members.values():
        c.close()


def test_a_frozen_host_loses_its_apps_and_commits_nothing_when_it_wakes(cluster_factory):
    cluster = app_cluster(cluster_factory, "frozen")
    ids = [a["sdkappid"] for a in cluster.apps]
    hosts = wait_for_hosts(cluster, ids)
    victim = hosts[APP1]
    others = [n for n in cluster.nodes if n is not victim]
    room = uid("fz")
    cluster.client().must_create(room)
    queued = {}

    def write_to_frozen_host():
        try:
            reply = cluster.node_client(victim).raw(
                "update_room_info", {"RoomInfo": {"RoomId": room, "Notice": "queued"}}, timeout=60)
            queued["reply"] = reply.json()
        except requests.RequestException as e:
            queued["error"] = repr(e)

    victim.freeze()
    try:
        t = threading.Thread(target=write_to_frozen_host, daemon=True)
        t.start()
        new_hosts = wait_for_hosts(cluster, ids, exclude=[victim])
        c = cluster.node_client(others[0])
        deadline = time.monotonic() + ANSWERS_AGAIN_WITHIN
        while c.update(room, Notice="after")["ErrorCode"] != 0:
            assert time.monotonic() < deadline, cluster.log_tail(30)
            time.sleep(0.1)
    finally:
        victim.thaw()
    wait_restarted_as_follower(victim)
    t.join(65)
    print(f"frozen host {victim.node_id}: APP1 now on {new_hosts[APP1].node_id}; the write "
          f"queued on it got {queued}")
    # Whatever the woken host did with the queued write, it committed nothing: the value written
    # after the takeover stands, through every node.
    assert queued.get("reply", {}).get("ErrorCode") != 0, queued
    cluster.wait_ready(nodes=[victim])
    for node in cluster.nodes:
        assert cluster.node_client(node).room_info(room)["Notice"] == "after", node.node_id


def test_a_node_hosting_many_apps_opens_only_its_few_connections(cluster_factory):
    """Forty apps over three nodes with `postgres_connections = 2`: every app is hosted and takes
    writes through any node, PostgreSQL sees at most two connections per node (one each for
    every app's writer and load would be dozens, past the default max_connections of 100 with a
    hundred apps), and Redis one per node, its leases' looks sharing round trips (a connection
    per lease was 40 per node here, and past what Redis accepted at a few hundred apps)."""
    many = apps() + more_apps(1400000200, 34)
    cluster = cluster_factory("manyapps", lease_ms=LEASE_MS, apps=many,
                              cluster_extra={"placement": "app", "postgres_connections": 2})
    ids = [a["sdkappid"] for a in many]
    hosts = wait_for_hosts(cluster, ids)
    assert len({h.node_id for h in hosts.values()}) == 3, "the apps did not spread"
    for i, a in enumerate(ids):
        node = cluster.nodes[i % 3]
        c = cluster.node_client(node, sdkappid=a)
        room = uid(f"p{a % 1000}")
        c.must_create(room)
        assert c.update(room, Notice="many")["ErrorCode"] == 0
    for node in cluster.nodes:
        assert node_metric(node, "liveroom_cluster_postgres_connections") <= 2
    open_now = int(cluster.pg.sql(
        f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{cluster.database}'"))
    assert open_now <= 3 * 2, open_now
    clients = cluster.redis.cli("CLIENT", "LIST")
    for node in cluster.nodes:
        named = [line for line in clients.splitlines()
                 if f" name=liveroomd-{node.node_id} " in line]
        assert len(named) == 1, (node.node_id, clients)
        trips = node_metric(node, "liveroom_cluster_redis_round_trips_total")
        commands = node_metric(node, "liveroom_cluster_redis_commands_total")
        assert 0 < trips < commands, (node.node_id, trips, commands)
