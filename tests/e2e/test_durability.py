"""Durability and concurrency: clean restarts, kill -9 under load (every acknowledged write
survives), many clients on the same rooms."""

import threading
import time

import requests

from conftest import ADMIN2, APP2, assert_error


def stable(info):
    return {k: v for k, v in info.items() if k not in ("MemberCount", "OnlineCount")}


def test_everything_survives_clean_restart(server):
    c = server.client()
    c2 = server.client(sdkappid=APP2)
    c.import_account("anchor_1", Nick="Anchor One", FaceUrl="https://f/1.png")
    assert c.call("portrait_set", {"From_Account": "anchor_1", "ProfileItem": [
        {"Tag": "Tag_Profile_IM_Role", "Value": 1}, {"Tag": "Tag_Profile_Custom_X", "Value": "y"}]})["ErrorCode"] == 0
    c.import_account("to_delete")
    assert c.call("account_delete", {"DeleteItem": [{"UserID": "to_delete"}]})["ErrorCode"] == 0
    c.must_create("full", Owner_Account="anchor_1", RoomName="全部 fields", SeatTemplate="AudioSalon",
                  MaxSeatCount=12, TakeSeatMode="ApplyToTake", MaxMemberCount=321, IsMessageDisabled=True,
                  IsPublicVisible=True, CoverURL="https://c", BackgroundURL="https://b", Notice="notice",
                  CustomInfo='{"k":"v"}', Category=[1, 2, 3], ActivityStatus=7, IsLikeEnabled=False,
                  IsGiftEnabled=False, IsUnlimitedRoomEnabled=True, KeepOwnerOnSeat=True)
    assert c.update("full", Notice="updated notice", RoomName="")["ErrorCode"] == 0
    c.set_metadata("full", [("a", "1"), ("b", "2"), ("c", "3")])
    c.call("del_room_metadata", {"RoomId": "full", "Keys": ["b"]})
    c.must_create("private", IsPublicVisible=False)
    c.must_create("doomed")
    c.set_metadata("doomed", [("x", "y")])
    assert c.call("destroy_room", {"RoomId": "doomed"})["ErrorCode"] == 0
    c2.must_create("app2-room", Owner_Account="auto_imported")
    for i in range(25):
        c.must_create(f"bulk{i:02d}")

    def snapshot():
        rooms = {r: stable(c.room_info(r)) for r in ["full", "private"] + [f"bulk{i:02d}" for i in range(25)]}
        listing = []
        nxt = ""
        while True:
            resp = c.ok("get_room_list", {"Next": nxt, "Count": 7})
            listing += [e["RoomId"] for e in resp.get("RoomList", [])]
            nxt = resp["Next"]
            if not nxt:
                break
        prof = c.call("portrait_get", {"To_Account": ["anchor_1"], "TagList": [
            "Tag_Profile_IM_Nick", "Tag_Profile_IM_Image", "Tag_Profile_IM_Role", "Tag_Profile_Custom_X"]})
        checks = c.call("account_check", {"CheckItem": [{"UserID": u} for u in ("anchor_1", "to_delete", "ghost")]})
        return {
            "rooms": rooms,
            "meta": c.metadata("full"),
            "list": listing,
            "profile": prof["UserProfileItem"],
            "accounts": [i["AccountStatus"] for i in checks["ResultItem"]],
            "app2": stable(c2.room_info("app2-room")),
            "app2acct": c2.call("account_check", {"CheckItem": [{"UserID": "auto_imported"}]})["ResultItem"][0]["AccountStatus"],
        }

    before = snapshot()
    assert before["meta"] == [("a", "1"), ("c", "3")]
    assert before["accounts"] == ["Imported", "NotImported", "NotImported"]
    assert before["rooms"]["full"]["RoomName"] == "full"
    assert "private" not in before["list"] and "full" in before["list"]
    server.restart()
    after = snapshot()
    assert after == before
    assert_error(c.call("get_room_info", {"RoomId": "doomed"}), 100004)
    assert_error(c.call("get_room_metadata", {"RoomId": "doomed", "Keys": []}), 100004)
    # a second restart, after more writes, is just as good
    assert c.update("full", Notice="after restart")["ErrorCode"] == 0
    server.restart()
    assert c.room_info("full")["Notice"] == "after restart"
    assert_error(c.create_room("full", Owner_Account="anchor_1"), 100010)
    assert_error(c.create_room("full"), 100003)


