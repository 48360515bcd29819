// RoomEngine holds the authoritative state and decides every Live error code that depends on
// existing rooms or accounts. These tests drive it over a real SQLite store and pin the codes of
// docs/compatibility.md, the get_room_list order and cursor, and the ReadFence: the sequence a
// reply must wait for so that no answer shows state a crash could take back.
#include "engine/room_engine.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <thread>

#include "test_support.h"

namespace liveroom::engine {
namespace {

using testing_support::open_store;
using testing_support::RawDb;
using testing_support::TempDir;
using testing_support::wait_all_durable;

constexpr uint32_t kApp = 1400000001;      // accounts must be imported
constexpr uint32_t kAutoApp = 1400000002;  // auto_import_accounts = true
constexpr uint32_t kUnknownApp = 1400009999;
constexpr int64_t kNow = 1'769'000'000;

domain::RoomPatch private_room() {
  domain::RoomPatch p;
  p.is_public_visible = false;
  return p;
}

class EngineTest : public testing::Test {
 protected:
  EngineTest() : clock_(kNow) { reopen(); }
  ~EngineTest() override {
    engine_.reset();
    if (store_) store_->close();
  }

  std::string db_path() const { return dir_.file("liveroom.db"); }

  // A fresh engine over the store's current contents, as at start-up. `extra` rooms are added to
  // the snapshot (the only way to give a room a ViewCount until an API raises it).
  void reopen(std::vector<store::Snapshot::AppRooms> extra = {}, uint64_t first_outbox_id = 1) {
    engine_.reset();
    if (store_) store_->close();
    store_ = open_store(db_path());
    engine_ =
        std::make_unique<RoomEngine>(*store_, clock_,
                                     std::vector<AppOptions>{{kApp, {"administrator"}, false},
                                                             {kAutoApp, {"administrator"}, true}});
    store::Snapshot snapshot = store_->load();
    for (auto& r : extra) snapshot.rooms.push_back(std::move(r));
    snapshot.first_outbox_id = std::max(snapshot.first_outbox_id, first_outbox_id);
    engine_->load(std::move(snapshot));
  }

  static store::Snapshot::AppRooms loaded_room(std::string id, int64_t view_count,
                                               bool is_public = true) {
    domain::Room r;
    r.room_id = id;
    r.name = id;
    r.owner = "administrator";
    r.view_count = view_count;
    r.is_public_visible = is_public;
    r.create_time = kNow - 100;
    return {kApp, std::move(r)};
  }

  Result<void> create(std::string id, std::string owner = "administrator",
                      const domain::RoomPatch& patch = {}, uint32_t app = kApp) {
    ReadFence fence;
    return engine_->create_room(app, std::move(id), std::move(owner), patch, fence);
  }

  std::optional<domain::Room> room(std::string_view id, uint32_t app = kApp) {
    ReadFence fence;
    auto r = engine_->read_room(app, id, fence, [](const domain::Room& room) { return room; });
    if (!r) return std::nullopt;
    return *r;
  }

  void import(std::string id, uint32_t app = kApp) {
    ReadFence fence;
    ASSERT_TRUE(engine_->import_account(app, id, {}, fence));
  }

  // Every RoomId of the public list, page by page, following the cursors.
  std::vector<std::string> list_all(size_t page_size) {
    std::vector<std::string> ids;
    std::string cursor;
    for (int pages = 0; pages < 1000; ++pages) {
      ReadFence fence;
      auto page = engine_->list_rooms(kApp, cursor, page_size, fence);
      EXPECT_TRUE(page) << page.error().info;
      if (!page) break;
      for (const auto& r : page->rooms) ids.push_back(r.room_id);
      if (page->next.empty()) break;
      cursor = page->next;
    }
    return ids;
  }

  Result<RoomListPage> list(std::string_view cursor, size_t count) {
    ReadFence fence;
    return engine_->list_rooms(kApp, cursor, count, fence);
  }

