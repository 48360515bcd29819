#include "domain/room.h"

#include <algorithm>
#include <array>

#include <fmt/format.h>

#include "base/utf8.h"

namespace liveroom::domain {

std::string_view to_string(TakeSeatMode mode) {
  return mode == TakeSeatMode::kApplyToTake ? "ApplyToTake" : "FreeToTake";
}

namespace {

struct TemplateRow {
  std::string_view name;
  std::string_view alias;  // another spelling seen in real clients
  int64_t numeric_id;      // the SDK's id, -1 where none was seen
  uint32_t seats;
  bool voice;
};

// spec §6.3. The console sends `VideoLandscape4Seat` (singular); the catalog says `...Seats`.
constexpr std::array<TemplateRow, 9> kTemplates{{
    {"VideoDynamicGrid9Seats", "", 600, 9, false},
    {"VideoDynamicFloat7Seats", "", 601, 7, false},
    {"VideoFixedGrid9Seats", "", 800, 9, false},
    {"VideoFixedFloat7Seats", "", 801, 7, false},
    {"VideoLandscape4Seats", "VideoLandscape4Seat", 200, 4, false},
    {"VideoLeftFocus9Seats", "", -1, 9, false},
    {"VideoUniformGrid9Seats", "", -1, 9, false},
    {"AudioSalon", "", -1, 0, true},
    {"Karaoke", "", -1, 0, true},
}};

SeatTemplate to_template(const TemplateRow& row) {
  return {row.name, row.seats, row.voice};
}

}  // namespace

std::optional<SeatTemplate> find_seat_template(std::string_view name) {
  for (const auto& row : kTemplates) {
    if (row.name == name || (!row.alias.empty() && row.alias == name)) return to_template(row);
  }
  return std::nullopt;
}

std::optional<SeatTemplate> find_seat_template(int64_t numeric_id) {
  if (numeric_id < 0) return std::nullopt;  // -1 marks templates without an SDK id
  for (const auto& row : kTemplates) {
    if (row.numeric_id == numeric_id) return to_template(row);
  }
  return std::nullopt;
}

RoomStatistic statistic_of(const Room& room) {
  RoomStatistic stats;
  stats.total_viewers = room.view_count;
  stats.total_msg_count = room.total_msg_count;
  stats.total_likes_received = room.total_likes;
  stats.total_gifts_sent = room.total_gifts_sent;
  stats.total_gift_coins = room.total_gift_coins;
  stats.total_unique_gift_senders = room.total_gift_senders;
  return stats;
}

namespace {

// Seats follow the template: a fixed count for video layouts, MaxSeatCount for voice layouts, and
// for Gen1 rooms without a template IsSeatEnabled + MaxSeatCount.
bool apply_seats(Room& room, const RoomPatch& patch) {
  const std::string old_template = room.seat_template;
  const uint32_t old_count = room.seat_count;
  if (patch.seat_template) {
    auto current = find_seat_template(room.seat_template);
    // A voice room keeps its count unless MaxSeatCount says otherwise: only sent keys change.
    const uint32_t voice_default = current && current->voice ? room.seat_count : kDefaultVoiceSeats;
    room.seat_template = std::string(patch.seat_template->name);
    room.seat_count = patch.seat_template->voice ? patch.max_seat_count.value_or(voice_default)
                                                 : patch.seat_template->fixed_seats;
  } else if (!room.seat_template.empty()) {
    auto current = find_seat_template(room.seat_template);
    if (current && current->voice && patch.max_seat_count) room.seat_count = *patch.max_seat_count;
  } else if (patch.is_seat_enabled || patch.max_seat_count) {
    const bool enabled = patch.is_seat_enabled.value_or(room.seat_count > 0);
    room.seat_count = enabled ? patch.max_seat_count.value_or(
                                    room.seat_count > 0 ? room.seat_count : kDefaultVoiceSeats)
                              : 0;
  }
  return room.seat_template != old_template || room.seat_count != old_count;
}

}  // namespace

bool apply_patch(Room& room, const RoomPatch& patch) {
  bool changed = apply_seats(room, patch);
  auto set = [&changed](auto& field, const auto& value) {
    if (value && field != *value) {
      field = *value;
      changed = true;
    }
  };
  if (patch.name) set(room.name, std::optional(patch.name->empty() ? room.room_id : *patch.name));
  set(room.take_seat_mode, patch.take_seat_mode);
  set(room.max_member_count, patch.max_member_count);
  set(room.is_message_disabled, patch.is_message_disabled);
  set(room.is_public_visible, patch.is_public_visible);
  set(room.is_like_enabled, patch.is_like_enabled);
  set(room.is_gift_enabled, patch.is_gift_enabled);
  set(room.is_unlimited_room_enabled, patch.is_unlimited_room_enabled);
  set(room.keep_owner_on_seat, patch.keep_owner_on_seat);
  set(room.cover_url, patch.cover_url);
  set(room.background_url, patch.background_url);
  set(room.notice, patch.notice);
  set(room.custom_info, patch.custom_info);
  set(room.category, patch.category);
  set(room.activity_status, patch.activity_status);
  return changed;
}

std::vector<Seat> seats_of(const Room& room) {
  std::vector<Seat> seats = room.moderation.seats;
  seats.resize(room.seat_count);  // a layout change drops the seats past the new count
  return seats;
}

std::optional<uint32_t> seat_of(const std::vector<Seat>& seats, std::string_view member) {
  for (uint32_t i = 0; i < seats.size(); ++i) {
    if (seats[i].member == member) return i;
  }
  return std::nullopt;
}

void restrict_user(std::vector<Restriction>& list, const std::string& user_id, int64_t until,
                   std::string reason, int64_t now) {
  std::erase_if(list, [&](const Restriction& r) { return r.user_id == user_id || r.until <= now; });
  if (until > now) list.push_back({user_id, until, std::move(reason)});
}

int64_t restricted_until(const std::vector<Restriction>& list, std::string_view user, int64_t now) {
  for (const auto& r : list) {
    if (r.user_id == user && r.until > now) return r.until;
  }
  return 0;
}

std::vector<Restriction> active(const std::vector<Restriction>& list, int64_t now) {
  std::vector<Restriction> out;
  for (const auto& r : list) {
    if (r.until > now) out.push_back(r);
  }
  return out;
}

Result<void> check_room_id(std::string_view room_id, std::string_view field) {
  if (room_id.empty()) return fail(Code::kInvalidParameter, fmt::format("{} is empty", field));
  if (room_id.size() > kMaxRoomIdBytes) {
    return fail(Code::kInvalidParameter,
                fmt::format("{} exceeds {} bytes", field, kMaxRoomIdBytes));
  }
  for (unsigned char c : room_id) {
    if (c < 0x20 || c > 0x7e) {
      return fail(Code::kInvalidParameter,
                  fmt::format("{} must be printable ASCII (0x20-0x7e)", field));
    }
  }
  return {};
}

Result<void> check_user_id(std::string_view user_id, std::string_view field) {
  if (user_id.empty()) return fail(Code::kInvalidParameter, fmt::format("{} is empty", field));
  if (user_id.size() > kMaxUserIdBytes) {
    return fail(Code::kInvalidParameter,
                fmt::format("{} exceeds {} bytes", field, kMaxUserIdBytes));
  }
  if (!is_valid_utf8(user_id)) {
    return fail(Code::kInvalidParameter, fmt::format("{} is not well-formed UTF-8", field));
  }
  if (const size_t at = find_control_character(user_id); at != std::string_view::npos) {
    return fail(Code::kInvalidParameter,
                fmt::format("{} contains a control character (byte {})", field, at + 1));
  }
  return {};
}

Result<void> check_login_user_id(std::string_view user_id, std::string_view field) {
  if (auto ok = check_user_id(user_id, field); !ok) return ok;
  for (const char c : user_id) {
    const bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!allowed) {
      return fail(Code::kInvalidParameter,
                  fmt::format("{} may hold only letters, digits, '_' and '-' to register a new "
                              "account at login (import other ids with account_import first)",
                              field));
    }
  }
  return {};
}

