"""live_config (spec §2.8, docs/webhooks.md "Subscribing"): set/get/update/delete_callback and
set/get_callback_token — shapes, validation, partial updates, per-app isolation, persistence,
auth; plus the shapes of the liveroom_webhooks dead-letter calls when there is nothing to show,
and the TOML side of the configuration."""

import subprocess

import pytest

from conftest import APP2, BINARY, assert_error, free_port, render_config, require_binary
from webhook_sink import (ALL_COMMANDS, CREATE, DEL_META, DESTROY, SET_META, UPDATE,
                          webhook_apps)
from webhook_sink import hook_server_factory  # noqa: F401 (fixture)

SET = "live_config/set_callback"
GET = "live_config/get_callback"
UPD = "live_config/update_callback"
DEL = "live_config/delete_callback"
SET_TOKEN = "live_config/set_callback_token"
GET_TOKEN = "live_config/get_callback_token"
GET_DL = "liveroom_webhooks/get_dead_letters"
REPLAY = "liveroom_webhooks/replay_dead_letters"
ALL_PATHS = [SET, GET, UPD, DEL, SET_TOKEN, GET_TOKEN, GET_DL, REPLAY]

# Nothing listens there: these tests never create rooms, so nothing is ever sent.
URL_A = "http://127.0.0.1:9/hooks/a"
URL_B = "https://hooks.example.com/live?x=1"


def get_callback(c):
    resp = c.ok(GET, {})
    assert set(resp) >= {"Url", "CallbackCommandList"}, resp
    assert isinstance(resp["CallbackCommandList"], list), resp
    return resp["Url"], sorted(resp["CallbackCommandList"])


def get_token(c):
    resp = c.ok(GET_TOKEN, {})
    assert set(resp) >= {"Token", "IsTokenEnable"}, resp
    assert isinstance(resp["IsTokenEnable"], bool), resp
    return resp["Token"], resp["IsTokenEnable"]


# --------------------------------------------------------------------------------------------
# set / get / update / delete_callback

def test_get_callback_before_any_is_100302(server):
    assert_error(server.call(GET, {}), 100302)


def test_set_then_get_callback(server):
    reply = server.call(SET, {"Url": URL_A, "CallbackCommandList": [CREATE, DESTROY]})
    assert reply["ErrorCode"] == 0, reply
    assert get_callback(server) == (URL_A, sorted([CREATE, DESTROY]))


def test_set_callback_replaces(server):
    server.ok(SET, {"Url": URL_A, "CallbackCommandList": [CREATE]})
    server.ok(SET, {"Url": URL_B, "CallbackCommandList": [UPDATE, SET_META, DEL_META]})
    assert get_callback(server) == (URL_B, sorted([UPDATE, SET_META, DEL_META]))


def test_every_documented_command_accepted_and_empty_list_allowed(server):
    server.ok(SET, {"Url": URL_A, "CallbackCommandList": ALL_COMMANDS})
    assert get_callback(server) == (URL_A, sorted(ALL_COMMANDS))
    server.ok(SET, {"Url": URL_A, "CallbackCommandList": []})
    assert get_callback(server) == (URL_A, [])


def test_update_callback_changes_only_fields_sent(server):
    server.ok(SET, {"Url": URL_A, "CallbackCommandList": [CREATE]})
    server.ok(UPD, {"Url": URL_B})
    assert get_callback(server) == (URL_B, [CREATE])
    server.ok(UPD, {"CallbackCommandList": [UPDATE, DESTROY]})
    assert get_callback(server) == (URL_B, sorted([UPDATE, DESTROY]))
    server.ok(UPD, {"Url": URL_A, "CallbackCommandList": []})
    assert get_callback(server) == (URL_A, [])


def test_delete_callback(server):
    server.ok(SET, {"Url": URL_A, "CallbackCommandList": [CREATE]})
    server.ok(DEL, {})
    assert_error(server.call(GET, {}), 100302)
    # and it can be set again afterwards
    server.ok(SET, {"Url": URL_B, "CallbackCommandList": []})
    assert get_callback(server) == (URL_B, [])


