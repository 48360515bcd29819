"""Request pipeline: method, path, sdkappid, UserSig, admin check, body (docs/compatibility.md),
plus the `liveroomd usersig` CLI against the shared test vectors."""

import base64
import json
import subprocess
import time
import zlib

import pytest
import requests

from conftest import (ADMIN, ADMIN2, APP1, APP2, BINARY, KEY1, KEY2, REQUEST_ID_RE, VECTORS,
                      _tencent_b64encode, assert_error, check_envelope, decode_usersig,
                      gen_usersig, hmac_b64, require_binary, signed_text, uid, verify_usersig)

@pytest.fixture(scope="module")
def c(module_server):
    return module_server.client()


# ------------------------------------------------------------------------------------------
# The suite's own signer must be right, or every other test is meaningless.

def test_python_signer_reproduces_tencent_vector():
    case = next(x for x in json.loads(VECTORS.read_text())["cases"] if x["id"] == "npm-ascii-admin")
    payload = json.loads(case["payload_json"])
    text = signed_text(case["identifier"], case["sdkappid"], case["time"], case["expire"])
    assert hmac_b64(case["key"], text) == payload["TLS.sig"]
    mine = gen_usersig(case["sdkappid"], case["key"], case["identifier"], case["expire"], now=case["time"])
    assert decode_usersig(mine) == payload
    assert verify_usersig(case["usersig"], case["sdkappid"], case["key"], case["identifier"], now=case["now"])


# ------------------------------------------------------------------------------------------

def test_healthz(module_server):
    r = requests.get(module_server.base_url + "/healthz", timeout=5)
    assert r.status_code == 200


def test_valid_admin_call(c):
    reply = c.call("get_room_list", {"Next": "", "Count": 20})
    assert reply["ErrorCode"] == 0, reply
    assert "Response" in reply


def test_second_admin_is_admin(c):
    c2 = c.as_user(ADMIN2)
    reply = c2.call("get_room_list", {"Next": "", "Count": 1})
    assert reply["ErrorCode"] == 0, reply


def test_app2_admin(c):
    c2 = c.as_user(ADMIN, sdkappid=APP2)
    assert c2.call("get_room_list", {"Next": "", "Count": 1})["ErrorCode"] == 0
    # admin2 is an administrator of APP1 only.
    assert_error(c.as_user(ADMIN2, sdkappid=APP2).call("get_room_list", {"Next": "", "Count": 1}),
                 60010, ADMIN2)


@pytest.mark.parametrize("overrides", [{"sdkappid": None}, {"sdkappid": ""}])
def test_missing_sdkappid(c, overrides):
    assert_error(c.call("get_room_list", {"Next": "", "Count": 1}, **overrides), 60012)


@pytest.mark.parametrize("value", ["abc", "1400000001x", "-1400000001", "1.5", "99999999999999999999",
                                   "1400009999", "0"])
def test_bad_or_unknown_sdkappid(c, value):
    assert_error(c.call("get_room_list", {"Next": "", "Count": 1}, sdkappid=value), 60006)


def test_empty_usersig(c):
    assert_error(c.call("get_room_list", {"Next": "", "Count": 1}, usersig=""), 70002)


def test_missing_usersig(c):
    assert_error(c.call("get_room_list", {"Next": "", "Count": 1}, usersig=None), 70002)


def _undecodable_sigs():
    good_json = json.dumps({"TLS.ver": "2.0", "TLS.identifier": ADMIN, "TLS.sdkappid": APP1,
                            "TLS.time": int(time.time()), "TLS.expire": 86400}).encode()
    return {
        "garbage": "!!!not-a-sig!!!",
        "not-zlib": _tencent_b64encode(b"hello world, this is not zlib"),
        "gzip": _tencent_b64encode(__import__("gzip").compress(b'{"TLS.ver":"2.0"}')),
        "zlib-not-json": _tencent_b64encode(zlib.compress(b"this is not json")),
        "json-array": _tencent_b64encode(zlib.compress(b"[1,2,3]")),
        "missing-sig-member": _tencent_b64encode(zlib.compress(good_json)),
        "rfc-base64url": base64.urlsafe_b64encode(zlib.compress(good_json)).decode().rstrip("="),
    }


