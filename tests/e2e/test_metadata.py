"""Room metadata: upsert, get all / subset, delete, limits (docs/compatibility.md §Metadata) and
the console's concurrent edit."""

import threading

import pytest

from conftest import assert_error, uid


@pytest.fixture(scope="module")
def c(module_server):
    return module_server.client()


@pytest.fixture
def room(c):
    r = uid("meta")
    c.must_create(r)
    return r


def test_upsert_and_get_all(c, room):
    assert c.metadata(room) == []
    assert c.set_metadata(room, [("a", "1"), ("b", "2")])["ErrorCode"] == 0
    assert c.metadata(room) == [("a", "1"), ("b", "2")]
    assert c.set_metadata(room, [("c", "3")])["ErrorCode"] == 0
    assert c.metadata(room) == [("a", "1"), ("b", "2"), ("c", "3")], "insertion order"
    assert c.set_metadata(room, [("a", "one")])["ErrorCode"] == 0
    assert dict(c.metadata(room)) == {"a": "one", "b": "2", "c": "3"}
    assert len(c.metadata(room)) == 3


def test_get_without_keys_returns_all(c, room):
    c.set_metadata(room, [("x", "1"), ("y", "2")])
    resp = c.ok("get_room_metadata", {"RoomId": room})
    assert [(m["Key"], m["Value"]) for m in resp["Metadata"]] == [("x", "1"), ("y", "2")]


def test_duplicate_keys_last_wins(c, room):
    assert c.set_metadata(room, [("k", "first"), ("k", "second")])["ErrorCode"] == 0
    assert c.metadata(room) == [("k", "second")]


def test_empty_metadata_is_noop(c, room):
    c.set_metadata(room, [("k", "v")])
    assert c.set_metadata(room, [])["ErrorCode"] == 0
    assert c.metadata(room) == [("k", "v")]


def test_get_subset(c, room):
    c.set_metadata(room, [("a", "1"), ("b", "2"), ("c", "3")])
    assert dict(c.metadata(room, ["c", "a", "nope"])) == {"a": "1", "c": "3"}
    assert c.metadata(room, ["nope"]) == []


def test_delete(c, room):
    c.set_metadata(room, [("a", "1"), ("b", "2"), ("c", "3")])
    reply = c.call("del_room_metadata", {"RoomId": room, "Keys": ["a", "not-there"]})
    assert reply["ErrorCode"] == 0, reply
    assert c.metadata(room) == [("b", "2"), ("c", "3")]
    assert c.call("del_room_metadata", {"RoomId": room, "Keys": ["b", "c"]})["ErrorCode"] == 0
    assert c.metadata(room) == []
    # a deleted key can come back
    assert c.set_metadata(room, [("a", "again")])["ErrorCode"] == 0
    assert c.metadata(room) == [("a", "again")]


def test_empty_value_allowed(c, room):
    assert c.set_metadata(room, [("k", "")])["ErrorCode"] == 0
    assert c.metadata(room) == [("k", "")]


def test_ten_keys_limit(c, room):
    ten = [(f"k{i}", f"v{i}") for i in range(10)]
    assert c.set_metadata(room, ten)["ErrorCode"] == 0
    assert_error(c.set_metadata(room, [("k0", "changed"), ("k10", "v")]), 100002)
    assert c.metadata(room) == ten, "a failed set changes nothing"
    # updating existing keys at the limit is fine
    assert c.set_metadata(room, [("k9", "nine")])["ErrorCode"] == 0
    assert dict(c.metadata(room))["k9"] == "nine"
    # 11 new keys in one call on an empty room
    r2 = uid("meta")
    c.must_create(r2)
    assert_error(c.set_metadata(r2, [(f"n{i}", "v") for i in range(11)]), 100002)
    assert c.metadata(r2) == []
    # after a delete there is room again
    assert c.call("del_room_metadata", {"RoomId": room, "Keys": ["k0"]})["ErrorCode"] == 0
    assert c.set_metadata(room, [("k10", "v")])["ErrorCode"] == 0
    assert len(c.metadata(room)) == 10


@pytest.mark.parametrize("key,ok", [("k" * 50, True), ("k" * 51, False), ("键" * 16 + "kk", True),
                                    ("键" * 17, False), ("", False)])
def test_key_length(c, room, key, ok):
    c.set_metadata(room, [("keep", "me")])
    reply = c.set_metadata(room, [("other", "x"), (key, "v")])
    if ok:
        assert reply["ErrorCode"] == 0, reply
        assert dict(c.metadata(room))[key] == "v"
    else:
        assert_error(reply, 100002, "Key")
        assert c.metadata(room) == [("keep", "me")]


@pytest.mark.parametrize("n,ok", [(2048, True), (2049, False)])
def test_value_length(c, room, n, ok):
    reply = c.set_metadata(room, [("v", "x" * n)])
    if ok:
        assert reply["ErrorCode"] == 0, reply
        assert c.metadata(room) == [("v", "x" * n)]
    else:
        assert_error(reply, 100002, "Value")
        assert c.metadata(room) == []