BAD_URLS = [
    "ftp://hooks.example.com/x",
    "hooks.example.com/x",
    "//hooks.example.com/x",
    "",
    "http://",
    "https://",
    "http:///no-host",
    "javascript:alert(1)",
    "http://h:99999/x",          # port out of range
    "http://h:0/x",
    "http://user:pw@h/x",        # credentials: sign with a token instead
    "http://h/" + "a" * 1016,   # 1025 bytes
]


@pytest.mark.parametrize("url", BAD_URLS, ids=lambda u: u[:30] or "empty")
def test_set_callback_bad_url_is_100002_naming_url(server, url):
    assert_error(server.call(SET, {"Url": url, "CallbackCommandList": [CREATE]}), 100002, "Url")
    assert_error(server.call(GET, {}), 100302)  # nothing stored


@pytest.mark.parametrize("url", BAD_URLS[:3] + BAD_URLS[-1:], ids=lambda u: u[:30])
def test_update_callback_bad_url_is_100002_and_keeps_old(server, url):
    server.ok(SET, {"Url": URL_A, "CallbackCommandList": [CREATE]})
    assert_error(server.call(UPD, {"Url": url}), 100002, "Url")
    assert get_callback(server) == (URL_A, [CREATE])


def test_a_command_listed_twice_is_subscribed_once(server):
    server.ok(SET, {"Url": URL_A, "CallbackCommandList": [CREATE, CREATE]})
    assert get_callback(server) == (URL_A, [CREATE])


def test_url_length_limit_is_1024_bytes(server):
    url = "http://h/" + "a" * (1024 - len("http://h/"))
    assert len(url) == 1024
    server.ok(SET, {"Url": url, "CallbackCommandList": []})
    assert get_callback(server) == (url, [])
    assert_error(server.call(SET, {"Url": url + "b", "CallbackCommandList": []}), 100002, "Url")
    assert get_callback(server) == (url, [])


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/x", "https://h-1.example.com",
                                 "https://hooks.example.com/a/b?c=d&e=f", "http://[::1]:8080/v6"])
def test_good_urls_accepted(server, url):
    server.ok(SET, {"Url": url, "CallbackCommandList": []})
    assert get_callback(server) == (url, [])


def name_in_error(reply, *candidates):
    return any(c in reply["ErrorInfo"] for c in candidates)


@pytest.mark.parametrize("cmds", [["Live.CallbackNoSuchThing"], [CREATE, "live.callbackaftercreateroom"],
                                  ["Room.CallbackAfterCreateRoom"], [""]])
def test_unknown_command_is_100002(server, cmds):
    reply = server.call(SET, {"Url": URL_A, "CallbackCommandList": cmds})
    assert reply["ErrorCode"] == 100002, reply
    assert name_in_error(reply, "CallbackCommandList", cmds[-1] or "CallbackCommandList"), reply
    assert_error(server.call(GET, {}), 100302)
    server.ok(SET, {"Url": URL_A, "CallbackCommandList": [CREATE]})
    reply = server.call(UPD, {"CallbackCommandList": cmds})
    assert reply["ErrorCode"] == 100002, reply
    assert get_callback(server) == (URL_A, [CREATE])


@pytest.mark.parametrize("body,field", [
    ({"CallbackCommandList": [CREATE]}, "Url"),
    ({"Url": 5, "CallbackCommandList": [CREATE]}, "Url"),
    ({"Url": None, "CallbackCommandList": [CREATE]}, "Url"),
    ({"Url": URL_A, "CallbackCommandList": "Live.CallbackAfterCreateRoom"}, "CallbackCommandList"),
    ({"Url": URL_A, "CallbackCommandList": [1]}, "CallbackCommandList"),
])
def test_set_callback_wrong_types_100002(server, body, field):
    assert_error(server.call(SET, body), 100002, field)
    assert_error(server.call(GET, {}), 100302)


# --------------------------------------------------------------------------------------------
# set / get_callback_token

def test_get_callback_token_before_any_is_100302(server):
    assert_error(server.call(GET_TOKEN, {}), 100302)


