"""clients/js/liveroom.js against the real liveroomd, run inside headless Chromium by
client_live.mjs: login errors, error replies as rejections, a burst of messages (frames holding
several objects), reconnect with the seat recovered, LoggedInElsewhere, an ApplyToTake request,
kick and dismiss.

Run: /usr/bin/python3 -m pytest tests/browser (needs node, chromium and `npm ci` there).
"""

import json

from browser_support import e2e
from browser_support import browser_tools, run_driver, server  # noqa: F401 (fixtures)


def test_client_against_liveroomd(server, run_driver):
    owner, a, b = e2e.uid("owner"), e2e.uid("alice"), e2e.uid("bob")
    for user in (owner, a, b):
        server.import_account(user)
    room, apply_room = e2e.uid("free"), e2e.uid("apply")
    server.must_create(room, Owner_Account=owner, SeatTemplate="VideoDynamicGrid9Seats",
                       TakeSeatMode="FreeToTake")
    server.must_create(apply_room, Owner_Account=owner, SeatTemplate="VideoDynamicGrid9Seats",
                       TakeSeatMode="ApplyToTake")

    def user(identifier):
        return {"id": identifier, "sig": e2e.gen_usersig(e2e.APP1, e2e.KEY1, identifier)}

    result = run_driver("client_live.mjs", {
        "baseUrl": server.base_url, "sdkappid": e2e.APP1, "room": room, "applyRoom": apply_room,
        "owner": user(owner), "a": user(a), "b": user(b),
    })
    report = (json.dumps(result, indent=2, ensure_ascii=False)
              + f"\n--- liveroomd log\n{server.log_tail(40)}")
    failed = [name for name, c in result.get("checks", {}).items() if not c["ok"]]
    assert result["exitCode"] == 0 and result["ok"] and not failed, report
    assert len(result["checks"]) == 9, report
