"""Presence (docs/client-protocol.md "Presence"): a member whose connection ends stays in the room,
seat and role kept, for `[gateway] presence_grace_ms` (800 ms on the module server); coming back
within it is a recovery, after it the member leaves the room and its seat. A second login of the
same user closes the first connection. A client that does not read is closed as a slow
consumer."""

import socket
import time

import pytest

from conftest import ADMIN
from gateway_client import (gw, gw_factory, gw_server, occupants, rest_members,  # noqa: F401
                            seat_of, wait_until)

MIC = "room_engine_http_mic/"
GRACE = 0.8


def rest_seats(gw, rid):
    return gw.rest.ok(MIC + "get_seat_list", {"RoomId": rid})["SeatList"]


@pytest.mark.parametrize("how", ["drop", "close"])
def test_member_gone_offline_leaves_room_and_seat_after_the_grace_period(gw, how):
    rid, owner = gw.room(SeatTemplate="VideoDynamicGrid9Seats")
    host = gw.member(rid, owner)
    a = gw.member(rid)
    assert a.ok("take_seat", RoomId=rid, Index=1)["Index"] == 1
    host.expect_event("SeatListChanged", predicate=lambda d: seat_of(d["SeatList"], a.user) == 1)
    host.drain()
    gone_at = time.monotonic()
    getattr(a, how)()
    # during the grace period: still in the room and on the seat
    time.sleep(0.3)
    assert occupants(rest_seats(gw, rid)) == {1: a.user}
    host.no_event("MembersChanged", within=0.1, predicate=lambda d: a.user in d["Left"])
    # then it leaves
    ev = host.expect_event("MembersChanged", timeout=GRACE + 2,
                           predicate=lambda d: a.user in d["Left"])
    assert time.monotonic() - gone_at >= GRACE - 0.15, "left before the grace period ended"
    assert ev["data"]["MemberCount"] == 1
    host.expect_event("SeatListChanged", predicate=lambda d: seat_of(d["SeatList"], a.user) is None)
    assert occupants(rest_seats(gw, rid)) == {}
    accounts, count = rest_members(gw.rest, rid)
    assert accounts == [owner] and count == 1
    # coming back later is a fresh entry
    again = gw.member(rid, a.user)
    assert again.entered["Recovered"] is False
    assert seat_of(again.entered["SeatList"], a.user) is None


@pytest.mark.parametrize("how", ["drop", "close"])
def test_recovery_within_the_grace_period_keeps_seat_and_role(gw, how):
    rid, owner = gw.room(SeatTemplate="VideoDynamicGrid9Seats")
    host = gw.member(rid, owner)
    a = gw.member(rid)
    host.ok("set_admin", RoomId=rid, Member_Account=a.user, IsAdmin=True)
    a.expect_event("RoleChanged", predicate=lambda d: d["Role"] == "Admin")
    a.ok("take_seat", RoomId=rid, Index=2)
    host.expect_event("SeatListChanged", predicate=lambda d: seat_of(d["SeatList"], a.user) == 2)
    host.drain()
    views = gw.rest.room_info(rid)["ViewCount"]
    getattr(a, how)()
    time.sleep(0.2)
    back = gw.member(rid, a.user)
    d = back.entered
    assert d["Recovered"] is True, d
    # docs/compatibility.md: a member coming back within the grace period is an entry
    assert gw.rest.room_info(rid)["ViewCount"] == views + 1
    assert d["Role"] == "Admin"
    assert seat_of(d["SeatList"], a.user) == 2
    # the grace period passes: nothing happens
    time.sleep(GRACE + 0.4)
    host.no_event("MembersChanged", within=0.1, predicate=lambda d: a.user in d["Left"])
    host.no_event("SeatListChanged", within=0.0, predicate=lambda d: seat_of(d["SeatList"], a.user) != 2)
    assert occupants(rest_seats(gw, rid)) == {2: a.user}
    assert a.user in rest_members(gw.rest, rid)[0]
    # the recovered member acts as before
    assert back.ok("send_text", RoomId=rid, Text="back")["MsgSeq"] >= 1
    back.ok("leave_seat", RoomId=rid)


