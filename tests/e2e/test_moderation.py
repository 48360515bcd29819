"""Admins, bans, mutes and robots over REST (spec §2.2, §2.5), as the official console uses them
on its live-control page and in its OBS flow (console-client.md §5.8-§5.10)."""

import time

from conftest import assert_error, uid


def room(c, owner=None):
    rid = uid("mod")
    fields = {"Owner_Account": owner} if owner else {}
    c.must_create(rid, **fields)
    return rid


def imported(c, prefix="u"):
    user = uid(prefix)
    c.import_account(user)
    return user


# --- admins ------------------------------------------------------------------------------------

def test_admins_add_list_delete(mclient):
    c = mclient
    rid = room(c)
    assert c.ok("get_admin_list", {"RoomId": rid})["Admin_Account"] == []
    a, b = imported(c), imported(c)
    c.ok("modify_admin", {"RoomId": rid, "Admin_Account": [a, b], "OpType": "add"})
    c.ok("modify_admin", {"RoomId": rid, "Admin_Account": [a], "OpType": "add"})  # again: no-op
    assert c.ok("get_admin_list", {"RoomId": rid})["Admin_Account"] == [a, b]
    c.ok("modify_admin", {"RoomId": rid, "Admin_Account": [a, "never-there"], "OpType": "delete"})
    assert c.ok("get_admin_list", {"RoomId": rid})["Admin_Account"] == [b]


def test_at_most_five_admins_is_100020_and_changes_nothing(mclient):
    c = mclient
    rid = room(c)
    users = [imported(c) for _ in range(6)]
    c.ok("modify_admin", {"RoomId": rid, "Admin_Account": users[:4], "OpType": "add"})
    assert_error(c.call("modify_admin", {"RoomId": rid, "Admin_Account": users[4:], "OpType": "add"}),
                 100020, "5")
    assert c.ok("get_admin_list", {"RoomId": rid})["Admin_Account"] == users[:4]
    assert_error(c.call("modify_admin", {"RoomId": rid, "Admin_Account": users, "OpType": "add"}),
                 100002, "Admin_Account")


def test_modify_admin_errors(mclient):
    c = mclient
    rid = room(c)
    user = imported(c)
    assert_error(c.call("modify_admin", {"RoomId": rid, "Admin_Account": ["ghost-" + uid()],
                                         "OpType": "add"}), 70107, "Admin_Account")
    assert_error(c.call("modify_admin", {"RoomId": rid, "Admin_Account": [user], "OpType": "Add"}),
                 100002, "OpType")
    assert_error(c.call("modify_admin", {"RoomId": rid, "Admin_Account": [user]}), 100002, "OpType")
    assert_error(c.call("modify_admin", {"RoomId": rid, "Admin_Account": [5], "OpType": "add"}),
                 60015, "Admin_Account")
    assert_error(c.call("modify_admin", {"RoomId": rid, "Admin_Account": [], "OpType": "add"}),
                 100002, "Admin_Account")
    assert_error(c.call("modify_admin", {"RoomId": "no-" + rid, "Admin_Account": [user],
                                         "OpType": "add"}), 100004)
    assert_error(c.call("get_admin_list", {"RoomId": "no-" + rid}), 100004)


def test_console_monitor_admin_swap(mclient):
    """console-client.md §5.9: delete the stale monitor_ admin, add the new one."""
    c = mclient
    rid = room(c)
    ms = int(time.time() * 1000)
    old, new = f"monitor_{ms}", f"monitor_{ms + 300000}"  # as the console names them
    c.import_account(old)
    c.import_account(new)
    c.ok("modify_admin", {"RoomId": rid, "Admin_Account": [old], "OpType": "add"})
    c.ok("modify_admin", {"RoomId": rid, "Admin_Account": [old], "OpType": "delete"})
    c.ok("modify_admin", {"RoomId": rid, "Admin_Account": [new], "OpType": "add"})
    assert c.ok("get_admin_list", {"RoomId": rid})["Admin_Account"] == [new]


# --- bans --------------------------------------------------------------------------------------

def test_ban_list_page_and_unban(mclient):
    c = mclient
    rid = room(c)
    users = [uid("troll") for _ in range(5)]
    before = int(time.time())
    c.ok("ban_member", {"RoomId": rid, "MemberList_Account": users[:3], "Duration": 3600,
                        "Reason": ""})  # the console always sends Reason, empty by default
    c.ok("ban_member", {"RoomId": rid, "MemberList_Account": users[3:], "Duration": 60,
                        "Reason": "spam"})
    page = c.ok("get_banned_member_list", {"RoomId": rid})
    listed = page["BannedAccountList"]
    assert [b["Member_Account"] for b in listed] == users
    assert page["NextOffset"] == 0
    for b in listed[:3]:
        assert before + 3600 <= b["BannedUntil"] <= int(time.time()) + 3600
        assert b["Reason"] == ""
    assert listed[3]["Reason"] == "spam"
    first = c.ok("get_banned_member_list", {"RoomId": rid, "Offset": 0, "Limit": 2})
    assert [b["Member_Account"] for b in first["BannedAccountList"]] == users[:2]
    assert first["NextOffset"] == 2
    rest = c.ok("get_banned_member_list", {"RoomId": rid, "Offset": 2, "Limit": 100})
    assert [b["Member_Account"] for b in rest["BannedAccountList"]] == users[2:]
    assert rest["NextOffset"] == 0
    c.ok("unban_member", {"RoomId": rid, "MemberList_Account": [users[0]]})
    assert [b["Member_Account"] for b in
            c.ok("get_banned_member_list", {"RoomId": rid})["BannedAccountList"]] == users[1:]


