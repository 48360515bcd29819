"""Webhook deliveries over HTTP/1.1 pipelining (docs/webhooks.md, "Connections"): deliveries of
different rooms share a connection and are written together; replies come back in order; a
room still has one delivery in flight at a time. Receivers that end each connection, or that
drop what came after the first request, still get every event, in order.

The receiver here is a raw TCP server (not http.server) so that it can see how requests arrive
on the wire: how many came in one read, on how many connections. Waits poll with deadlines;
nothing asserts on speed."""

import json
import re
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from conftest import uid
from webhook_sink import check_room_order, hook_server_factory  # noqa: F401 (fixture)

ROOMS = 30
WAIT = 30.0


class Request:
    def __init__(self, head, body, arrived):
        lines = head.decode("latin-1").split("\r\n")
        self.request_line = lines[0]
        self.headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            self.headers[k.strip().lower()] = v.strip()
        self.body = body
        self.arrived = arrived
        self.completed = None
        self.ok = True
        payload = json.loads(body)
        self.room_id = payload.get("RoomId") or (payload.get("RoomInfo") or {}).get("RoomId")
        self.event_id = self.headers.get("x-liveroom-event-id")
        seq = self.headers.get("x-liveroom-room-seq")
        self.room_seq = int(seq) if seq else None

    def __repr__(self):
        return f"<{self.room_id} seq {self.room_seq} {self.event_id}>"


def split_requests(buf):
    """Complete requests at the front of `buf`: ([(head, body)], the rest)."""
    out = []
    while True:
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            return out, buf
        head = buf[:end]
        m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
        length = int(m.group(1)) if m else 0
        if len(buf) < end + 4 + length:
            return out, buf
        out.append((head, buf[end + 4:end + 4 + length]))
        buf = buf[end + 4 + length:]


OK_BODY = b'{"ErrorCode":0}'
OK = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%%s\r\n"
      % len(OK_BODY)) + OK_BODY
FAIL = b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n%s\r\n"


class RawSink:
    """mode "pipeline": answers every request, in order, keeping the connection;
    "close": answers the first request of each read with Connection: close and closes;
    "drop_extra": answers only the first request of each read and throws the rest away, and
    ignores the tail of a request it threw away (a receiver that cannot take pipelining). Each reply waits `delay` seconds, so that deliveries
    queue up behind the busy connections."""

    def __init__(self, mode, delay=0.2, fail_once=()):
        """`fail_once`: rooms whose first request is answered 500."""
        self.mode = mode
        self.delay = delay
        self.fail_once = set(fail_once)
        self.lock = threading.Lock()
        self.records = []
        self.per_read = []  # complete requests found in each read
        self.connections = 0
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self):
        return f"http://127.0.0.1:{self.port}/hook"

    def close(self):
        self.closed = True
        self.sock.close()

    def _accept(self):
        while not self.closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        buf = b""
        with conn:
            while True:
                try:
                    data = conn.recv(1 << 20)
                except OSError:
                    return
                if not data:
                    return
                buf += data
                if not b"POST ".startswith(buf[:5]):
                    # The tail of a request it threw away (drop_extra): ignored, unanswered.
                    buf = b""
                    continue
                complete, buf = split_requests(buf)
                if not complete:
                    continue
                now = time.monotonic()
                with self.lock:
                    self.per_read.append(len(complete))
                if self.mode != "pipeline":
                    complete, buf = complete[:1], b""
                reqs = [Request(h, b, now) for h, b in complete]
                time.sleep(self.delay)
                closing = self.mode == "close"
                replies = []
                with self.lock:
                    for r in reqs:
                        r.completed = time.monotonic()
                        r.ok = r.room_id not in self.fail_once
                        self.fail_once.discard(r.room_id)
                        if r.ok:
                            self.records.append(r)
                        replies.append((OK if r.ok else FAIL) %
                                       (b"Connection: close\r\n" if closing else b""))
                try:
                    conn.sendall(b"".join(replies))
                except OSError:
                    return
                if closing:
                    return

    def first_arrivals(self):
        with self.lock:
            return {r.event_id for r in self.records}

    def by_room(self):
        rooms = {}
        with self.lock:
            for r in self.records:
                rooms.setdefault(r.room_id, []).append(r)
        return rooms

    def wait_events(self, n, timeout=WAIT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.first_arrivals()) >= n:
                return
            time.sleep(0.05)
        raise AssertionError(f"{len(self.first_arrivals())} of {n} events arrived within {timeout}s")


def retries(srv):
    """Retried deliveries: /metrics of the server, or summed over every node of a cluster
    (whichever node delivers counts them)."""
    total = 0.0
    for url in getattr(srv, "urls", None) or [srv.base_url]:
        text = requests.get(url + "/metrics", timeout=5).text
        m = re.search(r'^liveroom_webhook_deliveries_total\{result="retry"\} (\S+)$', text, re.M)
        total += float(m.group(1)) if m else 0.0
    return total


