// The JSON bodies of the room callbacks (spec §5.2, docs/webhooks.md). Built by the engine at
// the moment of the change, from the state it changed, so an event always describes exactly
// what was committed with it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "domain/battle.h"
#include "domain/room.h"

namespace liveroom::engine {

std::string created_room_payload(const domain::Room& room, std::string_view operator_account,
                                 int64_t event_time_ms);
std::string destroyed_room_payload(const domain::Room& room, const domain::RoomStatistic& stats,
                                   std::string_view event_type, std::string_view operator_account,
                                   int64_t event_time_ms);
std::string updated_room_payload(const domain::Room& room, size_t members,
                                 std::string_view operator_account, int64_t event_time_ms);
std::string metadata_set_payload(std::string_view room_id,
                                 const std::vector<domain::MetadataEntry>& entries,
                                 std::string_view operator_account, int64_t event_time_ms);
std::string modify_admin_payload(std::string_view room_id, const std::vector<std::string>& admins,
                                 std::string_view op_type, std::string_view operator_account,
                                 int64_t event_time_ms);
// Group.CallbackAfterSendMsg in IM's format; `msg_body` is the serialized MsgBody array.
std::string sent_message_payload(std::string_view room_id, std::string_view sender,
                                 std::string_view operator_account, uint32_t random,
                                 uint64_t msg_seq, int64_t msg_time, std::string_view msg_body,
                                 std::string_view cloud_custom_data, int64_t event_time_ms);
std::string seat_list_payload(std::string_view room_id, const std::vector<domain::Seat>& seats,
                              std::string_view operator_account, int64_t event_time_ms);
// Group.CallbackBeforeSendMsg (IM format): asked before a member's message is sent.
std::string before_send_message_payload(std::string_view room_id, std::string_view sender,
                                        std::string_view msg_body,
                                        std::string_view cloud_custom_data, int64_t event_time_ms);
// Live.CallbackBeforeSendGift (spec §5.2): asked before a member's gift counts. `coins` is the
// price of the whole send (price × count × receivers).
std::string before_send_gift_payload(std::string_view room_id, std::string_view sender,
                                     const std::vector<std::string>& receivers,
                                     std::string_view gift_id, int64_t count, int64_t coins,
                                     int64_t event_time_ms);
// Live.CallbackAfterCreateBattle / StartBattle / EndBattle (docs/webhooks.md): `BattleId` and
// `BattleInfo`, the object of get_battle_info.
std::string battle_payload(std::string_view command, const domain::Battle& battle,
                           std::string_view operator_account, int64_t event_time_ms);
std::string member_state_payload(std::string_view room_id, std::string_view event_type,
                                 std::string_view event_cause, std::string_view member,
                                 int64_t event_time_ms);
std::string metadata_deleted_payload(std::string_view room_id, const std::vector<std::string>& keys,
                                     std::string_view operator_account, int64_t event_time_ms);

}  // namespace liveroom::engine
