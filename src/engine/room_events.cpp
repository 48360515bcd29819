#include "engine/room_events.h"

#include "base/json_writer.h"
#include "domain/battle_json.h"
#include "domain/callbacks.h"
#include "domain/room_json.h"

namespace liveroom::engine {

namespace {

// Opens the payload object with the members every callback has.
JsonWriter& begin_event(JsonWriter& w, std::string_view command, std::string_view operator_account,
                        int64_t event_time_ms) {
  return w.begin_object()
      .field("CallbackCommand", command)
      .field("Operator_Account", operator_account)
      .field("EventTime", event_time_ms);
}

// RoomInfo members as the create/destroy callbacks document them; the caller closes the object.
// TakeSeatMode is "None" for a room without seats, as Tencent's callbacks show.
void callback_room_info(JsonWriter& w, const domain::Room& r) {
  w.field("RoomId", r.room_id)
      .field("RoomName", r.name)
      .field("RoomType", "Live")
      .field("Owner_Account", r.owner)
      .field("MaxMemberCount", r.max_member_count)
      .field("IsMessageDisabled", r.is_message_disabled)
      .field("CustomInfo", r.custom_info)
      .field("IsSeatEnabled", r.seat_count > 0)
      .field("TakeSeatMode", r.seat_count > 0 ? domain::to_string(r.take_seat_mode) : "None")
      .field("MaxSeatCount", r.seat_count)
      .field("CreateTime", r.create_time)
      .field("IsPublicVisible", r.is_public_visible)
      .field("CoverURL", r.cover_url);
  w.key("Category").begin_array();
  for (int64_t c : r.category) w.value(c);
  w.end_array();
}

}  // namespace

std::string created_room_payload(const domain::Room& room, std::string_view operator_account,
                                 int64_t event_time_ms) {
  std::string out;
  JsonWriter w(out);
  begin_event(w, domain::kAfterCreateRoom, operator_account, event_time_ms);
  w.key("RoomInfo").begin_object();
  callback_room_info(w, room);
  w.end_object().end_object();
  return out;
}

std::string destroyed_room_payload(const domain::Room& room, const domain::RoomStatistic& stats,
                                   std::string_view event_type, std::string_view operator_account,
                                   int64_t event_time_ms) {
  std::string out;
  JsonWriter w(out);
  begin_event(w, domain::kAfterDestroyRoom, operator_account, event_time_ms)
      .field("RoomId", room.room_id)
      .field("EventType", event_type);
  w.key("RoomInfo").begin_object();
  callback_room_info(w, room);
  w.field("ActivityStatus", room.activity_status)
      .field("ViewCount", room.view_count)
      .field("BackgroundURL", room.background_url)
      .field("IsUnlimitedRoomEnabled", room.is_unlimited_room_enabled)
      .end_object();
  w.key("Statistic").begin_object();
  domain::write_statistic(w, stats, false);
  w.end_object().end_object();
  return out;
}

std::string updated_room_payload(const domain::Room& r, size_t members,
                                 std::string_view operator_account, int64_t event_time_ms) {
  std::string out;
  JsonWriter w(out);
  begin_event(w, domain::kAfterUpdateRoomInfo, operator_account, event_time_ms)
      .field("RoomId", r.room_id);
  // The whole room after the change, with get_room_info's field names.
  w.key("RoomInfo").begin_object();
  domain::write_room_info(w, r, members);
  w.end_object().end_object();
  return out;
}

std::string metadata_set_payload(std::string_view room_id,
                                 const std::vector<domain::MetadataEntry>& entries,
                                 std::string_view operator_account, int64_t event_time_ms) {
  std::string out;
  JsonWriter w(out);
  begin_event(w, domain::kAfterSetMetadata, operator_account, event_time_ms)
      .field("RoomId", room_id);
  w.key("Metadata").begin_array();
  for (const auto& [key, value] : entries) {
    w.begin_object().field("Key", key).field("Value", value).end_object();
  }
  w.end_array().end_object();
  return out;
}

std::string sent_message_payload(std::string_view room_id, std::string_view sender,
                                 std::string_view operator_account, uint32_t random,
                                 uint64_t msg_seq, int64_t msg_time, std::string_view msg_body,
                                 std::string_view cloud_custom_data, int64_t event_time_ms) {
  std::string out;
  JsonWriter w(out);
  begin_event(w, "Group.CallbackAfterSendMsg", operator_account, event_time_ms)
      .field("GroupId", room_id)
      .field("Type", "AVChatRoom")  // a live room's IM group type
      .field("From_Account", sender)
      .field("Random", random)
      .field("MsgSeq", static_cast<int64_t>(msg_seq))
      .field("MsgTime", msg_time);
  w.key("MsgBody").raw(msg_body);
  if (!cloud_custom_data.empty()) w.field("CloudCustomData", cloud_custom_data);
  w.end_object();
  return out;
}

// spec §5.2 Mic.CallbackAfterSeatInfoChanged: the whole seat list after the change.
std::string seat_list_payload(std::string_view room_id, const std::vector<domain::Seat>& seats,
                              std::string_view operator_account, int64_t event_time_ms) {
  std::string out;
  JsonWriter w(out);
  begin_event(w, "Mic.CallbackAfterSeatInfoChanged", operator_account, event_time_ms)
      .field("RoomId", room_id);
  w.key("SeatList");
  domain::write_seat_list(w, seats);
  w.end_object();
  return out;
}

// spec §5.2: the webhook spells it opType (the request says OpType).
std::string modify_admin_payload(std::string_view room_id, const std::vector<std::string>& admins,
                                 std::string_view op_type, std::string_view operator_account,
                                 int64_t event_time_ms) {
  std::string out;
  JsonWriter w(out);
  begin_event(w, "Live.CallbackAfterModifyAdmin", operator_account, event_time_ms)
      .field("RoomId", room_id);
  w.key("Admin_Account").begin_array();
  for (const auto& a : admins) w.value(a);
  w.end_array().field("opType", op_type).end_object();
  return out;
}

std::string metadata_deleted_payload(std::string_view room_id, const std::vector<std::string>& keys,
                                     std::string_view operator_account, int64_t event_time_ms) {
  std::string out;
  JsonWriter w(out);
  begin_event(w, domain::kAfterDelMetadata, operator_account, event_time_ms)
      .field("RoomId", room_id);
  w.key("Keys").begin_array();
  for (const auto& k : keys) w.value(k);
  w.end_array().end_object();
  return out;
}

std::string battle_payload(std::string_view command, const domain::Battle& battle,
                           std::string_view operator_account, int64_t event_time_ms) {
  std::string out;
  JsonWriter w(out);
  begin_event(w, command, operator_account, event_time_ms)
      .field("BattleId", battle.battle_id)
      .key("BattleInfo")
      .begin_object();
  domain::write_battle_info(w, battle);
  w.end_object().end_object();
  return out;
}

std::string before_send_gift_payload(std::string_view room_id, std::string_view sender,
                                     const std::vector<std::string>& receivers,
                                     std::string_view gift_id, int64_t count, int64_t coins,
                                     int64_t event_time_ms) {
  std::string out;
  JsonWriter w(out);
  begin_event(w, domain::kBeforeSendGift, sender, event_time_ms)
      .field("RoomId", room_id)
      .key("GiftWater")
      .begin_object()
      .field("From_Account", sender)
      .key("To_Account")
      .begin_array();
  for (const auto& receiver : receivers) w.value(receiver);
  w.end_array()
      .field("Time", event_time_ms / 1000)
      .field("GiftId", gift_id)
      .field("Count", count)
      .field("Coins", coins)
      .end_object()
      .end_object();
  return out;
}

}  // namespace liveroom::engine

