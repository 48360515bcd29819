"""Seat calls of room_engine_http_mic (spec §2.3), including the official console's OBS flow:
a robot picked onto seat 0 of a room whose seats come from its SeatTemplate alone
(console-client.md §5.10, quirk 1). Robots are the room's members here."""

import pytest

from conftest import assert_error, uid

MIC = "room_engine_http_mic/"


def seat_room(c, **fields):
    rid = uid("seat")
    c.must_create(rid, **({"SeatTemplate": "VideoDynamicGrid9Seats"} | fields))
    return rid


def robot_in(c, rid, prefix="bot"):
    bot = uid(prefix)
    c.import_account(bot)
    c.ok("add_robot", {"RoomId": rid, "RobotList_Account": [bot]})
    return bot


def seats(c, rid):
    return c.ok(MIC + "get_seat_list", {"RoomId": rid})["SeatList"]


def occupants(c, rid):
    return {s["Index"]: s["Member_Account"] for s in seats(c, rid) if "Member_Account" in s}


def test_console_obs_flow_robot_on_seat_zero(mclient):
    c = mclient
    anchor = uid("anchor")
    c.import_account(anchor)
    # Exactly the console's create: SeatTemplate only, no IsSeatEnabled/MaxSeatCount.
    rid = f"live_{anchor}"
    c.ok("create_room", {"RoomInfo": {"RoomId": rid, "RoomType": "Live",
                                      "SeatTemplate": "VideoDynamicGrid9Seats",
                                      "Owner_Account": anchor, "IsUnlimitedRoomEnabled": True,
                                      "TakeSeatMode": "ApplyToTake", "KeepOwnerOnSeat": False}})
    listed = seats(c, rid)
    assert [s["Index"] for s in listed] == list(range(9))
    assert all("Member_Account" not in s and not s["IsTakenDisabled"] for s in listed)
    robot = f"live_obs_{anchor}"
    c.ok("account_import", {"UserID": robot, "Nick": f"OBS Robot {robot}", "FaceUrl": ""})
    c.ok("add_robot", {"RoomId": rid, "RobotList_Account": [robot]})
    c.ok(MIC + "pick_user_on_seat", {"RoomId": rid, "Member_Account": robot, "Index": 0})
    assert occupants(c, rid) == {0: robot}
    # The console runs the check again on every detail view: picking again is harmless.
    c.ok(MIC + "pick_user_on_seat", {"RoomId": rid, "Member_Account": robot, "Index": 0})
    assert occupants(c, rid) == {0: robot}


def test_room_without_seats(mclient):
    c = mclient
    rid = uid("noseat")
    c.must_create(rid)  # no template, no IsSeatEnabled
    assert seats(c, rid) == []
    bot = robot_in(c, rid)
    assert_error(c.call(MIC + "pick_user_on_seat", {"RoomId": rid, "Member_Account": bot, "Index": 0}),
                 100211)
    assert_error(c.call(MIC + "lock_seat", {"RoomId": rid, "Index": 0, "ForbidTaken": True}), 100211)
    assert_error(c.call(MIC + "move_user_to_seat", {"RoomId": rid, "SeatIndex": 0,
                                                    "Member_Account": bot, "Policy": 0}), 100211)


def test_pick_rules(mclient):
    c = mclient
    rid = seat_room(c, SeatTemplate="VideoLandscape4Seat")
    a, b = robot_in(c, rid), robot_in(c, rid)
    assert len(seats(c, rid)) == 4
    assert_error(c.call(MIC + "pick_user_on_seat", {"RoomId": rid, "Member_Account": a, "Index": 4}),
                 100002, "Index")
    assert_error(c.call(MIC + "pick_user_on_seat", {"RoomId": rid, "Member_Account": a}), 100002, "Index")
    assert_error(c.call(MIC + "pick_user_on_seat", {"RoomId": rid, "Member_Account": "stranger",
                                                    "Index": 1}), 100002, "stranger")
    c.ok(MIC + "pick_user_on_seat", {"RoomId": rid, "Member_Account": a, "Index": 1})
    assert_error(c.call(MIC + "pick_user_on_seat", {"RoomId": rid, "Member_Account": b, "Index": 1}),
                 100002, "taken")
    assert_error(c.call(MIC + "pick_user_on_seat", {"RoomId": rid, "Member_Account": a, "Index": 2}),
                 100002, "already")
    assert_error(c.call(MIC + "pick_user_on_seat", {"RoomId": "no-" + rid, "Member_Account": a,
                                                    "Index": 0}), 100004)
    assert occupants(c, rid) == {1: a}