  TempDir dir_;
  FixedClock clock_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<RoomEngine> engine_;
};

std::vector<std::string> ids_of(const RoomListPage& page) {
  std::vector<std::string> ids;
  for (const auto& r : page.rooms) ids.push_back(r.room_id);
  return ids;
}

// ----- create / destroy / update ------------------------------------------------------------

TEST_F(EngineTest, CreateAppliesDefaultsAndFields) {
  domain::RoomPatch p;
  p.name = "Evening show";
  p.seat_template = domain::find_seat_template(std::string_view("VideoDynamicGrid9Seats"));
  ASSERT_TRUE(create("live_9001", "administrator", p));
  auto r = room("live_9001");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->owner, "administrator");
  EXPECT_EQ(r->name, "Evening show");
  EXPECT_EQ(r->seat_count, 9u);
  EXPECT_EQ(r->create_time, kNow);  // from the injected clock
  EXPECT_EQ(r->max_member_count, 100'000);
  EXPECT_EQ(r->activity_status, 0);
  EXPECT_EQ(r->view_count, 0);

  ASSERT_TRUE(create("unnamed"));
  EXPECT_EQ(room("unnamed")->name, "unnamed");  // RoomName defaults to RoomId
}

TEST_F(EngineTest, CreateSameRoomIdSameOwnerIs100010OtherOwnerIs100003) {
  import("anchor");
  ASSERT_TRUE(create("r1", "anchor"));
  auto same = create("r1", "anchor");
  ASSERT_FALSE(same);
  EXPECT_EQ(same.error().code, Code::kRoomExistsSameOwner);
  auto other = create("r1", "administrator");
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, Code::kRoomIdTaken);
  EXPECT_EQ(room("r1")->owner, "anchor");  // the failed calls changed nothing
}

TEST_F(EngineTest, CreateOwnerMustBeImportedOrAdmin) {
  auto r = create("r1", "stranger");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::kAccountNotImported);
  EXPECT_NE(r.error().info.find("stranger"), std::string::npos);
  EXPECT_FALSE(room("r1"));

  ASSERT_TRUE(create("r2", "administrator"));  // admins always exist
  import("anchor");
  ASSERT_TRUE(create("r3", "anchor"));
}

TEST_F(EngineTest, CreateWithAutoImportImportsTheOwnerDurably) {
  ASSERT_TRUE(create("r1", "new_anchor", {}, kAutoApp));
  ReadFence fence;
  EXPECT_TRUE(engine_->account_exists(kAutoApp, "new_anchor", fence));
  EXPECT_GT(fence.seq, 0u);  // the account's own write must be durable before it is reported

  // Owner ids longer than 32 bytes cannot be imported, even automatically.
  auto long_owner = create("r2", std::string(33, 'o'), {}, kAutoApp);
  ASSERT_FALSE(long_owner);
  EXPECT_EQ(long_owner.error().code, Code::kInvalidParameter);
  EXPECT_FALSE(room("r2", kAutoApp));
  ReadFence f2;
  EXPECT_FALSE(engine_->account_exists(kAutoApp, std::string(33, 'o'), f2));

  ASSERT_TRUE(wait_all_durable(*store_));
  reopen();
  ReadFence f3;
  EXPECT_TRUE(engine_->account_exists(kAutoApp, "new_anchor", f3));
  EXPECT_TRUE(room("r1", kAutoApp));
}

TEST_F(EngineTest, UnknownAppIs60006) {
  auto r = create("r1", "administrator", {}, kUnknownApp);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::kSdkAppIdInvalid);
}

TEST_F(EngineTest, DestroyReturnsStatisticAndRemovesTheRoomWithItsMetadata) {
  reopen({loaded_room("watched", 812)});
  ReadFence fence;
  ASSERT_TRUE(engine_->set_metadata(kApp, "watched", {{"theme", "dark"}}, fence));

  auto stats = engine_->destroy_room(kApp, "watched", fence);
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->total_viewers, 812);
  EXPECT_EQ(stats->total_gifts_sent, 0);
  EXPECT_FALSE(room("watched"));

  auto again = engine_->destroy_room(kApp, "watched", fence);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Code::kRoomNotFound);

  // On disk the metadata row went with the room.
  ASSERT_TRUE(wait_all_durable(*store_));
  RawDb raw(db_path());
  EXPECT_EQ(raw.scalar("SELECT count(*) FROM room_metadata"), 0);
  EXPECT_EQ(raw.scalar("SELECT count(*) FROM rooms"), 0);
}

// The one-creation-per-second rule is measured on the injected clock's monotonic scale.
TEST_F(EngineTest, RecreateWithinOneSecondIs100012ThenSucceedsWithoutOldMetadata) {
  ASSERT_TRUE(create("r1"));
  ReadFence fence;
  ASSERT_TRUE(engine_->set_metadata(kApp, "r1", {{"k", "v"}}, fence));
  ASSERT_TRUE(engine_->destroy_room(kApp, "r1", fence));

  auto too_soon = create("r1");
  ASSERT_FALSE(too_soon);
  EXPECT_EQ(too_soon.error().code, Code::kTooFrequent);
  EXPECT_FALSE(room("r1"));

  // Another RoomId is not affected.
  EXPECT_TRUE(create("r2"));

  clock_.advance_millis(999);
  EXPECT_EQ(create("r1").error().code, Code::kTooFrequent);
  clock_.advance_millis(1);
  ASSERT_TRUE(create("r1"));
  auto r = room("r1");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->metadata.empty()) << "destroy_room must delete the room's metadata";
}

