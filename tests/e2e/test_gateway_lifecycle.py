"""Room dismissal as members see it (docs/client-protocol.md dismiss, RoomDismissed; spec §2.1
destroy_room Statistic and automatic dismissal of empty rooms) and what survives a restart."""

import time

import pytest

from conftest import ADMIN, assert_error, default_apps
from gateway_client import gw, gw_factory, gw_server, wait_until  # noqa: F401 (fixtures)
from webhook_sink import DESTROY, sink, sink_factory  # noqa: F401 (fixtures)

MIC = "room_engine_http_mic/"
STAT_KEYS = ["TotalViewers", "TotalGiftsSent", "TotalGiftCoins", "TotalUniqueGiftSenders",
             "TotalLikesReceived"]
# The per-app setting of the empty-room period (spec §2.1: rooms empty for a while are dismissed).
DISMISS_KEY = "empty_room_dismiss_seconds"


def test_rest_destroy_room_dismisses_online_members(gw):
    rid, owner = gw.room()
    o = gw.member(rid, owner)
    a = gw.member(rid)
    b = gw.member(rid)
    a.ok("like", RoomId=rid, Count=3)
    b.ok("leave", RoomId=rid)
    b.ok("enter", RoomId=rid)
    stats = gw.rest.ok("destroy_room", {"RoomId": rid})["Statistic"]
    assert stats["TotalViewers"] == 4 and stats["TotalLikesReceived"] == 3, stats
    assert stats["TotalGiftsSent"] == 0
    for conn in (o, a, b):
        ev = conn.expect_event("RoomDismissed")
        assert ev["RoomId"] == rid
        assert ev["data"]["Reason"] == "DestroyByUser"
        assert {k: ev["data"]["Statistic"][k] for k in STAT_KEYS} == {k: stats[k] for k in STAT_KEYS}
    a.fail("send_text", (-2100, -2101), RoomId=rid, Text="anyone?")
    a.fail("enter", -2100, RoomId=rid)
    assert_error(gw.rest.call("get_room_info", {"RoomId": rid}), 100004)
    # the connections stay usable
    other, _ = gw.room()
    assert a.ok("enter", RoomId=other)["Role"] == "Audience"
    assert o.ok("heartbeat")["ServerTime"] > 0


def test_owner_dismisses_over_the_gateway(gw):
    rid, owner = gw.room()
    adm = gw.account("adm")
    gw.rest.ok("modify_admin", {"RoomId": rid, "Admin_Account": [adm], "OpType": "add"})
    o = gw.member(rid, owner)
    a = gw.member(rid, adm)
    u = gw.member(rid)
    u.ok("like", RoomId=rid, Count=2)
    u.ok("send_text", RoomId=rid, Text="bye")
    a.fail("dismiss", -2300, RoomId=rid)
    u.fail("dismiss", -2300, RoomId=rid)
    stats = o.ok("dismiss", RoomId=rid)["Statistic"]
    assert stats["TotalViewers"] == 3 and stats["TotalLikesReceived"] == 2, stats
    assert stats["TotalMsgCount"] == 1, stats  # as REST's Statistic
    for conn in (a, u):
        ev = conn.expect_event("RoomDismissed")
        assert ev["data"]["Reason"] == "DestroyByUser"
        assert ev["data"]["Statistic"]["TotalLikesReceived"] == 2
    assert_error(gw.rest.call("get_room_info", {"RoomId": rid}), 100004)
    u.fail("enter", -2100, RoomId=rid)


def test_empty_rooms_are_dismissed_but_not_with_robots(gw_factory, sink):
    apps = default_apps()
    apps[0]["extra"] = f"{DISMISS_KEY} = 1"
    apps[0]["callbacks"] = [{"url": sink.url(), "commands": [DESTROY]}]
    kit = gw_factory(apps=apps, name="dismiss")
    rest = kit.rest
    emptied, owner = kit.room("empty")
    with_robot, _ = kit.room("robot")
    never_entered, _ = kit.room("never")
    occupied, _ = kit.room("busy")
    bot = kit.account("bot")
    rest.ok("add_robot", {"RoomId": with_robot, "RobotList_Account": [bot]})
    a = kit.member(emptied)
    b = kit.member(with_robot)
    kit.member(occupied)
    a.ok("leave", RoomId=emptied)
    b.ok("leave", RoomId=with_robot)
    left_at = time.monotonic()
    wait_until(lambda: rest.call("get_room_info", {"RoomId": emptied})["ErrorCode"] == 100004,
               timeout=4, what="the empty room's dismissal")
    assert time.monotonic() - left_at >= 0.8, "dismissed before the room was empty for 1 s"
    rec = sink.wait_delivered(1, timeout=5, command=DESTROY, room=emptied)[0]
    assert rec.json["EventType"] == "DestroyBySystem", rec.json
    time.sleep(max(0.0, left_at + 2.2 - time.monotonic()))
    for rid in (with_robot, never_entered, occupied):
        assert rest.call("get_room_info", {"RoomId": rid})["ErrorCode"] == 0, rid


