"""PK battles (spec §2.6): REST create_battle / get_battle_info / end_battle, and over the gateway
between co-hosting rooms: invitations, start, scores from real gift sends (BattleScore), the end
with the result (BattleEnded) on timeout, when the other rooms left, or when nobody accepted; the
webhooks; a battle whose end passed during a restart ends at start-up with its scores."""

import time

import pytest

from conftest import APP1, KEY1, assert_error, gen_usersig, uid
from gateway_client import GatewayClient, gw, gw_server  # noqa: F401 (fixtures)
from webhook_sink import hook_server_factory, sink, sink_factory  # noqa: F401 (fixtures)

PK = "live_engine_http_pk"


def pk(rest, command, body):
    return rest.call(f"{PK}/{command}", body)


def pk_ok(rest, command, body):
    reply = pk(rest, command, body)
    assert reply["ErrorCode"] == 0, reply
    return reply["Response"]


def add_gift(rest, coins):
    gift_id = uid("g")
    rest.ok("add_gift", {"GiftId": gift_id, "DefaultName": "Star", "Coins": coins})
    return gift_id


# ---- REST ----------------------------------------------------------------------------------

@pytest.mark.not_by_room("gateway members, and battles between rooms of different slots")
def test_create_get_and_end_over_rest(gw):
    a, owner_a = gw.room("pk")
    b, owner_b = gw.room("pk")
    created = pk_ok(gw.rest, "create_battle", {"FromRoomId": a, "ToRoomIdList": [b],
                                               "Duration": 60000, "ExtensionInfo": "{\"k\":1}"})
    battle_id = created["BattleId"]
    assert battle_id and created["Result"] == [{"RoomId": b, "ResultCode": 0, "ResultMessage": ""}]
    info = pk_ok(gw.rest, "get_battle_info", {"BattleId": battle_id})
    assert (info["BattleId"], info["Duration"], info["Status"]) == (battle_id, 60000, 1)
    assert (info["StartTime"], info["EndTime"], info["ExtensionInfo"]) == (0, 0, '{"k":1}')
    assert info["FromRoomInfo"] == {"RoomId": a, "Score": 0, "Owner_Account": owner_a,
                                    "Status": "Joined"}
    assert info["ToRoomList"] == [{"RoomId": b, "Score": 0, "Owner_Account": owner_b,
                                   "Status": "Invited"}]
    assert pk_ok(gw.rest, "get_battle_info", {"RoomId": b})["BattleId"] == battle_id

    # rooms in a battle cannot be invited to another; unknown rooms cannot be invited at all
    c, _ = gw.room("pk")
    other = pk_ok(gw.rest, "create_battle", {"FromRoomId": c, "ToRoomIdList": [b, "nope-room"],
                                             "Duration": 5000})
    assert other["BattleId"] == ""  # nobody to fight: no battle
    assert [(r["RoomId"], r["ResultCode"]) for r in other["Result"]] == [(b, 3), ("nope-room", 5)]
    assert_error(pk(gw.rest, "create_battle", {"FromRoomId": a, "ToRoomIdList": [c],
                                               "Duration": 5000}), 100006, a)

    ended = pk_ok(gw.rest, "end_battle", {"BattleId": battle_id})
    assert (ended["Status"], ended["EndReason"], ended["WinnerRoomIdList"]) == (3, "EndedByAdmin", [])
    assert pk_ok(gw.rest, "get_battle_info", {"BattleId": battle_id})["Status"] == 3
    assert_error(pk(gw.rest, "get_battle_info", {"RoomId": a}), 100002, a)
    assert_error(pk(gw.rest, "end_battle", {"BattleId": battle_id}), 100002, "ended")
    # the rooms are free again; ToRoomIdList may be a single String, as Tencent's table types it
    again = pk_ok(gw.rest, "create_battle", {"FromRoomId": b, "ToRoomIdList": a, "Duration": 5000})
    assert again["Result"][0]["ResultCode"] == 0


