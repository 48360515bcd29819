#include "engine/room_events.h"

#include <boost/json.hpp>

#include "domain/callbacks.h"

namespace liveroom::engine {

namespace json = boost::json;

namespace {

json::array category_of(const domain::Room& room) {
  json::array a;
  for (int64_t c : room.category) a.emplace_back(c);
  return a;
}

// RoomInfo as the create/destroy callbacks document it. TakeSeatMode is "None" for a room
// without seats, as Tencent's callbacks show.
json::object callback_room_info(const domain::Room& r) {
  return json::object{
      {"RoomId", r.room_id},
      {"RoomName", r.name},
      {"RoomType", "Live"},
      {"Owner_Account", r.owner},
      {"MaxMemberCount", r.max_member_count},
      {"IsMessageDisabled", r.is_message_disabled},
      {"CustomInfo", r.custom_info},
      {"IsSeatEnabled", r.seat_count > 0},
      {"TakeSeatMode",
       r.seat_count > 0 ? json::string(domain::to_string(r.take_seat_mode)) : json::string("None")},
      {"MaxSeatCount", r.seat_count},
      {"CreateTime", r.create_time},
      {"IsPublicVisible", r.is_public_visible},
      {"CoverURL", r.cover_url},
      {"Category", category_of(r)},
  };
}

json::object event(std::string_view command, std::string_view operator_account,
                   int64_t event_time_ms) {
  return json::object{{"CallbackCommand", command},
                      {"Operator_Account", operator_account},
                      {"EventTime", event_time_ms}};
}

}  // namespace

std::string created_room_payload(const domain::Room& room, std::string_view operator_account,
                                 int64_t event_time_ms) {
  json::object o = event(domain::kAfterCreateRoom, operator_account, event_time_ms);
  o["RoomInfo"] = callback_room_info(room);
  return json::serialize(o);
}

std::string destroyed_room_payload(const domain::Room& room, const domain::RoomStatistic& stats,
                                   std::string_view event_type, std::string_view operator_account,
                                   int64_t event_time_ms) {
  json::object o = event(domain::kAfterDestroyRoom, operator_account, event_time_ms);
  o["RoomId"] = room.room_id;
  o["EventType"] = event_type;
  json::object info = callback_room_info(room);
  info["ActivityStatus"] = room.activity_status;
  info["ViewCount"] = room.view_count;
  info["BackgroundURL"] = room.background_url;
  info["IsUnlimitedRoomEnabled"] = room.is_unlimited_room_enabled;
  o["RoomInfo"] = std::move(info);
  o["Statistic"] = json::object{{"TotalViewers", stats.total_viewers},
                                {"TotalGiftsSent", stats.total_gifts_sent},
                                {"TotalGiftCoins", stats.total_gift_coins},
                                {"TotalUniqueGiftSenders", stats.total_unique_gift_senders},
                                {"TotalLikesReceived", stats.total_likes_received}};
  return json::serialize(o);
}

std::string updated_room_payload(const domain::Room& r, std::string_view operator_account,
                                 int64_t event_time_ms) {
  json::object o = event(domain::kAfterUpdateRoomInfo, operator_account, event_time_ms);
  o["RoomId"] = r.room_id;
  // The whole room after the change, with get_room_info's field names.
  json::object info = callback_room_info(r);
  info["TakeSeatMode"] = domain::to_string(r.take_seat_mode);
  info["SeatTemplate"] = r.seat_template;
  info["IsLikeEnabled"] = r.is_like_enabled;
  info["IsGiftEnabled"] = r.is_gift_enabled;
  info["IsUnlimitedRoomEnabled"] = r.is_unlimited_room_enabled;
  info["KeepOwnerOnSeat"] = r.keep_owner_on_seat;
  info["BackgroundURL"] = r.background_url;
  info["Notice"] = r.notice;
  info["ActivityStatus"] = r.activity_status;
  info["ViewCount"] = r.view_count;
  o["RoomInfo"] = std::move(info);
  return json::serialize(o);
}

std::string metadata_set_payload(std::string_view room_id,
                                 const std::vector<domain::MetadataEntry>& entries,
                                 std::string_view operator_account, int64_t event_time_ms) {
  json::object o = event(domain::kAfterSetMetadata, operator_account, event_time_ms);
  o["RoomId"] = room_id;
  json::array metadata;
  for (const auto& [key, value] : entries) {
    metadata.emplace_back(json::object{{"Key", key}, {"Value", value}});
  }
  o["Metadata"] = std::move(metadata);
  return json::serialize(o);
}

std::string metadata_deleted_payload(std::string_view room_id, const std::vector<std::string>& keys,
                                     std::string_view operator_account, int64_t event_time_ms) {
  json::object o = event(domain::kAfterDelMetadata, operator_account, event_time_ms);
  o["RoomId"] = room_id;
  json::array list;
  for (const auto& k : keys) list.emplace_back(json::string(k));
  o["Keys"] = std::move(list);
  return json::serialize(o);
}

}  // namespace liveroom::engine
