"""A liveroomd cluster for the tests (issue #10): N nodes sharing one PostgreSQL database (made
fresh for the cluster) and one Redis (under a key_prefix of its own).

Cluster has the interface the e2e tests use on a LiveroomServer, so the same tests run against it
(LIVEROOM_E2E_CLUSTER=1, see conftest):

* base_url and port turn round-robin over the running nodes, one node per use: each request of a
  Client (which reads server.base_url per request) and each gateway connection goes to the next
  node;
* client(), and the cluster object itself as the APP1 administrator's client (cluster.call(...));
* start() starts every node and waits until each answers /readyz with 200; stop() is an orderly
  stop (SIGTERM to the followers, then to the leader, as an operator stops a cluster: requests
  in flight on a follower still find their leader) and asserts that each node exits 0; kill9()
  kills every node; restart(hard) does either and starts them again (same node ids, ports, data
  dirs, database); send_sigterm()/wait_exit() are stop() in two halves;
* log_tail() is every node's tail, each under a header;
* connect() (nodes of GatewayServer) and cli() (nodes of WebhookServer) use the next node.

For failure tests: nodes (LiveroomServer objects, each with node_id; node.kill9(), and
start_node(node) restarts one on its port and data dir), leader() (the node that leads: named by
the nodes' /readyz if they say, else the holder of the Redis lease), lease_holder(), followers(),
wait_ready(), node(node_id), node_client(node) (a client that always talks to that node); the
fixtures cluster_factory and private_redis, and Writers (threads writing counters to rooms of
their own, recording what was acknowledged, refused or went wrong).
"""

import itertools
import os
import re
import secrets
import socket
import signal
import threading
import time
from pathlib import Path

import pytest
import requests

import cluster_services
import conftest
from conftest import APP1, ADMIN, Client, LiveroomServer, check_envelope, uid

DEFAULT_NODES = int(os.environ.get("LIVEROOM_E2E_NODES", "3"))
# Short enough that a restart after kill -9 of every node (the old lease has to run out) costs
# little, long enough for a loaded 2-core machine not to lose leadership by accident.
DEFAULT_LEASE_MS = int(os.environ.get("LIVEROOM_E2E_LEASE_MS", "2000"))
READY_TIMEOUT = 30.0


def node_metric(node, name, absent=None):
    """A sample of one node's own /metrics (its own process: each node is scraped on its own);
    `absent` if it has none, which is an error when `absent` is None (a follower shows only
    its node's families, a leader the leader's and its node's)."""
    text = requests.get(f"http://127.0.0.1:{node.port}/metrics", timeout=5).text
    m = re.search(rf"^{name} (\S+)$", text, re.M)
    if m is None and absent is not None:
        return absent
    assert m, f"{name} not in the /metrics of {node.node_id}"
    return float(m.group(1))



def wait_restarted_as_follower(node, timeout=30):
    """Until `node`, a leader that lost its lease, has replaced itself with a fresh process (same
    pid, docs/cluster.md) that listens again; asserts it did within `timeout` and is alive."""
    deadline = time.monotonic() + timeout
    while True:
        log = node.log_path.read_text(errors="replace")
        after = log[log.find("restarting as a follower"):]
        if "restarting as a follower" in log and "listening on" in after:
            break
        assert time.monotonic() < deadline, f"{node.node_id} did not restart:\n{node.log_tail(40)}"
        time.sleep(0.1)
    assert node.alive(), f"{node.node_id} died instead of restarting:\n{node.log_tail(40)}"

_reserved_ports = set()
_reserved_lock = threading.Lock()


