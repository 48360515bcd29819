"""Replays the official console's (TUILiveKit_Manager) session, spec/console-client.md §5–§7,
with its exact bodies — rooms, metadata, stats, accounts and profiles only (members, seats,
robots and messages are a later issue)."""

import json
import threading
import time

import pytest

from conftest import ADMIN, APP2, assert_error

ANCHOR = "anchor_mia"
ROOM = "live_anchor_mia"
ROBOT = "live_obs_anchor_mia"


def console_list(c, count=20):
    """The paginator: first page Next "0", later pages the returned Next, SortDirection descend."""
    rooms, nxt = [], ""
    while True:
        body = {"Next": nxt or "0", "Count": count, "SortDirection": "descend"}
        reply = c.call("get_room_list", body)
        assert reply["ErrorCode"] == 0, reply
        page = reply["Response"].get("RoomList", [])
        rooms += page
        nxt = reply["Response"].get("Next", "")
        # console: has more = Next non-empty AND page length == Count
        if not (nxt and len(page) == count):
            return rooms


def user_profile_items(reply):
    items = reply.get("Response", {}).get("UserProfileItem")
    return items if isinstance(items, list) else reply["UserProfileItem"]


def detail(c, room):
    """get_room_info + get_room_metadata as the console's detail fetch does."""
    info = c.call("get_room_info", {"RoomId": room})
    assert info["ErrorCode"] == 0, info
    ri = info["Response"]["RoomInfo"]
    assert "RoomType" in ri, "the console needs RoomType to parse detail fields"
    meta = c.call("get_room_metadata", {"RoomId": room, "Keys": []})
    assert meta["ErrorCode"] == 0, meta
    return ri, {m["Key"]: m["Value"] for m in meta["Response"].get("Metadata", [])}


