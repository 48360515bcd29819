"""Co-hosting over the gateway (docs/client-protocol.md cohost_*; events CoHostRequest,
CoHostRequestResolved, CoHostChanged): owners connect their rooms, every member of each room
sees who is connected, each room keeps its own chat; requests are answered, cancelled or time
out; a dismissed room or an owner gone offline ends its connection."""

import pytest

from gateway_client import gw, gw_server  # noqa: F401 (fixtures)


def live_room(gw):
    """A room with its owner and one audience member, both online."""
    rid, owner = gw.room("co")
    return rid, gw.member(rid, owner), gw.member(rid)


def connect(a_room, a_owner, b_room, b_owner):
    [result] = a_owner.ok("cohost_request", RoomId=a_room, ToRoomIdList=[b_room])["Results"]
    assert result["Code"] == 0, result
    asked = b_owner.expect_event("CoHostRequest")["data"]
    assert asked["RequestId"] == result["RequestId"]
    b_owner.ok("cohost_respond", RoomId=b_room, RequestId=result["RequestId"], Accept=True)
    return result["RequestId"]


def listed(event):
    return [(r["RoomId"], r["Owner_Account"]) for r in event["data"]["CoHostList"]]


@pytest.mark.not_by_room("co-hosting between rooms of different slots")
def test_owners_connect_and_every_member_sees_it(gw):
    a, oa, ma = live_room(gw)
    b, ob, mb = live_room(gw)
    [result] = oa.ok("cohost_request", RoomId=a, ToRoomIdList=[b], TimeoutMs=5000,
                     ExtensionInfo='{"layout":"split"}')["Results"]
    assert result == {"RoomId": b, "Code": 0, "Message": "", "RequestId": result["RequestId"]}
    asked = ob.expect_event("CoHostRequest")
    assert asked["RoomId"] == b
    assert asked["data"] == {"RequestId": result["RequestId"], "FromRoomId": a,
                             "From_Account": oa.user, "ExtensionInfo": '{"layout":"split"}',
                             "TimeoutMs": 5000}
    mb.no_event("CoHostRequest", within=0.2)  # only the owner is asked

    ob.ok("cohost_respond", RoomId=b, RequestId=result["RequestId"], Accept=True)
    for owner in (oa, ob):
        done = owner.expect_event("CoHostRequestResolved")["data"]
        assert (done["Result"], done["FromRoomId"], done["ToRoomId"]) == ("Accepted", a, b)
    want = [(a, oa.user), (b, ob.user)]
    for member in (oa, ma, ob, mb):
        assert listed(member.expect_event("CoHostChanged")) == want
    assert [(r["RoomId"], r["Owner_Account"]) for r in
            ma.ok("get_cohost", RoomId=a)["CoHostList"]] == want
    late = gw.member(b)
    assert [r["RoomId"] for r in late.entered["CoHostList"]] == [a, b]

    # each room keeps its own chat
    ma.ok("send_text", RoomId=a, Text="only in A")
    ma.expect_event("Message")
    mb.no_event("Message", within=0.3)

    # a third room joins the connection through A
    c, oc, mc = live_room(gw)
    connect(a, oa, c, oc)
    for member in (ma, mb, mc):
        assert [room for room, _ in listed(member.expect_event("CoHostChanged"))] == [a, b, c]

    # B leaves: A and C stay connected, B is connected with nobody
    ob.ok("cohost_disconnect", RoomId=b)
    assert listed(mb.expect_event("CoHostChanged")) == []
    assert [room for room, _ in listed(mc.expect_event("CoHostChanged"))] == [a, c]
    assert ob.ok("get_cohost", RoomId=b)["CoHostList"] == []


