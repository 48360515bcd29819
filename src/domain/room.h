// Room value types and their invariants. Pure: no I/O, no locking, no JSON. The api layer decodes
// requests into these types (checking each field); the rules that involve a room's existing
// state (metadata totals, partial updates) live here so every entry point applies them alike.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/error.h"

namespace liveroom::domain {

// Limits of spec §2.1 / §6.1, in UTF-8 bytes.
inline constexpr size_t kMaxRoomIdBytes = 48;
inline constexpr size_t kMaxRoomNameBytes = 100;
inline constexpr size_t kMaxUrlBytes = 200;
inline constexpr size_t kMaxNoticeBytes = 100;
inline constexpr size_t kMaxCustomInfoBytes = 2048;
inline constexpr size_t kMaxCategories = 3;
inline constexpr int64_t kMinMemberCount = 1;
inline constexpr int64_t kMaxMemberCount = 1'000'000;
inline constexpr int64_t kDefaultMaxMemberCount = 100'000;
inline constexpr uint32_t kMaxVoiceSeats = 16;
inline constexpr uint32_t kDefaultVoiceSeats = 8;
inline constexpr size_t kMaxUserIdBytes = 32;

// Metadata limits of spec §2.1 (also hard-coded in the official console).
inline constexpr size_t kMaxMetadataKeys = 10;
inline constexpr size_t kMaxMetadataKeyBytes = 50;
inline constexpr size_t kMaxMetadataValueBytes = 2048;
inline constexpr size_t kMaxMetadataTotalBytes = 16384;

enum class TakeSeatMode : uint8_t { kFreeToTake = 0, kApplyToTake = 1 };
std::string_view to_string(TakeSeatMode mode);

// A seat layout: the canonical template name and its seat count. Voice templates (AudioSalon,
// Karaoke) take their count from MaxSeatCount.
struct SeatTemplate {
  std::string_view name;
  uint32_t fixed_seats;  // 0 for voice templates
  bool voice;
};
// Accepts the canonical names, the console's `VideoLandscape4Seat`, and the SDK's numeric ids.
std::optional<SeatTemplate> find_seat_template(std::string_view name);
std::optional<SeatTemplate> find_seat_template(int64_t numeric_id);

using MetadataEntry = std::pair<std::string, std::string>;

// Limits of spec §2.2 / §2.5.
inline constexpr size_t kMaxAdmins = 5;
inline constexpr size_t kMaxRobots = 3;
inline constexpr size_t kMaxMembersPerModerationCall = 20;

// A ban or a mute of one user until a Unix time (seconds).
struct Restriction {
  std::string user_id;
  int64_t until = 0;
  std::string reason;
  bool operator==(const Restriction&) const = default;
};

// One seat of a room's layout (spec §6.3): its occupant and its locks.
struct Seat {
  std::string member;  // "" when free
  bool taken_disabled = false;
  bool video_disabled = false;
  bool audio_disabled = false;
  bool operator==(const Seat&) const = default;
  bool pristine() const {
    return member.empty() && !taken_disabled && !video_disabled && !audio_disabled;
  }
};

// Who moderates a room, who is kept out or quiet, its robots and its seats: durable, unlike
// online presence.
struct RoomModeration {
  std::vector<std::string> admins;
  std::vector<Restriction> bans;
  std::vector<Restriction> mutes;
  std::vector<std::string> robots;
  // One entry per seat once any seat was touched; empty means every seat is free and unlocked.
  std::vector<Seat> seats;
  bool operator==(const RoomModeration&) const = default;
  bool empty() const {
    return admins.empty() && bans.empty() && mutes.empty() && robots.empty() && seats.empty();
  }
};

struct Room;
// The room's seats as they are: `seat_count` entries, untouched ones free and unlocked.
std::vector<Seat> seats_of(const Room& room);
// Where `member` sits, if anywhere.
std::optional<uint32_t> seat_of(const std::vector<Seat>& seats, std::string_view member);

// Sets (until > now) or lifts (until <= now, or 0) a restriction; drops expired ones on the way.
void restrict_user(std::vector<Restriction>& list, const std::string& user_id, int64_t until,
                   std::string reason, int64_t now);
// The restrictions still in force at `now`.
std::vector<Restriction> active(const std::vector<Restriction>& list, int64_t now);
// When `user`'s restriction in `list` ends (Unix seconds), or 0 when none is in force at `now`.
int64_t restricted_until(const std::vector<Restriction>& list, std::string_view user, int64_t now);

struct Room {
  std::string room_id;
  std::string owner;
  std::string name;
  std::string seat_template;  // canonical name, "" for a Gen1 room without template
  uint32_t seat_count = 0;
  TakeSeatMode take_seat_mode = TakeSeatMode::kFreeToTake;
  int64_t max_member_count = kDefaultMaxMemberCount;
  bool is_message_disabled = false;
  bool is_public_visible = true;
  bool is_like_enabled = true;
  bool is_gift_enabled = true;
  bool is_unlimited_room_enabled = false;
  bool keep_owner_on_seat = false;
  std::string cover_url;
  std::string background_url;
  std::string notice;
  std::string custom_info;
  std::vector<int64_t> category;
  int64_t activity_status = 0;
  int64_t create_time = 0;  // Unix seconds
  int64_t view_count = 0;
  uint64_t msg_seq = 0;                 // the last room message's MsgSeq
  int64_t total_msg_count = 0;          // messages sent to the room (statistics)
  int64_t total_likes = 0;              // likes received (statistics)
  int64_t total_gifts_sent = 0;         // gifts received, each of a Count counted
  int64_t total_gift_coins = 0;         // their price in the app's virtual currency
  int64_t total_gift_senders = 0;       // distinct senders (their rows: room_gift_senders)
  std::vector<MetadataEntry> metadata;  // insertion order
  RoomModeration moderation;
};

// The room-level totals of spec §2.1 get_room_stats / destroy_room.
struct RoomStatistic {
  int64_t total_viewers = 0;
  int64_t total_gifts_sent = 0;
  int64_t total_gift_coins = 0;
  int64_t total_unique_gift_senders = 0;
  int64_t total_likes_received = 0;
  int64_t total_msg_count = 0;
};
RoomStatistic statistic_of(const Room& room);

// The fields a create or an update may carry; an empty optional leaves the field alone. Both
// create_room (on a default Room) and update_room_info go through apply_patch, so a field has
// one set of rules whichever call sets it.
struct RoomPatch {
  std::optional<std::string> name;  // "" means the default, RoomId
  std::optional<SeatTemplate> seat_template;
  std::optional<uint32_t> max_seat_count;  // voice templates and Gen1 seat rooms only
  std::optional<bool> is_seat_enabled;     // Gen1, for rooms without a template
  std::optional<TakeSeatMode> take_seat_mode;
  std::optional<int64_t> max_member_count;
  std::optional<bool> is_message_disabled;
  std::optional<bool> is_public_visible;
  std::optional<bool> is_like_enabled;
  std::optional<bool> is_gift_enabled;
  std::optional<bool> is_unlimited_room_enabled;
  std::optional<bool> keep_owner_on_seat;
  std::optional<std::string> cover_url;
  std::optional<std::string> background_url;
  std::optional<std::string> notice;
  std::optional<std::string> custom_info;
  std::optional<std::vector<int64_t>> category;
  std::optional<int64_t> activity_status;
};

// Applies a validated patch; returns whether anything changed.
bool apply_patch(Room& room, const RoomPatch& patch);

// RoomId: 1..48 bytes of printable ASCII.
Result<void> check_room_id(std::string_view room_id, std::string_view field);
// A user id as the account system stores it (imports, auto-imports, App administrators, lists
// of accounts): 1..32 bytes of well-formed UTF-8 with no control character (C0, DEL, C1).
Result<void> check_user_id(std::string_view user_id, std::string_view field);
// A user id that a client login registers (docs/compatibility.md): the rule Tencent's SDK pages
// give, letters, digits, '_' and '-', 1..32 bytes. Accounts that already exist log in by the
// rule above.
Result<void> check_login_user_id(std::string_view user_id, std::string_view field);

// Upserts entries into `metadata`; fails (changing nothing) if the result breaks a limit.
Result<void> upsert_metadata(std::vector<MetadataEntry>& metadata,
                             const std::vector<MetadataEntry>& entries);
// Removes the keys that are present; returns whether anything was removed.
bool delete_metadata(std::vector<MetadataEntry>& metadata, const std::vector<std::string>& keys);

// Placement by room (docs/cluster.md): the slot of `room_id` among `slots`, FNV-1a of its bytes,
// the same on every node and build. A room's slot never changes, so its host is its slot's host.
uint32_t room_slot(std::string_view room_id, uint32_t slots);

}  // namespace liveroom::domain
