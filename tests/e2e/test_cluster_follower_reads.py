"""Cluster mode (issue #10): a follower answers get_room_info itself from the leader's answer it
kept, once the leader says the room has not changed since (docs/cluster.md, "Reads on
followers"), and never answers what a read through the leader would not: no change acknowledged
before a read began is missing from its answer, and a caller the leader would refuse is refused
by the leader."""

import threading
import time

from cluster import cluster_factory, node_metric  # noqa: F401 (fixture)
from conftest import ADMIN, APP1, gen_usersig, uid

ANSWERED_HERE = "liveroom_cluster_reads_answered_here_total"


def answered_here(node):
    return node_metric(node, ANSWERED_HERE)


def without_request_id(reply):
    return {k: v for k, v in reply.items() if k != "RequestId"}


def test_a_follower_answers_from_the_leaders_answer_and_sees_every_change(cluster_factory):
    cluster = cluster_factory("reads")
    leader = cluster.leader()
    f1, f2 = cluster.followers()
    via_leader, via_f1, via_f2 = (cluster.node_client(n) for n in (leader, f1, f2))
    room = uid("kept")
    via_f2.must_create(room, RoomName="first")

    first = via_f1.call("get_room_info", {"RoomId": room})
    assert first["ErrorCode"] == 0, first
    before = answered_here(f1)
    again = via_f1.call("get_room_info", {"RoomId": room})
    assert answered_here(f1) == before + 1, "the second read was not answered by the follower"
    # The same answer as the leader's, with a RequestId of its own.
    assert without_request_id(again) == without_request_id(first)
    assert again["RequestId"] != first["RequestId"]
    assert without_request_id(via_leader.call("get_room_info", {"RoomId": room})) == \
        without_request_id(again)

    # Every change acknowledged, through whichever node, is in the next read through f1.
    writers = [via_leader, via_f2, via_f1]
    for i in range(30):
        w = writers[i % 3]
        assert w.update(room, RoomName=f"name {i}", Notice=f"n{i}")["ErrorCode"] == 0
        info = via_f1.room_info(room)
        assert (info["RoomName"], info["Notice"]) == (f"name {i}", f"n{i}"), i
        assert via_f1.room_info(room)["RoomName"] == f"name {i}"  # (this one kept)
    assert answered_here(f1) >= before + 30

    # Members count without a write to the room's columns: a robot joins, then leaves.
    robot = uid("bot")
    via_leader.ok("account_import", {"UserID": robot})
    count = via_f1.room_info(room)["MemberCount"]
    via_f2.ok("add_robot", {"RoomId": room, "RobotList_Account": [robot]})
    assert via_f1.room_info(room)["MemberCount"] == count + 1
    via_leader.ok("del_robot", {"RoomId": room, "RobotList_Account": [robot]})
    assert via_f1.room_info(room)["MemberCount"] == count

    # Gone, then made again under the same id by another owner.
    assert via_leader.call("destroy_room", {"RoomId": room})["ErrorCode"] == 0
    gone = via_f1.call("get_room_info", {"RoomId": room})
    assert gone["ErrorCode"] == via_leader.call("get_room_info", {"RoomId": room})["ErrorCode"]
    assert gone["ErrorCode"] != 0
    owner = uid("owner")
    via_leader.ok("account_import", {"UserID": owner})
    time.sleep(1.1)  # (a RoomId may not be created again within a second)
    via_f2.must_create(room, RoomName="second", Owner_Account=owner)
    info = via_f1.room_info(room)
    assert (info["RoomName"], info["Owner_Account"]) == ("second", owner)


