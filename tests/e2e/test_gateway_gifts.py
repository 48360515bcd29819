"""Sending gifts over the client gateway (docs/client-protocol.md get_gift_list, send_gift; event
Gift): the checks, the price, the room statistics (get_room_statistic, the dismiss reply, the
destroy callback), the order with the room's other events, and a retried send (same Random)
counted once."""

import json
import time

import pytest

from conftest import uid
from gateway_client import gw, gw_server  # noqa: F401 (fixtures)


def add_gift(rest, coins=10, **fields):
    gift_id = uid("g")
    body = {"GiftId": gift_id, "DefaultName": "Rose", "DefaultDesc": "red", "Coins": coins,
            "IconUrl": "https://cdn/rose.png", "ResourceUrl": "https://cdn/rose.svga", "Level": 2}
    body.update(fields)
    rest.ok("add_gift", body)
    return gift_id


def stats(rest, rid):
    return rest.ok("get_room_statistic", {"RoomId": rid})


def test_a_gift_is_priced_counted_and_seen_by_every_member(gw):
    rose = add_gift(gw.rest, coins=10)
    gw.rest.ok("set_gift_language", {"GiftId": rose, "Language": "zh-Hans", "Name": "玫瑰"})
    rid, owner = gw.room()
    host = gw.member(rid, owner)
    alice = gw.member(rid)
    bob = gw.member(rid)

    sent = alice.ok("send_gift", RoomId=rid, GiftId=rose, Count=3)
    assert sent == {"GiftId": rose, "Count": 3, "Coins": 30, "Receivers": [owner],
                    "Repeated": False}
    for conn in (host, alice, bob):
        g = conn.expect_event("Gift")["data"]
        assert g["From_Account"] == alice.user and g["Receivers"] == [owner]
        assert (g["GiftId"], g["Count"], g["Coins"], g["TotalGiftCoins"]) == (rose, 3, 30, 30)
        assert g["Gift"]["Name"] == "Rose" and g["Gift"]["Coins"] == 10
        assert g["Gift"]["IconUrl"] == "https://cdn/rose.png"
        assert g["Gift"]["ResourceUrl"] == "https://cdn/rose.svga"
        assert g["Gift"]["LanguageList"] == [{"Language": "zh-Hans", "Name": "玫瑰", "Desc": ""}]

    # two receivers: each gets Count gifts, the sender pays for both
    sent = bob.ok("send_gift", RoomId=rid, GiftId=rose, Receivers=[alice.user, owner])
    assert (sent["Coins"], sent["Receivers"]) == (20, [alice.user, owner])
    alice.ok("send_gift", RoomId=rid, GiftId=rose)  # alice again: still two senders
    s = stats(gw.rest, rid)
    assert (s["TotalGiftsSent"], s["TotalGiftCoins"], s["TotalUniqueGiftSenders"]) == (6, 60, 2)

    # the owner dismisses: the reply and the room's end carry the totals
    dismissed = host.ok("dismiss", RoomId=rid)["Statistic"]
    assert (dismissed["TotalGiftsSent"], dismissed["TotalGiftCoins"],
            dismissed["TotalUniqueGiftSenders"]) == (6, 60, 2)
    end = bob.expect_event("RoomDismissed")["data"]["Statistic"]
    assert end["TotalGiftCoins"] == 60


def test_gifts_keep_their_place_among_the_rooms_events(gw):
    rose = add_gift(gw.rest)
    rid, owner = gw.room()
    gw.member(rid, owner)
    alice = gw.member(rid)
    watcher = gw.member(rid)
    alice.ok("send_text", RoomId=rid, Text="one")
    alice.ok("send_gift", RoomId=rid, GiftId=rose)
    alice.ok("send_text", RoomId=rid, Text="two")
    alice.ok("send_gift", RoomId=rid, GiftId=rose, Count=2)
    watcher.expect_event("Gift", predicate=lambda d: d["Count"] == 2)  # the last one is in
    order = []
    for e in watcher.received:
        if e.get("event") == "Message":
            order.append(("msg", e["data"]["MsgBody"][0]["MsgContent"]["Text"]))
        elif e.get("event") == "Gift":
            order.append(("gift", e["data"]["Count"]))
    assert order == [("msg", "one"), ("gift", 1), ("msg", "two"), ("gift", 2)]


