"""A soak of cluster mode (issue #10): `make soak-cluster`, not part of `make test`, whose
failure tests each take one failure on its own. Eight writers go through a round-robin of three
nodes while failures follow one another at random: kill -9 of the leader or of a follower,
SIGTERM of the leader (a handover), the leader frozen past its lease (SIGSTOP), Redis killed and
started again. After each the writers must be served again, and the node or Redis is brought
back. At the end: no wrong answer and no hang in the whole run, every acknowledged write
visible through every node, every node answering the same, and the webhook receiver holding an
event for every acknowledged update, each room's in order (a redelivery may repeat one).
Meanwhile gateway members sit in a chat room, reconnecting through the next node whenever their
connection goes: on each connection the messages come without a gap from the MsgSeq its entry
reported (a member never misses one silently; a lost connection is how it is told to catch up).

SOAK_ROUNDS (default 20) failures; SOAK_SEED picks them (printed, to replay a run)."""

import os
import random
import threading
import time

import pytest
import websocket

from cluster import Writers, cluster_factory, private_redis  # noqa: F401 (fixtures)
from conftest import APP1, APP2, gen_usersig, uid
from gateway_client import GatewayClient
from test_cluster_failover import every_node_says_the_same
from test_cluster_placement import apps as apps_over_three_nodes
from webhook_sink import (CREATE, UPDATE, WebhookServer, check_room_order,  # noqa: F401
                          sink, sink_factory, webhook_apps)

pytestmark = pytest.mark.skipif(not os.environ.get("LIVEROOM_SOAK"),
                                reason="a soak, run by make soak-cluster")

LEASE_MS = 2000
# A node failure is served again within lease_ms plus the takeover (the bound: 10 s).
NODE_FAILURE_BOUND_S = 10.0


# Who a failure strikes: (the node, how to name it).
def leader(cluster, rng):
    return cluster.leader(), "the leader "


def follower(cluster, rng):
    return rng.choice(cluster.followers()), "the follower "


# With placement by app (docs/cluster.md, "Placement") every node hosts apps: a failure strikes
# any node, and a node brought back gets its apps back by rebalancing, so the soak also runs
# hand-overs (a host stopping, a node coming back) one after another.
def any_node(cluster, rng):
    return rng.choice(cluster.running_nodes()), ""


# What a failure does to the node it strikes: (what it did, "{}" naming the node; how to undo it).
def kill9(cluster, node, rng):
    node.kill9()
    return "kill -9 of {}", lambda: cluster.start_node(node)


def sigterm(cluster, node, rng):
    node.send_sigterm()
    rc = node.wait_exit(15.0)
    assert rc == 0, f"{node.node_id} exited {rc} on SIGTERM:\n{node.log_tail(40)}"
    return "SIGTERM of {}", lambda: cluster.start_node(node)


def freeze(cluster, node, rng):
    node.freeze()
    time.sleep(LEASE_MS / 1000 + rng.uniform(1.0, 6.0))
    node.thaw()
    # A node that lost a lease meanwhile restarts itself (same pid) as a follower.
    return "SIGSTOP of {} past its lease", lambda: None


# Each failure answers what it did, when it struck (after finding its target), and how to undo it.
def strike(action, pick):
    def failure(cluster, rng):
        node, who = pick(cluster, rng)
        at = time.monotonic()
        what, undo = action(cluster, node, rng)
        return what.format(f"{who}{node.node_id}"), at, undo
    failure.__name__ = f"{action.__name__}_{pick.__name__}"
    return failure


def restart_redis(cluster, rng):
    at = time.monotonic()
    cluster.redis.kill9()
    time.sleep(rng.uniform(0.5, 1.5) * LEASE_MS / 1000)
    cluster.redis.start()
    return "Redis killed and started again", at, lambda: None


FAILURES = [strike(kill9, leader), strike(kill9, follower), strike(sigterm, leader),
            strike(freeze, leader), restart_redis]
APP_FAILURES = [strike(kill9, any_node), strike(sigterm, any_node), strike(freeze, any_node),
                restart_redis]