def test_kill9_under_concurrent_load(server):
    """16 threads create rooms, update them, set metadata, import accounts and destroy rooms for
    ~3 s; SIGKILL mid-load; after a restart every acknowledged write is there (its value or a
    later attempted one — a write in flight at the kill may or may not have landed)."""
    c = server.client()
    n_threads, duration = 16, 3.0
    stop = threading.Event()
    killed = threading.Event()
    rooms_state = {}     # rid -> per-room record (each room is written by one thread only)
    accounts = {}        # uid -> acked?
    lock = threading.Lock()
    counts = {"acked": 0, "errors": 0}
    early_failures = []  # failures before the kill are server bugs

    def note(reply):
        if reply["ErrorCode"] == 0:
            with lock:
                counts["acked"] += 1
            return True
        if not killed.is_set():
            early_failures.append(reply)
        return False

    def worker(t):
        i = 0
        live = []
        while not stop.is_set():
            i += 1
            op = i % 10
            try:
                if op == 0 or not live:
                    rid = f"k{t:02d}-{i:05d}"
                    st = {"created": False, "name_acked": 0, "name_tried": 0, "meta_acked": 0,
                          "meta_tried": 0, "destroy_tried": False, "destroyed": False}
                    with lock:
                        rooms_state[rid] = st
                    if note(c.create_room(rid, RoomName="v0")):
                        st["created"] = True
                        live.append(rid)
                elif op == 1:
                    u = f"acc{t:02d}-{i:05d}"
                    with lock:
                        accounts[u] = False
                    if note(c.call("account_import", {"UserID": u, "Nick": u})):
                        accounts[u] = True
                elif op == 2 and len(live) > 3:
                    rid = live.pop(0)
                    st = rooms_state[rid]
                    st["destroy_tried"] = True
                    if note(c.call("destroy_room", {"RoomId": rid})):
                        st["destroyed"] = True
                else:
                    rid = live[i % len(live)]
                    st = rooms_state[rid]
                    if i % 2:
                        seq = st["name_tried"] = st["name_tried"] + 1
                        if note(c.update(rid, RoomName=f"v{seq}")):
                            st["name_acked"] = seq
                    else:
                        seq = st["meta_tried"] = st["meta_tried"] + 1
                        if note(c.set_metadata(rid, [("seq", str(seq)), (f"k{seq % 3}", str(seq))])):
                            st["meta_acked"] = seq
            except (requests.RequestException, ValueError, AssertionError) as e:
                with lock:
                    counts["errors"] += 1
                if not killed.is_set():
                    early_failures.append(repr(e))
                if killed.is_set():
                    return
                time.sleep(0.01)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(n_threads)]
    for t in threads:
        t.start()
    time.sleep(duration)
    killed.set()
    server.kill9()  # while the workers are still writing
    time.sleep(0.2)
    stop.set()
    for t in threads:
        t.join()
    assert not early_failures, early_failures[:3]
    assert counts["acked"] > 300, f"too little load to mean anything: {counts}"

    print(f"kill -9 load: {counts}, rooms {len(rooms_state)}, accounts {len(accounts)}")
    server.start()
    missing, stale, resurrected = [], [], []
    for rid, st in rooms_state.items():
        reply = c.call("get_room_info", {"RoomId": rid})
        if st["destroyed"]:
            if reply["ErrorCode"] != 100004:
                resurrected.append(rid)
            continue
        if not st["created"] or st["destroy_tried"]:
            assert reply["ErrorCode"] in (0, 100004), reply  # in flight at the kill: either way
            continue
        if reply["ErrorCode"] != 0:
            missing.append((rid, reply["ErrorCode"]))
            continue
        name = reply["Response"]["RoomInfo"]["RoomName"]
        seq = int(name[1:])
        if not (st["name_acked"] <= seq <= st["name_tried"]):
            stale.append((rid, "RoomName", name, st))
        meta = dict(c.metadata(rid))
        mseq = int(meta.get("seq", "0"))
        if not (st["meta_acked"] <= mseq <= st["meta_tried"]):
            stale.append((rid, "Metadata", meta, st))
        elif mseq:
            assert meta.get(f"k{mseq % 3}") == str(mseq), ("a metadata write is atomic", rid, meta)
    acked_accounts = [u for u, ok in accounts.items() if ok]
    lost_accounts = []
    for k in range(0, len(acked_accounts), 100):
        chunk = acked_accounts[k:k + 100]
        reply = c.call("account_check", {"CheckItem": [{"UserID": u} for u in chunk]})
        lost_accounts += [i["UserID"] for i in reply["ResultItem"] if i["AccountStatus"] != "Imported"]
    assert not missing, f"{len(missing)} acknowledged rooms lost after kill -9: {missing[:5]}"
    assert not resurrected, f"{len(resurrected)} acknowledged destroys undone after kill -9: {resurrected[:5]}"
    assert not stale, f"{len(stale)} acknowledged writes lost after kill -9: {stale[:3]}"
    assert not lost_accounts, f"{len(lost_accounts)} acknowledged imports lost: {lost_accounts[:5]}"
    assert len(acked_accounts) > 10 and sum(st["destroyed"] for st in rooms_state.values()) > 10
    # and the server still works normally
    c.must_create("after-crash")