def _ports_outside_ephemeral_range():
    """Ports below the range the system gives outgoing connections, so that no client
    connection of the tests can sit on a node's port while that node is down."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    return max(1024, low - 12000), low


def reserve_ports(n):
    """n distinct free ports, none handed to another cluster of this session before (a node keeps
    its port across restarts). They lie outside the ephemeral range (see above) and are bound
    together, so none is handed twice."""
    lo, hi = _ports_outside_ephemeral_range()
    with _reserved_lock:
        for _ in range(1000):
            ports = set()
            while len(ports) < n:
                p = lo + secrets.randbelow(hi - lo)
                if p not in _reserved_ports:
                    ports.add(p)
            socks = []
            try:
                for p in ports:
                    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                    socks.append(s)
                    s.bind(("127.0.0.1", p))
            except OSError:
                continue  # in use: draw again
            finally:
                for s in socks:
                    s.close()
            _reserved_ports.update(ports)
            return sorted(ports)
        raise AssertionError(f"no {n} free ports found in {lo}..{hi}")


class Cluster:
    def __init__(self, workdir, node_cls=None, nodes=None, lease_ms=None, postgres=None,
                 redis=None, key_prefix=None, cluster_extra=None, **node_kw):
        """`node_cls` (LiveroomServer or a subclass) is built once per node with `node_kw`
        (apps, http, env, extra_toml, preexec, gateway, ...: the same for every node).
        `postgres`/`redis`: cluster_services objects (the session's shared ones by default).
        `cluster_extra`: more keys of the [cluster] table."""
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.node_cls = node_cls or LiveroomServer
        self.pg = postgres
        self.redis = redis
        self.lease_ms = DEFAULT_LEASE_MS if lease_ms is None else lease_ms
        self.key_prefix = key_prefix or f"lrtest{secrets.token_hex(4)}"
        self.cluster_extra = dict(cluster_extra or {})
        self.database = None
        n = DEFAULT_NODES if nodes is None else nodes
        self.nodes = []
        for i, port in enumerate(reserve_ports(n)):
            node = self.node_cls(self.workdir / f"node{i + 1}", **node_kw)
            node.node_id = f"n{i + 1}"
            node.fixed_port = port
            self.nodes.append(node)
        self._stopping = None
        self._rr = itertools.count()
        self._rr_lock = threading.Lock()
        self.starts = 0

    # -- what tests read on a server

    @property
    def apps(self):
        return self.nodes[0].apps

    @property
    def keys(self):
        return self.nodes[0].keys

    @property
    def gateway(self):
        return self.nodes[0].gateway

    def running_nodes(self):
        return [n for n in self.nodes if n.proc is not None]

    def next_node(self):
        """The next running node, round-robin (the first node when none runs)."""
        running = self.running_nodes() or self.nodes
        with self._rr_lock:
            i = next(self._rr)
        return running[i % len(running)]

    @property
    def base_url(self):
        return self.next_node().base_url

    @property
    def port(self):
        return self.next_node().port

    @property
    def urls(self):
        return [n.base_url for n in self.nodes]

    def node(self, node_id):
        for n in self.nodes:
            if n.node_id == node_id:
                return n
        raise KeyError(node_id)

    # -- configuration

    def _configure(self):
        if self.pg is None:
            self.pg = cluster_services.shared_postgres()
        if self.redis is None:
            self.redis = cluster_services.shared_redis()
        if self.database is None:
            self.database = self.pg.create_database()
        for node in self.nodes:
            node.cluster = {
                "node_id": node.node_id,
                "postgres_url": self.pg.url(self.database),
                "redis_url": self.redis.url,
                "lease_ms": self.lease_ms,
                "key_prefix": self.key_prefix,
                **self.cluster_extra,
            }

    # -- life cycle

    def start(self, timeout=READY_TIMEOUT):
        """Starts every node that is not running (each waits for its own /healthz), then waits
        until every node answers /readyz with 200."""
        self._configure()
        self.starts += 1
        for node in self.nodes:
            if node.proc is None:
                node.start()
        self.wait_ready(timeout)
        dead = [(n.node_id, n.proc.poll()) for n in self.nodes if n.proc.poll() is not None]
        assert not dead, f"nodes exited during start-up: {dead}\n{self.log_tail(30)}"
        return self

    def start_node(self, node, timeout=READY_TIMEOUT):
        """(Re)starts one node on its port and data dir; waits for its /readyz."""
        self._configure()
        node.start()
        self.wait_ready(timeout, nodes=[node])
        return node

    def wait_ready(self, timeout=READY_TIMEOUT, nodes=None):
        nodes = self.running_nodes() if nodes is None else nodes
        deadline = time.monotonic() + timeout
        waiting = list(nodes)
        last = {}
        while waiting:
            for node in list(waiting):
                if node.proc is None or node.proc.poll() is not None:
                    raise AssertionError(f"node {node.node_id} exited while waiting for /readyz:\n"
                                         f"{self.log_tail(40)}")
                try:
                    r = requests.get(node.base_url + "/readyz", timeout=1)
                    last[node.node_id] = f"{r.status_code} {r.text[:200]}"
                    if r.status_code == 200:
                        waiting.remove(node)
                except requests.RequestException as e:
                    last[node.node_id] = repr(e)
            if not waiting:
                break
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"nodes {[n.node_id for n in waiting]} not ready within {timeout}s "
                    f"(last answers {last}):\n{self.log_tail(40)}")
            time.sleep(0.05)
        return self

    def _stop_order(self):
        """The running nodes in the order of an orderly stop: the followers, then the leader
        (so that requests in flight on a follower still find their leader)."""
        running = self.running_nodes()
        holder = self.lease_holder() if self.redis is not None else None
        if holder in running and len(running) > 1:
            return [[n for n in running if n is not holder], [holder]]
        return [running]

    def stop(self, timeout=10.0):
        """SIGTERM to the followers at once, then to the leader; asserts each exits 0 within
        `timeout`."""
        errors = []
        for group in self._stop_order():
            for node in group:
                node.send_sigterm()
            for node in group:
                errors += self._reap(node, timeout)
        assert not errors, "\n".join(errors)

    def _reap(self, node, timeout):
        try:
            rc = node.wait_exit(timeout)
        except AssertionError as e:
            return [str(e)]
        if rc != 0:
            return [f"node {node.node_id} exited with {rc} after SIGTERM:\n{node.log_tail()}"]
        return []

    def release(self):
        """After the last stop: the cluster's database is dropped (the shared server stays)."""
        if self.database and self.pg is not None and not self.running_nodes():
            try:
                self.pg.drop_database(self.database)
            except RuntimeError:
                pass
            self.database = None

    def send_sigterm(self):
        """The start of an orderly stop without waiting: SIGTERM to the followers (the leader
        gets its SIGTERM in wait_exit(), once they have exited)."""
        self._stopping = self._stop_order()
        for node in self._stopping[0]:
            node.send_sigterm()

    def wait_exit(self, timeout=10.0):
        """After send_sigterm(): waits for the followers, then stops the leader; returns the
        first non-zero exit status (0 when every node exited 0)."""
        groups, self._stopping = self._stopping or [self.running_nodes()], None
        rcs = []
        for i, group in enumerate(groups):
            if i:
                for node in group:
                    node.send_sigterm()
            rcs += [node.wait_exit(timeout) for node in group]
        return next((rc for rc in rcs if rc != 0), 0)

    def alive(self):
        return all(n.alive() for n in self.nodes)

    def kill9(self, node=None):
        """kill -9 of one node, or of every node."""
        for n in ([node] if node is not None else self.nodes):
            n.kill9()

    def restart(self, hard=False):
        if hard:
            self.kill9()
        else:
            self.stop()
        return self.start()

    def log_tail(self, n=60):
        return "\n".join(f"----- node {node.node_id} {node.base_url} "
                         f"({'running' if node.alive() else 'not running'}) -----\n{node.log_tail(n)}"
                         for node in self.nodes)

    def healthz(self):
        return requests.get(self.base_url + "/healthz", timeout=5).status_code

    # -- leadership

    def readyz(self, node, timeout=1.0):
        """(status code, parsed JSON or None) of one node's /readyz; (None, None) if it does
        not answer."""
        try:
            r = requests.get(node.base_url + "/readyz", timeout=timeout)
        except requests.RequestException:
            return None, None
        try:
            body = r.json()
        except ValueError:
            body = None
        return r.status_code, body

    def _claimed_leader(self, node):
        """Which node `node` says leads (a node object), or None."""
        _, body = self.readyz(node)
        if not isinstance(body, dict):
            return None
        role = str(body.get("role", "")).lower()
        if role == "leader":
            return node
        for key in ("leader", "leader_id", "leader_node_id", "leader_url"):
            v = body.get(key)
            if isinstance(v, dict):
                v = v.get("node_id") or v.get("url")
            if isinstance(v, str) and v:
                for n in self.nodes:
                    if v in (n.node_id, n.base_url):
                        return n
        return None

    def lease_holder(self):
        """The node named by the leadership lease in Redis (key <key_prefix>:leader, whose value
        holds the holder's node_id and advertise_url), or None."""
        try:
            value = self.redis.cli("GET", f"{self.key_prefix}:leader", timeout=3)
        except Exception:
            return None
        for n in self.nodes:
            if re.search(re.escape(n.base_url) + r"(?![0-9])", value):
                return n
        return None

    def leader(self, timeout=READY_TIMEOUT, exclude=()):
        """The node that leads and serves: the one the running nodes name in their /readyz
        replies (a majority agreeing), or else the holder of the Redis lease once it answers
        /readyz with 200. Waits up to `timeout`."""
        deadline = time.monotonic() + timeout
        last = {}
        while True:
            running = [n for n in self.running_nodes() if n not in exclude and n.alive()]
            votes = {}
            for n in running:
                claimed = self._claimed_leader(n)
                last[n.node_id] = claimed.node_id if claimed else None
                if claimed is not None and claimed.alive() and claimed not in exclude:
                    votes[claimed.node_id] = votes.get(claimed.node_id, 0) + 1
            for node_id, count in votes.items():
                if count * 2 > len(running):
                    return self.node(node_id)
            holder = self.lease_holder()
            last["lease"] = holder.node_id if holder else None
            if holder is not None and holder in running and self.readyz(holder)[0] == 200:
                return holder
            if time.monotonic() > deadline:
                raise AssertionError(f"no leader agreed on within {timeout}s (each node's answer: "
                                     f"{last}):\n{self.log_tail(30)}")
            time.sleep(0.1)

    def followers(self):
        leader = self.leader()
        return [n for n in self.running_nodes() if n is not leader]

    def ready_as_leader(self):
        """The running nodes whose /readyz/leader says 200 (what a balancer that sends every
        call to the leader sees)."""
        ready = []
        for n in self.running_nodes():
            try:
                if requests.get(n.base_url + "/readyz/leader", timeout=2).status_code == 200:
                    ready.append(n)
            except requests.RequestException:
                pass
        return ready

    # -- clients

    def client(self, sdkappid=APP1, identifier=ADMIN, key=None):
        return Client(self, sdkappid, identifier, key or self.keys.get(sdkappid, conftest.KEY1))

    def node_client(self, node, sdkappid=APP1, identifier=ADMIN, key=None):
        """A client that always talks to one node."""
        return Client(node, sdkappid, identifier, key or self.keys.get(sdkappid, conftest.KEY1))

    def connect(self, *args, **kw):
        """A gateway connection to the next node (nodes of GatewayServer)."""
        return self.next_node().connect(*args, **kw)

    def cli(self, *args, **kw):
        """`liveroomd webhooks ...` against the next node (nodes of WebhookServer)."""
        return self.next_node().cli(*args, **kw)

    def __getattr__(self, name):
        # Like LiveroomServer: the cluster doubles as the APP1 administrator's client.
        if name.startswith("_") or name in ("default_client", "nodes"):
            raise AttributeError(name)
        dc = self.__dict__.get("_default_client")
        if dc is None:
            dc = self.__dict__["_default_client"] = self.client()
        return getattr(dc, name)

    def __repr__(self):
        return f"<Cluster {self.workdir} {[(n.node_id, n.port) for n in self.nodes]}>"


# --------------------------------------------------------------------------------------------
# Fixtures of the failure tests (import them into a test module to use them)

@pytest.fixture
def cluster_factory(tmp_path):
    """make(name=..., nodes=3, lease_ms=..., node_cls=..., redis=..., start=True, **node_kw)
    starts a Cluster (the session's PostgreSQL and Redis unless given). At teardown every node
    still running is resumed if stopped (SIGCONT) and stopped with SIGTERM (exit 0 asserted)."""
    made = []

    def make(name="cl", start=True, **kw):
        cl = Cluster(tmp_path / f"{name}-{len(made)}", **kw)
        conftest._live_servers.append(cl)
        made.append(cl)
        if start:
            cl.start()
        return cl

    yield make
    errors = []
    for cl in made:
        for node in cl.running_nodes():
            try:
                os.kill(node.proc.pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        try:
            conftest.finish_server(cl)
        except AssertionError as e:
            errors.append(str(e))
    assert not errors, "\n".join(errors)


@pytest.fixture
def private_redis(tmp_path):
    """A Redis of the test's own (a test that kills Redis must not kill the session's)."""
    r = cluster_services.Redis(root=tmp_path / "redis", password=secrets.token_hex(8)).start()
    yield r
    r.destroy()


# --------------------------------------------------------------------------------------------
# Writers: threads that each write a counter to a room of their own and record what was
# acknowledged, for the failure tests

ALLOWED_ERROR = 100001  # "the cluster cannot serve this now" (no leader / no lease)


class Writers:
    """`n` threads; thread t owns room rooms[t] and alternates update_room_info (RoomName
    f"v{i}") and set_room_metadata (keys seq = i and k{i % 3} = i) with a growing counter, through
    `client_for(t)` (a round-robin cluster client by default). Every reply is classified:
    acknowledged, refused with ALLOWED_ERROR, a transport error (the node it went to died), or a
    violation: any other ErrorCode, a malformed reply or HTTP status, no answer within `timeout`
    seconds. With `transport_ok=False` a transport error is a violation too."""

    def __init__(self, cluster, n=8, timeout=10.0, client_for=None, transport_ok=True,
                 prefix="w", sdkappid=APP1):
        self.cluster = cluster
        self.sdkappid = sdkappid
        self.n = n
        self.timeout = timeout
        self.transport_ok = transport_ok
        self.client_for = client_for or (lambda t: cluster.client(sdkappid=sdkappid))
        self.rooms = [uid(f"{prefix}{t}") for t in range(n)]
        self.state = [{"name_tried": 0, "name_acked": 0, "meta_tried": 0, "meta_acked": 0}
                      for _ in range(n)]
        self.lock = threading.Lock()
        self.acks = []          # (monotonic time the request was sent, time acked, thread)
        self.acked = []         # (room, "name" or "meta", seq) of every acknowledged write
        self.refusals = []      # (sent, answered, thread, reply)
        self.transport = []     # (sent, answered, thread, repr(exception))
        self.violations = []    # (sent, answered, thread, what)
        self._stop = threading.Event()
        self._threads = []

    def create_rooms(self):
        c = self.cluster.client(sdkappid=self.sdkappid)
        for r in self.rooms:
            c.must_create(r)

    def start(self):
        self._threads = [threading.Thread(target=self._run, args=(t,), daemon=True,
                                          name=f"writer-{t}") for t in range(self.n)]
        for th in self._threads:
            th.start()
        return self

    def stop(self):
        self._stop.set()
        for th in self._threads:
            th.join(self.timeout + 5)
        assert not any(th.is_alive() for th in self._threads), "a writer thread hangs"

    def _send(self, c, path, body):
        r = c.raw(path, body, timeout=self.timeout)
        return check_envelope(r)

    def _run(self, t):
        c = self.client_for(t)
        st = self.state[t]
        room = self.rooms[t]
        i = 0
        while not self._stop.is_set():
            i += 1
            if i % 2:
                with self.lock:
                    seq = st["name_tried"] = st["name_tried"] + 1
                path, body, field = "update_room_info", {"RoomInfo": {"RoomId": room, "RoomName": f"v{seq}"}}, "name"
            else:
                with self.lock:
                    seq = st["meta_tried"] = st["meta_tried"] + 1
                path, body, field = "set_room_metadata", {"RoomId": room, "Metadata": [
                    {"Key": "seq", "Value": str(seq)}, {"Key": f"k{seq % 3}", "Value": str(seq)}]}, "meta"
            sent = time.monotonic()
            try:
                reply = self._send(c, path, body)
            except requests.Timeout as e:
                with self.lock:
                    self.violations.append((sent, time.monotonic(), t, f"no answer within {self.timeout}s: {e!r}"))
                continue
            except requests.RequestException as e:
                with self.lock:
                    (self.transport if self.transport_ok else self.violations).append(
                        (sent, time.monotonic(), t, repr(e)))
                time.sleep(0.02)
                continue
            except AssertionError as e:
                with self.lock:
                    self.violations.append((sent, time.monotonic(), t, f"malformed reply: {e}"))
                continue
            now = time.monotonic()
            with self.lock:
                if reply["ErrorCode"] == 0:
                    st[f"{field}_acked"] = seq
                    self.acks.append((sent, now, t))
                    self.acked.append((room, field, seq))
                elif reply["ErrorCode"] == ALLOWED_ERROR:
                    self.refusals.append((sent, now, t, reply))
                else:
                    self.violations.append((sent, now, t, f"{path} {body}: {reply}"))
            if reply["ErrorCode"] != 0:
                time.sleep(0.02)

    # -- what happened

    def acks_after(self, t0):
        with self.lock:
            return [a for a in self.acks if a[0] >= t0]

    def longest_stall(self, since):
        """The longest time after `since` during which no write was acknowledged (up to now)."""
        with self.lock:
            done = sorted(a[1] for a in self.acks if a[1] >= since)
        edges = [since] + done + [time.monotonic()]
        return max(b - a for a, b in zip(edges, edges[1:]))

    def wait_acks_after(self, t0, per_thread=3, timeout=30.0):
        """Waits until every thread had `per_thread` acknowledged writes sent after t0; returns
        the time of the first acknowledgement sent after t0."""
        deadline = time.monotonic() + timeout
        while True:
            acks = self.acks_after(t0)
            counts = [sum(1 for a in acks if a[2] == t) for t in range(self.n)]
            if min(counts) >= per_thread:
                return min(a[1] for a in acks)
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"writes not acknowledged again within {timeout}s (acks per thread since: "
                    f"{counts}; {self.summary()}):\n{self.cluster.log_tail(40)}")
            time.sleep(0.05)

    def around(self, disrupt, warm_up=1.0, min_acks=10, per_thread=5, timeout=30.0,
               settle=0.5):
        """Runs the writers through a failure: they write for `warm_up` seconds (at least
        `min_acks` acknowledged), then `disrupt()` runs, then they write until each has
        `per_thread` writes acknowledged that were sent after it began, and `settle` seconds
        more; then they stop. Returns (the time disrupt() began, the first acknowledgement
        after it)."""
        self.start()
        try:
            time.sleep(warm_up)
            assert len(self.acks) >= min_acks, f"too little load before: {self.summary()}"
            began = time.monotonic()
            disrupt()
            first_again = self.wait_acks_after(began + 0.001, per_thread=per_thread,
                                               timeout=timeout)
            time.sleep(settle)
        finally:
            self.stop()
        return began, first_again

    def summary(self):
        with self.lock:
            return (f"{len(self.acks)} acknowledged, {len(self.refusals)} refused with "
                    f"{ALLOWED_ERROR}, {len(self.transport)} transport errors, "
                    f"{len(self.violations)} violations")

    def check_no_violation(self):
        with self.lock:
            bad = list(self.violations)
        if bad:
            t0 = bad[0][0]
            shown = [(round(sent - t0, 2), round(done - sent, 2), t, what) for sent, done, t, what in bad[:8]]
            raise AssertionError(
                f"{len(bad)} wrong answers or hangs ({self.summary()}); (sent at +s, took s, "
                f"thread, what): {shown}\n{self.cluster.log_tail(40)}")

    def check_every_ack_visible(self, client):
        """Each room holds a value at least as new as its last acknowledged write and at most
        its last tried one; the metadata write is atomic."""
        stale = []
        for t, room in enumerate(self.rooms):
            st = self.state[t]
            info = client.room_info(room)
            name = info["RoomName"]
            seq = int(name[1:]) if name.startswith("v") and name[1:].isdigit() else 0
            if not st["name_acked"] <= seq <= st["name_tried"]:
                stale.append((room, "RoomName", name, dict(st)))
            meta = dict(client.metadata(room))
            mseq = int(meta.get("seq", "0"))
            if not st["meta_acked"] <= mseq <= st["meta_tried"]:
                stale.append((room, "Metadata", meta, dict(st)))
            elif mseq:
                assert meta.get(f"k{mseq % 3}") == str(mseq), ("a metadata write is atomic", room, meta)
        assert not stale, f"acknowledged writes lost: {stale[:4]}"

    @classmethod
    def through_followers(cls, cluster, leader, **kw):
        """Writers that talk to the nodes other than `leader` only (their rooms created): the
        leader's own connections would break when it fails."""
        followers = [n for n in cluster.nodes if n is not leader]
        writers = cls(cluster, transport_ok=False,
                      client_for=lambda t: cluster.node_client(followers[t % len(followers)]),
                      **kw)
        writers.create_rooms()
        return writers

    def snapshot(self, client):
        return {room: (client.room_info(room)["RoomName"], sorted(client.metadata(room)))
                for room in self.rooms}