def test_ban_rules(mclient):
    c = mclient
    rid = room(c)
    assert_error(c.call("ban_member", {"RoomId": rid, "MemberList_Account": [uid() for _ in range(21)],
                                       "Duration": 60}), 100002, "MemberList_Account")
    assert_error(c.call("ban_member", {"RoomId": rid, "MemberList_Account": ["x"]}), 100002, "Duration")
    assert_error(c.call("ban_member", {"RoomId": rid, "MemberList_Account": ["x"], "Duration": 0}),
                 100002, "Duration")
    assert_error(c.call("ban_member", {"RoomId": rid, "MemberList_Account": ["x"], "Duration": "60"}),
                 100002, "Duration")
    owner = c.room_info(rid)["Owner_Account"]
    assert_error(c.call("ban_member", {"RoomId": rid, "MemberList_Account": [owner], "Duration": 60}),
                 100006, owner)
    assert c.ok("get_banned_member_list", {"RoomId": rid})["BannedAccountList"] == []


def test_expired_bans_leave_the_list(mclient):
    c = mclient
    rid = room(c)
    c.ok("ban_member", {"RoomId": rid, "MemberList_Account": ["brief"], "Duration": 1})
    deadline = time.monotonic() + 5
    while c.ok("get_banned_member_list", {"RoomId": rid})["BannedAccountList"]:
        assert time.monotonic() < deadline, "a 1-second ban outlived its duration"
        time.sleep(0.2)


# --- mutes -------------------------------------------------------------------------------------

def test_mute_list_and_unmute(mclient):
    c = mclient
    rid = room(c)
    now = int(time.time())
    c.ok("mute_member", {"RoomId": rid, "MemberList_Account": ["loud"], "MuteTime": 600})
    muted = c.ok("get_muted_member_list", {"RoomId": rid})["MutedAccountList"]
    assert [m["Member_Account"] for m in muted] == ["loud"]
    assert now + 600 <= muted[0]["MutedUntil"] <= int(time.time()) + 600
    c.ok("mute_member", {"RoomId": rid, "MemberList_Account": ["loud"], "MuteTime": 0})
    assert c.ok("get_muted_member_list", {"RoomId": rid})["MutedAccountList"] == []
    assert_error(c.call("mute_member", {"RoomId": rid, "MemberList_Account": ["loud"]}), 100002,
                 "MuteTime")
    assert_error(c.call("mute_member", {"RoomId": rid, "MemberList_Account": ["loud"],
                                        "MuteTime": -1}), 100002, "MuteTime")
    assert_error(c.call("get_muted_member_list", {"RoomId": "no-" + rid}), 100004)


# --- robots ------------------------------------------------------------------------------------

def test_robots_console_obs_flow(mclient):
    """console-client.md §5.10: import live_obs_<anchor>, add it as a robot, read it back."""
    c = mclient
    anchor = imported(c, "anchor")
    rid = room(c, owner=anchor)
    robot = f"live_obs_{anchor}"
    assert c.ok("get_robot", {"RoomId": rid})["RobotList_Account"] == []
    assert_error(c.call("add_robot", {"RoomId": rid, "RobotList_Account": [robot]}), 70107, robot)
    c.ok("account_import", {"UserID": robot, "Nick": f"OBS Robot {robot}", "FaceUrl": ""})
    c.ok("add_robot", {"RoomId": rid, "RobotList_Account": [robot]})
    assert c.ok("get_robot", {"RoomId": rid})["RobotList_Account"] == [robot]
    c.ok("del_robot", {"RoomId": rid, "RobotList_Account": [robot]})
    assert c.ok("get_robot", {"RoomId": rid})["RobotList_Account"] == []


def test_at_most_three_robots(mclient):
    c = mclient
    rid = room(c)
    bots = [imported(c, "bot") for _ in range(4)]
    c.ok("add_robot", {"RoomId": rid, "RobotList_Account": bots[:3]})
    assert_error(c.call("add_robot", {"RoomId": rid, "RobotList_Account": bots[3:]}), 100002, "3")
    assert c.ok("get_robot", {"RoomId": rid})["RobotList_Account"] == bots[:3]


# --- durability --------------------------------------------------------------------------------

def test_moderation_survives_restart_and_destroy_clears_it(server):
    c = server.client()
    rid = room(c)
    admin, bot = imported(c), imported(c, "bot")
    c.ok("modify_admin", {"RoomId": rid, "Admin_Account": [admin], "OpType": "add"})
    c.ok("ban_member", {"RoomId": rid, "MemberList_Account": ["troll"], "Duration": 3600,
                        "Reason": "spam"})
    c.ok("mute_member", {"RoomId": rid, "MemberList_Account": ["loud"], "MuteTime": 600})
    c.ok("add_robot", {"RoomId": rid, "RobotList_Account": [bot]})
    server.kill9()
    server.restart()
    c = server.client()
    assert c.ok("get_admin_list", {"RoomId": rid})["Admin_Account"] == [admin]
    bans = c.ok("get_banned_member_list", {"RoomId": rid})["BannedAccountList"]
    assert [(b["Member_Account"], b["Reason"]) for b in bans] == [("troll", "spam")]
    assert [m["Member_Account"] for m in
            c.ok("get_muted_member_list", {"RoomId": rid})["MutedAccountList"]] == ["loud"]
    assert c.ok("get_robot", {"RoomId": rid})["RobotList_Account"] == [bot]
    c.ok("destroy_room", {"RoomId": rid})
    c.must_create(rid)
    assert c.ok("get_admin_list", {"RoomId": rid})["Admin_Account"] == []
    assert c.ok("get_robot", {"RoomId": rid})["RobotList_Account"] == []
