"""Rooms: create / get / update / destroy, every validation rule and default of
docs/compatibility.md §Rooms, seats from SeatTemplate, owners and accounts, stats."""

import time

import pytest

from conftest import ADMIN, ADMIN2, APP2, STATS_KEYS, assert_error, uid

ROOM_INFO_FIELDS = {
    "RoomId", "RoomName", "RoomType", "Owner_Account", "SeatTemplate", "IsSeatEnabled",
    "TakeSeatMode", "MaxSeatCount", "MaxMemberCount", "IsMessageDisabled", "IsPublicVisible",
    "IsLikeEnabled", "IsGiftEnabled", "IsUnlimitedRoomEnabled", "KeepOwnerOnSeat", "CoverURL",
    "BackgroundURL", "Notice", "CustomInfo", "Category", "ActivityStatus", "CreateTime", "ViewCount",
    "MemberCount", "OnlineCount",
}

DEFAULTS = {
    "RoomType": "Live", "Owner_Account": ADMIN, "SeatTemplate": "", "IsSeatEnabled": False,
    "MaxSeatCount": 0, "TakeSeatMode": "FreeToTake", "MaxMemberCount": 100000,
    "IsMessageDisabled": False, "IsPublicVisible": True, "IsLikeEnabled": True, "IsGiftEnabled": True,
    "IsUnlimitedRoomEnabled": False, "KeepOwnerOnSeat": False, "CoverURL": "", "BackgroundURL": "",
    "Notice": "", "CustomInfo": "", "Category": [], "ActivityStatus": 0, "ViewCount": 0,
    "MemberCount": 0, "OnlineCount": 0,
}

TENCENT_UPDATE_SAMPLE = (b'{"RoomInfo":{"RoomId":"live-room","RoomName":"rname-123","MaxMemberCount":300,'
                         b'"IsMessageDisabled":false,"CoverURL":"https://xxxx.png","Category":[1,2,3],'
                         b'"ActivityStatus":1,"IsPublicVisible":false,"TakeSeatMode":"ApplyToTake"}}')


@pytest.fixture(scope="module")
def c(module_server):
    return module_server.client()


def pad(prefix, n, ch="x"):
    assert len(prefix.encode()) <= n
    return prefix + ch * (n - len(prefix.encode()))


def stable(info):
    """RoomInfo without the fields that change by themselves."""
    return {k: v for k, v in info.items() if k not in ("MemberCount", "OnlineCount")}


# ------------------------------------------------------------------------------------------
# Success paths

def test_create_defaults(c):
    room = uid()
    t0 = int(time.time())
    reply = c.must_create(room)
    assert reply["Response"]["RoomId"] == room
    info = c.room_info(room)
    missing = ROOM_INFO_FIELDS - set(info)
    assert not missing, f"get_room_info lacks {missing}: {info}"
    assert info["RoomId"] == room
    assert info["RoomName"] == room, "RoomName defaults to RoomId"
    for k, v in DEFAULTS.items():
        assert info[k] == v and type(info[k]) is type(v), (k, info[k], v)
    assert isinstance(info["CreateTime"], int) and t0 - 2 <= info["CreateTime"] <= int(time.time()) + 2


def test_create_with_empty_roomname_uses_roomid(c):
    room = uid()
    c.must_create(room, RoomName="")
    assert c.room_info(room)["RoomName"] == room


def test_create_every_field_read_back(c):
    room = uid()
    fields = {
        "Owner_Account": ADMIN2, "RoomName": "Evening show 晚会", "SeatTemplate": "VideoDynamicGrid9Seats",
        "TakeSeatMode": "ApplyToTake", "MaxMemberCount": 5000, "IsMessageDisabled": True,
        "IsPublicVisible": False, "CoverURL": "https://cdn.example/c.png",
        "BackgroundURL": "https://cdn.example/bg.png", "Notice": "PK at 9pm",
        "CustomInfo": '{"topic":"music"}', "Category": [2, 7], "ActivityStatus": 3,
        "IsLikeEnabled": False, "IsGiftEnabled": False, "IsUnlimitedRoomEnabled": True,
        "KeepOwnerOnSeat": True,
    }
    c.must_create(room, **fields)
    info = c.room_info(room)
    for k, v in fields.items():
        assert info[k] == v, (k, info[k], v)
    assert info["RoomType"] == "Live"
    assert info["IsSeatEnabled"] is True and info["MaxSeatCount"] == 9