TEST_F(EngineTest, UpdateIsPartialAndKeepsMetadata) {
  domain::RoomPatch create_patch;
  create_patch.notice = "hello";
  create_patch.category = std::vector<int64_t>{1};
  ASSERT_TRUE(create("r1", "administrator", create_patch));
  ReadFence fence;
  ASSERT_TRUE(engine_->set_metadata(kApp, "r1", {{"k", "v"}}, fence));

  domain::RoomPatch p;
  p.name = "renamed";
  ASSERT_TRUE(engine_->update_room(kApp, "r1", p, fence));
  auto r = room("r1");
  EXPECT_EQ(r->name, "renamed");
  EXPECT_EQ(r->notice, "hello");
  EXPECT_EQ(r->category, std::vector<int64_t>{1});
  EXPECT_EQ(r->metadata, (std::vector<domain::MetadataEntry>{{"k", "v"}}));

  // The same holds after a restart: the rooms row and the metadata row are separate.
  ASSERT_TRUE(wait_all_durable(*store_));
  reopen();
  r = room("r1");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->name, "renamed");
  EXPECT_EQ(r->metadata, (std::vector<domain::MetadataEntry>{{"k", "v"}}));

  auto missing = engine_->update_room(kApp, "nope", p, fence);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Code::kRoomNotFound);
}

TEST_F(EngineTest, EverythingSurvivesARestart) {
  import("anchor");
  domain::RoomPatch p;
  p.seat_template = domain::find_seat_template(std::string_view("Karaoke"));
  p.max_seat_count = 5;
  p.is_public_visible = false;
  ASSERT_TRUE(create("r1", "anchor", p));
  ASSERT_TRUE(wait_all_durable(*store_));
  reopen();
  auto r = room("r1");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->owner, "anchor");
  EXPECT_EQ(r->seat_template, "Karaoke");
  EXPECT_EQ(r->seat_count, 5u);
  EXPECT_FALSE(r->is_public_visible);
  EXPECT_TRUE(list_all(20).empty());  // still private after the reload
}

// ----- get_room_list -----------------------------------------------------------------------

TEST_F(EngineTest, ListShowsOnlyPublicRooms) {
  ASSERT_TRUE(create("pub"));
  ASSERT_TRUE(create("priv", "administrator", private_room()));
  EXPECT_EQ(list_all(20), std::vector<std::string>{"pub"});

  ReadFence fence;
  domain::RoomPatch show;
  show.is_public_visible = true;
  ASSERT_TRUE(engine_->update_room(kApp, "priv", show, fence));
  EXPECT_EQ(list_all(20), (std::vector<std::string>{"priv", "pub"}));

  ASSERT_TRUE(engine_->update_room(kApp, "pub", private_room(), fence));
  EXPECT_EQ(list_all(20), std::vector<std::string>{"priv"});

  ASSERT_TRUE(engine_->destroy_room(kApp, "priv", fence));
  EXPECT_TRUE(list_all(20).empty());
}

TEST_F(EngineTest, ListOrderIsViewCountDescThenRoomIdAsc) {
  reopen({loaded_room("b", 5), loaded_room("a", 5), loaded_room("z", 100), loaded_room("m", 0),
          loaded_room("hidden", 1000, false)});
  ASSERT_TRUE(create("c"));  // view count 0
  EXPECT_EQ(list_all(20), (std::vector<std::string>{"z", "a", "b", "c", "m"}));

  auto page = list("", 20);
  ASSERT_TRUE(page);
  ASSERT_EQ(page->rooms.size(), 5u);
  EXPECT_EQ(page->rooms[0].view_count, 100);
  EXPECT_EQ(page->rooms[0].owner, "administrator");
  EXPECT_EQ(page->rooms[0].create_time, kNow - 100);
  EXPECT_EQ(page->next, "");
}

TEST_F(EngineTest, ListPagesFollowTheCursorExactly) {
  std::vector<store::Snapshot::AppRooms> rooms;
  for (int i = 0; i < 7; ++i) rooms.push_back(loaded_room("r" + std::to_string(i), 10 - i));
  reopen(std::move(rooms));

  auto p1 = list("", 3);
  ASSERT_TRUE(p1);
  EXPECT_EQ(ids_of(*p1), (std::vector<std::string>{"r0", "r1", "r2"}));
  ASSERT_FALSE(p1->next.empty());
  auto p2 = list(p1->next, 3);
  ASSERT_TRUE(p2);
  EXPECT_EQ(ids_of(*p2), (std::vector<std::string>{"r3", "r4", "r5"}));
  auto p3 = list(p2->next, 3);
  ASSERT_TRUE(p3);
  EXPECT_EQ(ids_of(*p3), std::vector<std::string>{"r6"});
  EXPECT_EQ(p3->next, "");  // a returned "" ends the scan

  // The same cursor gives the same page again (it names a position, not a session).
  auto p2_again = list(p1->next, 3);
  ASSERT_TRUE(p2_again);
  EXPECT_EQ(ids_of(*p2_again), ids_of(*p2));
}