@pytest.mark.parametrize("params,code,needle", [
    ({"GiftId": "nope-gift"}, -1001, "catalog"),
    ({}, -1001, "GiftId"),
    ({"GiftId": "G", "Count": 0}, -1001, "Count"),
    ({"GiftId": "G", "Count": 10000}, -1001, "Count"),
    ({"GiftId": "G", "Count": "3"}, -1001, "Count"),
    ({"GiftId": "G", "Receivers": ["stranger"]}, -1001, "stranger"),
    ({"GiftId": "G", "Receivers": [f"u{i}" for i in range(21)]}, -1001, "Receivers"),
    ({"GiftId": "G", "Receivers": [7]}, -1001, "Receivers"),
    ({"GiftId": "G", "Random": -1}, -1001, "Random"),
])
def test_bad_sends_are_refused_and_count_nothing(gw, params, code, needle):
    rose = add_gift(gw.rest)
    rid, owner = gw.room()
    alice = gw.member(rid)
    params = {k: (rose if v == "G" else v) for k, v in params.items()}
    reply = alice.fail("send_gift", code, RoomId=rid, **params)
    assert needle in reply["message"], reply
    assert stats(gw.rest, rid)["TotalGiftsSent"] == 0
    alice.no_event("Gift", within=0.2)


def test_a_sender_must_be_in_the_room_and_gifts_enabled(gw):
    rose = add_gift(gw.rest)
    rid, owner = gw.room()
    outsider = gw.login()
    reply = outsider.fail("send_gift", -2101, RoomId=rid, GiftId=rose)
    assert rid in reply["message"]
    quiet, quiet_owner = gw.room(IsGiftEnabled=False)
    alice = gw.member(quiet)
    reply = alice.fail("send_gift", 100006, RoomId=quiet, GiftId=rose)
    assert "IsGiftEnabled" in reply["message"]
    gw.rest.ok("update_room_info", {"RoomInfo": {"RoomId": quiet, "IsGiftEnabled": True}})
    alice.ok("send_gift", RoomId=quiet, GiftId=rose)
    # a gift deleted from the catalog cannot be sent any more
    gw.rest.ok("del_gift", {"GiftId": rose})
    reply = alice.fail("send_gift", -1001, RoomId=quiet, GiftId=rose)
    assert "catalog" in reply["message"]


def test_a_retried_send_counts_once(gw):
    rose = add_gift(gw.rest, coins=7)
    rid, owner = gw.room()
    alice = gw.member(rid)
    first = alice.ok("send_gift", RoomId=rid, GiftId=rose, Count=2, Random=4242)
    again = alice.ok("send_gift", RoomId=rid, GiftId=rose, Count=2, Random=4242)
    assert first["Repeated"] is False and again["Repeated"] is True
    assert again["Coins"] == first["Coins"] == 14
    other = alice.ok("send_gift", RoomId=rid, GiftId=rose, Count=2, Random=4243)
    assert other["Repeated"] is False
    # another sender's key is its own
    bob = gw.member(rid)
    assert bob.ok("send_gift", RoomId=rid, GiftId=rose, Random=4242)["Repeated"] is False
    s = stats(gw.rest, rid)
    assert (s["TotalGiftsSent"], s["TotalGiftCoins"]) == (5, 35)
    alice.expect_event("Gift")
    alice.expect_event("Gift")
    alice.expect_event("Gift")
    alice.no_event("Gift", within=0.3)  # the repeat showed nothing


