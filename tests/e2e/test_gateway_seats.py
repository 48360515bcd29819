"""Seats over the gateway and REST on the same state (docs/client-protocol.md take_seat,
cancel_seat_request, respond_seat_request, invite_to_seat, leave_seat, kick_off_seat, lock_seat,
move_seat; events SeatListChanged, SeatRequest, SeatInvitation, SeatRequestResolved,
KickedOffSeat; spec §2.3)."""

import time

import pytest

from conftest import ADMIN, default_apps
from gateway_client import gw, gw_factory, gw_server, occupants, seat_of  # noqa: F401 (fixtures)
from webhook_sink import sink, sink_factory  # noqa: F401 (fixtures)

MIC = "room_engine_http_mic/"
SEAT_INFO = "Mic.CallbackAfterSeatInfoChanged"
NINE = "VideoDynamicGrid9Seats"


def rest_seats(gw, rid):
    return gw.rest.ok(MIC + "get_seat_list", {"RoomId": rid})["SeatList"]


def seated(conn, user, index):
    """Waits for a SeatListChanged that shows `user` on `index` (None = off every seat)."""
    return conn.expect_event("SeatListChanged",
                             predicate=lambda d: seat_of(d["SeatList"], user) == index)


def seat_room(gw, mode="FreeToTake", template=NINE, admin=False, **fields):
    """Owner and two audience members entered (and an admin if asked)."""
    rid, owner = gw.room(SeatTemplate=template, TakeSeatMode=mode, **fields)
    o = gw.member(rid, owner, name="owner")
    extra = []
    if admin:
        adm = gw.account("adm")
        gw.rest.ok("modify_admin", {"RoomId": rid, "Admin_Account": [adm], "OpType": "add"})
        extra.append(gw.member(rid, adm, name="admin"))
    a = gw.member(rid, name="a")
    b = gw.member(rid, name="b")
    return (rid, o, a, b, *extra)


# --- FreeToTake --------------------------------------------------------------------------------

def test_take_seat_by_index_and_any(gw):
    rid, o, a, b = seat_room(gw)
    r = a.ok("take_seat", RoomId=rid, Index=3)
    assert r["Status"] == "Seated" and r["Index"] == 3, r
    for conn in (o, a, b):
        ev = seated(conn, a.user, 3)
        assert ev["RoomId"] == rid
    assert occupants(rest_seats(gw, rid)) == {3: a.user}
    r = b.ok("take_seat", RoomId=rid)   # any free seat
    assert r["Status"] == "Seated" and r["Index"] != 3 and 0 <= r["Index"] < 9
    seated(o, b.user, r["Index"])
    assert occupants(rest_seats(gw, rid)) == {3: a.user, r["Index"]: b.user}


def test_take_seat_errors(gw):
    rid, o, a, b = seat_room(gw)
    a.ok("take_seat", RoomId=rid, Index=1)
    b.fail("take_seat", -2342, RoomId=rid, Index=1)
    a.fail("take_seat", -2341, RoomId=rid, Index=2)
    a.fail("take_seat", -2341, RoomId=rid)
    b.fail("take_seat", -2344, RoomId=rid, Index=9)
    b.fail("take_seat", -2344, RoomId=rid, Index=100)
    b.fail("take_seat", -1001, RoomId=rid, Index="2")
    b.fail("leave_seat", -2345, RoomId=rid)
    assert occupants(rest_seats(gw, rid)) == {1: a.user}
    a.ok("leave_seat", RoomId=rid)
    seated(o, a.user, None)
    assert occupants(rest_seats(gw, rid)) == {}
    a.fail("leave_seat", -2345, RoomId=rid)


def test_every_seat_taken_is_2346(gw):
    rid, o, a, b = seat_room(gw, template="AudioSalon", MaxSeatCount=2)
    o.ok("take_seat", RoomId=rid)
    a.ok("take_seat", RoomId=rid)
    b.fail("take_seat", -2346, RoomId=rid)
    b.fail("take_seat", -2342, RoomId=rid, Index=0)


def test_room_without_seats_is_100211(gw):
    rid, owner = gw.room()
    o = gw.member(rid, owner)
    a = gw.member(rid)
    a.fail("take_seat", 100211, RoomId=rid)
    o.fail("lock_seat", 100211, RoomId=rid, Index=0, ForbidTaken=True)


