"""Roles and moderation over the gateway and REST on the same state (docs/client-protocol.md
"Requests" who-column, events Kicked / Muted / RoleChanged / RoomInfoChanged; spec §2.2):
who may kick, ban, mute, set admins and dismiss; mutes and IsMessageDisabled stop chat; bans
remove the member at once and keep it out until they expire."""

import time

from gateway_client import gw, gw_server, rest_members, seat_of  # noqa: F401 (fixtures)

# An admin acting on the owner (or another admin): the doc says only that an admin "cannot";
# -2300 ("only the owner may do this") and -2301 both read as that refusal.
ADMIN_REFUSED = (-2300, -2301)


def staffed_room(gw, **fields):
    """A room with its owner, an admin (set over REST before entering) and two audience members,
    all entered. Returns (rid, owner, admin, u, v) connections."""
    rid, owner = gw.room(**fields)
    admin_user = gw.account("adm")
    gw.rest.ok("modify_admin", {"RoomId": rid, "Admin_Account": [admin_user], "OpType": "add"})
    o = gw.member(rid, owner, name="owner")
    a = gw.member(rid, admin_user, name="admin")
    assert a.entered["Role"] == "Admin"
    u = gw.member(rid, name="u")
    v = gw.member(rid, name="v")
    return rid, o, a, u, v


def in_room(gw, rid, user):
    return user in rest_members(gw.rest, rid)[0]


def test_audience_cannot_moderate(gw):
    rid, o, a, u, v = staffed_room(gw)
    u.fail("kick_member", -2301, RoomId=rid, Member_Account=v.user)
    u.fail("ban_member", -2301, RoomId=rid, Member_Account=v.user, Duration=60, Reason="")
    u.fail("mute_member", -2301, RoomId=rid, Member_Account=v.user, MuteTime=60)
    u.fail("update_room_info", -2301, RoomId=rid, RoomInfo={"Notice": "mine now"})
    u.fail("set_admin", -2300, RoomId=rid, Member_Account=u.user, IsAdmin=True)
    u.fail("dismiss", -2300, RoomId=rid)
    assert in_room(gw, rid, v.user)
    assert gw.rest.ok("get_muted_member_list", {"RoomId": rid})["MutedAccountList"] == []


def test_admin_powers_and_limits(gw):
    rid, o, a, u, v = staffed_room(gw)
    a.fail("set_admin", -2300, RoomId=rid, Member_Account=u.user, IsAdmin=True)
    a.fail("dismiss", -2300, RoomId=rid)
    a.fail("kick_member", ADMIN_REFUSED, RoomId=rid, Member_Account=o.user)
    a.fail("ban_member", ADMIN_REFUSED, RoomId=rid, Member_Account=o.user, Duration=60, Reason="")
    a.fail("mute_member", ADMIN_REFUSED, RoomId=rid, Member_Account=o.user, MuteTime=60)
    assert gw.rest.ok("get_banned_member_list", {"RoomId": rid})["BannedAccountList"] == []
    # a second admin cannot be kicked by the first
    gw.rest.ok("modify_admin", {"RoomId": rid, "Admin_Account": [u.user], "OpType": "add"})
    u.expect_event("RoleChanged", predicate=lambda d: d["Role"] == "Admin")
    a.fail("kick_member", ADMIN_REFUSED, RoomId=rid, Member_Account=u.user)
    assert in_room(gw, rid, u.user)
    # but the admin kicks the audience
    a.ok("kick_member", RoomId=rid, Member_Account=v.user, Reason="rude")
    assert v.expect_event("Kicked")["data"]["Reason"] == "KickedByAdmin"
    assert not in_room(gw, rid, v.user)
    a.ok("update_room_info", RoomId=rid, RoomInfo={"Notice": "be nice"})
    assert gw.rest.room_info(rid)["Notice"] == "be nice"
    ev = o.expect_event("RoomInfoChanged", predicate=lambda d: d["RoomInfo"]["Notice"] == "be nice")
    assert ev["data"]["RoomInfo"]["RoomId"] == rid


def test_kick_removes_the_member_but_it_may_come_back(gw):
    rid, o, a, u, v = staffed_room(gw)
    o.drain()
    o.ok("kick_member", RoomId=rid, Member_Account=u.user)
    ev = u.expect_event("Kicked")
    assert ev["RoomId"] == rid and ev["data"]["Reason"] == "KickedByAdmin"
    o.expect_event("MembersChanged", predicate=lambda d: u.user in d["Left"])
    v.expect_event("MembersChanged", predicate=lambda d: u.user in d["Left"])
    u.fail("send_text", -2101, RoomId=rid, Text="hello?")
    assert not in_room(gw, rid, u.user)
    assert u.ok("enter", RoomId=rid)["Role"] == "Audience"  # a kick is not a ban