TEST_F(EngineTest, ListExactlyFullLastPageEndsWithEmptyNext) {
  reopen({loaded_room("a", 2), loaded_room("b", 1)});
  auto p = list("", 2);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->rooms.size(), 2u);
  EXPECT_EQ(p->next, "");
}

TEST_F(EngineTest, ListZeroAndEmptyCursorBothStart) {
  reopen({loaded_room("a", 2), loaded_room("b", 1)});
  auto from_empty = list("", 20);
  auto from_zero = list("0", 20);
  ASSERT_TRUE(from_empty);
  ASSERT_TRUE(from_zero);
  EXPECT_EQ(ids_of(*from_empty), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(ids_of(*from_zero), ids_of(*from_empty));
}

TEST_F(EngineTest, RoomIdsWithDashesAndSpacesSurviveTheCursor) {
  reopen({loaded_room("a-1", 3), loaded_room("a 2", 3), loaded_room("-", 3), loaded_room("~", 3)});
  EXPECT_EQ(list_all(1), (std::vector<std::string>{"-", "a 2", "a-1", "~"}));
}

// A room that exists for the whole scan and does not change appears exactly once, whatever is
// created or destroyed between pages.
TEST_F(EngineTest, ListIsStableUnderCreatesAndDestroysBetweenPages) {
  std::vector<store::Snapshot::AppRooms> rooms;
  for (int i = 0; i < 10; ++i) rooms.push_back(loaded_room("r" + std::to_string(i), 100 - i));
  reopen(std::move(rooms));

  std::vector<std::string> seen;
  auto p1 = list("", 4);
  ASSERT_TRUE(p1);
  for (const auto& id : ids_of(*p1)) seen.push_back(id);  // r0..r3

  ReadFence fence;
  // Between pages: destroy a room already returned (r1) and one not returned yet (r4), and
  // create two rooms (ViewCount 0, so they sort after every old room, ahead of the cursor).
  ASSERT_TRUE(engine_->destroy_room(kApp, "r1", fence));
  ASSERT_TRUE(engine_->destroy_room(kApp, "r4", fence));
  ASSERT_TRUE(create("new-a"));
  ASSERT_TRUE(create("new-b"));

  auto p2 = list(p1->next, 4);
  ASSERT_TRUE(p2);
  for (const auto& id : ids_of(*p2)) seen.push_back(id);
  // The cursor's own room goes away between pages: the scan still continues after it.
  ASSERT_TRUE(engine_->destroy_room(kApp, p2->rooms.back().room_id, fence));
  std::string cursor = p2->next;
  while (!cursor.empty()) {
    auto p = list(cursor, 4);
    ASSERT_TRUE(p);
    for (const auto& id : ids_of(*p)) seen.push_back(id);
    cursor = p->next;
  }

  // Every room that existed for the whole scan appears exactly once (r8, the cursor's room,
  // was returned on page 2 before it went away); r4 died unseen; the new rooms appear once.
  std::multiset<std::string> counts(seen.begin(), seen.end());
  for (std::string id : {"r0", "r2", "r3", "r5", "r6", "r7", "r8", "r9"}) {
    EXPECT_EQ(counts.count(id), 1u) << id;
  }
  EXPECT_EQ(counts.count("r1"), 1u);  // seen on page 1 before its destruction
  EXPECT_EQ(counts.count("r4"), 0u);
  EXPECT_EQ(counts.count("new-a"), 1u);
  EXPECT_EQ(counts.count("new-b"), 1u);
  EXPECT_EQ(seen.size(), counts.size()) << "no room may appear twice";
}

// Rooms created behind the cursor (sorting before it) are not returned; the rest is unaffected.
TEST_F(EngineTest, ListRoomsCreatedBehindTheCursorDoNotShiftThePages) {
  // All rooms at ViewCount 0, so new rooms sort by RoomId among the old ones.
  for (std::string id : {"b", "d", "f", "h"}) ASSERT_TRUE(create(id));
  auto p1 = list("", 2);  // b, d
  ASSERT_TRUE(p1);
  EXPECT_EQ(ids_of(*p1), (std::vector<std::string>{"b", "d"}));
  ASSERT_TRUE(create("a"));  // behind the cursor
  ASSERT_TRUE(create("c"));  // behind the cursor
  ASSERT_TRUE(create("e"));  // ahead of it
  auto p2 = list(p1->next, 2);
  ASSERT_TRUE(p2);
  EXPECT_EQ(ids_of(*p2), (std::vector<std::string>{"e", "f"}));
  auto p3 = list(p2->next, 2);
  ASSERT_TRUE(p3);
  EXPECT_EQ(ids_of(*p3), std::vector<std::string>{"h"});
  EXPECT_EQ(p3->next, "");
}

TEST_F(EngineTest, ListGarbageCursorsAre100002) {
  reopen({loaded_room("a", 2), loaded_room("b", 1)});
  for (std::string_view cursor :
       {"abc", "1", "-", "1-", "-61", "x-61", "1-6", "1-6g", "1-4A", "1-zz", "+1-61", "-1-61",
        "1.5-61", "99999999999999999999-61", " 1-61", "1-61 "}) {
    auto page = list(cursor, 20);
    ASSERT_FALSE(page) << "cursor '" << cursor << "' was accepted";
    EXPECT_EQ(page.error().code, Code::kInvalidParameter) << cursor;
    EXPECT_NE(page.error().info.find("Next"), std::string::npos);
  }
  // A RoomId is at most 48 bytes, so a cursor's hex part is at most 96 digits.
  auto too_long = list("1-" + std::string(98, '6'), 20);
  ASSERT_FALSE(too_long);
  EXPECT_EQ(too_long.error().code, Code::kInvalidParameter);
}

// A cursor whose RoomId part is not a possible RoomId ("\x00", "\x1f") was never issued by
// liveroom; compatibility.md says such a cursor is 100002.
TEST_F(EngineTest, ListCursorNamingAnImpossibleRoomIdIs100002) {
  reopen({loaded_room("a", 2)});
  for (std::string_view cursor : {"0-00", "0-1f", "0-7f"}) {
    auto page = list(cursor, 20);
    ASSERT_FALSE(page) << "cursor '" << cursor << "' was accepted";
    EXPECT_EQ(page.error().code, Code::kInvalidParameter);
  }
}

// ----- metadata through the engine ---------------------------------------------------------

TEST_F(EngineTest, MetadataSetGetDelete) {
  ASSERT_TRUE(create("r1"));
  ReadFence fence;
  ASSERT_TRUE(engine_->set_metadata(kApp, "r1", {{"b", "1"}, {"a", "2"}}, fence));
  ASSERT_TRUE(engine_->set_metadata(kApp, "r1", {{"a", "3"}}, fence));
  EXPECT_EQ(room("r1")->metadata, (std::vector<domain::MetadataEntry>{{"b", "1"}, {"a", "3"}}));

  // A set that breaks a limit changes nothing.
  std::vector<domain::MetadataEntry> ten;
  for (int i = 0; i < 9; ++i) ten.emplace_back("k" + std::to_string(i), "v");
  auto over = engine_->set_metadata(kApp, "r1", ten, fence);
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code, Code::kInvalidParameter);
  EXPECT_EQ(room("r1")->metadata.size(), 2u);

  ASSERT_TRUE(engine_->delete_metadata(kApp, "r1", {"b", "not-there"}, fence));
  EXPECT_EQ(room("r1")->metadata, (std::vector<domain::MetadataEntry>{{"a", "3"}}));

  auto missing = engine_->set_metadata(kApp, "nope", {{"k", "v"}}, fence);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Code::kRoomNotFound);
  auto missing_del = engine_->delete_metadata(kApp, "nope", {"k"}, fence);
  ASSERT_FALSE(missing_del);
  EXPECT_EQ(missing_del.error().code, Code::kRoomNotFound);

  ASSERT_TRUE(wait_all_durable(*store_));
  reopen();
  EXPECT_EQ(room("r1")->metadata, (std::vector<domain::MetadataEntry>{{"a", "3"}}));
}