def test_value_length_is_bytes(c, room):
    assert_error(c.set_metadata(room, [("v", "汉" * 683)]), 100002, "Value")  # 2049 bytes, 683 chars
    assert c.set_metadata(room, [("v", "汉" * 682 + "ab")])["ErrorCode"] == 0  # 2048 bytes


def test_total_value_limit(c, room):
    # 7 x 2048 + 2047 + 1 = 16384 bytes in 9 keys: fine
    pairs = [(f"k{i}", "x" * 2048) for i in range(7)] + [("k7", "x" * 2047), ("k8", "y")]
    assert c.set_metadata(room, pairs)["ErrorCode"] == 0
    # one more byte anywhere is 16385
    assert_error(c.set_metadata(room, [("k9", "z")]), 100002)
    assert_error(c.set_metadata(room, [("k8", "yy")]), 100002)
    assert c.metadata(room) == pairs
    # shrinking one value while growing another within the total is fine
    assert c.set_metadata(room, [("k7", "x" * 2046), ("k9", "z")])["ErrorCode"] == 0
    assert sum(len(v) for _, v in c.metadata(room)) == 16384


def test_total_limit_single_call(c, room):
    pairs = [(f"k{i}", "x" * 2048) for i in range(8)] + [("k8", "y")]
    assert_error(c.set_metadata(room, pairs), 100002)
    assert c.metadata(room) == []


@pytest.mark.parametrize("body,field", [
    ({"Metadata": "x"}, "Metadata"),
    ({"Metadata": [{"Key": "a"}]}, "Value"),
    ({"Metadata": [{"Value": "a"}]}, "Key"),
    ({"Metadata": [{"Key": "a", "Value": 5}]}, "Value"),
    ({"Metadata": [{"Key": 5, "Value": "a"}]}, "Key"),
    ({"Metadata": ["a"]}, "Metadata"),
])
def test_set_bad_shapes(c, room, body, field):
    assert_error(c.call("set_room_metadata", {"RoomId": room, **body}), 100002, field)
    assert c.metadata(room) == []


def test_keys_must_be_array_of_strings(c, room):
    assert_error(c.call("get_room_metadata", {"RoomId": room, "Keys": "a"}), 100002, "Keys")
    assert_error(c.call("del_room_metadata", {"RoomId": room, "Keys": [1]}), 100002, "Keys")
    assert_error(c.call("del_room_metadata", {"RoomId": room}), 100002, "Keys")


@pytest.mark.parametrize("cmd,body", [("get_room_metadata", {"Keys": []}),
                                      ("set_room_metadata", {"Metadata": [{"Key": "a", "Value": "b"}]}),
                                      ("del_room_metadata", {"Keys": ["a"]})])
def test_missing_room(c, cmd, body):
    assert_error(c.call(cmd, {"RoomId": uid("nometa"), **body}), 100004)


def test_rooms_do_not_share_metadata(c):
    r1, r2 = uid("meta"), uid("meta")
    c.must_create(r1)
    c.must_create(r2)
    c.set_metadata(r1, [("a", "1")])
    assert c.metadata(r2) == []


def test_console_concurrent_edit(c):
    """The edit dialog fires update_room_info ∥ set_room_metadata ∥ del_room_metadata at once."""
    room = uid("edit")
    c.must_create(room, RoomName="start")
    c.set_metadata(room, [("topic", "music"), ("lang", "en"), ("old1", "x"), ("old2", "y")])
    for rnd in range(15):
        keep = {"topic": f"t{rnd}", "lang": f"l{rnd}", f"new{rnd}": "n"}
        current = dict(c.metadata(room))
        removed = [k for k in current if k not in keep]
        bodies = [
            ("update_room_info", {"RoomInfo": {"RoomId": room, "IsUnlimitedRoomEnabled": True,
                                               "RoomName": f"name {rnd}", "CoverURL": f"https://c/{rnd}.png"}}),
            ("set_room_metadata", {"RoomId": room, "Metadata": [{"Key": k, "Value": v} for k, v in keep.items()]}),
        ]
        if removed:
            bodies.append(("del_room_metadata", {"RoomId": room, "Keys": removed}))
        replies = [None] * len(bodies)
        barrier = threading.Barrier(len(bodies))

        def fire(i, cmd, body):
            barrier.wait()
            replies[i] = c.call(cmd, body)

        threads = [threading.Thread(target=fire, args=(i, cmd, body)) for i, (cmd, body) in enumerate(bodies)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert all(r["ErrorCode"] == 0 for r in replies), replies
        info = c.room_info(room)
        assert info["RoomName"] == f"name {rnd}" and info["CoverURL"] == f"https://c/{rnd}.png"
        assert dict(c.metadata(room)) == keep, rnd
