// Placement by room (docs/cluster.md): which room a REST call is about, so that a node sends it to
// the host of that room's slot. The same body reading as the command's own handler (Fields), so
// the call lands where the room it names lives; a call about no room, or one whose room field is
// missing or malformed, is the app's (its slot 0 host answers it, with the error a single node
// would give).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace liveroom::api {

// `path` is the request's path ("/v4/<service>/<command>"), `body` its raw body. The RoomId (or
// GroupId, FromRoomId, BattleId) whose slot decides the host; none for an app-wide call.
std::optional<std::string> room_of_call(std::string_view path, std::string_view body);

}  // namespace liveroom::api