TEST_F(EngineTest, EmptyMetadataSetAndNoopDeleteWriteNothing) {
  ASSERT_TRUE(create("r1"));
  const uint64_t before = store_->submitted_seq();
  ReadFence fence;
  ASSERT_TRUE(engine_->set_metadata(kApp, "r1", {}, fence));
  ASSERT_TRUE(engine_->delete_metadata(kApp, "r1", {"absent"}, fence));
  EXPECT_EQ(store_->submitted_seq(), before);
  // They still wait for the room they looked at.
  EXPECT_EQ(fence.seq, before);
}

// ----- accounts ----------------------------------------------------------------------------

TEST_F(EngineTest, ImportTwiceIsSuccessAndKeepsTheProfile) {
  ReadFence fence;
  ASSERT_TRUE(engine_->import_account(kApp, "u1", {{"Tag_Profile_IM_Nick", "Ann"}}, fence));
  ASSERT_TRUE(engine_->import_account(kApp, "u1", {}, fence));
  auto a = engine_->get_account(kApp, "u1", fence);
  ASSERT_TRUE(a);
  EXPECT_EQ(std::get<std::string>(a->profile.at("Tag_Profile_IM_Nick")), "Ann");

  auto results = engine_->import_accounts(kApp, {"u1", "u2", std::string(33, 'x')}, fence);
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0].code, Code::kOk);
  EXPECT_EQ(results[1].code, Code::kOk);
  EXPECT_EQ(results[2].code, Code::kInvalidParameter);
  EXPECT_TRUE(engine_->account_exists(kApp, "u2", fence));
  EXPECT_FALSE(engine_->account_exists(kApp, std::string(33, 'x'), fence));
  // The batch import keeps u1's profile too.
  EXPECT_EQ(std::get<std::string>(
                engine_->get_account(kApp, "u1", fence)->profile.at("Tag_Profile_IM_Nick")),
            "Ann");
}