class ChatMembers:
    """`n` gateway members of one room, each on a thread that connects through the next running
    node, logs in, enters and stays until its connection goes, then does it again; and a
    sender of a REST message every 50 ms. Records each connection's entry MsgSeq and the MsgSeqs
    of the messages it got."""

    def __init__(self, cluster, n=6):
        self.cluster = cluster
        self.room = uid("soakchat")
        admin = cluster.client()
        admin.must_create(self.room)
        self.users = [uid("m") for _ in range(n)]
        for user in self.users:
            admin.import_account(user)
        self.connections = []  # (user, node_id, entry MsgSeq, [MsgSeq of each Message])
        self.sent = 0
        self.refused = {}  # ErrorCode -> how many sends got it
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._member, args=(i,), daemon=True)
                         for i in range(n)]
        self._threads.append(threading.Thread(target=self._sender, daemon=True))

    def start(self):
        for t in self._threads:
            t.start()

    def stop(self):
        self._stop.set()
        for t in self._threads:
            t.join(30)
        assert not any(t.is_alive() for t in self._threads), "a chat thread hangs"

    def _sender(self):
        c = self.cluster.client()
        while not self._stop.wait(0.05):
            try:
                reply = c.raw("send_text_msg", {"RoomId": self.room, "TextContent": "soak",
                                                "Sender_Account": "administrator"},
                              timeout=20).json()
            except Exception:
                continue
            with self._lock:
                if reply.get("ErrorCode") == 0:
                    self.sent += 1
                else:
                    code = reply.get("ErrorCode")
                    self.refused[code] = self.refused.get(code, 0) + 1

    def _member(self, i):
        user = self.users[i]
        turn = i
        while not self._stop.is_set():
            nodes = [n for n in self.cluster.nodes if n.alive()]
            node = nodes[turn % len(nodes)] if nodes else None
            turn += 1
            if node is None:
                time.sleep(0.2)
                continue
            try:
                c = GatewayClient(node.port, name=user, timeout=10)
            except Exception:
                time.sleep(0.2)
                continue
            entered = None
            try:
                login = c.request("login", sdkappid=APP1, identifier=user,
                                  usersig=gen_usersig(APP1, self.cluster.keys[APP1], user))
                entered = c.request("enter", RoomId=self.room) if login["code"] == 0 else login
                if entered["code"] != 0:
                    time.sleep(0.2)
                    continue
                while not c.closed and not self._stop.wait(0.1):
                    pass
            except (AssertionError, websocket.WebSocketException, OSError):
                continue  # the connection went during the login or the entry
            finally:
                c.close()  # (its reader has stopped: what it received is final)
                got = [e["data"]["MsgSeq"] for e in c.received
                       if e.get("event") == "Message" and e.get("RoomId") == self.room]
                if entered is not None and entered["code"] == 0:
                    with self._lock:
                        self.connections.append(
                            (user, node.node_id, entered["data"]["MsgSeq"], got))

    def check_no_silent_gap(self):
        # On each connection the messages follow the MsgSeq its entry reported, one by one.
        gaps = [(user, node_id, entry, got[:20]) for user, node_id, entry, got in self.connections
                if got != list(range(entry + 1, entry + 1 + len(got)))]
        assert not gaps, f"messages missed without a reconnection: {gaps[:3]}"
        received = sum(len(got) for *_, got in self.connections)
        assert received > 0 and self.sent > 0, (self.sent, len(self.connections))
        return received


def soak(cluster, rng, rounds, failures, writer_sets, chat, label):
    """Runs `rounds` failures picked from `failures` while every set of writers and the chat
    members go on, bringing each node (or Redis) back after it; then checks that nothing was
    lost: no wrong answer or hang, every acknowledged write visible through every node, no chat
    message missed silently, every node running."""
    for w in writer_sets:
        w.start()
    chat.start()
    slowest = {}
    try:
        time.sleep(1.0)
        for n in range(1, rounds + 1):
            failure = rng.choice(failures)
            what, struck, bring_back = failure(cluster, rng)
            took = 0.0
            for w in writer_sets:
                w.wait_acks_after(struck + 0.001, per_thread=3, timeout=30.0)
                took = max(took, w.longest_stall(struck))
            slowest[failure.__name__] = max(slowest.get(failure.__name__, 0.0), took)
            print(f"soak {n}/{rounds}: {what}: no write acknowledged for {took:.2f} s at most; "
                  f"{'; '.join(w.summary() for w in writer_sets)}")
            if failure is not restart_redis:
                assert took <= NODE_FAILURE_BOUND_S, (
                    f"{what}: no write acknowledged for {took:.1f} s")
            bring_back()
            cluster.wait_ready(timeout=30.0)
            time.sleep(rng.uniform(0.3, 1.5))
    finally:
        for w in writer_sets:
            w.stop()
        chat.stop()
    print(f"{label}: slowest recovery by failure: "
          f"{', '.join(f'{k} {v:.2f} s' for k, v in sorted(slowest.items()))}")
    for w in writer_sets:
        w.check_no_violation()
    received = chat.check_no_silent_gap()
    print(f"{label}: {chat.sent} chat messages sent ({chat.refused} refused), "
          f"{len(chat.connections)} member connections, {received} deliveries, none missed "
          f"silently")
    for w in writer_sets:
        for node in cluster.nodes:
            w.check_every_ack_visible(cluster.node_client(node, sdkappid=w.sdkappid))
        every_node_says_the_same(cluster, w)
    exited = [n.node_id for n in cluster.nodes if not n.alive()]
    assert not exited, f"nodes not running at the end: {exited}\n{cluster.log_tail(30)}"


