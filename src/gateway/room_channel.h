// The fan-out of one room: what the engine tells the room's online members, encoded once and
// delivered in order.
//
// The engine calls in (under the room's lock) with the store sequence each change waits for.
// Deliveries queue here in call order and leave only once their change is durable, so members
// never see a change a crash could take back, and the order of the queue is the order of the
// room. Leaving = one post per I/O thread; each thread walks its own members of the room.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <variant>
#include <vector>

#include "base/json_writer.h"
#include "engine/audience.h"

namespace liveroom::gateway {

// CoHostList: [{RoomId, Owner_Account}] (the CoHostChanged event and the enter reply).
void write_cohost_list(JsonWriter& w, const std::vector<engine::CoHostRoom>& rooms);

class Gateway;
class ClientSession;
using Frame = std::shared_ptr<const std::string>;

class RoomChannel final : public engine::RoomAudience,
                          public std::enable_shared_from_this<RoomChannel> {
 public:
  RoomChannel(Gateway& gateway, uint32_t sdkappid, std::string room_id);

  const std::string& room_id() const { return room_id_; }
  uint32_t sdkappid() const { return sdkappid_; }

  // engine::RoomAudience
  void entered(uint64_t seq, const std::string& user, const engine::ConnectionPtr& connection,
               size_t member_count, bool recovered) override;
  void left(uint64_t seq, const std::string& user, const engine::ConnectionPtr& connection,
            size_t member_count, engine::LeaveCause cause, int64_t banned_until) override;
  void went_offline(const std::string& user, const engine::ConnectionPtr& connection) override;
  void room_info_changed(uint64_t seq, const domain::Room& room, size_t members) override;
  void seats_changed(uint64_t seq, const std::vector<domain::Seat>& seats) override;
  void message(uint64_t seq, const engine::MessageNotice& message) override;
  void likes(uint64_t seq, int64_t total_likes) override;
  void gift(uint64_t seq, const engine::GiftNotice& gift) override;
  void cohost_changed(uint64_t seq, const std::vector<engine::CoHostRoom>& rooms) override;
  void battle_changed(uint64_t seq, const domain::Battle& battle) override;
  void battle_scores(uint64_t seq, const domain::Battle& battle) override;
  void notify(uint64_t seq, const engine::ConnectionPtr& connection,
              const engine::MemberNotice& notice) override;
  void dismissed(uint64_t seq, std::string_view reason,
                 const domain::RoomStatistic& statistic) override;

  // The housekeeping thread: sends the batched MembersChanged / Likes if one is due. Answers
  // whether a batch is still waiting.
  bool flush_batch(int64_t now_ms);

  // On a session's I/O thread: takes it out of this room's list for that thread (if in it).
  void detach_here(ClientSession& session);

 private:
  struct Add {
    std::shared_ptr<ClientSession> session;
  };
  struct Remove {
    std::shared_ptr<ClientSession> session;
    Frame farewell;  // null: none
  };
  struct Direct {
    std::shared_ptr<ClientSession> session;
    Frame frame;
  };
  struct Broadcast {
    Frame frame;
  };
  struct Dismiss {
    Frame frame;
  };
  using Delivery = std::variant<Add, Remove, Direct, Broadcast, Dismiss>;

  // Queues a delivery behind the earlier ones; it leaves once `seq` is durable.
  void enqueue(uint64_t seq, Delivery delivery);
  // Requires mu_; answers the sequence to await_durable() once mu_ is released (0: none).
  uint64_t enqueue_locked(uint64_t seq, Delivery delivery);
  void await_durable(uint64_t seq);
  bool flush_batch_locked(int64_t now_ms, uint64_t& await);
  // Requires mu_. Queues the lane's frames (before whatever is queued next, whose sequence is
  // `with_seq`; 0: nothing); answers the sequence to await, as enqueue_locked does.
  uint64_t flush_lane_locked(uint64_t with_seq);
  // Requires mu_. Something joined the lane: start its clock and the housekeeper's.
  void into_lane_locked(uint64_t seq);
  // Requires mu_. Whether a gift may have an event of its own now (takes the token).
  bool take_gift_token_locked();
  // Sends every queued delivery whose change is durable, in order. Requires mu_.
  void release_locked();
  void deliver(Delivery& delivery);
  // The batch of MembersChanged/Likes waits for the housekeeper. Requires mu_.
  void arm_batch_locked();
  Frame event(std::string_view name, const std::string& data) const;

  Gateway& gateway_;
  const uint32_t sdkappid_;
  const std::string room_id_;

  std::mutex mu_;
  std::deque<std::pair<uint64_t, Delivery>> queue_;
  uint64_t awaited_seq_ = 0;  // a durability callback is registered up to here
  // Batched events.
  std::vector<std::string> entered_, left_;
  size_t entered_count_ = 0, left_count_ = 0, member_count_ = 0;
  int64_t total_likes_ = -1;  // -1: no like since the last batch
  // The gift lane: what a storm of gifts and a battle's scores show, held back to ride with the
  // room's next broadcast (kept before it, so the order holds) or, in a quiet room, sent on its
  // own after kGiftLaneMs. Every broadcast walks every member; a storm must not add walks of its
  // own between the room's chat. Gifts within the room's budget (gift_events_per_second, a token
  // bucket in thousandths of a token) keep their own Gift event; the rest fold into one
  // GiftSummary by gift; only the latest BattleScore is kept.
  struct FoldedGift {
    int64_t sends = 0, count = 0, coins = 0;
  };
  std::vector<Frame> lane_gifts_;
  std::map<std::string, FoldedGift, std::less<>> folded_gifts_;
  int64_t folded_sends_ = 0;
  int64_t folded_total_coins_ = 0;
  Frame lane_scores_;
  uint64_t lane_seq_ = 0;
  int64_t lane_since_ms_ = 0;  // 0: the lane is empty
  bool flushing_lane_ = false;
  int64_t gift_tokens_milli_ = -1;  // -1: full (no gift yet)
  int64_t gift_tokens_at_ms_ = 0;
  int64_t last_fold_ms_ = INT64_MIN / 2;  // when a gift was last folded (no event of its own)
  uint64_t members_seq_ = 0;              // the batch shows changes up to here
  bool batch_armed_ = false;
  int64_t batch_since_ms_ = 0;

  // A broadcast on its way to one I/O thread's members. The thread writes to a few dozen of them
  // per turn and then lets its other work run (replies, requests, other rooms), so a walk over
  // thousands of members does not hold up the thread's replies for the whole walk.
  struct Walk {
    std::vector<Frame> frames;                            // each member gets them in one write
    std::vector<std::shared_ptr<ClientSession>> members;  // the thread's own, when it began
    size_t next = 0;
    std::chrono::steady_clock::time_point began;
    bool active() const { return next < members.size(); }
  };

  // Runs an I/O thread's inbox, on that thread, a turn at a time (see Walk).
  void run_inbox(size_t worker);
  // Starts a walk of `frames` over the thread's members: members behind another node's link get
  // them at once (one record per link), the thread's own in turns.
  void begin_walk(size_t worker, std::vector<Frame> frames);
  // Writes the walk to at most `budget` more members; answers how many it took.
  size_t continue_walk(Walk& walk, size_t budget);

  // Per I/O thread: that thread's sessions in this room and its deliveries: those waiting for it
  // (under mu_) and those it took and has not finished (on the thread only).
  struct PerThread {
    std::vector<std::shared_ptr<ClientSession>> sessions;
    std::vector<Delivery> inbox;
    bool posted = false;  // a run_inbox is on its way (or will run again: a walk is under way)
    std::vector<Delivery> work;
    size_t work_next = 0;
    Walk walk;
  };
  std::vector<PerThread> threads_;
};

}  // namespace liveroom::gateway
