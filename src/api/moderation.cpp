// Admins, bans, mutes and robots of live_engine_http_srv (spec §2.2, §2.5): the durable part of a
// room's audience management, which the official console's live-control page and OBS flow use.
// (Online members and the realtime gateway that enforces bans and mutes come with the
// live-audience work.)
#include <array>

#include <fmt/format.h>

#include "api/command.h"
#include "api/fields.h"

namespace liveroom::api {

namespace json = boost::json;

namespace {

constexpr size_t kMaxReasonBytes = 256;
constexpr int64_t kMaxRestrictSeconds = 10LL * 365 * 86'400;

// A required list of account ids, 1 to `max_items` long.
Result<std::vector<std::string>> members_field(const Fields& f, std::string_view key,
                                               size_t max_items) {
  auto list = f.account_array(key, max_items);
  if (!list) return std::unexpected(list.error());
  if (!*list || (*list)->empty()) {
    return std::unexpected(f.invalid(key, fmt::format("must list 1 to {} accounts", max_items)));
  }
  for (size_t i = 0; i < (*list)->size(); ++i) {
    if (auto ok = domain::check_user_id((**list)[i], fmt::format("{}[{}]", f.name(key), i)); !ok) {
      return std::unexpected(ok.error());
    }
  }
  return std::move(**list);
}

Reply user_list_reply(Call& call, std::string_view key, const std::vector<std::string>& users) {
  Reply reply{json::object(call.storage)};
  json::array list(call.storage);
  for (const auto& u : users) list.emplace_back(json::string(u, call.storage));
  reply.fields[key] = std::move(list);
  return reply;
}

Result<Reply> get_admin_list(Services& s, Call& call) {
  auto room_id = room_id_field(Fields(call.body));
  if (!room_id) return std::unexpected(room_id.error());
  auto admins = s.engine.read_room(call.sdkappid, *room_id, call.fence,
                                   [](const domain::Room& r) { return r.moderation.admins; });
  if (!admins) return std::unexpected(admins.error());
  return user_list_reply(call, "Admin_Account", *admins);
}

// spec §2.2: every online member (and robot), ordered by account, cursor in Next ("" first and
// at the end). MemberCount is exact and current: no 1000 cap, no 40 s staleness.
Result<Reply> get_member_list(Services& s, Call& call) {
  Fields f(call.body);
  auto room_id = room_id_field(f);
  if (!room_id) return std::unexpected(room_id.error());
  auto next = f.text("Next", 1024);
  if (!next) return std::unexpected(next.error());
  auto count = f.integer("Count", 1, 1000);  // liveroom: page size, default 100
  if (!count) return std::unexpected(count.error());
  auto page = s.engine.list_members(call.sdkappid, *room_id, next->value_or(""),
                                    static_cast<size_t>(count->value_or(100)), call.fence);
  if (!page) return std::unexpected(page.error());
  Reply reply{json::object(call.storage)};
  json::array list(call.storage);
  list.reserve(page->members.size());
  for (const auto& [member, role] : page->members) {
    json::object o(call.storage);
    o["Member_Account"] = member;
    list.emplace_back(std::move(o));
  }
  reply.fields["Next"] = page->next;
  reply.fields["MemberCount"] = page->member_count;
  reply.fields["MemberList"] = std::move(list);
  return reply;
}

Result<Reply> modify_admin(Services& s, Call& call) {
  Fields f(call.body);
  auto room_id = room_id_field(f);
  if (!room_id) return std::unexpected(room_id.error());
  auto admins = members_field(f, "Admin_Account", domain::kMaxAdmins);
  if (!admins) return std::unexpected(admins.error());
  auto op = f.required_text("OpType", 16);
  if (!op) return std::unexpected(op.error());
  if (*op != "add" && *op != "delete") {
    return std::unexpected(f.invalid("OpType", "must be \"add\" or \"delete\""));
  }
  auto ok = s.engine.modify_admins(
      call.sdkappid, *room_id, *admins,
      *op == "add" ? engine::RoomEngine::AdminOp::kAdd : engine::RoomEngine::AdminOp::kDelete,
      call.fence, call.actor());
  if (!ok) return std::unexpected(ok.error());
  return Reply{json::object(call.storage)};
}

Result<Reply> ban_member(Services& s, Call& call) {
  Fields f(call.body);
  auto room_id = room_id_field(f);
  if (!room_id) return std::unexpected(room_id.error());
  auto members = members_field(f, "MemberList_Account", domain::kMaxMembersPerModerationCall);
  if (!members) return std::unexpected(members.error());
  auto duration = f.integer("Duration", 1, kMaxRestrictSeconds);
  if (!duration) return std::unexpected(duration.error());
  if (!*duration) return std::unexpected(f.invalid("Duration", "is required (seconds)"));
  auto reason = f.text("Reason", kMaxReasonBytes);
  if (!reason) return std::unexpected(reason.error());
  auto ok = s.engine.ban_members(call.sdkappid, *room_id, *members, **duration,
                                 std::string(reason->value_or("")), call.fence);
  if (!ok) return std::unexpected(ok.error());
  return Reply{json::object(call.storage)};
}

Result<Reply> unban_member(Services& s, Call& call) {
  Fields f(call.body);
  auto room_id = room_id_field(f);
  if (!room_id) return std::unexpected(room_id.error());
  auto members = members_field(f, "MemberList_Account", domain::kMaxMembersPerModerationCall);
  if (!members) return std::unexpected(members.error());
  auto ok = s.engine.ban_members(call.sdkappid, *room_id, *members, 0, "", call.fence);
  if (!ok) return std::unexpected(ok.error());
  return Reply{json::object(call.storage)};
}

Result<Reply> get_banned_member_list(Services& s, Call& call) {
  Fields f(call.body);
  auto room_id = room_id_field(f);
  if (!room_id) return std::unexpected(room_id.error());
  auto offset = f.integer("Offset", 0, INT32_MAX);
  if (!offset) return std::unexpected(offset.error());
  auto limit = f.integer("Limit", 1, 100);
  if (!limit) return std::unexpected(limit.error());
  const int64_t now = s.clock.unix_seconds();
  auto bans = s.engine.read_room(call.sdkappid, *room_id, call.fence, [&](const domain::Room& r) {
    return domain::active(r.moderation.bans, now);
  });
  if (!bans) return std::unexpected(bans.error());
  const size_t from = std::min<size_t>(static_cast<size_t>(offset->value_or(0)), bans->size());
  const size_t to =
      std::min<size_t>(from + static_cast<size_t>(limit->value_or(100)), bans->size());
  json::array list(call.storage);
  for (size_t i = from; i < to; ++i) {
    json::object o(call.storage);
    o["Member_Account"] = (*bans)[i].user_id;
    o["BannedUntil"] = (*bans)[i].until;
    o["Reason"] = (*bans)[i].reason;
    list.emplace_back(std::move(o));
  }
  Reply reply{json::object(call.storage)};
  reply.fields["BannedAccountList"] = std::move(list);
  reply.fields["NextOffset"] = to < bans->size() ? static_cast<int64_t>(to) : 0;
  return reply;
}

Result<Reply> mute_member(Services& s, Call& call) {
  Fields f(call.body);
  auto room_id = room_id_field(f);
  if (!room_id) return std::unexpected(room_id.error());
  auto members = members_field(f, "MemberList_Account", 100);
  if (!members) return std::unexpected(members.error());
  auto mute_time = f.integer("MuteTime", 0, kMaxRestrictSeconds);  // 0 unmutes
  if (!mute_time) return std::unexpected(mute_time.error());
  if (!*mute_time)
    return std::unexpected(f.invalid("MuteTime", "is required (seconds, 0 unmutes)"));
  auto ok = s.engine.mute_members(call.sdkappid, *room_id, *members, **mute_time, call.fence);
  if (!ok) return std::unexpected(ok.error());
  return Reply{json::object(call.storage)};
}

Result<Reply> get_muted_member_list(Services& s, Call& call) {
  auto room_id = room_id_field(Fields(call.body));
  if (!room_id) return std::unexpected(room_id.error());
  const int64_t now = s.clock.unix_seconds();
  auto mutes = s.engine.read_room(call.sdkappid, *room_id, call.fence, [&](const domain::Room& r) {
    return domain::active(r.moderation.mutes, now);
  });
  if (!mutes) return std::unexpected(mutes.error());
  json::array list(call.storage);
  for (const auto& m : *mutes) {
    json::object o(call.storage);
    o["Member_Account"] = m.user_id;
    o["MutedUntil"] = m.until;
    list.emplace_back(std::move(o));
  }
  Reply reply{json::object(call.storage)};
  reply.fields["MutedAccountList"] = std::move(list);
  return reply;
}

Result<Reply> add_robot(Services& s, Call& call) {
  Fields f(call.body);
  auto room_id = room_id_field(f);
  if (!room_id) return std::unexpected(room_id.error());
  auto robots = members_field(f, "RobotList_Account", domain::kMaxRobots);
  if (!robots) return std::unexpected(robots.error());
  auto ok = s.engine.add_robots(call.sdkappid, *room_id, *robots, call.fence);
  if (!ok) return std::unexpected(ok.error());
  return Reply{json::object(call.storage)};
}

Result<Reply> del_robot(Services& s, Call& call) {
  Fields f(call.body);
  auto room_id = room_id_field(f);
  if (!room_id) return std::unexpected(room_id.error());
  auto robots = members_field(f, "RobotList_Account", domain::kMaxRobots);
  if (!robots) return std::unexpected(robots.error());
  auto ok = s.engine.delete_robots(call.sdkappid, *room_id, *robots, call.fence);
  if (!ok) return std::unexpected(ok.error());
  return Reply{json::object(call.storage)};
}

Result<Reply> get_robot(Services& s, Call& call) {
  auto room_id = room_id_field(Fields(call.body));
  if (!room_id) return std::unexpected(room_id.error());
  auto robots = s.engine.read_room(call.sdkappid, *room_id, call.fence,
                                   [](const domain::Room& r) { return r.moderation.robots; });
  if (!robots) return std::unexpected(robots.error());
  return user_list_reply(call, "RobotList_Account", *robots);
}

constexpr std::array<CommandSpec, 11> kCommands{{
    {"live_engine_http_srv/get_member_list", get_member_list},
    {"live_engine_http_srv/get_admin_list", get_admin_list},
    {"live_engine_http_srv/modify_admin", modify_admin},
    {"live_engine_http_srv/ban_member", ban_member},
    {"live_engine_http_srv/unban_member", unban_member},
    {"live_engine_http_srv/get_banned_member_list", get_banned_member_list},
    {"live_engine_http_srv/mute_member", mute_member},
    {"live_engine_http_srv/get_muted_member_list", get_muted_member_list},
    {"live_engine_http_srv/add_robot", add_robot},
    {"live_engine_http_srv/del_robot", del_robot},
    {"live_engine_http_srv/get_robot", get_robot},
}};

}  // namespace

std::span<const CommandSpec> moderation_commands() {
  return kCommands;
}

}  // namespace liveroom::api
