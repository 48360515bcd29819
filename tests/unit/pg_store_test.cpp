// The PostgreSQL store against a real PostgreSQL: the same promises as the SQLite store (every
// change comes back after a reload, byte for byte), plus the cluster's own: a commit from a node
// whose leadership epoch is stale changes nothing, a lost connection delays commits instead of
// failing them, and a schema newer than the binary is refused. With placement by app, stores of
// different apps write side by side: each loads only its app's rows, is fenced by its app's
// epoch alone, and their outbox ids never collide; and however many apps a node hosts, their
// stores share the node's few connections.
//
// They need a server: LIVEROOM_TEST_POSTGRES_URL names a database whose user may create
// databases. `make test` starts one and runs them (tests/e2e/test_postgres_store.py);
// without it they skip.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <future>
#include <map>
#include <set>
#include <thread>
#include <tuple>

#include "store/postgres/pg_connection.h"
#include "store/postgres/pg_pool.h"
#include "store/store.h"
#include "test_support.h"

namespace liveroom::store {
namespace {

using testing_support::wait_all_durable;
using testing_support::wait_durable;

constexpr uint32_t kApp = 1400000001;
constexpr uint32_t kOtherApp = 1400000002;
constexpr uint64_t kOutboxIdBlock = uint64_t{1} << 40;  // what each load reserves

// A fresh database per test, dropped afterwards.
class PostgresStore : public testing::Test {
 protected:
  void SetUp() override {
    const char* base = std::getenv("LIVEROOM_TEST_POSTGRES_URL");
    if (base == nullptr || *base == '\0') {
      GTEST_SKIP() << "LIVEROOM_TEST_POSTGRES_URL is not set";
    }
    base_ = base;
    static std::atomic<int> counter{0};
    name_ = "liveroom_unit_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
    PgConnection admin(base_);
    admin.exec("DROP DATABASE IF EXISTS " + name_);
    admin.exec("CREATE DATABASE " + name_);
    // Same server and credentials, another database: replace the URI's path.
    const size_t slash = base_.find('/', base_.find("://") + 3);
    const size_t query = base_.find('?');
    url_ = base_.substr(0, slash) + "/" + name_ +
           (query == std::string::npos ? "" : base_.substr(query));
    prepare_postgres(url_);
    pool_ = std::make_unique<PgPool>(url_, 2);
  }
  void TearDown() override {
    if (name_.empty()) return;
    pool_.reset();
    PgConnection admin(base_);
    admin.exec("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  }

  std::unique_ptr<Store> open(
      uint64_t epoch, std::function<void()> on_fenced = [] {}) {
    return open_postgres_store({url_, epoch, std::move(on_fenced)});
  }
  uint64_t lead() { return take_postgres_leadership(*pool_, "unit", "http://127.0.0.1:1"); }

  // Placement by app: a store serving `app` alone, and a takeover of that app.
  std::unique_ptr<Store> open_app(
      uint32_t app, uint64_t epoch, std::function<void()> on_fenced = [] {}) {
    return open_postgres_store({url_, epoch, std::move(on_fenced), app});
  }
  uint64_t lead_app(uint32_t app) {
    return take_postgres_leadership(*pool_, "unit", "http://127.0.0.1:1", app);
  }
  // The connections to this test's database, as the server counts them (the caller's own too).
  int64_t server_connections() {
    PgConnection db(url_);
    return std::stoll(std::string(
        db.exec("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
            .text(0, 0)));
  }

  std::string base_, name_, url_;
  std::unique_ptr<PgPool> pool_;  // what a node's stores and leadership share
};

// Bytes that text columns would mangle or refuse: NUL, invalid UTF-8, quotes and backslashes.
// Values the store keeps inside JSON documents (metadata, bans, profiles) arrive as JSON and so
// are valid UTF-8: kAwkwardText has everything but the invalid bytes.
const std::string kAwkwardText = std::string("a\0b", 3) + "'\\\"; DROP TABLE rooms; --";
const std::string kAwkward = kAwkwardText + "\xff\xfe";

// Gift texts come from JSON request bodies, so they are valid UTF-8 (NUL and quotes included);
// ids are printable ASCII (a category lists them in its document), but a gift row is keyed by
// its own column, which takes any bytes.
domain::Gift awkward_gift() {
  return {
      kAwkward,       "https://i",  "https://r", 4'294'967'295, 3,
      R"({"k":"v"})", kAwkwardText, "d",         1'769'000'000, {{"zh-Hans", {kAwkwardText, ""}}}};
}

domain::GiftCategory awkward_category() {
  return {"cat", "", kAwkwardText, "", 5, {{"en", {"n", kAwkwardText}}}, {"gift_rose"}};
}

domain::Room awkward_room(std::string id) {
  domain::Room r;
  r.room_id = std::move(id);
  r.owner = kAwkward;
  r.name = "Evening \xe6\x99\x9a";
  r.seat_template = "AudioSalon";
  r.seat_count = 12;
  r.take_seat_mode = domain::TakeSeatMode::kApplyToTake;
  r.max_member_count = 300;
  r.is_message_disabled = true;
  r.keep_owner_on_seat = true;
  r.notice = kAwkward;
  r.custom_info = R"({"k":"v"})";
  r.category = {1, -2, 9'000'000'000};
  r.activity_status = -7;
  r.create_time = 1'769'000'000;
  r.view_count = 812;
  r.msg_seq = 41;
  r.total_msg_count = 40;
  r.total_likes = 9;
  r.total_gifts_sent = 11;
  r.total_gift_coins = 9'000'000'000;
  r.total_gift_senders = 3;
  r.metadata = {{"k1", kAwkwardText}, {"k2", "v2"}};
  r.moderation.admins = {"adm"};
  r.moderation.bans = {{"troll", 1'900'000'000, kAwkwardText}};
  return r;
}

TEST_F(PostgresStore, EveryChangeComesBackAfterAReload) {
  const uint64_t epoch = lead();
  {
    auto store = open(epoch);
    domain::Room room = awkward_room("r1");
    domain::Account account;
    account.user_id = kAwkward;
    account.profile = {{"Tag_Profile_IM_Nick", kAwkwardText}, {"Tag_Profile_IM_Level", int64_t{7}}};
    auto outbox = std::make_shared<std::vector<domain::OutboxEntry>>();
    domain::OutboxEntry e;
    e.id = 5;
    e.sdkappid = kApp;
    e.url = "http://hook";
    e.room_id = "r1";
    e.room_seq = 3;
    e.event_id = "ev";
    e.command = "Live.CallbackAfterCreateRoom";
    e.payload = kAwkward;
    e.client_ip = "1.2.3.4";
    e.created_ms = 17;
    outbox->push_back(e);
    domain::CallbackConfig config;
    config.subscription = domain::Subscription{kAwkward, {"a", "b"}};
    config.token = kAwkward;
    config.token_enabled = true;
    domain::Battle battle{"battle_1",
                          {{"r1", kAwkwardText, domain::BattleRoomState::kJoined, 3, 0},
                           {"r2", "o", domain::BattleRoomState::kInvited, 0, 9}},
                          1'000,
                          kAwkwardText,
                          1,
                          0,
                          0,
                          domain::BattleStatus::kInviting,
                          ""};
    const uint64_t seq = store->submit(
        {PutRoom{kApp, room}, PutRoomMetadata{kApp, "r1", room.metadata},
         PutRoomModeration{kApp, "r1", room.moderation}, PutRoom{kApp, awkward_room("gone")},
         PutGiftSender{kApp, "gone", "x", {}}, DeleteRoom{kApp, "gone"}, PutAccount{kApp, account},
         PutOutbox{outbox}, PutRoomEventSeq{kApp, "r1", 9}, PutRoomEventSeq{kApp, "r1", 4},
         PutCallbackConfig{kApp, config}, PutGift{kApp, awkward_gift()},
         PutGift{kApp, {"gone", {}, {}, 1, 1, {}}}, DeleteGift{kApp, "gone"},
         PutGiftCategory{kApp, awkward_category()},
         PutGiftSender{kApp, "r1", kAwkward, {{4'294'967'295u, 7}}}, PutBattle{kApp, battle},
         PutBattleScore{kApp, "battle_1", "r1", 8}});
    ASSERT_TRUE(wait_durable(*store, seq));
    store->close();
  }
  auto store = open(epoch);
  Snapshot s = store->load();
  ASSERT_EQ(s.rooms.size(), 1u);
  const domain::Room& r = s.rooms[0].room;
  EXPECT_EQ(r.owner, kAwkward);
  EXPECT_EQ(r.notice, kAwkward);
  EXPECT_EQ(r.name, "Evening \xe6\x99\x9a");
  EXPECT_EQ(r.category, (std::vector<int64_t>{1, -2, 9'000'000'000}));
  EXPECT_EQ(r.take_seat_mode, domain::TakeSeatMode::kApplyToTake);
  EXPECT_EQ(r.msg_seq, 41u);
  EXPECT_EQ(r.total_likes, 9);
  EXPECT_EQ(r.metadata, awkward_room("x").metadata);
  ASSERT_EQ(r.moderation.bans.size(), 1u);
  EXPECT_EQ(r.moderation.bans[0].reason, kAwkwardText);
  ASSERT_EQ(s.accounts.size(), 1u);
  EXPECT_EQ(s.accounts[0].account.user_id, kAwkward);
  EXPECT_EQ(std::get<std::string>(s.accounts[0].account.profile.at("Tag_Profile_IM_Nick")),
            kAwkwardText);
  ASSERT_EQ(s.outbox.size(), 1u);
  EXPECT_EQ(s.outbox[0].payload, kAwkward);
  ASSERT_EQ(s.room_event_seqs.size(), 1u);
  EXPECT_EQ(s.room_event_seqs[0].last_seq, 9u);  // never lowered
  ASSERT_EQ(s.callback_configs.size(), 1u);
  EXPECT_EQ(s.callback_configs[0].config.token, kAwkward);
  EXPECT_EQ(s.callback_configs[0].config.subscription->commands,
            (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(r.total_gift_coins, 9'000'000'000);
  EXPECT_EQ(r.total_gift_senders, 3);
  ASSERT_EQ(s.gift_senders.size(), 1u);  // the one of the deleted room went with it
  EXPECT_EQ(s.gift_senders[0].user_id, kAwkward);
  EXPECT_EQ(s.gift_senders[0].recent, (std::vector<GiftSendKey>{{4'294'967'295u, 7}}));
  ASSERT_EQ(s.battles.size(), 1u);
  EXPECT_EQ(s.battles[0].battle.rooms[0].owner, kAwkwardText);
  EXPECT_EQ(s.battles[0].battle.rooms[0].score, 8);
  EXPECT_EQ(s.battles[0].battle.extension_info, kAwkwardText);
  ASSERT_EQ(s.gifts.size(), 1u);
  EXPECT_EQ(s.gifts[0].gift, awkward_gift());
  ASSERT_EQ(s.gift_categories.size(), 1u);
  EXPECT_EQ(s.gift_categories[0].category, awkward_category());
}

// The fencing token: once another node raised the epoch, nothing this store submits commits, its
// callbacks never fire, and it is told.
TEST_F(PostgresStore, ACommitWithAStaleEpochChangesNothing) {
  const uint64_t old_epoch = lead();
  std::promise<void> fenced;
  auto store = open(old_epoch, [&fenced] { fenced.set_value(); });
  ASSERT_TRUE(wait_durable(*store, store->submit({PutRoom{kApp, awkward_room("before")}})));

  ASSERT_GT(lead(), old_epoch);  // another node takes over
  std::atomic<bool> acknowledged{false};
  const uint64_t seq = store->submit({PutRoom{kApp, awkward_room("stale")}});
  store->when_durable(seq, [&acknowledged] { acknowledged = true; });
  ASSERT_EQ(fenced.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_FALSE(acknowledged.load());

  auto fresh = open(0);
  Snapshot s = fresh->load();
  ASSERT_EQ(s.rooms.size(), 1u);
  EXPECT_EQ(s.rooms[0].room.room_id, "before");
  store->close();  // the halted writer has ended; close only closes the connection
}

// An outbox row as the engine makes it.
domain::OutboxEntry outbox_entry(uint64_t id, uint32_t app, std::string room_id) {
  domain::OutboxEntry e;
  e.id = id;
  e.sdkappid = app;
  e.url = "http://hook";
  e.room_id = std::move(room_id);
  e.room_seq = 1;
  e.event_id = "ev" + std::to_string(id);
  e.command = "Live.CallbackAfterCreateRoom";
  e.payload = "{}";
  e.created_ms = 17;
  return e;
}

// One of every kind of row for `app`, so that a load can be checked to hold nothing of another.
std::vector<Change> one_of_each(uint32_t app) {
  domain::Account account;
  account.user_id = "user";
  domain::CallbackConfig config;
  config.subscription = domain::Subscription{"http://hook", {"a"}};
  domain::Battle battle{"battle", {{"room", "o", domain::BattleRoomState::kJoined, 0, 0}},
                        1'000,    "",
                        1,        0,
                        0,        domain::BattleStatus::kRunning,
                        ""};
  domain::Room room = awkward_room("room");
  return {PutRoom{app, room},
          PutRoomMetadata{app, "room", room.metadata},
          PutRoomModeration{app, "room", room.moderation},
          PutAccount{app, account},
          PutRoomEventSeq{app, "room", 3},
          PutCallbackConfig{app, config},
          PutGift{app, awkward_gift()},
          PutGiftCategory{app, awkward_category()},
          PutGiftSender{app, "room", "user", {{1, 2}}},
          PutBattle{app, battle},
          PutBattleScore{app, "battle", "room", 5}};
}

// Every vector of the snapshot holds rows, and only rows of `app`.
void expect_only(const Snapshot& s, uint32_t app) {
  auto check = [app](const auto& rows, auto sdkappid_of, std::string_view what) {
    EXPECT_FALSE(rows.empty()) << what;
    for (const auto& row : rows) EXPECT_EQ(sdkappid_of(row), app) << what;
  };
  auto field = [](const auto& row) { return row.sdkappid; };
  check(s.rooms, field, "rooms");
  check(s.accounts, field, "accounts");
  check(s.outbox, field, "outbox");
  check(s.room_event_seqs, field, "room_event_seqs");
  check(s.callback_configs, field, "callback_configs");
  check(s.gifts, field, "gifts");
  check(s.gift_categories, field, "gift_categories");
  check(s.gift_senders, field, "gift_senders");
  check(s.battles, field, "battles");
  for (const auto& r : s.rooms) {
    if (r.room.room_id == "room") {
      EXPECT_EQ(r.room.metadata, awkward_room("x").metadata);
    }
  }
}

// Placement by app: two hosts write the same tables at once, each its own app's rows. Each load
// sees its app alone, and every outbox row of both comes back: the ids each host allocates from
// its own reserved block never collide (two hosts counting from their own rows' max would, and
// ON CONFLICT DO NOTHING would drop the second host's webhook without a word).
TEST_F(PostgresStore, TwoAppHostsCommitSideBySideAndEachLoadsOnlyItsApp) {
  constexpr int kBatches = 50;
  const uint32_t apps[2] = {kApp, kOtherApp};
  const uint64_t epochs[2] = {lead_app(kApp), lead_app(kOtherApp)};
  std::vector<std::thread> hosts;
  std::atomic<int> failures{0};
  for (int h = 0; h < 2; ++h) {
    hosts.emplace_back([&, h] {
      const uint32_t app = apps[h];
      auto store = open_app(app, epochs[h], [&failures] { ++failures; });
      const Snapshot loaded = store->load();
      EXPECT_TRUE(loaded.rooms.empty());
      // As the engine does: from the reserved block on.
      uint64_t next_id = loaded.first_outbox_id;
      if (!wait_durable(*store, store->submit(one_of_each(app)))) ++failures;
      for (int i = 0; i < kBatches; ++i) {
        const std::string room_id = "r" + std::to_string(i);
        auto outbox = std::make_shared<std::vector<domain::OutboxEntry>>();
        outbox->push_back(outbox_entry(next_id++, app, room_id));
        outbox->push_back(outbox_entry(next_id++, app, room_id));
        store->submit({PutRoom{app, awkward_room(room_id)}, PutOutbox{outbox}});
      }
      if (!wait_all_durable(*store)) ++failures;
      store->close();
    });
  }
  for (auto& t : hosts) t.join();
  ASSERT_EQ(failures.load(), 0);

  std::set<uint64_t> ids;
  for (int h = 0; h < 2; ++h) {
    const Snapshot s = open_app(apps[h], epochs[h])->load();
    SCOPED_TRACE(apps[h]);
    expect_only(s, apps[h]);
    EXPECT_EQ(s.rooms.size(), size_t{kBatches} + 1);
    EXPECT_EQ(s.outbox.size(), size_t{kBatches} * 2);
    for (const auto& e : s.outbox) ids.insert(e.id);
  }
  EXPECT_EQ(ids.size(), size_t{kBatches} * 4);  // not one webhook lost
  // A store of the whole cluster (placement by cluster) still loads every app.
  const Snapshot all = open(0)->load();
  EXPECT_EQ(all.rooms.size(), size_t{kBatches} * 2 + 2);
  EXPECT_EQ(all.outbox.size(), size_t{kBatches} * 4);
}

// A takeover of one app fences that app's previous host and no other: each app has its own
// epoch row.
TEST_F(PostgresStore, ATakeoverOfOneAppFencesOnlyThatAppsHost) {
  const uint64_t old_epoch = lead_app(kApp);
  const uint64_t other_epoch = lead_app(kOtherApp);
  std::promise<void> fenced;
  auto store = open_app(kApp, old_epoch, [&fenced] { fenced.set_value(); });
  std::atomic<bool> other_fenced{false};
  auto other = open_app(kOtherApp, other_epoch, [&other_fenced] { other_fenced = true; });
  ASSERT_TRUE(wait_durable(*store, store->submit({PutRoom{kApp, awkward_room("before")}})));
  ASSERT_TRUE(wait_durable(*other, other->submit({PutRoom{kOtherApp, awkward_room("o1")}})));

  const uint64_t new_epoch = lead_app(kApp);  // another node takes the app over
  ASSERT_GT(new_epoch, old_epoch);
  EXPECT_EQ(postgres_leadership_epoch(*pool_, kApp), new_epoch);
  EXPECT_EQ(postgres_leadership_epoch(*pool_, kOtherApp), other_epoch);
  std::atomic<bool> acknowledged{false};
  const uint64_t seq = store->submit({PutRoom{kApp, awkward_room("stale")}});
  store->when_durable(seq, [&acknowledged] { acknowledged = true; });
  ASSERT_EQ(fenced.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_FALSE(acknowledged.load());

  // The other app's host goes on committing, and so does the app's new host.
  ASSERT_TRUE(wait_durable(*other, other->submit({PutRoom{kOtherApp, awkward_room("o2")}})));
  EXPECT_FALSE(other_fenced.load());
  auto successor = open_app(kApp, new_epoch);
  EXPECT_EQ(successor->load().rooms.size(), 1u);
  ASSERT_TRUE(wait_durable(*successor, successor->submit({PutRoom{kApp, awkward_room("after")}})));

  // An app store checks its app's row, not the cluster's: the cluster's current epoch does not
  // let a commit for an app nobody hosts through.
  constexpr uint32_t kUnhostedApp = 1400000003;
  std::promise<void> unhosted_fenced;
  auto unhosted =
      open_app(kUnhostedApp, lead(), [&unhosted_fenced] { unhosted_fenced.set_value(); });
  unhosted->submit({PutRoom{kUnhostedApp, awkward_room("x")}});
  ASSERT_EQ(unhosted_fenced.get_future().wait_for(std::chrono::seconds(10)),
            std::future_status::ready);
  unhosted->close();
  EXPECT_TRUE(open_app(kUnhostedApp, 0)->load().rooms.empty());

  Snapshot s = open_app(kApp, 0)->load();
  std::set<std::string> rooms;
  for (const auto& r : s.rooms) rooms.insert(r.room.room_id);
  EXPECT_EQ(rooms, (std::set<std::string>{"before", "after"}));
  EXPECT_EQ(open_app(kOtherApp, 0)->load().rooms.size(), 2u);
  store->close();
  other->close();
  successor->close();
}

// ----- placement by room ------------------------------------------------------------------

constexpr uint32_t kSlots = 4;

// A RoomId in `slot` (of kSlots), the n-th such.
std::string room_in(uint32_t slot, int n = 0) {
  for (int i = 0;; ++i) {
    std::string id = "room-" + std::to_string(i);
    if (domain::room_slot(id, kSlots) == slot && n-- == 0) return id;
  }
}

// A slot host's store loads the rooms of its slot (with their rows and outbox), and the app-wide
// rows whole; commits of the app's slots go side by side, each fenced by its slot's epoch.
TEST_F(PostgresStore, SlotHostsLoadTheirSlotsRoomsAndTheWholeAppWideState) {
  auto lead_slot = [&](uint32_t slot) {
    return take_postgres_leadership(*pool_, "unit", "http://127.0.0.1:1", kApp, slot);
  };
  auto open_slot = [&](
                       uint32_t slot, uint64_t epoch, std::function<void()> on_fenced = [] {}) {
    return open_postgres_store({.url = url_,
                                .epoch = epoch,
                                .on_fenced = std::move(on_fenced),
                                .sdkappid = kApp,
                                .slot = slot,
                                .room_slots = kSlots});
  };
  const uint64_t epoch0 = lead_slot(0), epoch1 = lead_slot(1);
  EXPECT_EQ(postgres_leadership_epoch(*pool_, kApp, 1), epoch1);
  EXPECT_EQ(postgres_leadership_epoch(*pool_, kApp, 2), 0u);
  auto slot0 = open_slot(0, epoch0);
  auto slot1 = open_slot(1, epoch1);
  const uint64_t first0 = slot0->load().first_outbox_id;
  const uint64_t first1 = slot1->load().first_outbox_id;
  const std::string a = room_in(0), b = room_in(1);
  auto outbox = [](uint64_t id, const std::string& room) {
    return PutOutbox{std::make_shared<std::vector<domain::OutboxEntry>>(
        std::vector<domain::OutboxEntry>{outbox_entry(id, kApp, room)})};
  };
  domain::Account alice, bob;
  alice.user_id = "alice";
  bob.user_id = "bob";
  ASSERT_TRUE(wait_durable(*slot0, slot0->submit({PutRoom{kApp, awkward_room(a)},
                                                  PutAccount{kApp, alice}, outbox(first0, a)})));
  ASSERT_TRUE(wait_durable(*slot1, slot1->submit({PutRoom{kApp, awkward_room(b)},
                                                  PutAccount{kApp, bob}, outbox(first1, b)})));
  const Snapshot s0 = open_slot(0, epoch0)->load();
  ASSERT_EQ(s0.rooms.size(), 1u);
  EXPECT_EQ(s0.rooms[0].room.room_id, a);
  ASSERT_EQ(s0.outbox.size(), 1u);
  EXPECT_EQ(s0.outbox[0].room_id, a);
  EXPECT_EQ(s0.accounts.size(), 2u);  // both slots' imports: accounts are the app's
  const Snapshot s1 = open_slot(1, epoch1)->load();
  ASSERT_EQ(s1.rooms.size(), 1u);
  EXPECT_EQ(s1.rooms[0].room.room_id, b);
  EXPECT_EQ(s1.accounts.size(), 2u);
  EXPECT_EQ(open_app(kApp, 0)->load().rooms.size(), 2u);  // the app's store sees them all

  // A takeover of slot 1 fences its old host, and slot 0's goes on.
  std::promise<void> fenced;
  auto stale = open_slot(1, epoch1, [&fenced] { fenced.set_value(); });
  const uint64_t next1 = lead_slot(1);
  ASSERT_GT(next1, epoch1);
  stale->submit({PutRoom{kApp, awkward_room(room_in(1, 1))}});
  ASSERT_EQ(fenced.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
  ASSERT_TRUE(wait_durable(*slot0, slot0->submit({PutRoom{kApp, awkward_room(room_in(0, 1))}})));
  EXPECT_EQ(open_slot(1, next1)->load().rooms.size(), 1u);
  stale->close();
  slot0->close();
  slot1->close();
}

// The feed of app-wide changes: every change of an account or of the callbacks by any slot's
// host, read back as PostgreSQL holds it now, from where a host left off.
TEST_F(PostgresStore, TheAppsFeedShowsEveryAppWideChangeFromWhereAHostLeftOff) {
  const uint64_t epoch = take_postgres_leadership(*pool_, "unit", "http://127.0.0.1:1", kApp, 2);
  auto store = open_postgres_store(
      {.url = url_, .epoch = epoch, .sdkappid = kApp, .slot = 2, .room_slots = kSlots});
  const uint64_t start = store->load().app_state_version;
  EXPECT_EQ(start, 0u);
  domain::Account alice, bob;
  alice.user_id = "alice";
  alice.profile["Tag_Profile_IM_Nick"] = std::string("Alice");
  bob.user_id = "bob";
  domain::CallbackConfig config;
  config.subscription = domain::Subscription{"http://hook", {"Live.CallbackAfterCreateRoom"}};
  ASSERT_TRUE(wait_durable(*store, store->submit({PutAccount{kApp, alice}, PutAccount{kApp, bob},
                                                  PutCallbackConfig{kApp, config}})));
  ASSERT_TRUE(wait_durable(*store, store->submit({DeleteAccount{kApp, "bob"}})));
  // A room's own rows are not app-wide: they are not in the feed.
  ASSERT_TRUE(wait_durable(*store, store->submit({PutRoom{kApp, awkward_room(room_in(2))}})));

  AppStateChanges changes = read_app_state_changes(*pool_, kApp, start);
  EXPECT_FALSE(changes.gap);
  EXPECT_EQ(changes.version, start + 4);
  std::map<std::string, std::optional<domain::Account>> now;
  for (auto& [user, account] : changes.accounts) now[user] = account;
  ASSERT_EQ(now.size(), 2u);
  ASSERT_TRUE(now["alice"].has_value());
  EXPECT_EQ(now["alice"]->profile, alice.profile);
  EXPECT_FALSE(now["bob"].has_value());  // deleted since
  ASSERT_TRUE(changes.callbacks.has_value());
  EXPECT_EQ(changes.callbacks->subscription->url, "http://hook");
  // From where it left off: nothing new; a host loading now starts there.
  changes = read_app_state_changes(*pool_, kApp, changes.version);
  EXPECT_TRUE(changes.accounts.empty());
  EXPECT_FALSE(changes.callbacks.has_value());
  EXPECT_EQ(store->load().app_state_version, start + 4);
  // A host that asks again for what it could not apply reads the row as it is now.
  changes = read_app_state_changes(*pool_, kApp, start + 4, {"alice", "bob"}, true);
  ASSERT_EQ(changes.accounts.size(), 2u);
  EXPECT_TRUE(changes.callbacks.has_value());
  // A change to the gift catalog gives the whole catalog as it is now.
  ASSERT_TRUE(wait_durable(*store, store->submit({PutGift{kApp, awkward_gift()},
                                                  PutGiftCategory{kApp, awkward_category()}})));
  changes = read_app_state_changes(*pool_, kApp, start + 4);
  EXPECT_EQ(changes.version, start + 6);
  ASSERT_TRUE(changes.catalog.has_value());
  ASSERT_EQ(changes.catalog->gifts.size(), 1u);
  EXPECT_EQ(changes.catalog->gifts[0], awkward_gift());
  ASSERT_EQ(changes.catalog->categories.size(), 1u);
  EXPECT_EQ(changes.catalog->categories[0], awkward_category());
  ASSERT_TRUE(wait_durable(*store, store->submit({DeleteGift{kApp, awkward_gift().gift_id}})));
  changes = read_app_state_changes(*pool_, kApp, start + 6);
  ASSERT_TRUE(changes.catalog.has_value());
  EXPECT_TRUE(changes.catalog->gifts.empty());
  EXPECT_FALSE(read_app_state_changes(*pool_, kApp, start + 7).catalog.has_value());
  EXPECT_TRUE(read_app_state_changes(*pool_, kApp, start + 7, {}, false, true).catalog);
  // Trimmed changes a host had not read are a gap: it must load again.
  trim_app_state_changes(*pool_, kApp, std::chrono::seconds(3600));  // all are younger
  EXPECT_FALSE(read_app_state_changes(*pool_, kApp, start).gap);
  trim_app_state_changes(*pool_, kApp, std::chrono::seconds(0));
  EXPECT_TRUE(read_app_state_changes(*pool_, kApp, start).gap);
  EXPECT_FALSE(read_app_state_changes(*pool_, kApp, start + 7).gap);  // (nothing left to read)
  store->close();
}

// get_room_list with placement by room reads every slot's public rooms from PostgreSQL, in the
// single node's order (ViewCount down, then RoomId), page after page.
TEST_F(PostgresStore, PublicRoomsAreReadInTheRoomListsOrder) {
  const uint64_t epoch = lead_app(kApp);
  auto store = open_app(kApp, epoch);
  store->load();
  std::vector<Change> rooms;
  for (const auto& [id, views, visible] : {std::tuple{"b", 5, true},
                                           {"a", 5, true},
                                           {"c", 9, true},
                                           {"hidden", 7, false},
                                           {"d", 1, true}}) {
    domain::Room r = awkward_room(id);
    r.view_count = views;
    r.is_public_visible = visible;
    rooms.push_back(PutRoom{kApp, std::move(r)});
  }
  ASSERT_TRUE(wait_durable(*store, store->submit(std::move(rooms))));
  auto ids = [](const PublicRoomsPage& page) {
    std::vector<std::string> out;
    for (const auto& r : page.rooms) out.push_back(r.room_id);
    return out;
  };
  PublicRoomsPage page = read_public_rooms(*pool_, kApp, std::nullopt, 2);
  EXPECT_EQ(ids(page), (std::vector<std::string>{"c", "a"}));
  EXPECT_TRUE(page.more);
  EXPECT_EQ(page.rooms[0].owner, kAwkward);
  EXPECT_EQ(page.rooms[0].category, (std::vector<int64_t>{1, -2, 9'000'000'000}));
  page = read_public_rooms(*pool_, kApp, std::pair<int64_t, std::string>{5, "a"}, 2);
  EXPECT_EQ(ids(page), (std::vector<std::string>{"b", "d"}));
  EXPECT_FALSE(page.more);
  EXPECT_TRUE(read_public_rooms(*pool_, kOtherApp, std::nullopt, 2).rooms.empty());
  store->close();
}

// Every load reserves a block of outbox ids above every id written so far and above every block
// reserved before, whichever placement the store serves: a new host's ids follow its
// predecessors' and never meet another host's.
TEST_F(PostgresStore, EachLoadReservesOutboxIdsAboveEveryIdAndEveryEarlierBlock) {
  auto first = open(lead());
  const uint64_t first_block = first->load().first_outbox_id;
  EXPECT_EQ(first_block, 1u);  // a new cluster counts from 1, as before
  auto rows = std::make_shared<std::vector<domain::OutboxEntry>>();
  rows->push_back(outbox_entry(first_block, kApp, "r"));
  rows->push_back(outbox_entry(first_block + 1, kOtherApp, "r"));
  ASSERT_TRUE(wait_durable(*first, first->submit({PutOutbox{rows}})));

  auto second = open_app(kApp, lead_app(kApp));
  const Snapshot second_load = second->load();
  ASSERT_EQ(second_load.outbox.size(), 1u);
  EXPECT_GE(second_load.first_outbox_id, first_block + kOutboxIdBlock);  // after first's block

  // An id above every block (an older liveroomd counts from the highest id it loaded).
  const uint64_t high = second_load.first_outbox_id + 3 * kOutboxIdBlock;
  rows = std::make_shared<std::vector<domain::OutboxEntry>>();
  rows->push_back(outbox_entry(high, kApp, "r"));
  ASSERT_TRUE(wait_durable(*first, first->submit({PutOutbox{rows}})));

  const uint64_t third_block = open_app(kOtherApp, 0)->load().first_outbox_id;
  EXPECT_GT(third_block, high);
  const uint64_t fourth_block = open(0)->load().first_outbox_id;
  EXPECT_GE(fourth_block, third_block + kOutboxIdBlock);
  first->close();
  second->close();
}

TEST_F(PostgresStore, AnAppsEpochIsZeroUntilANodeHostsIt) {
  EXPECT_EQ(postgres_leadership_epoch(*pool_, kApp), 0u);
  EXPECT_TRUE(postgres_app_leaderships(url_).empty());
  EXPECT_EQ(lead(), 1u);  // the cluster's epoch is its own
  EXPECT_EQ(postgres_leadership_epoch(*pool_, kApp), 0u);
  EXPECT_EQ(lead_app(kOtherApp), 1u);
  EXPECT_EQ(lead_app(kOtherApp), 2u);
  EXPECT_EQ(lead_app(kApp), 1u);
  EXPECT_EQ(postgres_leadership_epoch(*pool_, kApp), 1u);
  EXPECT_EQ(postgres_leadership_epoch(*pool_, kOtherApp), 2u);
  EXPECT_EQ(postgres_leadership_epoch(*pool_), 1u);

  take_postgres_leadership(*pool_, "n2", "http://10.0.0.2:8080", kApp);
  const auto rows = postgres_app_leaderships(url_);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].sdkappid, kApp);  // by sdkappid
  EXPECT_EQ(rows[0].epoch, 2u);
  EXPECT_EQ(rows[0].node_id, "n2");
  EXPECT_EQ(rows[0].leader_url, "http://10.0.0.2:8080");
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  EXPECT_LT(std::abs(rows[0].since_ms - now_ms), 60'000);
  EXPECT_EQ(rows[1].sdkappid, kOtherApp);
  EXPECT_EQ(rows[1].epoch, 2u);
  EXPECT_EQ(rows[1].node_id, "unit");
}

// A node hosting many apps (placement by app) opens no more connections than its pool allows:
// twelve app hosts committing at once through a pool of two, every change durable, each app's
// rows where they belong; and the connections the server ended while they were idle in the pool
// are replaced, their commits tried again, not failed.
TEST_F(PostgresStore, ManyAppStoresShareTheNodesFewConnections) {
  constexpr int kApps = 12;
  constexpr int kBatches = 20;
  std::vector<std::thread> hosts;
  std::atomic<int> failures{0};
  std::atomic<int64_t> most_connections{0};
  std::atomic<int> loaded{0};
  std::promise<void> go;
  std::shared_future<void> going = go.get_future().share();
  for (int h = 0; h < kApps; ++h) {
    hosts.emplace_back([&, h] {
      const uint32_t app = kApp + static_cast<uint32_t>(h);
      auto store = open_postgres_store({.url = url_,
                                        .epoch = lead_app(app),
                                        .on_fenced = [&failures] { ++failures; },
                                        .sdkappid = app,
                                        .pool = pool_.get()});
      if (!store->load().rooms.empty()) ++failures;
      ++loaded;
      going.wait();
      for (int i = 0; i < kBatches; ++i) {
        store->submit({PutRoom{app, awkward_room("r" + std::to_string(i))}});
        int64_t seen = most_connections.load();
        const auto open = static_cast<int64_t>(pool_->open_connections());
        while (open > seen && !most_connections.compare_exchange_weak(seen, open)) {
        }
      }
      if (!wait_all_durable(*store)) ++failures;
      store->close();
    });
  }
  while (loaded.load() < kApps) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_LE(pool_->open_connections(), 2u);
  PgConnection admin(url_);
  admin.exec(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
      "AND pid <> pg_backend_pid()");
  go.set_value();
  for (auto& t : hosts) t.join();
  ASSERT_EQ(failures.load(), 0);
  EXPECT_LE(most_connections.load(), 2);
  EXPECT_LE(pool_->open_connections(), 2u);
  EXPECT_LE(server_connections(), 1 + 2 + 1);  // the admin's, the pool's, this count's
  for (int h = 0; h < kApps; ++h) {
    const uint32_t app = kApp + static_cast<uint32_t>(h);
    SCOPED_TRACE(app);
    const Snapshot s =
        open_postgres_store({.url = url_, .sdkappid = app, .pool = pool_.get()})->load();
    EXPECT_EQ(s.rooms.size(), size_t{kBatches});
    for (const auto& room : s.rooms) EXPECT_EQ(room.sdkappid, app);
  }
}

TEST_F(PostgresStore, ALostConnectionDelaysCommitsInsteadOfFailingThem) {
  auto store = open(lead());
  ASSERT_TRUE(wait_durable(*store, store->submit({PutRoom{kApp, awkward_room("a")}})));
  PgConnection admin(url_);
  admin.exec(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
      "AND pid <> pg_backend_pid()");
  ASSERT_TRUE(wait_durable(*store, store->submit({PutRoom{kApp, awkward_room("b")}})));
  store->close();
  EXPECT_EQ(open(0)->load().rooms.size(), 2u);
}

TEST_F(PostgresStore, MigrationIsIdempotentAndANewerSchemaIsRefused) {
  prepare_postgres(url_);  // again: nothing to do
  PgConnection db(url_);
  PgResult r = db.exec("SELECT version FROM liveroom_schema");
  ASSERT_EQ(r.rows(), 1);
  EXPECT_EQ(std::string(r.text(0, 0)), std::to_string(latest_postgres_schema_version()));
  db.exec("UPDATE liveroom_schema SET version = 999");
  try {
    prepare_postgres(url_);
    FAIL() << "a newer schema was accepted";
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("newer than this liveroomd"), std::string::npos)
        << e.what();
  }
}

TEST_F(PostgresStore, AWrongPasswordSaysSo) {
  const size_t at = url_.find('@');
  ASSERT_NE(at, std::string::npos) << "the test URL should carry credentials";
  const size_t colon = url_.rfind(':', at);
  const std::string wrong = url_.substr(0, colon) + ":wrong-password" + url_.substr(at);
  try {
    prepare_postgres(wrong);
    FAIL() << "a wrong password was accepted";
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("password authentication failed"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace liveroom::store