def test_a_caller_the_leader_would_refuse_is_refused_by_the_leader(cluster_factory):
    cluster = cluster_factory("refuse")
    f1 = cluster.followers()[0]
    admin = cluster.node_client(f1)
    room = uid("kept")
    admin.must_create(room)
    admin.room_info(room)
    admin.room_info(room)  # kept now
    kept = answered_here(f1)
    key = cluster.keys[APP1]
    # A UserSig of another key, an expired one, one of a user who is not an App admin: each gets
    # the leader's error, not the kept answer.
    cases = {
        "another key": dict(usersig=gen_usersig(APP1, "0" * 64, ADMIN)),
        "expired": dict(usersig=gen_usersig(APP1, key, ADMIN, expire=10,
                                            now=time.time() - 100)),
        "not an admin": dict(identifier="someone",
                             usersig=gen_usersig(APP1, key, "someone")),
    }
    for what, overrides in cases.items():
        reply = admin.call("get_room_info", {"RoomId": room}, **overrides)
        assert reply["ErrorCode"] != 0, (what, reply)
        assert "RoomInfo" not in reply.get("Response", {}), (what, reply)
    assert answered_here(f1) == kept


def test_a_follower_keeps_nothing_for_an_app_with_a_quota_on_the_call(cluster_factory):
    from conftest import default_apps
    cluster = cluster_factory("quota", apps=default_apps(rate_limits1={"default": 0,
                                                                      "get_room_info": 2}))
    f1 = cluster.followers()[0]
    c = cluster.node_client(f1)
    room = uid("kept")
    c.must_create(room)
    codes = [c.call("get_room_info", {"RoomId": room})["ErrorCode"] for _ in range(6)]
    # One bucket for the whole cluster, on the leader: the follower answers none itself, so the
    # bucket (2 a second) runs dry.
    assert 0 in codes and any(code != 0 for code in codes), codes
    assert answered_here(f1) == 0


def test_reads_through_followers_never_miss_an_acknowledged_write(cluster_factory):
    """Writers through the leader and one follower, readers through both followers: a read that
    began after a write was acknowledged shows it, or a later one."""
    cluster = cluster_factory("linear")
    leader = cluster.leader()
    f1, f2 = cluster.followers()
    room = uid("lin")
    cluster.node_client(leader).must_create(room, RoomName="0")
    acked = []  # (time of the acknowledgement, value), in order
    reads = []  # (time the read began, value read)
    lock = threading.Lock()
    stop = threading.Event()
    errors = []

    def write(node):
        c = cluster.node_client(node)
        while not stop.is_set():
            with lock:  # one writer at a time, so the acknowledged values only grow
                value = len(acked) + 1
                reply = c.update(room, RoomName=str(value))
                if reply["ErrorCode"] != 0:
                    errors.append(reply)
                    return
                acked.append((time.monotonic(), value))

    def read(node):
        c = cluster.node_client(node)
        while not stop.is_set():
            began = time.monotonic()
            reply = c.call("get_room_info", {"RoomId": room})
            if reply["ErrorCode"] != 0:
                errors.append(reply)
                return
            reads.append((began, int(reply["Response"]["RoomInfo"]["RoomName"])))

    before = answered_here(f1) + answered_here(f2)
    threads = [threading.Thread(target=write, args=(node,)) for node in (leader, f2)]
    threads += [threading.Thread(target=read, args=(node,)) for node in (f1, f2, f1, f2)]
    for t in threads:
        t.start()
    time.sleep(4)
    stop.set()
    for t in threads:
        t.join(timeout=30)
    assert not errors, errors[:3]
    assert len(acked) > 50 and len(reads) > 200, (len(acked), len(reads))
    # Each read against the last write acknowledged before it began.
    stale = []
    i, last = 0, 0
    for began, value in sorted(reads):
        while i < len(acked) and acked[i][0] < began:
            last = acked[i][1]
            i += 1
        if value < last:
            stale.append((began, value, last))
    assert not stale, f"{len(stale)} reads missed an acknowledged write, e.g. {stale[:3]}"
    # Both ways were taken: answers kept on the followers, and reads carried to the leader.
    assert answered_here(f1) + answered_here(f2) > before