@pytest.mark.parametrize("body,code,needle", [
    ({"ToRoomIdList": ["x"], "Duration": 5000}, 100002, "FromRoomId"),
    ({"FromRoomId": "no-such-room", "ToRoomIdList": ["x"], "Duration": 5000}, 100004, "no-such-room"),
    ({"FromRoomId": "A", "Duration": 5000}, 100002, "ToRoomIdList"),
    ({"FromRoomId": "A", "ToRoomIdList": [], "Duration": 5000}, 100002, "ToRoomIdList"),
    ({"FromRoomId": "A", "ToRoomIdList": [1], "Duration": 5000}, 100002, "ToRoomIdList"),
    ({"FromRoomId": "A", "ToRoomIdList": ["B"]}, 100002, "Duration"),
    ({"FromRoomId": "A", "ToRoomIdList": ["B"], "Duration": 999}, 100002, "Duration"),
    ({"FromRoomId": "A", "ToRoomIdList": ["B"], "Duration": 86400001}, 100002, "Duration"),
    ({"FromRoomId": "A", "ToRoomIdList": ["B"], "Duration": "60000"}, 100002, "Duration"),
    ({"FromRoomId": "A", "ToRoomIdList": ["B"], "Duration": 5000, "ExtensionInfo": "x" * 1025},
     100002, "ExtensionInfo"),
])
def test_create_battle_field_rules(gw, body, code, needle):
    a, _ = gw.room("pk")
    b, _ = gw.room("pk")
    body = {k: (a if v == "A" else b if v == "B" else [b if x == "B" else x for x in v]
                if isinstance(v, list) else v) for k, v in body.items()}
    assert_error(pk(gw.rest, "create_battle", body), code, needle)
    assert_error(pk(gw.rest, "get_battle_info", {"RoomId": a}), 100002)  # nothing was created


def test_battle_lookups_need_an_id(gw):
    assert_error(pk(gw.rest, "get_battle_info", {}), 100002, "BattleId")
    assert_error(pk(gw.rest, "get_battle_info", {"BattleId": "battle_nope"}), 100002, "battle_nope")
    assert_error(pk(gw.rest, "end_battle", {}), 100002, "BattleId")


@pytest.mark.not_by_room("gateway members, and battles between rooms of different slots")
def test_battle_webhooks(hook_server_factory, sink):
    commands = ["Live.CallbackAfterCreateBattle", "Live.CallbackAfterStartBattle",
                "Live.CallbackAfterEndBattle"]
    srv = hook_server_factory(sinks=[sink], app1={"callbacks": [
        {"url": sink.url("/pk"), "commands": commands}]})
    rest = srv.client()
    for owner in ("oa", "ob"):
        rest.import_account(owner)
    a, b = uid("pk"), uid("pk")
    rest.must_create(a, Owner_Account="oa")
    rest.must_create(b, Owner_Account="ob")
    ob = GatewayClient(srv.port, name="ob")
    assert ob.login(APP1, "ob", gen_usersig(APP1, KEY1, "ob"))["code"] == 0
    ob.enter(b)
    created = pk_ok(rest, f"create_battle", {"FromRoomId": a, "ToRoomIdList": [b], "Duration": 60000})
    invitation = ob.expect_event("BattleInvitation")["data"]
    assert (invitation["BattleId"], invitation["FromRoomId"], invitation["Duration"]) == (
        created["BattleId"], a, 60000)
    ob.ok("battle_respond", RoomId=b, BattleId=created["BattleId"], Accept=True)
    pk_ok(rest, "end_battle", {"BattleId": created["BattleId"]})
    sink.wait_delivered(3, path="/pk")
    got = [r for r in sink.delivered(path="/pk")]
    assert [r.command for r in got] == commands
    for r in got:
        assert r.json["CallbackCommand"] == r.command and r.json["BattleId"] == created["BattleId"]
        assert r.json["BattleInfo"]["FromRoomInfo"]["RoomId"] == a
    assert got[0].json["Operator_Account"] == "administrator"
    assert [x["Status"] for x in (g.json["BattleInfo"] for g in got)] == [1, 2, 3]
    assert got[2].json["BattleInfo"]["EndReason"] == "EndedByAdmin"
    assert got[1].json["BattleInfo"]["StartTime"] > 0
    ob.close()


# ---- over the gateway, between co-hosting rooms -------------------------------------------