def test_lock_seat_over_the_gateway(gw):
    rid, o, a, b = seat_room(gw)
    a.fail("lock_seat", -2301, RoomId=rid, Index=4, ForbidTaken=True)
    o.ok("lock_seat", RoomId=rid, Index=4, ForbidTaken=True, ForbidAudio=True)
    ev = a.expect_event("SeatListChanged", predicate=lambda d: d["SeatList"][4]["IsTakenDisabled"])
    assert ev["data"]["SeatList"][4]["IsAudioDisabled"] is True
    seat = rest_seats(gw, rid)[4]
    assert seat["IsTakenDisabled"] and seat["IsAudioDisabled"] and not seat["IsVideoDisabled"]
    a.fail("take_seat", -2343, RoomId=rid, Index=4)
    o.fail("lock_seat", -2344, RoomId=rid, Index=9, ForbidTaken=True)
    # locking an occupied seat removes its occupant
    b.ok("take_seat", RoomId=rid, Index=5)
    seated(o, b.user, 5)
    o.ok("lock_seat", RoomId=rid, Index=5, ForbidTaken=True)
    seated(b, b.user, None)
    assert occupants(rest_seats(gw, rid)) == {}
    o.ok("lock_seat", RoomId=rid, Index=4, ForbidTaken=False)
    a.ok("take_seat", RoomId=rid, Index=4)
    assert rest_seats(gw, rid)[4]["IsAudioDisabled"]  # only the sent lock changed


def test_lock_seat_over_rest_blocks_the_gateway(gw):
    rid, o, a, b = seat_room(gw)
    a.ok("take_seat", RoomId=rid, Index=2)
    seated(b, a.user, 2)
    gw.rest.ok(MIC + "lock_seat", {"RoomId": rid, "Index": 2, "ForbidTaken": True})
    seated(b, a.user, None)
    ev = a.expect_event("SeatListChanged", predicate=lambda d: d["SeatList"][2]["IsTakenDisabled"])
    assert "Member_Account" not in ev["data"]["SeatList"][2] or not ev["data"]["SeatList"][2]["Member_Account"]
    a.fail("take_seat", -2343, RoomId=rid, Index=2)
    b.fail("take_seat", -2343, RoomId=rid, Index=2)


def test_rest_pick_and_kick_an_online_member(gw):
    rid, o, a, b = seat_room(gw)
    gw.rest.ok(MIC + "pick_user_on_seat", {"RoomId": rid, "Index": 6, "Member_Account": a.user})
    seated(a, a.user, 6)
    seated(b, a.user, 6)
    a.fail("take_seat", -2341, RoomId=rid)
    b.fail("take_seat", -2342, RoomId=rid, Index=6)
    gw.rest.ok(MIC + "kick_user_off_seat", {"RoomId": rid, "Member_Account": a.user, "Data": "time over"})
    assert a.expect_event("KickedOffSeat")["data"]["Data"] == "time over"
    seated(b, a.user, None)
    # REST sees the gateway's seats and the other way round
    b.ok("take_seat", RoomId=rid, Index=0)
    assert occupants(rest_seats(gw, rid)) == {0: b.user}


def test_kick_off_seat(gw):
    rid, o, a, b = seat_room(gw)
    a.ok("take_seat", RoomId=rid, Index=0)
    b.fail("kick_off_seat", -2301, RoomId=rid, Member_Account=a.user)
    o.ok("kick_off_seat", RoomId=rid, Member_Account=a.user, Data="your turn is over")
    ev = a.expect_event("KickedOffSeat")
    assert ev["RoomId"] == rid and ev["data"]["Data"] == "your turn is over"
    b.no_event("KickedOffSeat", within=0.1)
    seated(b, a.user, None)
    assert occupants(rest_seats(gw, rid)) == {}
    r = o.request("kick_off_seat", RoomId=rid, Member_Account=a.user)
    assert r["code"] != 0, r
    # still a member of the room
    a.ok("send_text", RoomId=rid, Text="I am still here")


