"""get_room_list: public rooms only, ViewCount desc then RoomId asc, cursor paging
(docs/compatibility.md §get_room_list). Each test gets its own server so it sees only its rooms."""

import threading
import time

import pytest

from conftest import assert_error

LIST_ENTRY_FIELDS = {"RoomId", "RoomName", "Owner_Account", "CoverURL", "Category", "CreateTime",
                     "ActivityStatus", "ViewCount"}


def scan(c, count=20, first="", limit=1000):
    """Follows Next until "" and returns the pages (lists of entries)."""
    pages, nxt = [], first
    for _ in range(limit):
        body = {"Next": nxt} if count is None else {"Next": nxt, "Count": count}
        resp = c.ok("get_room_list", body)
        page = resp.get("RoomList", [])
        pages.append(page)
        nxt = resp.get("Next")
        assert isinstance(nxt, str), resp
        if nxt == "":
            return pages
        assert page, f"a non-final page must not be empty: {resp}"
    pytest.fail("get_room_list never returned Next \"\"")


def ids(pages):
    return [e["RoomId"] for p in pages for e in p]


def order_key(e):
    return (-e["ViewCount"], e["RoomId"].encode())


def make_rooms(c, n, prefix="room"):
    rooms = [f"{prefix}{i:03d}" for i in range(n)]
    for r in rooms:
        c.must_create(r)
    return rooms


def test_empty_list(client):
    resp = client.ok("get_room_list", {"Next": "", "Count": 20})
    assert resp.get("RoomList", []) == [] and resp["Next"] == ""


def test_only_public_rooms(client):
    c = client
    public = make_rooms(c, 5, "pub")
    for i in range(3):
        c.must_create(f"priv{i}", IsPublicVisible=False)
    c.must_create("later-private")
    assert c.update("later-private", IsPublicVisible=False)["ErrorCode"] == 0
    c.must_create("later-public", IsPublicVisible=False)
    assert c.update("later-public", IsPublicVisible=True)["ErrorCode"] == 0
    got = ids(scan(c))
    assert sorted(got) == sorted(public + ["later-public"])


def test_entry_fields(client):
    c = client
    t0 = int(time.time())
    c.must_create("fields-room", RoomName="Show", CoverURL="https://c/x.png", Category=[4, 5],
                  ActivityStatus=1)
    pages = scan(c)
    assert [len(p) for p in pages] == [1], pages
    entry = pages[0][0]
    missing = LIST_ENTRY_FIELDS - set(entry)
    assert not missing, f"list entry lacks {missing}: {entry}"
    assert entry["RoomId"] == "fields-room" and entry["RoomName"] == "Show"
    assert entry["Owner_Account"] == "administrator" and entry["CoverURL"] == "https://c/x.png"
    assert entry["Category"] == [4, 5] and entry["ActivityStatus"] == 1 and entry["ViewCount"] == 0
    assert t0 - 2 <= entry["CreateTime"] <= time.time() + 2


def test_order_and_pages(client):
    c = client
    rooms = make_rooms(c, 45, "ord")
    # Mixed case and punctuation to pin the byte order tie-break.
    extra = ["Zed", "_under", "aaa", "ORD", "~tilde"]
    for r in extra:
        c.must_create(r)
    pages = scan(c, 20)
    assert [len(p) for p in pages] == [20, 20, 10]
    got = [e for p in pages for e in p]
    assert [e["RoomId"] for e in got] == sorted(rooms + extra, key=lambda s: s.encode())
    assert got == sorted(got, key=order_key)


def test_short_page_ends_the_scan(client):
    c = client
    make_rooms(c, 25, "short")
    r1 = c.ok("get_room_list", {"Next": "", "Count": 20})
    assert len(r1["RoomList"]) == 20 and r1["Next"] != ""
    r2 = c.ok("get_room_list", {"Next": r1["Next"], "Count": 20})
    assert len(r2["RoomList"]) == 5
    assert r2["Next"] == "", "a page shorter than Count is the last one"


