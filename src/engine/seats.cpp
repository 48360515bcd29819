// The seat calls of room_engine_http_mic (spec §2.3): pick, kick, lock and move. Members' own
// seat requests from the client gateway are in members.cpp.
#include <algorithm>
#include <utility>

#include <fmt/format.h>

#include "engine/room_engine_internal.h"

namespace liveroom::engine {

template <typename Change>
Result<void> RoomEngine::change_seats(uint32_t sdkappid, std::string_view room_id, ReadFence& fence,
                                      const Actor& actor, Change&& change) {
  return moderate(
      sdkappid, room_id, fence,
      [&](domain::RoomModeration& m, AppState&, RoomEntry& entry) -> Result<void> {
        const domain::Room& room = entry.room;
        if (room.seat_count == 0) {
          return fail(Code::kRoomHasNoSeats, fmt::format("room '{}' has no seats", room_id));
        }
        std::vector<domain::Seat> seats = m.seats;
        seats.resize(room.seat_count);
        if (auto ok = change(seats, m, std::as_const(entry)); !ok) return ok;
        m.seats = normalized_seats(std::move(seats));
        return {};
      },
      no_events, actor);
}

namespace {

Result<void> check_index(const std::vector<domain::Seat>& seats, uint32_t index) {
  if (index >= seats.size()) {
    return fail(
        Code::kClientNoSuchSeat,
        fmt::format("Index {} is not a seat: the room has seats 0 to {}", index, seats.size() - 1));
  }
  return {};
}

}  // namespace

Result<void> RoomEngine::check_member(const RoomEntry& entry, const std::string& member,
                                      std::string_view room_id) {
  const auto& robots = entry.room.moderation.robots;
  const bool present = entry.presence && entry.presence->members.contains(member);
  if (!present && std::find(robots.begin(), robots.end(), member) == robots.end()) {
    return fail(Code::kClientNotInRoom,
                fmt::format("Member_Account '{}' is not in room '{}'", member, room_id));
  }
  return {};
}

Result<void> RoomEngine::pick_seat(uint32_t sdkappid, std::string_view room_id, uint32_t index,
                                   const std::string& member, ReadFence& fence,
                                   const Actor& actor) {
  return change_seats(
      sdkappid, room_id, fence, actor,
      [&](std::vector<domain::Seat>& seats, const domain::RoomModeration&,
          const RoomEntry& entry) -> Result<void> {
        if (auto ok = check_index(seats, index); !ok) return ok;
        if (auto ok = check_member(entry, member, room_id); !ok) return ok;
        domain::Seat& seat = seats[index];
        if (seat.member == member) return {};  // already there: picking again is harmless
        if (auto at = domain::seat_of(seats, member)) {
          return fail(
              Code::kClientAlreadySeated,
              fmt::format("'{}' already sits on seat {}; move_user_to_seat moves", member, *at));
        }
        if (!seat.member.empty()) {
          return fail(Code::kClientSeatTaken,
                      fmt::format("seat {} is taken by '{}'", index, seat.member));
        }
        if (seat.taken_disabled) {
          return fail(Code::kClientSeatLocked, fmt::format("seat {} is locked", index));
        }
        seat.member = member;
        return {};
      });
}

Result<void> RoomEngine::kick_from_seat(uint32_t sdkappid, std::string_view room_id,
                                        const std::string& member, const std::string& data,
                                        ReadFence& fence, const Actor& actor) {
  auto kicked = change_seats(sdkappid, room_id, fence, actor,
                             [&](std::vector<domain::Seat>& seats, const domain::RoomModeration&,
                                 const RoomEntry&) -> Result<void> {
                               auto at = domain::seat_of(seats, member);
                               if (!at) {
                                 return fail(Code::kClientNotSeated,
                                             fmt::format("'{}' is not on a seat", member));
                               }
                               seats[*at].member.clear();
                               return {};
                             });
  if (!kicked) return kicked;
  // The kicked member hears why (spec: Data is delivered to the kicked user).
  (void)with_room(sdkappid, room_id, fence, [&](AppState&, RoomShard&, RoomEntry& entry) {
    if (!entry.presence || !entry.presence->audience) return Result<void>{};
    auto it = entry.presence->members.find(member);
    if (it != entry.presence->members.end() && it->second.connection) {
      entry.presence->audience->notify(entry.seq, it->second.connection,
                                       KickedOffSeatNotice{data, SeatLossCause::kKicked});
    }
    return Result<void>{};
  });
  return {};
}

Result<void> RoomEngine::lock_seat(uint32_t sdkappid, std::string_view room_id, uint32_t index,
                                   const SeatLocks& locks, ReadFence& fence, const Actor& actor) {
  return change_seats(sdkappid, room_id, fence, actor,
                      [&](std::vector<domain::Seat>& seats, const domain::RoomModeration&,
                          const RoomEntry&) -> Result<void> {
                        if (auto ok = check_index(seats, index); !ok) return ok;
                        domain::Seat& seat = seats[index];
                        if (locks.taken) seat.taken_disabled = *locks.taken;
                        if (locks.video) seat.video_disabled = *locks.video;
                        if (locks.audio) seat.audio_disabled = *locks.audio;
                        // spec §2.3: locking an occupied seat first removes the occupant.
                        if (seat.taken_disabled) seat.member.clear();
                        return {};
                      });
}

Result<void> RoomEngine::move_to_seat(uint32_t sdkappid, std::string_view room_id,
                                      const std::string& member, uint32_t index, SeatPolicy policy,
                                      bool unlock_target, ReadFence& fence, const Actor& actor) {
  return change_seats(
      sdkappid, room_id, fence, actor,
      [&](std::vector<domain::Seat>& seats, const domain::RoomModeration&,
          const RoomEntry& entry) -> Result<void> {
        if (auto ok = check_index(seats, index); !ok) return ok;
        if (auto ok = check_member(entry, member, room_id); !ok) return ok;
        domain::Seat& target = seats[index];
        if (target.member == member) return {};
        if (target.taken_disabled) {
          if (!unlock_target) {
            return fail(Code::kClientSeatLocked, fmt::format("seat {} is locked", index));
          }
          target.taken_disabled = false;
        }
        const auto from = domain::seat_of(seats, member);
        if (!target.member.empty()) {
          if (policy == SeatPolicy::kGiveUp) {
            return fail(Code::kClientSeatTaken,
                        fmt::format("seat {} is taken by '{}'", index, target.member));
          }
          if (policy == SeatPolicy::kSwap && from) {
            seats[*from].member = target.member;  // the occupant takes the mover's seat
            target.member = member;
            return {};
          }
          // kForce (or a swap with a mover who was not seated): the occupant leaves the seat.
        }
        if (from) seats[*from].member.clear();
        target.member = member;
        return {};
      });
}

}  // namespace liveroom::engine