def test_unknown_keys_ignored(c):
    room = uid()
    reply = c.create_room(room, IsUnlimitedRoomEnabled=True, KeepOwnerOnSeat=False,
                          SortDirection="descend", LifetimeAfterNoUsers=600, SomethingNew={"a": [1]})
    assert reply["ErrorCode"] == 0, reply
    reply = c.call("create_room", {"RoomInfo": {"RoomId": uid(), "RoomType": "Live"}, "Extra": 1})
    assert reply["ErrorCode"] == 0, reply
    reply = c.update(room, IsUnlimitedRoomEnabled=True, SortDirection="descend", Whatever=None)
    assert reply["ErrorCode"] == 0, reply
    reply = c.call("get_room_info", {"RoomId": room, "SortDirection": "descend", "Keys": []})
    assert reply["ErrorCode"] == 0, reply


def test_tencent_update_sample_verbatim(c):
    c.must_create("live-room")
    before = c.room_info("live-room")
    reply = c.call("update_room_info", TENCENT_UPDATE_SAMPLE)
    assert reply["ErrorCode"] == 0, reply
    info = c.room_info("live-room")
    expected = {"RoomId": "live-room", "RoomName": "rname-123", "MaxMemberCount": 300,
                "IsMessageDisabled": False, "CoverURL": "https://xxxx.png", "Category": [1, 2, 3],
                "ActivityStatus": 1, "IsPublicVisible": False, "TakeSeatMode": "ApplyToTake"}
    for k, v in expected.items():
        assert info[k] == v, (k, info[k], v)
    for k in ("Owner_Account", "CreateTime", "RoomType", "Notice", "BackgroundURL", "IsLikeEnabled"):
        assert info[k] == before[k], k


def test_partial_update_leaves_other_fields(c):
    room = uid()
    c.must_create(room, RoomName="n1", CoverURL="https://a/1.png", Notice="hello", Category=[5],
                  MaxMemberCount=777, TakeSeatMode="ApplyToTake", IsPublicVisible=False)
    before = stable(c.room_info(room))
    assert c.update(room, Notice="changed")["ErrorCode"] == 0
    after = stable(c.room_info(room))
    assert after == {**before, "Notice": "changed"}
    assert c.update(room)["ErrorCode"] == 0, "an update with only RoomId is a no-op"
    assert stable(c.room_info(room)) == after


def test_update_every_field(c):
    room = uid()
    c.must_create(room)
    fields = {"RoomName": "新名字", "MaxMemberCount": 1, "IsMessageDisabled": True, "CoverURL": "c",
              "BackgroundURL": "b", "Notice": "n", "CustomInfo": "{}", "Category": [9, 8, 7],
              "ActivityStatus": -3, "IsPublicVisible": False, "TakeSeatMode": "ApplyToTake",
              "IsLikeEnabled": False, "IsGiftEnabled": False}
    assert c.update(room, **fields)["ErrorCode"] == 0
    info = c.room_info(room)
    for k, v in fields.items():
        assert info[k] == v, (k, info[k], v)
    # and back; empty strings are valid values for optional text fields
    back = {"CoverURL": "", "BackgroundURL": "", "Notice": "", "CustomInfo": "", "Category": [],
            "IsMessageDisabled": False, "TakeSeatMode": "FreeToTake", "MaxMemberCount": 1000000}
    assert c.update(room, **back)["ErrorCode"] == 0
    info = c.room_info(room)
    for k, v in back.items():
        assert info[k] == v, (k, info[k], v)