@pytest.mark.parametrize("name", list(_undecodable_sigs()))
def test_undecodable_usersig(c, name):
    sig = _undecodable_sigs()[name]
    assert_error(c.call("get_room_list", {"Next": "", "Count": 1}, usersig=sig), 70003)


def test_expired_usersig(c):
    sig = gen_usersig(APP1, KEY1, ADMIN, expire=10, now=int(time.time()) - 1000)
    assert_error(c.call("get_room_list", {"Next": "", "Count": 1}, usersig=sig), 70001)


def test_usersig_other_key(c):
    sig = gen_usersig(APP1, KEY2, ADMIN)
    assert_error(c.call("get_room_list", {"Next": "", "Count": 1}, usersig=sig), 70009)


def test_usersig_other_identifier(c):
    sig = gen_usersig(APP1, KEY1, ADMIN2)  # valid sig, but for admin2
    assert_error(c.call("get_room_list", {"Next": "", "Count": 1}, usersig=sig), 70013)


def test_usersig_identifier_is_case_sensitive(c):
    sig = gen_usersig(APP1, KEY1, "Administrator")
    assert_error(c.call("get_room_list", {"Next": "", "Count": 1}, usersig=sig), 70013)


def test_usersig_other_sdkappid(c):
    sig = gen_usersig(APP1, KEY1, ADMIN, sig_sdkappid=APP2)
    assert_error(c.call("get_room_list", {"Next": "", "Count": 1}, usersig=sig), 70014)
    # A perfectly valid sig of app 2 presented to app 1.
    sig2 = gen_usersig(APP2, KEY2, ADMIN)
    assert_error(c.call("get_room_list", {"Next": "", "Count": 1}, usersig=sig2), 70014)


def test_missing_identifier_is_70013(c):
    assert_error(c.call("get_room_list", {"Next": "", "Count": 1}, identifier=None), 70013)


def test_valid_sig_non_admin_60010(c):
    alice = c.as_user("alice_not_admin")
    reply = alice.call("get_room_list", {"Next": "", "Count": 1})
    assert_error(reply, 60010, "alice_not_admin")
    # Also on a write: nothing is created.
    room = uid()
    assert_error(alice.create_room(room), 60010)
    assert_error(c.call("get_room_info", {"RoomId": room}), 100004)


def test_percent_encoded_usersig(c):
    # Find a sig that contains every special character of the Tencent alphabet we can get.
    for expire in range(86400, 86400 + 5000):
        sig = gen_usersig(APP1, KEY1, ADMIN, expire=expire)
        if "*" in sig:
            break
    else:
        pytest.fail("could not produce a sig with '*'")
    enc = sig.replace("*", "%2A")
    assert enc != sig
    assert c.call("get_room_list", {"Next": "", "Count": 1}, usersig=enc)["ErrorCode"] == 0
    # Fully percent-encoded (every - and _ too) works the same.
    full = enc.replace("-", "%2D").replace("_", "%5F")
    assert c.call("get_room_list", {"Next": "", "Count": 1}, usersig=full)["ErrorCode"] == 0
    # The unencoded form, as the official console sends it.
    assert c.call("get_room_list", {"Next": "", "Count": 1}, usersig=sig)["ErrorCode"] == 0


def test_query_values_percent_decoded(c):
    assert c.call("get_room_list", {"Next": "", "Count": 1}, identifier="%61dministrator")["ErrorCode"] == 0
    assert c.call("get_room_list", {"Next": "", "Count": 1}, sdkappid="%31400000001")["ErrorCode"] == 0


def test_random_and_contenttype_not_checked(c):
    assert c.call("get_room_list", {"Next": "", "Count": 1}, random=None, contenttype=None)["ErrorCode"] == 0
    assert c.call("get_room_list", {"Next": "", "Count": 1}, random="xyz", contenttype="text")["ErrorCode"] == 0


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_non_post_is_60002(c, method):
    room = uid()
    reply = c.call("create_room", {"RoomInfo": {"RoomId": room, "RoomType": "Live"}}, method=method)
    assert_error(reply, 60002)
    assert_error(c.call("get_room_info", {"RoomId": room}), 100004)


