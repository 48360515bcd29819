"""Webhook test machinery: a real HTTP receiver ("sink") and liveroomd servers with webhook config.

* WebhookSink: a ThreadingHTTPServer on 127.0.0.1 (free port) in a thread. Records every request
  (path, query, headers, raw body, parsed JSON, arrival and completion times, what it answered)
  and answers each one as `behaviour(record)` says: "ok" (200 + Tencent's OK body), "500", any
  int status, ("reply", status, body bytes), ("delay", seconds) then ok, or "drop" (close the
  connection without an answer). `down()` closes the listening
  socket and every open connection (connections are refused), `up()` listens again on the same
  port; `down_for(seconds)` does both.
* verify_tencent_sign / verify_hmac: what a receiver does with `Sign` and `X-Liveroom-Signature`.
* WebhookServer: LiveroomServer plus the `liveroomd webhooks` command line, and the fixtures
  `sink`, `sink_factory` and `hook_server_factory`.
* Order checks shared by the tests (per room and URL: first arrivals in Room-Seq order, no gaps,
  one delivery at a time, the next event only after the previous one was acknowledged).
"""

import hashlib
import hmac
import json
import re
import os
import socket
import ssl
import struct
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

import conftest
from conftest import BINARY, LiveroomServer, default_apps, free_port

OK_BODY = b'{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":""}'
EVENT_ID_RE = re.compile(r"^[0-9a-f]{32}$")
HEX64_RE = re.compile(r"^[0-9a-f]{64}$")

CREATE = "Live.CallbackAfterCreateRoom"
DESTROY = "Live.CallbackAfterDestroyRoom"
UPDATE = "Live.CallbackAfterUpdateRoomInfo"
SET_META = "Live.CallbackAfterSetMetadata"
DEL_META = "Live.CallbackAfterDelMetadata"
ALL_COMMANDS = [CREATE, DESTROY, UPDATE, SET_META, DEL_META]


# --------------------------------------------------------------------------------------------
# Receiver-side verification

def tencent_sign(token, request_time):
    return hashlib.sha256((token + str(request_time)).encode()).hexdigest()


def verify_tencent_sign(token, query, max_skew=60, now=None):
    """True iff `query` (dict) carries Sign = hex(sha256(token + RequestTime)) and RequestTime is
    within `max_skew` seconds of now: what a Tencent callback receiver checks."""
    sign, rt = query.get("Sign"), query.get("RequestTime")
    if not sign or not rt or not rt.isdigit():
        return False
    now = time.time() if now is None else now
    if abs(now - int(rt)) > max_skew:
        return False
    return hmac.compare_digest(tencent_sign(token, rt), sign)


def hmac_signature(token, timestamp, body: bytes):
    msg = str(timestamp).encode() + b"." + body
    return "v1=" + hmac.new(token.encode(), msg, hashlib.sha256).hexdigest()


def verify_hmac(token, headers, body: bytes, max_skew=300, now=None):
    """True iff X-Liveroom-Signature = v1=hex(HMAC-SHA256(token, timestamp + "." + body)) with the
    X-Liveroom-Timestamp header, and that timestamp is recent. `headers`: case-insensitive
    lookup via lowercase keys (as recorded by the sink) or any mapping with those names."""
    h = {k.lower(): v for k, v in dict(headers).items()}
    ts, sig = h.get("x-liveroom-timestamp"), h.get("x-liveroom-signature")
    if not ts or not sig or not ts.isdigit():
        return False
    now = time.time() if now is None else now
    if abs(now - int(ts)) > max_skew:
        return False
    return hmac.compare_digest(hmac_signature(token, ts, body), sig)


# --------------------------------------------------------------------------------------------
# The sink