def co_hosting_pair(gw):
    a, oa_user = gw.room("pk")
    b, ob_user = gw.room("pk")
    oa, ob = gw.member(a, oa_user), gw.member(b, ob_user)
    ma, mb = gw.member(a), gw.member(b)
    [result] = oa.ok("cohost_request", RoomId=a, ToRoomIdList=[b])["Results"]
    ob.expect_event("CoHostRequest")
    ob.ok("cohost_respond", RoomId=b, RequestId=result["RequestId"], Accept=True)
    return a, oa, ma, b, ob, mb


@pytest.mark.not_by_room("gateway members, and battles between rooms of different slots")
def test_a_battle_runs_to_its_end_with_scores_from_gifts(gw):
    a, oa, ma, b, ob, mb = co_hosting_pair(gw)
    rose, rocket = add_gift(gw.rest, 10), add_gift(gw.rest, 100)
    started = oa.ok("battle_request", RoomId=a, ToRoomIdList=[b], Duration=2500)
    battle_id = started["BattleId"]
    assert started["Results"] == [{"RoomId": b, "ResultCode": 0, "ResultMessage": ""}]
    assert ob.expect_event("BattleInvitation")["data"]["From_Account"] == oa.user
    ob.ok("battle_respond", RoomId=b, BattleId=battle_id, Accept=True)
    assert oa.expect_event("BattleInvitationResolved")["data"]["Result"] == "Accepted"
    for member in (oa, ma, ob, mb):
        running = member.expect_event("BattleChanged", predicate=lambda d: d["Status"] == 2)
        assert running["data"]["BattleId"] == battle_id

    ma.ok("send_gift", RoomId=a, GiftId=rose, Count=3)    # A: 30
    mb.ok("send_gift", RoomId=b, GiftId=rocket)           # B: 100
    ma.ok("send_gift", RoomId=a, GiftId=rocket)           # A: 130
    scores = {}
    deadline = time.monotonic() + 2
    while scores != {a: 130, b: 100} and time.monotonic() < deadline:
        ev = mb.expect_event("BattleScore")["data"]
        assert ev["BattleId"] == battle_id
        scores = {s["RoomId"]: s["Score"] for s in ev["ScoreList"]}
    assert scores == {a: 130, b: 100}
    live = pk_ok(gw.rest, "get_battle_info", {"RoomId": b})
    assert (live["Status"], live["FromRoomInfo"]["Score"], live["ToRoomList"][0]["Score"]) == (2, 130, 100)

    for member in (oa, ma, ob, mb):
        end = member.expect_event("BattleEnded", timeout=4)["data"]
        assert (end["Status"], end["EndReason"], end["WinnerRoomIdList"], end["IsDraw"]) == (
            3, "Timeout", [a], False)
        assert end["FromRoomInfo"]["Score"] == 130 and end["ToRoomList"][0]["Score"] == 100
    assert end["EndTime"] - end["StartTime"] in (2, 3)
    # a gift after the end adds to the room's statistics, not to the battle
    mb.ok("send_gift", RoomId=b, GiftId=rocket)
    final = pk_ok(gw.rest, "get_battle_info", {"BattleId": battle_id})
    assert final["ToRoomList"][0]["Score"] == 100
    assert gw.rest.ok("get_room_statistic", {"RoomId": b})["TotalGiftCoins"] == 200


@pytest.mark.not_by_room("gateway members, and battles between rooms of different slots")
def test_equal_scores_are_a_draw_and_leaving_ends_it(gw):
    a, oa, ma, b, ob, mb = co_hosting_pair(gw)
    rose = add_gift(gw.rest, 10)
    battle_id = oa.ok("battle_request", RoomId=a, ToRoomIdList=[b], Duration=60000)["BattleId"]
    ob.expect_event("BattleInvitation")
    ob.ok("battle_respond", RoomId=b, BattleId=battle_id, Accept=True)
    ma.ok("send_gift", RoomId=a, GiftId=rose)
    mb.ok("send_gift", RoomId=b, GiftId=rose)
    ob.ok("battle_leave", RoomId=b)
    end = ma.expect_event("BattleEnded")["data"]
    assert (end["EndReason"], end["IsDraw"], sorted(end["WinnerRoomIdList"])) == (
        "AllLeft", True, sorted([a, b]))
    assert end["ToRoomList"][0]["Status"] == "Left"
    ob.fail("battle_leave", -1001, RoomId=b)