@pytest.mark.parametrize("path", ["live_engine_http_srv/no_such_command", "no_such_service/create_room",
                                  "profile/create_room", "live_engine_http_srv/create_room/extra"])
def test_unknown_path_is_60009(c, path):
    assert_error(c.call(path, {}), 60009, path)


def test_pipeline_order(c):
    body = {"Next": "", "Count": 1}
    # method before path
    assert_error(c.call("live_engine_http_srv/no_such_command", body, method="GET"), 60002)
    # path before sdkappid
    assert_error(c.call("live_engine_http_srv/no_such_command", body, sdkappid=None), 60009)
    # sdkappid before usersig
    assert_error(c.call("get_room_list", body, sdkappid=None, usersig="garbage"), 60012)
    assert_error(c.call("get_room_list", body, sdkappid="999", usersig="garbage"), 60006)
    # usersig before the admin check
    assert_error(c.as_user("mallory").call("get_room_list", body, usersig="garbage"), 70003)
    # admin check before body
    assert_error(c.as_user("mallory").call("get_room_list", b""), 60010, "mallory")
    # body before fields
    assert_error(c.call("create_room", b"{"), 60003)
    # fields: 100002 on a parseable body
    assert_error(c.call("get_room_list", {"Next": "", "Count": 0}), 100002, "Count")


@pytest.mark.parametrize("body", [b"", b"{", b'{"RoomId":', b"[]", b'[{"RoomId":"x"}]', b'"x"', b"null",
                                  b"123", b"true", b"{} {}", b'{"RoomId":"\xff\xfe"}', b"{'RoomId':'x'}"])
def test_bad_body_is_60003(c, body):
    assert_error(c.call("get_room_info", body), 60003)


def test_comments_and_trailing_commas_accepted(c):
    room = uid()
    body = ('{\n  // create a room, pasted from the docs\n  "RoomInfo": {\n'
            f'    "RoomId": "{room}", /* the id */\n    "RoomType": "Live",\n'
            '    "Category": [1, 2,],\n  },\n}\n')
    reply = c.call("create_room", body)
    assert reply["ErrorCode"] == 0, reply
    reply = c.call("get_room_info", f'{{"RoomId":"{room}",}}')
    assert reply["ErrorCode"] == 0, reply
    assert reply["Response"]["RoomInfo"]["Category"] == [1, 2]


def test_comment_markers_inside_strings_are_text(c):
    room = uid()
    body = ('{"RoomInfo":{"RoomId":"%s", // comment\n "RoomType":"Live", "CoverURL":"https://a/b//c",'
            ' "Notice":"/* not a comment */ x", /* real */ "RoomName":"a,}"}}' % room)
    assert c.call("create_room", body)["ErrorCode"] == 0
    info = c.room_info(room)
    assert (info["CoverURL"], info["Notice"], info["RoomName"]) == ("https://a/b//c", "/* not a comment */ x", "a,}")


def test_json_unicode_escapes_decoded_before_length_rules(c):
    room = uid()
    # 33 x U+6C49 escaped (99 bytes decoded) + one 4-byte emoji as a surrogate pair = 103 bytes
    name = "\\u6c49" * 33 + "\\ud83d\\ude00"
    body = '{"RoomInfo":{"RoomId":"%s","RoomType":"Live","RoomName":"%s"}}' % (room, name)
    assert_error(c.call("create_room", body), 100002, "RoomName")
    name = "\\u6c49" * 32 + "\\ud83d\\ude00"  # 100 bytes
    body = '{"RoomInfo":{"RoomId":"%s","RoomType":"Live","RoomName":"%s"}}' % (room, name)
    assert c.call("create_room", body)["ErrorCode"] == 0
    assert c.room_info(room)["RoomName"] == "汉" * 32 + "\U0001F600"