def test_update_room_info_rules_are_100002(gw):
    rid, o, a, u, v = staffed_room(gw)
    r = o.fail("update_room_info", 100002, RoomId=rid, RoomInfo={"Notice": "n" * 101})
    assert "Notice" in r["message"]
    assert gw.rest.room_info(rid)["Notice"] == ""


def test_set_admin_by_the_owner(gw):
    rid, o, a, u, v = staffed_room(gw)
    o.ok("set_admin", RoomId=rid, Member_Account=u.user, IsAdmin=True)
    assert u.expect_event("RoleChanged")["data"]["Role"] == "Admin"
    assert gw.rest.ok("get_admin_list", {"RoomId": rid})["Admin_Account"] == [a.user, u.user]
    roles = {m["Member_Account"]: m["Role"] for m in o.ok("get_members", RoomId=rid, Next="")["MemberList"]}
    assert roles == {o.user: "Owner", a.user: "Admin", u.user: "Admin", v.user: "Audience"}
    u.ok("mute_member", RoomId=rid, Member_Account=v.user, MuteTime=60)  # now it may
    o.ok("set_admin", RoomId=rid, Member_Account=u.user, IsAdmin=False)
    assert u.expect_event("RoleChanged")["data"]["Role"] == "Audience"
    assert gw.rest.ok("get_admin_list", {"RoomId": rid})["Admin_Account"] == [a.user]
    u.fail("mute_member", -2301, RoomId=rid, Member_Account=v.user, MuteTime=0)


def test_at_most_five_admins_over_the_gateway(gw):
    rid, o, a, u, v = staffed_room(gw)
    others = [gw.member(rid) for _ in range(5)]
    for m in others[:4]:
        o.ok("set_admin", RoomId=rid, Member_Account=m.user, IsAdmin=True)
    r = o.request("set_admin", RoomId=rid, Member_Account=others[4].user, IsAdmin=True)
    assert r["code"] != 0, r
    assert len(gw.rest.ok("get_admin_list", {"RoomId": rid})["Admin_Account"]) == 5


def test_rest_modify_admin_and_mute_member_reach_the_member(gw):
    rid, o, a, u, v = staffed_room(gw)
    gw.rest.ok("modify_admin", {"RoomId": rid, "Admin_Account": [u.user], "OpType": "add"})
    assert u.expect_event("RoleChanged")["data"]["Role"] == "Admin"
    gw.rest.ok("modify_admin", {"RoomId": rid, "Admin_Account": [u.user], "OpType": "delete"})
    assert u.expect_event("RoleChanged")["data"]["Role"] == "Audience"
    now = int(time.time())
    gw.rest.ok("mute_member", {"RoomId": rid, "MemberList_Account": [v.user], "MuteTime": 600})
    until = v.expect_event("Muted")["data"]["MutedUntil"]
    assert now + 600 <= until <= int(time.time()) + 601
    v.fail("send_text", -2381, RoomId=rid, Text="let me speak")
    gw.rest.ok("mute_member", {"RoomId": rid, "MemberList_Account": [v.user], "MuteTime": 0})
    assert v.expect_event("Muted")["data"]["MutedUntil"] == 0
    v.ok("send_text", RoomId=rid, Text="thanks")
    u.no_event("Muted", within=0.1)  # only the member is told


def test_gateway_mute_blocks_chat_until_unmuted(gw):
    rid, o, a, u, v = staffed_room(gw)
    now = int(time.time())
    a.ok("mute_member", RoomId=rid, Member_Account=u.user, MuteTime=300)
    until = u.expect_event("Muted")["data"]["MutedUntil"]
    assert now + 300 <= until <= int(time.time()) + 301
    muted = gw.rest.ok("get_muted_member_list", {"RoomId": rid})["MutedAccountList"]
    assert [(m["Member_Account"], m["MutedUntil"]) for m in muted] == [(u.user, until)]
    u.fail("send_text", -2381, RoomId=rid, Text="x")
    u.fail("send_custom", -2381, RoomId=rid, BusinessId="b", Data="d")
    v.ok("send_text", RoomId=rid, Text="others still talk")
    # the MutedUntil of a later enter
    u.ok("leave", RoomId=rid)
    assert u.ok("enter", RoomId=rid)["MutedUntil"] == until
    a.ok("mute_member", RoomId=rid, Member_Account=u.user, MuteTime=0)
    assert u.expect_event("Muted")["data"]["MutedUntil"] == 0
    assert u.ok("send_text", RoomId=rid, Text="free again")["MsgSeq"] > 0
    assert gw.rest.ok("get_muted_member_list", {"RoomId": rid})["MutedAccountList"] == []


