"""Webhook delivery end to end (docs/webhooks.md, spec §5): a real HTTP receiver (webhook_sink)
gets liveroomd's callbacks; every event type and field, the query parameters and signatures,
event ids and per-room sequence numbers, subscriptions, several URLs, per-room order under
concurrency and failures, at-least-once across kill -9, max age, dead letters and their replay
(REST and CLI).

Waits poll with deadlines (retry backoff is 1 s, 2 s, 4 s … with full jitter); nothing asserts
on speed."""

import random
import threading
import time

import pytest
import requests

from conftest import ADMIN, ADMIN2, APP1, APP2, assert_error, uid
from webhook_sink import (ALL_COMMANDS, CREATE, DEL_META, DESTROY, EVENT_ID_RE, HEX64_RE, SET_META,
                          UPDATE, WebhookSink, check_room_order, group_by_room, hmac_signature,
                          make_cert, tencent_sign, verify_hmac, verify_tencent_sign)
from webhook_sink import hook_server_factory, sink, sink_factory  # noqa: F401 (fixtures)

GET_DL = "liveroom_webhooks/get_dead_letters"
REPLAY = "liveroom_webhooks/replay_dead_letters"
WAIT = 20.0

CREATE_INFO_KEYS = ["RoomId", "RoomName", "RoomType", "Owner_Account", "MaxMemberCount",
                    "IsMessageDisabled", "CustomInfo", "IsSeatEnabled", "TakeSeatMode",
                    "MaxSeatCount", "CreateTime", "IsPublicVisible", "CoverURL", "Category"]
DESTROY_INFO_KEYS = CREATE_INFO_KEYS + ["ActivityStatus", "ViewCount", "BackgroundURL",
                                        "IsUnlimitedRoomEnabled"]
STAT_KEYS = ["TotalViewers", "TotalGiftsSent", "TotalGiftCoins", "TotalUniqueGiftSenders",
             "TotalLikesReceived"]
VOLATILE = ("MemberCount", "OnlineCount")

FULL_ROOM = dict(Owner_Account="anchor_1", RoomName="Evening show", SeatTemplate="AudioSalon",
                 MaxSeatCount=12, TakeSeatMode="ApplyToTake", MaxMemberCount=321,
                 IsMessageDisabled=True, IsPublicVisible=False, CoverURL="https://c/x.png",
                 BackgroundURL="https://b/y.png", Notice="notice", CustomInfo='{"k":"v"}',
                 Category=[1, 2, 3], ActivityStatus=7, IsUnlimitedRoomEnabled=True)


def start(hook_server_factory, sink, app1=None, app2=None, path="/hook", commands=None):
    """A server whose APP1 sends every (or `commands`) event to sink.url(path) (TOML)."""
    cb = {"url": sink.url(path)}
    if commands is not None:
        cb["commands"] = commands
    app1 = dict(app1 or {})
    app1["callbacks"] = [cb] + list(app1.get("callbacks", []))
    return hook_server_factory(app1=app1, app2=app2, sinks=[sink])


def check_common(rec, command, sdkappid=APP1, token=None, client_ip="127.0.0.1"):
    """Everything the doc says about one delivery, independent of the event type."""
    now = time.time()
    assert rec.method == "POST", rec
    q = rec.query
    for k in ("SdkAppid", "CallbackCommand", "contenttype", "ClientIP", "OptPlatform"):
        assert k in q, f"query lacks {k}: {rec.raw_query}"
        assert len(rec.query_multi[k]) == 1, f"{k} repeated: {rec.raw_query}"
    assert q["SdkAppid"] == str(sdkappid), rec.raw_query
    assert q["CallbackCommand"] == command, rec.raw_query
    assert q["contenttype"] == "json", rec.raw_query
    assert q["ClientIP"] == client_ip, rec.raw_query
    assert q["OptPlatform"] == "RESTAPI", rec.raw_query
    assert (rec.headers.get("content-type") or "").split(";")[0].strip() == "application/json", rec.headers
    assert isinstance(rec.json, dict), rec.body
    assert rec.json.get("CallbackCommand") == command, rec.json
    et = rec.json.get("EventTime")
    assert isinstance(et, int) and not isinstance(et, bool), rec.json
    assert abs(et - rec.wall * 1000) < 60_000, f"EventTime {et} is not ms near now ({rec.wall})"
    assert EVENT_ID_RE.match(rec.event_id or ""), f"X-Liveroom-Event-Id: {rec.headers}"
    seq = rec.headers.get("x-liveroom-room-seq", "")
    assert seq.isdigit() and int(seq) >= 1, f"X-Liveroom-Room-Seq: {rec.headers}"
    ts = rec.headers.get("x-liveroom-timestamp", "")
    assert ts.isdigit() and abs(int(ts) - rec.wall) <= 60, f"X-Liveroom-Timestamp: {rec.headers}"
    if token is None:
        assert "Sign" not in q and "RequestTime" not in q, rec.raw_query
        assert "x-liveroom-signature" not in rec.headers, rec.headers
    else:
        assert HEX64_RE.match(q.get("Sign", "")), rec.raw_query
        assert q.get("RequestTime", "").isdigit(), rec.raw_query
        assert abs(int(q["RequestTime"]) - now) <= 60, rec.raw_query
        assert verify_tencent_sign(token, q), f"Sign does not verify with {token!r}: {rec.raw_query}"
        assert verify_hmac(token, rec.headers, rec.body), (
            f"X-Liveroom-Signature does not verify with {token!r}: {rec.headers}")


def info_matches(event_info, actual, keys=None):
    """Every key of get_room_info (or `keys`) is in the event's RoomInfo with the same value."""
    keys = keys or [k for k in actual if k not in VOLATILE]
    missing = [k for k in keys if k not in event_info]
    assert not missing, f"RoomInfo lacks {missing}: {event_info}"
    diff = {k: (event_info[k], actual[k]) for k in keys if event_info[k] != actual[k]}
    assert not diff, f"RoomInfo differs from get_room_info (event, actual): {diff}"