def test_strict_types_after_lenient_parse(c):
    room = uid()
    c.must_create(room)
    assert_error(c.call("update_room_info", '{"RoomInfo":{"RoomId":"%s","MaxMemberCount":"300",},}' % room),
                 100002, "MaxMemberCount")


def test_request_ids_unique(c):
    ids = set()
    for i in range(100):
        if i % 3 == 0:
            reply = c.call("get_room_info", {"RoomId": "nope"})
        elif i % 3 == 1:
            reply = c.call("get_room_list", {"Next": "", "Count": 1})
        else:
            reply = c.call("get_room_list", {}, usersig="garbage")
        assert REQUEST_ID_RE.match(reply["RequestId"])
        ids.add(reply["RequestId"])
    assert len(ids) == 100


def test_failure_envelope_shape(c):
    r = c.raw("get_room_info", {"RoomId": "definitely-missing"})
    reply = check_envelope(r)
    assert reply["ActionStatus"] == "FAIL" and reply["ErrorCode"] == 100004
    assert reply["ErrorInfo"] != ""
    assert r.headers.get("Content-Type", "").startswith("application/json")


# ------------------------------------------------------------------------------------------
# CLI: liveroomd usersig verify / gen

CODE_OF_REASON = {"empty": 70002, "base64": 70003, "inflate": 70003, "json": 70003,
                  "missing_field": 70003, "identifier_mismatch": 70013,
                  "sdkappid_mismatch": 70014, "expired": 70001, "hmac_mismatch": 70009}


def _cases():
    return json.loads(VECTORS.read_text())["cases"]


def _verify(sdkappid, key, identifier, usersig, now=None):
    require_binary()
    cmd = [str(BINARY), "usersig", "verify", "--sdkappid", str(sdkappid), "--key", key,
           "--identifier", identifier, "--usersig", usersig]
    if now is not None:
        cmd += ["--now", str(now)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize("case", _cases(), ids=lambda x: x["id"])
def test_cli_verify_vectors(case):
    p = _verify(case["sdkappid"], case["key"], case["identifier"], case["usersig"], case["now"])
    out = p.stdout.strip()
    if case["expect"] == "valid":
        assert p.returncode == 0, (p.returncode, out, p.stderr)
        assert out == "valid", out
    else:
        assert p.returncode == 1, (p.returncode, out, p.stderr)
        assert out.startswith("invalid "), out
        code = int(out.split()[1])
        assert code == CODE_OF_REASON[case["reason_code"]], (case["reason_code"], out)


def test_cli_verify_expiry_boundary():
    sig = gen_usersig(APP1, KEY1, ADMIN, expire=100, now=1_800_000_000)
    assert _verify(APP1, KEY1, ADMIN, sig, 1_800_000_100).returncode == 0
    p = _verify(APP1, KEY1, ADMIN, sig, 1_800_000_101)
    assert p.returncode == 1 and p.stdout.split()[:2] == ["invalid", "70001"], p.stdout


def test_cli_gen_roundtrip():
    require_binary()
    p = subprocess.run([str(BINARY), "usersig", "gen", "--sdkappid", str(APP1), "--key", KEY1,
                        "--identifier", ADMIN, "--expire", "3600"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    sig = p.stdout.strip()
    doc = decode_usersig(sig)
    assert doc["TLS.expire"] == 3600 and doc["TLS.identifier"] == ADMIN and doc["TLS.sdkappid"] == APP1
    assert abs(doc["TLS.time"] - time.time()) < 60
    assert verify_usersig(sig, APP1, KEY1, ADMIN)
    assert _verify(APP1, KEY1, ADMIN, sig).returncode == 0
    p = _verify(APP1, KEY1, ADMIN2, sig)
    assert p.returncode == 1 and p.stdout.split()[:2] == ["invalid", "70013"], p.stdout


def test_cli_gen_sig_accepted_by_server(c):
    p = subprocess.run([str(BINARY), "usersig", "gen", "--sdkappid", str(APP1), "--key", KEY1,
                        "--identifier", ADMIN], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    assert c.call("get_room_list", {"Next": "", "Count": 1}, usersig=p.stdout.strip())["ErrorCode"] == 0
