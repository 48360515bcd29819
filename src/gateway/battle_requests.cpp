// The gateway's battle requests (docs/client-protocol.md): the owner of a live room invites the
// rooms it co-hosts with to a PK battle, answers an invitation, leaves a battle, or reads it. The
// engine runs battles (engine/battles.cpp); gifts score them.
#include <fmt/format.h>

#include "base/json_writer.h"
#include "domain/battle_json.h"
#include "engine/room_engine.h"
#include "gateway/client_session.h"
#include "gateway/gateway.h"
#include "gateway/request_fields.h"

namespace liveroom::gateway {

using api::Fields;

namespace {

constexpr int64_t kMaxInviteTimeoutMs = 60'000;
constexpr size_t kMaxExtensionBytes = 1024;

std::string battle_data(const domain::Battle& battle) {
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  domain::write_battle_info(w, battle);
  w.end_object();
  return out;
}

}  // namespace

ClientSession::Data ClientSession::do_battle_request(Request& r) {
  auto room_id = current_room(r);
  if (!room_id) return std::unexpected(room_id.error());
  Fields f(r.body);
  auto to_rooms =
      param(f.text_array("ToRoomIdList", domain::kMaxBattleRooms - 1, domain::kMaxRoomIdBytes));
  if (!to_rooms) return std::unexpected(to_rooms.error());
  if (!*to_rooms || (*to_rooms)->empty()) {
    return fail(Code::kClientBadParameter, "ToRoomIdList must name at least one room");
  }
  auto duration =
      param(f.integer("Duration", domain::kMinBattleDurationMs, domain::kMaxBattleDurationMs));
  if (!duration) return std::unexpected(duration.error());
  if (!*duration) return fail(Code::kClientBadParameter, "Duration is required (milliseconds)");
  auto timeout = param(f.integer("TimeoutMs", 1'000, kMaxInviteTimeoutMs));
  if (!timeout) return std::unexpected(timeout.error());
  auto extension = param(f.text("ExtensionInfo", kMaxExtensionBytes));
  if (!extension) return std::unexpected(extension.error());
  auto created =
      gateway_.engine_.create_battle(sdkappid_, *room_id, **to_rooms, **duration,
                                     timeout->value_or(engine::kDefaultBattleInviteTimeoutMs),
                                     std::string(extension->value_or("")), user_, actor(), r.fence);
  if (!created) return std::unexpected(created.error());
  std::string out;
  JsonWriter w(out);
  w.begin_object().field("BattleId", created->battle_id).key("Results").begin_array();
  for (const auto& result : created->results) {
    w.begin_object()
        .field("RoomId", result.room_id)
        .field("ResultCode", result.result_code)
        .field("ResultMessage", result.message)
        .end_object();
  }
  w.end_array().end_object();
  return out;
}

ClientSession::Data ClientSession::do_battle_respond(Request& r) {
  auto room_id = current_room(r);
  if (!room_id) return std::unexpected(room_id.error());
  Fields f(r.body);
  auto battle_id = param(f.required_text("BattleId", 64));
  if (!battle_id) return std::unexpected(battle_id.error());
  auto accept = required_accept(f);
  if (!accept) return std::unexpected(accept.error());
  auto ok =
      gateway_.engine_.respond_battle(sdkappid_, *room_id, user_, *battle_id, *accept, r.fence);
  if (!ok) return std::unexpected(ok.error());
  return std::string("{}");
}

ClientSession::Data ClientSession::do_battle_leave(Request& r) {
  auto room_id = current_room(r);
  if (!room_id) return std::unexpected(room_id.error());
  auto ok = gateway_.engine_.leave_battle(sdkappid_, *room_id, user_, r.fence);
  if (!ok) return std::unexpected(ok.error());
  return std::string("{}");
}

ClientSession::Data ClientSession::do_get_battle(Request& r) {
  auto room_id = current_room(r);
  if (!room_id) return std::unexpected(room_id.error());
  auto battle = gateway_.engine_.battle_info(sdkappid_, "", *room_id, r.fence);
  if (!battle) return std::unexpected(client_parameter_error(battle.error()));
  return battle_data(*battle);
}

}  // namespace liveroom::gateway