# --------------------------------------------------------------------------------------------
# Receiver helpers themselves

def test_sign_helper_matches_spec_example():
    assert tencent_sign("xxxxyyyy", 1669872112) == \
        "17773bc39a671d7b9aa835458704d2a6db81360a5940292b587d6d760d484061"
    assert verify_tencent_sign("xxxxyyyy", {"Sign": tencent_sign("xxxxyyyy", 1669872112),
                                            "RequestTime": "1669872112"}, now=1669872130)
    assert not verify_tencent_sign("xxxxyyyy", {"Sign": tencent_sign("xxxxyyyy", 1669872112),
                                                "RequestTime": "1669872112"}, now=1669872300)
    body = b'{"a":1}'
    headers = {"X-Liveroom-Timestamp": "1700000000",
               "X-Liveroom-Signature": hmac_signature("tok", 1700000000, body)}
    assert verify_hmac("tok", headers, body, now=1700000001)
    assert not verify_hmac("tok", headers, b'{"a":2}', now=1700000001)
    assert not verify_hmac("other", headers, body, now=1700000001)


# --------------------------------------------------------------------------------------------
# Every event type, every field

def test_create_room_event(hook_server_factory, sink):
    srv = start(hook_server_factory, sink)
    srv.import_account("anchor_1")
    room = uid("wh")
    t0 = time.time()
    srv.must_create(room, **FULL_ROOM)
    t1 = time.time()
    [rec] = sink.wait_delivered(1, room=room)
    check_common(rec, CREATE)
    body = rec.json
    assert body["Operator_Account"] == ADMIN, body
    assert t0 * 1000 - 1500 <= body["EventTime"] <= t1 * 1000 + 1500, (t0, body["EventTime"], t1)
    assert rec.room_seq == 1, rec.headers
    info_matches(body["RoomInfo"], srv.room_info(room), CREATE_INFO_KEYS)
    assert body["RoomInfo"]["RoomId"] == room and body["RoomInfo"]["Owner_Account"] == "anchor_1"
    assert body["RoomInfo"]["MaxMemberCount"] == 321 and body["RoomInfo"]["Category"] == [1, 2, 3]
    sink.assert_none(lambda r: r.index != rec.index, within=0.5, what="more than one delivery")


def test_create_event_for_plain_room(hook_server_factory, sink):
    srv = start(hook_server_factory, sink)
    room = uid("wh")
    srv.must_create(room)
    [rec] = sink.wait_delivered(1, room=room)
    check_common(rec, CREATE)
    ev, actual = rec.json["RoomInfo"], srv.room_info(room)
    # Tencent's callbacks show TakeSeatMode "None" for a room without seats (spec §5.2).
    assert ev["TakeSeatMode"] in ("None", actual["TakeSeatMode"]), (ev, actual)
    info_matches(ev, actual, [k for k in CREATE_INFO_KEYS if k != "TakeSeatMode"])
    assert ev["RoomName"] == room and ev["Owner_Account"] == ADMIN and ev["RoomType"] == "Live"


def test_update_room_info_events(hook_server_factory, sink):
    srv = start(hook_server_factory, sink)
    room = uid("wh")
    srv.must_create(room, Notice="before")
    a2 = srv.client(identifier=ADMIN2)
    t0 = time.time()
    assert a2.update(room, Notice="after", RoomName="renamed", Category=[5])["ErrorCode"] == 0
    t1 = time.time()
    info = srv.room_info(room)
    recs = sink.wait_delivered(2, room=room)
    assert [r.command for r in recs] == [CREATE, UPDATE], recs
    rec = recs[1]
    check_common(rec, UPDATE)
    body = rec.json
    assert body["Operator_Account"] == ADMIN2, body
    assert body["RoomId"] == room, body
    assert t0 * 1000 - 1500 <= body["EventTime"] <= t1 * 1000 + 1500
    info_matches(body["RoomInfo"], info)
    assert body["RoomInfo"]["Notice"] == "after" and body["RoomInfo"]["RoomName"] == "renamed"
    assert rec.room_seq == 2
    # An update that changes nothing sends nothing: the next event of the room is seq 3, and
    # (per-room order) nothing can come between.
    assert srv.update(room, Notice="after", RoomName="renamed", Category=[5])["ErrorCode"] == 0
    assert srv.update(room, Notice="after")["ErrorCode"] == 0
    srv.set_metadata(room, [("k", "v")])
    recs = sink.wait_delivered(3, room=room)
    assert [(r.command, r.room_seq) for r in recs] == [(CREATE, 1), (UPDATE, 2), (SET_META, 3)], recs
    sink.assert_none(lambda r: r.room_id == room and r.command == UPDATE and r.event_id != rec.event_id,
                     within=0.5, what="update without change sent an event")


def test_metadata_events(hook_server_factory, sink):
    srv = start(hook_server_factory, sink)
    room = uid("wh")
    srv.must_create(room)
    assert srv.set_metadata(room, [("a", "1"), ("b", "2")])["ErrorCode"] == 0          # seq 2
    assert srv.set_metadata(room, [("a", "1")])["ErrorCode"] == 0                     # no change
    assert srv.set_metadata(room, [("a", "1"), ("b", "3")])["ErrorCode"] == 0          # seq 3
    assert srv.call("del_room_metadata", {"RoomId": room, "Keys": ["zz"]})["ErrorCode"] == 0  # nothing removed
    a2 = srv.client(identifier=ADMIN2)
    assert a2.call("del_room_metadata", {"RoomId": room, "Keys": ["b", "zz"]})["ErrorCode"] == 0  # seq 4
    assert srv.metadata(room) == [("a", "1")]
    assert srv.update(room, Notice="end")["ErrorCode"] == 0                            # seq 5
    recs = sink.wait_delivered(5, room=room)
    assert [(r.command, r.room_seq) for r in recs] == [
        (CREATE, 1), (SET_META, 2), (SET_META, 3), (DEL_META, 4), (UPDATE, 5)], recs
    for r in recs:
        check_common(r, r.command)
    s1, s2, d = recs[1].json, recs[2].json, recs[3].json
    assert s1["RoomId"] == room and s1["Operator_Account"] == ADMIN, s1
    assert s1["Metadata"] == [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}], s1
    assert s2["Metadata"] == [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "3"}], s2
    assert d["RoomId"] == room and d["Operator_Account"] == ADMIN2, d
    assert d["Keys"] == ["b", "zz"], d
    sink.assert_none(lambda r: r.room_id == room and r.room_seq not in (1, 2, 3, 4, 5),
                     within=0.5, what="metadata call without change sent an event")