TEST_F(EngineTest, DeleteAccounts) {
  import("u1");
  ReadFence fence;
  auto results = engine_->delete_accounts(kApp, {"administrator", "never", "u1", "u1"}, fence);
  ASSERT_EQ(results.size(), 4u);
  EXPECT_EQ(results[0].code, Code::kNotPermitted);
  EXPECT_EQ(results[1].code, Code::kAccountNotImported);
  EXPECT_EQ(results[2].code, Code::kOk);
  EXPECT_EQ(results[3].code, Code::kAccountNotImported);  // already deleted by the item before
  EXPECT_FALSE(engine_->account_exists(kApp, "u1", fence));
  EXPECT_TRUE(engine_->account_exists(kApp, "administrator", fence));

  ASSERT_TRUE(wait_all_durable(*store_));
  reopen();
  ReadFence f2;
  EXPECT_FALSE(engine_->account_exists(kApp, "u1", f2));
}

TEST_F(EngineTest, SetProfile) {
  ReadFence fence;
  auto unknown = engine_->set_profile(kApp, "nobody", {{"Tag_Profile_IM_Nick", "x"}}, fence);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, Code::kAccountNotImported);
  EXPECT_FALSE(engine_->account_exists(kApp, "nobody", fence));

  // Admins always exist; auto-import apps create the account on first use.
  ASSERT_TRUE(engine_->set_profile(kApp, "administrator", {{"Tag_Profile_IM_Role", 1}}, fence));
  ASSERT_TRUE(engine_->set_profile(kAutoApp, "nobody", {{"Tag_Profile_IM_Nick", "x"}}, fence));
  EXPECT_TRUE(engine_->account_exists(kAutoApp, "nobody", fence));

  import("u1");
  ASSERT_TRUE(engine_->set_profile(kApp, "u1", {{"Tag_Profile_IM_Nick", "A"}}, fence));
  ASSERT_TRUE(engine_->set_profile(kApp, "u1", {{"Tag_Profile_IM_Level", 3}}, fence));
  auto a = engine_->get_account(kApp, "u1", fence);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->profile.size(), 2u);  // tags accumulate
  EXPECT_EQ(std::get<int64_t>(a->profile.at("Tag_Profile_IM_Level")), 3);

  ASSERT_TRUE(wait_all_durable(*store_));
  reopen();
  ReadFence f2;
  a = engine_->get_account(kApp, "u1", f2);
  ASSERT_TRUE(a);
  EXPECT_EQ(std::get<std::string>(a->profile.at("Tag_Profile_IM_Nick")), "A");
  auto admin = engine_->get_account(kApp, "administrator", f2);
  ASSERT_TRUE(admin);
  EXPECT_EQ(std::get<int64_t>(admin->profile.at("Tag_Profile_IM_Role")), 1);
}

// ----- ReadFence ---------------------------------------------------------------------------

TEST_F(EngineTest, MutationRaisesFenceToItsOwnSubmission) {
  ReadFence create_fence;
  ASSERT_TRUE(engine_->create_room(kApp, "r1", "administrator", {}, create_fence));
  EXPECT_EQ(create_fence.seq, store_->submitted_seq());

  ReadFence update_fence;
  domain::RoomPatch p;
  p.notice = "n";
  ASSERT_TRUE(engine_->update_room(kApp, "r1", p, update_fence));
  EXPECT_EQ(update_fence.seq, store_->submitted_seq());
  EXPECT_GT(update_fence.seq, create_fence.seq);

  ReadFence md_fence;
  ASSERT_TRUE(engine_->set_metadata(kApp, "r1", {{"k", "v"}}, md_fence));
  EXPECT_EQ(md_fence.seq, store_->submitted_seq());

  ReadFence account_fence;
  ASSERT_TRUE(engine_->import_account(kApp, "u1", {}, account_fence));
  EXPECT_EQ(account_fence.seq, store_->submitted_seq());

  ReadFence destroy_fence;
  ASSERT_TRUE(engine_->destroy_room(kApp, "r1", destroy_fence));
  EXPECT_EQ(destroy_fence.seq, store_->submitted_seq());
}

