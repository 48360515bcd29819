"""A sent gift is a durable fact: kill -9 during a gift storm from several senders, restart, let
each sender retry the one send whose reply it lost (same Random), and the room's statistics equal
exactly the gifts that were acknowledged: none lost, none counted twice."""

import threading
import time

from conftest import APP1, KEY1, gen_usersig, uid
from gateway_client import GatewayClient

SENDERS = 4
COINS = 7


def connect(server, user, room):
    c = GatewayClient(server.port, name=user, timeout=5)
    assert c.login(APP1, user, gen_usersig(APP1, KEY1, user))["code"] == 0
    c.enter(room)
    return c


def test_kill9_during_a_gift_storm_loses_and_doubles_nothing(server):
    rest = server.client()
    rest.import_account("host")
    room = uid("storm")
    rest.must_create(room, Owner_Account="host")
    gift = uid("g")
    rest.ok("add_gift", {"GiftId": gift, "DefaultName": "Star", "Coins": COINS})

    acked = {}      # (sender, Random) -> (count, coins)
    in_flight = {}  # sender -> (Random, count) sent without a reply
    lock = threading.Lock()
    senders = [f"sender{i}" for i in range(SENDERS)]
    clients = {user: connect(server, user, room) for user in senders}

    def storm(user):
        c = clients[user]
        for n in range(1, 100_000):
            random, count = n, 1 + n % 3
            with lock:
                in_flight[user] = (random, count)
            try:
                data = c.ok("send_gift", RoomId=room, GiftId=gift, Count=count, Random=random)
            except (AssertionError, OSError):
                return  # the server died under us: this send's outcome is unknown
            with lock:
                acked[(user, random)] = (count, data["Coins"])
                del in_flight[user]

    threads = [threading.Thread(target=storm, args=(u,)) for u in senders]
    for t in threads:
        t.start()
    time.sleep(1.5)
    server.kill9()
    for t in threads:
        t.join(timeout=10)
    for c in clients.values():
        c.close()
    assert len(acked) > 50, f"too few gifts before the kill: {len(acked)}"

    server.start()
    repeated = 0
    for user, (random, count) in sorted(in_flight.items()):
        c = connect(server, user, room)
        data = c.ok("send_gift", RoomId=room, GiftId=gift, Count=count, Random=random)
        repeated += data["Repeated"]
        acked[(user, random)] = (count, data["Coins"])
        c.close()

    stats = rest.ok("get_room_statistic", {"RoomId": room})
    assert stats["TotalGiftsSent"] == sum(count for count, _ in acked.values())
    assert stats["TotalGiftCoins"] == sum(coins for _, coins in acked.values())
    assert stats["TotalGiftCoins"] == COINS * stats["TotalGiftsSent"]
    assert stats["TotalUniqueGiftSenders"] == len({user for user, _ in acked})
    print(f"{len(acked)} gifts acknowledged, {len(in_flight)} retried after the kill "
          f"({repeated} had been counted before it)")