def test_destroy_room_event(hook_server_factory, sink):
    srv = start(hook_server_factory, sink)
    srv.import_account("anchor_1")
    room = uid("wh")
    srv.must_create(room, **FULL_ROOM)
    info = srv.room_info(room)
    a2 = srv.client(identifier=ADMIN2)
    t0 = time.time()
    reply = a2.call("destroy_room", {"RoomId": room})
    t1 = time.time()
    assert reply["ErrorCode"] == 0, reply
    recs = sink.wait_delivered(2, room=room)
    assert [(r.command, r.room_seq) for r in recs] == [(CREATE, 1), (DESTROY, 2)], recs
    rec = recs[1]
    check_common(rec, DESTROY)
    body = rec.json
    assert body["Operator_Account"] == ADMIN2, body
    assert body["RoomId"] == room, body
    assert body["EventType"] == "DestroyByUser", body
    assert t0 * 1000 - 1500 <= body["EventTime"] <= t1 * 1000 + 1500
    info_matches(body["RoomInfo"], info, DESTROY_INFO_KEYS)
    stat = body["Statistic"]
    assert set(STAT_KEYS) <= set(stat), stat
    assert all(isinstance(stat[k], int) for k in STAT_KEYS), stat
    reply_stat = reply.get("Response", {}).get("Statistic")
    if reply_stat is not None:
        assert {k: stat[k] for k in STAT_KEYS} == {k: reply_stat[k] for k in STAT_KEYS}, (stat, reply_stat)


def test_failed_calls_send_nothing(hook_server_factory, sink):
    srv = start(hook_server_factory, sink)
    room = uid("wh")
    srv.must_create(room)
    assert_error(srv.create_room(room), 100010)                        # exists, same owner
    assert srv.update(uid("ghost"), Notice="x")["ErrorCode"] == 100004
    assert srv.call("destroy_room", {"RoomId": uid("ghost")})["ErrorCode"] == 100004
    assert srv.set_metadata(room, [("k", "v" * 3000)])["ErrorCode"] == 100002
    assert srv.as_user("mallory").update(room, Notice="x")["ErrorCode"] == 60010
    assert srv.update(room, Notice="real")["ErrorCode"] == 0
    recs = sink.wait_delivered(2)
    assert [(r.room_id, r.command, r.room_seq) for r in recs] == [(room, CREATE, 1), (room, UPDATE, 2)]
    sink.assert_none(lambda r: r.event_id not in {x.event_id for x in recs}, within=0.5,
                     what="a failed call sent an event")


# --------------------------------------------------------------------------------------------
# Signing

def test_token_sign_and_hmac(hook_server_factory, sink):
    srv = start(hook_server_factory, sink,
                app1={"callback_token": "toml-token", "callback_token_enabled": True})
    room = uid("wh")
    srv.must_create(room, RoomName="直播间 ✓ \"quoted\"")
    [rec] = sink.wait_delivered(1, room=room)
    check_common(rec, CREATE, token="toml-token")
    assert rec.json["RoomInfo"]["RoomName"] == "直播间 ✓ \"quoted\"", rec.body
    # a receiver's checks really bind the signature to the body and the token
    assert not verify_hmac("toml-token", rec.headers, rec.body + b" ")
    assert not verify_hmac("other", rec.headers, rec.body)
    assert not verify_tencent_sign("other", rec.query)

    # The API's token takes over from the TOML one.
    srv.ok("live_config/set_callback_token", {"Token": "api-token-Ω", "IsTokenEnable": True})
    assert srv.update(room, Notice="1")["ErrorCode"] == 0
    rec = sink.wait_delivered(2, room=room)[1]
    check_common(rec, UPDATE, token="api-token-Ω")

    # Disabled: neither Sign nor RequestTime.
    srv.ok("live_config/set_callback_token", {"IsTokenEnable": False})
    assert srv.update(room, Notice="2")["ErrorCode"] == 0
    rec = sink.wait_delivered(3, room=room)[2]
    assert "Sign" not in rec.query and "RequestTime" not in rec.query, rec.raw_query

    # Enabled again with a new token.
    srv.ok("live_config/set_callback_token", {"Token": "t" * 128, "IsTokenEnable": True})
    assert srv.update(room, Notice="3")["ErrorCode"] == 0
    rec = sink.wait_delivered(4, room=room)[3]
    check_common(rec, UPDATE, token="t" * 128)


def test_toml_token_disabled_means_no_sign(hook_server_factory, sink):
    srv = start(hook_server_factory, sink,
                app1={"callback_token": "toml-token", "callback_token_enabled": False})
    room = uid("wh")
    srv.must_create(room)
    [rec] = sink.wait_delivered(1, room=room)
    assert "Sign" not in rec.query and "RequestTime" not in rec.query, rec.raw_query


# --------------------------------------------------------------------------------------------
# Event ids and Room-Seq

