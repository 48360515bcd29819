"""Per (sdkappid, command) token buckets: burst = one second's worth, continuous refill,
`[apps.rate_limits]` overrides (docs/compatibility.md §Quotas, pipeline step 'quota')."""

import time

import pytest

from conftest import APP2, assert_error, default_apps

LIST = {"Next": "", "Count": 1}


def burst(c, cmd, body, n):
    return [c.call(cmd, body)["ErrorCode"] for _ in range(n)]


@pytest.fixture
def limited(server_factory):
    """APP1: get_room_list = 2, get_room_stats = 2, everything else unlimited. APP2: unlimited."""
    return server_factory("quota", apps=default_apps(
        rate_limits1={"default": 0, "get_room_list": 2, "get_room_stats": 2}))


def test_third_rapid_call_is_60007(limited):
    c = limited.client()
    codes = burst(c, "get_room_list", LIST, 3)
    assert codes[:2] == [0, 0], codes
    reply = c.call("get_room_list", LIST)  # 4th, still within the same second
    assert codes[2] == 60007, codes
    assert_error(reply, 60007, "get_room_list", "2")


def test_other_app_and_other_command_unaffected(limited):
    c1, c2 = limited.client(), limited.client(sdkappid=APP2)
    burst(c1, "get_room_list", LIST, 3)
    assert burst(c2, "get_room_list", LIST, 10) == [0] * 10
    assert burst(c1, "get_room_info", {"RoomId": "nope"}, 10) == [100004] * 10
    assert c1.call("get_room_list", LIST)["ErrorCode"] == 60007


def test_refill(limited):
    c = limited.client()
    burst(c, "get_room_list", LIST, 3)
    assert c.call("get_room_list", LIST)["ErrorCode"] == 60007
    time.sleep(1.1)
    assert burst(c, "get_room_list", LIST, 3) == [0, 0, 60007]
    time.sleep(0.6)  # 2/s: one token back after 0.5 s
    assert burst(c, "get_room_list", LIST, 2) == [0, 60007]


def test_stats_and_statistic_share_a_bucket(limited):
    c = limited.client()
    c.must_create("quota-room")
    assert c.call("get_room_stats", {"RoomId": "quota-room"})["ErrorCode"] == 0
    assert c.call("get_room_statistic", {"RoomId": "quota-room"})["ErrorCode"] == 0
    assert c.call("get_room_statistic", {"RoomId": "quota-room"})["ErrorCode"] == 60007
    assert c.call("get_room_stats", {"RoomId": "quota-room"})["ErrorCode"] == 60007


def test_quota_checked_before_body(limited):
    c = limited.client()
    assert [c.call("get_room_list", b"")["ErrorCode"] for _ in range(2)] == [60003, 60003]
    assert_error(c.call("get_room_list", b""), 60007, "get_room_list")


def test_auth_failures_do_not_use_tokens(limited):
    c = limited.client()
    mallory = c.as_user("mallory")
    for _ in range(5):
        assert mallory.call("get_room_list", LIST)["ErrorCode"] == 60010
        assert c.call("get_room_list", LIST, usersig="garbage")["ErrorCode"] == 70003
    assert burst(c, "get_room_list", LIST, 3) == [0, 0, 60007]


def test_default_override(server_factory):
    srv = server_factory("quota-default", apps=default_apps(rate_limits2={"default": 3}))
    c2 = srv.client(sdkappid=APP2)
    codes = burst(c2, "get_room_info", {"RoomId": "nope"}, 4)
    assert codes == [100004, 100004, 100004, 60007], codes
    assert_error(c2.call("get_room_info", {"RoomId": "nope"}), 60007, "get_room_info", "3")
    # every command gets the default
    assert burst(c2, "get_room_list", LIST, 4) == [0, 0, 0, 60007]
    # app 1 (default = 0) is unlimited
    assert burst(srv.client(), "get_room_info", {"RoomId": "nope"}, 30) == [100004] * 30


def test_spec_defaults_without_section(server_factory):
    apps = default_apps()
    apps[0]["rate_limits"] = None  # no [apps.rate_limits]: spec §1.4 defaults (get_room_list 10/s)
    srv = server_factory("quota-spec", apps=apps)
    c = srv.client()
    # At 10/s a token comes back every 100 ms, which a slow pass (a cluster's round-robin on a
    # busy machine) can spend on 11 calls: the calls served before the first refusal are the
    # burst of 10 plus what refilled while they ran, no more.
    started = time.monotonic()
    replies = []
    while len(replies) < 40 and (not replies or replies[-1]["ErrorCode"] == 0):
        replies.append(c.call("get_room_list", LIST))
    elapsed = time.monotonic() - started
    codes = [r["ErrorCode"] for r in replies]
    assert codes[-1] == 60007, codes
    assert 10 <= len(codes) - 1 <= 10 + int(elapsed * 10) + 1, (codes, elapsed)
    assert_error(replies[-1], 60007, "get_room_list", "10")
    # get_room_info is 200/s: 30 rapid calls are fine
    assert burst(c, "get_room_info", {"RoomId": "nope"}, 30) == [100004] * 30


def test_per_command_zero_means_unlimited(server_factory):
    srv = server_factory("quota-zero", apps=default_apps(rate_limits1={"default": 1, "get_room_list": 0}))
    c = srv.client()
    assert burst(c, "get_room_list", LIST, 30) == [0] * 30
    assert burst(c, "get_room_info", {"RoomId": "nope"}, 2) == [100004, 60007]
