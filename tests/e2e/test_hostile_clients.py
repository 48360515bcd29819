"""What hostile or careless clients must not achieve (issue "Hardening"): invalid UTF-8 in
replies and frames, ambiguous query strings, connection slots held without a login or taken by
one address, a descriptor limit that makes accept spin, secrets readable by other local users,
and a handshake that names the server's library."""

import os
import resource
import socket
import stat
import time

import pytest
import requests

from conftest import ADMIN, APP1, KEY1, check_envelope, gen_usersig, uid
from gateway_client import gw, gw_factory, gw_server  # noqa: F401 (fixtures)


def strict_json(raw: bytes):
    """Parses like a strict reader: the bytes must be UTF-8 (RFC 8259 §8.1) and JSON."""
    import json
    return json.loads(raw.decode("utf-8", errors="strict"))


# --- replies are valid UTF-8 whatever the query held -----------------------------------------

@pytest.mark.parametrize("overrides,code", [
    ({"identifier": "%FF%FE"}, 70013),                   # echoed: identifier ≠ the sig's
    ({"sdkappid": "%FF1400000001"}, 60006),              # echoed: not an app
    ({"sdkappid": "1400000001%C0%AF"}, 60006),           # an overlong '/'
    ({"identifier": "%ED%A0%80"}, 70013),                # a UTF-16 surrogate
])
def test_rest_replies_are_valid_utf8_json(server, overrides, code):
    r = server.raw("get_room_list", {}, **overrides)
    assert r.status_code == 200
    reply = strict_json(r.content)
    assert reply["ErrorCode"] == code, reply
    assert "\ufffd" in reply["ErrorInfo"], reply


def test_gateway_frames_are_valid_utf8_whatever_the_query_held(gw):
    c = gw.connect(query=f"sdkappid={APP1}&identifier=ok%FF%FEx&usersig=%FF")
    reply = c.wait_reply(None)
    assert reply["code"] != 0, reply
    assert c.wait_closed() == 1008
    assert not c.errors, c.errors


# --- one meaning per query string -------------------------------------------------------------

@pytest.mark.parametrize("key", ["sdkappid", "identifier", "usersig", "random", "contenttype"])
def test_a_repeated_tencent_parameter_is_60002(server, key):
    url = server.url("get_room_list")
    value = url.split(f"{key}=", 1)[1].split("&", 1)[0]
    r = requests.post(f"{url}&{key}={value}", data=b"{}", timeout=5)
    reply = check_envelope(r)
    assert reply["ErrorCode"] == 60002 and key in reply["ErrorInfo"], reply


def test_a_non_canonical_sdkappid_names_no_app(server):
    reply = server.call("get_room_list", {}, sdkappid="0" + str(APP1))
    assert reply["ErrorCode"] == 60006, reply
    reply = server.call("get_room_list", {}, sdkappid="+" + str(APP1))
    assert reply["ErrorCode"] == 60006, reply


def test_a_repeated_parameter_refuses_a_gateway_login(gw):
    user = gw.account()
    c = gw.connect(query=gw.query(user) + f"&identifier={ADMIN}")
    reply = c.wait_reply(None)
    assert reply["code"] == 60002 and "identifier" in reply["message"], reply
    assert c.wait_closed() == 1008


# --- connection slots ------------------------------------------------------------------------

def test_before_login_only_login_is_served_and_the_deadline_closes(gw_factory):
    kit = gw_factory(gateway={"login_timeout_ms": 600}, name="deadline")
    idle = kit.connect()
    assert idle.request("heartbeat")["code"] == -1002  # no heartbeat keeps it
    logged = kit.login()
    started = time.monotonic()
    assert idle.wait_closed(timeout=5) == 1008
    assert time.monotonic() - started < 3
    assert logged.request("heartbeat")["code"] == 0  # a logged-in connection stays
    assert not logged.closed


@pytest.mark.single_node("max_connections of one process: in a cluster each node has its own "
                         "limit, so squatters spread over three nodes fill none of them")
def test_sockets_that_never_log_in_cannot_lock_out_the_api(gw_factory):
    """The attack: max_connections WebSockets that never log in (nor answer the close frame).
    They are closed at the login deadline, dropped 2 s later at most, and the REST API is served
    again."""
    kit = gw_factory(gateway={"login_timeout_ms": 500}, name="lockout",
                     http={"max_connections": 20, "max_connections_per_ip": 0})
    squatters = [kit.connect() for _ in range(20)]
    for s in squatters:
        assert s.wait_closed(timeout=5) == 1008
    wait_until_served(kit.rest)


def wait_until_served(rest, within=6.0):
    deadline = time.monotonic() + within
    while True:
        try:
            if rest.call("get_room_list", {})["ErrorCode"] == 0:
                return
        except requests.RequestException:
            pass
        assert time.monotonic() < deadline, "the REST API is not served again"
        time.sleep(0.1)


def open_sockets(port, n):
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        socks.append(s)
    return socks


def is_closed_by_server(sock, within=2.0):
    sock.settimeout(within)
    try:
        return sock.recv(1) == b""
    except socket.timeout:
        return False
    except ConnectionResetError:
        return True


