"""Messages and likes over the gateway and REST (docs/client-protocol.md send_text, send_custom,
like; events Message, Likes; spec §2.4, destroy_room Statistic)."""

import json
import time

import pytest
import requests

from conftest import ADMIN
from gateway_client import gw, gw_server, wait_until  # noqa: F401 (fixtures)
from test_operations import metric


def text_of(msg):
    body = msg["MsgBody"]
    assert len(body) == 1 and body[0]["MsgType"] == "TIMTextElem", msg
    return body[0]["MsgContent"]["Text"]


def test_msg_seq_is_shared_with_rest_and_every_member_gets_every_message_in_order(gw):
    rid, owner = gw.room()
    o = gw.member(rid, owner)
    a = gw.member(rid)
    b = gw.member(rid)
    before = int(time.time())
    r1 = a.ok("send_text", RoomId=rid, Text="hello", ExtensionInfo='{"pin":1}')
    assert r1["MsgSeq"] == 1 and before <= r1["MsgTime"] <= int(time.time())
    r2 = b.ok("send_custom", RoomId=rid, BusinessId="gift", Data='{"id":7}')
    assert r2["MsgSeq"] == 2
    r3 = gw.rest.ok("send_text_msg", {"RoomId": rid, "Sender_Account": ADMIN, "TextContent": "from REST"})
    assert r3["MsgSeq"] == 3
    r4 = gw.rest.ok("send_custom_msg", {"RoomId": rid, "Sender_Account": ADMIN, "BusinessId": "notice",
                                        "Data": "n"})
    assert r4["MsgSeq"] == 4
    r5 = o.ok("send_text", RoomId=rid, Text="owner here")
    assert r5["MsgSeq"] == 5
    for conn in (o, a, b):
        msgs = [conn.expect_event("Message")["data"] for _ in range(5)]
        assert [m["MsgSeq"] for m in msgs] == [1, 2, 3, 4, 5], msgs
        assert [m["From_Account"] for m in msgs] == [a.user, b.user, ADMIN, ADMIN, o.user]
        assert text_of(msgs[0]) == "hello" and msgs[0]["CloudCustomData"] == '{"pin":1}'
        assert msgs[0]["MsgTime"] == r1["MsgTime"]
        custom = msgs[1]["MsgBody"]
        assert len(custom) == 1 and custom[0]["MsgType"] == "TIMCustomElem", custom
        assert json.loads(custom[0]["MsgContent"]["Data"]) == {"BusinessId": "gift", "Data": '{"id":7}'}
        assert text_of(msgs[2]) == "from REST" and msgs[2]["CloudCustomData"] == ""
        assert text_of(msgs[4]) == "owner here"
        conn.no_event("Message", within=0.05)
    assert gw.rest.ok("get_room_statistic", {"RoomId": rid})["TotalMsgCount"] == 5
    # a member entering later learns the last MsgSeq
    assert gw.member(rid).entered["MsgSeq"] == 5


@pytest.mark.single_node("/metrics shows the walks of one process")
def test_each_broadcast_walk_is_timed_in_metrics(gw):
    rid, owner = gw.room()
    members = [gw.member(rid, owner), gw.member(rid), gw.member(rid)]
    walks = "liveroom_gateway_walk_duration_seconds_count"

    def scrape():
        return requests.get(gw.server.base_url + "/metrics").text

    before = scrape()
    members[1].ok("send_text", RoomId=rid, Text="timed")
    for m in members:
        m.expect_event("Message")
    after = scrape()
    # One walk per I/O thread that has members of the room; its time is in the sum too.
    assert metric(after, walks) >= metric(before, walks) + 1, after
    assert metric(after, "liveroom_gateway_walk_duration_seconds_sum") > metric(
        before, "liveroom_gateway_walk_duration_seconds_sum")
    assert metric(after, "liveroom_gateway_walk_duration_seconds_bucket", le="+Inf") == metric(
        after, walks)


