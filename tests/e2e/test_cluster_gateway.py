"""Cluster mode (issue #10): gateway members of one room connected to different nodes see the
same events in the same order."""

import threading

from cluster import cluster_factory  # noqa: F401 (fixture)
from conftest import ADMIN, APP1, gen_usersig, uid
from gateway_client import FAST_GATEWAY, GatewayServer

ROUNDS = 8


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
        # Member i on node i: every node relays to its own members.
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