def burst(srv, rooms):
    """Creates `rooms` rooms one by one, then updates them all at once (concurrent requests,
    so their events reach the dispatcher together): two events per room."""
    for room in rooms:
        srv.must_create(room)
    with ThreadPoolExecutor(len(rooms)) as pool:
        for r in pool.map(lambda room: srv.update(room, Notice="n"), rooms):
            assert r["ErrorCode"] == 0, r


def start(hook_server_factory, sink, webhooks=""):
    """Two connections at most, so that deliveries of a burst wait for them and go out together."""
    return hook_server_factory(app1={"callbacks": [{"url": sink.url()}]},
                               extra_toml="\n[webhooks]\nconnections_per_url = 2\n" + webhooks)


def deliver_burst(srv, sink, prefix, rooms=None):
    """burst() on ROOMS new rooms (or `rooms`); waits until the sink has all their events and
    checks each room's order. Returns the rooms."""
    rooms = rooms or [uid(prefix) for _ in range(ROOMS)]
    before = len(sink.first_arrivals())
    burst(srv, rooms)
    sink.wait_events(before + 2 * len(rooms))
    by_room = sink.by_room()
    for room in rooms:
        assert check_room_order(by_room.get(room, []), start=1) == [1, 2], by_room.get(room)
    return rooms


@pytest.fixture
def raw_sink():
    made = []

    def make(mode, **kw):
        made.append(RawSink(mode, **kw))
        return made[-1]

    yield make
    for s in made:
        s.close()


@pytest.mark.not_by_room("about one dispatcher's pipeline; the rooms of different slots are delivered by their hosts")
def test_deliveries_of_different_rooms_are_pipelined(hook_server_factory, raw_sink):
    sink = raw_sink("pipeline")
    srv = start(hook_server_factory, sink)
    deliver_burst(srv, sink, "pipe")
    assert max(sink.per_read) >= 2, f"never more than one request per read: {sink.per_read}"
    assert sink.connections <= 2, sink.connections
    assert retries(srv) == 0
    assert "one at a time" not in srv.log_tail(200)


def test_pipeline_depth_one_sends_one_request_at_a_time(hook_server_factory, raw_sink):
    sink = raw_sink("pipeline")
    srv = start(hook_server_factory, sink, "pipeline_depth = 1\n")
    deliver_burst(srv, sink, "one")
    assert set(sink.per_read) == {1}, sink.per_read
    assert retries(srv) == 0


def test_receiver_that_closes_every_connection_gets_everything_without_retries(
        hook_server_factory, raw_sink):
    sink = raw_sink("close", delay=0.05)
    srv = start(hook_server_factory, sink)
    deliver_burst(srv, sink, "close")
    # The requests behind a "Connection: close" reply were not failures: sent again at once,
    # one at a time from then on.
    assert retries(srv) == 0
    assert sink.connections >= 2 * ROOMS
    assert "(it closes every connection); sending one at a time" in srv.log_tail(200)


@pytest.mark.not_by_room("about one dispatcher's pipeline; the rooms of different slots are delivered by their hosts")
def test_receiver_that_drops_pipelined_requests_gets_everything_one_at_a_time(
        hook_server_factory, raw_sink):
    sink = raw_sink("drop_extra", delay=0.05)
    srv = start(hook_server_factory, sink, "request_timeout_ms = 300\n")
    deliver_burst(srv, sink, "drop")
    assert "sending one at a time" in srv.log_tail(200)
    # The unanswered requests were not counted as failed attempts: sent again at once.
    assert retries(srv) == 0
    # From then on one request per read: a later burst loses nothing and waits for nothing.
    with sink.lock:
        sink.per_read.clear()
    deliver_burst(srv, sink, "after")
    assert set(sink.per_read) == {1}, sink.per_read
    assert retries(srv) == 0


@pytest.mark.not_by_room("about one dispatcher's pipeline; the rooms of different slots are delivered by their hosts")
def test_a_pipelined_batch_with_a_failure_is_confirmed_one_by_one(hook_server_factory, raw_sink):
    """A reply names no request: a 500 inside a pipelined batch could belong to any of them
    (to a receiver answering out of order). The whole batch goes again, one at a time, where
    each reply is exact: the failed event arrives, and nothing counts as delivered unseen."""
    rooms = [uid("fail") for _ in range(ROOMS)]
    sink = raw_sink("pipeline", fail_once=rooms[5:6])
    srv = start(hook_server_factory, sink)
    deliver_burst(srv, sink, "fail", rooms)
    assert "(a reply other than 2xx); sending one at a time" in srv.log_tail(200)