def test_event_ids_unique_and_room_seq_per_room(hook_server_factory, sink):
    srv = start(hook_server_factory, sink, app2={"callbacks": [{"url": sink.url("/app2")}]})
    c2 = srv.client(sdkappid=APP2)
    rooms = [uid("wh") for _ in range(3)]
    for i, room in enumerate(rooms):
        srv.must_create(room)
        for j in range(i + 2):
            assert srv.update(room, Notice=f"n{j}")["ErrorCode"] == 0
    # the same RoomId in another app is another room: its own sequence
    c2.must_create(rooms[0])
    assert c2.update(rooms[0], Notice="app2")["ErrorCode"] == 0
    total = sum(1 + i + 2 for i in range(3))
    sink.wait_delivered(total, path="/hook")
    app2 = sink.wait_delivered(2, path="/app2")
    assert [(r.sdkappid, r.room_id, r.room_seq) for r in app2] == [
        (str(APP2), rooms[0], 1), (str(APP2), rooms[0], 2)], app2
    for r in app2:
        check_common(r, r.command, sdkappid=APP2)
    for i, room in enumerate(rooms):
        recs = sink.events(path="/hook", room=room)
        assert check_room_order(recs, start=1) == list(range(1, i + 4))
    ids = [r.event_id for r in sink.delivered()]
    assert len(ids) == len(set(ids)) == total + 2

    # A destroyed and re-created room continues its sequence; so does a restarted server.
    # (rooms[0] had seq 1 to 3)
    assert srv.call("destroy_room", {"RoomId": rooms[0]})["ErrorCode"] == 0   # seq 4
    srv.restart()
    srv.must_create(rooms[0])                                                  # seq 5
    srv.restart(hard=True)
    assert srv.update(rooms[0], Notice="again")["ErrorCode"] == 0            # seq 6
    recs = sink.wait_delivered(6, path="/hook", room=rooms[0])
    assert [(r.command, r.room_seq) for r in recs] == [
        (CREATE, 1), (UPDATE, 2), (UPDATE, 3), (DESTROY, 4), (CREATE, 5), (UPDATE, 6)], recs
    check_room_order(sink.events(path="/hook", room=rooms[0]), start=1, causal=False,
                     one_at_a_time=False)
    ids = [r.event_id for r in sink.delivered()]
    assert len(ids) == len(set(ids))


# --------------------------------------------------------------------------------------------
# Subscriptions

def test_only_subscribed_commands_arrive(hook_server_factory, sink):
    srv = hook_server_factory(sinks=[sink], app1={"callbacks": [
        {"url": sink.url("/all")},
        {"url": sink.url("/create"), "commands": [CREATE]},
        {"url": sink.url("/meta"), "commands": [SET_META, DEL_META]},
    ]}, app2={"callbacks": [{"url": sink.url("/app2")}]})
    c2 = srv.client(sdkappid=APP2)
    room = uid("wh")
    srv.ok("live_config/set_callback", {"Url": sink.url("/api"), "CallbackCommandList": [CREATE]})
    srv.must_create(room)                                                       # 1
    assert srv.update(room, Notice="a")["ErrorCode"] == 0                      # 2
    srv.ok("live_config/update_callback", {"CallbackCommandList": [UPDATE]})
    assert srv.update(room, Notice="b")["ErrorCode"] == 0                      # 3
    srv.set_metadata(room, [("k", "v")])                                        # 4
    srv.call("del_room_metadata", {"RoomId": room, "Keys": ["k"]})              # 5
    srv.ok("live_config/delete_callback", {})
    assert srv.update(room, Notice="c")["ErrorCode"] == 0                      # 6
    assert srv.call("destroy_room", {"RoomId": room})["ErrorCode"] == 0        # 7
    c2.must_create(room)

    everything = sink.wait_delivered(7, path="/all")
    assert [r.command for r in everything] == [CREATE, UPDATE, UPDATE, SET_META, DEL_META, UPDATE, DESTROY]
    check_room_order(sink.events(path="/all"), start=1)
    app2 = sink.wait_delivered(1, path="/app2")
    assert app2[0].sdkappid == str(APP2) and app2[0].command == CREATE

    def got(path):
        return [(r.command, r.room_seq) for r in sink.delivered(path=path)]

    sink.wait_for(lambda: len(got("/create")) >= 1 and len(got("/meta")) >= 2 and len(got("/api")) >= 2,
                  WAIT, "filtered subscriptions")
    time.sleep(1.0)  # grace: anything wrongly sent to a filtered URL would have arrived by now
    assert got("/create") == [(CREATE, 1)]
    assert got("/meta") == [(SET_META, 4), (DEL_META, 5)]
    assert got("/api") == [(CREATE, 1), (UPDATE, 3)]
    assert all(r.sdkappid == str(APP1) for p in ("/all", "/create", "/meta", "/api")
               for r in sink.events(path=p))
    assert [r.sdkappid for r in sink.events(path="/app2")] == [str(APP2)]


def test_api_subscription_empty_list_means_every_command(hook_server_factory, sink):
    srv = hook_server_factory(sinks=[sink])
    srv.ok("live_config/set_callback", {"Url": sink.url("/api"), "CallbackCommandList": []})
    room = uid("wh")
    srv.must_create(room)
    assert srv.update(room, Notice="a")["ErrorCode"] == 0
    srv.set_metadata(room, [("k", "v")])
    srv.call("del_room_metadata", {"RoomId": room, "Keys": ["k"]})
    assert srv.call("destroy_room", {"RoomId": room})["ErrorCode"] == 0
    recs = sink.wait_delivered(5, path="/api")
    assert [r.command for r in recs] == [CREATE, UPDATE, SET_META, DEL_META, DESTROY]
    for r in recs:
        check_common(r, r.command)


