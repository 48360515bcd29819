"""Cluster mode: a leader that stops cleanly (a rolling upgrade, a planned restart) hands over
without failing a call that reaches the surviving nodes, and calls that arrive while no leader
can take them wait for the next one instead of being refused (issue #10; docs/cluster.md,
"Stopping the leader").

These start their own clusters; the session's PostgreSQL and Redis are shared."""

import socket
import threading
import time

from cluster import Writers, cluster_factory, node_metric  # noqa: F401 (fixture)
from conftest import APP1, gen_usersig
from gateway_client import FAST_GATEWAY, GatewayServer

LEASE_MS = 2000




def test_a_leader_stopped_cleanly_hands_over_without_failing_a_call(cluster_factory):
    cluster = cluster_factory("handover", lease_ms=LEASE_MS)
    leader = cluster.leader()
    followers = [n for n in cluster.nodes if n is not leader]
    # The writers talk to the followers only: the leader's own connections close as it stops.
    writers = Writers.through_followers(cluster, leader, n=8, timeout=15.0)
    exit_status = {}

    def stop_the_leader():
        leader.send_sigterm()
        exit_status["rc"] = leader.wait_exit(15.0)

    stopped_at, first_again = writers.around(stop_the_leader, warm_up=1.5, min_acks=20)
    slowest = max(done - sent for sent, done, _ in writers.acks_after(stopped_at - 1.0))
    print(f"SIGTERM to {leader.node_id}: {writers.summary()}; first write acknowledged "
          f"{first_again - stopped_at:.2f} s after the signal; the slowest took {slowest:.2f} s")
    assert exit_status["rc"] == 0, leader.log_tail()
    writers.check_no_violation()
    # Every call that reached a follower was answered by the old leader or the new one.
    assert not writers.refusals, (
        f"calls were refused during the handover: {writers.refusals[:3]}")
    assert "stepped down" in leader.log_tail(200), leader.log_tail(40)
    new_leader = cluster.leader(exclude=[leader])
    assert new_leader in followers
    assert cluster.ready_as_leader() == [new_leader]
    writers.check_every_ack_visible(cluster.client())
    # The stopped node comes back as a follower of the new leader.
    cluster.start_node(leader)
    assert cluster.leader() is new_leader
    writers.check_every_ack_visible(cluster.node_client(leader))


def test_a_node_that_is_stopping_takes_no_lease(cluster_factory):
    """Both nodes stopped together (a careless rolling restart): the follower, still draining
    when the leader releases the lease, does not take it. It would hold it, serving nothing,
    until it exits, while a node that stays waited for it."""
    cluster = cluster_factory("stoptake", lease_ms=LEASE_MS, nodes=2)
    leader = cluster.leader()
    follower = next(n for n in cluster.nodes if n is not leader)
    # A request begun and never finished keeps the follower draining (read_timeout_ms, 10 s).
    begun = socket.create_connection(("127.0.0.1", follower.port))
    try:
        begun.sendall(b"POST /v4/live_engine_http_srv/get_room_info HTTP/1.1\r\n"
                      b"Host: x\r\nContent-Length: 100\r\n\r\n{")
        time.sleep(0.2)
        follower.send_sigterm()
        time.sleep(0.3)
        leader.send_sigterm()
        assert leader.wait_exit(15) == 0, leader.log_tail()
        released_at = time.monotonic()
        assert follower.alive(), "the follower did not wait for the request it had begun"
        # The follower looks at the lease every lease_ms / 3 while it drains.
        while time.monotonic() - released_at < 2 * LEASE_MS / 1000:
            value = cluster.redis.cli("GET", f"{cluster.key_prefix}:leader", timeout=3)
            assert follower.node_id not in value, f"the stopping follower took the lease: {value}"
            time.sleep(0.1)
        assert follower.alive()
    finally:
        begun.close()
    assert follower.wait_exit(15) == 0, follower.log_tail()
    assert "holds the leadership lease" not in follower.log_tail(400).split(
        "draining")[-1], follower.log_tail(60)


def test_a_follower_holds_calls_while_no_leader_is_elected(cluster_factory):
    """Every node stopped but one follower: its calls wait for a leader, and the one that
    arrives (the follower itself, once the lease is free) answers them."""
    cluster = cluster_factory("hold", lease_ms=LEASE_MS, nodes=2)
    leader = cluster.leader()
    follower = next(n for n in cluster.nodes if n is not leader)
    c = cluster.node_client(follower)
    room = "held-room"
    c.must_create(room)
    # kill -9: the lease stays in Redis until it expires, and the follower waits two looks more.
    leader.kill9()
    sent = time.monotonic()
    result = {}
    call = threading.Thread(target=lambda: result.update(
        reply=c.raw("get_room_info", {"RoomId": room}, timeout=15).json(),
        waited=time.monotonic() - sent))
    call.start()
    # Meanwhile the follower's /metrics shows it held.
    held = 0.0
    while call.is_alive() and held < 1:
        held = max(held, node_metric(follower, "liveroom_cluster_held_calls", absent=0.0))
        time.sleep(0.01)
    call.join(20)
    print(f"the call waited {result['waited']:.2f} s for the new leader")
    assert result["reply"]["ErrorCode"] == 0, result
    assert held >= 1, "the held call never showed in liveroom_cluster_held_calls"
    assert cluster.leader() is follower
    # It waited for the takeover (the lease had up to lease_ms left), not for nothing.
    assert result["waited"] > 0.2, result