def test_set_then_get_token(server):
    server.ok(SET_TOKEN, {"Token": "s3cret", "IsTokenEnable": True})
    assert get_token(server) == ("s3cret", True)
    server.ok(SET_TOKEN, {"Token": "other", "IsTokenEnable": False})
    assert get_token(server) == ("other", False)


@pytest.mark.parametrize("body", [{"Token": "abc"}, {"IsTokenEnable": True}, {}])
def test_first_token_needs_both_fields(server, body):
    assert_error(server.call(SET_TOKEN, body), 100002)
    assert_error(server.call(GET_TOKEN, {}), 100302)


def test_token_partial_update_after_first(server):
    server.ok(SET_TOKEN, {"Token": "first", "IsTokenEnable": True})
    server.ok(SET_TOKEN, {"IsTokenEnable": False})
    assert get_token(server) == ("first", False)
    server.ok(SET_TOKEN, {"Token": "second"})
    assert get_token(server) == ("second", False)
    server.ok(SET_TOKEN, {"IsTokenEnable": True})
    assert get_token(server) == ("second", True)


def test_token_length_1_to_128(server):
    server.ok(SET_TOKEN, {"Token": "x", "IsTokenEnable": True})
    assert get_token(server) == ("x", True)
    server.ok(SET_TOKEN, {"Token": "t" * 128})
    assert get_token(server) == ("t" * 128, True)
    assert_error(server.call(SET_TOKEN, {"Token": "u" * 129}), 100002, "Token")
    assert_error(server.call(SET_TOKEN, {"Token": "", "IsTokenEnable": True}), 100002, "Token")
    assert get_token(server) == ("t" * 128, True)


@pytest.mark.parametrize("body,field", [
    ({"Token": 123, "IsTokenEnable": True}, "Token"),
    ({"Token": "abc", "IsTokenEnable": "true"}, "IsTokenEnable"),
    ({"Token": "abc", "IsTokenEnable": 1}, "IsTokenEnable"),
])
def test_token_wrong_types_100002(server, body, field):
    # (JSON null counts as absent, as everywhere in this server, so it is not listed here.)
    assert_error(server.call(SET_TOKEN, body), 100002, field)
    assert_error(server.call(GET_TOKEN, {}), 100302)
    server.ok(SET_TOKEN, {"Token": "kept", "IsTokenEnable": True})
    assert_error(server.call(SET_TOKEN, body), 100002, field)
    assert get_token(server) == ("kept", True)


def test_token_and_callback_are_independent(server):
    server.ok(SET_TOKEN, {"Token": "tok", "IsTokenEnable": True})
    assert_error(server.call(GET, {}), 100302)
    server.ok(SET, {"Url": URL_A, "CallbackCommandList": []})
    server.ok(DEL, {})
    assert get_token(server) == ("tok", True)


# --------------------------------------------------------------------------------------------
# Per app, persistence, auth

def test_config_is_per_app(server):
    c2 = server.client(sdkappid=APP2)
    server.ok(SET, {"Url": URL_A, "CallbackCommandList": [CREATE]})
    server.ok(SET_TOKEN, {"Token": "app1", "IsTokenEnable": True})
    assert_error(c2.call(GET, {}), 100302)
    assert_error(c2.call(GET_TOKEN, {}), 100302)
    c2.ok(SET, {"Url": URL_B, "CallbackCommandList": [DESTROY]})
    c2.ok(SET_TOKEN, {"Token": "app2", "IsTokenEnable": False})
    assert get_callback(server) == (URL_A, [CREATE])
    assert get_callback(c2) == (URL_B, [DESTROY])
    assert get_token(server) == ("app1", True)
    assert get_token(c2) == ("app2", False)
    c2.ok(DEL, {})
    assert get_callback(server) == (URL_A, [CREATE])


