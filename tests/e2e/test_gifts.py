"""The gift catalog over REST (spec §2.7; spec/console-client.md §5.13): every command, the field
rules, 100006 for callers that are not App administrators, Tencent's 1/s quota answered with
100012, the shapes the official console reads, and durability across kill -9."""

import pytest

from conftest import APP2, assert_error, default_apps

ROSE = {"GiftId": "gift_rose", "DefaultName": "Rose", "DefaultDesc": "A red rose",
        "IconUrl": "https://cdn.example.com/rose.png", "Coins": 10,
        "ResourceUrl": "https://cdn.example.com/rose.svga", "Level": 1,
        "ExtensionInfo": "{\"rarity\":\"common\"}"}  # the console's add_gift body, verbatim

GIFT_COMMANDS = [
    ("add_gift", ROSE), ("edit_gift", ROSE), ("del_gift", {"GiftId": "gift_rose"}),
    ("get_gift", {"GiftId": "gift_rose"}), ("get_gift_count", {}), ("get_gift_info_list", {}),
    ("set_gift_language", {"GiftId": "gift_rose", "Language": "en", "Name": "Rose"}),
    ("get_gift_language", {"GiftId": "gift_rose", "Language": "en"}),
    ("del_gift_language", {"GiftId": "gift_rose", "Language": "en"}),
    ("add_gift_category", {"CategoryId": "cat_popular", "DefaultName": "Popular"}),
    ("edit_gift_category", {"CategoryId": "cat_popular", "DefaultName": "Popular"}),
    ("del_gift_category", {"CategoryId": "cat_popular"}),
    ("get_gift_category", {"CategoryId": "cat_popular"}),
    ("set_gift_category_language",
     {"CategoryId": "cat_popular", "Language": "en", "CategoryName": "Popular"}),
    ("get_gift_category_language", {"CategoryId": "cat_popular", "Language": "en"}),
    ("del_gift_category_language", {"CategoryId": "cat_popular", "Language": "en"}),
    ("add_gift_category_relations", {"CategoryId": "cat_popular", "GiftIdList": ["gift_rose"]}),
    ("del_gift_category_relations", {"CategoryId": "cat_popular", "GiftIdList": ["gift_rose"]}),
    ("get_gift_category_relations", {"CategoryId": "cat_popular"}),
]


def gift(**over):
    body = dict(ROSE)
    body.update(over)
    return {k: v for k, v in body.items() if v is not None}


def catalog(c, **body):
    return c.ok("get_gift_info_list", body)


@pytest.fixture(scope="module")
def refusing(module_server):
    """One server for the tests of calls that are refused (which must change nothing), holding
    the gift and the category they name: starting one per case would cost more than the cases."""
    module_server.ok("add_gift", ROSE)
    module_server.ok("add_gift_category", {"CategoryId": "cat", "DefaultName": "Cat"})
    return module_server