def test_a_new_cluster_takes_its_first_lease_at_the_first_look(cluster_factory):
    """No node of a new cluster has led (the epoch is 0), so none can be renewing an absent
    lease: the first look takes it. After a leader is lost a node waits for a second look,
    lease_ms / 3 later; with these 5 s between looks, that wait would show."""
    lease_ms = 15000
    started = time.monotonic()
    cluster = cluster_factory("first", lease_ms=lease_ms)
    ready_after = time.monotonic() - started
    print(f"a new cluster served {ready_after:.2f} s after its nodes started")
    assert ready_after < lease_ms / 3 / 1000, cluster.log_tail(20)
    assert cluster.client().call("get_room_info", {"RoomId": "nope"})["ErrorCode"] == 100004


def gateway_pair(cluster_factory, name, room):
    """Two gateway nodes (the leader and a follower) and a room created through the follower."""
    cluster = cluster_factory(name, lease_ms=LEASE_MS, nodes=2, node_cls=GatewayServer,
                              gateway=FAST_GATEWAY)
    leader = cluster.leader()
    follower = next(n for n in cluster.nodes if n is not leader)
    cluster.node_client(follower).must_create(room)
    return cluster, leader, follower


def test_a_client_that_connects_while_no_leader_serves_waits_for_one(cluster_factory):
    """A client connecting to a follower during a takeover is held, and what it sent meanwhile
    (its login, an entry) is answered in order once the new leader serves. Right after the
    kill the lease still names the dead leader: the link to it never opens, and the client is
    routed again rather than closed."""
    cluster, leader, follower = gateway_pair(cluster_factory, "holdclient", "held-client-room")
    leader.kill9()
    started = time.monotonic()
    c = follower.connect(name="held", timeout=15)
    try:
        login = c.login(APP1, "held-user", gen_usersig(APP1, cluster.keys[APP1], "held-user"))
        waited = time.monotonic() - started
        assert login["code"] == 0, login
        c.enter("held-client-room")
        print(f"the client waited {waited:.2f} s for the new leader")
        assert waited > 0.2, waited  # it was held through the takeover, not served at once
        assert cluster.leader() is follower
    finally:
        c.close()


def test_a_client_refused_by_a_node_that_does_not_lead_is_routed_again(cluster_factory):
    """The leader is killed and its process restarted on the same address before its lease
    expired: the lease names a node that is up but does not lead, which refuses links (1013)
    before accepting any. A client held on the follower meanwhile is not closed: it is routed
    again until the lease moves, and the next leader serves what it sent."""
    cluster, leader, follower = gateway_pair(cluster_factory, "refusedclient",
                                             "refused-client-room")
    leader.kill9()
    leader.start()  # its own /healthz only: it cannot be ready before a leader serves
    c = follower.connect(name="refused", timeout=15)
    try:
        login = c.login(APP1, "refused-user", gen_usersig(APP1, cluster.keys[APP1], "refused-user"))
        assert login["code"] == 0, login
        c.enter("refused-client-room")
    finally:
        c.close()
    # The client's link did reach the restarted node, which refused it as a node that does not
    # lead (its lease had not expired yet), and the client still got its answers.
    log = follower.log_tail(400)
    assert "took no call or client (the leader closed the link (1013" in log, log
    assert "told to reconnect" not in log, log
    cluster.wait_ready()


def test_a_follower_that_stops_answers_the_calls_it_holds(cluster_factory):
    """SIGTERM to a follower holding a call for a leader that will not come: it answers the
    call (100001, saying it stops) and exits, instead of keeping it until failover_wait_ms."""
    cluster = cluster_factory("stophold", lease_ms=LEASE_MS, nodes=2)
    leader = cluster.leader()
    follower = next(n for n in cluster.nodes if n is not leader)
    leader.kill9()
    # The lease names a node that does not exist, for longer than the test: nobody takes over.
    cluster.redis.cli("SET", f"{cluster.key_prefix}:leader", "ghost 0 http://127.0.0.1:9",
                      "PX", "120000")
    result = {}
    c = cluster.node_client(follower)
    call = threading.Thread(target=lambda: result.update(
        reply=c.raw("get_room_info", {"RoomId": "any"}, timeout=30).json()))
    call.start()
    deadline = time.monotonic() + 10
    while node_metric(follower, "liveroom_cluster_held_calls") < 1:
        assert time.monotonic() < deadline, "the call was never held"
        time.sleep(0.01)
    follower.send_sigterm()
    assert follower.wait_exit(15) == 0, follower.log_tail()
    call.join(20)
    reply = result["reply"]
    assert reply["ErrorCode"] == 100001, reply
    assert "this node is stopping" in reply["ErrorInfo"], reply


def test_without_a_wait_calls_are_refused_at_once(cluster_factory):
    cluster = cluster_factory("nohold", lease_ms=LEASE_MS, nodes=2,
                              cluster_extra={"failover_wait_ms": 0})
    leader = cluster.leader()
    follower = next(n for n in cluster.nodes if n is not leader)
    c = cluster.node_client(follower)
    leader.kill9()
    time.sleep(0.3)  # the follower's link has seen the leader go
    reply = c.raw("get_room_info", {"RoomId": "any"}, timeout=15).json()
    assert reply["ErrorCode"] == 100001, reply
    assert "retry" in reply["ErrorInfo"], reply
    assert node_metric(follower, "liveroom_cluster_calls_refused_total") == 1
