// What the engine tells the online members of a room. The client gateway implements it; the
// engine knows only that a member has a connection, not what the connection is.
//
// Every call is made under the room's lock, so the calls for one room arrive in the order the
// changes happened. `seq` is the store sequence of the change the call describes (0: nothing was
// written): an implementation must not show members a change before it is durable, and must keep
// the order of the calls. Implementations only queue; they never block or call back into the
// engine.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "domain/battle.h"
#include "domain/gift.h"
#include "domain/room.h"

namespace liveroom::engine {

// One client connection of a member, opaque to the engine.
class MemberConnection {
 public:
  virtual ~MemberConnection() = default;
};
using ConnectionPtr = std::shared_ptr<MemberConnection>;

enum class Role { kOwner, kAdmin, kAudience };
std::string_view to_string(Role role);

// Why a member is no longer in the room.
enum class LeaveCause {
  kLeft,              // the member left
  kTimedOut,          // offline longer than the grace period
  kKicked,            // kick_member by the owner or an admin
  kBanned,            // ban_member (REST or gateway)
  kLoggedInElsewhere  // the gateway: same user, newer connection
};
std::string_view to_string(LeaveCause cause);

// An entry of a message the room receives (REST send_text_msg/send_custom_msg/send_group_msg or
// the gateway).
struct MessageNotice {
  uint64_t msg_seq = 0;
  int64_t msg_time = 0;
  std::string from;
  std::string msg_body;  // the IM MsgBody array, serialized JSON
  std::string cloud_custom_data;
};

// A gift a member sent (the gateway's send_gift), as every member sees it.
struct GiftNotice {
  std::string from;
  std::vector<std::string> receivers;
  const domain::Gift* gift = nullptr;  // the catalog's entry, valid during the call
  int64_t count = 0;                   // per receiver
  int64_t coins = 0;                   // price × count × receivers
  int64_t total_gift_coins = 0;        // the room's, after this gift
};

// A room of a co-host connection (rooms whose owners share one stage).
struct CoHostRoom {
  std::string room_id;
  std::string owner;
  bool operator==(const CoHostRoom&) const = default;
};
enum class CoHostResult { kAccepted, kRejected, kCancelled, kTimedOut };
std::string_view to_string(CoHostResult result);

enum class SeatRequestKind { kApplication, kInvitation };
enum class SeatRequestResult { kAccepted, kRejected, kCancelled, kTimedOut };
std::string_view to_string(SeatRequestResult result);

// Events for one member.
struct SeatRequestNotice {  // to managers (application) or the invitee (invitation)
  SeatRequestKind kind = SeatRequestKind::kApplication;
  std::string request_id;
  std::string member;  // the applicant or the invitee
  std::string from;    // the inviter
  int64_t index = -1;  // -1: any seat
};
struct SeatRequestResolvedNotice {
  std::string request_id;
  std::string member;
  SeatRequestResult result = SeatRequestResult::kAccepted;
  int64_t index = -1;
};
// Why a member is no longer on its seat (when it did not leave it itself).
enum class SeatLossCause {
  kKicked,      // kick_off_seat / kick_user_off_seat by a manager
  kSeatRemoved  // a layout change (SeatTemplate, MaxSeatCount) removed the seat
};
std::string_view to_string(SeatLossCause cause);
struct KickedOffSeatNotice {
  std::string data;  // the kicker's text
  SeatLossCause cause = SeatLossCause::kKicked;
};
struct MutedNotice {
  int64_t muted_until = 0;  // Unix seconds; 0 = unmuted
};
struct RoleNotice {
  Role role = Role::kAudience;
};
// To the owner of a room another room's owner asks to co-host with.
struct CoHostRequestNotice {
  std::string request_id;
  std::string from_room;
  std::string from;  // that room's owner
  std::string extension_info;
  int64_t timeout_ms = 0;
};
// To both owners when a co-host request ends without a connection, or with one.
struct CoHostResolvedNotice {
  std::string request_id;
  std::string from_room;
  std::string to_room;
  CoHostResult result = CoHostResult::kAccepted;
};
// To the owner of a room invited to a battle.
struct BattleInvitationNotice {
  std::string battle_id;
  std::string from_room;
  std::string from;  // that room's owner
  int64_t duration_ms = 0;
  std::string extension_info;
  int64_t timeout_ms = 0;
};
// To the asking room's owner: how an invited room answered (Accepted, Rejected, TimedOut).
struct BattleReplyNotice {
  std::string battle_id;
  std::string room_id;
  std::string result;
};
using MemberNotice = std::variant<SeatRequestNotice, SeatRequestResolvedNotice, KickedOffSeatNotice,
                                  MutedNotice, RoleNotice, CoHostRequestNotice,
                                  CoHostResolvedNotice, BattleInvitationNotice, BattleReplyNotice>;

class RoomAudience {
 public:
  virtual ~RoomAudience() = default;
  // `connection` (null for a robot) starts receiving the room's events (after this one).
  // `recovered`: the member was offline within the grace period (not announced again).
  virtual void entered(uint64_t seq, const std::string& user, const ConnectionPtr& connection,
                       size_t member_count, bool recovered) = 0;
  // `connection` (null for an offline member or a robot) stops receiving the room's events; it
  // hears why.
  virtual void left(uint64_t seq, const std::string& user, const ConnectionPtr& connection,
                    size_t member_count, LeaveCause cause, int64_t banned_until) = 0;
  // The member's connection closed; it stays a member (offline) for the grace period.
  virtual void went_offline(const std::string& user, const ConnectionPtr& connection) = 0;
  virtual void room_info_changed(uint64_t seq, const domain::Room& room, size_t members) = 0;
  virtual void seats_changed(uint64_t seq, const std::vector<domain::Seat>& seats) = 0;
  virtual void message(uint64_t seq, const MessageNotice& message) = 0;
  virtual void likes(uint64_t seq, int64_t total_likes) = 0;
  virtual void gift(uint64_t seq, const GiftNotice& gift) = 0;
  // The room's co-host connection changed: the rooms connected now, this one included (empty:
  // none).
  virtual void cohost_changed(uint64_t seq, const std::vector<CoHostRoom>& rooms) = 0;
  // The room's battle started, changed (a room joined or left) or ended (status kEnded).
  virtual void battle_changed(uint64_t seq, const domain::Battle& battle) = 0;
  // The scores of the room's battle (coalesced: at most a few times a second).
  virtual void battle_scores(uint64_t seq, const domain::Battle& battle) = 0;
  virtual void notify(uint64_t seq, const ConnectionPtr& connection,
                      const MemberNotice& notice) = 0;
  // The room is gone; every connection stops receiving its events.
  virtual void dismissed(uint64_t seq, std::string_view reason,
                         const domain::RoomStatistic& statistic) = 0;
};

// Opens the audience of a room when its first member enters.
class AudienceFactory {
 public:
  virtual ~AudienceFactory() = default;
  virtual std::shared_ptr<RoomAudience> open(uint32_t sdkappid, std::string_view room_id) = 0;
};

}  // namespace liveroom::engine