def test_update_roomname_empty_resets_to_roomid(c):
    room = uid()
    c.must_create(room, RoomName="titled")
    assert c.update(room, RoomName="")["ErrorCode"] == 0
    assert c.room_info(room)["RoomName"] == room


def test_update_ignores_owner_type_createtime_viewcount(c):
    room = uid()
    c.must_create(room)
    before = stable(c.room_info(room))
    reply = c.update(room, Owner_Account=ADMIN2, RoomType="Live", CreateTime=5, ViewCount=99999,
                     Notice="x")
    assert reply["ErrorCode"] == 0, reply
    assert stable(c.room_info(room)) == {**before, "Notice": "x"}


def test_is_message_disabled_string_form(c):
    room = uid()
    c.must_create(room, IsMessageDisabled="true")
    assert c.room_info(room)["IsMessageDisabled"] is True
    assert c.update(room, IsMessageDisabled="false")["ErrorCode"] == 0
    assert c.room_info(room)["IsMessageDisabled"] is False
    assert c.update(room, IsMessageDisabled="true")["ErrorCode"] == 0
    assert c.room_info(room)["IsMessageDisabled"] is True


@pytest.mark.parametrize("mode,expected", [(0, "FreeToTake"), (1, "ApplyToTake"),
                                           ("FreeToTake", "FreeToTake"), ("ApplyToTake", "ApplyToTake")])
def test_take_seat_mode_forms(c, mode, expected):
    room = uid()
    c.must_create(room, TakeSeatMode=mode)
    assert c.room_info(room)["TakeSeatMode"] == expected
    other = "ApplyToTake" if expected == "FreeToTake" else "FreeToTake"
    assert c.update(room, TakeSeatMode=1 if other == "ApplyToTake" else 0)["ErrorCode"] == 0
    assert c.room_info(room)["TakeSeatMode"] == other


# ------------------------------------------------------------------------------------------
# Validation (create)

ML = "汉"  # 3 bytes in UTF-8

# (field, value, ok)
CREATE_CASES = [
    ("RoomName", ML * 33 + "a", True),          # 100 bytes, 34 characters
    ("RoomName", ML * 33 + "ab", False),        # 101 bytes, 35 characters
    ("RoomName", "é" * 50, True),               # 100 bytes
    ("RoomName", "é" * 50 + "a", False),        # 101 bytes, 51 characters
    ("RoomName", "a" * 100, True),
    ("RoomName", "a" * 101, False),
    ("RoomName", 5, False),
    ("CoverURL", pad("https://c/", 200), True),
    ("CoverURL", pad("https://c/", 201), False),
    ("CoverURL", ML * 67, False),               # 201 bytes, 67 characters
    ("BackgroundURL", pad("https://b/", 200), True),
    ("BackgroundURL", pad("https://b/", 201), False),
    ("Notice", "n" * 100, True),
    ("Notice", "n" * 101, False),
    ("Notice", ML * 34, False),                 # 102 bytes, 34 characters
    ("CustomInfo", "c" * 2048, True),
    ("CustomInfo", "c" * 2049, False),
    ("Category", [1, 2, 3], True),
    ("Category", [], True),
    ("Category", [1, 2, 3, 4], False),
    ("Category", ["1"], False),
    ("Category", [1.5], False),
    ("Category", [True], False),
    ("Category", 1, False),
    ("Category", "1,2", False),
    ("MaxMemberCount", 1, True),
    ("MaxMemberCount", 1000000, True),
    ("MaxMemberCount", 0, False),
    ("MaxMemberCount", -5, False),
    ("MaxMemberCount", 1000001, False),
    ("MaxMemberCount", "300", False),
    ("MaxMemberCount", 300.5, False),
    ("TakeSeatMode", "Bogus", False),
    ("TakeSeatMode", "freetotake", False),
    ("TakeSeatMode", 2, False),
    ("TakeSeatMode", -1, False),
    ("TakeSeatMode", True, False),
    ("SeatTemplate", "NoSuchTemplate", False),
    ("SeatTemplate", "videodynamicgrid9seats", False),
    ("SeatTemplate", True, False),
    ("IsPublicVisible", "yes", False),
    ("IsPublicVisible", 1, False),
    ("IsLikeEnabled", "true", False),
    ("IsGiftEnabled", 0, False),
    ("IsMessageDisabled", "yes", False),
    ("IsMessageDisabled", 1, False),
    ("ActivityStatus", "1", False),
    ("ActivityStatus", 1.5, False),
    ("ActivityStatus", -3, True),
    ("ActivityStatus", 2, True),
]


