"""Accounts (im_open_login_svc) and profiles (profile/portrait_*): results at top level
(docs/compatibility.md §Accounts and profiles)."""

import pytest

from conftest import ADMIN, ADMIN2, APP2, assert_error, uid


@pytest.fixture(scope="module")
def c(module_server):
    return module_server.client()


def acct(prefix="u"):
    return uid(prefix)[:32]


def status(c, *users):
    reply = c.call("account_check", {"CheckItem": [{"UserID": u} for u in users]})
    assert reply["ErrorCode"] == 0, reply
    assert "ResultItem" in reply, f"IM calls answer at top level: {reply}"
    items = reply["ResultItem"]
    assert [i["UserID"] for i in items] == list(users)
    for i in items:
        assert i["ResultCode"] == 0 and isinstance(i.get("ResultInfo", ""), str), i
    return [i["AccountStatus"] for i in items]


def profile(c, user, tags):
    reply = c.call("portrait_get", {"To_Account": [user], "TagList": tags})
    assert reply["ErrorCode"] == 0, reply
    [item] = reply["UserProfileItem"]
    assert item["To_Account"] == user
    assert item["ResultCode"] == 0, item
    return {p["Tag"]: p["Value"] for p in item["ProfileItem"]}


def test_import_userid(c):
    u = acct()
    assert status(c, u) == ["NotImported"]
    reply = c.call("account_import", {"UserID": u})
    assert reply["ErrorCode"] == 0, reply
    assert status(c, u) == ["Imported"]


def test_import_identifier_field(c):
    u = acct()
    assert c.call("account_import", {"Identifier": u})["ErrorCode"] == 0
    assert status(c, u) == ["Imported"]


def test_import_twice_ok(c):
    u = acct()
    assert c.call("account_import", {"UserID": u, "Nick": "first"})["ErrorCode"] == 0
    assert c.call("account_import", {"UserID": u, "Nick": "second"})["ErrorCode"] == 0
    assert status(c, u) == ["Imported"]


@pytest.mark.parametrize("n,ok", [(32, True), (33, False)])
def test_import_length(c, n, ok):
    u = acct("len")
    u = u + "x" * (n - len(u))
    reply = c.call("account_import", {"UserID": u})
    if ok:
        assert reply["ErrorCode"] == 0, reply
        assert status(c, u) == ["Imported"]
    else:
        assert_error(reply, 100002, "UserID")
        assert status(c, u) == ["NotImported"]


def test_import_length_is_bytes(c):
    assert_error(c.call("account_import", {"UserID": "用" * 11}), 100002)  # 33 bytes, 11 chars


def test_import_bad_shapes(c):
    assert_error(c.call("account_import", {"UserID": 42}), 60015)
    assert_error(c.call("account_import", {}), 100002)
    assert_error(c.call("account_import", {"UserID": ""}), 100002)


@pytest.mark.parametrize("cmd,body", [
    ("account_check", {"CheckItem": [{"UserID": 7}]}),
    ("account_delete", {"DeleteItem": [{"UserID": ["x"]}]}),
    ("account_import", {"Identifier": 7}),
    ("portrait_set", {"From_Account": 7, "ProfileItem": [{"Tag": "Tag_Profile_IM_Nick", "Value": "x"}]}),
    ("portrait_get", {"To_Account": ["ok", {"x": 1}], "TagList": ["Tag_Profile_IM_Nick"]}),
])
def test_account_fields_must_be_strings_60015(c, cmd, body):
    assert_error(c.call(cmd, body), 60015)


def test_import_nick_and_face_become_profile(c):
    u = acct()
    c.import_account(u, Nick="Nick 名", FaceUrl="https://f/a.png")
    p = profile(c, u, ["Tag_Profile_IM_Nick", "Tag_Profile_IM_Image"])
    assert p == {"Tag_Profile_IM_Nick": "Nick 名", "Tag_Profile_IM_Image": "https://f/a.png"}