def test_console_gift_page_flow(server):
    """What the console's Gift Management page sends, in order, and what it reads back."""
    c = server
    empty = catalog(c)
    assert empty["GiftList"] == [] and empty["CategoryList"] == [] and empty["TotalCount"] == 0

    c.ok("add_gift", ROSE)
    c.ok("add_gift", gift(GiftId="gift_rocket", DefaultName="Rocket", DefaultDesc="", Coins=500,
                          Level=3, ExtensionInfo=""))
    c.ok("set_gift_language", {"GiftId": "gift_rose", "Language": "zh-Hans", "Name": "玫瑰",
                               "Desc": "一朵红玫瑰"})
    c.ok("add_gift_category", {"CategoryId": "cat_popular", "DefaultName": "Popular",
                               "DefaultDesc": "Most sent"})
    c.ok("set_gift_category_language", {"CategoryId": "cat_popular", "Language": "zh-Hant",
                                        "CategoryName": "熱門", "CategoryDesc": "最常送出"})
    # one call per gift, as the console sends relations
    c.ok("add_gift_category_relations", {"CategoryId": "cat_popular", "GiftIdList": ["gift_rocket"]})
    c.ok("add_gift_category_relations", {"CategoryId": "cat_popular", "GiftIdList": ["gift_rose"]})

    listing = catalog(c)
    assert listing["TotalCount"] == 2
    by_id = {g["GiftId"]: g for g in listing["GiftList"]}
    rose = by_id["gift_rose"]
    assert rose["Name"] == "Rose" and rose["Desc"] == "A red rose"
    assert rose["IconUrl"] == ROSE["IconUrl"] and rose["ResourceUrl"] == ROSE["ResourceUrl"]
    assert rose["Coins"] == 10 and rose["Level"] == 1
    assert rose["ExtensionInfo"] == ROSE["ExtensionInfo"]
    assert 1e9 < rose["CreateTime"] < 1e12  # Unix seconds, as the console's sort expects
    assert rose["LanguageList"] == [{"Language": "zh-Hans", "Name": "玫瑰", "Desc": "一朵红玫瑰"}]
    assert by_id["gift_rocket"]["LanguageList"] == []
    [popular] = listing["CategoryList"]
    assert popular["CategoryId"] == "cat_popular"
    assert popular["CategoryName"] == "Popular" and popular["CategoryDesc"] == "Most sent"
    assert popular["GiftIdList"] == ["gift_rocket", "gift_rose"]  # in the order added
    assert popular["LanguageList"] == [
        {"Language": "zh-Hant", "CategoryName": "熱門", "CategoryDesc": "最常送出"}]

    # the language getters: where the console reads them, and where Tencent's page shows them
    reply = c.call("get_gift_language", {"GiftId": "gift_rose", "Language": "zh-Hans"})
    assert reply["ErrorCode"] == 0
    assert reply["Response"]["Language"]["Name"] == "玫瑰"
    assert reply["Response"]["Language"]["Desc"] == "一朵红玫瑰"
    assert reply["GiftInfo"] == {"Name": "玫瑰", "Desc": "一朵红玫瑰"}
    assert reply["Response"]["GiftInfo"] == reply["GiftInfo"]
    reply = c.call("get_gift_category_language", {"CategoryId": "cat_popular", "Language": "zh-Hant"})
    assert reply["Response"]["Language"]["CategoryName"] == "熱門"
    assert reply["CategoryInfo"] == {"CategoryName": "熱門", "CategoryDesc": "最常送出"}

    # edit: a full replacement, ExtensionInfo "" as the console always sends it
    c.ok("edit_gift", gift(DefaultName="Red rose", Coins=12, ExtensionInfo=""))
    rose = {g["GiftId"]: g for g in catalog(c)["GiftList"]}["gift_rose"]
    assert (rose["Name"], rose["Coins"], rose["ExtensionInfo"]) == ("Red rose", 12, "")
    assert rose["LanguageList"][0]["Name"] == "玫瑰"  # languages survive an edit

    c.ok("del_gift_category_relations", {"CategoryId": "cat_popular", "GiftIdList": ["gift_rocket"]})
    assert catalog(c)["CategoryList"][0]["GiftIdList"] == ["gift_rose"]
    c.ok("del_gift", {"GiftId": "gift_rose"})  # also leaves the category
    listing = catalog(c)
    assert [g["GiftId"] for g in listing["GiftList"]] == ["gift_rocket"]
    assert listing["CategoryList"][0]["GiftIdList"] == []
    c.ok("del_gift_category", {"CategoryId": "cat_popular"})
    assert catalog(c)["CategoryList"] == []


def test_getters_answer_at_top_level(server):
    c = server
    c.ok("add_gift", ROSE)
    reply = c.call("get_gift", {"GiftId": "gift_rose"})
    assert reply["ErrorCode"] == 0
    info = reply["GiftInfo"]
    assert reply["Response"]["GiftInfo"] == info  # and a copy where other Live APIs answer
    for key in ["GiftId", "IconUrl", "ResourceUrl", "Coins", "Level", "ExtensionInfo",
                "DefaultName", "DefaultDesc"]:
        want = ROSE[key]
        assert info[key] == want, key
    assert info["IconURL"] == ROSE["IconUrl"]  # the spelling of Tencent's response table

    c.ok("add_gift_category", {"CategoryId": "cat_a", "DefaultName": "A", "DefaultDesc": "d" * 60,
                               "ExtensionInfo": "{\"k\":1}"})
    reply = c.call("get_gift_category", {"CategoryId": "cat_a"})
    assert reply["GiftCategoryInfo"]["CategoryId"] == "cat_a"
    assert reply["GiftCategoryInfo"]["DefaultDesc"] == "d" * 60
    assert reply["GiftCategoryInfo"]["ExtensionInfo"] == "{\"k\":1}"
    assert reply["Response"]["GiftCategoryInfo"] == reply["GiftCategoryInfo"]

    c.ok("add_gift_category_relations", {"CategoryId": "cat_a", "GiftIdList": ["gift_rose"]})
    reply = c.call("get_gift_category_relations", {"CategoryId": "cat_a"})
    assert reply["GiftIdList"] == ["gift_rose"] == reply["Response"]["GiftIdList"]
    assert reply["CategoryId"] == "cat_a"

    assert c.ok("get_gift_count")["TotalCount"] == 1


