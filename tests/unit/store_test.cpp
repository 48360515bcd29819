// The store is the only thing between an acknowledged write and a crash. These tests run the
// real SQLite store in a fresh directory and pin its promises: a durable callback fires only
// after the commit, sequence numbers only grow, everything comes back after a restart exactly as
// written (deletes included), and the schema version guards against an older binary.
#include "store/store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "store/sqlite/sqlite_db.h"
#include "test_support.h"

namespace liveroom::store {
namespace {

using testing_support::open_store;
using testing_support::RawDb;
using testing_support::TempDir;
using testing_support::wait_all_durable;
using testing_support::wait_durable;

constexpr uint32_t kApp = 1400000001;
constexpr uint32_t kOtherApp = 1400000002;

domain::Room full_room(std::string id) {
  domain::Room r;
  r.room_id = std::move(id);
  r.owner = "anchor_7";
  r.name = "Evening show \xe6\x99\x9a";  // UTF-8 survives
  r.seat_template = "AudioSalon";
  r.seat_count = 12;
  r.take_seat_mode = domain::TakeSeatMode::kApplyToTake;
  r.max_member_count = 300;
  r.is_message_disabled = true;
  r.is_public_visible = false;
  r.is_like_enabled = false;
  r.is_gift_enabled = false;
  r.is_unlimited_room_enabled = true;
  r.keep_owner_on_seat = true;
  r.cover_url = "https://cdn.example/c.png";
  r.background_url = "https://cdn.example/b.png";
  r.notice = "PK at 9pm";
  r.custom_info = R"({"k":"v","quote":"\""})";
  r.category = {1, -2, 9'000'000'000};
  r.activity_status = -7;
  r.create_time = 1'769'000'000;
  r.view_count = 812;
  return r;
}

void expect_same_room(const domain::Room& a, const domain::Room& b) {
  EXPECT_EQ(a.room_id, b.room_id);
  EXPECT_EQ(a.owner, b.owner);
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.seat_template, b.seat_template);
  EXPECT_EQ(a.seat_count, b.seat_count);
  EXPECT_EQ(a.take_seat_mode, b.take_seat_mode);
  EXPECT_EQ(a.max_member_count, b.max_member_count);
  EXPECT_EQ(a.is_message_disabled, b.is_message_disabled);
  EXPECT_EQ(a.is_public_visible, b.is_public_visible);
  EXPECT_EQ(a.is_like_enabled, b.is_like_enabled);
  EXPECT_EQ(a.is_gift_enabled, b.is_gift_enabled);
  EXPECT_EQ(a.is_unlimited_room_enabled, b.is_unlimited_room_enabled);
  EXPECT_EQ(a.keep_owner_on_seat, b.keep_owner_on_seat);
  EXPECT_EQ(a.cover_url, b.cover_url);
  EXPECT_EQ(a.background_url, b.background_url);
  EXPECT_EQ(a.notice, b.notice);
  EXPECT_EQ(a.custom_info, b.custom_info);
  EXPECT_EQ(a.category, b.category);
  EXPECT_EQ(a.activity_status, b.activity_status);
  EXPECT_EQ(a.create_time, b.create_time);
  EXPECT_EQ(a.view_count, b.view_count);
  EXPECT_EQ(a.metadata, b.metadata);
}

const Snapshot::AppRooms* find_room(const Snapshot& s, uint32_t app, std::string_view id) {
  auto it = std::find_if(s.rooms.begin(), s.rooms.end(), [&](const Snapshot::AppRooms& r) {
    return r.sdkappid == app && r.room.room_id == id;
  });
  return it == s.rooms.end() ? nullptr : &*it;
}

const PutAccount* find_account(const Snapshot& s, uint32_t app, std::string_view id) {
  auto it = std::find_if(s.accounts.begin(), s.accounts.end(), [&](const PutAccount& a) {
    return a.sdkappid == app && a.account.user_id == id;
  });
  return it == s.accounts.end() ? nullptr : &*it;
}

class StoreTest : public testing::Test {
 protected:
  std::string db_path() const { return dir_.file("liveroom.db"); }
  TempDir dir_;
};

// ----- submit / when_durable ---------------------------------------------------------------

