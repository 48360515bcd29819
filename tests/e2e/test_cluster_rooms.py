"""Placement by room (issue #10, docs/cluster.md "Placement by room"): with `[cluster] placement =
"room"` the rooms of one app spread over the nodes by slot (FNV-1a of the RoomId, modulo
room_slots), each slot with its own lease, epoch and host. Any node answers anything: a room's
calls go to its slot's host, the app's own calls to the host of its slot 0. What is app-wide is
the same on every host: an account or a callback acknowledged through one node is known at once
to every slot's host (the app's feed in PostgreSQL, read before each call), the quota is one
bucket for the cluster (in Redis), and the room list has every slot's rooms. A gateway client's
session follows the room it enters, from host to host, one room at a time.

These start their own clusters (the session's PostgreSQL and Redis)."""

import threading
import time

import requests

from cluster import Writers, cluster_factory  # noqa: F401 (fixture)
from conftest import ADMIN, APP1, KEY1, default_apps, gen_usersig, uid
from gateway_client import FAST_GATEWAY, GatewayServer, rest_members
from webhook_sink import sink, sink_factory  # noqa: F401 (fixtures)

LEASE_MS = 2000
SLOTS = 8
ANSWERS_AGAIN_WITHIN = 10.0
MASK = (1 << 64) - 1


def fnv1a(data):
    h = 14695981039346656037
    for byte in data:
        h ^= byte
        h = (h * 1099511628211) & MASK
    return h


def room_slot(room_id, slots=SLOTS):
    """What every node computes (domain::room_slot)."""
    return fnv1a(room_id.encode()) % slots


def slot_score(sdkappid, slot, node_id):
    """cluster::placement_score of a slot: FNV-1a over the app's bytes, '/', the slot's bytes
    (least significant first) and the node id, then a final mix."""
    data = sdkappid.to_bytes(4, "little") + b"/" + slot.to_bytes(4, "little") + node_id.encode()
    h = fnv1a(data)
    h ^= h >> 33
    h = (h * 0xff51afd7ed558ccd) & MASK
    h ^= h >> 33
    return h


def rooms_by_slot(prefix, slots=SLOTS):
    """One new RoomId in each slot, by slot."""
    found = {}
    i = 0
    while len(found) < slots:
        room = uid(f"{prefix}{i}")
        found.setdefault(room_slot(room), room)
        i += 1
    return found


def slot_host(cluster, sdkappid, slot):
    """The node the slot's lease (<key_prefix>:leader:<sdkappid>:<slot>) names, or None."""
    value = cluster.redis.cli("GET", f"{cluster.key_prefix}:leader:{sdkappid}:{slot}", timeout=3)
    for n in cluster.nodes:
        if value and value.split(" ")[0] == n.node_id:
            return n
    return None


def wait_for_slot_hosts(cluster, sdkappid=APP1, exclude=(), timeout=ANSWERS_AGAIN_WITHIN + 5):
    deadline = time.monotonic() + timeout
    while True:
        hosts = {s: slot_host(cluster, sdkappid, s) for s in range(SLOTS)}
        if all(h is not None and h not in exclude for h in hosts.values()):
            return hosts
        assert time.monotonic() < deadline, f"slots without a host: {hosts}\n{cluster.log_tail(30)}"
        time.sleep(0.05)


def room_cluster(cluster_factory, name, **kw):
    return cluster_factory(name, lease_ms=LEASE_MS,
                           cluster_extra={"placement": "room", "room_slots": SLOTS}, **kw)