Result<void> upsert_metadata(std::vector<MetadataEntry>& metadata,
                             const std::vector<MetadataEntry>& entries) {
  std::vector<MetadataEntry> next = metadata;
  for (const auto& [key, value] : entries) {
    if (key.empty()) return fail(Code::kInvalidParameter, "Metadata Key is empty");
    if (key.size() > kMaxMetadataKeyBytes) {
      return fail(Code::kInvalidParameter,
                  fmt::format("Metadata Key '{}' exceeds {} bytes", key, kMaxMetadataKeyBytes));
    }
    if (value.size() > kMaxMetadataValueBytes) {
      return fail(
          Code::kInvalidParameter,
          fmt::format("Metadata Value of key '{}' exceeds {} bytes", key, kMaxMetadataValueBytes));
    }
    auto it = std::find_if(next.begin(), next.end(), [&](const auto& e) { return e.first == key; });
    if (it != next.end()) {
      it->second = value;
    } else {
      next.emplace_back(key, value);
    }
  }
  if (next.size() > kMaxMetadataKeys) {
    return fail(Code::kInvalidParameter,
                fmt::format("Metadata would hold {} keys; a room has at most {}", next.size(),
                            kMaxMetadataKeys));
  }
  size_t total = 0;
  for (const auto& entry : next) total += entry.second.size();
  if (total > kMaxMetadataTotalBytes) {
    return fail(Code::kInvalidParameter,
                fmt::format("Metadata values would total {} bytes; at most {} bytes", total,
                            kMaxMetadataTotalBytes));
  }
  metadata = std::move(next);
  return {};
}

bool delete_metadata(std::vector<MetadataEntry>& metadata, const std::vector<std::string>& keys) {
  const size_t before = metadata.size();
  std::erase_if(metadata, [&](const MetadataEntry& e) {
    return std::find(keys.begin(), keys.end(), e.first) != keys.end();
  });
  return metadata.size() != before;
}

uint32_t room_slot(std::string_view room_id, uint32_t slots) {
  uint64_t h = 14695981039346656037ull;
  for (char c : room_id) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return slots == 0 ? 0 : static_cast<uint32_t>(h % slots);
}

}  // namespace liveroom::domain