@pytest.mark.parametrize("field,value,ok", CREATE_CASES,
                         ids=[f"{f}-{i}-{'ok' if ok else 'bad'}" for i, (f, _, ok) in enumerate(CREATE_CASES)])
def test_create_field_rules(c, field, value, ok):
    room = uid()
    reply = c.create_room(room, **{field: value})
    if ok:
        assert reply["ErrorCode"] == 0, reply
        assert c.room_info(room)[field] == value
    else:
        assert_error(reply, 100002, field)
        assert_error(c.call("get_room_info", {"RoomId": room}), 100004)


@pytest.mark.parametrize("length,ok", [(1, True), (48, True), (49, False)])
def test_room_id_length(c, length, ok):
    room = "Z" if length == 1 else pad(uid("L"), length)
    reply = c.create_room(room)
    if ok:
        assert reply["ErrorCode"] == 0, reply
        assert c.room_info(room)["RoomId"] == room
    else:
        assert_error(reply, 100002, "RoomId")


@pytest.mark.parametrize("room_id", ["", "tab\there", "new\nline", "caf\u00e9", "del\x7f", "nul\x00x",
                                     "汉字"])
def test_room_id_not_printable_ascii(c, room_id):
    assert_error(c.create_room(room_id), 100002, "RoomId")


def test_room_id_printable_punctuation_ok(c):
    room = f" ~!@#$%^&*()_+{{}}|:<>?`-=[];',./ {uid()}"[:48]
    assert c.create_room(room)["ErrorCode"] == 0
    assert c.room_info(room)["RoomId"] == room


@pytest.mark.parametrize("body,field", [
    ({}, "RoomInfo"),
    ({"RoomInfo": "x"}, "RoomInfo"),
    ({"RoomInfo": {"RoomType": "Live"}}, "RoomId"),
    ({"RoomInfo": {"RoomId": 123, "RoomType": "Live"}}, "RoomId"),
    ({"RoomInfo": {"RoomId": "__RID__"}}, "RoomType"),
    ({"RoomInfo": {"RoomId": "__RID__", "RoomType": 1}}, "RoomType"),
])
def test_create_structure_errors(c, body, field):
    import json
    rid = uid()
    body = json.loads(json.dumps(body).replace("__RID__", rid))
    assert_error(c.call("create_room", body), 100002, field)
    assert_error(c.call("get_room_info", {"RoomId": rid}), 100004)


def test_create_room_type_not_live_is_100006(c):
    room = uid()
    assert_error(c.create_room(room, RoomType="Conference"), 100006)
    assert_error(c.call("get_room_info", {"RoomId": room}), 100004)


def test_owner_account_not_string_is_60015(c):
    room = uid()
    assert_error(c.create_room(room, Owner_Account=12345), 60015)
    assert_error(c.call("get_room_info", {"RoomId": room}), 100004)


def test_first_failing_field_in_reading_order_answers(c):
    # docs/compatibility.md: fields are checked in the order the command reads them; the first
    # failing one answers with its own code (Owner_Account is read before the RoomInfo fields).
    room = uid()
    reply = c.create_room(room, Owner_Account=5, MaxMemberCount="300")
    assert_error(reply, 60015, "Owner_Account")
    reply = c.create_room(room, MaxMemberCount="300", Notice=5)
    assert_error(reply, 100002, "MaxMemberCount")
    assert c.call("get_room_info", {"RoomId": room})["ErrorCode"] == 100004