def test_language_texts_are_patched_and_listed_in_a_language(server):
    c = server
    c.ok("add_gift", ROSE)
    # Name is required the first time a language is set
    assert_error(c.call("set_gift_language", {"GiftId": "gift_rose", "Language": "en",
                                              "Desc": "only a desc"}), 100002, "Name", "first")
    c.ok("set_gift_language", {"GiftId": "gift_rose", "Language": "en", "Name": "Rose EN",
                               "Desc": "desc EN"})
    c.ok("set_gift_language", {"GiftId": "gift_rose", "Language": "en", "Desc": "new desc"})
    reply = c.call("get_gift_language", {"GiftId": "gift_rose", "Language": "en"})
    assert reply["GiftInfo"] == {"Name": "Rose EN", "Desc": "new desc"}
    # a language never set answers empty texts (a client falls back to the defaults)
    reply = c.call("get_gift_language", {"GiftId": "gift_rose", "Language": "zh-Hant"})
    assert reply["GiftInfo"] == {"Name": "", "Desc": ""}

    listed = catalog(c, Language="en")["GiftList"][0]
    assert (listed["Name"], listed["Desc"]) == ("Rose EN", "new desc")
    assert listed["DefaultName"] == "Rose"
    c.ok("del_gift_language", {"GiftId": "gift_rose", "Language": "en"})
    c.ok("del_gift_language", {"GiftId": "gift_rose", "Language": "en"})  # again: nothing to do
    listed = catalog(c, Language="en")["GiftList"][0]
    assert (listed["Name"], listed["LanguageList"]) == ("Rose", [])


@pytest.mark.parametrize("body,field,rule", [
    (gift(GiftId=None), "GiftId", "required"),
    (gift(GiftId=""), "GiftId", "empty"),
    (gift(GiftId="g" * 21), "GiftId", "20 bytes"),
    (gift(GiftId="rose gift"), "GiftId", "printable ASCII"),
    (gift(GiftId="玫瑰"), "GiftId", "printable ASCII"),
    (gift(GiftId=7), "GiftId", "String"),
    (gift(Coins=None), "Coins", "required"),
    (gift(Coins=-1), "Coins", ""),
    (gift(Coins="10"), "Coins", "Integer"),
    (gift(Coins=4294967296), "Coins", ""),
    (gift(Level=-1), "Level", ""),
    (gift(IconUrl="u" * 201), "IconUrl", "200 bytes"),
    (gift(ResourceUrl="u" * 201), "ResourceUrl", "200 bytes"),
    (gift(ExtensionInfo="x" * 101), "ExtensionInfo", "100 bytes"),
    (gift(ExtensionInfo="{not json"), "ExtensionInfo", "JSON"),
    (gift(DefaultName=None), "DefaultName", "required"),
    (gift(DefaultName="n" * 21), "DefaultName", "20 bytes"),
    (gift(DefaultDesc="d" * 21), "DefaultDesc", "20 bytes"),
])
def test_gift_field_rules(refusing, body, field, rule):
    before = catalog(refusing)
    for command in ("add_gift", "edit_gift"):
        assert_error(refusing.call(command, body), 100002, field, rule)
    assert catalog(refusing) == before  # the gift it names is unchanged, none was added


def test_limits_at_the_edge_are_accepted(server):
    c = server
    c.ok("add_gift", gift(GiftId="g" * 20, DefaultName="n" * 20, DefaultDesc="d" * 20,
                          IconUrl="u" * 200, ResourceUrl="r" * 200, Coins=4294967295,
                          Level=0, ExtensionInfo="[" + "1," * 48 + "1]"))
    c.ok("add_gift", gift(GiftId="iconURL", IconUrl=None, IconURL="https://x/icon.png",
                          Level=None, DefaultDesc=None, ResourceUrl=None, ExtensionInfo=None))
    g = c.call("get_gift", {"GiftId": "iconURL"})["GiftInfo"]
    assert (g["IconUrl"], g["Level"], g["DefaultDesc"], g["ExtensionInfo"]) == (
        "https://x/icon.png", 0, "", "")


