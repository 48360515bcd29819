// Members in the engine: presence with a grace period, the room limits on entry, seats and seat
// requests from members, what the audience of a room is told, and the lifecycle deadlines. A
// recording audience stands in for the gateway (it is the engine's only view of it); the store
// is the real SQLite store, and the clock is fixed so deadlines are exact.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include <algorithm>
#include <mutex>

#include "engine/room_engine.h"
#include "test_support.h"

namespace liveroom::engine {
namespace {

using testing_support::open_store;
using testing_support::TempDir;

constexpr uint32_t kApp = 1400000001;
constexpr int64_t kNow = 1'769'000'000;

struct Connection final : MemberConnection {};

// Records what the engine tells a room's members, as "kind:detail" lines.
class RecordingAudience final : public RoomAudience {
 public:
  void entered(uint64_t, const std::string& user, const ConnectionPtr&, size_t count,
               bool recovered) override {
    add(fmt("entered", user + (recovered ? " recovered" : "") + " " + std::to_string(count)));
  }
  void left(uint64_t, const std::string& user, const ConnectionPtr&, size_t count, LeaveCause cause,
            int64_t) override {
    add(fmt("left", user + " " + std::string(to_string(cause)) + " " + std::to_string(count)));
  }
  void went_offline(const std::string& user, const ConnectionPtr&) override {
    add(fmt("offline", user));
  }
  void room_info_changed(uint64_t, const domain::Room& room, size_t) override {
    add(fmt("info", room.notice));
  }
  void seats_changed(uint64_t, const std::vector<domain::Seat>& seats) override {
    std::string s;
    for (const auto& seat : seats) s += seat.member.empty() ? "-" : seat.member;
    add(fmt("seats", s));
  }
  void message(uint64_t, const MessageNotice& m) override {
    add(fmt("message", m.from + " " + std::to_string(m.msg_seq)));
  }
  void likes(uint64_t, int64_t total) override { add(fmt("likes", std::to_string(total))); }
  void battle_changed(uint64_t, const domain::Battle& b) override {
    add(fmt("battle", std::to_string(static_cast<int>(b.status)) + " " + b.end_reason));
  }
  void battle_scores(uint64_t, const domain::Battle& b) override {
    std::string s;
    for (const auto& r : b.rooms) s += r.room_id + "=" + std::to_string(r.score) + " ";
    add(fmt("scores", s));
  }
  void cohost_changed(uint64_t, const std::vector<CoHostRoom>& rooms) override {
    add(fmt("cohost", std::to_string(rooms.size())));
  }
  void gift(uint64_t, const GiftNotice& g) override {
    add(fmt("gift", g.from + " " + g.gift->gift_id + " " + std::to_string(g.coins)));
  }
  void notify(uint64_t, const ConnectionPtr&, const MemberNotice& notice) override {
    std::visit(
        [&](const auto& n) {
          using T = std::decay_t<decltype(n)>;
          if constexpr (std::is_same_v<T, SeatRequestNotice>) {
            add(fmt("request", n.member));
          } else if constexpr (std::is_same_v<T, SeatRequestResolvedNotice>) {
            add(fmt("resolved", n.member + " " + std::string(to_string(n.result))));
          } else if constexpr (std::is_same_v<T, MutedNotice>) {
            add(fmt("muted", n.muted_until ? "yes" : "no"));
          } else if constexpr (std::is_same_v<T, RoleNotice>) {
            add(fmt("role", std::string(to_string(n.role))));
          } else if constexpr (std::is_same_v<T, CoHostRequestNotice>) {
            add(fmt("cohost_request", n.from_room));
          } else if constexpr (std::is_same_v<T, CoHostResolvedNotice>) {
            add(fmt("cohost_resolved", std::string(to_string(n.result))));
          } else if constexpr (std::is_same_v<T, BattleInvitationNotice>) {
            add(fmt("battle_invitation", n.from_room));
          } else if constexpr (std::is_same_v<T, BattleReplyNotice>) {
            add(fmt("battle_reply", n.room_id + " " + n.result));
          } else {
            add(fmt("kicked_off_seat", std::string(to_string(n.cause))));
          }
        },
        notice);
  }
  void dismissed(uint64_t, std::string_view reason, const domain::RoomStatistic&) override {
    add(fmt("dismissed", std::string(reason)));
  }

