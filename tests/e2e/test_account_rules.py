"""Accounts as Tencent creates them (docs/compatibility.md "Accounts and profiles"): a client
login registers its account, durably; with auto_import_accounts every REST call that names an
account where one must exist imports it; UserIDs with control characters or bytes that are not
UTF-8 are refused everywhere; a login registers only ids of letters, digits, '_' and '-'."""

import pytest

from conftest import ADMIN, APP1, APP2, assert_error, uid
from gateway_client import gw, gw_factory, gw_server  # noqa: F401 (fixtures)


def status_of(rest, user):
    reply = rest.call("account_check", {"CheckItem": [{"UserID": user}]})
    assert reply["ErrorCode"] == 0, reply
    return reply["ResultItem"][0]["AccountStatus"]


def group_msg(rest, rid, sender, text="hi"):
    return rest.call("group_open_http_svc/send_group_msg", {
        "GroupId": rid, "From_Account": sender, "Random": 7,
        "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": text}}]})


def test_a_gateway_login_creates_the_account_durably(gw_factory):
    kit = gw_factory(name="login-creates")
    rest = kit.rest
    user = uid("sdk")  # never imported
    assert status_of(rest, user) == "NotImported"
    c = kit.connect()
    assert c.login(APP1, user, kit.sig(user))["code"] == 0
    # What the official console's "monitor admin" set-up does right after a login.
    assert status_of(rest, user) == "Imported"
    rid, _ = kit.room()
    rest.ok("modify_admin", {"RoomId": rid, "Admin_Account": [user], "OpType": "add"})
    rest.ok("portrait_set", {"From_Account": user,
                             "ProfileItem": [{"Tag": "Tag_Profile_IM_Nick", "Value": "Sdk"}]})
    assert group_msg(rest, rid, user)["ErrorCode"] == 0
    c.close()
    # Acknowledged (the login reply waited for it): it survives kill -9.
    other = uid("sdk")
    c2 = kit.connect()
    assert c2.login(APP1, other, kit.sig(other))["code"] == 0
    kit.server.restart(hard=True)
    assert status_of(kit.server.client(), other) == "Imported"
    assert status_of(kit.server.client(), user) == "Imported"


def test_a_query_string_login_creates_the_account_too(gw):
    user = uid("sdkq")
    c = gw.connect(query=gw.query(user))
    assert c.request("heartbeat")["code"] == 0  # logged in by the upgrade
    assert status_of(gw.rest, user) == "Imported"


def test_a_failed_login_creates_nothing(gw):
    user = uid("nosig")
    c = gw.connect()
    assert c.login(APP1, user, gw.sig(user + "x"))["code"] == 70013
    assert status_of(gw.rest, user) == "NotImported"


@pytest.mark.parametrize("user", ["bob.smith", "bob@example", "名字", "a b", "x+y"])
def test_a_login_registers_only_letters_digits_underscore_and_dash(gw, user):
    c = gw.connect()
    reply = c.login(APP1, user, gw.sig(user))
    assert reply["code"] == -1001, reply
    assert "identifier" in reply["message"] and "letters, digits" in reply["message"], reply
    assert status_of(gw.rest, user) == "NotImported"


@pytest.mark.parametrize("user", ["bob.smith", "名字-7"])
def test_imported_accounts_with_other_names_still_log_in(gw, user):
    gw.rest.ok("account_import", {"UserID": user})
    c = gw.connect()
    assert c.login(APP1, user, gw.sig(user))["code"] == 0


def test_app_administrators_log_in(gw):
    c = gw.connect()
    assert c.login(APP1, ADMIN, gw.sig(ADMIN))["code"] == 0


