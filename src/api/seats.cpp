// Seat commands of room_engine_http_mic (spec §2.3): get_seat_list, pick_user_on_seat,
// kick_user_off_seat, lock_seat, switch_seat (old) and move_user_to_seat (new). The official
// console seats its OBS robot with pick_user_on_seat Index 0 on rooms whose seats come from a
// SeatTemplate alone (console-client.md §5.10, quirk 1).
#include <array>

#include <fmt/format.h>

#include "api/command.h"
#include "api/fields.h"

namespace liveroom::api {

namespace json = boost::json;

namespace {

using engine::RoomEngine;

Result<uint32_t> index_field(const Fields& f, std::string_view key) {
  auto index = f.integer(key, 0, domain::kMaxVoiceSeats * 8);
  if (!index) return std::unexpected(index.error());
  if (!*index) return std::unexpected(f.invalid(key, "is required"));
  return static_cast<uint32_t>(**index);
}

Result<Reply> get_seat_list(Services& s, Call& call) {
  auto room_id = room_id_field(Fields(call.body));
  if (!room_id) return std::unexpected(room_id.error());
  auto seats = s.engine.read_room(call.sdkappid, *room_id, call.fence,
                                  [](const domain::Room& r) { return domain::seats_of(r); });
  if (!seats) return std::unexpected(seats.error());
  json::array list(call.storage);
  for (uint32_t i = 0; i < seats->size(); ++i) {
    const domain::Seat& seat = (*seats)[i];
    json::object o(call.storage);
    o["Index"] = i;
    if (!seat.member.empty()) o["Member_Account"] = seat.member;  // omitted when free
    o["IsTakenDisabled"] = seat.taken_disabled;
    o["IsVideoDisabled"] = seat.video_disabled;
    o["IsAudioDisabled"] = seat.audio_disabled;
    list.emplace_back(std::move(o));
  }
  Reply reply{json::object(call.storage)};
  reply.fields["SeatList"] = std::move(list);
  return reply;
}

Result<Reply> pick_user_on_seat(Services& s, Call& call) {
  Fields f(call.body);
  auto room_id = room_id_field(f);
  if (!room_id) return std::unexpected(room_id.error());
  auto index = index_field(f, "Index");
  if (!index) return std::unexpected(index.error());
  auto member = f.required_account("Member_Account");
  if (!member) return std::unexpected(member.error());
  auto ok = s.engine.pick_seat(call.sdkappid, *room_id, *index, std::string(*member), call.fence,
                               call.actor());
  if (!ok) return std::unexpected(ok.error());
  return Reply{json::object(call.storage)};
}

Result<Reply> kick_user_off_seat(Services& s, Call& call) {
  Fields f(call.body);
  auto room_id = room_id_field(f);
  if (!room_id) return std::unexpected(room_id.error());
  auto member = f.required_account("Member_Account");
  if (!member) return std::unexpected(member.error());
  // Data: custom text for the kicked user; documented as mandatory, accepted when absent.
  auto data = f.text("Data", 1024);
  if (!data) return std::unexpected(data.error());
  auto ok = s.engine.kick_from_seat(call.sdkappid, *room_id, std::string(*member),
                                    std::string(data->value_or("")), call.fence, call.actor());
  if (!ok) return std::unexpected(ok.error());
  return Reply{json::object(call.storage)};
}

Result<Reply> lock_seat(Services& s, Call& call) {
  Fields f(call.body);
  auto room_id = room_id_field(f);
  if (!room_id) return std::unexpected(room_id.error());
  auto index = index_field(f, "Index");
  if (!index) return std::unexpected(index.error());
  RoomEngine::SeatLocks locks;
  for (auto [key, slot] : {std::pair{"ForbidTaken", &locks.taken},
                           {"ForbidVideo", &locks.video},
                           {"ForbidAudio", &locks.audio}}) {
    auto value = f.boolean(key);
    if (!value) return std::unexpected(value.error());
    *slot = *value;
  }
  auto ok = s.engine.lock_seat(call.sdkappid, *room_id, *index, locks, call.fence, call.actor());
  if (!ok) return std::unexpected(ok.error());
  return Reply{json::object(call.storage)};
}

Result<Reply> switch_seat(Services& s, Call& call) {
  Fields f(call.body);
  auto room_id = room_id_field(f);
  if (!room_id) return std::unexpected(room_id.error());
  auto index = index_field(f, "ToIndex");
  if (!index) return std::unexpected(index.error());
  auto member = f.required_account("Member_Account");
  if (!member) return std::unexpected(member.error());
  auto ok = s.engine.move_to_seat(call.sdkappid, *room_id, std::string(*member), *index,
                                  RoomEngine::SeatPolicy::kGiveUp, false, call.fence, call.actor());
  if (!ok) return std::unexpected(ok.error());
  return Reply{json::object(call.storage)};
}

Result<Reply> move_user_to_seat(Services& s, Call& call) {
  Fields f(call.body);
  auto room_id = room_id_field(f);
  if (!room_id) return std::unexpected(room_id.error());
  auto index = index_field(f, "SeatIndex");
  if (!index) return std::unexpected(index.error());
  auto member = f.required_account("Member_Account");
  if (!member) return std::unexpected(member.error());
  auto policy = f.integer("Policy", 0, 2);  // 0 give up if taken, 1 force, 2 swap
  if (!policy) return std::unexpected(policy.error());
  auto ok = s.engine.move_to_seat(call.sdkappid, *room_id, std::string(*member), *index,
                                  static_cast<RoomEngine::SeatPolicy>(policy->value_or(0)), true,
                                  call.fence, call.actor());
  if (!ok) return std::unexpected(ok.error());
  return Reply{json::object(call.storage)};
}

constexpr std::array<CommandSpec, 6> kCommands{{
    {"room_engine_http_mic/get_seat_list", get_seat_list},
    {"room_engine_http_mic/pick_user_on_seat", pick_user_on_seat},
    {"room_engine_http_mic/kick_user_off_seat", kick_user_off_seat},
    {"room_engine_http_mic/lock_seat", lock_seat},
    {"room_engine_http_mic/switch_seat", switch_seat},
    {"room_engine_http_mic/move_user_to_seat", move_user_to_seat},
}};

}  // namespace

std::span<const CommandSpec> seat_commands() {
  return kCommands;
}

}  // namespace liveroom::api
