// Room moderation (spec §2.2, §2.5): admins, bans, mutes and robots, and how a new moderation
// document reaches the online members.
#include <algorithm>
#include <set>
#include <utility>

#include <fmt/format.h>

#include "engine/room_engine_internal.h"
#include "engine/room_events.h"

namespace liveroom::engine {

void RoomEngine::apply_moderation(AppState& a, RoomShard& shard, RoomEntry& entry,
                                  domain::RoomModeration next, const Actor& actor, ReadFence& fence,
                                  std::vector<store::Change> changes, PendingEvents events) {
  const std::string& room_id = entry.room.room_id;
  const int64_t now = clock_.unix_seconds();
  const domain::RoomModeration& before = entry.room.moderation;
  Presence* presence = entry.presence.get();

  // Online members who are banned now leave the room (and their seats) in the same commit.
  std::vector<std::pair<std::string, int64_t>> banned_out;
  if (presence) {
    for (const auto& ban : next.bans) {
      if (ban.until <= now) continue;  // expired (not copied out: this runs on every seat change)
      auto it = presence->members.find(ban.user_id);
      if (it == presence->members.end() || it->second.robot) continue;
      banned_out.emplace_back(ban.user_id, ban.until);
      for (auto& seat : next.seats) {
        if (seat.member == ban.user_id) seat.member.clear();
      }
    }
    next.seats = normalized_seats(std::move(next.seats));
  }
  const bool seats_changed = next.seats != before.seats;
  if (seats_changed) {
    domain::Room view = columns_of(entry.room);
    view.moderation.seats = next.seats;
    emit_seat_list(a, shard, room_id, domain::seats_of(view), actor, changes, events);
  }
  changes.insert(changes.begin(), store::PutRoomModeration{a.options.sdkappid, room_id, next});
  const uint64_t seq = submit(std::move(changes), std::move(events));
  fence.observe(seq);
  domain::RoomModeration previous = std::exchange(entry.room.moderation, std::move(next));
  entry.seq = seq;
  if (!presence && !entry.room.moderation.robots.empty()) {
    entry.presence = std::make_unique<Presence>();
    presence = entry.presence.get();
  }
  if (!presence) return;

  // Robots are members while they are in the robot list; the audience hears of them as of any
  // member coming or going (member counts).
  const auto& robots = entry.room.moderation.robots;
  std::vector<std::string> robots_in, robots_out;
  for (const auto& robot : robots) {
    if (presence->members.contains(robot)) continue;
    presence->members[robot].robot = true;
    robots_in.push_back(robot);
  }
  std::erase_if(presence->members, [&](const auto& m) {
    const bool gone =
        m.second.robot && std::find(robots.begin(), robots.end(), m.first) == robots.end();
    if (gone) robots_out.push_back(m.first);
    return gone;
  });

  RoomAudience* audience = presence->audience.get();
  if (audience) {
    const size_t count = presence->members.size();
    for (const auto& robot : robots_out) {
      audience->left(seq, robot, nullptr, count, LeaveCause::kLeft, 0);
    }
    for (const auto& robot : robots_in) audience->entered(seq, robot, nullptr, count, false);
  }
  for (const auto& [user, until] : banned_out) {
    auto it = presence->members.find(user);
    ConnectionPtr connection = std::move(it->second.connection);
    presence->members.erase(it);
    std::erase_if(presence->seat_requests, [&](const auto& r) { return r.second.member == user; });
    if (audience) {
      audience->left(seq, user, connection, presence->members.size(), LeaveCause::kBanned, until);
    }
  }
  after_members_changed(a, entry);
  if (!audience) return;
  if (seats_changed) audience->seats_changed(seq, domain::seats_of(entry.room));
  // Only users named in the mute or admin lists can have changed: look at them, not at every
  // member (a room may have thousands).
  std::set<std::string_view> named;
  for (const auto* list : {&previous.mutes, &entry.room.moderation.mutes}) {
    for (const auto& r : *list) named.insert(r.user_id);
  }
  for (const auto* list : {&previous.admins, &entry.room.moderation.admins}) {
    for (const auto& user : *list) named.insert(user);
  }
  for (std::string_view name : named) {
    auto it = presence->members.find(name);
    if (it == presence->members.end() || !it->second.connection) continue;
    const std::string& user = it->first;
    const ConnectionPtr& connection = it->second.connection;
    const int64_t muted_before = domain::restricted_until(previous.mutes, user, now);
    const int64_t muted_after = domain::restricted_until(entry.room.moderation.mutes, user, now);
    if (muted_before != muted_after) audience->notify(seq, connection, MutedNotice{muted_after});
    const bool admin_before =
        std::find(previous.admins.begin(), previous.admins.end(), user) != previous.admins.end();
    const bool admin_after =
        std::find(entry.room.moderation.admins.begin(), entry.room.moderation.admins.end(), user) !=
        entry.room.moderation.admins.end();
    if (admin_before != admin_after) {
      audience->notify(seq, connection, RoleNotice{role_in(entry.room, user)});
    }
  }
}

Result<void> RoomEngine::modify_admins(uint32_t sdkappid, std::string_view room_id,
                                       const std::vector<std::string>& users, AdminOp op,
                                       ReadFence& fence, const Actor& actor) {
  std::vector<std::string> imports;
  auto done = moderate(
      sdkappid, room_id, fence,
      [&](domain::RoomModeration& m, AppState& a, RoomEntry&) -> Result<void> {
        for (const auto& user : users) {
          auto it = std::find(m.admins.begin(), m.admins.end(), user);
          if (op == AdminOp::kDelete) {
            if (it != m.admins.end()) m.admins.erase(it);
            continue;
          }
          if (it != m.admins.end()) continue;
          if (auto ok = require_account(a, user, "Admin_Account", fence, imports); !ok) return ok;
          m.admins.push_back(user);
        }
        if (m.admins.size() > domain::kMaxAdmins) {
          return fail(Code::kTooManyAdmins,
                      fmt::format("room '{}' would have {} admins; at most {}", room_id,
                                  m.admins.size(), domain::kMaxAdmins));
        }
        return {};
      },
      [&](AppState& a, RoomShard& shard, std::vector<store::Change>& changes,
          PendingEvents& events) {
        import_pending(sdkappid, imports, changes);
        emit(
            a, shard, room_id, "Live.CallbackAfterModifyAdmin",
            [&] {
              return modify_admin_payload(room_id, users, op == AdminOp::kAdd ? "add" : "delete",
                                          actor.operator_account, clock_.unix_millis());
            },
            actor, changes, events);
      });
  // An account to import means the list changed, so the moderation was committed (fence.seq).
  if (done && !imports.empty()) imported(*app(sdkappid), imports, fence.seq);
  return done;
}

Result<void> RoomEngine::ban_members(uint32_t sdkappid, std::string_view room_id,
                                     const std::vector<std::string>& users,
                                     int64_t duration_seconds, const std::string& reason,
                                     ReadFence& fence) {
  const int64_t now = clock_.unix_seconds();
  return moderate(
      sdkappid, room_id, fence,
      [&](domain::RoomModeration& m, AppState&, RoomEntry& entry) -> Result<void> {
        const domain::Room& room = entry.room;
        for (const auto& user : users) {
          if (user == room.owner && duration_seconds > 0) {
            return fail(Code::kNotPermitted,
                        fmt::format("'{}' owns room '{}' and cannot be banned", user, room_id));
          }
          domain::restrict_user(m.bans, user, duration_seconds > 0 ? now + duration_seconds : 0,
                                reason, now);
        }
        return {};
      },
      no_events);
}

Result<void> RoomEngine::mute_members(uint32_t sdkappid, std::string_view room_id,
                                      const std::vector<std::string>& users,
                                      int64_t duration_seconds, ReadFence& fence) {
  const int64_t now = clock_.unix_seconds();
  return moderate(
      sdkappid, room_id, fence,
      [&](domain::RoomModeration& m, AppState&, RoomEntry&) -> Result<void> {
        for (const auto& user : users) {
          domain::restrict_user(m.mutes, user, duration_seconds > 0 ? now + duration_seconds : 0,
                                "", now);
        }
        return {};
      },
      no_events);
}

Result<void> RoomEngine::add_robots(uint32_t sdkappid, std::string_view room_id,
                                    const std::vector<std::string>& robots, ReadFence& fence) {
  std::vector<std::string> imports;
  auto done = moderate(
      sdkappid, room_id, fence,
      [&](domain::RoomModeration& m, AppState& a, RoomEntry&) -> Result<void> {
        for (const auto& robot : robots) {
          if (std::find(m.robots.begin(), m.robots.end(), robot) != m.robots.end()) continue;
          if (auto ok = require_account(a, robot, "RobotList_Account", fence, imports); !ok) {
            return ok;
          }
          m.robots.push_back(robot);
        }
        if (m.robots.size() > domain::kMaxRobots) {
          return fail(Code::kInvalidParameter,
                      fmt::format("room '{}' would have {} robots; at most {}", room_id,
                                  m.robots.size(), domain::kMaxRobots));
        }
        return {};
      },
      [&](AppState&, RoomShard&, std::vector<store::Change>& changes, PendingEvents&) {
        import_pending(sdkappid, imports, changes);
      });
  if (done && !imports.empty()) imported(*app(sdkappid), imports, fence.seq);
  return done;
}

Result<void> RoomEngine::delete_robots(uint32_t sdkappid, std::string_view room_id,
                                       const std::vector<std::string>& robots, ReadFence& fence) {
  return moderate(
      sdkappid, room_id, fence,
      [&](domain::RoomModeration& m, AppState&, RoomEntry&) -> Result<void> {
        auto removed = [&](const std::string& r) {
          return std::find(robots.begin(), robots.end(), r) != robots.end();
        };
        std::erase_if(m.robots, removed);
        for (auto& seat : m.seats) {
          if (!seat.member.empty() && removed(seat.member)) seat.member.clear();  // robots leave
        }
        return {};
      },
      no_events);
}

}  // namespace liveroom::engine