  std::vector<std::string> take() {
    std::lock_guard lock(mu_);
    return std::exchange(lines_, {});
  }

 private:
  static std::string fmt(std::string_view kind, const std::string& detail) {
    return std::string(kind) + ":" + detail;
  }
  void add(std::string line) {
    std::lock_guard lock(mu_);
    lines_.push_back(std::move(line));
  }
  std::mutex mu_;
  std::vector<std::string> lines_;
};

class Factory final : public AudienceFactory {
 public:
  std::shared_ptr<RoomAudience> open(uint32_t, std::string_view) override { return audience; }
  std::shared_ptr<RecordingAudience> audience = std::make_shared<RecordingAudience>();
};

class MembersTest : public testing::Test {
 protected:
  MembersTest() : clock_(kNow) {
    store_ = open_store(dir_.file("liveroom.db"));
    AppOptions app{kApp, {"administrator"}, true};
    app.empty_room_dismiss_seconds = 60;
    app.owner_absent_dismiss_seconds = 120;
    engine_ = std::make_unique<RoomEngine>(*store_, clock_, std::vector<AppOptions>{app});
    engine_->load(store_->load());
    engine_->set_audience_factory(&factory_, {5'000});
    domain::RoomPatch patch;
    patch.seat_template = domain::find_seat_template("VideoDynamicGrid9Seats");
    patch.max_member_count = 3;
    ReadFence fence;
    EXPECT_TRUE(engine_->create_room(kApp, "r1", "host", patch, fence));
  }
  ~MembersTest() override {
    engine_.reset();
    store_->close();
  }

  Result<EnterResult> enter(const std::string& user, ConnectionPtr c = nullptr) {
    ReadFence fence;
    if (!c) c = connection(user);
    return engine_->enter_room(kApp, "r1", user, c, fence);
  }
  ConnectionPtr connection(const std::string& user) {
    auto& c = connections_[user];
    if (!c) c = std::make_shared<Connection>();
    return c;
  }
  Code code_of(const Result<void>& r) { return r ? Code::kOk : r.error().code; }
  std::vector<std::string> events() { return factory_.audience->take(); }
  domain::Room room() {
    ReadFence fence;
    return *engine_->read_room(kApp, "r1", fence, [](const domain::Room& r) { return r; });
  }

  TempDir dir_;
  FixedClock clock_;
  std::unique_ptr<store::Store> store_;
  Factory factory_;
  std::unique_ptr<RoomEngine> engine_;
  std::map<std::string, ConnectionPtr> connections_;
};

TEST_F(MembersTest, EntryCountsViewersAndRespectsTheLimitAndBans) {
  ASSERT_TRUE(enter("host"));
  auto alice = enter("alice");
  ASSERT_TRUE(alice);
  EXPECT_EQ(alice->role, Role::kAudience);
  EXPECT_EQ(alice->member_count, 2u);
  EXPECT_FALSE(alice->recovered);
  ASSERT_TRUE(enter("bob"));
  auto full = enter("carol");  // MaxMemberCount 3
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().code, Code::kRoomFull);
  EXPECT_EQ(room().view_count, 3);

  ReadFence fence;
  ASSERT_TRUE(engine_->ban_members(kApp, "r1", {"bob"}, 60, "spam", fence));
  EXPECT_EQ(events().back(), "left:bob Banned 2");
  auto again = enter("bob");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Code::kBannedFromRoom);
  clock_.advance_millis(61'000);  // the ban expires
  EXPECT_TRUE(enter("bob"));
}

TEST_F(MembersTest, OfflineMemberKeepsItsSeatWithinGraceAndLosesItAfter) {
  ASSERT_TRUE(enter("host"));
  ASSERT_TRUE(enter("alice"));
  ReadFence fence;
  auto seated = engine_->take_seat(kApp, "r1", "alice", 2, 60'000, fence);
  ASSERT_TRUE(seated);
  EXPECT_EQ(seated->index, 2u);
  engine_->connection_lost(kApp, "r1", "alice", connection("alice"));
  clock_.advance_millis(4'000);
  engine_->tick();
  auto back = enter("alice", std::make_shared<Connection>());
  ASSERT_TRUE(back);
  EXPECT_TRUE(back->recovered);
  EXPECT_EQ(back->seats[2].member, "alice");

  engine_->connection_lost(kApp, "r1", "alice", connections_["alice"]);  // not its connection now
  EXPECT_EQ(room().moderation.seats[2].member, "alice");
  events();
  ReadFence f2;
  auto page = engine_->list_members(kApp, "r1", "", 10, f2);
  ASSERT_TRUE(page);
  EXPECT_EQ(page->member_count, 2u);
}

TEST_F(MembersTest, GraceExpiryRemovesTheMemberAndFreesItsSeat) {
  ASSERT_TRUE(enter("host"));
  ASSERT_TRUE(enter("alice"));
  ReadFence fence;
  ASSERT_TRUE(engine_->take_seat(kApp, "r1", "alice", std::nullopt, 60'000, fence));
  events();
  engine_->connection_lost(kApp, "r1", "alice", connection("alice"));
  clock_.advance_millis(5'001);
  engine_->tick();
  auto seen = events();
  EXPECT_NE(std::find(seen.begin(), seen.end(), "seats:---------"), seen.end());
  EXPECT_EQ(seen.back(), "left:alice TimedOut 1");
  EXPECT_TRUE(room().moderation.seats.empty());
}

TEST_F(MembersTest, TimedWorkWakesTheHousekeeperUntilItIsDone) {
  ASSERT_TRUE(enter("host"));
  ASSERT_TRUE(enter("alice"));
  clock_.advance_millis(3'600'000);
  engine_->tick();  // whatever was due has run
  EXPECT_FALSE(engine_->has_timed_work());
  int woken = 0;
  engine_->set_timed_work_hook([&] { ++woken; });
  // A member whose connection is lost has a grace period: a deadline, which wakes the
  // gateway's housekeeper (it sleeps while there is none) and keeps it looking until it ran.
  engine_->connection_lost(kApp, "r1", "alice", connection("alice"));
  EXPECT_GE(woken, 1);
  EXPECT_TRUE(engine_->has_timed_work());
  clock_.advance_millis(5'001);
  engine_->tick();
  EXPECT_EQ(events().back(), "left:alice TimedOut 1");
  EXPECT_FALSE(engine_->has_timed_work());
  engine_->set_timed_work_hook({});
}

TEST_F(MembersTest, ApplyToTakeNeedsAManagerAndTimesOut) {
  ReadFence fence;
  domain::RoomPatch apply;
  apply.take_seat_mode = domain::TakeSeatMode::kApplyToTake;
  ASSERT_TRUE(engine_->update_room(kApp, "r1", apply, fence));
  ASSERT_TRUE(enter("host"));
  ASSERT_TRUE(enter("alice"));
  events();
  auto pending = engine_->take_seat(kApp, "r1", "alice", 1, 1'000, fence);
  ASSERT_TRUE(pending);
  EXPECT_FALSE(pending->index);
  EXPECT_EQ(events(), std::vector<std::string>{"request:alice"});  // to the owner
  auto by_audience =
      engine_->respond_seat_request(kApp, "r1", "alice", pending->request_id, true, fence);
  ASSERT_FALSE(by_audience);
  EXPECT_EQ(by_audience.error().code, Code::kClientManagerOnly);
  auto accepted =
      engine_->respond_seat_request(kApp, "r1", "host", pending->request_id, true, fence);
  ASSERT_TRUE(accepted);
  EXPECT_EQ(*accepted, std::optional<uint32_t>(1));
  EXPECT_EQ(room().moderation.seats[1].member, "alice");

  ASSERT_TRUE(engine_->leave_seat(kApp, "r1", "alice", fence));
  auto again = engine_->take_seat(kApp, "r1", "alice", std::nullopt, 1'000, fence);
  ASSERT_TRUE(again);
  events();
  clock_.advance_millis(1'001);
  engine_->tick();
  auto seen = events();
  EXPECT_NE(std::find(seen.begin(), seen.end(), "resolved:alice TimedOut"), seen.end());
  EXPECT_FALSE(engine_->respond_seat_request(kApp, "r1", "host", again->request_id, true, fence));
}

TEST_F(MembersTest, SeatRulesUseTheClientCodes) {
  ASSERT_TRUE(enter("host"));
  ASSERT_TRUE(enter("alice"));
  ASSERT_TRUE(enter("bob"));
  ReadFence fence;
  ASSERT_TRUE(engine_->take_seat(kApp, "r1", "alice", 0, 60'000, fence));
  auto code = [](const auto& r) { return r ? Code::kOk : r.error().code; };
  EXPECT_EQ(code(engine_->take_seat(kApp, "r1", "bob", 0, 60'000, fence)), Code::kClientSeatTaken);
  EXPECT_EQ(code(engine_->take_seat(kApp, "r1", "alice", 1, 60'000, fence)),
            Code::kClientAlreadySeated);
  EXPECT_EQ(code(engine_->take_seat(kApp, "r1", "bob", 9, 60'000, fence)), Code::kClientNoSuchSeat);
  ASSERT_TRUE(engine_->lock_seat(kApp, "r1", 1, {true, {}, {}}, fence));
  EXPECT_EQ(code(engine_->take_seat(kApp, "r1", "bob", 1, 60'000, fence)), Code::kClientSeatLocked);
  EXPECT_EQ(code(engine_->leave_seat(kApp, "r1", "bob", fence)), Code::kClientNotSeated);
  EXPECT_EQ(code(engine_->take_seat(kApp, "r1", "nobody", 2, 60'000, fence)),
            Code::kClientNotInRoom);
}

TEST_F(MembersTest, PermissionsOfOwnerAdminsAndAudience) {
  ASSERT_TRUE(enter("host"));
  ASSERT_TRUE(enter("alice"));
  ASSERT_TRUE(enter("bob"));
  ReadFence fence;
  ASSERT_TRUE(engine_->import_account(kApp, "alice", {}, fence));  // admins are accounts
  ASSERT_TRUE(engine_->modify_admins(kApp, "r1", {"alice"}, RoomEngine::AdminOp::kAdd, fence));
  EXPECT_EQ(events().back(), "role:Admin");
  auto code = [](const Result<void>& r) { return r ? Code::kOk : r.error().code; };
  EXPECT_EQ(code(engine_->authorize(kApp, "r1", "bob", false, "alice", fence)),
            Code::kClientManagerOnly);
  EXPECT_EQ(code(engine_->authorize(kApp, "r1", "alice", false, "host", fence)),
            Code::kClientOwnerOnly);
  EXPECT_EQ(code(engine_->authorize(kApp, "r1", "alice", true, "", fence)), Code::kClientOwnerOnly);
  EXPECT_EQ(code(engine_->authorize(kApp, "r1", "alice", false, "bob", fence)), Code::kOk);
  EXPECT_EQ(code(engine_->leave_room(kApp, "r1", "host", fence)), Code::kClientOwnerCannotLeave);
}

TEST_F(MembersTest, MembersChatUnlessMutedOrAllMuted) {
  ASSERT_TRUE(enter("host"));
  ASSERT_TRUE(enter("alice"));
  ReadFence fence;
  RoomMessage m;
  m.sender = "alice";
  m.msg_body = "[]";
  m.sender_must_be_imported = false;
  auto sent = engine_->send_member_message(kApp, "r1", m, fence);
  ASSERT_TRUE(sent);
  EXPECT_EQ(sent->msg_seq, 1u);
  ASSERT_TRUE(engine_->mute_members(kApp, "r1", {"alice"}, 60, fence));
  auto muted = engine_->send_member_message(kApp, "r1", m, fence);
  ASSERT_FALSE(muted);
  EXPECT_EQ(muted.error().code, Code::kClientYouAreMuted);
  ASSERT_TRUE(engine_->mute_members(kApp, "r1", {"alice"}, 0, fence));
  domain::RoomPatch all_muted;
  all_muted.is_message_disabled = true;
  ASSERT_TRUE(engine_->update_room(kApp, "r1", all_muted, fence));
  auto blocked = engine_->send_member_message(kApp, "r1", m, fence);
  ASSERT_FALSE(blocked);
  EXPECT_EQ(blocked.error().code, Code::kClientAllMuted);
  m.sender = "host";
  EXPECT_TRUE(engine_->send_member_message(kApp, "r1", m, fence));
}

TEST_F(MembersTest, ShrinkingTheLayoutTakesMembersOffTheSeatsThatGo) {
  ReadFence fence;
  domain::RoomPatch roomy;
  roomy.max_member_count = 10;
  ASSERT_TRUE(engine_->update_room(kApp, "r1", roomy, fence));
  for (const char* user : {"host", "alice", "bob", "carol"}) ASSERT_TRUE(enter(user));
  ASSERT_TRUE(engine_->take_seat(kApp, "r1", "alice", 7, 60'000, fence));
  ASSERT_TRUE(engine_->take_seat(kApp, "r1", "bob", 2, 60'000, fence));
  ASSERT_TRUE(engine_->lock_seat(kApp, "r1", 8, {true, {}, {}}, fence));
  ASSERT_TRUE(engine_->invite_to_seat(kApp, "r1", "host", "carol", 5, 60'000, fence));
  ASSERT_TRUE(engine_->invite_to_seat(kApp, "r1", "host", "host", 1, 60'000, fence));
  events();

  domain::RoomPatch four;
  four.seat_template = domain::find_seat_template("VideoLandscape4Seats");
  ASSERT_TRUE(engine_->update_room(kApp, "r1", four, fence));
  // The room's new info, its new seats, the member who lost seat 7 and the invitation to seat 5
  // (told to the invitee and to the inviter); the invitation to seat 1 stays.
  EXPECT_EQ(events(),
            (std::vector<std::string>{"info:", "seats:--bob-", "kicked_off_seat:SeatRemoved",
                                      "resolved:carol Cancelled", "resolved:carol Cancelled"}));
  EXPECT_EQ(room().moderation.seats.size(), 4u);  // seats 4 to 8 are gone, not hidden
  EXPECT_EQ(code_of(engine_->leave_seat(kApp, "r1", "alice", fence)), Code::kClientNotSeated);

  domain::RoomPatch nine;
  nine.seat_template = domain::find_seat_template("VideoDynamicGrid9Seats");
  ASSERT_TRUE(engine_->update_room(kApp, "r1", nine, fence));
  EXPECT_EQ(events(), (std::vector<std::string>{"info:", "seats:--bob------"}));
  const auto seats = domain::seats_of(room());
  EXPECT_FALSE(seats[8].taken_disabled);  // a seat that comes back is a new one: unlocked
  EXPECT_TRUE(engine_->take_seat(kApp, "r1", "alice", 8, 60'000, fence));

  domain::RoomPatch notice;
  notice.notice = "same seats";
  ASSERT_TRUE(engine_->update_room(kApp, "r1", notice, fence));
  EXPECT_EQ(events(), (std::vector<std::string>{"seats:--bob-----alice", "info:same seats"}));
}

TEST_F(MembersTest, KickOffSeatSaysTheMemberWasKicked) {
  ASSERT_TRUE(enter("host"));
  ASSERT_TRUE(enter("alice"));
  ReadFence fence;
  ASSERT_TRUE(engine_->take_seat(kApp, "r1", "alice", 0, 60'000, fence));
  events();
  ASSERT_TRUE(engine_->kick_from_seat(kApp, "r1", "alice", "", fence));
  EXPECT_EQ(events(),
            (std::vector<std::string>{"seats:---------", "kicked_off_seat:KickedByAdmin"}));
}

TEST_F(MembersTest, RobotsEnterAndLeaveLikeMembers) {
  ASSERT_TRUE(enter("host"));
  ReadFence fence;
  ASSERT_TRUE(engine_->import_account(kApp, "bot", {}, fence));
  events();
  ASSERT_TRUE(engine_->add_robots(kApp, "r1", {"bot"}, fence));
  EXPECT_EQ(events(), std::vector<std::string>{"entered:bot 2"});
  ASSERT_TRUE(engine_->delete_robots(kApp, "r1", {"bot"}, fence));
  EXPECT_EQ(events(), std::vector<std::string>{"left:bot Left 1"});
}

TEST_F(MembersTest, EmptyRoomIsDismissedBySystemUnlessItHasRobots) {
  ASSERT_TRUE(enter("host"));
  ReadFence fence;
  engine_->connection_lost(kApp, "r1", "host", connection("host"));
  clock_.advance_millis(5'001);
  engine_->tick();  // grace over: the room is empty
  clock_.advance_millis(59'000);
  engine_->tick();
  EXPECT_TRUE(engine_->read_room(kApp, "r1", fence, [](const domain::Room&) { return 0; }));
  clock_.advance_millis(1'000);
  engine_->tick();
  EXPECT_EQ(events().back(), "dismissed:DestroyBySystem");
  EXPECT_FALSE(engine_->read_room(kApp, "r1", fence, [](const domain::Room&) { return 0; }));

  ASSERT_TRUE(engine_->create_room(kApp, "r2", "host", {}, fence));
  ASSERT_TRUE(engine_->import_account(kApp, "bot", {}, fence));
  ASSERT_TRUE(engine_->add_robots(kApp, "r2", {"bot"}, fence));
  ASSERT_TRUE(engine_->enter_room(kApp, "r2", "host", connection("host"), fence));
  engine_->connection_lost(kApp, "r2", "host", connection("host"));
  clock_.advance_millis(100'000);  // past the empty-room period: the robot keeps the room
  engine_->tick();
  EXPECT_TRUE(engine_->read_room(kApp, "r2", fence, [](const domain::Room&) { return 0; }));
  clock_.advance_millis(20'000);  // but the owner has been away 120 s: that policy applies
  engine_->tick();
  EXPECT_FALSE(engine_->read_room(kApp, "r2", fence, [](const domain::Room&) { return 0; }));
}

TEST_F(MembersTest, MemberListPagesWithoutDuplicates) {
  ReadFence fence;
  domain::RoomPatch big;
  big.max_member_count = 1000;
  ASSERT_TRUE(engine_->update_room(kApp, "r1", big, fence));
  for (int i = 0; i < 250; ++i) ASSERT_TRUE(enter("user" + std::to_string(i)));
  std::set<std::string> seen;
  std::string cursor;
  int pages = 0;
  do {
    auto page = engine_->list_members(kApp, "r1", cursor, 100, fence);
    ASSERT_TRUE(page);
    EXPECT_EQ(page->member_count, 250u);
    for (const auto& [user, role] : page->members) EXPECT_TRUE(seen.insert(user).second);
    cursor = page->next;
    ++pages;
  } while (!cursor.empty());
  EXPECT_EQ(seen.size(), 250u);
  EXPECT_EQ(pages, 3);
  EXPECT_FALSE(engine_->list_members(kApp, "r1", "zz", 100, fence));
}

// A restart (or a cluster failover, which loads the same way) keeps who sits: a seated member is
// back as offline since the load, keeps seat and role if it re-enters within the grace period,
// and leaves (seat freed, stored) when the period ends without it.
TEST_F(MembersTest, SeatedMembersGetTheirSeatsBackWithinGraceAfterARestart) {
  ASSERT_TRUE(enter("host"));
  ASSERT_TRUE(enter("alice"));
  ASSERT_TRUE(enter("bob"));
  ReadFence fence;
  ASSERT_TRUE(engine_->take_seat(kApp, "r1", "alice", 2, 60'000, fence));
  ASSERT_TRUE(engine_->take_seat(kApp, "r1", "bob", 4, 60'000, fence));
  while (store_->durable_seq() < fence.seq)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));

  engine_ = std::make_unique<RoomEngine>(*store_, clock_,
                                         std::vector<AppOptions>{{kApp, {"administrator"}, true}});
  engine_->load(store_->load());
  engine_->set_audience_factory(&factory_, {5'000});
  events();
  EXPECT_EQ(room().moderation.seats[2].member, "alice");
  EXPECT_EQ(room().moderation.seats[4].member, "bob");

  clock_.advance_millis(3'000);
  engine_->tick();
  auto back = enter("alice", std::make_shared<Connection>());
  ASSERT_TRUE(back);
  EXPECT_TRUE(back->recovered);
  EXPECT_EQ(back->seats[2].member, "alice");

  clock_.advance_millis(2'001);  // bob's grace period, counted from the load, is over
  engine_->tick();
  auto seen = events();
  EXPECT_NE(std::find(seen.begin(), seen.end(), "left:bob TimedOut 1"), seen.end());
  EXPECT_EQ(room().moderation.seats[2].member, "alice");
  EXPECT_EQ(room().moderation.seats[4].member, "");
}

}  // namespace
}  // namespace liveroom::engine

namespace liveroom::engine {
namespace {

TEST_F(MembersTest, GiftsCountOnceAndTheirKeysSurviveARestart) {
  ReadFence fence;
  engine::GiftFields rose;
  rose.coins = 5;
  rose.default_name = "Rose";
  ASSERT_TRUE(engine_->gifts().add_gift(kApp, "rose", rose, fence));
  ASSERT_TRUE(enter("host"));
  ASSERT_TRUE(enter("alice"));
  events();
  GiftSend send{"alice", "rose", 3, {}, 9};
  auto sent = engine_->send_gift(kApp, "r1", send, fence);
  ASSERT_TRUE(sent);
  EXPECT_EQ(sent->coins, 15);
  EXPECT_EQ(sent->receivers, std::vector<std::string>{"host"});
  EXPECT_EQ(events(), std::vector<std::string>{"gift:alice rose 15"});
  auto priced = engine_->price_gift(kApp, "r1", send, fence);  // a retry is known before it counts
  ASSERT_TRUE(priced);
  EXPECT_TRUE(priced->repeated);
  EXPECT_EQ(priced->coins, 15);
  send.receivers = {"host", "alice", "host"};  // a receiver named twice receives once
  send.random = 10;
  ASSERT_EQ(engine_->send_gift(kApp, "r1", send, fence)->coins, 30);
  EXPECT_EQ(room().total_gifts_sent, 9);
  EXPECT_EQ(room().total_gift_senders, 1);

  // A restart: the totals and alice's keys come back; her retry still counts nothing.
  ASSERT_TRUE(testing_support::wait_all_durable(*store_));
  engine_.reset();
  engine_ = std::make_unique<RoomEngine>(*store_, clock_,
                                         std::vector<AppOptions>{{kApp, {"administrator"}, true}});
  engine_->load(store_->load());
  engine_->set_audience_factory(&factory_, {5'000});
  ASSERT_TRUE(enter("alice"));
  auto retried = engine_->send_gift(kApp, "r1", send, fence);
  ASSERT_TRUE(retried);
  EXPECT_TRUE(retried->repeated);
  EXPECT_EQ(retried->coins, 30);
  EXPECT_EQ(room().total_gift_coins, 45);
  ASSERT_TRUE(enter("bob"));
  ASSERT_TRUE(engine_->send_gift(kApp, "r1", {"bob", "rose", 1, {}, 9}, fence));
  EXPECT_EQ(room().total_gift_senders, 2);
  EXPECT_EQ(domain::statistic_of(room()).total_unique_gift_senders, 2);
}

TEST_F(MembersTest, GiftChecksUseTheirOwnCodes) {
  ReadFence fence;
  engine::GiftFields rose;
  rose.coins = 5;
  ASSERT_TRUE(engine_->gifts().add_gift(kApp, "rose", rose, fence));
  ASSERT_TRUE(enter("alice"));
  auto code = [&](GiftSend send) {
    auto r = engine_->send_gift(kApp, "r1", send, fence);
    return r ? Code::kOk : r.error().code;
  };
  EXPECT_EQ(code({"stranger", "rose", 1, {}, {}}), Code::kClientNotInRoom);
  EXPECT_EQ(code({"alice", "tulip", 1, {}, {}}), Code::kClientBadParameter);
  EXPECT_EQ(code({"alice", "rose", 1, {"stranger"}, {}}), Code::kClientBadParameter);
  domain::RoomPatch off;
  off.is_gift_enabled = false;
  ASSERT_TRUE(engine_->update_room(kApp, "r1", off, fence));
  EXPECT_EQ(code({"alice", "rose", 1, {}, {}}), Code::kNotPermitted);
  EXPECT_EQ(room().total_gifts_sent, 0);
}

TEST_F(MembersTest, CoHostConnectionsEndWithTheRoomOrTheOwnersConnection) {
  ReadFence fence;
  for (auto [room, owner] : {std::pair{"r2", "host2"}, std::pair{"r3", "host3"}}) {
    ASSERT_TRUE(engine_->create_room(kApp, room, owner, {}, fence));
    ASSERT_TRUE(engine_->enter_room(kApp, room, owner, connection(owner), fence));
  }
  ASSERT_TRUE(enter("host"));
  events();
  auto asked = engine_->request_cohost(kApp, "r1", "host", {"r2", "r3", "nope"}, 60'000, "");
  ASSERT_TRUE(asked);
  ASSERT_EQ(asked->size(), 3u);
  EXPECT_EQ((*asked)[2].code, Code::kClientRoomNotFound);
  EXPECT_EQ(events(), (std::vector<std::string>{"cohost_request:r1", "cohost_request:r1"}));
  ASSERT_TRUE(engine_->respond_cohost(kApp, "r2", "host2", (*asked)[0].request_id, true));
  ASSERT_TRUE(engine_->respond_cohost(kApp, "r3", "host3", (*asked)[1].request_id, true));
  EXPECT_EQ(engine_->cohost_rooms(kApp, "r3").size(), 3u);
  events();
  // Not the owner, or not online: refused before anything changes.
  EXPECT_EQ(engine_->disconnect_cohost(kApp, "r2", "host").error().code, Code::kClientNotInRoom);
  ASSERT_TRUE(engine_->destroy_room(kApp, "r2", fence));
  EXPECT_EQ(engine_->cohost_rooms(kApp, "r1").size(), 2u);
  engine_->connection_lost(kApp, "r3", "host3", connection("host3"));
  EXPECT_TRUE(engine_->cohost_rooms(kApp, "r1").empty());
  // A room whose owner is offline cannot be asked.
  auto again = engine_->request_cohost(kApp, "r1", "host", {"r3"}, 1'000, "");
  ASSERT_TRUE(again);
  EXPECT_EQ((*again)[0].code, Code::kClientUserNotFound);  // host3 is offline
}

}  // namespace
}  // namespace liveroom::engine