@pytest.mark.not_by_room("co-hosting between rooms of different slots")
def test_requests_are_rejected_cancelled_or_time_out(gw):
    a, oa, _ = live_room(gw)
    b, ob, mb = live_room(gw)
    [r1] = oa.ok("cohost_request", RoomId=a, ToRoomIdList=[b])["Results"]
    ob.expect_event("CoHostRequest")
    ob.ok("cohost_respond", RoomId=b, RequestId=r1["RequestId"], Accept=False)
    for owner in (oa, ob):
        assert owner.expect_event("CoHostRequestResolved")["data"]["Result"] == "Rejected"

    [r2] = oa.ok("cohost_request", RoomId=a, ToRoomIdList=[b])["Results"]
    oa.ok("cohost_cancel", RoomId=a, RequestId=r2["RequestId"])
    assert ob.expect_event("CoHostRequestResolved",
                           predicate=lambda d: d["RequestId"] == r2["RequestId"])["data"][
        "Result"] == "Cancelled"
    ob.fail("cohost_respond", -1001, RoomId=b, RequestId=r2["RequestId"], Accept=True)

    [r3] = oa.ok("cohost_request", RoomId=a, ToRoomIdList=[b], TimeoutMs=1000)["Results"]
    done = oa.expect_event("CoHostRequestResolved", timeout=3,
                           predicate=lambda d: d["RequestId"] == r3["RequestId"])
    assert done["data"]["Result"] == "TimedOut"
    mb.no_event("CoHostChanged", within=0.2)


@pytest.mark.not_by_room("co-hosting between rooms of different slots")
def test_what_can_and_cannot_be_asked(gw):
    a, oa, ma = live_room(gw)
    b, ob, _ = live_room(gw)
    c, oc, _ = live_room(gw)
    absent_room, absent_owner = gw.room("co")  # its owner never entered
    ma.fail("cohost_request", -2300, RoomId=a, ToRoomIdList=[b])  # not the owner
    oa.fail("cohost_request", -1001, RoomId=a, ToRoomIdList=[])
    oa.fail("cohost_request", -2101, RoomId=b, ToRoomIdList=[c])  # not in that room
    results = oa.ok("cohost_request", RoomId=a,
                    ToRoomIdList=[a, "no-such-room", absent_room, b, b])["Results"]
    codes = [(r["RoomId"], r["Code"]) for r in results]
    assert codes == [(a, -1001), ("no-such-room", -2100), (absent_room, -2200), (b, 0), (b, -3)]
    assert all(r["Message"] for r in results if r["Code"])
    ob.ok("cohost_respond", RoomId=b, RequestId=results[3]["RequestId"], Accept=True)
    # B co-hosts with A now: C cannot ask B, and A asking B again is repeated
    [r] = oc.ok("cohost_request", RoomId=c, ToRoomIdList=[b])["Results"]
    assert r["Code"] == 100006, r
    [r] = oa.ok("cohost_request", RoomId=a, ToRoomIdList=[b])["Results"]
    assert r["Code"] == -3, r
    oc.fail("cohost_disconnect", -1001, RoomId=c)


@pytest.mark.not_by_room("co-hosting between rooms of different slots")
def test_a_dismissed_room_or_an_absent_owner_ends_the_connection(gw):
    a, oa, ma = live_room(gw)
    b, ob, mb = live_room(gw)
    connect(a, oa, b, ob)
    ma.expect_event("CoHostChanged")
    mb.expect_event("CoHostChanged")
    oa.ok("dismiss", RoomId=a)
    assert listed(mb.expect_event("CoHostChanged")) == []

    c, oc, mc = live_room(gw)
    connect(b, ob, c, oc)
    mc.expect_event("CoHostChanged")
    mb.expect_event("CoHostChanged")
    oc.drop()  # the owner's connection is gone: offline
    assert listed(mb.expect_event("CoHostChanged")) == []
    assert listed(mc.expect_event("CoHostChanged")) == []

    # a pending request ends with its room
    d, od, _ = live_room(gw)
    [r] = od.ok("cohost_request", RoomId=d, ToRoomIdList=[b])["Results"]
    ob.expect_event("CoHostRequest")
    od.ok("dismiss", RoomId=d)
    assert ob.expect_event("CoHostRequestResolved",
                           predicate=lambda x: x["RequestId"] == r["RequestId"])["data"][
        "Result"] == "Cancelled"
