"""Test machinery of the client gateway (docs/client-protocol.md): a small synchronous WebSocket
client, a liveroomd with a `[gateway]` table, and fixtures the test_gateway_* modules import.

* GatewayClient: one WebSocket to ws://127.0.0.1:<port>/gateway. A reader thread splits every
  text frame on "\\n", checks each object is a well-formed reply or event, and files replies by
  `id` and events in arrival order. `request()` sends and waits for the reply with its id (events
  that arrive meanwhile stay buffered), `expect_event()` takes the first buffered or incoming
  event of a name (and predicate), `no_event()` checks none comes within a time. Waits are short
  (default 3 s) so a hang fails fast.
* GatewayServer: LiveroomServer plus a `[gateway]` table in its config (heartbeat_interval_ms,
  presence_grace_ms, member_batch_ms, ...).
* Fixtures: `gw_server` (one per module, short grace and batch periods), `gw` (a per-test
  GatewayKit that creates accounts, rooms and logged-in members, and closes its connections at
  teardown), `gw_factory` (servers with custom gateway/app settings).
"""

import json
import socket
import threading
import time

import pytest
import websocket

import conftest
from conftest import APP1, LiveroomServer, gen_usersig, toml_value, uid

DEFAULT_TIMEOUT = 3.0

# The settings of the module server: a short grace so presence tests need no long sleeps, a
# short batch period so MembersChanged/Likes come quickly; the default heartbeat (10 s).
FAST_GATEWAY = {"presence_grace_ms": 800, "member_batch_ms": 100}


class ProtocolError(AssertionError):
    pass


def _short(value, limit=300):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


