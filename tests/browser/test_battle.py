"""A PK battle between two rooms in headless Chromium, through the /demo/ page and
clients/js/liveroom.js against the real liveroomd: the hosts connect their rooms and battle, a fan
in each room sends a gift, every page shows the live scores and the winner (battle.mjs does the
clicking). The REST side must agree: each room's gift coins, and the ended battle's scores."""

import json

from browser_support import e2e
from browser_support import browser_tools, module_server, run_driver, server  # noqa: F401 (fixtures)

BATTLE_MS = 4000


def test_two_rooms_battle_with_gifts_from_their_audiences(server, run_driver, tmp_path):
    room_a, room_b = e2e.uid("pka"), e2e.uid("pkb")
    users = {name: e2e.uid(name) for name in ("hostA", "hostB", "fanA", "fanB")}
    for user in users.values():
        server.import_account(user)
    server.must_create(room_a, RoomName="Room A", Owner_Account=users["hostA"])
    server.must_create(room_b, RoomName="Room B", Owner_Account=users["hostB"])
    big = {"id": e2e.uid("big"), "coins": 300}
    small = {"id": e2e.uid("small"), "coins": 20}
    for gift, name in ((big, "Castle"), (small, "Heart")):
        server.ok("add_gift", {"GiftId": gift["id"], "DefaultName": name, "Coins": gift["coins"]})
    config = {
        "baseUrl": server.base_url,
        "sdkappid": e2e.APP1,
        "roomA": room_a,
        "roomB": room_b,
        **{name: {"id": user, "sig": e2e.gen_usersig(e2e.APP1, e2e.KEY1, user)}
           for name, user in users.items()},
        "bigGift": big,
        "smallGift": small,
        "battleMs": BATTLE_MS,
        "screenshotDir": str(tmp_path),
    }
    result = run_driver("battle.mjs", config)
    report = (json.dumps(result, indent=2, ensure_ascii=False)
              + f"\n--- liveroomd log\n{server.log_tail(40)}")
    assert result["exitCode"] == 0 and result["ok"], report
    assert result["pageErrors"] == [], report
    assert result["checks"]["every page sees the winner"]["detail"] == f"Winner: {room_a}", report

    for room, gift in ((room_a, big), (room_b, small)):
        stats = server.ok("get_room_statistic", {"RoomId": room})
        assert (stats["TotalGiftsSent"], stats["TotalGiftCoins"]) == (1, gift["coins"]), stats
