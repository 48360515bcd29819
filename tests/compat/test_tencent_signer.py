"""liveroomd accepts UserSigs made by Tencent's own signer (npm tls-sig-api-v2, via sign.js) and
rejects them with the right code when they belong to someone else.

Needs node; the npm package is installed into tests/compat/node_modules by `make test`
(or `npm install --prefix tests/compat tls-sig-api-v2@1.0.2`)."""

import importlib.util
import shutil
import subprocess
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
E2E = HERE.parent / "e2e"

_spec = importlib.util.spec_from_file_location("liveroom_e2e_support", E2E / "conftest.py")
support = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(support)

NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed (needed to run Tencent's npm signer)")


def node_sign(sdkappid, key, identifier, expire=86400):
    if not (HERE / "node_modules" / "tls-sig-api-v2").is_dir():
        pytest.fail("npm package tls-sig-api-v2 missing: run `npm install --prefix tests/compat tls-sig-api-v2@1.0.2`")
    p = subprocess.run([NODE, str(HERE / "sign.js"), str(sdkappid), key, identifier, str(expire)],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    sig = p.stdout.strip()
    assert sig.startswith("eJ"), sig
    return sig


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = support.LiveroomServer(tmp_path_factory.mktemp("compat")).start()
    yield s
    s.stop()


def test_node_sig_is_what_our_signer_expects():
    sig = node_sign(support.APP1, support.KEY1, support.ADMIN, 3600)
    doc = support.decode_usersig(sig)
    assert doc["TLS.identifier"] == support.ADMIN and doc["TLS.sdkappid"] == support.APP1
    assert doc["TLS.expire"] == 3600 and abs(doc["TLS.time"] - time.time()) < 60
    assert support.verify_usersig(sig, support.APP1, support.KEY1, support.ADMIN)


def test_admin_with_tencent_sig_creates_and_reads_room(srv):
    c = srv.client()
    sig = node_sign(support.APP1, support.KEY1, support.ADMIN)
    reply = c.call("create_room", {"RoomInfo": {"RoomId": "npm-signed", "RoomType": "Live", "RoomName": "npm"}},
                   usersig=sig)
    assert reply["ErrorCode"] == 0, reply
    reply = c.call("get_room_info", {"RoomId": "npm-signed"}, usersig=sig)
    assert reply["ErrorCode"] == 0, reply
    assert reply["Response"]["RoomInfo"]["RoomName"] == "npm"
    # The second admin and the second app work with their own Tencent-made sigs too.
    sig2 = node_sign(support.APP1, support.KEY1, support.ADMIN2)
    assert c.call("get_room_info", {"RoomId": "npm-signed"}, identifier=support.ADMIN2, usersig=sig2)["ErrorCode"] == 0
    sig3 = node_sign(support.APP2, support.KEY2, support.ADMIN)
    assert c.call("get_room_list", {"Next": "", "Count": 1}, sdkappid=support.APP2, usersig=sig3)["ErrorCode"] == 0


def test_tencent_sig_for_someone_else(srv):
    c = srv.client()
    alice = node_sign(support.APP1, support.KEY1, "alice")
    # presented as alice: correctly signed, but alice is no App administrator
    reply = c.call("get_room_info", {"RoomId": "x"}, identifier="alice", usersig=alice)
    assert reply["ErrorCode"] == 60010 and "alice" in reply["ErrorInfo"], reply
    # presented as the administrator: the sig was issued for someone else
    reply = c.call("get_room_info", {"RoomId": "x"}, usersig=alice)
    assert reply["ErrorCode"] == 70013, reply


def test_tencent_sig_wrong_key_or_app(srv):
    c = srv.client()
    reply = c.call("get_room_info", {"RoomId": "x"}, usersig=node_sign(support.APP1, support.KEY2, support.ADMIN))
    assert reply["ErrorCode"] == 70009, reply
    reply = c.call("get_room_info", {"RoomId": "x"}, usersig=node_sign(support.APP2, support.KEY2, support.ADMIN))
    assert reply["ErrorCode"] == 70014, reply


def test_tencent_sig_verified_by_cli():
    support.require_binary()
    sig = node_sign(support.APP1, support.KEY1, "张三_用户", 600)
    p = subprocess.run([str(support.BINARY), "usersig", "verify", "--sdkappid", str(support.APP1),
                        "--key", support.KEY1, "--identifier", "张三_用户", "--usersig", sig],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0 and p.stdout.strip() == "valid", (p.returncode, p.stdout, p.stderr)