def test_one_apps_rooms_spread_over_every_node_and_any_node_answers_for_each(cluster_factory):
    cluster = room_cluster(cluster_factory, "spread")
    hosts = wait_for_slot_hosts(cluster)
    node_ids = [n.node_id for n in cluster.nodes]
    # Nodes that start together split the slots by the placement hash, as apps by app.
    expected = {s: max(node_ids, key=lambda n: slot_score(APP1, s, n)) for s in range(SLOTS)}
    assert {s: h.node_id for s, h in hosts.items()} == expected
    assert set(expected.values()) == set(node_ids), "the test's slots do not reach every node"

    rooms = rooms_by_slot("sp")
    c = cluster.client()
    for slot, room in rooms.items():
        c.must_create(room, RoomName=f"slot {slot}")
    # Every node answers for every room, and a write through one is read through the others.
    for i, node in enumerate(cluster.nodes):
        for slot, room in rooms.items():
            nc = cluster.node_client(node)
            assert nc.room_info(room)["RoomName"] == f"slot {slot}", (node.node_id, slot)
            notice = f"from {node.node_id} #{i}"
            assert nc.update(room, Notice=notice)["ErrorCode"] == 0
            for other in cluster.nodes:
                got = cluster.node_client(other).room_info(room)["Notice"]
                assert got == notice, (node.node_id, other.node_id, slot, got)
    # Each room lives on its slot's host only: /metrics counts it there.
    for slot, room in rooms.items():
        text = requests.get(hosts[slot].base_url + "/metrics", timeout=5).text
        assert f'liveroom_rooms{{app="{APP1}",slot="{slot}"}} 1' in text, (slot, hosts[slot])
    # The room list has every slot's rooms, through every node, page by page.
    for node in cluster.nodes:
        listed, cursor = [], ""
        for _ in range(20):
            page = cluster.node_client(node).ok("get_room_list", {"Next": cursor, "Count": 3})
            listed += [r["RoomId"] for r in page["RoomList"]]
            cursor = page.get("Next", "")
            if not cursor:
                break
        assert sorted(r for r in listed if r in rooms.values()) == sorted(rooms.values()), listed
    # A battle between rooms of two slots invites only what its asking room's slot hosts (for
    # now), and says why.
    a, b = rooms[0], rooms[1]
    created = c.ok("live_engine_http_pk/create_battle",
                   {"FromRoomId": a, "ToRoomIdList": [b], "Duration": 60000})
    assert created["Result"][0]["ResultCode"] == 5, created
    assert "another slot" in created["Result"][0]["ResultMessage"], created


def test_app_wide_changes_through_one_node_are_known_at_once_to_every_slots_host(
        cluster_factory, sink):
    cluster = room_cluster(cluster_factory, "feed")
    hosts = wait_for_slot_hosts(cluster)
    rooms = rooms_by_slot("fd")
    c = cluster.client()
    for room in rooms.values():
        c.must_create(room)
    nodes = cluster.nodes
    # An account imported through one node (its slot 0 host imports it) sends at once, through
    # another node, to a room of another host: never 70107. And once deleted, at once 70107.
    for i in range(2 * SLOTS):
        user = uid("u")
        slot = i % SLOTS
        importer, sender = nodes[i % 3], nodes[(i + 1) % 3]
        cluster.node_client(importer).import_account(user)
        reply = cluster.node_client(sender).call(
            "send_text_msg", {"RoomId": rooms[slot], "Sender_Account": user, "TextContent": "hi"})
        assert reply["ErrorCode"] == 0, (user, slot, hosts[slot].node_id, reply)
        deleted = cluster.node_client(nodes[(i + 2) % 3]).call(
            "account_delete", {"DeleteItem": [{"UserID": user}]})
        assert deleted["ResultItem"][0]["ResultCode"] == 0, deleted
        reply = cluster.node_client(sender).call(
            "send_text_msg", {"RoomId": rooms[slot], "Sender_Account": user, "TextContent": "hi"})
        assert reply["ErrorCode"] == 70107, (user, slot, reply)
    # A callback set through one node: every slot's host sends the next events to it.
    cluster.node_client(nodes[1]).ok(
        "live_config/set_callback",
        {"Url": sink.url("/fd"), "CallbackCommandList": ["Live.CallbackAfterUpdateRoomInfo"]})
    for slot, room in rooms.items():
        assert cluster.node_client(nodes[slot % 3]).update(room, Notice="n")["ErrorCode"] == 0
    got = sink.wait_delivered(SLOTS, path="/fd")
    assert sorted(d.room_id for d in got) == sorted(rooms.values())