def test_auto_dismissal_notifies_nobody_and_frees_the_id(gw_factory):
    apps = default_apps()
    apps[0]["extra"] = f"{DISMISS_KEY} = 1"
    kit = gw_factory(apps=apps, name="dismiss2")
    rid, owner = kit.room()
    a = kit.member(rid)
    a.ok("like", RoomId=rid, Count=4)
    a.ok("leave", RoomId=rid)
    wait_until(lambda: kit.rest.call("get_room_info", {"RoomId": rid})["ErrorCode"] == 100004,
               timeout=4, what="dismissal")
    a.fail("enter", -2100, RoomId=rid)
    time.sleep(1.0)  # the same RoomId cannot be created twice within a second
    kit.rest.must_create(rid, Owner_Account=owner)
    assert kit.member(rid).entered["TotalLikes"] == 0


def test_owner_absent_too_long_dismisses_the_room(gw_factory, sink):
    """owner_absent_dismiss_seconds: the owner's connection drops, it does not come back; the
    room is dismissed and its members told (DestroyBySystem)."""
    apps = default_apps()
    apps[0]["extra"] = "owner_absent_dismiss_seconds = 1"
    apps[0]["callbacks"] = [{"url": sink.url(), "commands": [DESTROY]}]
    kit = gw_factory(apps=apps, name="absent")
    rid, owner = kit.room()
    kept, _ = kit.room(owner=owner)
    o = kit.member(rid, owner)
    a = kit.member(rid)
    o2 = kit.member(kept, kit.account())  # another room whose owner stays (a different owner)
    b = kit.member(kept)
    gone_at = time.monotonic()
    o.drop()
    ev = a.expect_event("RoomDismissed", timeout=4)
    assert time.monotonic() - gone_at >= 0.8
    assert ev["RoomId"] == rid and ev["data"]["Reason"] == "DestroyBySystem"
    assert "Statistic" in ev["data"]
    assert kit.rest.call("get_room_info", {"RoomId": rid})["ErrorCode"] == 100004
    rec = sink.wait_delivered(1, timeout=5, command=DESTROY, room=rid)[0]
    assert rec.json["EventType"] == "DestroyBySystem", rec.json
    b.no_event("RoomDismissed", within=0.3)
    assert kit.rest.call("get_room_info", {"RoomId": kept})["ErrorCode"] == 0
    assert o2.ok("heartbeat")["ServerTime"] > 0


def test_owner_back_in_time_keeps_the_room(gw_factory):
    apps = default_apps()
    apps[0]["extra"] = "owner_absent_dismiss_seconds = 1"
    kit = gw_factory(apps=apps, name="absent2")
    rid, owner = kit.room()
    o = kit.member(rid, owner)
    a = kit.member(rid)
    o.drop()
    time.sleep(0.3)
    back = kit.member(rid, owner)
    assert back.entered["Recovered"] is True
    a.no_event("RoomDismissed", within=1.4)
    assert kit.rest.call("get_room_info", {"RoomId": rid})["ErrorCode"] == 0


