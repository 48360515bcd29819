// Room management commands of live_engine_http_srv (spec §2.1): create_room, destroy_room,
// update_room_info, get_room_info, get_room_list, get_room_stats / get_room_statistic.
#include <array>

#include <fmt/format.h>

#include "api/command.h"
#include "api/fields.h"
#include "api/room_patch.h"
#include "base/json_writer.h"
#include "domain/room_json.h"

namespace liveroom::api {

namespace json = boost::json;
using domain::RoomPatch;

namespace {

constexpr size_t kMaxListPage = 20;

template <typename T>
std::unexpected<Error> error_of(const Result<T>& r) {
  return std::unexpected(r.error());
}

Result<std::optional<domain::TakeSeatMode>> decode_take_seat_mode(const Fields& f) {
  const json::value* v = f.find("TakeSeatMode");
  if (!v) return std::nullopt;
  if (v->is_string()) {
    std::string_view s = v->get_string();
    if (s == "FreeToTake") return domain::TakeSeatMode::kFreeToTake;
    if (s == "ApplyToTake") return domain::TakeSeatMode::kApplyToTake;
    if (s.empty()) return std::nullopt;  // an empty optional text means "not sent"
  } else if (v->is_int64() || v->is_uint64()) {
    // The SDK's enum values (spec §6.1): free = 0, apply = 1.
    if (v->is_int64() && v->get_int64() == 0) return domain::TakeSeatMode::kFreeToTake;
    if (v->is_int64() && v->get_int64() == 1) return domain::TakeSeatMode::kApplyToTake;
  }
  return std::unexpected(f.invalid("TakeSeatMode", "must be \"FreeToTake\" or \"ApplyToTake\""));
}

// One template key: a String id or the SDK's numeric id.
Result<std::optional<domain::SeatTemplate>> decode_template_key(const Fields& f,
                                                                std::string_view key) {
  const json::value* v = f.find(key);
  if (!v) return std::nullopt;
  if (v->is_string()) {
    if (v->get_string().empty()) return std::nullopt;  // an empty optional text: not sent
    if (auto t = domain::find_seat_template(std::string_view(v->get_string()))) return *t;
  } else if (v->is_int64()) {
    if (auto t = domain::find_seat_template(v->get_int64())) return *t;
  } else {
    return std::unexpected(
        f.invalid(key, fmt::format("must be a String template id, not {}", json_type_name(*v))));
  }
  return std::unexpected(
      f.invalid(key,
                "is not a known seat template (VideoDynamicGrid9Seats, VideoDynamicFloat7Seats, "
                "VideoFixedGrid9Seats, VideoFixedFloat7Seats, VideoLandscape4Seats, "
                "VideoLeftFocus9Seats, VideoUniformGrid9Seats, AudioSalon, Karaoke)"));
}

// SeatTemplate, or its older name SeatLayoutTemplate; both are checked, SeatTemplate wins.
Result<std::optional<domain::SeatTemplate>> decode_seat_template(const Fields& f) {
  auto current = decode_template_key(f, "SeatTemplate");
  if (!current) return current;
  auto legacy = decode_template_key(f, "SeatLayoutTemplate");
  if (!legacy) return legacy;
  return *current ? current : legacy;
}

// IsMessageDisabled is typed String in one doc table and Bool everywhere else: accept both.
Result<std::optional<bool>> decode_message_disabled(const Fields& f) {
  const json::value* v = f.find("IsMessageDisabled");
  if (v && v->is_string()) {
    if (v->get_string() == "true") return true;
    if (v->get_string() == "false") return false;
    if (v->get_string().empty()) return std::nullopt;
  }
  return f.boolean("IsMessageDisabled");
}

template <typename T, typename U>
Result<void> read_into(std::optional<T>& out, Result<std::optional<U>> in) {
  if (!in) return std::unexpected(in.error());
  if (*in) out = T(**in);
  return {};
}

}  // namespace

Result<RoomPatch> decode_room_patch(const Fields& f) {
  RoomPatch p;
  Result<void> ok;
  auto step = [&ok](Result<void> r) {
    if (ok && !r) ok = std::move(r);
  };
  step(read_into(p.name, f.text("RoomName", domain::kMaxRoomNameBytes)));
  step(read_into(p.seat_template, decode_seat_template(f)));
  step(read_into(p.max_seat_count, f.integer("MaxSeatCount", 1, domain::kMaxVoiceSeats)));
  step(read_into(p.is_seat_enabled, f.boolean("IsSeatEnabled")));
  step(read_into(p.take_seat_mode, decode_take_seat_mode(f)));
  step(read_into(p.max_member_count,
                 f.integer("MaxMemberCount", domain::kMinMemberCount, domain::kMaxMemberCount)));
  step(read_into(p.is_message_disabled, decode_message_disabled(f)));
  step(read_into(p.is_public_visible, f.boolean("IsPublicVisible")));
  step(read_into(p.is_like_enabled, f.boolean("IsLikeEnabled")));
  step(read_into(p.is_gift_enabled, f.boolean("IsGiftEnabled")));
  step(read_into(p.is_unlimited_room_enabled, f.boolean("IsUnlimitedRoomEnabled")));
  step(read_into(p.keep_owner_on_seat, f.boolean("KeepOwnerOnSeat")));
  step(read_into(p.cover_url, f.text("CoverURL", domain::kMaxUrlBytes)));
  step(read_into(p.background_url, f.text("BackgroundURL", domain::kMaxUrlBytes)));
  step(read_into(p.notice, f.text("Notice", domain::kMaxNoticeBytes)));
  step(read_into(p.custom_info, f.text("CustomInfo", domain::kMaxCustomInfoBytes)));
  step(read_into(p.category, f.integer_array("Category", domain::kMaxCategories)));
  step(read_into(p.activity_status, f.integer("ActivityStatus")));
  if (!ok) return std::unexpected(ok.error());
  return p;
}

namespace {

json::array category_json(const std::vector<int64_t>& category, json::storage_ptr sp) {
  json::array arr(sp);
  for (int64_t c : category) arr.emplace_back(c);
  return arr;
}

json::object statistic_json(const domain::RoomStatistic& s, json::storage_ptr sp) {
  json::object o(sp);
  o["TotalViewers"] = s.total_viewers;
  o["TotalGiftsSent"] = s.total_gifts_sent;
  o["TotalGiftCoins"] = s.total_gift_coins;
  o["TotalUniqueGiftSenders"] = s.total_unique_gift_senders;
  o["TotalLikesReceived"] = s.total_likes_received;
  o["TotalMsgCount"] = s.total_msg_count;
  return o;
}

Result<Reply> create_room(Services& s, Call& call) {
  Fields body(call.body);
  auto info = body.required_object("RoomInfo");
  if (!info) return error_of(info);
  auto room_id = room_id_field(*info);
  if (!room_id) return error_of(room_id);
  auto type = info->required_text("RoomType", SIZE_MAX);
  if (!type) return error_of(type);
  if (*type != "Live") {
    return fail(Code::kNotPermitted,
                fmt::format("RoomInfo.RoomType must be \"Live\", not \"{}\"", *type));
  }
  auto owner = info->account("Owner_Account");
  if (!owner) return error_of(owner);
  auto patch = decode_room_patch(*info);
  if (!patch) return error_of(patch);
  std::string owner_id(*owner && !(*owner)->empty() ? **owner : call.identifier);
  auto created = s.engine.create_room(call.sdkappid, std::string(*room_id), std::move(owner_id),
                                      *patch, call.fence, call.actor());
  if (!created) return error_of(created);
  Reply reply{json::object(call.storage)};
  reply.fields["RoomId"] = *room_id;
  return reply;
}

Result<Reply> destroy_room(Services& s, Call& call) {
  auto room_id = room_id_field(Fields(call.body));
  if (!room_id) return error_of(room_id);
  auto stats = s.engine.destroy_room(call.sdkappid, *room_id, call.fence, call.actor());
  if (!stats) return error_of(stats);
  Reply reply{json::object(call.storage)};
  reply.fields["Statistic"] = statistic_json(*stats, call.storage);
  return reply;
}

Result<Reply> update_room_info(Services& s, Call& call) {
  auto info = Fields(call.body).required_object("RoomInfo");
  if (!info) return error_of(info);
  auto room_id = room_id_field(*info);
  if (!room_id) return error_of(room_id);
  auto patch = decode_room_patch(*info);
  if (!patch) return error_of(patch);
  auto updated = s.engine.update_room(call.sdkappid, *room_id, *patch, call.fence, call.actor());
  if (!updated) return error_of(updated);
  return Reply{json::object(call.storage)};
}

Result<Reply> get_room_info(Services& s, Call& call) {
  auto room_id = room_id_field(Fields(call.body));
  if (!room_id) return error_of(room_id);
  Reply reply{json::object(call.storage)};
  reply.raw_members.reserve(640);
  auto read = s.engine.read_room_with_members(call.sdkappid, *room_id, call.fence,
                                              [&](const domain::Room& r, size_t members) {
                                                JsonWriter w(reply.raw_members);
                                                w.key("RoomInfo").begin_object();
                                                domain::write_room_info(w, r, members);
                                                w.end_object();
                                                return true;
                                              });
  if (!read) return error_of(read);
  return reply;
}

Result<Reply> get_room_stats(Services& s, Call& call) {
  auto room_id = room_id_field(Fields(call.body));
  if (!room_id) return error_of(room_id);
  auto stats = s.engine.read_room(call.sdkappid, *room_id, call.fence,
                                  [](const domain::Room& r) { return domain::statistic_of(r); });
  if (!stats) return error_of(stats);
  return Reply{statistic_json(*stats, call.storage)};
}

Result<Reply> get_room_list(Services& s, Call& call) {
  Fields f(call.body);
  auto next = f.text("Next", 256);
  if (!next) return error_of(next);
  auto count = f.integer("Count", 1, INT64_MAX);
  if (!count) return error_of(count);
  const size_t page_size = std::min<size_t>(count->value_or(kMaxListPage), kMaxListPage);
  auto page = s.engine.list_rooms(call.sdkappid, next->value_or(""), page_size, call.fence);
  if (!page) return error_of(page);

  json::array rooms(call.storage);
  rooms.reserve(page->rooms.size());
  for (const auto& r : page->rooms) {
    json::object o(call.storage);
    o["RoomId"] = r.room_id;
    o["RoomName"] = r.name;
    o["Owner_Account"] = r.owner;
    o["CoverURL"] = r.cover_url;
    o["Category"] = category_json(r.category, call.storage);
    o["CreateTime"] = r.create_time;
    o["ActivityStatus"] = r.activity_status;
    o["ViewCount"] = r.view_count;
    rooms.emplace_back(std::move(o));
  }
  Reply reply{json::object(call.storage)};
  reply.fields["Next"] = page->next;
  reply.fields["RoomList"] = std::move(rooms);
  return reply;
}

constexpr std::array<CommandSpec, 7> kCommands{{
    {"live_engine_http_srv/create_room", create_room},
    {"live_engine_http_srv/destroy_room", destroy_room},
    {"live_engine_http_srv/update_room_info", update_room_info},
    {"live_engine_http_srv/get_room_info", get_room_info},
    {"live_engine_http_srv/get_room_list", get_room_list},
    {"live_engine_http_srv/get_room_stats", get_room_stats},
    {"live_engine_http_srv/get_room_statistic", get_room_stats},
}};

}  // namespace

std::span<const CommandSpec> room_commands() {
  return kCommands;
}

}  // namespace liveroom::api