@pytest.mark.not_by_room("a second login replaces the first on the room's host, once it enters the room")
def test_second_login_closes_the_first_connection_and_resumes_the_member(gw):
    """The first connection gets Kicked LoggedInElsewhere and is closed; the member stays,
    offline, for the newer connection to resume (seat kept)."""
    rid, owner = gw.room(SeatTemplate="VideoDynamicGrid9Seats")
    host = gw.member(rid, owner)
    first = gw.member(rid)
    first.ok("take_seat", RoomId=rid, Index=5)
    host.expect_event("SeatListChanged", predicate=lambda d: seat_of(d["SeatList"], first.user) == 5)
    second = gw.login(first.user)
    ev = first.expect_event("Kicked")
    assert ev["data"]["Reason"] == "LoggedInElsewhere"
    first.wait_closed()
    d = second.ok("enter", RoomId=rid)
    assert d["Role"] == "Audience"
    assert d["Recovered"] is True and seat_of(d["SeatList"], first.user) == 5
    host.no_event("MembersChanged", within=0.1, predicate=lambda m: first.user in m["Left"])
    second.ok("send_text", RoomId=rid, Text="from the new device")
    host.expect_event("Message", predicate=lambda m: m["From_Account"] == first.user)
    # the user is listed once
    accounts, count = rest_members(gw.rest, rid)
    assert sorted(accounts) == sorted([owner, first.user]) and count == 2


@pytest.mark.not_by_room("a second login replaces the first on the room's host, once it enters the room")
def test_replaced_member_who_is_not_resumed_leaves_after_the_grace_period(gw):
    """The newer connection never enters: the member the first connection held goes offline
    when it is closed and leaves the room (and its seat) once the grace period ends."""
    rid, owner = gw.room(SeatTemplate="VideoDynamicGrid9Seats")
    host = gw.member(rid, owner)
    first = gw.member(rid)
    first.ok("take_seat", RoomId=rid, Index=3)
    second = gw.login(first.user)
    assert first.expect_event("Kicked")["data"]["Reason"] == "LoggedInElsewhere"
    first.wait_closed()
    host.expect_event("MembersChanged", timeout=GRACE + 3,
                      predicate=lambda m: first.user in m["Left"])
    assert first.user not in rest_members(gw.rest, rid)[0]
    assert second.ok("heartbeat")["ServerTime"] > 0


def test_second_login_without_a_room_also_kicks(gw):
    first = gw.login()
    second = gw.login(first.user)
    assert first.expect_event("Kicked")["data"]["Reason"] == "LoggedInElsewhere"
    first.wait_closed()
    assert second.ok("heartbeat")["ServerTime"] > 0


def slow_consumer(kit):
    """A member that does not read while ~7 MB of messages (more than the kernel buffers and
    the smallest queue limit) go to its room; returns (RoomId, connection) once the server has
    closed the connection. Nobody else is in the room: with the smallest queue limit a Python
    reader could fall behind too."""
    rid, owner = kit.room()
    user = kit.account()
    slow = kit.connect(query=kit.query(user), paused=True,
                       sockopt=[(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)])
    slow.user = user
    slow.send({"id": 1, "op": "enter", "RoomId": rid})
    wait_until(lambda: user in rest_members(kit.rest, rid)[0], what="the slow member's entry")
    text = "x" * 12000
    for _ in range(600):  # 7.2 MB
        kit.rest.ok("send_text_msg", {"RoomId": rid, "Sender_Account": ADMIN, "TextContent": text})
    slow.resume()
    slow.wait_closed(timeout=5)
    got = [e for e in slow.received if e.get("event") == "Message"]
    assert len(got) < 600, "the slow consumer was sent everything"
    return rid, slow


def test_slow_consumer_is_closed_and_goes_offline(gw_factory):
    kit = gw_factory(gateway={"max_queued_bytes": 65536}, name="slow")
    rid, slow = slow_consumer(kit)
    # the member went offline and leaves once the grace period ends
    wait_until(lambda: slow.user not in rest_members(kit.rest, rid)[0], timeout=GRACE + 3,
               what="the slow member's departure")


def test_slow_consumer_is_dropped_without_a_close_frame(gw_factory):
    """docs/client-protocol.md: "the server drops its connection (without a close frame: the
    socket's buffer is what is full)"."""
    kit = gw_factory(gateway={"max_queued_bytes": 65536}, name="slow")
    rid, slow = slow_consumer(kit)
    assert slow.close_code is None, (
        f"closed with {slow.close_code} {slow.close_reason!r} after {len(slow.received)} objects")