@pytest.mark.single_node("max_connections_per_ip counts the connections of one process's listener")
def test_one_address_cannot_take_every_slot(server_factory):
    srv = server_factory(http={"max_connections": 100, "max_connections_per_ip": 5})
    held = open_sockets(srv.port, 5)
    time.sleep(0.2)
    extra = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
    assert is_closed_by_server(extra), "a sixth connection from one address was kept"
    assert not any(is_closed_by_server(s, within=0.05) for s in held)
    held.pop().close()
    wait_until_served(srv)  # a slot is free again
    for s in held + [extra]:
        s.close()


def low_descriptor_limit():
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))


# The sanitizers' runtimes need descriptors of their own (UBSan's vptr check probes memory
# through a pipe): starved of them, they report errors that are not there. Both tests below
# run out of descriptors on purpose, so they run in `make test` only.
needs_free_descriptors_for_sanitizers = pytest.mark.skipif(
    any(v in os.environ for v in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "TSAN_OPTIONS")),
    reason="a sanitizer runtime cannot work without free descriptors")


@pytest.mark.single_node("the descriptor limit of one process, and that process's log")
@needs_free_descriptors_for_sanitizers
def test_max_connections_is_clamped_to_the_descriptor_limit(server_factory):
    srv = server_factory(http={"max_connections": 5000, "max_connections_per_ip": 0},
                         preexec=low_descriptor_limit)
    log = srv.log_path.read_text()
    assert "max_connections = 5000 exceeds what the open-file limit (64) allows" in log, log
    # More clients than descriptors: refused cleanly or left waiting, never a spinning loop.
    socks = open_sockets(srv.port, 300)
    time.sleep(2)
    for s in socks:
        s.close()
    wait_until_served(srv)
    log_lines = srv.log_path.read_text().count("\n")
    assert log_lines < 50, f"{log_lines} log lines:\n{srv.log_tail(20)}"


@pytest.mark.single_node("the descriptor limit of one process, its CPU time and its log")
@needs_free_descriptors_for_sanitizers
def test_accept_backs_off_and_logs_once_when_descriptors_run_out(server_factory):
    """A descriptor limit so low that accept itself fails with EMFILE (the clamp leaves
    max_connections above what is really free): the loop waits instead of spinning, logs a line
    per interval, and serves again once clients leave."""
    def very_low():  # liveroomd itself holds ~15 descriptors; the clamp allows 12 connections
        resource.setrlimit(resource.RLIMIT_NOFILE, (24, 24))
    srv = server_factory(http={"max_connections": 1000, "max_connections_per_ip": 0,
                               "io_threads": 1}, preexec=very_low)
    socks = open_sockets(srv.port, 200)
    stat_before = _cpu_seconds(srv.proc.pid)
    time.sleep(3)
    burned = _cpu_seconds(srv.proc.pid) - stat_before
    assert burned < 0.5, f"liveroomd used {burned:.2f} s of CPU in 3 s while out of descriptors"
    log = srv.log_path.read_text()
    assert 1 <= log.count("accept failed") <= 2, srv.log_tail(20)
    for s in socks:
        s.close()
    wait_until_served(srv)


def _cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


# --- secrets on disk -------------------------------------------------------------------------

def no_umask():
    os.umask(0)


@pytest.mark.single_node("the files of one process's data dir (a cluster keeps its state in PostgreSQL)")
def test_data_dir_is_0700_and_files_0600_whatever_the_umask(server_factory):
    srv = server_factory(preexec=no_umask)
    srv.ok("create_room", {"RoomInfo": {"RoomId": uid(), "RoomType": "Live"}})
    assert stat.S_IMODE(os.stat(srv.data_dir).st_mode) == 0o700
    files = list(srv.data_dir.iterdir())
    assert any(f.name == "liveroom.db" for f in files), files
    for f in files:
        assert stat.S_IMODE(os.stat(f).st_mode) == 0o600, f


@pytest.mark.single_node("the SQLite file of one process's data dir (a cluster keeps its state in PostgreSQL)")
def test_an_existing_readable_database_is_tightened(server_factory, tmp_path):
    srv = server_factory(start=False, preexec=no_umask)
    srv.data_dir.mkdir(parents=True)
    os.chmod(srv.data_dir, 0o755)
    srv.start()
    srv.ok("create_room", {"RoomInfo": {"RoomId": uid(), "RoomType": "Live"}})
    srv.stop()
    db = srv.data_dir / "liveroom.db"
    os.chmod(db, 0o644)
    srv.start()
    assert stat.S_IMODE(os.stat(db).st_mode) == 0o600
    assert "accessible to other users" in srv.log_path.read_text()


# --- the handshake names no library ----------------------------------------------------------

def test_websocket_handshake_refusal_has_no_server_header(gw):
    s = socket.create_connection(("127.0.0.1", gw.server.port), timeout=5)
    s.sendall(b"GET /gateway HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              b"Sec-WebSocket-Version: 13\r\n\r\n")  # no Sec-WebSocket-Key
    head = s.recv(4096).decode("latin-1")
    s.close()
    assert head.startswith("HTTP/1.1 400"), head
    assert "beast" not in head.lower() and "server: liveroomd\r\n" in head.lower(), head