def check_webhooks(sink, writers, label):
    """An event for every acknowledged update of `writers`, each room's first arrivals in order
    (a redelivery may repeat one)."""
    updated = {(room, f"v{seq}") for room, field, seq in writers.acked if field == "name"}

    def missing():
        have = {(r.room_id, (r.json or {}).get("RoomInfo", {}).get("RoomName"))
                for r in sink.delivered(command=UPDATE)}
        return updated - have

    sink.wait_for(lambda: not missing(), 120.0, "an event for every acknowledged update")
    for room in writers.rooms:
        check_room_order(sink.events(room=room), start=1, causal=True, one_at_a_time=False)
    events = sink.events()
    print(f"{label}: {len(updated)} acknowledged updates of app {writers.sdkappid}, "
          f"{len(events)} webhook deliveries, {len(events) - len({e.event_id for e in events})} "
          f"of them repeated")


def test_random_failures_under_writers_lose_nothing(cluster_factory, private_redis, sink):
    rounds = int(os.environ.get("SOAK_ROUNDS", "20"))
    seed = int(os.environ.get("SOAK_SEED", str(random.randrange(1 << 31))))
    rng = random.Random(seed)
    print(f"\nsoak: {rounds} failures, SOAK_SEED={seed}")
    cluster = cluster_factory("soak", lease_ms=LEASE_MS, redis=private_redis,
                              node_cls=WebhookServer,
                              # The room events only: a chat veto would slow the chat down.
                              apps=webhook_apps(app1={"callbacks": [{
                                  "url": sink.url(), "commands": [CREATE, UPDATE]}]}))
    sink.diag.append(lambda: cluster.log_tail(30))
    writers = Writers(cluster, n=8, timeout=20.0)
    writers.create_rooms()
    soak(cluster, rng, rounds, FAILURES, [writers], ChatMembers(cluster), "soak")
    check_webhooks(sink, writers, "soak")


def spread_apps(sink_url):
    """APP1 (its room events to the sink) and APP2 of the other tests, and four more, so that
    the apps spread over three nodes."""
    return webhook_apps(app1={"callbacks": [{"url": sink_url, "commands": [CREATE, UPDATE]}]}) + \
        apps_over_three_nodes()[2:]


def test_random_failures_of_app_hosts_lose_nothing(cluster_factory, private_redis, sink):
    """The soak above with placement by app: writers on three apps (each through every node),
    failures striking any node, each node brought back and handed its apps back."""
    rounds = int(os.environ.get("SOAK_ROUNDS", "20"))
    seed = int(os.environ.get("SOAK_SEED", str(random.randrange(1 << 31))))
    rng = random.Random(seed)
    print(f"\nsoak by app: {rounds} failures, SOAK_SEED={seed}")
    apps = spread_apps(sink.url())
    cluster = cluster_factory("soakapps", lease_ms=LEASE_MS, redis=private_redis,
                              node_cls=WebhookServer, apps=apps,
                              cluster_extra={"placement": "app"})
    sink.diag.append(lambda: cluster.log_tail(30))
    writers = [Writers(cluster, n=3, timeout=20.0, sdkappid=a, prefix=f"w{a % 1000}-")
               for a in (APP1, APP2, apps[-1]["sdkappid"])]
    for w in writers:
        w.create_rooms()
    soak(cluster, rng, rounds, APP_FAILURES, writers, ChatMembers(cluster), "soak by app")
    check_webhooks(sink, writers[0], "soak by app")