def test_multiaccount_import(c):
    a, b, bad = acct("m"), acct("m"), "x" * 33
    reply = c.call("multiaccount_import", {"Accounts": [a, bad, b]})
    assert reply["ErrorCode"] == 0, reply
    assert reply["FailAccounts"] == [bad]
    assert status(c, a, b, bad) == ["Imported", "Imported", "NotImported"]
    reply = c.call("multiaccount_import", {"Accounts": [a, b]})
    assert reply["ErrorCode"] == 0 and reply.get("FailAccounts", []) == [], reply


def test_multiaccount_import_limits(c):
    assert_error(c.call("multiaccount_import", {"Accounts": [acct("ml") for _ in range(101)]}), 100002, "Accounts")
    assert_error(c.call("multiaccount_import", {"Accounts": "a"}), 100002, "Accounts")
    assert_error(c.call("multiaccount_import", {"Accounts": ["ok", 7]}), 60015)


def test_account_check_statuses_and_admins(c):
    imported, never = acct(), acct()
    c.import_account(imported)
    assert status(c, imported, never, ADMIN, ADMIN2) == ["Imported", "NotImported", "Imported", "Imported"]


def test_account_delete(c):
    a, never = acct("del"), acct("never")
    c.import_account(a)
    reply = c.call("account_delete", {"DeleteItem": [{"UserID": a}, {"UserID": never}, {"UserID": ADMIN}]})
    assert reply["ErrorCode"] == 0, reply
    items = reply["ResultItem"]
    assert [i["UserID"] for i in items] == [a, never, ADMIN]
    assert [i["ResultCode"] for i in items] == [0, 70107, 100006]
    for i in items:
        assert isinstance(i["ResultInfo"], str)
    assert status(c, a, ADMIN) == ["NotImported", "Imported"]


def test_deleted_account_cannot_own_a_room(c):
    a = acct("gone")
    c.import_account(a)
    assert c.call("account_delete", {"DeleteItem": [{"UserID": a}]})["ErrorCode"] == 0
    assert_error(c.create_room(uid(), Owner_Account=a), 70107)


def test_portrait_set_get_console_shape(c):
    u = acct("mon")
    c.import_account(u)
    reply = c.call("portrait_set", {"From_Account": u, "ProfileItem": [
        {"Tag": "Tag_Profile_IM_Nick", "Value": "管理员"}, {"Tag": "Tag_Profile_IM_Role", "Value": 1}]})
    assert reply["ErrorCode"] == 0, reply
    p = profile(c, u, ["Tag_Profile_IM_Nick", "Tag_Profile_IM_Image", "Tag_Profile_IM_Role"])
    assert p["Tag_Profile_IM_Nick"] == "管理员"
    assert p["Tag_Profile_IM_Role"] == 1 and type(p["Tag_Profile_IM_Role"]) is int
    assert p["Tag_Profile_IM_Image"] == "", "standard tags with no value are returned empty"
    # a second set changes only the tags it names
    assert c.call("portrait_set", {"From_Account": u, "ProfileItem": [
        {"Tag": "Tag_Profile_IM_Image", "Value": "https://i/x.png"}]})["ErrorCode"] == 0
    p = profile(c, u, ["Tag_Profile_IM_Nick", "Tag_Profile_IM_Image", "Tag_Profile_IM_Role"])
    assert p == {"Tag_Profile_IM_Nick": "管理员", "Tag_Profile_IM_Image": "https://i/x.png",
                 "Tag_Profile_IM_Role": 1}


def test_portrait_empty_integer_tags(c):
    u = acct()
    c.import_account(u)
    tags = ["Tag_Profile_IM_Role", "Tag_Profile_IM_Level", "Tag_Profile_IM_BirthDay",
            "Tag_Profile_IM_Language", "Tag_Profile_IM_MsgSettings", "Tag_Profile_IM_Nick",
            "Tag_Profile_IM_Gender", "Tag_Profile_IM_SelfSignature"]
    p = profile(c, u, tags)
    for t in tags[:5]:
        assert p[t] == 0 and type(p[t]) is int, (t, p)
    for t in tags[5:]:
        assert p[t] == "", (t, p)