@pytest.mark.not_by_room("gateway members, and battles between rooms of different slots")
def test_nobody_accepting_ends_the_battle(gw):
    a, oa, ma, b, ob, mb = co_hosting_pair(gw)
    first = oa.ok("battle_request", RoomId=a, ToRoomIdList=[b], Duration=5000)["BattleId"]
    ob.expect_event("BattleInvitation")
    ob.ok("battle_respond", RoomId=b, BattleId=first, Accept=False)
    assert oa.expect_event("BattleInvitationResolved")["data"]["Result"] == "Rejected"
    assert ma.expect_event("BattleEnded")["data"]["EndReason"] == "NobodyAccepted"

    second = oa.ok("battle_request", RoomId=a, ToRoomIdList=[b], Duration=5000,
                   TimeoutMs=1000)["BattleId"]
    ob.expect_event("BattleInvitation")
    lapsed = oa.expect_event("BattleInvitationResolved", timeout=3,
                             predicate=lambda d: d["BattleId"] == second)
    assert lapsed["data"]["Result"] == "TimedOut"
    end = ma.expect_event("BattleEnded", predicate=lambda d: d["BattleId"] == second)["data"]
    assert (end["EndReason"], end["StartTime"], end["WinnerRoomIdList"]) == ("NobodyAccepted", 0, [])
    ob.fail("battle_respond", -1001, RoomId=b, BattleId=second, Accept=True)


@pytest.mark.not_by_room("gateway members, and battles between rooms of different slots")
def test_gateway_battles_are_between_co_hosting_rooms_by_their_owners(gw):
    a, oa_user = gw.room("pk")
    b, ob_user = gw.room("pk")
    oa = gw.member(a, oa_user)
    ma = gw.member(a)
    gw.member(b, ob_user)
    reply = oa.fail("battle_request", 100006, RoomId=a, ToRoomIdList=[b], Duration=5000)
    assert "co-host" in reply["message"]
    ma.fail("battle_request", -2300, RoomId=a, ToRoomIdList=[b], Duration=5000)
    oa.fail("battle_request", -1001, RoomId=a, ToRoomIdList=[b])  # Duration missing
    ma.fail("get_battle", -1001, RoomId=a)


@pytest.mark.not_by_room("gateway members, and battles between rooms of different slots")
def test_a_battle_whose_end_passed_during_a_restart_ends_with_its_scores(server):
    rest = server.client()
    for user in ("oa", "ob", "fan"):
        rest.import_account(user)
    a, b = uid("pk"), uid("pk")
    rest.must_create(a, Owner_Account="oa")
    rest.must_create(b, Owner_Account="ob")
    gift = add_gift(rest, 25)
    battle_id = pk_ok(rest, "create_battle", {"FromRoomId": a, "ToRoomIdList": [b],
                                              "Duration": 2000})["BattleId"]
    ob = GatewayClient(server.port, name="ob")
    assert ob.login(APP1, "ob", gen_usersig(APP1, KEY1, "ob"))["code"] == 0
    ob.enter(b)
    ob.ok("battle_respond", RoomId=b, BattleId=battle_id, Accept=True)
    fan = GatewayClient(server.port, name="fan")
    assert fan.login(APP1, "fan", gen_usersig(APP1, KEY1, "fan"))["code"] == 0
    fan.enter(b)
    fan.ok("send_gift", RoomId=b, GiftId=gift, Count=2)
    server.kill9()
    time.sleep(2.5)  # the battle's end passes while the server is down
    server.start()
    deadline = time.monotonic() + 5
    while True:
        info = pk_ok(rest, "get_battle_info", {"BattleId": battle_id})
        if info["Status"] == 3 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert (info["Status"], info["EndReason"], info["WinnerRoomIdList"]) == (3, "Timeout", [b])
    assert info["ToRoomList"][0]["Score"] == 50 and info["FromRoomInfo"]["Score"] == 0
    assert info["EndTime"] - info["StartTime"] == 2