@pytest.mark.parametrize("bad", ["a\u0000b", "tab\there", "nl\n", "del\u007f", "c1\u0085x"])
def test_user_ids_with_control_characters_are_refused(server, bad):
    assert_error(server.call("account_import", {"UserID": bad}), 100002, "UserID",
                 "control character")
    reply = server.call("multiaccount_import", {"Accounts": [bad, "fine-" + uid()]})
    assert reply["ErrorCode"] == 0 and reply["FailAccounts"] == [bad], reply
    assert status_of(server, bad) == "NotImported"
    # Auto-import refuses them as well (APP2).
    rest2 = server.client(APP2)
    assert_error(rest2.call("create_room", {"RoomInfo": {
        "RoomId": uid(), "RoomType": "Live", "Owner_Account": bad}}), 100002, "Owner_Account")
    assert_error(rest2.call("portrait_set", {"From_Account": bad, "ProfileItem": [
        {"Tag": "Tag_Profile_IM_Nick", "Value": "x"}]}), 100002, "From_Account")


def test_a_login_with_a_control_character_or_bad_utf8_is_refused(gw):
    c = gw.connect()
    reply = c.login(APP1, "a\u0001b", gw.sig("a\u0001b"))
    assert reply["code"] == -1001 and "control character" in reply["message"], reply
    # Bytes that are not UTF-8 can only come through the query string.
    c = gw.connect(query=f"sdkappid={APP1}&identifier=%FF%FE&usersig=x")
    reply = c.wait_reply(None)
    assert reply["code"] == -1001 and "UTF-8" in reply["message"], reply
    assert c.wait_closed() == 1008
    assert not c.errors, c.errors  # every frame was valid UTF-8 JSON


def test_auto_import_covers_every_account_a_rest_call_names(server):
    """APP2 has auto_import_accounts = true."""
    rest = server.client(APP2)
    owner, admin, robot, sender = (uid(p) for p in ("own", "adm", "bot", "snd"))
    rid = uid()
    rest.ok("create_room", {"RoomInfo": {"RoomId": rid, "RoomType": "Live",
                                         "Owner_Account": owner}})
    rest.ok("modify_admin", {"RoomId": rid, "Admin_Account": [admin], "OpType": "add"})
    rest.ok("add_robot", {"RoomId": rid, "RobotList_Account": [robot]})
    reply = group_msg(rest, rid, sender)
    assert reply["ErrorCode"] == 0, reply
    rest.ok("send_text_msg", {"RoomId": rid, "Sender_Account": uid("snd2"), "TextContent": "x"})
    for user in (owner, admin, robot, sender):
        assert status_of(rest, user) == "Imported", user
    # Durable with the change that named them.
    server.restart(hard=True)
    rest = server.client(APP2)
    for user in (owner, admin, robot, sender):
        assert status_of(rest, user) == "Imported", user
    assert rest.ok("get_admin_list", {"RoomId": rid})["Admin_Account"] == [admin]


def test_a_refused_change_imports_nobody(server):
    """Auto-import goes in the same commit as the change: no account without it."""
    rest = server.client(APP2)
    rid = uid()
    rest.ok("create_room", {"RoomInfo": {"RoomId": rid, "RoomType": "Live"}})
    first = [uid("adm") for _ in range(3)]
    rest.ok("modify_admin", {"RoomId": rid, "Admin_Account": first, "OpType": "add"})
    three_more = [uid("adm") for _ in range(3)]
    assert_error(rest.call("modify_admin", {"RoomId": rid, "Admin_Account": three_more,
                                            "OpType": "add"}), 100020)
    for user in three_more:
        assert status_of(rest, user) == "NotImported", user
    robots = [uid("bot") for _ in range(4)]  # at most 3 robots
    assert_error(rest.call("add_robot", {"RoomId": rid, "RobotList_Account": robots}), 100002)
    for user in robots:
        assert status_of(rest, user) == "NotImported", user


def test_without_auto_import_unknown_accounts_are_70107(server):
    rid = uid()
    server.ok("create_room", {"RoomInfo": {"RoomId": rid, "RoomType": "Live"}})
    stranger = uid("x")
    assert_error(server.call("modify_admin", {"RoomId": rid, "Admin_Account": [stranger],
                                              "OpType": "add"}), 70107, "Admin_Account", stranger)
    assert_error(server.call("add_robot", {"RoomId": rid, "RobotList_Account": [stranger]}),
                 70107, "RobotList_Account")
    assert group_msg(server, rid, stranger)["ErrorCode"] == 70107
    assert status_of(server, stranger) == "NotImported"
