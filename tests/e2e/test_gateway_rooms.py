"""Entering and leaving rooms over the gateway, and the member lists of both sides
(docs/client-protocol.md "Requests": enter, leave, get_members; "Events": MembersChanged; spec
§2.2 get_member_list, §2.1 ViewCount / TotalViewers)."""

import time

from conftest import APP2, assert_error, uid
from gateway_client import gw, gw_server, rest_members  # noqa: F401 (fixtures)


def test_enter_a_room_that_does_not_exist_is_2100(gw):
    c = gw.login()
    c.fail("enter", -2100, RoomId=uid("none"))
    rid, _ = gw.room()
    gw.rest.ok("destroy_room", {"RoomId": rid})
    c.fail("enter", -2100, RoomId=rid)
    # rooms belong to an app: a user of another app does not find them
    other, _ = gw.room()
    c2 = gw.connect()
    assert c2.login(APP2, "app2-user", gw.sig("app2-user", APP2))["code"] == 0
    c2.fail("enter", -2100, RoomId=other)


def test_enter_reply(gw):
    rid, owner = gw.room(RoomName="Evening show", SeatTemplate="VideoDynamicGrid9Seats")
    host = gw.member(rid, owner)
    d = host.entered
    assert d["Role"] == "Owner"
    assert d["RoomInfo"]["RoomId"] == rid and d["RoomInfo"]["RoomName"] == "Evening show"
    assert d["RoomInfo"]["Owner_Account"] == owner
    assert [s["Index"] for s in d["SeatList"]] == list(range(9))
    assert d["MemberCount"] == 1
    assert d["TotalLikes"] == 0 and d["MsgSeq"] == 0 and d["MutedUntil"] == 0
    assert d["Recovered"] is False
    guest = gw.member(rid)
    g = guest.entered
    assert g["Role"] == "Audience" and g["MemberCount"] == 2 and g["Recovered"] is False
    # the RoomInfo of enter is the one of get_room_info
    info = gw.rest.room_info(rid)
    for k, v in g["RoomInfo"].items():
        if k not in ("MemberCount", "OnlineCount", "ViewCount"):
            assert info[k] == v, (k, v, info[k])


def test_owner_cannot_leave_audience_can(gw):
    rid, owner = gw.room()
    host = gw.member(rid, owner)
    guest = gw.member(rid)
    host.fail("leave", -2102, RoomId=rid)
    guest.ok("leave", RoomId=rid)
    guest.fail("send_text", -2101, RoomId=rid, Text="still here?")
    guest.fail("leave", -2101, RoomId=rid)
    members = [m["Member_Account"] for m in host.ok("get_members", RoomId=rid, Next="")["MemberList"]]
    assert members == [owner]
    # it may come back
    assert guest.ok("enter", RoomId=rid)["Role"] == "Audience"


def test_requests_need_the_room_entered(gw):
    rid, _ = gw.room(SeatTemplate="VideoDynamicGrid9Seats")
    c = gw.login()
    for op, params in [("send_text", {"Text": "x"}), ("like", {}), ("take_seat", {}),
                       ("get_members", {"Next": ""}), ("leave_seat", {}), ("leave", {})]:
        c.fail(op, -2101, RoomId=rid, **params)


def test_one_room_per_connection(gw):
    r1, _ = gw.room()
    r2, _ = gw.room()
    c = gw.member(r1)
    c.fail("enter", -2108, RoomId=r2)
    assert c.ok("get_current_room")["RoomId"] == r1
    # Once it left, the connection is in no room, and may enter the other.
    c.ok("leave", RoomId=r1)
    assert c.ok("get_current_room")["RoomId"] == ""
    c.ok("enter", RoomId=r2)
    assert c.ok("get_current_room")["RoomId"] == r2


def test_entries_count_in_view_count_and_total_viewers(gw):
    rid, owner = gw.room()
    assert gw.rest.room_info(rid)["ViewCount"] == 0
    gw.member(rid, owner)
    a = gw.member(rid)
    b = gw.member(rid)
    a.ok("leave", RoomId=rid)
    a.ok("enter", RoomId=rid)          # a re-entry counts again
    info = gw.rest.room_info(rid)
    assert info["ViewCount"] == 4, info
    stats = gw.rest.ok("get_room_statistic", {"RoomId": rid})
    assert stats["TotalViewers"] == 4, stats
    b.ok("leave", RoomId=rid)
    assert gw.rest.room_info(rid)["ViewCount"] == 4  # leaving takes nothing back


def test_get_room_info_counts_online_members(gw):
    """docs/compatibility.md: get_room_info has MemberCount/OnlineCount (online members)."""
    rid, owner = gw.room()
    gw.member(rid, owner)
    a = gw.member(rid)
    gw.member(rid)
    info = gw.rest.room_info(rid)
    assert (info["MemberCount"], info["OnlineCount"]) == (3, 3), info
    a.ok("leave", RoomId=rid)
    info = gw.rest.room_info(rid)
    assert (info["MemberCount"], info["OnlineCount"]) == (2, 2), info