def test_portrait_custom_tag(c):
    u = acct()
    c.import_account(u)
    assert c.call("portrait_set", {"From_Account": u, "ProfileItem": [
        {"Tag": "Tag_Profile_Custom_Level", "Value": "gold"}]})["ErrorCode"] == 0
    assert profile(c, u, ["Tag_Profile_Custom_Level"]) == {"Tag_Profile_Custom_Level": "gold"}


@pytest.mark.parametrize("item", [
    {"Tag": "Tag_Profile_IM_Role", "Value": "1"},
    {"Tag": "Tag_Profile_IM_Nick", "Value": 5},
    {"Tag": "Tag_Profile_IM_Nick", "Value": "n" * 501},
    {"Tag": "Tag_Profile_IM_Level", "Value": "high"},
])
def test_portrait_set_typing(c, item):
    u = acct()
    c.import_account(u, Nick="keep")
    reply = c.call("portrait_set", {"From_Account": u, "ProfileItem": [item]})
    assert_error(reply, 100002, "ProfileItem")
    p = profile(c, u, ["Tag_Profile_IM_Nick", "Tag_Profile_IM_Level", "Tag_Profile_IM_Role"])
    assert p == {"Tag_Profile_IM_Nick": "keep", "Tag_Profile_IM_Level": 0, "Tag_Profile_IM_Role": 0}


def test_portrait_nick_500_bytes_ok(c):
    u = acct()
    c.import_account(u)
    nick = "汉" * 166 + "ab"  # 500 bytes
    assert c.call("portrait_set", {"From_Account": u, "ProfileItem": [
        {"Tag": "Tag_Profile_IM_Nick", "Value": nick}]})["ErrorCode"] == 0
    assert profile(c, u, ["Tag_Profile_IM_Nick"])["Tag_Profile_IM_Nick"] == nick


def test_portrait_get_unknown_and_admin(c):
    u, ghost = acct(), acct("ghost")
    c.import_account(u, Nick="Known")
    reply = c.call("portrait_get", {"To_Account": [u, ghost, ADMIN],
                                    "TagList": ["Tag_Profile_IM_Nick", "Tag_Profile_IM_Image"]})
    assert reply["ErrorCode"] == 0, reply
    items = {i["To_Account"]: i for i in reply["UserProfileItem"]}
    assert set(items) == {u, ghost, ADMIN}
    assert items[u]["ResultCode"] == 0 and items[ADMIN]["ResultCode"] == 0
    assert items[ghost]["ResultCode"] == 70107
    nick = {p["Tag"]: p["Value"] for p in items[u]["ProfileItem"]}["Tag_Profile_IM_Nick"]
    assert nick == "Known"


def test_portrait_get_limits(c):
    assert_error(c.call("portrait_get", {"To_Account": [f"u{i}" for i in range(101)],
                                         "TagList": ["Tag_Profile_IM_Nick"]}), 100002, "To_Account")
    reply = c.call("portrait_get", {"To_Account": [f"u{i}" for i in range(100)], "TagList": ["Tag_Profile_IM_Nick"]})
    assert reply["ErrorCode"] == 0 and len(reply["UserProfileItem"]) == 100, reply
    assert_error(c.call("portrait_get", {"To_Account": [1], "TagList": ["Tag_Profile_IM_Nick"]}), 60015)


def test_imported_owner_can_own_room(c):
    u = acct("anchor")
    room = uid()
    assert_error(c.create_room(room, Owner_Account=u), 70107)
    c.import_account(u)
    c.must_create(room, Owner_Account=u)
    assert c.room_info(room)["Owner_Account"] == u


def test_accounts_are_per_app(module_server):
    c1, c2 = module_server.client(), module_server.client(sdkappid=APP2)
    u = acct("per")
    c1.import_account(u)
    assert status(c2, u) == ["NotImported"]