def test_the_catalog_over_the_gateway(gw):
    rose = add_gift(gw.rest, coins=3, ExtensionInfo='{"fx":"hearts"}')
    cat = uid("c")
    gw.rest.ok("add_gift_category", {"CategoryId": cat, "DefaultName": "Love"})
    gw.rest.ok("set_gift_category_language", {"CategoryId": cat, "Language": "en",
                                              "CategoryName": "Love EN"})
    gw.rest.ok("add_gift_category_relations", {"CategoryId": cat, "GiftIdList": [rose]})
    alice = gw.login()
    listing = alice.ok("get_gift_list")
    [g] = [g for g in listing["GiftList"] if g["GiftId"] == rose]
    assert (g["Name"], g["Coins"], g["ExtensionInfo"]) == ("Rose", 3, '{"fx":"hearts"}')
    [c] = [c for c in listing["CategoryList"] if c["CategoryId"] == cat]
    assert c["GiftIdList"] == [rose] and c["Name"] == "Love"
    assert c["LanguageList"] == [{"Language": "en", "Name": "Love EN", "Desc": ""}]


def test_a_storm_of_gifts_is_folded_past_the_rooms_budget(gw):
    """At most gift_events_per_second (5) Gift events a second reach the members; the rest of
    the storm comes as GiftSummary, so nothing is lost from what members can add up."""
    rose = add_gift(gw.rest, coins=3)
    rid, owner = gw.room()
    sender = gw.member(rid)
    watcher = gw.member(rid)
    for _ in range(12):
        sender.ok("send_gift", RoomId=rid, GiftId=rose, Count=2)
    gifts = watcher.collect("Gift", within=1.0)
    summaries = [e["data"] for e in watcher.drain("GiftSummary")]
    assert 1 <= len(gifts) <= 6, len(gifts)  # the burst, and what refilled meanwhile
    folded = sum(s["Sends"] for s in summaries)
    assert len(gifts) + folded == 12, (len(gifts), summaries)
    for s in summaries:
        [line] = s["GiftList"]
        assert (line["GiftId"], line["Count"], line["Coins"]) == (rose, 2 * line["Sends"],
                                                                   6 * line["Sends"])
        assert s["Coins"] == line["Coins"]
    assert summaries[-1]["TotalGiftCoins"] == 72
    assert gw.rest.ok("get_room_statistic", {"RoomId": rid})["TotalGiftCoins"] == 72


def test_in_a_storm_gifts_ride_with_the_rooms_chat(gw):
    """Once gifts are being folded, even a gift that keeps its own Gift event waits for the
    room's next broadcast and leaves in the same message: a storm adds no walk over the members
    between the room's chat. (A gift sent at once would arrive alone, right after the lane left
    with a chat message and a token was free again.)"""
    rose = add_gift(gw.rest, coins=1)
    rid, owner = gw.room()
    sender = gw.member(rid)
    chatter = gw.member(rid)
    watcher = gw.member(rid)
    for i in range(24):  # ~20 gifts a second against a budget of 5, chat every 150 ms
        sender.ok("send_gift", RoomId=rid, GiftId=rose)
        if i % 3 == 2:
            chatter.ok("send_text", RoomId=rid, Text=f"chat {i}")
        time.sleep(0.05)
    chatter.ok("send_text", RoomId=rid, Text="last")  # takes whatever the lane still holds
    watcher.expect_event("Message", predicate=lambda d: d["MsgBody"][0]["MsgContent"]
                         ["Text"] == "last")
    frames = [[json.loads(line).get("event") for line in frame.split("\n") if line]
              for frame in watcher.frames]
    first_summary = next(i for i, names in enumerate(frames) if "GiftSummary" in names)
    assert sum(names.count("Gift") for names in frames) + sum(
        e["data"]["Sends"] for e in watcher.events("GiftSummary")) == 24
    alone = [names for names in frames[first_summary + 1:]
             if "Gift" in names and "Message" not in names]
    assert not alone, (alone, frames)