def test_get_room_info_room_id_type(c):
    assert_error(c.call("get_room_info", {"RoomId": 5}), 100002, "RoomId")
    assert_error(c.call("get_room_info", {}), 100002, "RoomId")
    assert_error(c.call("destroy_room", {"RoomId": ["x"]}), 100002, "RoomId")


# ------------------------------------------------------------------------------------------
# Validation (update): a bad field among good ones changes nothing

UPDATE_BAD = [
    ("RoomName", ML * 33 + "ab"), ("CoverURL", pad("u", 201)), ("BackgroundURL", pad("u", 201)),
    ("Notice", "n" * 101), ("CustomInfo", "c" * 2049), ("Category", [1, 2, 3, 4]), ("Category", ["x"]),
    ("MaxMemberCount", "300"), ("MaxMemberCount", 0), ("TakeSeatMode", "Sometimes"), ("TakeSeatMode", 7),
    ("IsPublicVisible", "false"), ("IsMessageDisabled", "maybe"), ("ActivityStatus", "2"),
]


@pytest.mark.parametrize("field,value", UPDATE_BAD, ids=[f"{f}-{i}" for i, (f, _) in enumerate(UPDATE_BAD)])
def test_failed_update_changes_nothing(c, field, value):
    room = uid()
    c.must_create(room, RoomName="orig", Notice="orig notice", Category=[1], MaxMemberCount=50)
    before = stable(c.room_info(room))
    good = {"RoomName": "new name", "Notice": "new notice", "Category": [2, 3], "MaxMemberCount": 60,
            "CoverURL": "https://new/c.png", "ActivityStatus": 1, "IsPublicVisible": False}
    good[field] = value
    # Put the bad field last so that a server applying fields one by one would already have
    # applied the good ones.
    body = {k: v for k, v in good.items() if k != field}
    body[field] = value
    assert_error(c.update(room, **body), 100002, field)
    assert stable(c.room_info(room)) == before


def test_update_requires_room_info(c):
    assert_error(c.call("update_room_info", {"RoomId": "x"}), 100002, "RoomInfo")
    assert_error(c.call("update_room_info", {"RoomInfo": {"RoomName": "x"}}), 100002, "RoomId")


# ------------------------------------------------------------------------------------------
# Existence: 100003 / 100010 / 100012 / 100004

def test_create_twice_same_owner_100010_other_owner_100003(c):
    room = uid()
    c.must_create(room, RoomName="first")
    assert_error(c.create_room(room), 100010)                       # owner = caller = administrator
    assert_error(c.create_room(room, Owner_Account=ADMIN), 100010)
    assert_error(c.create_room(room, Owner_Account=ADMIN2, RoomName="second"), 100003)
    assert_error(c.as_user(ADMIN2).create_room(room), 100003)        # default owner admin2
    info = c.room_info(room)
    assert info["RoomName"] == "first" and info["Owner_Account"] == ADMIN
    room2 = uid()
    c.as_user(ADMIN2).must_create(room2)
    assert_error(c.create_room(room2, Owner_Account=ADMIN2), 100010)
    assert_error(c.create_room(room2), 100003)


def test_recreate_within_a_second_is_100012_and_destroy_clears_metadata(c):
    room = uid()
    c.must_create(room, RoomName="one")
    assert c.set_metadata(room, [("k", "v")])["ErrorCode"] == 0
    assert c.call("destroy_room", {"RoomId": room})["ErrorCode"] == 0
    assert_error(c.create_room(room), 100012)
    assert_error(c.call("get_room_info", {"RoomId": room}), 100004)
    time.sleep(1.2)
    c.must_create(room, RoomName="two")
    info = c.room_info(room)
    assert info["RoomName"] == "two"
    assert c.metadata(room) == [], "destroy_room deletes the room's metadata"


