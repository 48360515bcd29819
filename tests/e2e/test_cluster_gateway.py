"""Cluster mode (issue #10): gateway members of one room connected to different nodes see the
same events in the same order."""

import re
import threading
import time

import pytest
import requests
import websocket

from cluster import cluster_factory, node_metric  # noqa: F401 (fixture)
from conftest import ADMIN, APP1, gen_usersig, uid
from gateway_client import FAST_GATEWAY, GatewayServer

ROUNDS = 8
LINK_PROTOCOL = 3  # cluster::kLinkProtocol

# Debian 12's websocket-client rejects close codes IANA registered after RFC 6455, such as 1013
# ("try again later", a node that does not lead refusing a link): let the tests read them.
websocket._abnf.VALID_CLOSE_STATUS = (*websocket._abnf.VALID_CLOSE_STATUS, 1012, 1013)


def text_of(msg):
    body = msg["MsgBody"]
    assert len(body) == 1 and body[0]["MsgType"] == "TIMTextElem", msg
    return body[0]["MsgContent"]["Text"]


def member_on(cluster, node, room, user, clients):
    c = node.connect(name=f"{user}@{node.node_id}")
    clients.append(c)
    reply = c.login(APP1, user, gen_usersig(APP1, cluster.keys[APP1], user))
    assert reply["code"] == 0, reply
    c.enter(room)
    return c


def test_members_on_different_nodes_see_the_same_events_in_the_same_order(cluster_factory):
    cluster = cluster_factory("gw", node_cls=GatewayServer, gateway=FAST_GATEWAY)
    rest = cluster.client()
    users = [uid("m") for _ in cluster.nodes]
    rest.call("multiaccount_import", {"Accounts": users})
    room = uid("gwroom")
    rest.must_create(room, Owner_Account=users[0])
    clients = []
    try:
        # Member i on node i: every node writes to its own members.
        members = [member_on(cluster, node, room, user, clients)
                   for node, user in zip(cluster.nodes, users)]
        for m in members:
            m.drain()
        sent, errors, lock = [], [], threading.Lock()

        def chat(i, m):
            for k in range(ROUNDS):
                text = f"{m.user}:{k}"
                reply = m.request("send_text", RoomId=room, Text=text)
                with lock:
                    if reply["code"] == 0:
                        sent.append((reply["data"]["MsgSeq"], m.user, text))
                    else:
                        errors.append(reply)

        def rest_chat():
            c = cluster.client()  # round-robin over the nodes
            for k in range(ROUNDS):
                text = f"rest:{k}"
                reply = c.call("send_text_msg", {"RoomId": room, "Sender_Account": ADMIN,
                                                 "TextContent": text})
                with lock:
                    if reply["ErrorCode"] == 0:
                        sent.append((reply["Response"]["MsgSeq"], ADMIN, text))
                    else:
                        errors.append(reply)
                if k == ROUNDS // 2:  # a room change among the messages, through some node
                    assert c.update(room, Notice="halfway")["ErrorCode"] == 0

        threads = [threading.Thread(target=chat, args=(i, m)) for i, m in enumerate(members)]
        threads.append(threading.Thread(target=rest_chat))
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not errors, errors[:3]
        total = ROUNDS * (len(members) + 1)
        assert len(sent) == total
        sent.sort()
        assert [s[0] for s in sent] == list(range(1, total + 1)), f"MsgSeq not 1..{total}: {sent}"

        views = []
        for m in members:
            m.expect_event("RoomInfoChanged", timeout=10,
                           predicate=lambda d: d["RoomInfo"]["Notice"] == "halfway")
            msgs = [m.expect_event("Message", timeout=10)["data"] for _ in range(total)]
            m.no_event("Message", within=0.2)
            view = [(d["MsgSeq"], d["From_Account"], text_of(d)) for d in msgs]
            assert view == sent, f"{m.name} saw messages out of order or different: {view}"
            # The room change sits at the same place among the messages for everyone.
            order = [(e["event"], e["data"].get("MsgSeq")) for e in m.received
                     if e.get("event") in ("Message", "RoomInfoChanged")]
            views.append(order)
        for m, order in zip(members[1:], views[1:]):
            assert order == views[0], f"{m.name} and {members[0].name} saw different orders"
    finally:
        for c in clients:
            c.close()