class Delivery:
    """One request the sink received."""

    def __init__(self, index, method, path, raw_query, headers, body, arrived, wall):
        self.index = index
        self.method = method
        self.path = path
        self.raw_query = raw_query
        parsed = parse_qs(raw_query, keep_blank_values=True)
        self.query_multi = parsed
        self.query = {k: v[0] for k, v in parsed.items()}
        self.headers = headers            # lowercase name -> value
        self.body = body                  # raw bytes
        try:
            self.json = json.loads(body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            self.json = None
        self.arrived = arrived            # time.monotonic() when the request was read
        self.wall = wall                  # time.time() at the same moment
        self.action = None                # what the sink did: "ok", "500", 404, "drop", "down"
        self.status = None                # HTTP status sent (None: connection dropped)
        self.completed = None             # time.monotonic() just before answering / dropping

    @property
    def ok(self):
        return self.status is not None and 200 <= self.status < 300

    @property
    def command(self):
        return self.query.get("CallbackCommand")

    @property
    def event_id(self):
        return self.headers.get("x-liveroom-event-id")

    @property
    def room_seq(self):
        v = self.headers.get("x-liveroom-room-seq")
        try:
            return int(v)
        except (TypeError, ValueError):
            return None

    @property
    def room_id(self):
        j = self.json if isinstance(self.json, dict) else {}
        if "RoomId" in j:
            return j["RoomId"]
        info = j.get("RoomInfo")
        if isinstance(info, dict):
            return info.get("RoomId")
        return None

    @property
    def sdkappid(self):
        return self.query.get("SdkAppid")

    def __repr__(self):
        return (f"<#{self.index} {self.path} {self.command} room={self.room_id} "
                f"seq={self.room_seq} id={self.event_id} -> {self.action}>")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "webhook-sink"

    def log_message(self, *args):
        pass

    def setup(self):
        super().setup()
        self.server.sink._track(self.connection, True)

    def finish(self):
        try:
            super().finish()
        except OSError:
            pass
        self.server.sink._track(self.connection, False)

    def _read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _handle(self):
        body = self._read_body()
        arrived, wall = time.monotonic(), time.time()
        split = urlsplit(self.path)
        headers = {k.lower(): v for k, v in self.headers.items()}
        sink = self.server.sink
        rec, action = sink._record(self.command, split.path, split.query, headers, body, arrived, wall)
        if action in ("drop", "down"):
            rec.completed = time.monotonic()
            sink._finish(rec, action, None)
            try:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
            self.close_connection = True
            return
        if isinstance(action, tuple) and action[0] == "delay":
            time.sleep(action[1])
            action = "ok"
        if isinstance(action, tuple) and action[0] == "reply":
            status, payload = int(action[1]), action[2]
        else:
            status = 200 if action == "ok" else (500 if action == "500" else int(action))
            payload = OK_BODY if 200 <= status < 300 else b'{"ErrorCode":1,"ErrorInfo":"sink says no"}'
        if status in (204, 304):
            payload = b""
        rec.completed = time.monotonic()
        sink._finish(rec, action, status)
        try:
            self.send_response(status)
            if status not in (204, 304):
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            self.close_connection = True

    do_POST = _handle
    do_GET = _handle
    do_PUT = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass  # dropped/aborted connections are expected


class WebhookSink:
    def __init__(self, port=None, tls=None):
        """tls=(cert_file, key_file): serve HTTPS with that certificate."""
        self.port = port or free_port()
        self.tls = tls
        self.records = []
        self.behaviour = lambda rec: "ok"
        self._cond = threading.Condition()
        self._httpd = None
        self._thread = None
        self._conns = set()
        self._down = False
        self._timers = []
        self.diag = []          # callables returning extra text for timeout messages

    # -- life cycle
    def start(self):
        self.up()
        return self

    def up(self):
        with self._cond:
            if self._httpd is not None:
                self._down = False
                return
        deadline = time.monotonic() + 5
        while True:
            try:
                httpd = _Server(("127.0.0.1", self.port), _Handler)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        httpd.sink = self
        if self.tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*self.tls)
            # the handshake happens in the handler thread, so a failing one blocks nothing
            httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True,
                                           do_handshake_on_connect=False)
        t = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        with self._cond:
            self._httpd, self._thread, self._down = httpd, t, False
        t.start()

    def down(self):
        """Stop listening (new connections are refused) and cut every open connection."""
        with self._cond:
            httpd, self._httpd = self._httpd, None
            self._down = True
            conns = list(self._conns)
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
        for c in conns:
            try:
                c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def down_for(self, seconds):
        """down() now, up() after `seconds` (in a timer thread)."""
        self.down()
        t = threading.Timer(seconds, self.up)
        t.daemon = True
        self._timers.append(t)
        t.start()
        return t

    def close(self):
        for t in self._timers:
            t.cancel()
        self.down()

    def url(self, path="/hook", host="127.0.0.1"):
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}{path}"

    # -- behaviour
    def set_mode(self, action):
        """Answer every request with `action` ("ok", "500", "drop", an int status)."""
        self.behaviour = lambda rec, a=action: a

    def _track(self, conn, add):
        with self._cond:
            (self._conns.add if add else self._conns.discard)(conn)

    def _record(self, method, path, query, headers, body, arrived, wall):
        with self._cond:
            rec = Delivery(len(self.records), method, path, query, headers, body, arrived, wall)
            self.records.append(rec)
            down = self._down
        if down:
            return rec, "down"
        try:
            action = self.behaviour(rec)
        except Exception as e:  # a broken behaviour must not hang the server under test
            action = 500
            rec.behaviour_error = repr(e)
        return rec, action

    def _finish(self, rec, action, status):
        with self._cond:
            rec.action, rec.status = action, status
            self._cond.notify_all()

    # -- queries
    def snapshot(self):
        with self._cond:
            return [r for r in self.records if r.action is not None]

    def events(self, command=None, path=None, room=None, ok=None, sdkappid=None):
        """Completed requests, in arrival order, filtered."""
        out = []
        for r in self.snapshot():
            if command is not None and r.command != command:
                continue
            if path is not None and r.path != path:
                continue
            if room is not None and r.room_id != room:
                continue
            if ok is not None and r.ok != ok:
                continue
            if sdkappid is not None and r.sdkappid != str(sdkappid):
                continue
            out.append(r)
        return out

    def delivered(self, **filters):
        """Acknowledged (2xx) deliveries, one per event id (the first), in arrival order."""
        seen, out = set(), []
        for r in self.events(ok=True, **filters):
            if r.event_id not in seen:
                seen.add(r.event_id)
                out.append(r)
        return out

    def summary(self, last=40):
        recs = self.snapshot()[-last:]
        return "\n".join(repr(r) for r in recs) or "(nothing received)"

    def wait_for(self, predicate, timeout=20.0, what="condition"):
        """Polls predicate() until it returns something truthy (returned) or `timeout` passes
        (AssertionError with what the sink received)."""
        deadline = time.monotonic() + timeout
        while True:
            result = predicate()
            if result:
                return result
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                extra = "\n".join(d() for d in self.diag)
                raise AssertionError(f"timed out after {timeout}s waiting for {what}; sink got:\n"
                                     f"{self.summary()}\n{extra}")
            with self._cond:
                self._cond.wait(min(remaining, 0.05))

    def wait_delivered(self, n, timeout=20.0, **filters):
        """Waits until at least n distinct events matching filters were acknowledged; returns
        the first acknowledged delivery of each, in arrival order."""
        return self.wait_for(lambda: (lambda d: d if len(d) >= n else None)(self.delivered(**filters)),
                             timeout, what=f"{n} delivered events {filters}")

    def assert_none(self, predicate, within=1.0, what="unexpected delivery"):
        """No completed request satisfies predicate(rec) for `within` seconds."""
        deadline = time.monotonic() + within
        while True:
            bad = [r for r in self.snapshot() if predicate(r)]
            assert not bad, f"{what}: {bad}\n{self.summary()}"
            if time.monotonic() > deadline:
                return
            time.sleep(0.05)