namespace liveroom::engine {

// spec §5.2 Live.CallbackAfterMemberStateChanged: one member per event (entries are not batched
// here; receivers see each change in the room's order).
std::string member_state_payload(std::string_view room_id, std::string_view event_type,
                                 std::string_view event_cause, std::string_view member,
                                 int64_t event_time_ms) {
  std::string out;
  JsonWriter w(out);
  w.begin_object()
      .field("CallbackCommand", "Live.CallbackAfterMemberStateChanged")
      .field("RoomId", room_id)
      .field("EventType", event_type)
      .field("EventCause", event_cause)
      .field("EventTime", event_time_ms);
  w.key("MemberList").begin_array();
  w.begin_object().field("Member_Account", member).end_object();
  w.end_array().end_object();
  return out;
}

std::string before_send_message_payload(std::string_view room_id, std::string_view sender,
                                        std::string_view msg_body,
                                        std::string_view cloud_custom_data, int64_t event_time_ms) {
  std::string out;
  JsonWriter w(out);
  begin_event(w, "Group.CallbackBeforeSendMsg", sender, event_time_ms)
      .field("GroupId", room_id)
      .field("Type", "AVChatRoom")
      .field("From_Account", sender);
  w.key("MsgBody").raw(msg_body);
  if (!cloud_custom_data.empty()) w.field("CloudCustomData", cloud_custom_data);
  w.end_object();
  return out;
}

}  // namespace liveroom::engine
