"""Group.CallbackBeforeSendMsg on members' chat through the client gateway (spec §5.3): the app's
backend sees the message before anyone else, and its answer decides; a late or failing backend
counts as the app's veto_fail_open switch says. A real HTTP sink plays the backend and real
WebSocket clients play the members."""

import json
import time
import uuid

import websocket

from conftest import APP1, KEY1, gen_usersig
from webhook_sink import hook_server_factory, sink, sink_factory  # noqa: F401 (fixtures)

BEFORE = "Group.CallbackBeforeSendMsg"
AFTER = "Group.CallbackAfterSendMsg"


class Member:
    """A minimal gateway client: login, requests matched by id, events kept in order."""

    def __init__(self, server, user):
        self.ws = websocket.create_connection(f"ws://127.0.0.1:{server.port}/gateway", timeout=5)
        self.next_id = 0
        self.events = []
        reply = self.request("login", sdkappid=APP1, identifier=user,
                             usersig=gen_usersig(APP1, KEY1, user))
        assert reply["code"] == 0, reply

    def request(self, op, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "op": op, **params}))
        deadline = time.time() + 5
        while time.time() < deadline:
            for line in self.ws.recv().split("\n"):
                obj = json.loads(line)
                if obj.get("id") == self.next_id:
                    return obj
                self.events.append(obj)
        raise AssertionError(f"no reply to {op}")

    def close(self):
        self.ws.close()


def start(hook_server_factory, sink, **app1):
    srv = hook_server_factory(sinks=[sink], app1={"callbacks": [
        {"url": sink.url("/before"), "commands": [BEFORE]},
        {"url": sink.url("/after"), "commands": [AFTER]}], **app1})
    room = f"veto-{uuid.uuid4().hex[:8]}"
    client = srv.client()
    client.import_account("host")
    client.must_create(room, Owner_Account="host")
    return srv, client, room


def blocking_on(word):
    """The backend refuses messages containing `word` with ErrorCode 1 and allows the rest."""
    def behaviour(rec):
        if rec.path != "/before":
            return "ok"
        text = json.dumps(rec.json)
        if word in text:
            return ("reply", 200, b'{"ActionStatus":"OK","ErrorCode":1,"ErrorInfo":"no"}')
        return "ok"
    return behaviour


def test_backend_allows_and_refuses_members_messages(hook_server_factory, sink):
    srv, client, room = start(hook_server_factory, sink)
    sink.behaviour = blocking_on("forbidden")
    alice = Member(srv, "alice")
    assert alice.request("enter", RoomId=room)["code"] == 0

    ok = alice.request("send_text", RoomId=room, Text="hello")
    assert ok["code"] == 0, ok
    assert ok["data"]["MsgSeq"] == 1
    refused = alice.request("send_text", RoomId=room, Text="something forbidden")
    assert refused["code"] == 10016, refused
    assert "refused" in refused["message"]

    before = [r for r in sink.records if r.path == "/before"]
    assert [r.json["MsgBody"][0]["MsgContent"]["Text"] for r in before] == [
        "hello", "something forbidden"]
    assert before[0].json["GroupId"] == room
    assert before[0].json["From_Account"] == "alice"
    assert before[0].query["CallbackCommand"] == BEFORE
    # Only the allowed message was sent: one MsgSeq, one after-callback.
    sink.wait_for(lambda: any(r.path == "/after" for r in sink.records), what="after-callback")
    time.sleep(0.3)
    after = [r for r in sink.records if r.path == "/after"]
    assert len(after) == 1 and after[0].json["MsgBody"][0]["MsgContent"]["Text"] == "hello"
    stats = client.ok("get_room_stats", {"RoomId": room})
    assert stats.get("TotalMsgCount", stats.get("Statistic", {}).get("TotalMsgCount")) == 1
    alice.close()


def test_late_backend_follows_the_fail_open_switch(hook_server_factory, sink):
    srv, _, room = start(hook_server_factory, sink, veto_timeout_ms=200, veto_fail_open=False)
    sink.behaviour = lambda rec: ("delay", 1.0) if rec.path == "/before" else "ok"
    bob = Member(srv, "bob")
    assert bob.request("enter", RoomId=room)["code"] == 0
    started = time.time()
    late = bob.request("send_text", RoomId=room, Text="anyone?")
    assert late["code"] == 10016, late  # fail-closed: a late answer blocks
    assert time.time() - started < 0.9  # the timeout, not the backend, decided
    # The connection stayed usable while the backend was asked.
    assert bob.request("heartbeat")["code"] == 0
    bob.close()