def test_concurrent_distinct_fields_and_keys_on_one_room(server):
    """20 threads on one room: 10 each own a metadata key, 10 each own a RoomInfo field.
    No update may be lost; the final state is the union of every thread's last write."""
    c = server.client()
    room = "hot-room"
    c.must_create(room)
    rounds = 15
    field_values = {
        "RoomName": lambda i: f"name-{i}", "CoverURL": lambda i: f"https://c/{i}",
        "BackgroundURL": lambda i: f"https://b/{i}", "Notice": lambda i: f"notice {i}",
        "CustomInfo": lambda i: f'{{"i":{i}}}', "ActivityStatus": lambda i: i,
        "MaxMemberCount": lambda i: 1000 + i, "Category": lambda i: [i, i + 1],
        "TakeSeatMode": lambda i: "ApplyToTake" if i % 2 else "FreeToTake",
        "IsMessageDisabled": lambda i: bool(i % 2),
    }
    errors = []
    barrier = threading.Barrier(20)

    def meta_worker(k):
        barrier.wait()
        for i in range(rounds):
            reply = c.set_metadata(room, [(f"key{k}", f"{k}:{i}")])
            if reply["ErrorCode"] != 0:
                errors.append(reply)

    def field_worker(field):
        barrier.wait()
        for i in range(rounds):
            reply = c.update(room, **{field: field_values[field](i)})
            if reply["ErrorCode"] != 0:
                errors.append(reply)

    threads = [threading.Thread(target=meta_worker, args=(k,)) for k in range(10)]
    threads += [threading.Thread(target=field_worker, args=(f,)) for f in field_values]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]
    assert dict(c.metadata(room)) == {f"key{k}": f"{k}:{rounds - 1}" for k in range(10)}
    info = c.room_info(room)
    for field, fn in field_values.items():
        assert info[field] == fn(rounds - 1), (field, info[field])
    # and it is all still there after a restart
    server.restart()
    assert dict(c.metadata(room)) == {f"key{k}": f"{k}:{rounds - 1}" for k in range(10)}


def test_concurrent_create_same_room(server):
    c = server.client()
    replies = [None] * 20
    barrier = threading.Barrier(20)

    def create(i):
        barrier.wait()
        replies[i] = c.create_room("race-room", RoomName=f"n{i}")

    threads = [threading.Thread(target=create, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(r["ErrorCode"] for r in replies)
    assert codes == [0] + [100010] * 19, codes
    winner = next(i for i, r in enumerate(replies) if r["ErrorCode"] == 0)
    assert c.room_info("race-room")["RoomName"] == f"n{winner}"


def test_concurrent_metadata_limit_not_exceeded(server):
    """15 threads race to add a new key to a room with 8 keys: exactly 2 succeed."""
    c = server.client()
    c.must_create("limit-room")
    c.set_metadata("limit-room", [(f"base{i}", "v") for i in range(8)])
    replies = [None] * 15
    barrier = threading.Barrier(15)

    def add(i):
        barrier.wait()
        replies[i] = c.set_metadata("limit-room", [(f"new{i}", "v")])

    threads = [threading.Thread(target=add, args=(i,)) for i in range(15)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(r["ErrorCode"] for r in replies)
    assert codes == [0, 0] + [100002] * 13, codes
    assert len(c.metadata("limit-room")) == 10


def test_concurrent_owner_and_admin_clients(server):
    """Both admins and both apps hammer in parallel; every create is visible afterwards."""
    clients = [server.client(), server.client(identifier=ADMIN2), server.client(sdkappid=APP2)]
    errors = []

    def work(ci, c):
        for i in range(40):
            reply = c.create_room(f"p{ci}-{i}")
            if reply["ErrorCode"] != 0:
                errors.append(reply)

    threads = [threading.Thread(target=work, args=(i, c)) for i, c in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]
    for ci, c in enumerate(clients):
        for i in range(40):
            assert c.room_info(f"p{ci}-{i}")["RoomId"] == f"p{ci}-{i}"