def test_full_room_is_10014(gw):
    rid, owner = gw.room(MaxMemberCount=2)
    gw.member(rid, owner)
    a = gw.member(rid)
    b = gw.login()
    b.fail("enter", 10014, RoomId=rid)
    a.ok("leave", RoomId=rid)
    assert b.ok("enter", RoomId=rid)["MemberCount"] == 2
    # raising the limit over REST lets a third in
    assert gw.rest.update(rid, MaxMemberCount=3)["ErrorCode"] == 0
    a.ok("enter", RoomId=rid)


def test_members_changed_is_batched(gw):
    rid, owner = gw.room()
    host = gw.member(rid, owner)
    host.drain()
    users = gw.accounts(4)
    guests = [gw.member(rid, u) for u in users]
    users = {g.user for g in guests}
    entered, last = set(), None
    deadline = time.monotonic() + 3
    while not users <= entered:  # (the owner's own entry may share the first batch)
        assert time.monotonic() < deadline, f"MembersChanged named only {entered} of {users}"
        ev = host.expect_event("MembersChanged")
        entered |= set(ev["data"]["Entered"])
        last = ev["data"]
    assert entered - {owner} == users
    assert last["MemberCount"] == 5 and last["EnteredCount"] == len(last["Entered"])
    n_events = len([e for e in host.received if e.get("event") == "MembersChanged"])
    # four enters in quick succession with a 100 ms batch period: a few events, not one per
    # entry... unless each took longer than a period. Entering takes a few ms here.
    assert n_events <= 3, f"{n_events} MembersChanged events for 4 quick entries"
    guests[0].ok("leave", RoomId=rid)
    ev = host.expect_event("MembersChanged", predicate=lambda d: guests[0].user in d["Left"])
    assert ev["data"]["MemberCount"] == 4 and ev["data"]["Entered"] == []
    assert ev["data"]["LeftCount"] == 1
    # other members see the change too
    guests[1].expect_event("MembersChanged", predicate=lambda d: guests[0].user in d["Left"])


def test_members_changed_at_most_once_per_batch_period(gw):
    """member_batch_ms is 100 on the module server: entries spread over a few hundred ms come in
    events at least ~100 ms apart, whose counts add up."""
    rid, owner = gw.room()
    host = gw.member(rid, owner)
    users = gw.accounts(25)
    start = time.monotonic()
    for u in users:
        gw.connect(query=gw.query(u)).ok("enter", RoomId=rid)
        time.sleep(0.01)
    span = time.monotonic() - start
    total = 0
    while total < 25:
        d = host.expect_event("MembersChanged")["data"]
        total += d["EnteredCount"] - (owner in d["Entered"])
    assert total == 25 and d["MemberCount"] == 26
    times = host.arrival_times("MembersChanged")
    gaps = [round(b - a, 3) for a, b in zip(times, times[1:])]
    assert all(g >= 0.05 for g in gaps), f"MembersChanged closer than the batch period: {gaps}"
    assert len(times) <= span / 0.1 + 3, f"{len(times)} events in {span:.2f}s"


def test_get_members_pages_with_next(gw):
    rid, owner = gw.room()
    host = gw.member(rid, owner)
    guests = [gw.member(rid) for _ in range(6)]
    everyone = {owner} | {g.user for g in guests}
    seen, nxt, pages = [], "", 0
    while True:
        page = host.ok("get_members", RoomId=rid, Next=nxt, Count=2)
        pages += 1
        assert len(page["MemberList"]) <= 2
        assert page["MemberCount"] == 7
        seen += page["MemberList"]
        nxt = page["Next"]
        if not nxt:
            break
        assert pages < 10
    assert pages >= 4
    accounts = [m["Member_Account"] for m in seen]
    assert len(accounts) == len(set(accounts)) and set(accounts) == everyone
    roles = {m["Member_Account"]: m["Role"] for m in seen}
    assert roles[owner] == "Owner" and all(roles[g.user] == "Audience" for g in guests)
    # the default Count covers them all
    page = guests[0].ok("get_members", RoomId=rid, Next="")
    assert page["Next"] == "" and len(page["MemberList"]) == 7


def test_rest_get_member_list_matches_the_gateway(gw):
    rid, owner = gw.room()
    assert rest_members(gw.rest, rid) == ([], 0)
    gw.member(rid, owner)
    guests = [gw.member(rid) for _ in range(3)]
    accounts, count = rest_members(gw.rest, rid)
    assert count == 4 and set(accounts) == {owner} | {g.user for g in guests}
    guests[0].ok("leave", RoomId=rid)
    accounts, count = rest_members(gw.rest, rid)
    assert count == 3 and guests[0].user not in accounts
    assert_error(gw.rest.call("get_member_list", {"RoomId": "no-" + rid, "Next": ""}), 100004)