def make_cert(directory, name, san="IP:127.0.0.1"):
    """A self-signed certificate (openssl command line) for `san`; returns (cert, key) paths."""
    directory = os.fspath(directory)
    cert, key = os.path.join(directory, f"{name}.pem"), os.path.join(directory, f"{name}.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", f"/CN={name}.invalid", "-addext", f"subjectAltName={san}",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    return cert, key


# --------------------------------------------------------------------------------------------
# Order checks

def group_by_room(records):
    out = {}
    for r in records:
        out.setdefault((r.path, r.sdkappid, r.room_id), []).append(r)
    return out


def check_room_order(records, consecutive=True, causal=True, one_at_a_time=True, start=None):
    """`records`: every request one URL (path) received for one room, in arrival order.
    Returns the first-arrival seq list after asserting:
    * first arrivals (per event id) come in strictly increasing Room-Seq order, and with
      `consecutive` without gaps (starting at `start` when given);
    * with `causal`: an event's first arrival happens after the previous event got a 2xx;
    * with `one_at_a_time`: no request arrives before the previous one was answered/dropped.
    """
    assert records, "no records"
    firsts, ids_by_seq = [], {}
    for r in records:
        assert EVENT_ID_RE.match(r.event_id or ""), f"bad X-Liveroom-Event-Id in {r}"
        assert r.room_seq is not None, f"no X-Liveroom-Room-Seq in {r}"
        prev_id = ids_by_seq.setdefault(r.room_seq, r.event_id)
        assert prev_id == r.event_id, f"Room-Seq {r.room_seq} carried two event ids: {prev_id}, {r}"
        if all(f.event_id != r.event_id for f in firsts):
            firsts.append(r)
    seqs = [f.room_seq for f in firsts]
    assert seqs == sorted(set(seqs)), f"first arrivals out of order: {seqs}\n{records}"
    if consecutive:
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), f"gap in Room-Seq: {seqs}"
    if start is not None:
        assert seqs[0] == start, f"first Room-Seq is {seqs[0]}, expected {start}: {seqs}"
    if causal:
        for prev, cur in zip(firsts, firsts[1:]):
            acks = [r.completed for r in records if r.event_id == prev.event_id and r.ok]
            assert acks and min(acks) <= cur.arrived, (
                f"seq {cur.room_seq} arrived before seq {prev.room_seq} was acknowledged: {records}")
    if one_at_a_time:
        for a, b in zip(records, records[1:]):
            assert a.completed is not None and a.completed <= b.arrived, (
                f"two deliveries of one room to one URL overlapped: {a} / {b}")
    return seqs