def test_100012_window_counts_from_the_last_creation(c):
    room = uid()
    c.must_create(room)
    time.sleep(1.1)
    assert c.call("destroy_room", {"RoomId": room})["ErrorCode"] == 0
    c.must_create(room)  # destroyed just now, but created more than a second ago


@pytest.mark.parametrize("cmd,body", [
    ("get_room_info", {}), ("destroy_room", {}), ("get_room_stats", {}), ("get_room_statistic", {}),
    ("update_room_info", {"RoomInfo": {"Notice": "x"}}),
    ("get_room_metadata", {"Keys": []}), ("set_room_metadata", {"Metadata": [{"Key": "a", "Value": "b"}]}),
    ("del_room_metadata", {"Keys": ["a"]}),
])
def test_missing_room_100004(c, cmd, body):
    room = uid("missing")
    if "RoomInfo" in body:
        body = {"RoomInfo": {"RoomId": room, **body["RoomInfo"]}}
    else:
        body = {"RoomId": room, **body}
    assert_error(c.call(cmd, body), 100004)


def test_destroy_returns_statistic_and_room_is_gone(c):
    room = uid()
    c.must_create(room)
    reply = c.call("destroy_room", {"RoomId": room})
    assert reply["ErrorCode"] == 0, reply
    stat = reply["Response"]["Statistic"]
    for k in ["TotalViewers", "TotalGiftsSent", "TotalGiftCoins", "TotalUniqueGiftSenders", "TotalLikesReceived"]:
        assert stat[k] == 0 and type(stat[k]) is int, (k, stat)
    assert_error(c.call("get_room_info", {"RoomId": room}), 100004)
    assert_error(c.call("destroy_room", {"RoomId": room}), 100004)
    assert_error(c.update(room, Notice="x"), 100004)


@pytest.mark.parametrize("cmd", ["get_room_stats", "get_room_statistic"])
def test_stats_six_totals(c, cmd):
    room = uid()
    c.must_create(room)
    resp = c.ok(cmd, {"RoomId": room})
    for k in STATS_KEYS:
        assert resp[k] == 0 and type(resp[k]) is int, (k, resp)


# ------------------------------------------------------------------------------------------
# Seats

@pytest.mark.parametrize("template,seats,emitted", [
    ("VideoDynamicGrid9Seats", 9, None), ("VideoFixedGrid9Seats", 9, None),
    ("VideoLeftFocus9Seats", 9, None), ("VideoUniformGrid9Seats", 9, None),
    ("VideoDynamicFloat7Seats", 7, None), ("VideoFixedFloat7Seats", 7, None),
    ("VideoLandscape4Seats", 4, None), ("VideoLandscape4Seat", 4, "VideoLandscape4Seats"),
    ("AudioSalon", 8, None), ("Karaoke", 8, None),
    (600, 9, "VideoDynamicGrid9Seats"), (601, 7, "VideoDynamicFloat7Seats"),
    (800, 9, "VideoFixedGrid9Seats"), (801, 7, "VideoFixedFloat7Seats"), (200, 4, "VideoLandscape4Seats"),
])
def test_seat_template(c, template, seats, emitted):
    room = uid()
    c.must_create(room, SeatTemplate=template)
    info = c.room_info(room)
    assert info["IsSeatEnabled"] is True
    assert info["MaxSeatCount"] == seats
    assert info["SeatTemplate"] == (emitted or template)


@pytest.mark.parametrize("template", [600, 200])
def test_seat_layout_template_integer(c, template):
    room = uid()
    c.must_create(room, SeatLayoutTemplate=template)
    info = c.room_info(room)
    assert info["IsSeatEnabled"] is True
    assert info["MaxSeatCount"] == {600: 9, 200: 4}[template]