TEST_F(StoreTest, SequenceNumbersStartAtOneAndGrow) {
  auto store = open_store(db_path());
  EXPECT_EQ(store->submitted_seq(), 0u);
  EXPECT_EQ(store->durable_seq(), 0u);
  const uint64_t a = store->submit({PutRoom{kApp, full_room("a")}});
  const uint64_t b = store->submit({PutRoom{kApp, full_room("b")}});
  EXPECT_EQ(a, 1u);
  EXPECT_EQ(b, 2u);
  EXPECT_EQ(store->submitted_seq(), 2u);
  ASSERT_TRUE(wait_durable(*store, b));
  EXPECT_GE(store->durable_seq(), b);
}

// A callback may fire only once its change is committed: another connection must already see
// the row when the callback runs.
TEST_F(StoreTest, DurableCallbackFiresAfterCommit) {
  auto store = open_store(db_path());
  RawDb reader(db_path());
  constexpr int kRooms = 20;
  std::promise<void> all_done;
  std::mutex mu;
  std::vector<uint64_t> order;
  std::vector<int64_t> visible_rows;
  std::vector<uint64_t> durable_at_call;
  for (int i = 0; i < kRooms; ++i) {
    const uint64_t seq = store->submit({PutRoom{kApp, full_room("room-" + std::to_string(i))}});
    store->when_durable(seq, [&, seq] {
      std::lock_guard lock(mu);
      order.push_back(seq);
      durable_at_call.push_back(store->durable_seq());
      visible_rows.push_back(reader.scalar("SELECT count(*) FROM rooms"));
      if (order.size() == kRooms) all_done.set_value();
    });
  }
  ASSERT_EQ(all_done.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);

  std::lock_guard lock(mu);
  for (size_t i = 0; i < order.size(); ++i) {
    // Callbacks run in sequence order, each after its own submission (and all before it) is
    // durable and visible on disk.
    if (i > 0) {
      EXPECT_LT(order[i - 1], order[i]);
      EXPECT_LE(durable_at_call[i - 1], durable_at_call[i]);  // durable_seq never goes back
    }
    EXPECT_GE(durable_at_call[i], order[i]);
    EXPECT_GE(visible_rows[i], static_cast<int64_t>(order[i]));
  }
}

TEST_F(StoreTest, WhenDurableOnAlreadyDurableSeqCallsAtOnceOnTheCallingThread) {
  auto store = open_store(db_path());
  // Nothing submitted: seq 0 is trivially durable.
  bool called = false;
  std::thread::id caller;
  store->when_durable(0, [&] {
    called = true;
    caller = std::this_thread::get_id();
  });
  EXPECT_TRUE(called);
  EXPECT_EQ(caller, std::this_thread::get_id());

  const uint64_t seq = store->submit({PutAccount{kApp, {"u1", {}}}});
  ASSERT_TRUE(wait_durable(*store, seq));
  called = false;
  store->when_durable(seq, [&] {
    called = true;
    caller = std::this_thread::get_id();
  });
  EXPECT_TRUE(called) << "an already durable seq must not wait for another commit";
  EXPECT_EQ(caller, std::this_thread::get_id());
}

TEST_F(StoreTest, DurableSeqIsMonotoneUnderConcurrentSubmitters) {
  auto store = open_store(db_path());
  std::atomic<bool> stop{false};
  std::atomic<bool> went_back{false};
  std::thread watcher([&] {
    uint64_t last = 0;
    while (!stop.load()) {
      const uint64_t now = store->durable_seq();
      if (now < last) went_back = true;
      last = now;
    }
  });
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < 50; ++i) {
        store->submit({PutAccount{kApp, {"w" + std::to_string(w) + "_" + std::to_string(i), {}}}});
      }
    });
  }
  for (auto& t : writers) t.join();
  ASSERT_TRUE(wait_all_durable(*store));
  stop = true;
  watcher.join();
  EXPECT_FALSE(went_back);
  EXPECT_EQ(store->durable_seq(), 200u);
  store->close();
  EXPECT_EQ(open_store(db_path())->load().accounts.size(), 200u);
}

TEST_F(StoreTest, CloseCommitsWhatIsQueued) {
  {
    auto store = open_store(db_path());
    for (int i = 0; i < 10; ++i) store->submit({PutAccount{kApp, {"u" + std::to_string(i), {}}}});
    store->close();  // no wait: close itself must flush
  }
  EXPECT_EQ(open_store(db_path())->load().accounts.size(), 10u);
}

// ----- deferred bookkeeping ------------------------------------------------------------------