def closed_with(ws, timeout=10, reason=None):
    """The close code the server sends on `ws` (None if it stays open for `timeout`). With
    `reason` (a list), the close reason is appended to it."""
    ws.settimeout(timeout)
    try:
        while True:
            opcode, data = ws.recv_data(control_frame=True)
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                if reason is not None:
                    reason.append(data[2:].decode("utf-8", "replace"))
                return int.from_bytes(data[:2], "big") if len(data) >= 2 else 1005
    except websocket.WebSocketTimeoutException:
        return None
    except (websocket.WebSocketConnectionClosedException, ConnectionError):
        return 1006


def test_a_followers_clients_share_one_link_to_the_leader(cluster_factory):
    """Every client of a follower reaches the leader over the follower's one link: the leader has
    a gateway session for each, one connection for all of them, and a broadcast reaches each."""
    cluster = cluster_factory("link", node_cls=GatewayServer, gateway=FAST_GATEWAY)
    leader = cluster.leader()
    follower = cluster.followers()[0]
    rest = cluster.node_client(leader)
    users = [uid("l") for _ in range(12)]
    rest.call("multiaccount_import", {"Accounts": users})
    room = uid("linkroom")
    rest.must_create(room, Owner_Account=users[0])
    connections_before = node_metric(leader, "liveroom_connections")
    clients = []
    try:
        for user in users:
            c = follower.connect(name=user)
            clients.append(c)
            assert c.login(APP1, user, gen_usersig(APP1, cluster.keys[APP1], user))["code"] == 0
            c.enter(room)
        assert node_metric(leader, "liveroom_gateway_sessions") == len(users)
        # Only the follower's links (one per I/O thread of its: two here) are connections.
        assert node_metric(leader, "liveroom_connections") - connections_before <= 2
        # Each node's /metrics is its own: the follower holds the clients and carries them.
        assert node_metric(leader, "liveroom_cluster_leader") == 1
        assert node_metric(follower, "liveroom_cluster_leader") == 0
        # The leader's scrape shows its node's own families too (its PostgreSQL and Redis
        # connections), each family once.
        assert node_metric(leader, "liveroom_cluster_postgres_connections") >= 1
        assert node_metric(leader, "liveroom_cluster_redis_round_trips_total") > 0
        for node in (leader, follower):
            text = requests.get(f"http://127.0.0.1:{node.port}/metrics", timeout=5).text
            families = re.findall(r"^# TYPE (\S+) ", text, re.M)
            assert len(families) == len(set(families)), sorted(families)
            assert len(re.findall(r"^liveroom_connections ", text, re.M)) == 1
        assert node_metric(follower, "liveroom_cluster_link_clients") == len(users)
        assert node_metric(follower, "liveroom_connections") >= len(users)
        reply = rest.call("send_text_msg", {"RoomId": room, "Sender_Account": ADMIN,
                                            "TextContent": "to all"})
        assert reply["ErrorCode"] == 0, reply
        for c in clients:
            msg = c.expect_event("Message", timeout=10,
                                 predicate=lambda d: text_of(d) == "to all")["data"]
            assert msg["MsgSeq"] == reply["Response"]["MsgSeq"]
        # A client that leaves is gone from the leader too.
        clients.pop().close()
        deadline = time.time() + 10
        while (node_metric(leader, "liveroom_gateway_sessions") != len(users) - 1
               or node_metric(follower, "liveroom_cluster_link_clients") != len(users) - 1):
            assert time.time() < deadline, "the leader kept the closed client's session"
            time.sleep(0.05)
    finally:
        for c in clients:
            c.close()