def test_config_survives_restarts(server):
    c2 = server.client(sdkappid=APP2)
    server.ok(SET, {"Url": URL_A, "CallbackCommandList": [CREATE, SET_META]})
    server.ok(SET_TOKEN, {"Token": "persist", "IsTokenEnable": True})
    c2.ok(SET, {"Url": URL_B, "CallbackCommandList": []})
    server.restart()
    assert get_callback(server) == (URL_A, sorted([CREATE, SET_META]))
    assert get_token(server) == ("persist", True)
    assert get_callback(c2) == (URL_B, [])
    c2.ok(DEL, {})
    server.ok(SET_TOKEN, {"IsTokenEnable": False})
    server.restart(hard=True)
    assert_error(c2.call(GET, {}), 100302)
    assert get_token(server) == ("persist", False)


@pytest.mark.parametrize("path", ALL_PATHS)
def test_non_admin_is_60010(server, path):
    server.ok(SET, {"Url": URL_A, "CallbackCommandList": [CREATE]})
    body = {"Url": URL_B, "CallbackCommandList": [], "Token": "t", "IsTokenEnable": True}
    if path in (GET, DEL, GET_TOKEN, GET_DL, REPLAY):
        body = {}
    assert_error(server.as_user("mallory").call(path, body), 60010, "mallory")
    assert get_callback(server) == (URL_A, [CREATE])
    assert_error(server.call(GET_TOKEN, {}), 100302)


@pytest.mark.parametrize("path", ALL_PATHS)
def test_bad_usersig_rejected(server, path):
    reply = server.call(path, {}, usersig="garbage")
    assert 70000 <= reply["ErrorCode"] < 80000, reply


def test_second_admin_may_configure(server):
    a2 = server.client(identifier="admin2")
    a2.ok(SET, {"Url": URL_A, "CallbackCommandList": []})
    assert get_callback(server) == (URL_A, [])


# --------------------------------------------------------------------------------------------
# Dead-letter calls with nothing to show

def test_dead_letters_empty_shape(server):
    resp = server.ok(GET_DL, {})
    assert resp.get("DeadLetters") == [], resp
    resp = server.ok(REPLAY, {})
    assert resp.get("Replayed") == 0, resp
    resp = server.ok(REPLAY, {"Ids": []})
    assert resp.get("Replayed") == 0, resp


# --------------------------------------------------------------------------------------------
# TOML configuration

def test_toml_webhook_keys_accepted_and_separate_from_api(hook_server_factory):
    srv = hook_server_factory(app1={
        "callback_token": "from-toml", "callback_token_enabled": True,
        "webhook_max_age_seconds": 3600, "veto_timeout_ms": 1500, "veto_fail_open": False,
        "callbacks": [{"url": "http://127.0.0.1:9/a"},
                      {"url": "http://127.0.0.1:9/b", "commands": [CREATE, DESTROY]}]})
    # get_callback / get_callback_token show the API's subscription and token only.
    assert_error(srv.call(GET, {}), 100302)
    assert_error(srv.call(GET_TOKEN, {}), 100302)
    srv.ok(SET, {"Url": URL_A, "CallbackCommandList": [UPDATE]})
    assert get_callback(srv) == (URL_A, [UPDATE])


def run_config(tmp_path, text):
    require_binary()
    cfg = tmp_path / "hooks.toml"
    cfg.write_text(text)
    p = subprocess.Popen([str(BINARY), "serve", "--config", str(cfg)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        out, err = p.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        p.terminate()
        p.communicate()
        pytest.fail(f"liveroomd started with a bad config:\n{text}")
    return p.returncode, out + err


@pytest.mark.parametrize("app1,needle", [
    ({"callbacks": [{"url": "ftp://h/x"}]}, "url"),
    ({"callbacks": [{"url": "http://127.0.0.1:9/x", "commands": ["Live.NoSuchCallback"]}]}, "commands"),
])
def test_toml_callbacks_validated(tmp_path, app1, needle):
    """Like every other key (liveroom.example.toml): a bad value refuses start-up, naming it."""
    text = render_config(f"127.0.0.1:{free_port()}", tmp_path / "data", webhook_apps(app1))
    rc, output = run_config(tmp_path, text)
    assert rc != 0, output
    assert "callbacks" in output and needle in output, output
