"""The /demo/ page and clients/js/liveroom.js in headless Chromium against the real liveroomd.

Two pages enter one room through the query-string prefill; page A chats, takes a seat and
likes; page B must show all of it. drive.mjs (Playwright, Debian's chromium) does the clicking
and reports a JSON result that this test checks.

Needs node, `npm ci` in tests/browser (playwright-core) and /usr/bin/chromium (LIVEROOM_CHROMIUM
overrides the path). Run: /usr/bin/python3 -m pytest tests/browser
"""

import json
from pathlib import Path

import requests

from browser_support import e2e
from browser_support import browser_tools, module_server, run_driver, server  # noqa: F401 (fixtures)

REPO = Path(__file__).resolve().parents[2]


def test_demo_files_are_served(module_server):
    """/demo/ is the page, /demo/liveroom.js the module as it is in clients/js (embedded at build
    time: a stale copy would test old code)."""
    base = module_server.base_url
    page = requests.get(base + "/demo/", timeout=5)
    assert page.status_code == 200, page.status_code
    assert page.headers["Content-Type"].startswith("text/html"), page.headers
    assert 'id="join-form"' in page.text
    files = [("demo.js", "javascript"), ("demo.css", "text/css"), ("liveroom.js", "javascript")]
    for name, kind in files:
        r = requests.get(f"{base}/demo/{name}", timeout=5)
        assert r.status_code == 200, (name, r.status_code)
        assert kind in r.headers["Content-Type"], (name, r.headers["Content-Type"])
    served = requests.get(base + "/demo/liveroom.js", timeout=5).content
    assert served == (REPO / "clients" / "js" / "liveroom.js").read_bytes(), \
        "/demo/liveroom.js differs from clients/js/liveroom.js (rebuild liveroomd)"


def test_two_pages_chat_and_seat(server, run_driver, tmp_path):
    room = e2e.uid("demo")
    alice, bob = e2e.uid("alice"), e2e.uid("bob")
    for user in (alice, bob):
        server.import_account(user)
    server.must_create(room, RoomName="Browser test", SeatTemplate="VideoDynamicGrid9Seats",
                       TakeSeatMode="FreeToTake")
    text = f"hello from {alice} <b>not bold</b> ✓"
    gift = {"id": e2e.uid("g"), "name": "Rocket", "coins": 50}
    server.ok("add_gift", {"GiftId": gift["id"], "DefaultName": gift["name"], "Coins": gift["coins"]})
    config = {
        "baseUrl": server.base_url,
        "sdkappid": e2e.APP1,
        "roomId": room,
        # Signed here, as an app backend would: the page only receives them.
        "userA": {"id": alice, "sig": e2e.gen_usersig(e2e.APP1, e2e.KEY1, alice)},
        "userB": {"id": bob, "sig": e2e.gen_usersig(e2e.APP1, e2e.KEY1, bob)},
        "text": text,
        "gift": gift,
        "screenshotDir": str(tmp_path),
    }
    result = run_driver("drive.mjs", config)
    report = (json.dumps(result, indent=2, ensure_ascii=False)
              + f"\n--- liveroomd log\n{server.log_tail(40)}")
    assert result["exitCode"] == 0 and result["ok"], report

    failed = [name for name, c in result["checks"].items() if not c["ok"]]
    assert not failed, report
    assert result["pageErrors"] == [], report
    # B's chat line holds A's text exactly as typed: the page sets text, never HTML.
    assert text in result["checks"]["B sees the message"]["detail"], report
    # The gift button shows its name and price; the effect names the gift, the sender and Count.
    assert result["checks"]["A sends five gifts"]["detail"] == "Rocket · 50", report
    fx = result["checks"]["B sees the gift effect"]["detail"]
    assert alice in fx and "Rocket" in fx and "×5" in fx, report

    # The same live state over REST: the seat A took in the browser (A is offline now, within
    # the presence grace period, and keeps it) and the message in the room's statistics.
    mic = "room_engine_http_mic/get_seat_list"
    seats = server.ok(mic, {"RoomId": room})["SeatList"]
    assert [s["Index"] for s in seats if s.get("Member_Account") == alice] == \
        [result["checks"]["B sees A on a seat"]["detail"]], seats
    stats = server.ok("get_room_statistic", {"RoomId": room})
    assert (stats["TotalGiftsSent"], stats["TotalGiftCoins"], stats["TotalUniqueGiftSenders"]) == \
        (5, 250, 1), stats
