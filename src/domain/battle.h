// PK battles (spec §2.6, BattleStore): a timed contest between live rooms, scored by the coins of
// the gifts each room receives while it runs. Values only; the engine runs them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace liveroom::domain {

// get_battle_info's Status (Tencent's sample shows 3 for an ended battle).
enum class BattleStatus { kInviting = 1, kRunning = 2, kEnded = 3 };

enum class BattleRoomState { kInvited, kJoined, kRejected, kLeft };
std::string_view to_string(BattleRoomState state);

inline constexpr int64_t kMinBattleDurationMs = 1'000;
inline constexpr int64_t kMaxBattleDurationMs = 86'400'000;
inline constexpr size_t kMaxBattleRooms = 9;  // the asking room and up to 8 others

struct BattleRoom {
  std::string room_id;
  std::string owner;
  BattleRoomState state = BattleRoomState::kInvited;
  int64_t score = 0;             // coins of the gifts the room received while in the battle
  int64_t invited_until_ms = 0;  // Unix ms: an invitation not answered by then lapses
  bool operator==(const BattleRoom&) const = default;
};

struct Battle {
  std::string battle_id;
  std::vector<BattleRoom> rooms;  // the asking room first (it is in the battle from the start)
  int64_t duration_ms = 0;
  std::string extension_info;
  int64_t create_ms = 0;  // Unix ms
  int64_t start_ms = 0;   // when the first invited room accepted; 0 before
  int64_t end_ms = 0;     // planned end while running; when it ended after
  BattleStatus status = BattleStatus::kInviting;
  std::string end_reason;  // Timeout, AllLeft, NobodyAccepted, EndedByAdmin, RoomDismissed
  bool operator==(const Battle&) const = default;

  const BattleRoom* room(std::string_view room_id) const;
  BattleRoom* room(std::string_view room_id);
  // Rooms in the battle now.
  size_t joined() const;
  // The rooms with the highest score among those that took part (joined at some point); more
  // than one is a draw. Empty when nobody took part but the asking room.
  std::vector<std::string> winners() const;
};

}  // namespace liveroom::domain