class GatewayClient:
    """A synchronous gateway client for tests."""

    def __init__(self, port, path="/gateway", query=None, timeout=DEFAULT_TIMEOUT, name="",
                 paused=False, sockopt=()):
        """`paused`: the reader does not read the socket until resume() (a slow consumer);
        `sockopt`: socket options set before connecting (e.g. a small SO_RCVBUF)."""
        self.port = port
        self.name = name
        self.timeout = timeout
        self.url = f"ws://127.0.0.1:{port}{path}" + (f"?{query}" if query else "")
        self.ws = websocket.create_connection(self.url, timeout=timeout,
                                              enable_multithread=True, sockopt=tuple(sockopt))
        self._go = threading.Event()
        if not paused:
            self._go.set()
        self.ws.settimeout(None)  # the reader thread blocks; waits use the condition below
        self._cond = threading.Condition()
        self._replies = {}        # id (as JSON text) -> reply object
        self._events = []         # events not taken yet, in arrival order
        self.received = []        # every object, in arrival order (replies and events)
        self.arrivals = []        # (time.monotonic() of its frame, event) for every event
        self.frames = []          # raw text of every frame
        self.errors = []          # protocol violations seen by the reader
        self.closed = False
        self.close_code = None
        self.close_reason = ""
        self._next_id = 0
        self.user = None
        self._reader = threading.Thread(target=self._read, daemon=True,
                                        name=f"gw-reader-{name or port}")
        self._reader.start()

    # -- reader

    def resume(self):
        self._go.set()

    def _read(self):
        self._go.wait()
        try:
            while True:
                opcode, frame = self.ws.recv_data_frame(control_frame=True)
                if opcode == websocket.ABNF.OPCODE_CLOSE:
                    code, reason = None, ""
                    if frame.data and len(frame.data) >= 2:
                        code = int.from_bytes(frame.data[:2], "big")
                        reason = frame.data[2:].decode("utf-8", "replace")
                    with self._cond:
                        self.close_code, self.close_reason = code, reason
                    break
                if opcode in (websocket.ABNF.OPCODE_PING, websocket.ABNF.OPCODE_PONG):
                    continue
                if opcode != websocket.ABNF.OPCODE_TEXT:
                    self._violation(f"non-text frame (opcode {opcode}): {frame.data[:200]!r}")
                    continue
                text = frame.data.decode("utf-8")
                self._handle_frame(text)
        except (websocket.WebSocketConnectionClosedException, OSError, ValueError,
                websocket.WebSocketException):
            pass
        finally:
            with self._cond:
                self.closed = True
                self._cond.notify_all()

    def _violation(self, what):
        with self._cond:
            self.errors.append(what)
            self._cond.notify_all()

    def _handle_frame(self, text):
        objs = []
        for line in text.split("\n"):
            if line == "":
                continue  # tolerate a trailing newline
            try:
                obj = json.loads(line)
            except ValueError:
                self._violation(f"frame line is not JSON: {line[:300]!r}")
                continue
            if not isinstance(obj, dict):
                self._violation(f"frame line is not an object: {line[:300]!r}")
                continue
            if "event" in obj:
                if not isinstance(obj["event"], str) or not isinstance(obj.get("data"), dict):
                    self._violation(f"malformed event: {line[:300]!r}")
            elif "id" in obj:
                if not (isinstance(obj.get("code"), int) and isinstance(obj.get("message"), str)
                        and isinstance(obj.get("data"), dict)):
                    self._violation(f"malformed reply: {line[:300]!r}")
            else:
                self._violation(f"neither reply nor event: {line[:300]!r}")
            objs.append(obj)
        now = time.monotonic()
        with self._cond:
            self.frames.append(text)
            for obj in objs:
                self.received.append(obj)
                if "event" in obj:
                    self._events.append(obj)
                    self.arrivals.append((now, obj))
                else:
                    self._replies[json.dumps(obj.get("id"))] = obj
            self._cond.notify_all()

    def _check(self):
        if self.errors:
            raise ProtocolError(f"{self.name}: protocol violations: {self.errors}")

    # -- sending

    def send_raw(self, text):
        self.ws.send(text)

    def send(self, obj):
        self.ws.send(json.dumps(obj, ensure_ascii=False, separators=(",", ":")))

    def new_id(self):
        self._next_id += 1
        return self._next_id

    def wait_reply(self, req_id, timeout=None):
        key = json.dumps(req_id)
        deadline = time.monotonic() + (timeout or self.timeout)
        with self._cond:
            while key not in self._replies:
                self._check()
                left = deadline - time.monotonic()
                if self.closed:
                    raise AssertionError(f"{self.name}: connection closed (code {self.close_code} "
                                         f"{self.close_reason!r}) while waiting for reply {req_id}")
                if left <= 0:
                    raise AssertionError(f"{self.name}: no reply to request {req_id} within "
                                         f"{timeout or self.timeout}s; received {self.received[-10:]}")
                self._cond.wait(left)
            return self._replies.pop(key)

    def request(self, op, timeout=None, req_id=None, **params):
        """Sends {"id", "op", **params}; returns the whole reply {id, code, message, data}."""
        rid = self.new_id() if req_id is None else req_id
        self.send({"id": rid, "op": op, **params})
        reply = self.wait_reply(rid, timeout)
        assert reply["id"] == rid, reply
        return reply

    def ok(self, op, **params):
        """request() that must succeed; returns its `data`."""
        reply = self.request(op, **params)
        assert reply["code"] == 0, f"{self.name}: {op} {_short(params)} failed: {reply}"
        return reply["data"]

    def fail(self, op, code, **params):
        """request() that must fail with `code` (or one of the codes of a tuple); returns the reply."""
        reply = self.request(op, **params)
        codes = code if isinstance(code, (tuple, list, set)) else (code,)
        assert reply["code"] in codes, (
            f"{self.name}: {op} {_short(params)}: expected code {code}, got {reply}")
        assert reply["message"], f"{self.name}: error reply without a message: {reply}"
        return reply

    # -- session helpers

    def login(self, sdkappid, user, sig, **extra):
        """Sends `login`; returns the reply (not checked)."""
        reply = self.request("login", sdkappid=sdkappid, identifier=user, usersig=sig, **extra)
        if reply["code"] == 0:
            self.user = user
        return reply

    def enter(self, room_id):
        return self.ok("enter", RoomId=room_id)

    # -- events

    def _take(self, name, predicate, room):
        for i, ev in enumerate(self._events):
            if ev["event"] == name and (room is None or ev.get("RoomId") == room) and (
                    predicate is None or predicate(ev["data"])):
                return self._events.pop(i)
        return None

    def expect_event(self, name, timeout=None, predicate=None, room=None):
        """The first event `name` (whose data satisfies `predicate`) buffered or arriving within
        `timeout`; removed from the buffer and returned whole ({event, RoomId, data})."""
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                self._check()
                ev = self._take(name, predicate, room)
                if ev is not None:
                    return ev
                left = deadline - time.monotonic()
                if left <= 0 or self.closed:
                    seen = [e for e in self.received if "event" in e][-15:]
                    raise AssertionError(
                        f"{self.name}: no {name} event within {timeout}s"
                        f"{' (connection closed)' if self.closed else ''}; events seen: {seen}")
                self._cond.wait(left)

    def no_event(self, name, within=0.5, predicate=None, room=None):
        """Asserts that no event `name` (matching `predicate`) is buffered or arrives within
        `within` seconds."""
        deadline = time.monotonic() + within
        with self._cond:
            while True:
                self._check()
                for ev in self._events:
                    if ev["event"] == name and (room is None or ev.get("RoomId") == room) and (
                            predicate is None or predicate(ev["data"])):
                        raise AssertionError(f"{self.name}: unexpected {name} event: {ev}")
                left = deadline - time.monotonic()
                if left <= 0 or self.closed:
                    return
                self._cond.wait(left)

    def arrival_times(self, name):
        """When each event `name` arrived (monotonic seconds), taken or not."""
        with self._cond:
            return [t for t, e in self.arrivals if e["event"] == name]

    def events(self, name=None):
        """Buffered (not taken) events, optionally of one name; they stay buffered."""
        with self._cond:
            return [e for e in self._events if name is None or e["event"] == name]

    def drain(self, name=None):
        """Removes and returns the buffered events (of one name)."""
        with self._cond:
            taken = [e for e in self._events if name is None or e["event"] == name]
            self._events = [e for e in self._events if not (name is None or e["event"] == name)]
            return taken

    def collect(self, name, within, predicate=None):
        """Waits `within` seconds, then removes and returns every event `name` seen."""
        time.sleep(within)
        with self._cond:
            self._check()
            got = [e for e in self._events if e["event"] == name and (
                predicate is None or predicate(e["data"]))]
            self._events = [e for e in self._events if e not in got]
            return got

    # -- closing

    def wait_closed(self, timeout=None):
        """Waits for the server to close the connection; returns the close code (None if the TCP
        connection ended without a close frame)."""
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self.closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{self.name}: connection still open after {timeout}s")
                self._cond.wait(left)
            return self.close_code

    def close(self):
        """A clean close (close frame)."""
        self._go.set()
        if not self.closed:
            try:
                self.ws.send_close()
            except Exception:
                pass
            with self._cond:
                deadline = time.monotonic() + 1.0
                while not self.closed and time.monotonic() < deadline:
                    self._cond.wait(deadline - time.monotonic())
        try:
            self.ws.shutdown()
        except Exception:
            pass
        self._reader.join(2)

    def drop(self):
        """The TCP connection ends without a close frame (a client that vanished)."""
        sock = self.ws.sock  # (the reader may reset ws.sock once the socket fails)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                sock.close()
            except OSError:
                pass
        self._reader.join(2)

    def __repr__(self):
        return f"<GatewayClient {self.name or self.user} port={self.port}>"