TEST_F(EngineTest, ReadRaisesFenceToTheRoomsLastWrite) {
  ReadFence f;
  ASSERT_TRUE(engine_->create_room(kApp, "r1", "administrator", {}, f));
  const uint64_t r1_seq = f.seq;
  ASSERT_TRUE(create("r2"));
  ASSERT_TRUE(create("r3"));
  ASSERT_GT(store_->submitted_seq(), r1_seq);

  ReadFence read;
  ASSERT_TRUE(engine_->read_room(kApp, "r1", read, [](const domain::Room&) { return 0; }));
  EXPECT_EQ(read.seq, r1_seq) << "a read waits for what it saw, not for unrelated writes";

  // An update that changes nothing still waits for the room it saw.
  ReadFence noop;
  ASSERT_TRUE(engine_->update_room(kApp, "r1", {}, noop));
  EXPECT_EQ(noop.seq, r1_seq);

  // A failing create of an existing room reports state it saw: it waits for that room too.
  ReadFence dup;
  ASSERT_FALSE(engine_->create_room(kApp, "r1", "administrator", {}, dup));
  EXPECT_EQ(dup.seq, r1_seq);
}

TEST_F(EngineTest, NotFoundAfterDestroyRaisesFenceToTheDelete) {
  ASSERT_TRUE(create("r1"));
  ReadFence destroy;
  ASSERT_TRUE(engine_->destroy_room(kApp, "r1", destroy));
  const uint64_t delete_seq = destroy.seq;
  ASSERT_TRUE(create("r2"));  // a later unrelated write

  ReadFence read;
  auto r = engine_->read_room(kApp, "r1", read, [](const domain::Room&) { return 0; });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::kRoomNotFound);
  EXPECT_GE(read.seq, delete_seq) << "\"not found\" must not be sent before the delete is durable";
  EXPECT_LT(read.seq, store_->submitted_seq());

  ReadFence update;
  EXPECT_FALSE(engine_->update_room(kApp, "r1", {}, update));
  EXPECT_GE(update.seq, delete_seq);
}

TEST_F(EngineTest, AccountReadsRaiseFenceToTheAccountOrItsDeletion) {
  ReadFence imp;
  ASSERT_TRUE(engine_->import_account(kApp, "u1", {}, imp));
  ASSERT_TRUE(create("r1"));

  ReadFence read;
  EXPECT_TRUE(engine_->account_exists(kApp, "u1", read));
  EXPECT_EQ(read.seq, imp.seq);

  ReadFence del;
  engine_->delete_accounts(kApp, {"u1"}, del);
  ReadFence after;
  EXPECT_FALSE(engine_->account_exists(kApp, "u1", after));
  EXPECT_GE(after.seq, del.seq);
}

// "Owner_Account is not an imported account" depends on an account deletion that may not be
// durable yet: the answer must wait for it, or a crash could bring the account back after the
// 70107 was sent.
TEST_F(EngineTest, OwnerNotImportedAfterDeleteWaitsForTheDelete) {
  import("u1");
  ASSERT_TRUE(wait_all_durable(*store_));
  ReadFence del;
  engine_->delete_accounts(kApp, {"u1"}, del);
  ASSERT_GT(del.seq, 0u);

  ReadFence create_fence;
  auto r = engine_->create_room(kApp, "r1", "u1", {}, create_fence);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::kAccountNotImported);
  EXPECT_GE(create_fence.seq, del.seq);
}

TEST_F(EngineTest, ListRaisesFenceToEverythingSubmitted) {
  ASSERT_TRUE(create("r1"));
  ASSERT_TRUE(create("r2", "administrator", private_room()));
  ReadFence f;
  ASSERT_TRUE(engine_->list_rooms(kApp, "", 20, f));
  EXPECT_EQ(f.seq, store_->submitted_seq());
}

// A PostgreSQL store reserves each load a block of outbox ids (Snapshot::first_outbox_id): new
// ids start there, or above the highest loaded id if that is higher.
TEST_F(EngineTest, NewOutboxIdsStartAtTheStoresBlockOrAboveTheLoadedRows) {
  ReadFence fence;
  ASSERT_TRUE(engine_->set_callback(
      kApp,
      domain::Subscription{"http://127.0.0.1:1/hook", {std::string(domain::kAfterCreateRoom)}},
      fence));
  reopen({}, 1'000'000);
  ASSERT_TRUE(create("r1"));
  ASSERT_TRUE(wait_all_durable(*store_));
  EXPECT_EQ(RawDb(db_path()).scalar("SELECT max(id) FROM webhook_outbox"), 1'000'000);
  reopen({}, 10);  // the row loaded goes higher
  ASSERT_TRUE(create("r2"));
  ASSERT_TRUE(wait_all_durable(*store_));
  EXPECT_EQ(RawDb(db_path()).scalar("SELECT max(id) FROM webhook_outbox"), 1'000'001);
  EXPECT_EQ(RawDb(db_path()).scalar("SELECT count(*) FROM webhook_outbox"), 2);
}

