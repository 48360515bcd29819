"""Live.CallbackBeforeSendGift (spec §5.3): before a member's gift counts, the app's backend is
asked. ErrorCode 0 allows; anything else refuses, and codes 102100-102200 reach the sender as
they are; no answer within 2 s refuses, unless the app's non-blocking switch is on (the
gift_veto_fail_open key, or Live.CallbackBeforeCallBackNotBlock listed in a subscription). A real
HTTP receiver plays the backend; real WebSocket clients play the members."""

import time

import pytest

from conftest import APP1, KEY1, gen_usersig, uid
from gateway_client import GatewayClient
from webhook_sink import hook_server_factory, sink, sink_factory  # noqa: F401 (fixtures)

BEFORE = "Live.CallbackBeforeSendGift"
NOT_BLOCK = "Live.CallbackBeforeCallBackNotBlock"


class Room:
    """A server whose backend (the sink) vets gifts, a room owned by `host`, a 10-coin gift and
    a member `alice` in the room."""

    def __init__(self, hook_server_factory, sink, commands=(BEFORE,), **app1):
        self.srv = hook_server_factory(sinks=[sink], app1={"callbacks": [
            {"url": sink.url("/before"), "commands": list(commands)}], **app1})
        self.rest = self.srv.client()
        self.rest.import_account("host")
        self.room = uid("gv")
        self.rest.must_create(self.room, Owner_Account="host")
        self.gift = uid("g")
        self.rest.ok("add_gift", {"GiftId": self.gift, "DefaultName": "Rose", "Coins": 10})
        self.alice = self.member("alice")

    def member(self, user):
        c = GatewayClient(self.srv.port, name=user)
        assert c.login(APP1, user, gen_usersig(APP1, KEY1, user))["code"] == 0
        c.enter(self.room)
        return c

    def stats(self):
        return self.rest.ok("get_room_statistic", {"RoomId": self.room})

    def before_calls(self, sink):
        return [r for r in sink.records if r.path == "/before"]


def answering(code, info="no"):
    body = f'{{"ActionStatus":"OK","ErrorCode":{code},"ErrorInfo":"{info}"}}'.encode()
    return lambda rec: ("reply", 200, body)


def test_allowed_gift_counts_and_the_backend_sees_the_gift_water(hook_server_factory, sink):
    r = Room(hook_server_factory, sink)
    sink.behaviour = answering(0, "")
    before = int(time.time())
    sent = r.alice.ok("send_gift", RoomId=r.room, GiftId=r.gift, Count=2)
    assert sent["Coins"] == 20 and sent["Repeated"] is False
    [call] = r.before_calls(sink)
    assert call.query["CallbackCommand"] == BEFORE and call.query["SdkAppid"] == str(APP1)
    body = call.json
    assert body["CallbackCommand"] == BEFORE
    assert (body["Operator_Account"], body["RoomId"]) == ("alice", r.room)
    water = body["GiftWater"]
    assert water["From_Account"] == "alice" and water["To_Account"] == ["host"]
    assert (water["GiftId"], water["Count"], water["Coins"]) == (r.gift, 2, 20)
    assert before <= water["Time"] <= int(time.time())
    assert r.stats()["TotalGiftCoins"] == 20
    r.alice.expect_event("Gift")


def test_backend_codes_in_the_business_range_reach_the_sender(hook_server_factory, sink):
    r = Room(hook_server_factory, sink)
    sink.behaviour = answering(102150, "not enough coins")
    reply = r.alice.fail("send_gift", 102150, RoomId=r.room, GiftId=r.gift)
    assert "not enough coins" in reply["message"]
    sink.behaviour = answering(1)
    r.alice.fail("send_gift", 10016, RoomId=r.room, GiftId=r.gift)
    sink.behaviour = answering(102201)  # outside the range: a plain refusal
    r.alice.fail("send_gift", 10016, RoomId=r.room, GiftId=r.gift)
    s = r.stats()
    assert (s["TotalGiftsSent"], s["TotalGiftCoins"], s["TotalUniqueGiftSenders"]) == (0, 0, 0)
    r.alice.no_event("Gift", within=0.3)


def test_a_silent_backend_refuses_after_two_seconds(hook_server_factory, sink):
    r = Room(hook_server_factory, sink)
    sink.behaviour = lambda rec: ("delay", 3.0)
    started = time.monotonic()
    reply = r.alice.fail("send_gift", 10016, RoomId=r.room, GiftId=r.gift)
    took = time.monotonic() - started
    assert "did not answer" in reply["message"] and "2000 ms" in reply["message"]
    assert 1.9 <= took < 2.9, took
    assert r.alice.ok("heartbeat")  # the connection was not held meanwhile
    assert r.stats()["TotalGiftsSent"] == 0


@pytest.mark.parametrize("switch", ["config", "subscription"])
def test_the_non_blocking_switch_lets_gifts_through_a_silent_backend(hook_server_factory, sink,
                                                                     switch):
    if switch == "config":
        r = Room(hook_server_factory, sink, gift_veto_fail_open=True, veto_timeout_ms=300)
    else:
        r = Room(hook_server_factory, sink, commands=(BEFORE, NOT_BLOCK), veto_timeout_ms=300)
    sink.behaviour = lambda rec: ("delay", 1.0)
    sent = r.alice.ok("send_gift", RoomId=r.room, GiftId=r.gift)
    assert sent["Coins"] == 10
    assert r.stats()["TotalGiftCoins"] == 10
    # it still refuses when the backend answers no
    sink.behaviour = answering(1)
    r.alice.fail("send_gift", 10016, RoomId=r.room, GiftId=r.gift)


def test_a_retried_send_is_not_asked_again(hook_server_factory, sink):
    r = Room(hook_server_factory, sink)
    sink.behaviour = answering(0, "")
    r.alice.ok("send_gift", RoomId=r.room, GiftId=r.gift, Random=77)
    again = r.alice.ok("send_gift", RoomId=r.room, GiftId=r.gift, Random=77)
    assert again["Repeated"] is True
    assert len(r.before_calls(sink)) == 1  # the backend charged once
    assert r.stats()["TotalGiftCoins"] == 10


def test_a_refused_check_is_not_asked(hook_server_factory, sink):
    r = Room(hook_server_factory, sink)
    sink.behaviour = answering(0, "")
    r.alice.fail("send_gift", -1001, RoomId=r.room, GiftId="no-such-gift")
    assert r.before_calls(sink) == []