@pytest.mark.parametrize("template", ["AudioSalon", "Karaoke"])
@pytest.mark.parametrize("count,ok", [(1, True), (12, True), (16, True), (0, False), (17, False), ("8", False)])
def test_audio_templates_take_max_seat_count(c, template, count, ok):
    room = uid()
    reply = c.create_room(room, SeatTemplate=template, MaxSeatCount=count)
    if ok:
        assert reply["ErrorCode"] == 0, reply
        info = c.room_info(room)
        assert info["MaxSeatCount"] == count and info["IsSeatEnabled"] is True
        assert info["SeatTemplate"] == template
    else:
        assert_error(reply, 100002, "MaxSeatCount")


def test_template_decides_seats(c):
    """SeatTemplate decides: a video template ignores MaxSeatCount and IsSeatEnabled false."""
    room = uid()
    c.must_create(room, SeatTemplate="VideoDynamicGrid9Seats", MaxSeatCount=3, IsSeatEnabled=False)
    info = c.room_info(room)
    assert (info["IsSeatEnabled"], info["MaxSeatCount"]) == (True, 9)


def test_gen1_seats(c):
    room = uid()
    c.must_create(room, IsSeatEnabled=True, MaxSeatCount=6)
    info = c.room_info(room)
    assert (info["IsSeatEnabled"], info["MaxSeatCount"], info["SeatTemplate"]) == (True, 6, "")
    room = uid()
    c.must_create(room, IsSeatEnabled=True)
    info = c.room_info(room)
    assert (info["IsSeatEnabled"], info["MaxSeatCount"]) == (True, 8)
    room = uid()
    c.must_create(room, IsSeatEnabled=False, MaxSeatCount=6)
    info = c.room_info(room)
    assert (info["IsSeatEnabled"], info["MaxSeatCount"]) == (False, 0)


# ------------------------------------------------------------------------------------------
# Owners and accounts

def test_default_owner_is_caller(c):
    room = uid()
    c.as_user(ADMIN2).must_create(room)
    assert c.room_info(room)["Owner_Account"] == ADMIN2


def test_owner_not_imported_70107(c):
    room = uid()
    assert_error(c.create_room(room, Owner_Account="ghost_user_1"), 70107)
    assert_error(c.call("get_room_info", {"RoomId": room}), 100004)
    check = c.call("account_check", {"CheckItem": [{"UserID": "ghost_user_1"}]})
    assert check["ResultItem"][0]["AccountStatus"] == "NotImported"


def test_imported_owner(c):
    user = uid("own")[:32]
    c.import_account(user)
    room = uid()
    c.must_create(room, Owner_Account=user)
    assert c.room_info(room)["Owner_Account"] == user


def test_auto_import_owner_app2(module_server):
    c2 = module_server.client(sdkappid=APP2)
    user = uid("auto")[:32]
    room = uid()
    c2.must_create(room, Owner_Account=user)
    assert c2.room_info(room)["Owner_Account"] == user
    check = c2.call("account_check", {"CheckItem": [{"UserID": user}]})
    assert check["ErrorCode"] == 0 and check["ResultItem"][0]["AccountStatus"] == "Imported", check
    # The account belongs to app 2 only.
    c1 = module_server.client()
    check = c1.call("account_check", {"CheckItem": [{"UserID": user}]})
    assert check["ResultItem"][0]["AccountStatus"] == "NotImported", check
    # Over 32 bytes cannot be imported.
    room2 = uid()
    reply = c2.create_room(room2, Owner_Account="u" * 33)
    assert reply["ErrorCode"] != 0, reply
    assert_error(c2.call("get_room_info", {"RoomId": room2}), 100004)


def test_apps_are_isolated(module_server):
    c1, c2 = module_server.client(), module_server.client(sdkappid=APP2)
    room = uid()
    c1.must_create(room, RoomName="app1")
    assert_error(c2.call("get_room_info", {"RoomId": room}), 100004)
    c2.must_create(room, RoomName="app2")
    assert c1.room_info(room)["RoomName"] == "app1"
    assert c2.room_info(room)["RoomName"] == "app2"