@pytest.mark.parametrize("policy", [0, 1, 2])
def test_move_seat_policies_by_a_manager(gw, policy):
    rid, o, a, b = seat_room(gw)
    a.ok("take_seat", RoomId=rid, Index=0)
    b.ok("take_seat", RoomId=rid, Index=3)
    seated(o, b.user, 3)
    params = dict(RoomId=rid, SeatIndex=3, Member_Account=a.user, Policy=policy)
    if policy == 0:
        o.fail("move_seat", -2342, **params)
        assert occupants(rest_seats(gw, rid)) == {0: a.user, 3: b.user}
    elif policy == 1:
        o.ok("move_seat", **params)
        seated(b, b.user, None)
        assert occupants(rest_seats(gw, rid)) == {3: a.user}
    else:
        o.ok("move_seat", **params)
        seated(a, b.user, 0)
        assert occupants(rest_seats(gw, rid)) == {0: b.user, 3: a.user}


def test_move_seat_by_oneself(gw):
    rid, o, a, b = seat_room(gw)
    a.fail("move_seat", -2345, RoomId=rid, SeatIndex=5)  # not seated yet
    a.ok("take_seat", RoomId=rid, Index=1)
    b.ok("take_seat", RoomId=rid, Index=2)
    a.ok("move_seat", RoomId=rid, SeatIndex=5)
    seated(o, a.user, 5)
    assert occupants(rest_seats(gw, rid)) == {5: a.user, 2: b.user}
    a.fail("move_seat", -2342, RoomId=rid, SeatIndex=2)
    a.fail("move_seat", -2344, RoomId=rid, SeatIndex=9)
    # an audience member cannot move others, nor force or swap
    a.fail("move_seat", -2301, RoomId=rid, SeatIndex=7, Member_Account=b.user)
    a.fail("move_seat", -2301, RoomId=rid, SeatIndex=2, Policy=1)
    assert occupants(rest_seats(gw, rid)) == {5: a.user, 2: b.user}


# --- ApplyToTake -------------------------------------------------------------------------------

def test_apply_and_accept(gw):
    rid, o, a, b, adm = seat_room(gw, mode="ApplyToTake", admin=True)
    r = a.ok("take_seat", RoomId=rid, Index=1)
    assert r["Status"] == "Pending" and r["RequestId"]
    req = r["RequestId"]
    for mgr in (o, adm):
        ev = mgr.expect_event("SeatRequest", predicate=lambda d: d["RequestId"] == req)
        assert ev["data"]["Member_Account"] == a.user and ev["data"]["Index"] == 1
    b.no_event("SeatRequest", within=0.2)
    assert occupants(rest_seats(gw, rid)) == {}
    b.fail("respond_seat_request", -2301, RoomId=rid, RequestId=req, Accept=True)
    assert adm.ok("respond_seat_request", RoomId=rid, RequestId=req, Accept=True)["Index"] == 1
    ev = a.expect_event("SeatRequestResolved", predicate=lambda d: d["RequestId"] == req)
    assert ev["data"]["Result"] == "Accepted" and ev["data"]["Index"] == 1
    assert ev["data"]["Member_Account"] == a.user
    o.expect_event("SeatRequestResolved", predicate=lambda d: d["RequestId"] == req
                   and d["Result"] == "Accepted")
    seated(b, a.user, 1)
    assert occupants(rest_seats(gw, rid)) == {1: a.user}
    r = o.request("respond_seat_request", RoomId=rid, RequestId=req, Accept=True)
    assert r["code"] != 0, r  # answered already


def test_apply_for_any_seat(gw):
    rid, o, a, b = seat_room(gw, mode="ApplyToTake")
    req = a.ok("take_seat", RoomId=rid)["RequestId"]
    assert o.expect_event("SeatRequest")["data"]["Index"] == -1
    index = o.ok("respond_seat_request", RoomId=rid, RequestId=req, Accept=True)["Index"]
    assert 0 <= index < 9
    seated(a, a.user, index)


def test_managers_take_seats_directly_in_apply_rooms(gw):
    rid, o, a, b, adm = seat_room(gw, mode="ApplyToTake", admin=True)
    r = o.ok("take_seat", RoomId=rid, Index=0)
    assert r["Status"] == "Seated" and r["Index"] == 0, r
    assert adm.ok("take_seat", RoomId=rid, Index=1)["Status"] == "Seated"
    assert occupants(rest_seats(gw, rid)) == {0: o.user, 1: adm.user}