@pytest.mark.parametrize("command,body,field,rule", [
    ("add_gift_category", {"DefaultName": "A"}, "CategoryId", "required"),
    ("add_gift_category", {"CategoryId": "c" * 21, "DefaultName": "A"}, "CategoryId", "20 bytes"),
    ("add_gift_category", {"CategoryId": "c1"}, "DefaultName", "required"),
    ("add_gift_category", {"CategoryId": "c1", "DefaultName": "n" * 21}, "DefaultName", "20 bytes"),
    ("add_gift_category", {"CategoryId": "c1", "DefaultName": "A", "DefaultDesc": "d" * 61},
     "DefaultDesc", "60 bytes"),
    ("add_gift_category", {"CategoryId": "c1", "DefaultName": "A", "ExtensionInfo": "nope"},
     "ExtensionInfo", "JSON"),
    ("set_gift_language", {"GiftId": "gift_rose", "Language": "fr", "Name": "Rose"},
     "Language", "en, zh-Hans, zh-Hant"),
    ("set_gift_language", {"GiftId": "gift_rose", "Name": "Rose"}, "Language", "required"),
    ("set_gift_language", {"GiftId": "gift_rose", "Language": "en", "Name": "n" * 21}, "Name",
     "20 bytes"),
    ("set_gift_language", {"GiftId": "gift_rose", "Language": "en", "Name": "a", "Desc": "d" * 21},
     "Desc", "20 bytes"),
    ("get_gift_language", {"GiftId": "gift_rose", "Language": "EN"}, "Language", "one of"),
    ("set_gift_category_language",
     {"CategoryId": "cat", "Language": "en", "CategoryName": "n" * 21}, "CategoryName", "20 bytes"),
    ("set_gift_category_language",
     {"CategoryId": "cat", "Language": "en", "CategoryName": "n", "CategoryDesc": "d" * 61},
     "CategoryDesc", "60 bytes"),
    ("add_gift_category_relations", {"CategoryId": "cat"}, "GiftIdList", "required"),
    ("add_gift_category_relations", {"CategoryId": "cat", "GiftIdList": []}, "GiftIdList", "GiftId"),
    ("add_gift_category_relations", {"CategoryId": "cat", "GiftIdList": [1]}, "GiftIdList", "String"),
    ("add_gift_category_relations", {"CategoryId": "cat", "GiftIdList": "gift_rose"}, "GiftIdList",
     "Array"),
    ("add_gift_category_relations", {"CategoryId": "cat", "GiftIdList": ["gift_rose", "nope"]},
     "GiftIdList[1]", "does not exist"),
    ("get_gift_info_list", {"Language": "de"}, "Language", "one of"),
])
def test_category_language_and_relation_rules(refusing, command, body, field, rule):
    before = catalog(refusing)
    assert_error(refusing.call(command, body), 100002, field, rule)
    assert catalog(refusing) == before  # nothing half-applied


def test_unknown_and_duplicate_ids(server):
    c = server
    for command in ("edit_gift", "del_gift", "get_gift"):
        assert_error(c.call(command, ROSE), 100002, "gift_rose", "does not exist")
    for command in ("set_gift_language", "get_gift_language", "del_gift_language"):
        assert_error(c.call(command, {"GiftId": "gift_rose", "Language": "en", "Name": "x"}),
                     100002, "gift_rose", "does not exist")
    for command in ("edit_gift_category", "del_gift_category", "get_gift_category",
                    "get_gift_category_relations"):
        assert_error(c.call(command, {"CategoryId": "cat", "DefaultName": "x"}),
                     100002, "cat", "does not exist")
    assert_error(c.call("add_gift_category_relations",
                        {"CategoryId": "cat", "GiftIdList": ["gift_rose"]}), 100002, "cat")
    c.ok("add_gift", ROSE)
    assert_error(c.call("add_gift", ROSE), 100002, "gift_rose", "exists", "edit_gift")
    c.ok("add_gift_category", {"CategoryId": "cat", "DefaultName": "x"})
    assert_error(c.call("add_gift_category", {"CategoryId": "cat", "DefaultName": "y"}), 100002,
                 "cat", "exists")
    # relations are idempotent: listing a gift twice keeps one entry; removing an absent one is fine
    for _ in range(2):
        c.ok("add_gift_category_relations", {"CategoryId": "cat", "GiftIdList": ["gift_rose"]})
    assert c.call("get_gift_category_relations", {"CategoryId": "cat"})["GiftIdList"] == ["gift_rose"]
    for _ in range(2):
        c.ok("del_gift_category_relations", {"CategoryId": "cat", "GiftIdList": ["gift_rose"]})
    assert c.call("get_gift_category_relations", {"CategoryId": "cat"})["GiftIdList"] == []