def test_mute_expires(gw):
    rid, o, a, u, v = staffed_room(gw)
    o.ok("mute_member", RoomId=rid, Member_Account=u.user, MuteTime=1)
    until = u.expect_event("Muted")["data"]["MutedUntil"]
    u.fail("send_text", -2381, RoomId=rid, Text="x")
    while time.time() < until + 1:
        time.sleep(0.1)
    assert u.ok("send_text", RoomId=rid, Text="expired")["MsgSeq"] > 0


def test_message_disabled_room_blocks_audience_not_managers(gw):
    rid, o, a, u, v = staffed_room(gw)
    assert gw.rest.update(rid, IsMessageDisabled=True)["ErrorCode"] == 0
    ev = u.expect_event("RoomInfoChanged", predicate=lambda d: d["RoomInfo"]["IsMessageDisabled"])
    assert ev["data"]["RoomInfo"]["RoomId"] == rid
    u.fail("send_text", -2380, RoomId=rid, Text="x")
    u.fail("send_custom", -2380, RoomId=rid, BusinessId="b", Data="d")
    o.ok("send_text", RoomId=rid, Text="owner speaks")
    a.ok("send_text", RoomId=rid, Text="admin speaks")
    # over the gateway too
    a.ok("update_room_info", RoomId=rid, RoomInfo={"IsMessageDisabled": False})
    v.expect_event("RoomInfoChanged", predicate=lambda d: d["RoomInfo"]["IsMessageDisabled"] is False)
    u.ok("send_text", RoomId=rid, Text="audience speaks")


def _wait_for_ban_end(banned_until):
    while time.time() < banned_until + 1:
        time.sleep(0.05)


def test_rest_ban_removes_an_online_member_until_it_expires(gw):
    rid, o, a, u, v = staffed_room(gw, SeatTemplate="VideoDynamicGrid9Seats")
    u.ok("take_seat", RoomId=rid, Index=4)
    o.expect_event("SeatListChanged", predicate=lambda d: seat_of(d["SeatList"], u.user) == 4)
    before = int(time.time())
    gw.rest.ok("ban_member", {"RoomId": rid, "MemberList_Account": [u.user], "Duration": 1,
                              "Reason": "spam"})
    ev = u.expect_event("Kicked")
    assert ev["data"]["Reason"] == "Banned"
    until = ev["data"]["BannedUntil"]
    assert before + 1 <= until <= int(time.time()) + 1
    o.expect_event("MembersChanged", predicate=lambda d: u.user in d["Left"])
    o.expect_event("SeatListChanged", predicate=lambda d: seat_of(d["SeatList"], u.user) is None)
    assert not in_room(gw, rid, u.user)
    seats = gw.rest.ok("room_engine_http_mic/get_seat_list", {"RoomId": rid})["SeatList"]
    assert seat_of(seats, u.user) is None
    u.fail("send_text", -2101, RoomId=rid, Text="x")
    u.fail("enter", 10007, RoomId=rid)
    _wait_for_ban_end(until)
    assert u.ok("enter", RoomId=rid)["Role"] == "Audience"


def test_gateway_ban_removes_the_member_until_it_expires(gw):
    rid, o, a, u, v = staffed_room(gw)
    before = int(time.time())
    a.ok("ban_member", RoomId=rid, Member_Account=v.user, Duration=1, Reason="spam")
    ev = v.expect_event("Kicked")
    assert ev["data"]["Reason"] == "Banned"
    until = ev["data"]["BannedUntil"]
    assert before + 1 <= until <= int(time.time()) + 1
    bans = gw.rest.ok("get_banned_member_list", {"RoomId": rid})["BannedAccountList"]
    assert [(b["Member_Account"], b["BannedUntil"], b["Reason"]) for b in bans] == [(v.user, until, "spam")]
    u.expect_event("MembersChanged", predicate=lambda d: v.user in d["Left"])
    # a new connection of the banned user cannot enter either
    again = gw.login(v.user)
    r = again.fail("enter", 10007, RoomId=rid)
    assert str(until) in r["message"] or "ban" in r["message"].lower(), r
    _wait_for_ban_end(until)
    again.ok("enter", RoomId=rid)
    a.fail("ban_member", -1001, RoomId=rid, Member_Account=u.user, Reason="")  # Duration missing


def test_ban_of_an_absent_user_keeps_it_out(gw):
    rid, o, a, u, v = staffed_room(gw)
    outsider = gw.account()
    o.ok("ban_member", RoomId=rid, Member_Account=outsider, Duration=600, Reason="")
    c = gw.login(outsider)
    c.fail("enter", 10007, RoomId=rid)
    gw.rest.ok("unban_member", {"RoomId": rid, "MemberList_Account": [outsider]})
    c.ok("enter", RoomId=rid)