@pytest.mark.parametrize("hard", [False, True], ids=["sigterm", "kill9"])
def test_gateway_state_survives_restart(gw_factory, hard):
    kit = gw_factory(name="durable")
    rest = kit.rest
    rid, owner = kit.room(SeatTemplate="VideoDynamicGrid9Seats")
    o = kit.member(rid, owner, name="owner")
    a = kit.member(rid, name="a")
    b = kit.member(rid, name="b")
    c = kit.member(rid, name="c")
    o.ok("set_admin", RoomId=rid, Member_Account=a.user, IsAdmin=True)
    o.ok("ban_member", RoomId=rid, Member_Account=b.user, Duration=3600, Reason="spam")
    a.ok("mute_member", RoomId=rid, Member_Account=c.user, MuteTime=600)
    bot = kit.account("bot")
    rest.ok("add_robot", {"RoomId": rid, "RobotList_Account": [bot]})
    o.ok("lock_seat", RoomId=rid, Index=3, ForbidTaken=True, ForbidVideo=True)
    c.ok("like", RoomId=rid, Count=7)
    a.ok("send_text", RoomId=rid, Text="one")
    a.ok("send_text", RoomId=rid, Text="two")
    rest.ok("send_text_msg", {"RoomId": rid, "Sender_Account": ADMIN, "TextContent": "three"})
    before = rest.ok("get_room_statistic", {"RoomId": rid})
    assert before["TotalViewers"] == 4 and before["TotalLikesReceived"] == 7
    assert before["TotalMsgCount"] == 3
    old = [o, a, b, c]
    kit.server.restart(hard=hard)
    for conn in old:
        conn.wait_closed(timeout=3)
    rest = kit.server.client()
    assert rest.ok("get_admin_list", {"RoomId": rid})["Admin_Account"] == [a.user]
    bans = rest.ok("get_banned_member_list", {"RoomId": rid})["BannedAccountList"]
    assert [(x["Member_Account"], x["Reason"]) for x in bans] == [(b.user, "spam")]
    assert [m["Member_Account"] for m in
            rest.ok("get_muted_member_list", {"RoomId": rid})["MutedAccountList"]] == [c.user]
    assert rest.ok("get_robot", {"RoomId": rid})["RobotList_Account"] == [bot]
    seat = rest.ok(MIC + "get_seat_list", {"RoomId": rid})["SeatList"][3]
    assert seat["IsTakenDisabled"] and seat["IsVideoDisabled"] and not seat["IsAudioDisabled"]
    after = rest.ok("get_room_statistic", {"RoomId": rid})
    assert {k: after[k] for k in before} == before
    assert rest.room_info(rid)["ViewCount"] == 4
    # and the gateway enforces all of it
    kit.rest = rest
    kit.login(b.user).fail("enter", 10007, RoomId=rid)
    c2 = kit.member(rid, c.user)
    assert c2.entered["MutedUntil"] > time.time()
    c2.fail("send_text", -2381, RoomId=rid, Text="x")
    a2 = kit.member(rid, a.user)
    assert a2.entered["Role"] == "Admin"
    a2.fail("take_seat", -2343, RoomId=rid, Index=3)
    assert a2.ok("send_text", RoomId=rid, Text="four")["MsgSeq"] == 4
    o2 = kit.member(rid, owner)
    assert o2.entered["Role"] == "Owner"
    assert o2.entered["TotalLikes"] == 7 and o2.entered["MsgSeq"] == 4
    stats = rest.ok("destroy_room", {"RoomId": rid})["Statistic"]
    assert stats["TotalLikesReceived"] == 7
    assert stats["TotalViewers"] == 7  # 4 entries before the restart, 3 after


MEMBER_STATE = "Live.CallbackAfterMemberStateChanged"
SEAT_INFO = "Mic.CallbackAfterSeatInfoChanged"


def test_gateway_changes_reach_webhooks(gw_factory, sink):
    """spec §5.2 / docs/compatibility.md: Live.CallbackAfterMemberStateChanged once per member and
    change (Online/Enter, Offline/HeartbeatInterrupt, Online/HeartbeatRecover, Offline/Leave) and
    Mic.CallbackAfterSeatInfoChanged for a seat taken over the gateway."""
    apps = default_apps()
    apps[0]["callbacks"] = [{"url": sink.url(), "commands": [MEMBER_STATE, SEAT_INFO]}]
    kit = gw_factory(apps=apps, name="hooks")
    rid, owner = kit.room(SeatTemplate="VideoDynamicGrid9Seats")
    a = kit.member(rid)
    a.ok("take_seat", RoomId=rid, Index=2)
    a.drop()
    back = kit.member(rid, a.user)
    assert back.entered["Recovered"] is True
    back.ok("leave", RoomId=rid)

    def states():
        return [(r.json["EventType"], r.json["EventCause"])
                for r in sink.delivered(command=MEMBER_STATE, room=rid)
                if [m["Member_Account"] for m in r.json["MemberList"]] == [a.user]]

    want = [("Online", "Enter"), ("Offline", "HeartbeatInterrupt"), ("Online", "HeartbeatRecover"),
            ("Offline", "Leave")]
    sink.wait_for(lambda: len(states()) >= 4, timeout=5, what="four member state callbacks")
    assert states() == want
    seats = sink.wait_delivered(1, timeout=5, command=SEAT_INFO, room=rid)
    first = seats[0].json["SeatList"]
    assert [s.get("Member_Account") for s in first if s["Index"] == 2] == [a.user]