# --------------------------------------------------------------------------------------------
# liveroomd with a [gateway] table

class GatewayServer(LiveroomServer):
    """A LiveroomServer whose config also has a `[gateway]` table (keys of `gateway`)."""

    def __init__(self, workdir, gateway=None, **kw):
        super().__init__(workdir, **kw)
        self.gateway = dict(gateway or {})

    def start(self, timeout=10.0):
        # LiveroomServer.start renders the config with conftest.render_config; append the table.
        original = conftest.render_config
        table = self.gateway

        def render(*args, **kw):
            text = original(*args, **kw)
            if table:
                text += "\n[gateway]\n" + "".join(f"{k} = {toml_value(v)}\n" for k, v in table.items())
            return text

        conftest.render_config = render
        try:
            return super().start(timeout)
        finally:
            conftest.render_config = original

    def connect(self, query=None, name="", timeout=DEFAULT_TIMEOUT, **kw):
        return GatewayClient(self.port, query=query, name=name, timeout=timeout, **kw)


class GatewayKit:
    """Per-test helpers on one GatewayServer; every connection it made is closed at teardown."""

    def __init__(self, server):
        self.server = server
        self.rest = server.client()
        self.clients = []

    def sig(self, user, sdkappid=APP1, **kw):
        return gen_usersig(sdkappid, self.server.keys[sdkappid], user, **kw)

    def account(self, prefix="u"):
        user = uid(prefix)
        self.rest.import_account(user)
        return user

    def accounts(self, n, prefix="u"):
        users = [uid(prefix) for _ in range(n)]
        for i in range(0, n, 100):
            reply = self.rest.call("multiaccount_import", {"Accounts": users[i:i + 100]})
            assert reply["ErrorCode"] == 0 and not reply.get("FailAccounts"), reply
        return users

    def room(self, prefix="gw", owner=None, **fields):
        """Creates a room owned by `owner` (a fresh imported account by default); returns
        (RoomId, owner)."""
        owner = owner or self.account("owner")
        rid = uid(prefix)
        self.rest.must_create(rid, Owner_Account=owner, **fields)
        return rid, owner

    def connect(self, query=None, name="", **kw):
        c = self.server.connect(query=query, name=name, **kw)
        self.clients.append(c)
        return c

    def query(self, user, sdkappid=APP1):
        """The query string that logs `user` in as part of the upgrade."""
        return f"sdkappid={sdkappid}&identifier={user}&usersig={self.sig(user, sdkappid)}"

    def login(self, user=None, name=None):
        """A connection logged in as `user` (a fresh imported account by default)."""
        user = user or self.account()
        c = self.connect(name=name or user)
        reply = c.login(APP1, user, self.sig(user))
        assert reply["code"] == 0, f"login {user}: {reply}"
        return c

    def member(self, room_id, user=None, name=None):
        """A logged-in connection that has entered `room_id`; `.entered` holds the enter data."""
        c = self.login(user, name)
        c.entered = c.enter(room_id)
        return c

    def close_all(self):
        for c in self.clients:
            c.close()