# --------------------------------------------------------------------------------------------
# liveroomd with webhook configuration

class WebhookServer(LiveroomServer):
    """A LiveroomServer (its apps may carry webhook keys and `callbacks`, see render_config) with
    a helper for the `liveroomd webhooks` command line, which finds the server through the
    listen address in its config file."""

    def cli(self, *args, timeout=30):
        """Runs `liveroomd webhooks ARGS --config <this server's config>`."""
        cmd = [str(BINARY), "webhooks", *args, "--config", str(self.config_path)]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                               stdin=subprocess.DEVNULL)


def webhook_apps(app1=None, app2=None):
    """default_apps() with extra keys merged into APP1 / APP2 (webhook keys, `callbacks`)."""
    apps = default_apps()
    if app1:
        apps[0].update(app1)
    if app2:
        apps[1].update(app2)
    return apps


# --------------------------------------------------------------------------------------------
# Fixtures (import them into a test module to use them)

@pytest.fixture
def sink_factory():
    made = []

    def make():
        s = WebhookSink().start()
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


@pytest.fixture
def sink(sink_factory):
    return sink_factory()


@pytest.fixture
def hook_server_factory(tmp_path):
    """make(app1={...}, app2={...}, name=...) starts a WebhookServer; all are stopped (exit 0
    asserted) at teardown. Each sink created by the sink fixtures gets the servers' log tails
    in its timeout messages when passed as sinks=[...]."""
    made = []

    def make(app1=None, app2=None, name="hsrv", start=True, http=None, sinks=(), env=None,
             extra_toml=""):
        # A WebhookServer, or a cluster of them in cluster mode (conftest.make_server).
        srv = conftest.make_server(tmp_path / f"{name}-{len(made)}", cls=WebhookServer,
                                   apps=webhook_apps(app1, app2), http=http, env=env,
                                   extra_toml=extra_toml)
        made.append(srv)
        for s in sinks:
            s.diag.append(lambda srv=srv: f"--- liveroomd log {srv.workdir}:\n{srv.log_tail(30)}")
        if start:
            srv.start()
        return srv

    yield make
    errors = []
    for srv in made:
        try:
            conftest.finish_server(srv)
        except AssertionError as e:
            errors.append(str(e))
    assert not errors, "\n".join(errors)