def test_two_urls_get_their_own_copy_with_the_same_event_id(hook_server_factory, sink):
    srv = start(hook_server_factory, sink, path="/toml")
    srv.ok("live_config/set_callback", {"Url": sink.url("/api"), "CallbackCommandList": ALL_COMMANDS})
    room = uid("wh")
    srv.must_create(room)
    assert srv.update(room, Notice="x")["ErrorCode"] == 0
    srv.set_metadata(room, [("k", "v")])
    a = sink.wait_delivered(3, path="/toml")
    b = sink.wait_delivered(3, path="/api")
    assert [(r.event_id, r.room_seq, r.command) for r in a] == [(r.event_id, r.room_seq, r.command) for r in b]
    assert [r.json for r in a] == [r.json for r in b]
    assert len({r.event_id for r in a}) == 3


def test_url_with_own_query_or_without_path(hook_server_factory, sink):
    srv = hook_server_factory(sinks=[sink], app1={"callbacks": [
        {"url": sink.url("/q?tenant=7&x=")}, {"url": sink.url("")}]})
    room = uid("wh")
    srv.must_create(room)
    [q] = sink.wait_delivered(1, path="/q")
    assert q.query.get("tenant") == "7" and q.query.get("x") == "", q.raw_query
    check_common(q, CREATE)
    [root] = sink.wait_delivered(1, path="/")
    check_common(root, CREATE)
    assert q.event_id == root.event_id


def test_failing_url_does_not_hold_up_another(hook_server_factory, sink):
    sink.behaviour = lambda rec: "500" if rec.path == "/bad" else "ok"
    srv = hook_server_factory(sinks=[sink], app1={"callbacks": [{"url": sink.url("/bad")},
                                                                {"url": sink.url("/good")}]})
    room = uid("wh")
    srv.must_create(room)
    for i in range(3):
        assert srv.update(room, Notice=str(i))["ErrorCode"] == 0
    good = sink.wait_delivered(4, path="/good")
    assert [r.room_seq for r in good] == [1, 2, 3, 4]
    bad = sink.events(path="/bad")
    assert bad and all(r.room_seq == 1 for r in bad), f"/bad got later events before seq 1 succeeded: {bad}"
    sink.behaviour = lambda rec: "ok"
    sink.wait_delivered(4, path="/bad")
    check_room_order(sink.events(path="/bad"), start=1)
    # the retries of seq 1 were the same event
    assert len({r.event_id for r in bad}) == 1 and len({r.body for r in bad}) == 1


def test_queued_events_keep_their_destination(hook_server_factory, sink):
    old_ok = threading.Event()
    sink.behaviour = lambda rec: "ok" if rec.path != "/old" or old_ok.is_set() else "500"
    srv = hook_server_factory(sinks=[sink])
    room = uid("wh")
    srv.ok("live_config/set_callback", {"Url": sink.url("/old"), "CallbackCommandList": []})
    srv.must_create(room)                                         # seq 1 -> /old (failing)
    sink.wait_for(lambda: sink.events(path="/old"), WAIT, "a first attempt on /old")
    srv.ok("live_config/set_callback", {"Url": sink.url("/new"), "CallbackCommandList": []})
    assert srv.update(room, Notice="x")["ErrorCode"] == 0        # seq 2 -> /new only
    [rec] = sink.wait_delivered(1, path="/new")
    assert rec.room_seq == 2 and rec.command == UPDATE
    old_ok.set()
    [rec] = sink.wait_delivered(1, path="/old")
    assert rec.room_seq == 1 and rec.command == CREATE
    srv.ok("live_config/delete_callback", {})
    assert srv.update(room, Notice="y")["ErrorCode"] == 0        # seq 3 -> nowhere
    sink.assert_none(lambda r: r.room_seq == 3, within=1.0, what="event sent after delete_callback")
    assert [r.room_seq for r in sink.delivered(path="/old")] == [1]
    assert [r.room_seq for r in sink.delivered(path="/new")] == [2]


def test_queued_events_keep_their_destination_across_config_change(hook_server_factory, sink):
    old_ok = threading.Event()
    sink.behaviour = lambda rec: "ok" if rec.path != "/old" or old_ok.is_set() else "500"
    srv = hook_server_factory(sinks=[sink], app1={"callbacks": [{"url": sink.url("/old")}]})
    room = uid("wh")
    srv.must_create(room)                                         # seq 1 -> /old (failing)
    sink.wait_for(lambda: sink.events(path="/old"), WAIT, "a first attempt on /old")
    srv.stop()
    srv.apps[0]["callbacks"] = [{"url": sink.url("/new")}]
    srv.start()
    assert srv.update(room, Notice="x")["ErrorCode"] == 0        # seq 2 -> /new only
    [rec] = sink.wait_delivered(1, path="/new")
    assert rec.room_seq == 2
    old_ok.set()
    [rec] = sink.wait_delivered(1, path="/old")
    assert rec.room_seq == 1 and rec.command == CREATE
    sink.assert_none(lambda r: r.path == "/old" and r.room_seq != 1, within=0.5,
                     what="an event created after the change went to the old URL")


def test_success_is_any_2xx_reply_body_not_needed(hook_server_factory, sink):
    replies = {1: ("reply", 204, b""), 2: ("reply", 202, b"accepted"), 3: ("reply", 200, b""),
               4: ("reply", 200, b"<html>not json</html>"), 5: ("reply", 200, b'{"ErrorCode":0}')}
    sink.behaviour = lambda rec: replies.get(rec.room_seq, "ok")
    srv = start(hook_server_factory, sink)
    room = uid("wh")
    srv.must_create(room)
    for i in range(4):
        assert srv.update(room, Notice=str(i))["ErrorCode"] == 0
    recs = sink.wait_delivered(5, room=room)
    assert [r.room_seq for r in recs] == [1, 2, 3, 4, 5]
    sink.assert_none(lambda r: len(sink.events(room=room)) > 5, within=1.5,
                     what="a 2xx reply was retried")