def test_apply_and_reject(gw):
    rid, o, a, b = seat_room(gw, mode="ApplyToTake")
    req = a.ok("take_seat", RoomId=rid, Index=2)["RequestId"]
    o.expect_event("SeatRequest", predicate=lambda d: d["RequestId"] == req)
    o.ok("respond_seat_request", RoomId=rid, RequestId=req, Accept=False)
    ev = a.expect_event("SeatRequestResolved", predicate=lambda d: d["RequestId"] == req)
    assert ev["data"]["Result"] == "Rejected"
    assert occupants(rest_seats(gw, rid)) == {}
    a.no_event("SeatListChanged", within=0.2, predicate=lambda d: seat_of(d["SeatList"], a.user) is not None)


def test_apply_and_cancel(gw):
    rid, o, a, b = seat_room(gw, mode="ApplyToTake")
    req = a.ok("take_seat", RoomId=rid, Index=2)["RequestId"]
    o.expect_event("SeatRequest", predicate=lambda d: d["RequestId"] == req)
    r = b.request("cancel_seat_request", RoomId=rid, RequestId=req)
    assert r["code"] != 0, "somebody else cancelled the application"
    a.ok("cancel_seat_request", RoomId=rid, RequestId=req)
    ev = o.expect_event("SeatRequestResolved", predicate=lambda d: d["RequestId"] == req)
    assert ev["data"]["Result"] == "Cancelled" and ev["data"]["Member_Account"] == a.user
    r = o.request("respond_seat_request", RoomId=rid, RequestId=req, Accept=True)
    assert r["code"] != 0, r
    assert occupants(rest_seats(gw, rid)) == {}


def test_application_times_out(gw):
    rid, o, a, b = seat_room(gw, mode="ApplyToTake")
    a.fail("take_seat", -1001, RoomId=rid, Index=1, TimeoutMs=999)
    a.fail("take_seat", -1001, RoomId=rid, Index=1, TimeoutMs=300001)
    start = time.monotonic()
    req = a.ok("take_seat", RoomId=rid, Index=1, TimeoutMs=1000)["RequestId"]
    o.expect_event("SeatRequest", predicate=lambda d: d["RequestId"] == req)
    ev = a.expect_event("SeatRequestResolved", timeout=3, predicate=lambda d: d["RequestId"] == req)
    assert ev["data"]["Result"] == "TimedOut"
    assert time.monotonic() - start >= 0.9
    o.expect_event("SeatRequestResolved", predicate=lambda d: d["RequestId"] == req
                   and d["Result"] == "TimedOut")
    r = o.request("respond_seat_request", RoomId=rid, RequestId=req, Accept=True)
    assert r["code"] != 0, r
    assert occupants(rest_seats(gw, rid)) == {}


def test_pending_application_is_not_a_second_one(gw):
    rid, o, a, b = seat_room(gw, mode="ApplyToTake")
    a.ok("take_seat", RoomId=rid, Index=1)
    r = a.request("take_seat", RoomId=rid, Index=2)
    # a second application while one is pending: either refused or a fresh request; never seated
    assert r["code"] != 0 or r["data"]["Status"] == "Pending", r
    assert occupants(rest_seats(gw, rid)) == {}


# --- invitations -------------------------------------------------------------------------------

def test_invite_and_accept(gw):
    rid, o, a, b = seat_room(gw, mode="ApplyToTake")
    b.fail("invite_to_seat", -2301, RoomId=rid, Member_Account=a.user, Index=4)
    req = o.ok("invite_to_seat", RoomId=rid, Member_Account=a.user, Index=4)["RequestId"]
    ev = a.expect_event("SeatInvitation")
    d = ev["data"]
    assert (d["RequestId"], d["From_Account"], d["Index"]) == (req, o.user, 4), d
    b.no_event("SeatInvitation", within=0.1)
    # only the invitee answers it
    r = b.request("respond_seat_request", RoomId=rid, RequestId=req, Accept=True)
    assert r["code"] != 0, r
    assert a.ok("respond_seat_request", RoomId=rid, RequestId=req, Accept=True)["Index"] == 4
    ev = o.expect_event("SeatRequestResolved", predicate=lambda d: d["RequestId"] == req)
    assert ev["data"]["Result"] == "Accepted" and ev["data"]["Index"] == 4
    assert ev["data"]["Member_Account"] == a.user
    b.no_event("SeatRequestResolved", within=0.1)
    seated(b, a.user, 4)
    assert occupants(rest_seats(gw, rid)) == {4: a.user}