OutboxEntries outbox_rows(std::initializer_list<uint64_t> ids) {
  auto rows = std::make_shared<std::vector<domain::OutboxEntry>>();
  for (uint64_t id : ids) {
    domain::OutboxEntry e;
    e.id = id;
    e.sdkappid = kApp;
    e.url = "http://127.0.0.1:9/hooks";
    e.room_id = "r";
    e.room_seq = id;
    e.event_id = std::string(31, '0') + std::to_string(id);
    e.command = "Live.CallbackAfterUpdateRoomInfo";
    e.payload = "{}";
    rows->push_back(std::move(e));
  }
  return rows;
}

// Deferred changes cost no commit of their own: they are written by the next commit that
// happens anyway, together with it.
TEST_F(StoreTest, DeferredChangesRideAlongWithTheNextCommit) {
  auto store = open_store(db_path());
  ASSERT_TRUE(wait_durable(*store, store->submit({PutOutbox{outbox_rows({1, 2, 3})}})));
  RawDb reader(db_path());
  ASSERT_EQ(reader.scalar("SELECT COUNT(*) FROM webhook_outbox"), 3);
  store->submit_deferred({DeleteOutbox{{1, 2}}, PutRoomEventSeq{kApp, "r", 2}});
  EXPECT_EQ(reader.scalar("SELECT COUNT(*) FROM webhook_outbox"), 3);  // not yet on its own
  ASSERT_TRUE(wait_durable(*store, store->submit({PutAccount{kApp, {"u", {}}}})));
  EXPECT_EQ(reader.scalar("SELECT COUNT(*) FROM webhook_outbox"), 1);
  EXPECT_EQ(reader.scalar("SELECT id FROM webhook_outbox"), 3);
}