def test_rest_send_group_msg_reaches_members(gw):
    rid, owner = gw.room()
    a = gw.member(rid)
    reply = gw.rest.call("group_open_http_svc/send_group_msg", {
        "GroupId": rid, "From_Account": ADMIN, "Random": 5,
        "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "via IM"}}]})
    assert reply["ErrorCode"] == 0, reply
    m = a.expect_event("Message")["data"]
    assert m["MsgSeq"] == reply["MsgSeq"] and text_of(m) == "via IM"


def test_messages_do_not_leak_to_other_rooms(gw):
    r1, _ = gw.room()
    r2, _ = gw.room()
    a = gw.member(r1)
    b = gw.member(r2)
    a.ok("send_text", RoomId=r1, Text="room one only")
    gw.rest.ok("send_text_msg", {"RoomId": r1, "Sender_Account": ADMIN, "TextContent": "x"})
    a.expect_event("Message")
    b.no_event("Message", within=0.3)
    assert b.ok("send_text", RoomId=r2, Text="first in two")["MsgSeq"] == 1


def test_concurrent_senders_get_distinct_increasing_seqs(gw):
    rid, owner = gw.room()
    o = gw.member(rid, owner)
    senders = [gw.member(rid) for _ in range(4)]
    sent = {}
    for i in range(10):
        for s in senders:
            s.send({"id": 100 + i, "op": "send_text", "RoomId": rid, "Text": f"{s.user}:{i}"})
    for s in senders:
        seqs = [s.wait_reply(100 + i)["data"]["MsgSeq"] for i in range(10)]
        assert seqs == sorted(seqs), seqs  # one connection's messages keep their order
        for i, q in enumerate(seqs):
            sent[q] = f"{s.user}:{i}"
    assert sorted(sent) == list(range(1, 41))
    got = [o.expect_event("Message")["data"] for _ in range(40)]
    assert [m["MsgSeq"] for m in got] == list(range(1, 41))
    assert [text_of(m) for m in got] == [sent[q] for q in range(1, 41)]


def test_text_is_1_byte_to_12_kb(gw):
    rid, owner = gw.room()
    a = gw.member(rid)
    a.fail("send_text", (-1001, 100002), RoomId=rid, Text="")
    a.ok("send_text", RoomId=rid, Text="é" * 6144)  # 12288 bytes: IM's 12 KB
    a.fail("send_text", (-1001, 100002), RoomId=rid, Text="x" * 12289)


def test_send_errors(gw):
    rid, owner = gw.room()
    a = gw.member(rid)
    a.fail("send_text", (-1001, 100002), RoomId=rid, Text="")
    a.fail("send_custom", -1001, RoomId=rid, Data="d")          # BusinessId missing
    a.fail("send_custom", -1001, RoomId=rid, BusinessId="b")    # Data missing
    other, _ = gw.room()
    a.fail("send_text", -2101, RoomId=other, Text="x")


def test_likes(gw):
    rid, owner = gw.room()
    o = gw.member(rid, owner)
    a = gw.member(rid)
    b = gw.member(rid)
    assert a.ok("like", RoomId=rid, Count=5)["TotalLikes"] == 5
    assert b.ok("like", RoomId=rid)["TotalLikes"] == 6          # Count defaults to 1
    assert b.ok("like", RoomId=rid, Count=100)["TotalLikes"] == 106
    a.fail("like", -1001, RoomId=rid, Count=0)
    a.fail("like", -1001, RoomId=rid, Count=101)
    for conn in (o, a, b):
        ev = conn.expect_event("Likes", predicate=lambda d: d["TotalLikes"] == 106)
        assert ev["RoomId"] == rid
    # batched: far fewer events than likes, never decreasing
    totals = [e["data"]["TotalLikes"] for e in o.received if e.get("event") == "Likes"]
    assert totals == sorted(totals) and len(totals) <= 3, totals
    assert gw.member(rid).entered["TotalLikes"] == 106
    assert gw.rest.ok("get_room_statistic", {"RoomId": rid})["TotalLikesReceived"] == 106
    stats = gw.rest.ok("destroy_room", {"RoomId": rid})["Statistic"]
    assert stats["TotalLikesReceived"] == 106


def test_likes_are_batched_per_period(gw):
    rid, owner = gw.room()
    o = gw.member(rid, owner)
    a = gw.member(rid)
    for i in range(30):
        a.send({"id": 500 + i, "op": "like", "RoomId": rid})
    for i in range(30):
        assert a.wait_reply(500 + i)["code"] == 0
    o.expect_event("Likes", predicate=lambda d: d["TotalLikes"] == 30)
    n = len([e for e in o.received if e.get("event") == "Likes"])
    assert n <= 3, f"{n} Likes events for 30 likes sent at once"


def test_likes_events_at_most_once_per_batch_period(gw):
    rid, owner = gw.room()
    o = gw.member(rid, owner)
    a = gw.member(rid)
    start = time.monotonic()
    n = 0
    while time.monotonic() - start < 0.6:
        a.ok("like", RoomId=rid, Count=2)
        n += 2
        time.sleep(0.005)
    o.expect_event("Likes", predicate=lambda d: d["TotalLikes"] == n)
    times = o.arrival_times("Likes")
    gaps = [round(y - x, 3) for x, y in zip(times, times[1:])]
    assert all(g >= 0.05 for g in gaps), f"Likes closer than the batch period (100 ms): {gaps}"
    assert len(times) <= 0.6 / 0.1 + 3, len(times)


def test_events_of_a_room_arrive_in_the_order_of_the_changes(gw):
    """Seat, message and room-info changes (none batched) reach each member in the order they
    happened, whichever side (gateway or REST) made them."""
    rid, owner = gw.room(SeatTemplate="VideoDynamicGrid9Seats")
    o = gw.member(rid, owner)
    a = gw.member(rid)
    b = gw.member(rid)
    a.ok("take_seat", RoomId=rid, Index=1)
    a.ok("send_text", RoomId=rid, Text="seated")
    assert gw.rest.update(rid, Notice="n1")["ErrorCode"] == 0
    gw.rest.ok("room_engine_http_mic/lock_seat", {"RoomId": rid, "Index": 1, "ForbidTaken": True})
    gw.rest.ok("send_text_msg", {"RoomId": rid, "Sender_Account": ADMIN, "TextContent": "locked"})
    o.ok("update_room_info", RoomId=rid, RoomInfo={"Notice": "n2"})
    want = ["SeatListChanged", "Message", "RoomInfoChanged", "SeatListChanged", "Message",
            "RoomInfoChanged"]
    for conn in (o, a, b):
        conn.expect_event("RoomInfoChanged", predicate=lambda d: d["RoomInfo"]["Notice"] == "n2")
        got = [e["event"] for e in conn.received if e.get("event") in set(want)]
        assert got[-6:] == want, got


def test_a_big_rooms_messages_reach_every_member_once_in_order_while_members_come_and_go(gw):
    """300 members: on each of the two I/O threads a broadcast takes several turns of 64
    members, with the thread's other work in between. Every member still gets every message
    once and in order; one who leaves midway gets what came before its leave and nothing after,
    and one who enters midway what came after."""
    rid, owner = gw.room()
    users = gw.accounts(300)
    members = [gw.connect(query=gw.query(u), name=u) for u in users]
    entering = [(c, c.new_id()) for c in members]
    for c, req in entering:
        c.send({"id": req, "op": "enter", "RoomId": rid})
    for c, req in entering:
        assert c.wait_reply(req)["code"] == 0
    sender, leaver = members[0], members[1]
    late_user = gw.account("late")

    def burst(first, n):
        ids = []
        for k in range(first, first + n):
            ids.append(sender.new_id())
            sender.send({"id": ids[-1], "op": "send_text", "RoomId": rid, "Text": f"m{k}"})
        return [sender.wait_reply(i)["data"]["MsgSeq"] for i in ids]

    assert burst(1, 10) == list(range(1, 11))
    leaver.ok("leave", RoomId=rid)
    late = gw.connect(query=gw.query(late_user), name=late_user)
    assert late.enter(rid)["MsgSeq"] == 10
    assert burst(11, 10) == list(range(11, 21))

    def seqs(c):
        return [e["data"]["MsgSeq"] for e in c.events("Message")]

    stayers = [c for c in members if c is not leaver]
    wait_until(lambda: all(len(seqs(c)) >= 20 for c in stayers) and len(seqs(late)) >= 10,
               timeout=20, what="every member has every message")
    time.sleep(0.2)  # anything extra (a duplicate) would arrive meanwhile
    for c in stayers:
        assert seqs(c) == list(range(1, 21)), (c.name, seqs(c))
        assert [text_of(e["data"]) for e in c.events("Message")] == [f"m{k}" for k in range(1, 21)]
    assert seqs(leaver) == list(range(1, 11))
    assert seqs(late) == list(range(11, 21))