def test_invitation_result_reaches_the_other_managers(gw):
    """docs/client-protocol.md: SeatRequestResolved goes to "applicant / inviter and managers":
    an admin sees the outcome of the owner's invitation as it sees that of applications."""
    rid, o, a, b, adm = seat_room(gw, admin=True)
    req = o.ok("invite_to_seat", RoomId=rid, Member_Account=a.user, Index=4)["RequestId"]
    a.expect_event("SeatInvitation")
    a.ok("respond_seat_request", RoomId=rid, RequestId=req, Accept=True)
    o.expect_event("SeatRequestResolved", predicate=lambda d: d["RequestId"] == req)
    ev = adm.expect_event("SeatRequestResolved", predicate=lambda d: d["RequestId"] == req)
    assert ev["data"]["Result"] == "Accepted"


def test_invite_and_reject(gw):
    rid, o, a, b = seat_room(gw)
    req = o.ok("invite_to_seat", RoomId=rid, Member_Account=b.user)["RequestId"]
    assert b.expect_event("SeatInvitation")["data"]["RequestId"] == req
    b.ok("respond_seat_request", RoomId=rid, RequestId=req, Accept=False)
    ev = o.expect_event("SeatRequestResolved", predicate=lambda d: d["RequestId"] == req)
    assert ev["data"]["Result"] == "Rejected"
    assert occupants(rest_seats(gw, rid)) == {}


def test_invitation_times_out(gw):
    rid, o, a, b = seat_room(gw)
    req = o.ok("invite_to_seat", RoomId=rid, Member_Account=b.user, Index=2,
               TimeoutMs=1000)["RequestId"]
    b.expect_event("SeatInvitation")
    ev = o.expect_event("SeatRequestResolved", timeout=3, predicate=lambda d: d["RequestId"] == req)
    assert ev["data"]["Result"] == "TimedOut"
    r = b.request("respond_seat_request", RoomId=rid, RequestId=req, Accept=True)
    assert r["code"] != 0, r
    assert occupants(rest_seats(gw, rid)) == {}


# --- layout changes ----------------------------------------------------------------------------

def test_rest_layout_shrink_takes_members_off_the_seats_that_vanish(gw):
    """docs/client-protocol.md: a layout change (SeatTemplate/MaxSeatCount) sends SeatListChanged,
    KickedOffSeat (Reason SeatRemoved) to whoever sat on a removed seat, and cancels the seat
    requests for removed seats; removed seats go with their locks."""
    rid, o, a, b = seat_room(gw)
    c = gw.member(rid, name="c")
    a.ok("take_seat", RoomId=rid, Index=7)
    b.ok("take_seat", RoomId=rid, Index=2)
    o.ok("lock_seat", RoomId=rid, Index=8, ForbidTaken=True)
    o.ok("lock_seat", RoomId=rid, Index=3, ForbidAudio=True)
    doomed = o.ok("invite_to_seat", RoomId=rid, Member_Account=c.user, Index=5)["RequestId"]
    c.expect_event("SeatInvitation")
    for conn in (o, a, b, c):
        conn.expect_event("SeatListChanged", predicate=lambda d: d["SeatList"][3]["IsAudioDisabled"])
        conn.drain("SeatListChanged")

    assert gw.rest.update(rid, SeatTemplate="VideoLandscape4Seats")["ErrorCode"] == 0
    for conn in (o, a, b, c):
        ev = conn.expect_event("SeatListChanged", predicate=lambda d: len(d["SeatList"]) == 4)
        assert occupants(ev["data"]["SeatList"]) == {2: b.user}
        assert ev["data"]["SeatList"][3]["IsAudioDisabled"] is True  # surviving locks stay
    ev = a.expect_event("KickedOffSeat")
    assert ev["RoomId"] == rid and ev["data"] == {"Reason": "SeatRemoved", "Data": ""}
    b.no_event("KickedOffSeat", within=0.1)
    for conn in (o, c):
        ev = conn.expect_event("SeatRequestResolved", predicate=lambda d: d["RequestId"] == doomed)
        assert ev["data"]["Result"] == "Cancelled" and ev["data"]["Member_Account"] == c.user
    c.fail("respond_seat_request", -1001, RoomId=rid, RequestId=doomed, Accept=True)
    assert occupants(rest_seats(gw, rid)) == {2: b.user}
    a.fail("leave_seat", -2345, RoomId=rid)  # not left sitting on a seat nobody can see

    # growing again brings fresh seats: nobody back on 7, seat 8 unlocked
    assert gw.rest.update(rid, SeatTemplate=NINE)["ErrorCode"] == 0
    ev = a.expect_event("SeatListChanged", predicate=lambda d: len(d["SeatList"]) == 9)
    assert occupants(ev["data"]["SeatList"]) == {2: b.user}
    assert not ev["data"]["SeatList"][8]["IsTakenDisabled"]
    a.ok("take_seat", RoomId=rid, Index=8)
    assert occupants(rest_seats(gw, rid)) == {2: b.user, 8: a.user}