def seat_of(seat_list, user):
    for s in seat_list:
        if s.get("Member_Account") == user:
            return s["Index"]
    return None


def occupants(seat_list):
    return {s["Index"]: s["Member_Account"] for s in seat_list if s.get("Member_Account")}


def rest_members(rest, room_id):
    """Every member of REST get_member_list, following Next; asserts no duplicates and a
    consistent MemberCount. Returns (accounts, MemberCount)."""
    seen, nxt, count, pages = [], "", None, 0
    while True:
        resp = rest.ok("get_member_list", {"RoomId": room_id, "Next": nxt})
        pages += 1
        assert pages < 100, "get_member_list does not end"
        seen += [m["Member_Account"] for m in resp.get("MemberList", [])]
        count = resp["MemberCount"]
        nxt = resp["Next"]
        if not nxt:
            break
    assert len(seen) == len(set(seen)), f"duplicates in get_member_list: {seen}"
    return seen, count


def wait_until(pred, timeout=3.0, what="condition", interval=0.05):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout}s")
        time.sleep(interval)


# --------------------------------------------------------------------------------------------
# Fixtures (import them into a test module to use them)

def _make(path, **kw):
    # A GatewayServer, or a cluster of them in cluster mode (conftest.make_server).
    return conftest.make_server(path, cls=GatewayServer, **kw)


@pytest.fixture(scope="module")
def gw_server(tmp_path_factory):
    srv = _make(tmp_path_factory.mktemp("gwsrv"), gateway=FAST_GATEWAY).start()
    yield srv
    conftest.finish_server(srv)


@pytest.fixture
def gw(gw_server):
    kit = GatewayKit(gw_server)
    yield kit
    kit.close_all()


@pytest.fixture
def gw_factory(tmp_path):
    """make(gateway={...}, apps=[...], name=...) starts a GatewayServer; returns a GatewayKit on
    it. All are stopped (exit 0 asserted) at teardown, their connections closed first."""
    made = []

    def make(gateway=None, name="gw", start=True, **kw):
        srv = _make(tmp_path / f"{name}-{len(made)}", gateway=FAST_GATEWAY | (gateway or {}), **kw)
        kit = GatewayKit(srv)
        made.append(kit)
        if start:
            srv.start()
        return kit

    yield make
    errors = []
    for kit in made:
        kit.close_all()
        try:
            conftest.finish_server(kit.server)
        except AssertionError as e:
            errors.append(str(e))
    assert not errors, "\n".join(errors)