// With nothing else to write, deferred changes still commit, within about kDeferredDelay.
TEST_F(StoreTest, DeferredChangesCommitAloneWhenNothingElseDoes) {
  auto store = open_store(db_path());
  ASSERT_TRUE(wait_durable(*store, store->submit({PutOutbox{outbox_rows({1, 2})}})));
  const uint64_t durable_before = store->durable_seq();
  store->submit_deferred({DeleteOutbox{{1}}});
  RawDb reader(db_path());
  const auto deadline = std::chrono::steady_clock::now() + 10 * Store::kDeferredDelay;
  while (reader.scalar("SELECT COUNT(*) FROM webhook_outbox") != 1 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(reader.scalar("SELECT COUNT(*) FROM webhook_outbox"), 1);
  EXPECT_EQ(store->durable_seq(), durable_before);  // no sequence number of its own
}

// Deletes go by runs of consecutive ids: ids given in any order, with gaps and repeats, delete
// exactly those rows.
TEST_F(StoreTest, DeleteOutboxDeletesExactlyTheGivenIds) {
  auto store = open_store(db_path());
  ASSERT_TRUE(
      wait_durable(*store, store->submit({PutOutbox{outbox_rows({1, 2, 3, 4, 5, 6, 7, 8, 9})}})));
  ASSERT_TRUE(wait_durable(*store, store->submit({DeleteOutbox{{8, 2, 1, 5, 3, 7, 2}}})));
  RawDb reader(db_path());
  EXPECT_EQ(reader.scalar("SELECT COUNT(*) FROM webhook_outbox"), 3);
  EXPECT_EQ(reader.scalar("SELECT COUNT(*) FROM webhook_outbox WHERE id IN (4, 6, 9)"), 3);
}

TEST_F(StoreTest, CloseCommitsDeferredChanges) {
  {
    auto store = open_store(db_path());
    ASSERT_TRUE(wait_durable(*store, store->submit({PutOutbox{outbox_rows({1, 2})}})));
    store->submit_deferred({DeleteOutbox{{1, 2}}, PutRoomEventSeq{kApp, "r", 2}});
    store->close();
  }
  const Snapshot s = open_store(db_path())->load();
  EXPECT_TRUE(s.outbox.empty());
  ASSERT_EQ(s.room_event_seqs.size(), 1u);
  EXPECT_EQ(s.room_event_seqs[0].last_seq, 2u);
}

// ----- round trip through close + reopen ---------------------------------------------------

TEST_F(StoreTest, RoomsRoundTripWithEveryField) {
  domain::Room full = full_room("live_9001");
  full.metadata = {{"theme", "dark"}, {"a", ""}, {"json", R"({"x":[1,2]})"}};
  domain::Room plain;  // defaults, empty strings, empty category
  plain.room_id = "plain room ~";
  plain.owner = "o";
  plain.name = "plain room ~";
  {
    auto store = open_store(db_path());
    // The rooms row carries no metadata; metadata travels separately.
    domain::Room row = full;
    row.metadata.clear();
    store->submit({PutRoom{kApp, row}, PutRoomMetadata{kApp, full.room_id, full.metadata}});
    store->submit({PutRoom{kApp, plain}});
    // Same RoomId in another app is another room.
    domain::Room other = plain;
    other.owner = "someone else";
    store->submit({PutRoom{kOtherApp, other}});
    store->close();
  }
  auto store = open_store(db_path());
  Snapshot s = store->load();
  ASSERT_EQ(s.rooms.size(), 3u);
  const auto* loaded = find_room(s, kApp, "live_9001");
  ASSERT_NE(loaded, nullptr);
  expect_same_room(loaded->room, full);
  const auto* loaded_plain = find_room(s, kApp, "plain room ~");
  ASSERT_NE(loaded_plain, nullptr);
  expect_same_room(loaded_plain->room, plain);
  const auto* loaded_other = find_room(s, kOtherApp, "plain room ~");
  ASSERT_NE(loaded_other, nullptr);
  EXPECT_EQ(loaded_other->room.owner, "someone else");
}

TEST_F(StoreTest, PutReplacesTheWholeRow) {
  {
    auto store = open_store(db_path());
    store->submit({PutRoom{kApp, full_room("r")}});
    domain::Room changed = full_room("r");
    changed.name = "renamed";
    changed.category = {};
    store->submit({PutRoom{kApp, changed}});
    store->submit({PutRoomMetadata{kApp, "r", {{"a", "1"}, {"b", "2"}}}});
    store->submit({PutRoomMetadata{kApp, "r", {{"b", "3"}}}});
    store->close();
  }
  Snapshot s = open_store(db_path())->load();
  ASSERT_EQ(s.rooms.size(), 1u);
  EXPECT_EQ(s.rooms[0].room.name, "renamed");
  EXPECT_TRUE(s.rooms[0].room.category.empty());
  EXPECT_EQ(s.rooms[0].room.metadata, (std::vector<domain::MetadataEntry>{{"b", "3"}}));
}

TEST_F(StoreTest, AccountsRoundTripWithStringAndIntegerProfileValues) {
  domain::Account a{"anchor_7", {}};
  a.profile.emplace("Tag_Profile_IM_Nick", std::string("Ann \xe5\xae\x89"));
  a.profile.emplace("Tag_Profile_IM_Role", int64_t{1});
  a.profile.emplace("Tag_Profile_IM_Level", int64_t{4294967295});
  a.profile.emplace("Tag_Profile_IM_Language", int64_t{0});
  a.profile.emplace("Tag_Profile_Custom_Str", std::string("12"));  // a digit string stays a string
  a.profile.emplace("Tag_Profile_Custom_Empty", std::string());
  domain::Account bare{"bare", {}};
  {
    auto store = open_store(db_path());
    store->submit({PutAccount{kApp, a}, PutAccount{kApp, bare}});
    store->close();
  }
  Snapshot s = open_store(db_path())->load();
  ASSERT_EQ(s.accounts.size(), 2u);
  const auto* loaded = find_account(s, kApp, "anchor_7");
  ASSERT_NE(loaded, nullptr);
  EXPECT_EQ(loaded->account.profile, a.profile);
  const auto* loaded_bare = find_account(s, kApp, "bare");
  ASSERT_NE(loaded_bare, nullptr);
  EXPECT_TRUE(loaded_bare->account.profile.empty());
}

TEST_F(StoreTest, DeletesStayDeleted) {
  {
    auto store = open_store(db_path());
    domain::Room gone = full_room("gone");
    store->submit({PutRoom{kApp, gone}, PutRoomMetadata{kApp, "gone", {{"k", "v"}}}});
    store->submit({PutRoom{kApp, full_room("kept")}});
    store->submit({PutAccount{kApp, {"u_gone", {}}}, PutAccount{kApp, {"u_kept", {}}}});
    store->submit({DeleteRoom{kApp, "gone"}});
    store->submit({DeleteAccount{kApp, "u_gone"}});
    store->close();
  }
  {
    auto store = open_store(db_path());
    Snapshot s = store->load();
    ASSERT_EQ(s.rooms.size(), 1u);
    EXPECT_EQ(s.rooms[0].room.room_id, "kept");
    ASSERT_EQ(s.accounts.size(), 1u);
    EXPECT_EQ(s.accounts[0].account.user_id, "u_kept");
    store->close();
  }
  // DeleteRoom takes the metadata row with it (not just hides it from load()).
  RawDb raw(db_path());
  EXPECT_EQ(raw.scalar("SELECT count(*) FROM room_metadata WHERE room_id='gone'"), 0);
  EXPECT_EQ(raw.scalar("SELECT count(*) FROM rooms WHERE room_id='gone'"), 0);
}

TEST_F(StoreTest, ChangesOfOneSubmissionAreAppliedInOrder) {
  {
    auto store = open_store(db_path());
    // Put, delete, put again in one submission: the last one wins.
    domain::Room second = full_room("r");
    second.name = "second";
    store->submit({PutRoom{kApp, full_room("r")}, DeleteRoom{kApp, "r"}, PutRoom{kApp, second}});
    store->close();
  }
  Snapshot s = open_store(db_path())->load();
  ASSERT_EQ(s.rooms.size(), 1u);
  EXPECT_EQ(s.rooms[0].room.name, "second");
}

TEST_F(StoreTest, GiftCatalogRoundTripsAndDeletesStayDeleted) {
  domain::Gift rose{"gift_rose",
                    "https://i/rose.png",
                    "https://r/rose.svga",
                    10,
                    2,
                    R"({"rarity":"common"})",
                    "Rose",
                    "A red \xe7\x8e\xab",
                    1'700'000'000,
                    {{"zh-Hans", {"\xe7\x8e\xab\xe7\x91\xb0", ""}}, {"en", {"Rose", "red"}}}};
  domain::Gift gone{"gone", "", "", 0, 0, "", std::string("a\0b", 3), "", 1, {}};
  domain::GiftCategory popular{
      "cat_popular",        "{}", "Popular", "d", 1'700'000'001, {{"zh-Hant", {"n", "d"}}},
      {"gift_rose", "gone"}};
  {
    auto store = open_store(db_path());
    store->submit({PutGift{kApp, rose}, PutGift{kApp, gone}, PutGiftCategory{kApp, popular},
                   PutGiftCategory{kApp, {"cat_gone", "", "x", "", 0, {}, {}}}});
    popular.gift_ids = {"gift_rose"};
    store->submit({DeleteGift{kApp, "gone"}, PutGiftCategory{kApp, popular},
                   DeleteGiftCategory{kApp, "cat_gone"}});
    store->close();
  }
  Snapshot s = open_store(db_path())->load();
  ASSERT_EQ(s.gifts.size(), 1u);
  EXPECT_EQ(s.gifts[0].sdkappid, kApp);
  EXPECT_EQ(s.gifts[0].gift, rose);
  ASSERT_EQ(s.gift_categories.size(), 1u);
  EXPECT_EQ(s.gift_categories[0].category, popular);
}

TEST_F(StoreTest, GiftTotalsAndSendersRoundTripAndLeaveWithTheRoom) {
  domain::Room room = full_room("r");
  room.total_gifts_sent = 12;
  room.total_gift_coins = 4'294'967'295LL * 3;
  room.total_gift_senders = 2;
  const std::vector<GiftSendKey> keys{{7, 70}, {4'294'967'295u, 1}};
  {
    auto store = open_store(db_path());
    store->submit({PutRoom{kApp, room}, PutGiftSender{kApp, "r", "alice", keys},
                   PutGiftSender{kApp, "r", "bob", {}}, PutRoom{kApp, full_room("gone")},
                   PutGiftSender{kApp, "gone", "alice", keys}});
    store->submit({DeleteRoom{kApp, "gone"}});
    store->close();
  }
  Snapshot s = open_store(db_path())->load();
  auto loaded = std::ranges::find_if(s.rooms, [](const auto& r) { return r.room.room_id == "r"; });
  ASSERT_NE(loaded, s.rooms.end());
  EXPECT_EQ(s.rooms.size(), 1u);
  EXPECT_EQ(loaded->room.total_gifts_sent, 12);
  EXPECT_EQ(loaded->room.total_gift_coins, 4'294'967'295LL * 3);
  EXPECT_EQ(loaded->room.total_gift_senders, 2);
  ASSERT_EQ(s.gift_senders.size(), 2u);
  for (const auto& sender : s.gift_senders) {
    EXPECT_EQ(sender.room_id, "r");
    EXPECT_EQ(sender.recent, sender.user_id == "alice" ? keys : std::vector<GiftSendKey>{});
  }
}

TEST_F(StoreTest, BattlesRoundTripWithTheHigherOfTheirScores) {
  domain::Battle b;
  b.battle_id = "battle_1";
  b.rooms = {{"a", "oa", domain::BattleRoomState::kJoined, 10, 0},
             {"b", "ob", domain::BattleRoomState::kLeft, 70, 1'769'000'010'000}};
  b.duration_ms = 60'000;
  b.extension_info = R"({"k":"v"})";
  b.create_ms = 1'769'000'000'000;
  b.start_ms = 1'769'000'001'000;
  b.end_ms = 1'769'000'061'000;
  b.status = domain::BattleStatus::kRunning;
  domain::Battle gone = b;
  gone.battle_id = "battle_gone";
  {
    auto store = open_store(db_path());
    store->submit({PutBattle{kApp, b}, PutBattleScore{kApp, "battle_1", "a", 45},
                   PutBattleScore{kApp, "battle_1", "b", 5}, PutBattle{kApp, gone},
                   PutBattleScore{kApp, "battle_gone", "a", 1}});
    store->submit({DeleteBattle{kApp, "battle_gone"}});
    store->close();
  }
  Snapshot s = open_store(db_path())->load();
  ASSERT_EQ(s.battles.size(), 1u);
  domain::Battle want = b;
  want.rooms[0].score = 45;  // the score row is higher than the document's
  EXPECT_EQ(s.battles[0].battle, want);
  RawDb raw(db_path());
  EXPECT_EQ(raw.scalar("SELECT count(*) FROM battle_scores WHERE battle_id='battle_gone'"), 0);
}

TEST(BattleResult, TheHighestScoreOfTheRoomsThatTookPartWinsAndATieIsADraw) {
  domain::Battle b;
  b.start_ms = 1;
  b.rooms = {{"a", "oa", domain::BattleRoomState::kJoined, 30, 0},
             {"b", "ob", domain::BattleRoomState::kLeft, 30, 0},
             {"c", "oc", domain::BattleRoomState::kRejected, 99, 0}};
  EXPECT_EQ(b.winners(), (std::vector<std::string>{"a", "b"}));
  b.rooms[1].score = 31;
  EXPECT_EQ(b.winners(), std::vector<std::string>{"b"});
  b.start_ms = 0;  // never started: nobody won
  EXPECT_TRUE(b.winners().empty());
}

// ----- migrations --------------------------------------------------------------------------

TEST_F(StoreTest, FreshDatabaseGetsTheLatestSchemaVersion) {
  open_store(db_path())->close();
  RawDb raw(db_path());
  EXPECT_EQ(raw.scalar("PRAGMA user_version"), latest_schema_version());
  EXPECT_EQ(raw.scalar("SELECT count(*) FROM sqlite_master WHERE type='table' AND name IN "
                       "('rooms','room_metadata','accounts')"),
            3);
}

TEST_F(StoreTest, ReopeningIsIdempotent) {
  {
    auto store = open_store(db_path());
    store->submit({PutRoom{kApp, full_room("r")}});
    store->close();
  }
  for (int i = 0; i < 3; ++i) {
    auto store = open_store(db_path());  // must not re-run the migration (the tables exist)
    EXPECT_EQ(store->load().rooms.size(), 1u);
    store->close();
  }
  RawDb raw(db_path());
  EXPECT_EQ(raw.scalar("PRAGMA user_version"), latest_schema_version());
}

TEST_F(StoreTest, NewerSchemaIsRefused) {
  open_store(db_path())->close();
  {
    RawDb raw(db_path());
    raw.exec("PRAGMA user_version=99");
  }
  try {
    open_store(db_path());
    FAIL() << "a schema newer than the binary must be refused";
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("99"), std::string::npos) << e.what();
  }
  // Refusing must not touch the file.
  RawDb raw(db_path());
  EXPECT_EQ(raw.scalar("PRAGMA user_version"), 99);
}

TEST_F(StoreTest, UnopenablePathIsAStoreError) {
  EXPECT_THROW(open_store(dir_.file("no/such/dir/liveroom.db")), StoreError);
}

}  // namespace
}  // namespace liveroom::store
