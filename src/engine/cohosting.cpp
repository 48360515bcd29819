// Co-hosting (the client SDK's CoHostStore): the owner of a live room asks the owners of other
// rooms to share the stage; an accepted request connects the rooms. Every member of a connected
// room sees which rooms are connected (CoHostChanged) and each room keeps its own chat and seats.
// A connection is soft state, like presence: it ends when a room is dismissed, when its owner
// goes offline, or when a restart happens; requests end when answered, cancelled or timed out.
//
// Locking: the state lives in AppState::cross under cross.mu, taken before any room's lock.
// Code that runs under a room's lock (a dismissal, a lost connection) only notes the room in
// cross.unsettled; settle_cross_room() does the rest right after, or at the next tick().
#include <algorithm>

#include <fmt/format.h>

#include "engine/room_engine_internal.h"

namespace liveroom::engine {

std::string_view to_string(CoHostResult result) {
  switch (result) {
    case CoHostResult::kAccepted:
      return "Accepted";
    case CoHostResult::kRejected:
      return "Rejected";
    case CoHostResult::kCancelled:
      return "Cancelled";
    case CoHostResult::kTimedOut:
      return "TimedOut";
  }
  return "Cancelled";
}

void RoomEngine::unsettle(AppState& a, std::string room_id) {
  {
    std::lock_guard lock(a.cross.unsettled_mu);
    a.cross.unsettled.push_back(std::move(room_id));
  }
  timed_work_added();
}

Result<void> RoomEngine::check_online_owner(AppState& a, std::string_view room_id,
                                            std::string_view owner) {
  ReadFence fence;
  return with_room(
      a.options.sdkappid, room_id, fence,
      [&](AppState&, RoomShard&, RoomEntry& entry) -> Result<void> {
        const auto& members =
            entry.presence ? entry.presence->members : decltype(entry.presence->members){};
        auto it = members.find(owner);
        if (it == members.end() || !it->second.connection) {
          return fail(Code::kClientNotInRoom, fmt::format("enter room '{}' first", room_id));
        }
        if (entry.room.owner != owner) {
          return fail(Code::kClientOwnerOnly,
                      fmt::format("only the owner of room '{}' may co-host", room_id));
        }
        return {};
      });
}

std::optional<std::string> RoomEngine::online_owner_of(AppState& a, std::string_view room_id) {
  ReadFence fence;
  auto owner = with_room(a.options.sdkappid, room_id, fence,
                         [&](AppState&, RoomShard&, RoomEntry& entry) -> Result<std::string> {
                           if (!entry.presence) return fail(Code::kClientNotInRoom);
                           auto it = entry.presence->members.find(entry.room.owner);
                           if (it == entry.presence->members.end() || !it->second.connection) {
                             return fail(Code::kClientNotInRoom);
                           }
                           return entry.room.owner;
                         });
  if (!owner) return std::nullopt;
  return *owner;
}

void RoomEngine::tell_owner(AppState& a, std::string_view room_id, const MemberNotice& notice,
                            uint64_t seq) {
  ReadFence fence;
  (void)with_room(a.options.sdkappid, room_id, fence,
                  [&](AppState&, RoomShard&, RoomEntry& entry) -> Result<void> {
                    if (entry.presence) notify_member(entry, seq, entry.room.owner, notice);
                    return {};
                  });
}

void RoomEngine::announce_connection(AppState& a, const std::vector<std::string>& rooms,
                                     const std::vector<std::string>& told) {
  std::vector<CoHostRoom> connected;
  for (const auto& room_id : rooms) {
    ReadFence fence;
    auto owner = read_room(a.options.sdkappid, room_id, fence,
                           [](const domain::Room& room) { return room.owner; });
    if (owner) connected.push_back({room_id, *owner});
  }
  if (connected.size() < 2) connected.clear();  // a room alone is connected with nobody
  for (const auto& room_id : told) {
    ReadFence fence;
    (void)with_room(a.options.sdkappid, room_id, fence,
                    [&](AppState&, RoomShard&, RoomEntry& entry) -> Result<void> {
                      if (entry.presence && entry.presence->audience) {
                        entry.presence->audience->cohost_changed(0, connected);
                      }
                      return {};
                    });
  }
}

void RoomEngine::leave_connection(AppState& a, const std::string& room_id) {
  CrossRoom& x = a.cross;
  auto of = x.connection_of.find(room_id);
  if (of == x.connection_of.end()) return;
  const uint64_t id = of->second;
  x.connection_of.erase(of);
  std::vector<std::string> rooms = std::move(x.connections[id]);
  std::erase(rooms, room_id);
  if (rooms.size() < 2) {
    for (const auto& rest : rooms) x.connection_of.erase(rest);
    x.connections.erase(id);
  } else {
    x.connections[id] = rooms;
  }
  announce_connection(a, rooms, rooms);
  announce_connection(a, {}, {room_id});  // connected with nobody now
}

void RoomEngine::resolve_cohost(AppState& a, const std::string& request_id, CoHostResult result) {
  auto it = a.cross.cohost_requests.find(request_id);
  if (it == a.cross.cohost_requests.end()) return;
  const CoHostRequest request = std::move(it->second);
  a.cross.cohost_requests.erase(it);
  const CoHostResolvedNotice notice{request_id, request.from_room, request.to_room, result};
  tell_owner(a, request.from_room, notice);
  tell_owner(a, request.to_room, notice);
}

Result<std::vector<CoHostInvite>> RoomEngine::request_cohost(
    uint32_t sdkappid, std::string_view room_id, const std::string& owner,
    const std::vector<std::string>& to_rooms, int64_t timeout_ms,
    const std::string& extension_info) {
  return as_online_owner(
      sdkappid, room_id, owner, [&](AppState& a) -> Result<std::vector<CoHostInvite>> {
        CrossRoom& x = a.cross;
        const auto mine = x.connection_of.find(room_id);
        std::vector<CoHostInvite> answers;
        for (const std::string& to : to_rooms) {
          CoHostInvite answer{to, Code::kOk, {}, {}};
          auto refuse = [&](Code code, std::string message) {
            answer.code = code;
            answer.message = std::move(message);
          };
          const auto theirs = x.connection_of.find(to);
          const bool pending = std::ranges::any_of(x.cohost_requests, [&](const auto& entry) {
            const CoHostRequest& r = entry.second;
            return (r.from_room == room_id && r.to_room == to) ||
                   (r.from_room == to && r.to_room == room_id);
          });
          if (to == room_id) {
            refuse(Code::kClientBadParameter, "a room cannot co-host with itself");
          } else if (mine != x.connection_of.end() && theirs != x.connection_of.end() &&
                     mine->second == theirs->second) {
            refuse(Code::kClientRepeated, fmt::format("room '{}' is connected already", to));
          } else if (pending) {
            refuse(Code::kClientRepeated,
                   fmt::format("a co-host request between '{}' and '{}' is pending", room_id, to));
          } else if (theirs != x.connection_of.end()) {
            refuse(Code::kNotPermitted, fmt::format("room '{}' co-hosts with other rooms", to));
          } else if (room_slots_ > 0 && domain::room_slot(to, room_slots_) !=
                                            domain::room_slot(room_id, room_slots_)) {
            refuse(Code::kNotPermitted,
                   fmt::format("room '{}' is in another slot than room '{}' (placement = \"room\" "
                               "connects rooms of one slot only, for now)",
                               to, room_id));
          } else if (ReadFence fence;
                     !read_room(sdkappid, to, fence, [](const domain::Room&) { return true; })) {
            refuse(Code::kClientRoomNotFound, fmt::format("room '{}' does not exist", to));
          } else if (!online_owner_of(a, to)) {
            refuse(Code::kClientUserNotFound,
                   fmt::format("the owner of room '{}' is not online", to));
          } else {
            answer.request_id = fmt::format("cohost-{}", x.next_id++);
            x.cohost_requests.emplace(answer.request_id,
                                      CoHostRequest{std::string(room_id), to, owner,
                                                    clock_.steady_millis() + timeout_ms});
            timed_work_added();  // (its time-out)
            tell_owner(a, to,
                       CoHostRequestNotice{answer.request_id, std::string(room_id), owner,
                                           extension_info, timeout_ms});
          }
          answers.push_back(std::move(answer));
        }
        return answers;
      });
}

Result<void> RoomEngine::respond_cohost(uint32_t sdkappid, std::string_view room_id,
                                        const std::string& owner, std::string_view request_id,
                                        bool accept) {
  return as_online_owner(sdkappid, room_id, owner, [&](AppState& a) -> Result<void> {
    CrossRoom& x = a.cross;
    auto it = x.cohost_requests.find(request_id);
    if (it == x.cohost_requests.end() || it->second.to_room != room_id) {
      return fail(Code::kClientBadParameter,
                  fmt::format("no co-host request '{}' waits for room '{}'", request_id, room_id));
    }
    const std::string id(request_id);
    if (!accept) {
      resolve_cohost(a, id, CoHostResult::kRejected);
      return {};
    }
    const std::string from = it->second.from_room;
    if (!online_owner_of(a, from)) {
      resolve_cohost(a, id, CoHostResult::kCancelled);
      return fail(Code::kClientUserNotFound,
                  fmt::format("the owner of room '{}' is no longer online", from));
    }
    if (x.connection_of.contains(room_id)) {
      resolve_cohost(a, id, CoHostResult::kCancelled);
      return fail(Code::kNotPermitted,
                  fmt::format("room '{}' co-hosts with other rooms; disconnect first", room_id));
    }
    auto mine = x.connection_of.find(from);
    uint64_t connection = 0;
    if (mine == x.connection_of.end()) {
      connection = x.next_id++;
      x.connections[connection] = {from};
      x.connection_of.emplace(from, connection);
    } else {
      connection = mine->second;
    }
    std::vector<std::string>& rooms = x.connections[connection];
    if (rooms.size() >= kMaxCoHostRooms) {
      resolve_cohost(a, id, CoHostResult::kCancelled);
      return fail(Code::kNotPermitted,
                  fmt::format("a co-host connection holds at most {} rooms", kMaxCoHostRooms));
    }
    rooms.push_back(std::string(room_id));
    x.connection_of.emplace(std::string(room_id), connection);
    resolve_cohost(a, id, CoHostResult::kAccepted);
    announce_connection(a, rooms, rooms);
    return {};
  });
}

Result<void> RoomEngine::cancel_cohost(uint32_t sdkappid, std::string_view room_id,
                                       const std::string& owner, std::string_view request_id) {
  return as_online_owner(sdkappid, room_id, owner, [&](AppState& a) -> Result<void> {
    CrossRoom& x = a.cross;
    auto it = x.cohost_requests.find(request_id);
    if (it == x.cohost_requests.end() || it->second.from_room != room_id) {
      return fail(
          Code::kClientBadParameter,
          fmt::format("room '{}' has no pending co-host request '{}'", room_id, request_id));
    }
    resolve_cohost(a, std::string(request_id), CoHostResult::kCancelled);
    return {};
  });
}

Result<void> RoomEngine::disconnect_cohost(uint32_t sdkappid, std::string_view room_id,
                                           const std::string& owner) {
  return as_online_owner(sdkappid, room_id, owner, [&](AppState& a) -> Result<void> {
    CrossRoom& x = a.cross;
    if (!x.connection_of.contains(room_id)) {
      return fail(Code::kClientBadParameter,
                  fmt::format("room '{}' co-hosts with no other room", room_id));
    }
    leave_connection(a, std::string(room_id));
    return {};
  });
}

std::vector<CoHostRoom> RoomEngine::cohost_rooms(uint32_t sdkappid, std::string_view room_id) {
  AppState* a = app(sdkappid);
  if (!a) return {};
  std::vector<std::string> rooms;
  {
    std::lock_guard lock(a->cross.mu);
    auto it = a->cross.connection_of.find(room_id);
    if (it == a->cross.connection_of.end()) return {};
    rooms = a->cross.connections[it->second];
  }
  std::vector<CoHostRoom> connected;
  for (const auto& id : rooms) {
    ReadFence fence;
    auto owner =
        read_room(sdkappid, id, fence, [](const domain::Room& room) { return room.owner; });
    if (owner) connected.push_back({id, *owner});
  }
  return connected;
}

void RoomEngine::settle_cross_room() {
  for (auto& [sdkappid, a] : apps_) settle_cross_room(*a);
}

void RoomEngine::settle_cross_room(AppState& a) {
  CrossRoom& x = a.cross;
  std::vector<std::string> rooms;
  {
    std::lock_guard lock(x.unsettled_mu);
    rooms.swap(x.unsettled);
  }
  std::lock_guard lock(x.mu);
  settle_battles(a, rooms);
  for (const auto& room_id : rooms) {
    leave_connection(a, room_id);
    std::vector<std::string> ended;
    for (const auto& [id, r] : x.cohost_requests) {
      if (r.from_room == room_id || r.to_room == room_id) ended.push_back(id);
    }
    for (const auto& id : ended) resolve_cohost(a, id, CoHostResult::kCancelled);
  }
  const int64_t now = clock_.steady_millis();
  std::vector<std::string> lapsed;
  for (const auto& [id, r] : x.cohost_requests) {
    if (r.deadline <= now) lapsed.push_back(id);
  }
  for (const auto& id : lapsed) resolve_cohost(a, id, CoHostResult::kTimedOut);
}

}  // namespace liveroom::engine