@pytest.mark.parametrize("failure", ["404", "302", "drop"])
def test_non_2xx_and_connection_errors_are_retried(hook_server_factory, sink, failure):
    seen = set()

    def behaviour(rec):
        if rec.event_id in seen:
            return "ok"
        seen.add(rec.event_id)
        return failure if failure == "drop" else int(failure)

    sink.behaviour = behaviour
    srv = start(hook_server_factory, sink)
    room = uid("wh")
    srv.must_create(room)
    assert srv.update(room, Notice="x")["ErrorCode"] == 0
    recs = sink.wait_delivered(2, room=room)
    assert [r.room_seq for r in recs] == [1, 2]
    attempts = sink.events(room=room)
    assert [(r.room_seq, r.ok) for r in attempts] == [(1, False), (1, True), (2, False), (2, True)], attempts
    assert attempts[0].body == attempts[1].body and attempts[0].event_id == attempts[1].event_id
    check_room_order(attempts, start=1)


def test_receiver_timeout_is_a_failure_and_retried(hook_server_factory, sink):
    """Doc: a 5 s timeout is a failure. The first attempt hangs for 8 s; the retry must come
    while it still hangs (5 s + the first backoff of at most 1 s < 8 s)."""
    seen = set()

    def behaviour(rec):
        if rec.event_id in seen:
            return "ok"
        seen.add(rec.event_id)
        return ("delay", 8.0)

    sink.behaviour = behaviour
    srv = start(hook_server_factory, sink)
    room = uid("to")
    srv.must_create(room)
    [rec] = sink.wait_delivered(1, room=room)
    first = sink.records[0]          # the hanging attempt (not completed yet: not in events())
    assert first.event_id == rec.event_id and first.index < rec.index
    assert first.completed is None or rec.arrived < first.completed, "retry came only after the reply"


def test_shutdown_while_receiver_hangs(hook_server_factory, sink):
    sink.behaviour = lambda rec: ("delay", 30.0)
    srv = start(hook_server_factory, sink)
    room = uid("hang")
    srv.must_create(room)
    sink.wait_for(lambda: sink.records, WAIT, "the hanging attempt")
    sink.set_mode("ok")              # from now on; the first attempt keeps hanging
    srv.restart()                    # stop() asserts exit 0 within 10 s
    [rec] = sink.wait_delivered(1, room=room)
    assert rec.room_seq == 1 and rec.command == CREATE


# --------------------------------------------------------------------------------------------
# Order under concurrency and failures

def test_per_room_order_under_concurrency(hook_server_factory, sink):
    attempts, lock = {}, threading.Lock()

    def behaviour(rec):
        # first attempt of some events fails (500 or dropped), the retry succeeds
        with lock:
            n = attempts[(rec.path, rec.event_id)] = attempts.get((rec.path, rec.event_id), 0) + 1
        seq = rec.room_seq or 0
        if n == 1 and seq % 7 == 0:
            return "500"
        if n == 1 and seq % 11 == 0:
            return "drop"
        return "ok"

    sink.behaviour = behaviour
    srv = start(hook_server_factory, sink, path="/a")
    srv.ok("live_config/set_callback", {"Url": sink.url("/b"), "CallbackCommandList": []})
    rooms = [uid("cc") for _ in range(10)]
    for r in rooms:
        srv.must_create(r)
    per_thread, errors = 6, []

    def worker(t):
        c = srv.client()
        try:
            order = rooms[:]
            random.Random(t).shuffle(order)
            for i in range(per_thread):
                for r in order:
                    reply = c.update(r, Notice=f"t{t}-{i}")
                    assert reply["ErrorCode"] == 0, reply
        except Exception as e:  # reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    per_room = 1 + 4 * per_thread
    sink.wait_delivered(per_room * len(rooms), path="/a", timeout=40)
    sink.wait_delivered(per_room * len(rooms), path="/b", timeout=40)
    groups = group_by_room(sink.events())
    for path in ("/a", "/b"):
        for r in rooms:
            assert check_room_order(groups[(path, str(APP1), r)], start=1) == list(range(1, per_room + 1))
    for r in rooms:
        a = {x.room_seq: x.event_id for x in sink.delivered(path="/a", room=r)}
        b = {x.room_seq: x.event_id for x in sink.delivered(path="/b", room=r)}
        assert a == b
        # the last event describes the room as it ended up
        last = max(sink.delivered(path="/a", room=r), key=lambda x: x.room_seq)
        info_matches(last.json["RoomInfo"], srv.room_info(r))
    ids = [x.event_id for x in sink.delivered(path="/a")]
    assert len(ids) == len(set(ids)) == per_room * len(rooms)


def test_sink_down_then_back(hook_server_factory, sink):
    srv = start(hook_server_factory, sink)
    rooms = [uid("dn") for _ in range(3)]
    for r in rooms:
        srv.must_create(r)
    sink.wait_delivered(3)
    stop = threading.Event()
    done = {r: 1 for r in rooms}
    errors = []

    def producer():
        i = 0
        try:
            while not stop.is_set():
                r = rooms[i % len(rooms)]
                assert srv.update(r, Notice=f"n{i}")["ErrorCode"] == 0
                done[r] += 1
                i += 1
                time.sleep(0.02)
        except Exception as e:
            errors.append(repr(e))

    t = threading.Thread(target=producer)
    t.start()
    time.sleep(0.3)
    sink.down_for(2.0)          # also cuts connections in use
    time.sleep(2.3)
    stop.set()
    t.join()
    assert not errors, errors
    total = sum(done.values())
    sink.wait_delivered(total, timeout=WAIT + 10)
    for r in rooms:
        seqs = check_room_order(sink.events(room=r), start=1)
        assert seqs == list(range(1, done[r] + 1))


# --------------------------------------------------------------------------------------------
# At-least-once across restarts

