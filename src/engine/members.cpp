// Members: who is in a room right now, their seats from the client gateway, seat requests, likes,
// members' chat, and the lifecycle policies that follow from presence.
//
// Presence is soft state (lost on restart by design); everything it changes that must last
// (ViewCount, likes, seats, moderation) goes to the store like any other write, under the same
// room lock, and the audience hears about it with the store sequence it must wait for.
#include <algorithm>

#include <fmt/format.h>

#include "base/hex.h"
#include "engine/room_engine.h"
#include "engine/room_events.h"

namespace liveroom::engine {

std::string_view to_string(Role role) {
  switch (role) {
    case Role::kOwner:
      return "Owner";
    case Role::kAdmin:
      return "Admin";
    case Role::kAudience:
      return "Audience";
  }
  return "Audience";
}

std::string_view to_string(LeaveCause cause) {
  switch (cause) {
    case LeaveCause::kLeft:
      return "Left";
    case LeaveCause::kTimedOut:
      return "TimedOut";
    case LeaveCause::kKicked:
      return "KickedByAdmin";
    case LeaveCause::kBanned:
      return "Banned";
    case LeaveCause::kLoggedInElsewhere:
      return "LoggedInElsewhere";
  }
  return "Left";
}

std::string_view to_string(SeatLossCause cause) {
  switch (cause) {
    case SeatLossCause::kKicked:
      return "KickedByAdmin";
    case SeatLossCause::kSeatRemoved:
      return "SeatRemoved";
  }
  return "KickedByAdmin";
}

std::string_view to_string(SeatRequestResult result) {
  switch (result) {
    case SeatRequestResult::kAccepted:
      return "Accepted";
    case SeatRequestResult::kRejected:
      return "Rejected";
    case SeatRequestResult::kCancelled:
      return "Cancelled";
    case SeatRequestResult::kTimedOut:
      return "TimedOut";
  }
  return "Rejected";
}

namespace {

// get_member_list cursors are the hex of the last member returned (opaque, any user id fits).

// The first free seat that may be taken.
std::optional<uint32_t> free_seat(const std::vector<domain::Seat>& seats) {
  for (uint32_t i = 0; i < seats.size(); ++i) {
    if (seats[i].member.empty() && !seats[i].taken_disabled) return i;
  }
  return std::nullopt;
}

// Checks that `user` may sit at `index` (or any seat) and answers the seat.
Result<uint32_t> choose_seat(const std::vector<domain::Seat>& seats, std::string_view user,
                             std::optional<uint32_t> index) {
  if (auto at = domain::seat_of(seats, user)) {
    return fail(Code::kClientAlreadySeated, fmt::format("'{}' already sits on seat {}", user, *at));
  }
  if (!index) {
    auto seat = free_seat(seats);
    if (!seat) return fail(Code::kClientSeatsFull);
    return *seat;
  }
  if (*index >= seats.size()) {
    return fail(Code::kClientNoSuchSeat, fmt::format("Index {} is not a seat: the room has seats "
                                                     "0 to {}",
                                                     *index, seats.size() - 1));
  }
  if (!seats[*index].member.empty()) {
    return fail(Code::kClientSeatTaken,
                fmt::format("seat {} is taken by '{}'", *index, seats[*index].member));
  }
  if (seats[*index].taken_disabled) {
    return fail(Code::kClientSeatLocked, fmt::format("seat {} is locked", *index));
  }
  return *index;
}

}  // namespace

Role RoomEngine::role_in(const domain::Room& room, std::string_view user) {
  if (user == room.owner) return Role::kOwner;
  const auto& admins = room.moderation.admins;
  return std::find(admins.begin(), admins.end(), user) != admins.end() ? Role::kAdmin
                                                                       : Role::kAudience;
}

void RoomEngine::schedule(int64_t when, Deadline deadline) {
  {
    std::lock_guard lock(deadlines_mu_);
    deadlines_.emplace(when, std::move(deadline));
  }
  timed_work_added();
}

void RoomEngine::after_members_changed(AppState& a, RoomEntry& entry) {
  Presence& p = *entry.presence;
  const int64_t now = clock_.steady_millis();
  const std::string& room_id = entry.room.room_id;
  if (p.members.empty() && p.ever_entered) {
    if (p.empty_since == 0 && a.options.empty_room_dismiss_seconds > 0) {
      p.empty_since = now;
      schedule(now + a.options.empty_room_dismiss_seconds * 1000,
               {a.options.sdkappid, DeadlineKind::kEmptyRoom, room_id, {}});
    }
  } else {
    p.empty_since = 0;
  }
  const auto owner = p.members.find(entry.room.owner);
  const bool owner_online = owner != p.members.end() && owner->second.connection;
  const auto& robots = entry.room.moderation.robots;
  const bool robot_owner =
      std::find(robots.begin(), robots.end(), entry.room.owner) != robots.end();
  if (owner_online || robot_owner) {
    p.owner_absent_since = 0;
  } else if (p.owner_was_present && p.owner_absent_since == 0 &&
             a.options.owner_absent_dismiss_seconds > 0) {
    p.owner_absent_since = now;
    schedule(now + a.options.owner_absent_dismiss_seconds * 1000,
             {a.options.sdkappid, DeadlineKind::kOwnerAbsent, room_id, {}});
  }
}

Result<EnterResult> RoomEngine::enter_room(uint32_t sdkappid, std::string_view room_id,
                                           const std::string& user, ConnectionPtr connection,
                                           ReadFence& fence) {
  return with_room(
      sdkappid, room_id, fence,
      [&](AppState& a, RoomShard& shard, RoomEntry& entry) -> Result<EnterResult> {
        const int64_t now = clock_.unix_seconds();
        if (int64_t until = domain::restricted_until(entry.room.moderation.bans, user, now)) {
          return fail(Code::kBannedFromRoom,
                      fmt::format("'{}' is banned from room '{}' until {}", user, room_id, until));
        }
        if (!entry.presence) entry.presence = std::make_unique<Presence>();
        Presence& p = *entry.presence;
        auto it = p.members.find(user);
        if (it == p.members.end() &&
            static_cast<int64_t>(p.members.size()) >= entry.room.max_member_count) {
          return fail(Code::kRoomFull, fmt::format("room '{}' is full: MaxMemberCount is {}",
                                                   room_id, entry.room.max_member_count));
        }
        if (!p.audience && audience_factory_) {
          p.audience = audience_factory_->open(sdkappid, room_id);
        }
        const bool recovered = it != p.members.end() && !it->second.robot;
        ConnectionPtr replaced;
        if (it == p.members.end()) it = p.members.emplace(user, Member{}).first;
        replaced = std::exchange(it->second.connection, connection);
        it->second.offline_since = 0;
        if (replaced == connection) replaced = nullptr;

        // Every entry counts (TotalViewers: N re-entries are N viewers).
        domain::Room updated = columns_of(entry.room);
        updated.view_count += 1;
        std::vector<store::Change> changes;
        PendingEvents events;
        emit_member_state(a, shard, entry.room.room_id, "Online",
                          recovered ? "HeartbeatRecover" : "Enter", user, changes, events);
        changes.insert(changes.begin(), store::PutRoom{sdkappid, updated});
        const uint64_t seq = submit(std::move(changes), std::move(events));
        fence.observe(seq);
        reindex(a, &entry.room, &updated);
        entry.room.view_count = updated.view_count;
        entry.seq = seq;

        p.ever_entered = true;
        if (user == entry.room.owner) p.owner_was_present = true;
        after_members_changed(a, entry);
        if (p.audience) {
          if (replaced) {
            p.audience->left(seq, user, replaced, p.members.size(), LeaveCause::kLoggedInElsewhere,
                             0);
          }
          p.audience->entered(seq, user, connection, p.members.size(), recovered);
        }
        EnterResult result;
        result.room = columns_of(entry.room);
        result.seats = domain::seats_of(entry.room);
        result.role = role_in(entry.room, user);
        result.member_count = p.members.size();
        result.muted_until = domain::restricted_until(entry.room.moderation.mutes, user, now);
        result.recovered = recovered;
        return result;
      });
}

void RoomEngine::remove_member(AppState& a, RoomShard& shard, RoomEntry& entry,
                               const std::string& user, LeaveCause cause, const Actor& actor,
                               ReadFence& fence) {
  Presence& p = *entry.presence;
  auto it = p.members.find(user);
  if (it == p.members.end()) return;
  ConnectionPtr connection = std::move(it->second.connection);
  p.members.erase(it);
  std::erase_if(p.seat_requests, [&](const auto& r) { return r.second.member == user; });

  std::vector<store::Change> changes;
  PendingEvents events;
  if (cause != LeaveCause::kTimedOut) {  // a timed-out member went Offline when it dropped
    emit_member_state(a, shard, entry.room.room_id, "Offline", "Leave", user, changes, events);
  }
  uint64_t seq = 0;
  domain::RoomModeration next = entry.room.moderation;
  bool seated = false;
  for (auto& seat : next.seats) {
    if (seat.member == user) {
      seat.member.clear();
      seated = true;
    }
  }
  if (seated) {
    next.seats = normalized_seats(std::move(next.seats));
    apply_moderation(a, shard, entry, std::move(next), actor, fence, std::move(changes),
                     std::move(events));
    seq = entry.seq;
  } else if (!changes.empty()) {
    seq = submit(std::move(changes), std::move(events));
    fence.observe(seq);
  }
  if (p.audience) p.audience->left(seq, user, connection, p.members.size(), cause, 0);
  after_members_changed(a, entry);
}

Result<void> RoomEngine::leave_room(uint32_t sdkappid, std::string_view room_id,
                                    const std::string& user, ReadFence& fence) {
  return with_room(
      sdkappid, room_id, fence,
      [&](AppState& a, RoomShard& shard, RoomEntry& entry) -> Result<void> {
        if (!entry.presence || !entry.presence->members.contains(user)) {
          return fail(Code::kClientNotInRoom);
        }
        if (user == entry.room.owner) return fail(Code::kClientOwnerCannotLeave);
        remove_member(a, shard, entry, user, LeaveCause::kLeft, Actor{user, {}}, fence);
        return {};
      });
}

void RoomEngine::connection_lost(uint32_t sdkappid, std::string_view room_id,
                                 const std::string& user, const ConnectionPtr& connection) {
  ReadFence fence;
  bool owner_left = false;
  (void)with_room(sdkappid, room_id, fence, [&](AppState& a, RoomShard& shard, RoomEntry& entry) {
    if (!entry.presence) return Result<void>{};
    Presence& p = *entry.presence;
    auto it = p.members.find(user);
    if (it == p.members.end() || it->second.connection != connection) return Result<void>{};
    const int64_t now = clock_.steady_millis();
    it->second.connection = nullptr;
    it->second.offline_since = now;
    schedule(now + presence_options_.grace_ms,
             {sdkappid, DeadlineKind::kGrace, entry.room.room_id, user});
    std::vector<store::Change> changes;
    PendingEvents events;
    emit_member_state(a, shard, entry.room.room_id, "Offline", "HeartbeatInterrupt", user, changes,
                      events);
    if (!changes.empty()) submit(std::move(changes), std::move(events));
    if (p.audience) p.audience->went_offline(user, connection);
    after_members_changed(a, entry);
    if (user == entry.room.owner) {
      unsettle(a, entry.room.room_id);  // co-hosting ends
      owner_left = true;
    }
    return Result<void>{};
  });
  // Only an owner's lost connection changes anything across rooms: the audience of a big room
  // dropping at once does not each take the app's cross-room lock.
  if (AppState* a = app(sdkappid); a && owner_left) settle_cross_room(*a);
}

Result<MemberPage> RoomEngine::list_members(uint32_t sdkappid, std::string_view room_id,
                                            std::string_view cursor, size_t count,
                                            ReadFence& fence) {
  std::optional<std::string> after;
  if (!cursor.empty()) {
    after = from_hex(cursor);
    if (!after) {
      return fail(Code::kInvalidParameter, "Next must be \"\" or the Next of the previous page");
    }
  }
  return with_room(sdkappid, room_id, fence,
                   [&](AppState&, RoomShard&, RoomEntry& entry) -> Result<MemberPage> {
                     MemberPage page;
                     if (!entry.presence) return page;
                     const auto& members = entry.presence->members;
                     page.member_count = members.size();
                     auto it = after ? members.upper_bound(*after) : members.begin();
                     for (; it != members.end() && page.members.size() < count; ++it) {
                       page.members.emplace_back(it->first, role_in(entry.room, it->first));
                     }
                     if (it != members.end()) page.next = to_hex(page.members.back().first);
                     return page;
                   });
}

Result<Role> RoomEngine::member_role(uint32_t sdkappid, std::string_view room_id,
                                     std::string_view user, ReadFence& fence) {
  return with_room(sdkappid, room_id, fence,
                   [&](AppState&, RoomShard&, RoomEntry& entry) -> Result<Role> {
                     if (!entry.presence || !entry.presence->members.contains(user)) {
                       return fail(Code::kClientNotInRoom);
                     }
                     return role_in(entry.room, user);
                   });
}

Result<void> RoomEngine::authorize(uint32_t sdkappid, std::string_view room_id,
                                   std::string_view actor, bool owner_only, std::string_view target,
                                   ReadFence& fence) {
  return with_room(
      sdkappid, room_id, fence, [&](AppState&, RoomShard&, RoomEntry& entry) -> Result<void> {
        if (!entry.presence || !entry.presence->members.contains(actor)) {
          return fail(Code::kClientNotInRoom);
        }
        const Role role = role_in(entry.room, actor);
        if (owner_only && role != Role::kOwner) return fail(Code::kClientOwnerOnly);
        if (role == Role::kAudience) return fail(Code::kClientManagerOnly);
        if (!target.empty() && target != actor && role != Role::kOwner &&
            role_in(entry.room, target) != Role::kAudience) {
          return fail(Code::kClientOwnerOnly,
                      fmt::format("an admin cannot act on '{}': only the owner may", target));
        }
        return {};
      });
}

void RoomEngine::notify_managers(RoomEntry& entry, uint64_t seq, const MemberNotice& notice,
                                 std::string_view except) {
  Presence& p = *entry.presence;
  if (!p.audience) return;
  auto tell = [&](const std::string& user) {
    if (user == except) return;
    auto it = p.members.find(user);
    if (it != p.members.end() && it->second.connection) {
      p.audience->notify(seq, it->second.connection, notice);
    }
  };
  tell(entry.room.owner);
  for (const auto& admin : entry.room.moderation.admins) tell(admin);
}

void RoomEngine::notify_member(RoomEntry& entry, uint64_t seq, std::string_view user,
                               const MemberNotice& notice) {
  Presence& p = *entry.presence;
  auto it = p.members.find(user);
  if (p.audience && it != p.members.end() && it->second.connection) {
    p.audience->notify(seq, it->second.connection, notice);
  }
}

uint32_t RoomEngine::seat_member(AppState& a, RoomShard& shard, RoomEntry& entry,
                                 const std::string& user, uint32_t index, ReadFence& fence) {
  domain::RoomModeration next = entry.room.moderation;
  next.seats.resize(entry.room.seat_count);
  next.seats[index].member = user;
  next.seats = normalized_seats(std::move(next.seats));
  apply_moderation(a, shard, entry, std::move(next), Actor{user, {}}, fence, {}, {});
  return index;
}

Result<TakeSeatResult> RoomEngine::take_seat(uint32_t sdkappid, std::string_view room_id,
                                             const std::string& user, std::optional<uint32_t> index,
                                             int64_t timeout_ms, ReadFence& fence) {
  return with_room(
      sdkappid, room_id, fence,
      [&](AppState& a, RoomShard& shard, RoomEntry& entry) -> Result<TakeSeatResult> {
        if (!entry.presence || !entry.presence->members.contains(user)) {
          return fail(Code::kClientNotInRoom);
        }
        if (entry.room.seat_count == 0) {
          return fail(Code::kRoomHasNoSeats, fmt::format("room '{}' has no seats", room_id));
        }
        const auto seats = domain::seats_of(entry.room);
        auto seat = choose_seat(seats, user, index);
        if (!seat) return std::unexpected(seat.error());
        const Role role = role_in(entry.room, user);
        if (entry.room.take_seat_mode == domain::TakeSeatMode::kApplyToTake &&
            role == Role::kAudience) {
          Presence& p = *entry.presence;
          for (const auto& [id, r] : p.seat_requests) {
            if (r.kind == SeatRequestKind::kApplication && r.member == user) {
              return TakeSeatResult{std::nullopt, id};  // already waiting: the same request
            }
          }
          const int64_t deadline = clock_.steady_millis() + timeout_ms;
          std::string id = fmt::format("sr-{}", ++p.next_request);
          p.seat_requests.emplace(
              id,
              SeatRequest{
                  SeatRequestKind::kApplication, user, {}, index ? int64_t{*index} : -1, deadline});
          schedule(deadline, {sdkappid, DeadlineKind::kSeatRequest, entry.room.room_id, id});
          notify_managers(
              entry, entry.seq,
              SeatRequestNotice{
                  SeatRequestKind::kApplication, id, user, {}, index ? int64_t{*index} : -1},
              {});
          return TakeSeatResult{std::nullopt, std::move(id)};
        }
        return TakeSeatResult{seat_member(a, shard, entry, user, *seat, fence), {}};
      });
}

Result<void> RoomEngine::leave_seat(uint32_t sdkappid, std::string_view room_id,
                                    const std::string& user, ReadFence& fence) {
  return with_room(
      sdkappid, room_id, fence,
      [&](AppState& a, RoomShard& shard, RoomEntry& entry) -> Result<void> {
        if (!entry.presence || !entry.presence->members.contains(user)) {
          return fail(Code::kClientNotInRoom);
        }
        domain::RoomModeration next = entry.room.moderation;
        auto at = domain::seat_of(next.seats, user);
        if (!at) return fail(Code::kClientNotSeated);
        next.seats[*at].member.clear();
        next.seats = normalized_seats(std::move(next.seats));
        apply_moderation(a, shard, entry, std::move(next), Actor{user, {}}, fence, {}, {});
        return {};
      });
}

Result<std::string> RoomEngine::invite_to_seat(uint32_t sdkappid, std::string_view room_id,
                                               const std::string& manager,
                                               const std::string& member,
                                               std::optional<uint32_t> index, int64_t timeout_ms,
                                               ReadFence& fence) {
  return with_room(
      sdkappid, room_id, fence,
      [&](AppState&, RoomShard&, RoomEntry& entry) -> Result<std::string> {
        if (!entry.presence || !entry.presence->members.contains(member)) {
          return fail(Code::kClientNotInRoom,
                      fmt::format("Member_Account '{}' is not in room '{}'", member, room_id));
        }
        if (entry.room.seat_count == 0) {
          return fail(Code::kRoomHasNoSeats, fmt::format("room '{}' has no seats", room_id));
        }
        auto seat = choose_seat(domain::seats_of(entry.room), member, index);
        if (!seat) return std::unexpected(seat.error());
        Presence& p = *entry.presence;
        const int64_t deadline = clock_.steady_millis() + timeout_ms;
        std::string id = fmt::format("sr-{}", ++p.next_request);
        const int64_t wanted = index ? int64_t{*index} : -1;
        p.seat_requests.emplace(
            id, SeatRequest{SeatRequestKind::kInvitation, member, manager, wanted, deadline});
        schedule(deadline, {sdkappid, DeadlineKind::kSeatRequest, entry.room.room_id, id});
        notify_member(entry, entry.seq, member,
                      SeatRequestNotice{SeatRequestKind::kInvitation, id, member, manager, wanted});
        return id;
      });
}

void RoomEngine::resolve_seat_request(RoomEntry& entry, uint64_t seq, const std::string& id,
                                      const SeatRequest& request, SeatRequestResult result,
                                      int64_t index) {
  // The applicant or invitee, and every manager (an inviter is one).
  const SeatRequestResolvedNotice notice{id, request.member, result, index};
  notify_member(entry, seq, request.member, notice);
  notify_managers(entry, seq, notice, request.member);
}

void RoomEngine::announce_layout(RoomEntry& entry, uint64_t seq,
                                 const std::vector<domain::Seat>& seats,
                                 const std::vector<std::string>& unseated) {
  Presence& p = *entry.presence;
  if (p.audience) p.audience->seats_changed(seq, seats);
  // As kick_from_seat tells the kicked member, with the reason that is not a manager's.
  for (const auto& user : unseated) {
    notify_member(entry, seq, user, KickedOffSeatNotice{{}, SeatLossCause::kSeatRemoved});
  }
  // A request for a seat that is gone (or for any seat, when none is left) can never be granted.
  const auto count = static_cast<int64_t>(seats.size());
  for (auto it = p.seat_requests.begin(); it != p.seat_requests.end();) {
    if (it->second.index < count && count > 0) {
      ++it;
      continue;
    }
    const std::string id = it->first;
    const SeatRequest request = std::move(it->second);
    it = p.seat_requests.erase(it);
    resolve_seat_request(entry, seq, id, request, SeatRequestResult::kCancelled, request.index);
  }
}

Result<void> RoomEngine::cancel_seat_request(uint32_t sdkappid, std::string_view room_id,
                                             const std::string& user, const std::string& request_id,
                                             ReadFence& fence) {
  return with_room(
      sdkappid, room_id, fence, [&](AppState&, RoomShard&, RoomEntry& entry) -> Result<void> {
        if (!entry.presence) return fail(Code::kClientNotInRoom);
        auto& requests = entry.presence->seat_requests;
        auto it = requests.find(request_id);
        const bool own = it != requests.end() && (it->second.kind == SeatRequestKind::kApplication
                                                      ? it->second.member == user
                                                      : it->second.from == user);
        if (!own) {
          return fail(Code::kClientBadParameter,
                      fmt::format("RequestId '{}' is not a pending request of yours", request_id));
        }
        SeatRequest request = std::move(it->second);
        requests.erase(it);
        resolve_seat_request(entry, entry.seq, request_id, request, SeatRequestResult::kCancelled,
                             request.index);
        return {};
      });
}

Result<std::optional<uint32_t>> RoomEngine::respond_seat_request(uint32_t sdkappid,
                                                                 std::string_view room_id,
                                                                 const std::string& user,
                                                                 const std::string& request_id,
                                                                 bool accept, ReadFence& fence) {
  return with_room(
      sdkappid, room_id, fence,
      [&](AppState& a, RoomShard& shard, RoomEntry& entry) -> Result<std::optional<uint32_t>> {
        if (!entry.presence || !entry.presence->members.contains(user)) {
          return fail(Code::kClientNotInRoom);
        }
        auto& requests = entry.presence->seat_requests;
        auto it = requests.find(request_id);
        if (it == requests.end()) {
          return fail(Code::kClientBadParameter,
                      fmt::format("RequestId '{}' is not pending (answered, cancelled or timed "
                                  "out)",
                                  request_id));
        }
        const SeatRequest& request = it->second;
        if (request.kind == SeatRequestKind::kApplication) {
          if (role_in(entry.room, user) == Role::kAudience) return fail(Code::kClientManagerOnly);
        } else if (request.member != user) {
          return fail(Code::kClientBadParameter,
                      fmt::format("invitation '{}' is for '{}'", request_id, request.member));
        }
        std::optional<uint32_t> seat;
        if (accept) {
          if (!entry.presence->members.contains(request.member)) {
            return fail(Code::kClientNotInRoom,
                        fmt::format("'{}' has left the room", request.member));
          }
          auto chosen = choose_seat(
              domain::seats_of(entry.room), request.member,
              request.index >= 0 ? std::optional<uint32_t>(static_cast<uint32_t>(request.index))
                                 : std::nullopt);
          if (!chosen) return std::unexpected(chosen.error());
          seat = *chosen;
        }
        SeatRequest taken = std::move(it->second);
        requests.erase(it);
        if (seat) seat_member(a, shard, entry, taken.member, *seat, fence);
        resolve_seat_request(entry, entry.seq, request_id, taken,
                             seat ? SeatRequestResult::kAccepted : SeatRequestResult::kRejected,
                             seat ? int64_t{*seat} : taken.index);
        return seat;
      });
}

Result<void> RoomEngine::kick_member(uint32_t sdkappid, std::string_view room_id,
                                     const std::string& member, ReadFence& fence) {
  return with_room(sdkappid, room_id, fence,
                   [&](AppState& a, RoomShard& shard, RoomEntry& entry) -> Result<void> {
                     if (!entry.presence || !entry.presence->members.contains(member)) {
                       return fail(Code::kClientNotInRoom,
                                   fmt::format("'{}' is not in room '{}'", member, room_id));
                     }
                     if (member == entry.room.owner) {
                       return fail(Code::kClientOwnerOnly, "the owner cannot be kicked");
                     }
                     remove_member(a, shard, entry, member, LeaveCause::kKicked, Actor{}, fence);
                     return {};
                   });
}

Result<int64_t> RoomEngine::like(uint32_t sdkappid, std::string_view room_id,
                                 const std::string& user, int64_t count, ReadFence& fence) {
  return with_room(
      sdkappid, room_id, fence, [&](AppState&, RoomShard&, RoomEntry& entry) -> Result<int64_t> {
        if (!entry.presence || !entry.presence->members.contains(user)) {
          return fail(Code::kClientNotInRoom);
        }
        domain::Room updated = columns_of(entry.room);
        updated.total_likes += count;
        const uint64_t seq = submit({store::PutRoom{sdkappid, updated}}, PendingEvents{});
        fence.observe(seq);
        entry.room.total_likes = updated.total_likes;
        entry.seq = seq;
        if (entry.presence->audience) {
          entry.presence->audience->likes(seq, updated.total_likes);
        }
        return updated.total_likes;
      });
}

Result<SentMessage> RoomEngine::send_member_message(uint32_t sdkappid, std::string_view room_id,
                                                    RoomMessage message, ReadFence& fence) {
  message.from_member = true;  // send_message applies the rules under the same lock
  const Actor actor{message.sender, {}};
  return send_message(sdkappid, room_id, message, fence, actor);
}

Result<void> RoomEngine::check_member_message(uint32_t sdkappid, std::string_view room_id,
                                              const std::string& sender, ReadFence& fence) {
  return with_room(sdkappid, room_id, fence,
                   [&](AppState&, RoomShard&, RoomEntry& entry) -> Result<void> {
                     return member_may_send(entry, sender, clock_.unix_seconds());
                   });
}

Result<void> RoomEngine::member_may_send(const RoomEntry& entry, const std::string& sender,
                                         int64_t now) {
  if (!entry.presence || !entry.presence->members.contains(sender)) {
    return fail(Code::kClientNotInRoom);
  }
  if (int64_t until = domain::restricted_until(entry.room.moderation.mutes, sender, now)) {
    return fail(Code::kClientYouAreMuted, fmt::format("you are muted until {}", until));
  }
  if (entry.room.is_message_disabled && role_in(entry.room, sender) == Role::kAudience) {
    return fail(Code::kClientAllMuted,
                "messages are disabled in this room (IsMessageDisabled); only the owner and "
                "admins may send");
  }
  return {};
}

bool RoomEngine::has_timed_work() {
  {
    std::lock_guard lock(deadlines_mu_);
    if (!deadlines_.empty()) return true;
  }
  for (auto& [sdkappid, a] : apps_) {
    CrossRoom& x = a->cross;
    {
      std::lock_guard lock(x.unsettled_mu);
      if (!x.unsettled.empty() || !x.scored_battles.empty()) return true;
    }
    std::lock_guard lock(x.mu);
    if (!x.cohost_requests.empty()) return true;
    for (const auto& [id, battle] : x.battles) {
      if (battle.status != domain::BattleStatus::kEnded) return true;
    }
  }
  return false;
}

void RoomEngine::set_timed_work_hook(std::function<void()> hook) {
  std::lock_guard lock(timed_work_hook_mu_);
  timed_work_hook_ = std::move(hook);
}

void RoomEngine::timed_work_added() {
  std::lock_guard lock(timed_work_hook_mu_);
  if (timed_work_hook_) timed_work_hook_();
}

void RoomEngine::tick() {
  const int64_t now = clock_.steady_millis();
  std::vector<Deadline> due;
  {
    std::lock_guard lock(deadlines_mu_);
    auto end = deadlines_.upper_bound(now);
    for (auto it = deadlines_.begin(); it != end; ++it) due.push_back(std::move(it->second));
    deadlines_.erase(deadlines_.begin(), end);
  }
  for (const auto& deadline : due) expire(deadline, now);
  settle_cross_room();
}

void RoomEngine::expire(const Deadline& deadline, int64_t now) {
  ReadFence fence;
  (void)with_room(
      deadline.sdkappid, deadline.room_id, fence,
      [&](AppState& a, RoomShard& shard, RoomEntry& entry) -> Result<void> {
        if (!entry.presence) return {};
        Presence& p = *entry.presence;
        switch (deadline.kind) {
          case DeadlineKind::kGrace: {
            auto it = p.members.find(deadline.key);
            if (it == p.members.end() || it->second.connection || it->second.robot ||
                it->second.offline_since == 0 ||
                it->second.offline_since + presence_options_.grace_ms > now) {
              return {};  // back, gone, or offline again later (a later deadline covers it)
            }
            remove_member(a, shard, entry, deadline.key, LeaveCause::kTimedOut, Actor{}, fence);
            return {};
          }
          case DeadlineKind::kSeatRequest: {
            auto it = p.seat_requests.find(deadline.key);
            if (it == p.seat_requests.end() || it->second.deadline > now) return {};
            SeatRequest request = std::move(it->second);
            p.seat_requests.erase(it);
            resolve_seat_request(entry, entry.seq, deadline.key, request,
                                 SeatRequestResult::kTimedOut, request.index);
            return {};
          }
          case DeadlineKind::kEmptyRoom:
            if (!p.members.empty() || p.empty_since == 0 ||
                p.empty_since + a.options.empty_room_dismiss_seconds * 1000 > now) {
              return {};
            }
            dismiss(a, shard, deadline.room_id, entry, "DestroyBySystem", Actor{}, fence);
            return {};
          case DeadlineKind::kOwnerAbsent:
            if (p.owner_absent_since == 0 ||
                p.owner_absent_since + a.options.owner_absent_dismiss_seconds * 1000 > now) {
              return {};
            }
            dismiss(a, shard, deadline.room_id, entry, "DestroyBySystem", Actor{}, fence);
            return {};
        }
        return {};
      });
}

}  // namespace liveroom::engine
