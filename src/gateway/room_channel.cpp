#include "gateway/room_channel.h"

#include <algorithm>

#include <fmt/format.h>

#include "base/json_writer.h"
#include "domain/battle_json.h"
#include "domain/gift_json.h"
#include "domain/room_json.h"
#include "gateway/client_session.h"
#include "gateway/gateway.h"
#include "metrics/registry.h"

namespace liveroom::gateway {

void write_cohost_list(JsonWriter& w, const std::vector<engine::CoHostRoom>& rooms) {
  w.begin_array();
  for (const auto& room : rooms) {
    w.begin_object().field("RoomId", room.room_id).field("Owner_Account", room.owner).end_object();
  }
  w.end_array();
}

namespace {

// How long the gift lane (held-back gifts and battle scores) waits for a broadcast to ride with
// before it goes out on its own: battle scores reach a quiet room twice a second.
constexpr int64_t kGiftLaneMs = 500;

// A MembersChanged event names at most this many members each way; the counts are exact. A large
// room's entries and exits would otherwise make every batch as large as the crowd.
constexpr size_t kMaxNamesPerBatch = 50;

// A broadcast's walk writes to this many of an I/O thread's members per turn (about a millisecond),
// then lets the thread's replies and requests run: a gift's acknowledgement waits for one turn, not
// for a walk over thousands of members.
constexpr size_t kMembersPerTurn = 64;

// At most this many consecutive broadcasts go to a member in one write.
constexpr size_t kMaxFramesPerWrite = 64;

std::shared_ptr<ClientSession> session_of(const engine::ConnectionPtr& connection) {
  return std::static_pointer_cast<ClientSession>(connection);
}

}  // namespace

RoomChannel::RoomChannel(Gateway& gateway, uint32_t sdkappid, std::string room_id)
    : gateway_(gateway),
      sdkappid_(sdkappid),
      room_id_(std::move(room_id)),
      threads_(gateway.server_.worker_count()) {}

Frame RoomChannel::event(std::string_view name, const std::string& data) const {
  std::string out;
  out.reserve(48 + room_id_.size() + data.size());
  JsonWriter w(out);
  w.begin_object().field("event", name).field("RoomId", room_id_).key("data").raw(data);
  w.end_object();
  return std::make_shared<const std::string>(std::move(out));
}

// --- what the engine says --------------------------------------------------------------------

void RoomChannel::entered(uint64_t seq, const std::string& user,
                          const engine::ConnectionPtr& connection, size_t member_count,
                          bool recovered) {
  if (connection) enqueue(seq, Add{session_of(connection)});  // (a robot has none)
  std::lock_guard lock(mu_);
  member_count_ = member_count;
  members_seq_ = std::max(members_seq_, seq);
  if (!recovered) {
    ++entered_count_;
    if (entered_.size() < kMaxNamesPerBatch) entered_.push_back(user);
  }
  arm_batch_locked();
}

void RoomChannel::left(uint64_t seq, const std::string& user,
                       const engine::ConnectionPtr& connection, size_t member_count,
                       engine::LeaveCause cause, int64_t banned_until) {
  if (connection) {
    Frame farewell;
    // LoggedInElsewhere is announced once, by the gateway when the newer login happens.
    if (cause == engine::LeaveCause::kKicked || cause == engine::LeaveCause::kBanned) {
      std::string data;
      JsonWriter w(data);
      w.begin_object().field("Reason", engine::to_string(cause));
      if (cause == engine::LeaveCause::kBanned) w.field("BannedUntil", banned_until);
      w.end_object();
      farewell = event("Kicked", data);
    }
    enqueue(seq, Remove{session_of(connection), std::move(farewell)});
  }
  if (cause == engine::LeaveCause::kLoggedInElsewhere) return;  // still a member
  std::lock_guard lock(mu_);
  member_count_ = member_count;
  members_seq_ = std::max(members_seq_, seq);
  ++left_count_;
  if (left_.size() < kMaxNamesPerBatch) left_.push_back(user);
  arm_batch_locked();
}

void RoomChannel::went_offline(const std::string&, const engine::ConnectionPtr& connection) {
  enqueue(0, Remove{session_of(connection), nullptr});
}

void RoomChannel::room_info_changed(uint64_t seq, const domain::Room& room, size_t members) {
  std::string data;
  JsonWriter w(data);
  w.begin_object().key("RoomInfo").begin_object();
  domain::write_room_info(w, room, members);
  w.end_object().end_object();
  enqueue(seq, Broadcast{event("RoomInfoChanged", data)});
}

void RoomChannel::seats_changed(uint64_t seq, const std::vector<domain::Seat>& seats) {
  std::string data;
  JsonWriter w(data);
  w.begin_object().key("SeatList");
  domain::write_seat_list(w, seats);
  w.end_object();
  enqueue(seq, Broadcast{event("SeatListChanged", data)});
}

void RoomChannel::message(uint64_t seq, const engine::MessageNotice& m) {
  std::string data;
  data.reserve(96 + m.msg_body.size() + m.cloud_custom_data.size());
  JsonWriter w(data);
  w.begin_object()
      .field("MsgSeq", static_cast<int64_t>(m.msg_seq))
      .field("MsgTime", m.msg_time)
      .field("From_Account", m.from)
      .key("MsgBody")
      .raw(m.msg_body)
      .field("CloudCustomData", m.cloud_custom_data)
      .end_object();
  enqueue(seq, Broadcast{event("Message", data)});
}

bool RoomChannel::take_gift_token_locked() {
  const int64_t budget = gateway_.options_.gift_events_per_second;
  if (budget == 0) return true;  // no budget: every gift has its event
  const int64_t now = gateway_.clock_.steady_millis();
  const int64_t full = budget * 1000;
  gift_tokens_milli_ =
      gift_tokens_milli_ < 0
          ? full
          : std::min(full, gift_tokens_milli_ + (now - gift_tokens_at_ms_) * budget);
  gift_tokens_at_ms_ = now;
  if (gift_tokens_milli_ < 1000) return false;
  gift_tokens_milli_ -= 1000;
  return true;
}

void RoomChannel::into_lane_locked(uint64_t seq) {
  lane_seq_ = std::max(lane_seq_, seq);
  if (lane_since_ms_ == 0) lane_since_ms_ = std::max<int64_t>(1, gateway_.clock_.steady_millis());
  arm_batch_locked();
}

void RoomChannel::gift(uint64_t seq, const engine::GiftNotice& g) {
  // Calls for one room come one at a time (under the room's lock), so the token taken here still
  // holds when the event is queued below; the event is built only for a gift that gets one (in
  // a storm most are folded).
  bool own_event = false;
  {
    std::lock_guard lock(mu_);
    own_event = take_gift_token_locked();
    if (!own_event) {
      last_fold_ms_ = gateway_.clock_.steady_millis();
      FoldedGift& f = folded_gifts_[g.gift->gift_id];
      f.sends += 1;
      f.count += g.count * static_cast<int64_t>(g.receivers.size());
      f.coins += g.coins;
      folded_sends_ += 1;
      folded_total_coins_ = std::max(folded_total_coins_, g.total_gift_coins);
      into_lane_locked(seq);
      return;
    }
  }
  std::string data;
  JsonWriter w(data);
  w.begin_object().field("From_Account", g.from).key("Receivers").begin_array();
  for (const auto& receiver : g.receivers) w.value(receiver);
  w.end_array()
      .field("GiftId", g.gift->gift_id)
      .field("Count", g.count)
      .field("Coins", g.coins)
      .field("TotalGiftCoins", g.total_gift_coins)
      .key("Gift");
  domain::write_gift(w, *g.gift);
  w.end_object();
  uint64_t await = 0;
  {
    std::lock_guard lock(mu_);
    const bool storm = gateway_.clock_.steady_millis() - last_fold_ms_ < kGiftLaneMs;
    if (lane_since_ms_ == 0 && !storm) {
      // A gift in a quiet room: at once, with nothing held back before it. In a storm (a gift
      // was folded lately) even a gift with an event of its own rides with the room's next
      // broadcast: right after the lane left with a chat message, a token is free again, and
      // sending that gift at once would add a walk over every member per chat message.
      await = enqueue_locked(seq, Broadcast{event("Gift", data)});
    } else {
      lane_gifts_.push_back(event("Gift", data));
      into_lane_locked(seq);
    }
  }
  await_durable(await);
}

void RoomChannel::cohost_changed(uint64_t seq, const std::vector<engine::CoHostRoom>& rooms) {
  std::string data;
  JsonWriter w(data);
  w.begin_object().key("CoHostList");
  write_cohost_list(w, rooms);
  w.end_object();
  enqueue(seq, Broadcast{event("CoHostChanged", data)});
}

void RoomChannel::battle_changed(uint64_t seq, const domain::Battle& battle) {
  std::string data;
  JsonWriter w(data);
  w.begin_object();
  domain::write_battle_info(w, battle);
  w.end_object();
  const bool ended = battle.status == domain::BattleStatus::kEnded;
  enqueue(seq, Broadcast{event(ended ? "BattleEnded" : "BattleChanged", data)});
}

void RoomChannel::battle_scores(uint64_t seq, const domain::Battle& battle) {
  std::string data;
  JsonWriter w(data);
  w.begin_object().field("BattleId", battle.battle_id).key("ScoreList");
  domain::write_battle_scores(w, battle);
  w.end_object();
  std::lock_guard lock(mu_);
  lane_scores_ = event("BattleScore", data);  // only the latest scores matter
  into_lane_locked(seq);
}

void RoomChannel::likes(uint64_t seq, int64_t total_likes) {
  std::lock_guard lock(mu_);
  total_likes_ = total_likes;
  members_seq_ = std::max(members_seq_, seq);
  arm_batch_locked();
}

void RoomChannel::notify(uint64_t seq, const engine::ConnectionPtr& connection,
                         const engine::MemberNotice& notice) {
  std::string data;
  JsonWriter w(data);
  std::string_view name;
  w.begin_object();
  std::visit(
      [&](const auto& n) {
        using T = std::decay_t<decltype(n)>;
        if constexpr (std::is_same_v<T, engine::SeatRequestNotice>) {
          if (n.kind == engine::SeatRequestKind::kApplication) {
            name = "SeatRequest";
            w.field("RequestId", n.request_id).field("Member_Account", n.member);
          } else {
            name = "SeatInvitation";
            w.field("RequestId", n.request_id).field("From_Account", n.from);
          }
          w.field("Index", n.index);
        } else if constexpr (std::is_same_v<T, engine::SeatRequestResolvedNotice>) {
          name = "SeatRequestResolved";
          w.field("RequestId", n.request_id)
              .field("Member_Account", n.member)
              .field("Result", engine::to_string(n.result))
              .field("Index", n.index);
        } else if constexpr (std::is_same_v<T, engine::KickedOffSeatNotice>) {
          name = "KickedOffSeat";
          w.field("Reason", engine::to_string(n.cause)).field("Data", n.data);
        } else if constexpr (std::is_same_v<T, engine::MutedNotice>) {
          name = "Muted";
          w.field("MutedUntil", n.muted_until);
        } else if constexpr (std::is_same_v<T, engine::RoleNotice>) {
          name = "RoleChanged";
          w.field("Role", engine::to_string(n.role));
        } else if constexpr (std::is_same_v<T, engine::CoHostRequestNotice>) {
          name = "CoHostRequest";
          w.field("RequestId", n.request_id)
              .field("FromRoomId", n.from_room)
              .field("From_Account", n.from)
              .field("ExtensionInfo", n.extension_info)
              .field("TimeoutMs", n.timeout_ms);
        } else if constexpr (std::is_same_v<T, engine::BattleInvitationNotice>) {
          name = "BattleInvitation";
          w.field("BattleId", n.battle_id)
              .field("FromRoomId", n.from_room)
              .field("From_Account", n.from)
              .field("Duration", n.duration_ms)
              .field("ExtensionInfo", n.extension_info)
              .field("TimeoutMs", n.timeout_ms);
        } else if constexpr (std::is_same_v<T, engine::BattleReplyNotice>) {
          name = "BattleInvitationResolved";
          w.field("BattleId", n.battle_id).field("RoomId", n.room_id).field("Result", n.result);
        } else if constexpr (std::is_same_v<T, engine::CoHostResolvedNotice>) {
          name = "CoHostRequestResolved";
          w.field("RequestId", n.request_id)
              .field("FromRoomId", n.from_room)
              .field("ToRoomId", n.to_room)
              .field("Result", engine::to_string(n.result));
        }
      },
      notice);
  w.end_object();
  enqueue(seq, Direct{session_of(connection), event(name, data)});
}

void RoomChannel::dismissed(uint64_t seq, std::string_view reason,
                            const domain::RoomStatistic& statistic) {
  std::string data;
  JsonWriter w(data);
  w.begin_object().field("Reason", reason).key("Statistic").begin_object();
  domain::write_statistic(w, statistic, true);
  w.end_object().end_object();
  enqueue(seq, Dismiss{event("RoomDismissed", data)});
}

// --- batching ----------------------------------------------------------------------------------

void RoomChannel::arm_batch_locked() {
  if (batch_armed_) return;
  batch_armed_ = true;
  batch_since_ms_ = gateway_.clock_.steady_millis();
  gateway_.mark_batch(shared_from_this());
}

bool RoomChannel::flush_batch(int64_t now_ms) {
  uint64_t await = 0;
  bool waiting = false;
  {
    std::lock_guard lock(mu_);
    waiting = flush_batch_locked(now_ms, await);
  }
  await_durable(await);
  return waiting;
}

uint64_t RoomChannel::flush_lane_locked(uint64_t with_seq) {
  if (lane_since_ms_ == 0) return 0;
  flushing_lane_ = true;
  // Riding with a broadcast, the lane leaves when it does (its own changes are older, so may be
  // durable already): one walk for both.
  const uint64_t seq = std::max(lane_seq_, with_seq);
  uint64_t await = 0;
  for (auto& frame : lane_gifts_) {
    await = std::max(await, enqueue_locked(seq, Broadcast{std::move(frame)}));
  }
  lane_gifts_.clear();
  if (folded_sends_ > 0) {
    std::string data;
    JsonWriter w(data);
    w.begin_object().field("Sends", folded_sends_).key("GiftList").begin_array();
    int64_t coins = 0;
    for (const auto& [gift_id, f] : folded_gifts_) {
      w.begin_object()
          .field("GiftId", gift_id)
          .field("Sends", f.sends)
          .field("Count", f.count)
          .field("Coins", f.coins)
          .end_object();
      coins += f.coins;
    }
    w.end_array().field("Coins", coins).field("TotalGiftCoins", folded_total_coins_).end_object();
    await = std::max(await, enqueue_locked(seq, Broadcast{event("GiftSummary", data)}));
    folded_gifts_.clear();
    folded_sends_ = 0;
  }
  if (lane_scores_) {
    await = std::max(await, enqueue_locked(seq, Broadcast{std::move(lane_scores_)}));
    lane_scores_ = nullptr;
  }
  lane_since_ms_ = 0;
  flushing_lane_ = false;
  return await;
}

bool RoomChannel::flush_batch_locked(int64_t now_ms, uint64_t& await) {
  if (!batch_armed_) return false;
  // The lane goes out on its own once it waited kGiftLaneMs without a broadcast to ride with.
  if (lane_since_ms_ != 0 && now_ms - lane_since_ms_ >= kGiftLaneMs) {
    await = std::max(await, flush_lane_locked(0));
  }
  const bool members_pending = entered_count_ || left_count_ || total_likes_ >= 0;
  if (members_pending && now_ms - batch_since_ms_ < gateway_.options_.member_batch_ms) {
    return true;  // not yet
  }
  if (entered_count_ || left_count_) {
    std::string data;
    JsonWriter w(data);
    w.begin_object().key("Entered").begin_array();
    for (const auto& user : entered_) w.value(user);
    w.end_array().key("Left").begin_array();
    for (const auto& user : left_) w.value(user);
    w.end_array()
        .field("EnteredCount", static_cast<int64_t>(entered_count_))
        .field("LeftCount", static_cast<int64_t>(left_count_))
        .field("MemberCount", static_cast<int64_t>(member_count_))
        .end_object();
    await = std::max(await, enqueue_locked(members_seq_, Broadcast{event("MembersChanged", data)}));
    entered_.clear();
    left_.clear();
    entered_count_ = left_count_ = 0;
  }
  if (total_likes_ >= 0) {
    await = std::max(
        await, enqueue_locked(
                   members_seq_,
                   Broadcast{event("Likes", fmt::format(R"({{"TotalLikes":{}}})", total_likes_))}));
    total_likes_ = -1;
  }
  // Armed still while the lane waits (the housekeeper looks again at its next turn).
  batch_armed_ = lane_since_ms_ != 0;
  return batch_armed_;
}

// --- ordered, durable delivery -----------------------------------------------------------------

void RoomChannel::enqueue(uint64_t seq, Delivery delivery) {
  uint64_t await = 0;
  {
    std::lock_guard lock(mu_);
    await = enqueue_locked(seq, std::move(delivery));
  }
  await_durable(await);
}

uint64_t RoomChannel::enqueue_locked(uint64_t seq, Delivery delivery) {
  uint64_t lane_await = 0;
  if (!flushing_lane_ && lane_since_ms_ != 0 &&
      (std::holds_alternative<Broadcast>(delivery) || std::holds_alternative<Dismiss>(delivery))) {
    lane_await = flush_lane_locked(seq);  // held-back gifts and scores go first, in the same walk
  }
  queue_.emplace_back(seq, std::move(delivery));
  if (seq > awaited_seq_ && seq > gateway_.store_.durable_seq()) {
    awaited_seq_ = seq;
    return seq;
  }
  release_locked();
  return lane_await;
}

void RoomChannel::await_durable(uint64_t seq) {
  if (seq == 0) return;
  // Outside mu_: the store runs the callback at once when `seq` became durable meanwhile.
  gateway_.store_.when_durable(seq, [self = shared_from_this()] {
    std::lock_guard lock(self->mu_);
    self->release_locked();
  });
}

void RoomChannel::release_locked() {
  const uint64_t durable = gateway_.store_.durable_seq();
  while (!queue_.empty() && queue_.front().first <= durable) {
    deliver(queue_.front().second);
    queue_.pop_front();
  }
}

void RoomChannel::deliver(Delivery& delivery) {
  // Requires mu_. Each I/O thread gets the deliveries that concern it, in room order, in its
  // inbox; one post runs them all (see run_inbox).
  auto to_thread = [this](size_t w, Delivery d) {
    PerThread& t = threads_[w];
    t.inbox.push_back(std::move(d));
    if (!t.posted) {
      t.posted = true;
      gateway_.server_.post_to_worker(w, [self = shared_from_this(), w] { self->run_inbox(w); });
    }
  };
  std::visit(
      [&](auto& d) {
        using T = std::decay_t<decltype(d)>;
        if constexpr (std::is_same_v<T, Broadcast> || std::is_same_v<T, Dismiss>) {
          for (size_t w = 0; w < threads_.size(); ++w) to_thread(w, d);
        } else {
          const size_t w = d.session->worker();
          to_thread(w, std::move(d));
        }
      },
      delivery);
}

void RoomChannel::run_inbox(size_t w) {
  PerThread& t = threads_[w];
  size_t budget = kMembersPerTurn;
  for (;;) {
    if (t.walk.active()) {
      budget -= continue_walk(t.walk, budget);
      if (t.walk.active()) {
        // The thread's other work goes first; the walk, and whatever waits behind it, resume
        // on the next turn (posted stays set, so no second run_inbox joins).
        gateway_.server_.post_to_worker(w, [self = shared_from_this(), w] { self->run_inbox(w); });
        return;
      }
      if (gateway_.walk_duration_) {
        gateway_.walk_duration_->observe_ns((std::chrono::steady_clock::now() - t.walk.began) /
                                            std::chrono::nanoseconds(1));
      }
      t.walk = Walk{};
    }
    if (t.work_next == t.work.size()) {
      t.work.clear();
      t.work_next = 0;
      std::lock_guard lock(mu_);
      if (t.inbox.empty()) {
        t.posted = false;
        return;
      }
      t.work.swap(t.inbox);
    }
    if (std::holds_alternative<Broadcast>(t.work[t.work_next])) {
      // Consecutive broadcasts go to each member as one message: under load a member gets one
      // write for everything that happened since its last one, not one per event.
      std::vector<Frame> frames;
      while (t.work_next < t.work.size() && frames.size() < kMaxFramesPerWrite &&
             std::holds_alternative<Broadcast>(t.work[t.work_next])) {
        frames.push_back(std::move(std::get<Broadcast>(t.work[t.work_next]).frame));
        ++t.work_next;
      }
      begin_walk(w, std::move(frames));
      continue;
    }
    std::visit(
        [&](auto& d) {
          using T = std::decay_t<decltype(d)>;
          auto& sessions = t.sessions;
          if constexpr (std::is_same_v<T, Add>) {
            auto& session = d.session;
            if (session->listed_in == this) return;
            if (session->listed_in) session->listed_in->detach_here(*session);
            session->listed_in = this;
            session->slot = sessions.size();
            sessions.push_back(std::move(session));
          } else if constexpr (std::is_same_v<T, Remove>) {
            if (d.session->listed_in == this) detach_here(*d.session);
            if (d.farewell) d.session->push(d.farewell);
            d.session->left_room(sdkappid_, room_id_);
          } else if constexpr (std::is_same_v<T, Direct>) {
            d.session->push(d.frame);
          } else if constexpr (std::is_same_v<T, Dismiss>) {
            auto gone = std::move(sessions);
            sessions.clear();
            for (const auto& session : gone) {
              session->push(d.frame);
              session->listed_in = nullptr;
              session->left_room(sdkappid_, room_id_);
            }
          }
        },
        t.work[t.work_next]);
    ++t.work_next;
  }
}

void RoomChannel::begin_walk(size_t w, std::vector<Frame> frames) {
  PerThread& t = threads_[w];
  // Members connected through another node share that node's link: the frames cross it once,
  // with the list of its members, and that node writes them to each of them.
  std::vector<std::pair<server::SharedLink*, std::vector<uint64_t>>> links;
  t.walk.members.reserve(t.sessions.size());
  for (const auto& session : t.sessions) {
    server::SharedLink* link = session->shared_link();
    if (!link) {
      t.walk.members.push_back(session);
      continue;
    }
    auto it = std::find_if(links.begin(), links.end(),
                           [link](const auto& entry) { return entry.first == link; });
    if (it == links.end()) it = links.insert(links.end(), {link, {}});
    it->second.push_back(session->shared_link_id());
  }
  for (auto& [link, ids] : links) link->multicast_here(ids, frames);
  if (frames.size() > 1 && !t.walk.members.empty()) {
    // Every member gets the same message: joined once here rather than gathered again in each
    // member's write (two buffers per object in every system call).
    frames.assign(1, server::join_messages(frames));
  }
  t.walk.frames = std::move(frames);
  t.walk.next = 0;
  t.walk.began = std::chrono::steady_clock::now();
}

size_t RoomChannel::continue_walk(Walk& walk, size_t budget) {
  const size_t end = std::min(walk.members.size(), walk.next + budget);
  const size_t taken = end - walk.next;
  for (; walk.next < end; ++walk.next) {
    // A member that left the room (or entered another) since the walk began is skipped: it is
    // told of this room only while it is in it.
    const auto& session = walk.members[walk.next];
    if (session->listed_in == this) session->push(walk.frames);
  }
  return taken;
}

void RoomChannel::detach_here(ClientSession& session) {
  auto& list = threads_[session.worker()].sessions;
  const size_t slot = session.slot;
  if (slot < list.size() && list[slot].get() == &session) {
    if (slot + 1 != list.size()) {
      list[slot] = std::move(list.back());
      list[slot]->slot = slot;
    }
    list.pop_back();
  }
  session.listed_in = nullptr;
}

}  // namespace liveroom::gateway