def test_rest_get_member_list_pages_many_members_without_duplicates(gw):
    rid, owner = gw.room()
    host = gw.member(rid, owner)
    users = gw.accounts(150, "crowd")
    conns = []
    for u in users:
        c = gw.connect(query=f"sdkappid={gw.rest.sdkappid}&identifier={u}&usersig={gw.sig(u)}")
        c.send({"id": 1, "op": "enter", "RoomId": rid})
        conns.append(c)
    for c in conns:
        assert c.wait_reply(1, timeout=5)["code"] == 0
    accounts, count = rest_members(gw.rest, rid)
    assert count == 151
    assert sorted(accounts) == sorted(users + [owner])
    # MembersChanged names at most 50 entrants but counts them all
    total, named = 0, set()
    while total < 150:
        d = host.expect_event("MembersChanged")["data"]
        assert len(d["Entered"]) <= 50 and d["EnteredCount"] >= len(d["Entered"]), d
        total += d["EnteredCount"] - (owner in d["Entered"])
        named |= set(d["Entered"])
    assert total == 150 and named <= set(users) | {owner}
    assert d["MemberCount"] == 151
    # pages of the gateway agree
    seen, nxt = [], ""
    while True:
        page = conns[0].ok("get_members", RoomId=rid, Next=nxt, Count=40)
        seen += [m["Member_Account"] for m in page["MemberList"]]
        nxt = page["Next"]
        if not nxt:
            break
    assert sorted(seen) == sorted(users + [owner])
    # and REST pages of a given size
    page = gw.rest.ok("get_member_list", {"RoomId": rid, "Next": "", "Count": 60})
    assert len(page["MemberList"]) == 60 and page["Next"] and page["MemberCount"] == 151


def test_robots_are_members_and_count_toward_max_member_count(gw):
    """docs/compatibility.md: robots are members while in the robot list; MaxMemberCount counts
    them."""
    rid, owner = gw.room(MaxMemberCount=2)
    bot = gw.account("bot")
    gw.rest.ok("add_robot", {"RoomId": rid, "RobotList_Account": [bot]})
    o = gw.member(rid, owner)
    assert o.entered["MemberCount"] == 2
    accounts, count = rest_members(gw.rest, rid)
    assert sorted(accounts) == sorted([bot, owner]) and count == 2
    gw.login().fail("enter", 10014, RoomId=rid)
    gw.rest.ok("del_robot", {"RoomId": rid, "RobotList_Account": [bot]})
    gw.login().ok("enter", RoomId=rid)


def test_robots_coming_and_going_are_members_changed(gw):
    """docs/client-protocol.md MembersChanged: robots are members, so REST add_robot/del_robot
    reach online members as a human's entry and exit do."""
    rid, owner = gw.room()
    o = gw.member(rid, owner)
    o.expect_event("MembersChanged", predicate=lambda d: owner in d["Entered"])
    bots = [gw.account("bot"), gw.account("bot")]
    gw.rest.ok("add_robot", {"RoomId": rid, "RobotList_Account": bots})
    ev = o.expect_event("MembersChanged", predicate=lambda d: bots[0] in d["Entered"])["data"]
    assert sorted(ev["Entered"]) == sorted(bots) and ev["EnteredCount"] == 2, ev
    assert ev["Left"] == [] and ev["MemberCount"] == 3, ev
    gw.rest.ok("del_robot", {"RoomId": rid, "RobotList_Account": [bots[1]]})
    ev = o.expect_event("MembersChanged", predicate=lambda d: bots[1] in d["Left"])["data"]
    assert ev["Entered"] == [] and ev["LeftCount"] == 1 and ev["MemberCount"] == 2, ev
    # a robot list that does not change sends nothing
    gw.rest.ok("add_robot", {"RoomId": rid, "RobotList_Account": [bots[0]]})
    o.no_event("MembersChanged", within=0.3)


def test_users_need_not_be_imported_to_use_the_gateway(gw):
    """docs/compatibility.md: gateway users log in with their own UserSig, imported or not (the
    login imports them)."""
    rid, owner = gw.room()
    o = gw.member(rid, owner)
    stranger = uid("never-imported")
    c = gw.connect()
    assert c.login(gw.rest.sdkappid, stranger, gw.sig(stranger))["code"] == 0
    assert c.ok("enter", RoomId=rid)["Role"] == "Audience"
    assert c.ok("send_text", RoomId=rid, Text="hi")["MsgSeq"] == 1
    # its login created its account: it can be made an admin at once
    assert o.request("set_admin", RoomId=rid, Member_Account=stranger, IsAdmin=True)["code"] == 0