def test_lock_seat_removes_the_occupant_and_blocks_taking(mclient):
    c = mclient
    rid = seat_room(c)
    bot = robot_in(c, rid)
    c.ok(MIC + "pick_user_on_seat", {"RoomId": rid, "Member_Account": bot, "Index": 2})
    c.ok(MIC + "lock_seat", {"RoomId": rid, "Index": 2, "ForbidTaken": True, "ForbidVideo": True})
    seat = seats(c, rid)[2]
    assert "Member_Account" not in seat
    assert seat["IsTakenDisabled"] and seat["IsVideoDisabled"] and not seat["IsAudioDisabled"]
    assert_error(c.call(MIC + "pick_user_on_seat", {"RoomId": rid, "Member_Account": bot, "Index": 2}),
                 100002, "locked")
    c.ok(MIC + "lock_seat", {"RoomId": rid, "Index": 2, "ForbidTaken": False})
    assert seats(c, rid)[2]["IsVideoDisabled"]  # only the sent lock changed
    c.ok(MIC + "pick_user_on_seat", {"RoomId": rid, "Member_Account": bot, "Index": 2})
    assert_error(c.call(MIC + "lock_seat", {"RoomId": rid, "Index": 9}), 100002, "Index")


@pytest.mark.parametrize("policy", [0, 1, 2])
def test_move_user_to_seat_policies(mclient, policy):
    c = mclient
    rid = seat_room(c)
    mover, sitter = robot_in(c, rid), robot_in(c, rid)
    c.ok(MIC + "pick_user_on_seat", {"RoomId": rid, "Member_Account": mover, "Index": 0})
    c.ok(MIC + "pick_user_on_seat", {"RoomId": rid, "Member_Account": sitter, "Index": 3})
    body = {"RoomId": rid, "SeatIndex": 3, "Member_Account": mover, "Policy": policy}
    if policy == 0:
        assert_error(c.call(MIC + "move_user_to_seat", body), 100002, "taken")
        assert occupants(c, rid) == {0: mover, 3: sitter}
    elif policy == 1:
        c.ok(MIC + "move_user_to_seat", body)
        assert occupants(c, rid) == {3: mover}
    else:
        c.ok(MIC + "move_user_to_seat", body)
        assert occupants(c, rid) == {0: sitter, 3: mover}


def test_move_unlocks_the_target_and_switch_seat_needs_it_free(mclient):
    c = mclient
    rid = seat_room(c)
    a, b = robot_in(c, rid), robot_in(c, rid)
    c.ok(MIC + "lock_seat", {"RoomId": rid, "Index": 5, "ForbidTaken": True})
    c.ok(MIC + "move_user_to_seat", {"RoomId": rid, "SeatIndex": 5, "Member_Account": a, "Policy": 0})
    assert occupants(c, rid) == {5: a} and not seats(c, rid)[5]["IsTakenDisabled"]
    c.ok(MIC + "switch_seat", {"RoomId": rid, "ToIndex": 6, "Member_Account": a})
    assert occupants(c, rid) == {6: a}
    c.ok(MIC + "pick_user_on_seat", {"RoomId": rid, "Member_Account": b, "Index": 7})
    assert_error(c.call(MIC + "switch_seat", {"RoomId": rid, "ToIndex": 7, "Member_Account": a}),
                 100002, "taken")
    assert_error(c.call(MIC + "move_user_to_seat", {"RoomId": rid, "SeatIndex": 1,
                                                    "Member_Account": a, "Policy": 3}), 100002, "Policy")


def test_kick_off_seat_and_robot_removal_free_the_seat(mclient):
    c = mclient
    rid = seat_room(c)
    a, b = robot_in(c, rid), robot_in(c, rid)
    c.ok(MIC + "pick_user_on_seat", {"RoomId": rid, "Member_Account": a, "Index": 0})
    c.ok(MIC + "pick_user_on_seat", {"RoomId": rid, "Member_Account": b, "Index": 1})
    c.ok(MIC + "kick_user_off_seat", {"RoomId": rid, "Member_Account": a, "Data": "time over"})
    assert occupants(c, rid) == {1: b}
    assert_error(c.call(MIC + "kick_user_off_seat", {"RoomId": rid, "Member_Account": a}), 100002, a)
    c.ok("del_robot", {"RoomId": rid, "RobotList_Account": [b]})
    assert occupants(c, rid) == {}


def test_voice_room_seats_follow_max_seat_count_and_survive_restart(server):
    c = server.client()
    rid = seat_room(c, SeatTemplate="AudioSalon", MaxSeatCount=4)
    assert len(seats(c, rid)) == 4
    bot = robot_in(c, rid)
    c.ok(MIC + "pick_user_on_seat", {"RoomId": rid, "Member_Account": bot, "Index": 3})
    c.ok(MIC + "lock_seat", {"RoomId": rid, "Index": 1, "ForbidAudio": True})
    server.kill9()
    server.restart()
    c = server.client()
    listed = seats(c, rid)
    assert occupants(c, rid) == {3: bot}
    assert listed[1]["IsAudioDisabled"] and not listed[1]["IsTakenDisabled"]
