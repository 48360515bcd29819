"""Room messages over REST (spec §2.4): send_text_msg, send_custom_msg and IM's send_group_msg
with GroupId = RoomId, as the official console sends them (console-client.md §5.11)."""

import json
import time

from conftest import ADMIN, assert_error, uid

GROUP = "group_open_http_svc/send_group_msg"


def group_msg(c, body):
    """send_group_msg answers at the top level, as IM does (no Response object)."""
    reply = c.call(GROUP, body)
    assert reply["ErrorCode"] == 0, reply
    assert "Response" not in reply
    return reply


def test_msg_seq_increases_per_room_and_counts_in_the_statistics(mclient):
    c = mclient
    rid, other = uid("msg"), uid("msg")
    c.must_create(rid)
    c.must_create(other)
    now = int(time.time())
    first = c.ok("send_text_msg", {"RoomId": rid, "Sender_Account": ADMIN, "TextContent": "Welcome!",
                                   "ExtensionInfo": "{\"pin\":1}"})
    assert first["MsgSeq"] == 1 and first["MsgDropReason"] == ""
    assert now <= first["MsgTime"] <= int(time.time())
    second = c.ok("send_custom_msg", {"RoomId": rid, "Sender_Account": ADMIN,
                                      "BusinessId": "notice", "Data": "{\"t\":1}"})
    assert second["MsgSeq"] == 2
    assert c.ok("send_text_msg", {"RoomId": other, "Sender_Account": ADMIN,
                                  "TextContent": "hi"})["MsgSeq"] == 1
    assert c.ok("get_room_statistic", {"RoomId": rid})["TotalMsgCount"] == 2


def test_console_violation_alert_and_admin_chat(mclient):
    c = mclient
    rid = uid("live")
    c.must_create(rid)
    data = json.dumps({"version": "1.0", "messageSource": "live_background",
                       "messageType": "violation_alert", "content": {"violationType": "spam"}})
    c.ok("send_custom_msg", {"RoomId": rid, "Sender_Account": "administrator",
                             "BusinessId": "violation_alert", "Data": data})
    reply = group_msg(c, {"GroupId": rid, "From_Account": ADMIN, "Random": 123456,
                         "MsgPriority": "Normal",
                         "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "hello"}}]})
    # IM answers at the top level.
    assert reply["MsgSeq"] == 2 and reply["MsgTime"] > 0


def test_send_group_msg_random_deduplicates(mclient):
    """The console re-posts approved messages with a deterministic Random to avoid duplicates."""
    c = mclient
    rid = uid("live")
    c.must_create(rid)
    body = {"GroupId": rid, "From_Account": ADMIN, "Random": 42, "MsgPriority": "Normal",
            "SendMsgControl": ["NoMsgCheck"],
            "ForbidCallbackControl": ["ForbidBeforeSendMsgCallback"],
            "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "approved"}}]}
    first = group_msg(c, body)
    again = group_msg(c, body)
    assert again["MsgSeq"] == first["MsgSeq"]
    assert group_msg(c, body | {"Random": 43})["MsgSeq"] == first["MsgSeq"] + 1
    assert c.ok("get_room_statistic", {"RoomId": rid})["TotalMsgCount"] == 2


def test_message_errors(mclient):
    c = mclient
    rid = uid("msg")
    c.must_create(rid)
    assert_error(c.call("send_text_msg", {"RoomId": rid, "Sender_Account": ADMIN}), 100002, "TextContent")
    assert_error(c.call("send_text_msg", {"RoomId": rid, "TextContent": "x"}), 100002, "Sender_Account")
    assert_error(c.call("send_text_msg", {"RoomId": rid, "Sender_Account": 5, "TextContent": "x"}),
                 60015, "Sender_Account")
    assert_error(c.call("send_text_msg", {"RoomId": rid, "Sender_Account": "ghost-" + uid(),
                                          "TextContent": "x"}), 70107, "ghost")
    assert_error(c.call("send_text_msg", {"RoomId": rid, "Sender_Account": ADMIN,
                                          "TextContent": "x" * (12 * 1024 + 1)}), 100002, "TextContent")
    assert_error(c.call("send_custom_msg", {"RoomId": rid, "Data": "x"}), 100002, "BusinessId")
    assert_error(c.call("send_custom_msg", {"RoomId": rid, "BusinessId": "b"}), 100002, "Data")
    assert_error(c.call("send_custom_msg", {"RoomId": rid, "BusinessId": "b", "Data": [1]}), 100002, "Data")
    # Data typed Integer on one doc page: accepted.
    c.ok("send_custom_msg", {"RoomId": rid, "BusinessId": "b", "Data": 7})
    assert_error(c.call("send_text_msg", {"RoomId": "no-" + rid, "Sender_Account": ADMIN,
                                          "TextContent": "x"}), 100004)
    assert_error(c.call(GROUP, {"GroupId": rid, "MsgBody": []}), 100002, "MsgBody")
    assert_error(c.call(GROUP, {"GroupId": rid, "MsgBody": [{"MsgType": "TIMTextElem",
                                                              "MsgContent": {}}]}), 100002, "Text")
    assert_error(c.call(GROUP, {"GroupId": rid, "MsgBody": [{"MsgType": "Bogus",
                                                              "MsgContent": {}}]}), 100002, "MsgType")
    assert_error(c.call(GROUP, {"GroupId": rid, "Random": -1, "MsgBody": [
        {"MsgType": "TIMTextElem", "MsgContent": {"Text": "x"}}]}), 100002, "Random")


def test_msg_seq_and_count_survive_restart(server):
    c = server.client()
    rid = uid("msg")
    c.must_create(rid)
    for _ in range(3):
        c.ok("send_text_msg", {"RoomId": rid, "Sender_Account": ADMIN, "TextContent": "x"})
    server.kill9()
    server.restart()
    c = server.client()
    assert c.ok("send_text_msg", {"RoomId": rid, "Sender_Account": ADMIN,
                                  "TextContent": "x"})["MsgSeq"] == 4
    assert c.ok("get_room_statistic", {"RoomId": rid})["TotalMsgCount"] == 4