def test_a_gift_is_in_at_most_three_categories(server):
    c = server
    c.ok("add_gift", ROSE)
    for i in range(4):
        c.ok("add_gift_category", {"CategoryId": f"cat{i}", "DefaultName": f"C{i}"})
    for i in range(3):
        c.ok("add_gift_category_relations", {"CategoryId": f"cat{i}", "GiftIdList": ["gift_rose"]})
    assert_error(c.call("add_gift_category_relations",
                        {"CategoryId": "cat3", "GiftIdList": ["gift_rose"]}),
                 100002, "gift_rose", "3 categories")
    c.ok("del_gift_category", {"CategoryId": "cat0"})  # frees a place
    c.ok("add_gift_category_relations", {"CategoryId": "cat3", "GiftIdList": ["gift_rose"]})


@pytest.mark.parametrize("command,body", GIFT_COMMANDS)
def test_only_app_administrators_100006(refusing, command, body):
    before = catalog(refusing)
    reply = refusing.as_user("viewer_1").call(command, body)
    assert_error(reply, 100006, "viewer_1", "App administrator")
    assert catalog(refusing) == before


def test_other_commands_keep_60010(refusing):
    assert refusing.as_user("viewer_1").call("get_room_list", {})["ErrorCode"] == 60010


def test_default_quota_is_one_per_second_answered_100012(server_factory):
    apps = default_apps()
    apps[0]["rate_limits"] = None  # Tencent's defaults
    srv = server_factory("gift-quota", apps=apps)
    c = srv.client()
    assert c.call("add_gift", ROSE)["ErrorCode"] == 0
    assert_error(c.call("add_gift", gift(GiftId="gift_two")), 100012, "add_gift", "1 request")
    # each command has its own bucket
    assert c.call("get_gift_info_list", {})["ErrorCode"] == 0
    assert_error(c.call("get_gift_info_list", {}), 100012, "get_gift_info_list")
    assert c.call("get_gift", {"GiftId": "gift_rose"})["ErrorCode"] == 0
    # room commands keep their own code and limits
    assert c.call("get_room_info", {"RoomId": "nope"})["ErrorCode"] == 100004


def test_quota_is_configurable(server_factory):
    srv = server_factory("gift-quota-5", apps=default_apps(rate_limits1={"default": 0, "add_gift": 3}))
    c = srv.client()
    codes = [c.call("add_gift", gift(GiftId=f"g{i}"))["ErrorCode"] for i in range(4)]
    assert codes == [0, 0, 0, 100012], codes


def test_apps_have_their_own_catalogs(server):
    server.ok("add_gift", ROSE)
    c2 = server.client(sdkappid=APP2)
    assert c2.ok("get_gift_info_list", {})["GiftList"] == []
    assert_error(c2.call("get_gift", {"GiftId": "gift_rose"}), 100002)


def test_catalog_survives_kill9(server):
    c = server
    c.ok("add_gift", ROSE)
    c.ok("add_gift", gift(GiftId="gift_nul", DefaultName="a\u0000b", ExtensionInfo=""))
    c.ok("set_gift_language", {"GiftId": "gift_rose", "Language": "zh-Hant", "Name": "玫瑰"})
    c.ok("add_gift_category", {"CategoryId": "cat", "DefaultName": "Cat", "ExtensionInfo": "{}"})
    c.ok("set_gift_category_language", {"CategoryId": "cat", "Language": "en", "CategoryName": "Cat"})
    c.ok("add_gift_category_relations", {"CategoryId": "cat", "GiftIdList": ["gift_nul", "gift_rose"]})
    before = catalog(c)
    server.restart(hard=True)
    assert catalog(c) == before
    assert c.call("get_gift", {"GiftId": "gift_nul"})["GiftInfo"]["DefaultName"] == "a\u0000b"
