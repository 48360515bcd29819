// PK battles over REST (live_engine_http_pk, spec §2.6): create_battle, get_battle_info, and
// end_battle, liveroom's name for the third PK page whose command Tencent's material does not show
// (docs/compatibility.md). The engine runs battles (engine/battles.cpp).
#include <array>

#include <fmt/format.h>

#include "api/command.h"
#include "api/fields.h"
#include "base/json_writer.h"
#include "domain/battle_json.h"

namespace liveroom::api {

namespace json = boost::json;

namespace {

constexpr size_t kMaxExtensionBytes = 1024;

// The battle as get_battle_info answers it, inside Response.
Reply battle_reply(const domain::Battle& battle) {
  Reply reply;
  JsonWriter w(reply.raw_members);
  w.begin_object();
  domain::write_battle_info(w, battle);
  w.end_object();
  reply.raw_members = reply.raw_members.substr(1, reply.raw_members.size() - 2);
  return reply;
}

Result<std::string> battle_id_field(const Fields& f) {
  auto id = f.required_text("BattleId", 64);
  if (!id) return std::unexpected(id.error());
  if (id->empty()) return std::unexpected(f.invalid("BattleId", "must not be empty"));
  return std::string(*id);
}

Result<Reply> create_battle(Services& s, Call& call) {
  Fields f(call.body);
  auto from = f.required_text("FromRoomId", domain::kMaxRoomIdBytes);
  if (!from) return std::unexpected(from.error());
  if (auto ok = domain::check_room_id(*from, "FromRoomId"); !ok) return std::unexpected(ok.error());
  // The page's table types ToRoomIdList as a String; its sample sends an array. Both are read.
  std::vector<std::string> to_rooms;
  if (const json::value* v = f.find("ToRoomIdList"); v && v->is_string()) {
    to_rooms.emplace_back(v->get_string());
  } else {
    auto list = f.text_array("ToRoomIdList", domain::kMaxBattleRooms - 1, domain::kMaxRoomIdBytes);
    if (!list) return std::unexpected(list.error());
    if (!*list) return std::unexpected(f.invalid("ToRoomIdList", "is required"));
    to_rooms = std::move(**list);
  }
  if (to_rooms.empty()) return std::unexpected(f.invalid("ToRoomIdList", "must name a room"));
  auto duration = f.integer("Duration", domain::kMinBattleDurationMs, domain::kMaxBattleDurationMs);
  if (!duration) return std::unexpected(duration.error());
  if (!*duration) return std::unexpected(f.invalid("Duration", "is required (milliseconds)"));
  auto extension = f.text("ExtensionInfo", kMaxExtensionBytes);
  if (!extension) return std::unexpected(extension.error());

  auto created =
      s.engine.create_battle(call.sdkappid, std::string(*from), to_rooms, **duration,
                             engine::kDefaultBattleInviteTimeoutMs,
                             std::string(extension->value_or("")), "", call.actor(), call.fence);
  if (!created) return std::unexpected(created.error());
  Reply reply{json::object(call.storage)};
  reply.fields["BattleId"] = json::string(created->battle_id, call.storage);
  json::array results(call.storage);
  for (const auto& r : created->results) {
    json::object o(call.storage);
    o["RoomId"] = json::string(r.room_id, call.storage);
    o["ResultCode"] = r.result_code;
    o["ResultMessage"] = json::string(r.message, call.storage);
    results.emplace_back(std::move(o));
  }
  reply.fields["Result"] = std::move(results);
  return reply;
}

Result<Reply> get_battle_info(Services& s, Call& call) {
  Fields f(call.body);
  auto battle_id = f.text("BattleId", 64);
  if (!battle_id) return std::unexpected(battle_id.error());
  auto room_id = f.text("RoomId", domain::kMaxRoomIdBytes);
  if (!room_id) return std::unexpected(room_id.error());
  if ((!*battle_id || (*battle_id)->empty()) && (!*room_id || (*room_id)->empty())) {
    return std::unexpected(f.invalid("BattleId", "or RoomId is required"));
  }
  auto battle = s.engine.battle_info(call.sdkappid, battle_id->value_or(""), room_id->value_or(""),
                                     call.fence);
  if (!battle) return std::unexpected(battle.error());
  return battle_reply(*battle);
}

Result<Reply> end_battle(Services& s, Call& call) {
  Fields f(call.body);
  auto battle_id = battle_id_field(f);
  if (!battle_id) return std::unexpected(battle_id.error());
  auto battle = s.engine.end_battle(call.sdkappid, *battle_id, call.actor(), call.fence);
  if (!battle) return std::unexpected(battle.error());
  return battle_reply(*battle);
}

constexpr std::array<CommandSpec, 3> kCommands{{
    {"live_engine_http_pk/create_battle", create_battle},
    {"live_engine_http_pk/get_battle_info", get_battle_info},
    {"live_engine_http_pk/end_battle", end_battle},
}};

}  // namespace

std::span<const CommandSpec> battle_commands() {
  return kCommands;
}

}  // namespace liveroom::api