def test_next_zero_and_empty_start_the_same(client):
    c = client
    make_rooms(c, 12, "z")
    a = c.ok("get_room_list", {"Next": "", "Count": 5})
    b = c.ok("get_room_list", {"Next": "0", "Count": 5, "SortDirection": "descend"})
    assert [e["RoomId"] for e in a["RoomList"]] == [e["RoomId"] for e in b["RoomList"]] == [f"z{i:03d}" for i in range(5)]
    assert a["Next"] == b["Next"] != ""
    assert ids(scan(c, 5, first="0")) == [f"z{i:03d}" for i in range(12)]


def test_count_8_pages(client):
    c = client
    rooms = make_rooms(c, 21, "m")
    pages = scan(c, 8, first="0")
    assert [len(p) for p in pages] == [8, 8, 5]
    assert ids(pages) == rooms


def test_count_over_20_served_as_20_and_default_20(client):
    c = client
    make_rooms(c, 30, "big")
    assert len(c.ok("get_room_list", {"Next": "", "Count": 50})["RoomList"]) == 20
    assert len(c.ok("get_room_list", {"Next": "", "Count": 21})["RoomList"]) == 20
    assert len(c.ok("get_room_list", {"Next": ""})["RoomList"]) == 20
    assert len(ids(scan(c, 50))) == 30


@pytest.mark.parametrize("count", [0, -1, "20", 2.5])
def test_bad_count(client, count):
    assert_error(client.call("get_room_list", {"Next": "", "Count": count}), 100002, "Count")


@pytest.mark.parametrize("cursor", ["garbage", "abc-xyz", "12", "-", "0-zz", "x-616263", "1-", "0-616", 5])
def test_bad_cursor(client, cursor):
    make_rooms(client, 3, "cur")
    assert_error(client.call("get_room_list", {"Next": cursor, "Count": 2}), 100002, "Next")


def test_cursor_survives_deletion_of_last_returned_room(client):
    c = client
    rooms = make_rooms(c, 10, "del")
    r1 = c.ok("get_room_list", {"Next": "", "Count": 4})
    assert [e["RoomId"] for e in r1["RoomList"]] == rooms[:4]
    # Destroy the room the cursor points at and the next one; the scan continues after them.
    for r in (rooms[3], rooms[4]):
        assert c.call("destroy_room", {"RoomId": r})["ErrorCode"] == 0
    rest = ids(scan(c, 4, first=r1["Next"]))
    assert rest == rooms[5:]


def test_scan_during_concurrent_churn(client):
    """Rooms that exist for the whole scan appear exactly once whatever is created or destroyed."""
    c = client
    stable = [f"s{i:03d}" for i in range(0, 120, 2)]
    for r in stable:
        c.must_create(r)
    stop = threading.Event()
    errors = []
    churned = [0]

    def churn():
        n = 0
        live = []
        try:
            while not stop.is_set():
                # ids that sort between and around the stable ones
                rid = f"s{(n * 7) % 120:03d}-c{n}"
                reply = c.create_room(rid)
                if reply["ErrorCode"] != 0:
                    errors.append(reply)
                live.append(rid)
                if len(live) > 15:
                    victim = live.pop(0)
                    reply = c.call("destroy_room", {"RoomId": victim})
                    if reply["ErrorCode"] != 0:
                        errors.append(reply)
                n += 1
                churned[0] = n
        except Exception as e:  # pragma: no cover - reported below
            errors.append(repr(e))

    t = threading.Thread(target=churn)
    t.start()
    try:
        for _ in range(4):
            got = ids(scan(c, 5))
            assert len(got) == len(set(got)), "a room appeared twice in one scan"
            for r in stable:
                assert got.count(r) == 1, f"{r} seen {got.count(r)} times"
            assert [x for x in got if x in set(stable)] == stable
    finally:
        stop.set()
        t.join()
    assert not errors, errors[:3]
    assert churned[0] > 20, "the churn thread did not run concurrently"