// ----- placement by room: one slot's engine follows the app's other hosts -------------------

TEST_F(EngineTest, AnAccountAnotherHostImportedOrDeletedIsFollowed) {
  EXPECT_EQ(create("r1", "bob").error().code, Code::kAccountNotImported);
  EXPECT_TRUE(engine_->follow_account(kApp, "bob", domain::Account{"bob", {}}));
  EXPECT_TRUE(create("r1", "bob"));
  EXPECT_TRUE(engine_->follow_account(kApp, "bob", std::nullopt));
  EXPECT_EQ(create("r2", "bob").error().code, Code::kAccountNotImported);
}

TEST_F(EngineTest, ADurableAccountOfThisEngineFollowsAnotherHostsDeletion) {
  import("carol");
  ASSERT_TRUE(wait_all_durable(*store_));
  // Durable: another host's deletion read after it applies.
  EXPECT_TRUE(engine_->follow_account(kApp, "carol", std::nullopt));
  EXPECT_EQ(create("r1", "carol").error().code, Code::kAccountNotImported);
}

TEST_F(EngineTest, TheCallbacksAnotherHostSetAreFollowed) {
  ReadFence fence;
  EXPECT_FALSE(engine_->get_callback(kApp, fence));
  domain::CallbackConfig config;
  config.subscription = domain::Subscription{"http://127.0.0.1:1/hook", {}};
  EXPECT_TRUE(engine_->follow_callbacks(kApp, config));
  auto got = engine_->get_callback(kApp, fence);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->url, "http://127.0.0.1:1/hook");
}

TEST_F(EngineTest, WithSlotsABattleIdFallsInItsRoomsSlotAndOtherSlotsAreNotInvited) {
  constexpr uint32_t kSlots = 8;
  engine_->set_room_slots(kSlots);
  // Three rooms, two of them in one slot.
  std::string a = "pk-0", same, other;
  for (int i = 1; same.empty() || other.empty(); ++i) {
    const std::string id = "pk-" + std::to_string(i);
    const bool in_a = domain::room_slot(id, kSlots) == domain::room_slot(a, kSlots);
    if (in_a && same.empty()) same = id;
    if (!in_a && other.empty()) other = id;
  }
  for (const auto& id : {a, same, other}) ASSERT_TRUE(create(id));
  ReadFence fence;
  auto created =
      engine_->create_battle(kApp, a, {same, other}, 60'000, 10'000, "", "", Actor{}, fence);
  ASSERT_TRUE(created) << created.error().info;
  ASSERT_FALSE(created->battle_id.empty());
  EXPECT_EQ(domain::room_slot(created->battle_id, kSlots), domain::room_slot(a, kSlots));
  ASSERT_EQ(created->results.size(), 2u);
  EXPECT_EQ(created->results[0].result_code, kBattleInvited);
  EXPECT_EQ(created->results[1].result_code, kBattleRoomUnavailable);
  EXPECT_NE(created->results[1].message.find("another slot"), std::string::npos);
}

TEST_F(EngineTest, WithAListerTheRoomListComesFromItWithTheSameCursor) {
  ASSERT_TRUE(create("here"));  // this engine's own rooms are not what the list shows
  std::optional<std::pair<int64_t, std::string>> asked_after;
  engine_->set_public_room_lister(
      [&](uint32_t, const std::optional<std::pair<int64_t, std::string>>& after, size_t count) {
        asked_after = after;
        store::PublicRoomsPage page;
        for (size_t i = 0; i < count; ++i) {
          domain::Room& r = page.rooms.emplace_back();
          r.room_id = "elsewhere-" + std::to_string(i);
          r.view_count = 7;
        }
        page.more = true;
        return page;
      });
  auto first = list("", 2);
  ASSERT_TRUE(first);
  EXPECT_EQ(ids_of(*first), (std::vector<std::string>{"elsewhere-0", "elsewhere-1"}));
  EXPECT_FALSE(asked_after.has_value());
  ASSERT_FALSE(first->next.empty());
  ASSERT_TRUE(list(first->next, 2));
  EXPECT_EQ(asked_after, (std::pair<int64_t, std::string>{7, "elsewhere-1"}));
  engine_->set_public_room_lister(
      [](uint32_t, const std::optional<std::pair<int64_t, std::string>>&,
         size_t) -> store::PublicRoomsPage { throw std::runtime_error("no database"); });
  auto failed = list("", 2);
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, Code::kInternal);
}

}  // namespace
}  // namespace liveroom::engine