def fire_together(c, calls):
    replies = [None] * len(calls)
    barrier = threading.Barrier(len(calls))

    def run(i, cmd, body):
        barrier.wait()
        replies[i] = c.call(cmd, body)

    threads = [threading.Thread(target=run, args=(i, cmd, body)) for i, (cmd, body) in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return replies


def test_console_session(server):
    c = server.client()
    # The anchor logged in with the app before (the console never imports owners).
    c.import_account(ANCHOR)

    # Login → portrait_get(admin)
    reply = c.call("portrait_get", {"To_Account": [ADMIN], "TagList": ["Tag_Profile_IM_Nick", "Tag_Profile_IM_Image"]})
    assert reply["ErrorCode"] == 0, reply
    items = user_profile_items(reply)
    assert items[0]["To_Account"] == ADMIN
    for p in items[0]["ProfileItem"]:
        assert isinstance(p["Value"], str)

    # Live List page
    assert console_list(c) == []

    # Create live (OBS streaming ticked), exact body order of §5.1
    create = ('{"RoomInfo":{"RoomId":"live_anchor_mia","RoomType":"Live","SeatTemplate":"VideoDynamicGrid9Seats",'
              '"Owner_Account":"anchor_mia","IsUnlimitedRoomEnabled":true,"TakeSeatMode":"ApplyToTake",'
              '"KeepOwnerOnSeat":false,"RoomName":"Mia\'s evening show",'
              '"CoverURL":"https://cdn.example.com/covers/mia.png"}}')
    t0 = int(time.time())
    reply = c.call("create_room", create)
    assert reply["ErrorCode"] == 0, reply

    # custom info → set_room_metadata, then detail fetch twice
    reply = c.call("set_room_metadata", {"RoomId": ROOM, "Metadata": [{"Key": "topic", "Value": "music"},
                                                                       {"Key": "lang", "Value": "en"}]})
    assert reply["ErrorCode"] == 0, reply
    for _ in range(2):
        ri, meta = detail(c, ROOM)
    assert meta == {"topic": "music", "lang": "en"}
    assert ri["RoomId"] == ROOM and ri["RoomName"] == "Mia's evening show"
    assert ri["RoomType"] == "Live" and ri["Owner_Account"] == ANCHOR
    assert ri["CoverURL"] == "https://cdn.example.com/covers/mia.png"
    assert ri["SeatTemplate"] == "VideoDynamicGrid9Seats"
    assert ri["IsSeatEnabled"] is True and ri["MaxSeatCount"] == 9
    assert ri["TakeSeatMode"] == "ApplyToTake"
    assert ri["KeepOwnerOnSeat"] is False and ri["IsUnlimitedRoomEnabled"] is True
    assert ri["MaxMemberCount"] > 0
    assert ri["IsMessageDisabled"] is False and ri["IsLikeEnabled"] is True and ri["IsPublicVisible"] is True
    assert ri["CreateTime"] > 1e9 and t0 - 2 <= ri["CreateTime"] <= time.time() + 2
    assert ri["ActivityStatus"] != 2, "ActivityStatus 2 means 'live ended' in the console"
    assert isinstance(ri["CustomInfo"], str)
    assert isinstance(ri.get("OnlineCount", ri.get("MemberCount")), int)

    # OBS: the robot account is imported, then its profile shown
    reply = c.call("account_import", {"UserID": ROBOT, "Nick": "OBS Robot live_obs_anchor_mia", "FaceUrl": ""})
    assert reply["ErrorCode"] in (0,), reply
    reply = c.call("portrait_get", {"To_Account": [ROBOT], "TagList": ["Tag_Profile_IM_Nick", "Tag_Profile_IM_Image"]})
    assert reply["ErrorCode"] == 0, reply
    [item] = user_profile_items(reply)
    prof = {p["Tag"]: p["Value"] for p in item["ProfileItem"]}
    assert prof == {"Tag_Profile_IM_Nick": "OBS Robot live_obs_anchor_mia", "Tag_Profile_IM_Image": ""}
    # importing it again (the console does on every OBS check) is fine
    assert c.call("account_import", {"UserID": ROBOT, "Nick": "OBS Robot live_obs_anchor_mia", "FaceUrl": ""})["ErrorCode"] in (0, 70102)

    # Detail dialog: statistic
    reply = c.call("get_room_statistic", {"RoomId": ROOM})
    assert reply["ErrorCode"] == 0, reply
    for k in ["TotalViewers", "TotalLikesReceived", "TotalGiftsSent", "TotalGiftCoins",
              "TotalUniqueGiftSenders", "TotalMsgCount"]:
        assert isinstance(reply["Response"][k], int), (k, reply)

    # List refresh: the new room with the fields the list reads
    [entry] = console_list(c)
    assert entry["RoomId"] == ROOM and entry["RoomName"] == "Mia's evening show"
    assert entry["Owner_Account"] == ANCHOR and entry["CoverURL"] == "https://cdn.example.com/covers/mia.png"
    assert entry["CreateTime"] > 1e9 and isinstance(entry["Category"], list)
    assert isinstance(entry["ActivityStatus"], int) and isinstance(entry["ViewCount"], int)

    # Repeating "create" for the same anchor: 100010 (same owner)
    assert_error(c.call("create_room", create), 100010)

    # Edit live: update_room_info ∥ set_room_metadata ∥ del_room_metadata
    replies = fire_together(c, [
        ("update_room_info", {"RoomInfo": {"RoomId": ROOM, "IsUnlimitedRoomEnabled": True,
                                           "RoomName": "Mia's late show",
                                           "CoverURL": "https://cdn.example.com/covers/mia-late.png"}}),
        ("set_room_metadata", {"RoomId": ROOM, "Metadata": [{"Key": "topic", "Value": "jazz"},
                                                            {"Key": "mood", "Value": "calm"}]}),
        ("del_room_metadata", {"RoomId": ROOM, "Keys": ["lang"]}),
    ])
    assert [r["ErrorCode"] for r in replies] == [0, 0, 0], replies
    ri, meta = detail(c, ROOM)
    assert ri["RoomName"] == "Mia's late show"
    assert ri["CoverURL"] == "https://cdn.example.com/covers/mia-late.png"
    assert meta == {"topic": "jazz", "mood": "calm"}

    # Edit with the title cleared: RoomName "" (dialog sends the trimmed title), no cover
    replies = fire_together(c, [
        ("update_room_info", {"RoomInfo": {"RoomId": ROOM, "IsUnlimitedRoomEnabled": True, "RoomName": ""}}),
        ("set_room_metadata", {"RoomId": ROOM, "Metadata": [{"Key": "topic", "Value": "jazz"}]}),
        ("del_room_metadata", {"RoomId": ROOM, "Keys": ["mood"]}),
    ])
    assert [r["ErrorCode"] for r in replies] == [0, 0, 0], replies
    ri, meta = detail(c, ROOM)
    assert ri["RoomName"] == ROOM
    assert ri["CoverURL"] == "https://cdn.example.com/covers/mia-late.png"
    assert meta == {"topic": "jazz"}

    # Live Monitor: Count 8, portrait_get of the owners of the page
    monitor = console_list(c, 8)
    assert [e["RoomId"] for e in monitor] == [ROOM]
    reply = c.call("portrait_get", {"To_Account": [e["Owner_Account"] for e in monitor],
                                    "TagList": ["Tag_Profile_IM_Nick", "Tag_Profile_IM_Image"]})
    assert reply["ErrorCode"] == 0 and user_profile_items(reply)[0]["To_Account"] == ANCHOR, reply

    # Live control: mute all (checked wrapper: Response may be absent, that is fine)
    reply = c.call("update_room_info", {"RoomInfo": {"RoomId": ROOM, "IsMessageDisabled": True,
                                                     "IsUnlimitedRoomEnabled": True}})
    assert reply["ErrorCode"] == 0, reply
    assert c.call("get_room_info", {"RoomId": ROOM})["Response"]["RoomInfo"]["IsMessageDisabled"] is True
    reply = c.call("update_room_info", {"RoomInfo": {"RoomId": ROOM, "IsMessageDisabled": False,
                                                     "IsUnlimitedRoomEnabled": True}})
    assert reply["ErrorCode"] == 0, reply
    assert c.call("get_room_info", {"RoomId": ROOM})["Response"]["RoomInfo"]["IsMessageDisabled"] is False

    # Dissolve → destroy_room → list refresh
    reply = c.call("destroy_room", {"RoomId": ROOM})
    assert reply["ErrorCode"] == 0, reply
    assert console_list(c) == []
    # the monitor drops the room on 100004 from get_room_info
    assert_error(c.call("get_room_info", {"RoomId": ROOM}), 100004)
    reply = c.call("get_room_metadata", {"RoomId": ROOM, "Keys": []})
    assert reply["ErrorCode"] == 100004, reply


@pytest.mark.parametrize("template,extra,seats,emitted", [
    ("VideoDynamicGrid9Seats", {}, 9, "VideoDynamicGrid9Seats"),
    ("VideoDynamicFloat7Seats", {}, 7, "VideoDynamicFloat7Seats"),
    ("VideoFixedGrid9Seats", {}, 9, "VideoFixedGrid9Seats"),
    ("VideoFixedFloat7Seats", {}, 7, "VideoFixedFloat7Seats"),
    ("VideoLandscape4Seat", {}, 4, "VideoLandscape4Seats"),
    ("AudioSalon", {"MaxSeatCount": 8}, 8, "AudioSalon"),
    ("Karaoke", {"MaxSeatCount": 8}, 8, "Karaoke"),
])
def test_console_create_form_templates(module_server, template, extra, seats, emitted):
    """Every template the create form can send; no IsSeatEnabled, no OBS, no title/cover."""
    c = module_server.client()
    anchor = f"a_{template.lower()}"[:32]
    c.import_account(anchor)
    info = {"RoomId": f"live_{anchor}", "RoomType": "Live", "SeatTemplate": template,
            "Owner_Account": anchor, "IsUnlimitedRoomEnabled": True, "TakeSeatMode": "ApplyToTake", **extra}
    reply = c.call("create_room", json.dumps({"RoomInfo": info}))
    assert reply["ErrorCode"] == 0, reply
    ri = c.call("get_room_info", {"RoomId": info["RoomId"]})["Response"]["RoomInfo"]
    assert ri["RoomType"] == "Live"
    assert ri["IsSeatEnabled"] is True and ri["MaxSeatCount"] == seats and ri["SeatTemplate"] == emitted
    assert ri["RoomName"] == info["RoomId"], "no title → RoomName defaults to RoomId"


def test_console_owner_must_exist_without_auto_import(module_server):
    c = module_server.client()
    body = {"RoomInfo": {"RoomId": "live_nobody_x", "RoomType": "Live", "SeatTemplate": "VideoDynamicGrid9Seats",
                         "Owner_Account": "nobody_x", "IsUnlimitedRoomEnabled": True, "TakeSeatMode": "ApplyToTake"}}
    assert_error(c.call("create_room", body), 70107)
    # the same body on the auto-import app works
    c2 = module_server.client(sdkappid=APP2)
    assert c2.call("create_room", body)["ErrorCode"] == 0
    assert c2.call("get_room_info", {"RoomId": "live_nobody_x"})["Response"]["RoomInfo"]["Owner_Account"] == "nobody_x"
