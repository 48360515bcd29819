#include "domain/battle.h"

#include <algorithm>

namespace liveroom::domain {

std::string_view to_string(BattleRoomState state) {
  switch (state) {
    case BattleRoomState::kInvited:
      return "Invited";
    case BattleRoomState::kJoined:
      return "Joined";
    case BattleRoomState::kRejected:
      return "Rejected";
    case BattleRoomState::kLeft:
      return "Left";
  }
  return "Invited";
}

const BattleRoom* Battle::room(std::string_view room_id) const {
  auto it = std::ranges::find(rooms, room_id, &BattleRoom::room_id);
  return it == rooms.end() ? nullptr : &*it;
}

BattleRoom* Battle::room(std::string_view room_id) {
  auto it = std::ranges::find(rooms, room_id, &BattleRoom::room_id);
  return it == rooms.end() ? nullptr : &*it;
}

size_t Battle::joined() const {
  return static_cast<size_t>(
      std::ranges::count(rooms, BattleRoomState::kJoined, &BattleRoom::state));
}

std::vector<std::string> Battle::winners() const {
  auto took_part = [](const BattleRoom& r) {
    return r.state == BattleRoomState::kJoined || r.state == BattleRoomState::kLeft;
  };
  if (start_ms == 0) return {};
  int64_t best = -1;
  for (const auto& r : rooms) {
    if (took_part(r)) best = std::max(best, r.score);
  }
  std::vector<std::string> top;
  for (const auto& r : rooms) {
    if (took_part(r) && r.score == best) top.push_back(r.room_id);
  }
  return top;
}

}  // namespace liveroom::domain