def test_only_nodes_of_the_cluster_may_open_a_link(cluster_factory):
    """A link carries clients with the addresses it names, so only a node that knows the
    cluster's secret (from PostgreSQL) may open one, and only to the leader."""
    cluster = cluster_factory("linksecret", node_cls=GatewayServer, gateway=FAST_GATEWAY)
    leader = cluster.leader()
    secret = cluster.pg.sql("SELECT secret FROM cluster_secret", db=cluster.database)
    assert len(secret) == 64

    def link(node, query):
        return websocket.create_connection(f"ws://127.0.0.1:{node.port}/cluster/link?{query}",
                                           timeout=10)

    wrong_last = "1" if secret.endswith("0") else "0"  # (a fixed digit could be the right one)
    for query in ("node=x", "node=x&secret=", f"node=x&secret={secret[:-1]}{wrong_last}",
                  f"node=x&secret={secret}x"):
        ws = link(leader, query)
        assert closed_with(ws) == 1008, query
        ws.close()
    # A follower does not lead: "try again later", and the follower holds the link's calls.
    ws = link(cluster.followers()[0], f"node=x&protocol={LINK_PROTOCOL}&secret={secret}")
    reason = []
    assert closed_with(ws, reason=reason) == 1013, "a follower accepted a link"
    assert reason == ["this node does not lead"], reason
    ws.close()
    # A node of another version (another link protocol, or none named) is told why.
    for protocol in (f"&protocol={LINK_PROTOCOL + 1}", f"&protocol={LINK_PROTOCOL - 1}",
                     "&protocol=", ""):
        ws = link(leader, f"node=x{protocol}&secret={secret}")
        reason = []
        assert closed_with(ws, reason=reason) == 1008, protocol
        assert reason[0].startswith(f"link protocol {LINK_PROTOCOL} here, "), reason
        assert "run one liveroomd version in the cluster" in reason[0], reason
        ws.close()
    ws = link(leader, f"node=x&protocol={LINK_PROTOCOL}&secret={secret}")
    try:
        ws.send("P 0 0\n")
        assert closed_with(ws, timeout=1) is None, "the leader closed a good link"
        ws.send("D 1 999\nnot that long")
        assert closed_with(ws) == 1002, "a malformed record was accepted"
    finally:
        ws.close()


def reenter(cluster, user, room, timeout=25):
    """What the JS client does after its connection broke: reconnect through the balancer (the
    next node) and enter again, retrying while the cluster recovers."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        c = None
        try:
            c = cluster.connect(name=f"{user} again")
            reply = c.login(APP1, user, gen_usersig(APP1, cluster.keys[APP1], user))
            if reply["code"] == 0:
                return c, c.enter(room)
            last = reply
        except Exception as e:  # noqa: BLE001 (refused, closed with 1012, ...: retry)
            last = e
        if c is not None:
            c.close()
        time.sleep(0.3)
    raise AssertionError(f"{user} could not get back into {room}: {last}")


@pytest.mark.parametrize("victim", ["leader", "follower"])
def test_clients_of_a_killed_node_get_their_seat_and_role_back_elsewhere(cluster_factory, victim):
    """kill -9 of the node a member is connected to (the leader itself, or a follower whose link
    carried it): it reconnects through another node within the presence grace period and is in
    its room again with its seat and its role."""
    cluster = cluster_factory("back", node_cls=GatewayServer,
                              gateway={"presence_grace_ms": 30_000, "member_batch_ms": 100})
    leader = cluster.leader()
    node = leader if victim == "leader" else cluster.followers()[0]
    rest = cluster.client()
    owner, guest = uid("o"), uid("g")
    rest.call("multiaccount_import", {"Accounts": [owner, guest]})
    room = uid("back")
    rest.must_create(room, Owner_Account=owner, SeatTemplate="VideoDynamicGrid9Seats")
    clients = []
    try:
        o = member_on(cluster, node, room, owner, clients)
        g = member_on(cluster, node, room, guest, clients)
        o.ok("set_admin", RoomId=room, Member_Account=guest, IsAdmin=True)
        assert g.ok("take_seat", RoomId=room, Index=2)
        cluster.kill9(node)
        g.wait_closed(timeout=10)
        g2, entered = reenter(cluster, guest, room)
        clients.append(g2)
        assert entered["Recovered"] is True, entered
        assert entered["Role"] == "Admin", entered
        assert entered["SeatList"][2].get("Member_Account") == guest, entered["SeatList"]
        # and the room goes on: its seat list, through any node, still has the guest
        seats = cluster.client().ok("room_engine_http_mic/get_seat_list", {"RoomId": room})
        assert seats["SeatList"][2].get("Member_Account") == guest
    finally:
        for c in clients:
            c.close()