def test_gateway_max_seat_count_change_is_announced(gw):
    rid, o, a, b = seat_room(gw, template="AudioSalon", MaxSeatCount=8)
    a.ok("take_seat", RoomId=rid, Index=6)
    seated(b, a.user, 6)
    o.ok("update_room_info", RoomId=rid, RoomInfo={"MaxSeatCount": 4})
    for conn in (o, a, b):
        ev = conn.expect_event("SeatListChanged", predicate=lambda d: len(d["SeatList"]) == 4)
        assert occupants(ev["data"]["SeatList"]) == {}
    assert a.expect_event("KickedOffSeat")["data"]["Reason"] == "SeatRemoved"
    o.ok("update_room_info", RoomId=rid, RoomInfo={"MaxSeatCount": 6})
    b.expect_event("SeatListChanged", predicate=lambda d: len(d["SeatList"]) == 6)
    # a change that leaves the seats as they were sends no SeatListChanged
    o.ok("update_room_info", RoomId=rid, RoomInfo={"Notice": "seats unchanged"})
    b.expect_event("RoomInfoChanged", predicate=lambda d: d["RoomInfo"]["Notice"] == "seats unchanged")
    b.no_event("SeatListChanged", within=0.2)


def test_kick_off_seat_says_why(gw):
    rid, o, a, b = seat_room(gw)
    a.ok("take_seat", RoomId=rid, Index=0)
    o.ok("kick_off_seat", RoomId=rid, Member_Account=a.user, Data="next")
    assert a.expect_event("KickedOffSeat")["data"] == {"Reason": "KickedByAdmin", "Data": "next"}


def test_layout_change_reaches_the_seat_webhook(gw_factory, sink):
    """docs/webhooks.md: Mic.CallbackAfterSeatInfoChanged also follows a layout change that
    changes the seat list (a robot on a removed seat leaves it)."""
    apps = default_apps()
    apps[0]["callbacks"] = [{"url": sink.url(), "commands": [SEAT_INFO]}]
    kit = gw_factory(apps=apps, name="layout-hooks")
    rid, owner = kit.room(SeatTemplate=NINE)
    bot = kit.account("bot")
    kit.rest.ok("add_robot", {"RoomId": rid, "RobotList_Account": [bot]})
    kit.rest.ok(MIC + "pick_user_on_seat", {"RoomId": rid, "Index": 7, "Member_Account": bot})
    sink.wait_delivered(1, timeout=5, command=SEAT_INFO, room=rid)
    assert kit.rest.update(rid, SeatTemplate="VideoLandscape4Seats")["ErrorCode"] == 0
    hooks = sink.wait_delivered(2, timeout=5, command=SEAT_INFO, room=rid)
    last = hooks[-1].json
    assert len(last["SeatList"]) == 4 and occupants(last["SeatList"]) == {}
    assert last["Operator_Account"] == ADMIN