def test_kill9_after_ack_while_sink_down(hook_server_factory, sink):
    srv = start(hook_server_factory, sink)
    room = uid("k9")
    sink.down()
    srv.must_create(room)
    assert srv.update(room, Notice="acked")["ErrorCode"] == 0
    srv.kill9()
    srv.start()
    sink.up()
    recs = sink.wait_delivered(2, room=room)
    assert [(r.command, r.room_seq) for r in recs] == [(CREATE, 1), (UPDATE, 2)]
    assert recs[1].json["RoomInfo"]["Notice"] == "acked"
    check_common(recs[1], UPDATE)
    assert srv.update(room, Notice="later")["ErrorCode"] == 0
    recs = sink.wait_delivered(3, room=room)
    assert recs[2].room_seq == 3, recs
    check_room_order(sink.events(room=room), start=1)


def test_clean_restart_with_pending_events(hook_server_factory, sink):
    srv = start(hook_server_factory, sink)
    room = uid("rs")
    sink.down()
    srv.must_create(room)
    time.sleep(1.5)          # let the dispatcher fail and sit in its backoff
    srv.restart()            # SIGTERM must still exit 0 promptly (asserted by stop())
    sink.up()
    [rec] = sink.wait_delivered(1, room=room)
    assert rec.room_seq == 1 and rec.command == CREATE


def test_kill9_under_load_every_acked_change_arrives(hook_server_factory, sink):
    srv = start(hook_server_factory, sink)
    rooms = [uid("ld") for _ in range(4)]
    for r in rooms:
        srv.must_create(r)
    acked, lock, stop = [], threading.Lock(), threading.Event()

    def worker(t):
        c = srv.client()
        i = 0
        while not stop.is_set():
            r = rooms[(t + i) % len(rooms)]
            v = f"w{t}-{i}"
            i += 1
            try:
                reply = c.update(r, Notice=v)
            except requests.RequestException:
                return
            if reply.get("ErrorCode") == 0:
                with lock:
                    acked.append((r, v))

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.6)
    srv.kill9()
    stop.set()
    for t in threads:
        t.join()
    assert len(acked) > 10, "too few changes before the kill to mean anything"
    srv.start()

    def missing():
        have = {(r.room_id, r.json["RoomInfo"]["Notice"]) for r in sink.delivered(command=UPDATE)}
        return [a for a in acked if a not in have]

    sink.wait_for(lambda: not missing(), WAIT + 10, "every acknowledged update's event")
    # and nothing after the restart reused a Room-Seq; first arrivals stay in order
    time.sleep(0.3)
    for r in rooms:
        check_room_order(sink.events(room=r), start=1, causal=False, one_at_a_time=False)


# --------------------------------------------------------------------------------------------
# Max age, dead letters, replay

def dead_letters(c):
    resp = c.ok(GET_DL, {})
    assert isinstance(resp.get("DeadLetters"), list), resp
    return resp["DeadLetters"]


def check_dead_letter(dl, sink, path, t0):
    for k in ("Id", "EventId", "Url", "CallbackCommand", "RoomId", "RoomSeq", "CreateTime",
              "Attempts", "LastError"):
        assert k in dl, f"dead letter lacks {k}: {dl}"
    assert EVENT_ID_RE.match(dl["EventId"]), dl
    assert dl["Url"] == sink.url(path), dl
    assert isinstance(dl["RoomSeq"], int) and dl["RoomSeq"] >= 1, dl
    assert isinstance(dl["Attempts"], int) and dl["Attempts"] >= 1, dl
    assert isinstance(dl["LastError"], str) and dl["LastError"], dl
    ct = dl["CreateTime"]
    assert isinstance(ct, int), dl
    assert t0 - 5 <= ct <= time.time() + 5 or t0 * 1000 - 5000 <= ct <= time.time() * 1000 + 5000, (
        f"CreateTime {ct} is neither unix s nor ms of the event: {dl}")
    seen = [r for r in sink.events(path=path) if r.event_id == dl["EventId"]]
    assert seen, f"dead letter for an event the URL never received: {dl}"
    assert all(not r.ok for r in seen), f"dead-lettered an event that was acknowledged: {dl} {seen}"
    # Attempts counts delivery rounds; a round that fails on a pooled (kept-alive) connection is
    # re-sent once at once on a new connection, so the sink may see up to twice as many requests.
    assert dl["Attempts"] <= len(seen) <= 2 * dl["Attempts"], (
        f"Attempts {dl['Attempts']} but the sink saw {len(seen)} requests: {dl}")
    assert seen[0].room_seq == dl["RoomSeq"] and seen[0].command == dl["CallbackCommand"], (dl, seen[0])
    assert seen[0].room_id == dl["RoomId"], (dl, seen[0])