def test_a_quota_is_one_bucket_for_the_whole_cluster(cluster_factory):
    limit = 5
    cluster = room_cluster(cluster_factory, "quota",
                           apps=default_apps(rate_limits1={"default": 0, "send_text_msg": limit}))
    wait_for_slot_hosts(cluster)
    rooms = rooms_by_slot("q")
    c = cluster.client()
    for room in rooms.values():
        c.must_create(room)
    time.sleep(1.2)  # the bucket is full again
    codes = []
    lock = threading.Lock()

    def send(t):
        nc = cluster.node_client(cluster.nodes[t % 3])
        for i in range(4):
            reply = nc.call("send_text_msg", {"RoomId": rooms[(t + i) % SLOTS],
                                              "Sender_Account": ADMIN, "TextContent": "q"})
            with lock:
                codes.append(reply["ErrorCode"])

    started = time.monotonic()
    threads = [threading.Thread(target=send, args=(t,)) for t in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.monotonic() - started
    ok = codes.count(0)
    assert set(codes) <= {0, 60007}, codes
    # One bucket: `limit` at once plus what refills meanwhile, not `limit` per slot or per node.
    assert limit <= ok <= limit + int(limit * took) + 1, (ok, took, codes)


def test_killing_a_node_moves_only_its_slots_and_loses_no_acknowledged_write(cluster_factory):
    cluster = room_cluster(cluster_factory, "kill")
    hosts = wait_for_slot_hosts(cluster)
    writers = Writers(cluster, n=8, timeout=ANSWERS_AGAIN_WITHIN)
    writers.create_rooms()
    victim = hosts[room_slot(writers.rooms[0])]
    killed_at, first_again = writers.around(victim.kill9, warm_up=1.5, min_acks=20)
    print(f"kill -9 of {victim.node_id}: {writers.summary()}; first acknowledged write "
          f"{first_again - killed_at:.2f} s after the kill")
    writers.check_no_violation()
    assert first_again - killed_at <= ANSWERS_AGAIN_WITHIN
    new_hosts = wait_for_slot_hosts(cluster, exclude=[victim])
    # The slots of the other nodes never moved.
    for slot, host in hosts.items():
        if host is not victim:
            assert new_hosts[slot] is host, (slot, host.node_id, new_hosts[slot].node_id)
    survivors = [n for n in cluster.nodes if n is not victim]
    writers.check_every_ack_visible(cluster.node_client(survivors[0]))
    writers.check_every_ack_visible(cluster.node_client(survivors[1]))
    # The killed node comes back as a follower of its slots and answers the same.
    cluster.start_node(victim)
    writers.check_every_ack_visible(cluster.node_client(victim))


def test_a_clients_session_follows_the_room_it_enters_from_host_to_host(cluster_factory):
    cluster = room_cluster(cluster_factory, "gw", node_cls=GatewayServer, gateway=FAST_GATEWAY)
    hosts = wait_for_slot_hosts(cluster)
    rooms = rooms_by_slot("gw")
    rest = cluster.client()
    for room in rooms.values():
        rest.must_create(room)
    # Two rooms on two other hosts than slot 0's, and a client on a third node.
    a_slot = next(s for s in range(1, SLOTS) if hosts[s] is not hosts[0])
    b_slot = next(s for s in range(1, SLOTS) if hosts[s] not in (hosts[0], hosts[a_slot]))
    a, b = rooms[a_slot], rooms[b_slot]
    user, fan = uid("m"), uid("f")
    for u in (user, fan):
        rest.import_account(u)
    clients = []
    try:
        # No credentials in the upgrade's query: the node learns the app from `login`.
        c = cluster.nodes[0].connect(name=user)
        clients.append(c)
        assert c.login(APP1, user, gen_usersig(APP1, KEY1, user))["code"] == 0
        assert c.ok("enter", RoomId=a)["RoomInfo"]["RoomId"] == a
        # One room at a time, as on a single node: the session on a's host answers.
        c.fail("enter", -2108, RoomId=b)
        assert user in rest_members(rest, a)[0]
        # Members of a on another node hear the client, in the room's order.
        f = cluster.nodes[1].connect(name=fan)
        clients.append(f)
        assert f.login(APP1, fan, gen_usersig(APP1, KEY1, fan))["code"] == 0
        f.enter(a)
        c.ok("send_text", RoomId=a, Text="in a")
        f.expect_event("Message", timeout=5, predicate=lambda e: e.get("From_Account") == user)
        # Leaving a and entering b moves the session to b's host; a no longer lists the member.
        c.ok("leave", RoomId=a)
        assert c.ok("enter", RoomId=b)["RoomInfo"]["RoomId"] == b
        assert user in rest_members(rest, b)[0]
        assert user not in rest_members(rest, a)[0]
        assert c.ok("get_current_room")["RoomId"] == b
        c.ok("send_text", RoomId=b, Text="in b")
        f.no_event("Message", within=0.5, predicate=lambda e: e.get("Text") == "in b")
        # The gift catalogue changed through REST is what the room's host prices at once.
        gift = uid("g")
        rest.ok("add_gift", {"GiftId": gift, "DefaultName": "Star", "Coins": 3})
        assert c.ok("send_gift", RoomId=b, GiftId=gift)["Coins"] == 3
    finally:
        for client in clients:
            client.close()