def test_max_age_dead_letters_and_replay(hook_server_factory, sink):
    stuck, flaky = uid("stuck"), uid("flaky")
    healthy = threading.Event()

    def behaviour(rec):
        if healthy.is_set():
            return "ok"
        if rec.room_id == stuck:
            return "500"
        if rec.room_id == flaky and rec.room_seq == 1:
            return "drop"
        return "ok"

    sink.behaviour = behaviour
    srv = start(hook_server_factory, sink, app1={"webhook_max_age_seconds": 2})
    t0 = time.time()
    srv.must_create(stuck)                                          # stuck 1
    assert srv.update(stuck, Notice="s")["ErrorCode"] == 0         # stuck 2
    srv.must_create(flaky)                                          # flaky 1
    assert srv.update(flaky, Notice="f")["ErrorCode"] == 0         # flaky 2

    # A dead-lettered head event does not block the room's later events.
    sink.wait_for(lambda: sink.delivered(room=flaky), WAIT, "flaky seq 2 despite seq 1 failing")
    assert [r.room_seq for r in sink.delivered(room=flaky)] == [2]

    def three():
        dls = dead_letters(srv)
        return dls if len(dls) >= 3 else None

    dls = sink.wait_for(three, WAIT, "three dead letters")
    assert sorted((d["RoomId"], d["RoomSeq"], d["CallbackCommand"]) for d in dls) == sorted([
        (stuck, 1, CREATE), (stuck, 2, UPDATE), (flaky, 1, CREATE)]), dls
    for d in dls:
        check_dead_letter(d, sink, "/hook", t0)
    assert len({d["Id"] for d in dls}) == 3 and len({d["EventId"] for d in dls}) == 3
    assert dead_letters(srv.client(sdkappid=APP2)) == []

    # Kept until replayed, across a restart.
    srv.restart()
    assert sorted(d["Id"] for d in dead_letters(srv)) == sorted(d["Id"] for d in dls)

    # Replay one by Id.
    healthy.set()
    flaky_dl = next(d for d in dls if d["RoomId"] == flaky)
    resp = srv.ok(REPLAY, {"Ids": [flaky_dl["Id"]]})
    assert resp.get("Replayed") == 1, resp
    got = sink.wait_for(lambda: [r for r in sink.delivered(room=flaky) if r.room_seq == 1], WAIT,
                        "replayed flaky seq 1")
    assert got[0].event_id == flaky_dl["EventId"] and got[0].command == CREATE
    check_common(got[0], CREATE)
    assert sorted((d["RoomId"], d["RoomSeq"]) for d in dead_letters(srv)) == [(stuck, 1), (stuck, 2)]

    # Replay everything.
    resp = srv.ok(REPLAY, {})
    assert resp.get("Replayed") == 2, resp
    recs = sink.wait_delivered(2, room=stuck)
    assert sorted(r.room_seq for r in recs) == [1, 2]
    assert {r.event_id for r in recs} == {d["EventId"] for d in dls if d["RoomId"] == stuck}
    assert dead_letters(srv) == []
    # and the room goes on normally
    assert srv.update(stuck, Notice="after")["ErrorCode"] == 0
    sink.wait_for(lambda: [r for r in sink.delivered(room=stuck) if r.room_seq == 3], WAIT, "stuck seq 3")
    assert dead_letters(srv) == []


def test_cli_dead_letters_and_replay(hook_server_factory, sink):
    sink.set_mode("500")
    srv = start(hook_server_factory, sink, app1={"webhook_max_age_seconds": 2})
    a, b = uid("cli"), uid("cli")
    srv.must_create(a)
    srv.must_create(b)
    dls = sink.wait_for(lambda: (lambda d: d if len(d) >= 2 else None)(dead_letters(srv)), WAIT,
                        "two dead letters")
    da = next(d for d in dls if d["RoomId"] == a)
    db = next(d for d in dls if d["RoomId"] == b)

    p = srv.cli("dead-letters")
    assert p.returncode == 0, p.stdout + p.stderr
    for d in (da, db):
        assert d["EventId"] in p.stdout or str(d["Id"]) in p.stdout, p.stdout
        assert d["RoomId"] in p.stdout, p.stdout
    p = srv.cli("dead-letters", "--sdkappid", str(APP2))
    assert p.returncode == 0, p.stdout + p.stderr
    assert a not in p.stdout and da["EventId"] not in p.stdout, p.stdout
    p = srv.cli("dead-letters", "--sdkappid", str(APP1))
    assert p.returncode == 0 and a in p.stdout and b in p.stdout, p.stdout + p.stderr

    sink.set_mode("ok")
    p = srv.cli("replay", "--sdkappid", str(APP1), "--id", str(da["Id"]))
    assert p.returncode == 0, p.stdout + p.stderr
    [rec] = sink.wait_delivered(1, room=a)
    assert rec.event_id == da["EventId"] and rec.room_seq == 1
    assert [d["RoomId"] for d in dead_letters(srv)] == [b]
    sink.assert_none(lambda r: r.ok and r.room_id == b, within=1.0,
                     what="replayed a dead letter not asked for")

    p = srv.cli("replay")
    assert p.returncode == 0, p.stdout + p.stderr
    [rec] = sink.wait_delivered(1, room=b)
    assert rec.event_id == db["EventId"]
    assert dead_letters(srv) == []
    p = srv.cli("dead-letters")
    assert p.returncode == 0 and a not in p.stdout and b not in p.stdout, p.stdout + p.stderr


# --------------------------------------------------------------------------------------------
# HTTPS receivers

def test_https_delivery_verifies_the_certificate(hook_server_factory, tmp_path):
    """The dispatcher trusts the system CA store (OpenSSL's SSL_CERT_FILE points it at ours):
    a trusted certificate for the URL's host is delivered to; a certificate for another name,
    or one nobody trusts, is a failure (and ends as a dead letter), never a delivery."""
    trusted = make_cert(tmp_path, "trusted", "IP:127.0.0.1")
    untrusted = make_cert(tmp_path, "untrusted", "IP:127.0.0.1")
    good, rogue = WebhookSink(tls=trusted).start(), WebhookSink(tls=untrusted).start()
    try:
        srv = hook_server_factory(env={"SSL_CERT_FILE": trusted[0]}, sinks=[good, rogue], app1={
            "webhook_max_age_seconds": 2, "callbacks": [
                {"url": good.url("/ok")},
                {"url": good.url("/wrong-name", host="localhost")},
                {"url": rogue.url("/untrusted")}]})
        room = uid("tls")
        srv.must_create(room)
        [rec] = good.wait_delivered(1, path="/ok")
        check_common(rec, CREATE)
        dls = good.wait_for(lambda: (lambda d: d if len(d) >= 2 else None)(dead_letters(srv)), WAIT,
                            "two dead letters (wrong name, untrusted)")
        assert sorted(d["Url"] for d in dls) == sorted([good.url("/wrong-name", host="localhost"),
                                                        rogue.url("/untrusted")]), dls
        assert all(d["LastError"] for d in dls), dls
        assert good.events(path="/wrong-name") == [] and rogue.events() == [], (
            "a request was sent over TLS to a server whose certificate does not verify")
    finally:
        good.close()
        rogue.close()
