// The gateway's co-hosting requests (docs/client-protocol.md): the owner of a live room asks the
// owners of other rooms to share the stage, answers such a request, cancels its own, or leaves
// its connection. The engine keeps the state (engine/cohosting.cpp).
#include <fmt/format.h>

#include "base/json_writer.h"
#include "engine/room_engine.h"
#include "gateway/client_session.h"
#include "gateway/gateway.h"
#include "gateway/request_fields.h"
#include "gateway/room_channel.h"

namespace liveroom::gateway {

using api::Fields;

namespace {

constexpr size_t kMaxRoomsPerRequest = engine::kMaxCoHostRooms - 1;
constexpr int64_t kMaxRequestTimeoutMs = 60'000;
constexpr size_t kMaxExtensionBytes = 1024;

}  // namespace

ClientSession::Data ClientSession::do_cohost_request(Request& r) {
  auto room_id = current_room(r);
  if (!room_id) return std::unexpected(room_id.error());
  Fields f(r.body);
  auto to_rooms = param(f.text_array("ToRoomIdList", kMaxRoomsPerRequest, 48));
  if (!to_rooms) return std::unexpected(to_rooms.error());
  if (!*to_rooms || (*to_rooms)->empty()) {
    return fail(Code::kClientBadParameter, "ToRoomIdList must name at least one room");
  }
  auto timeout = param(f.integer("TimeoutMs", 1'000, kMaxRequestTimeoutMs));
  if (!timeout) return std::unexpected(timeout.error());
  auto extension = param(f.text("ExtensionInfo", kMaxExtensionBytes));
  if (!extension) return std::unexpected(extension.error());
  auto answers = gateway_.engine_.request_cohost(sdkappid_, *room_id, user_, **to_rooms,
                                                 timeout->value_or(engine::kDefaultCoHostTimeoutMs),
                                                 std::string(extension->value_or("")));
  if (!answers) return std::unexpected(answers.error());
  std::string out;
  JsonWriter w(out);
  w.begin_object().key("Results").begin_array();
  for (const auto& a : *answers) {
    w.begin_object()
        .field("RoomId", a.room_id)
        .field("Code", static_cast<int64_t>(wire_code(a.code)))
        .field("Message", a.message)
        .field("RequestId", a.request_id)
        .end_object();
  }
  w.end_array().end_object();
  return out;
}

ClientSession::Data ClientSession::do_cohost_respond(Request& r) {
  auto room_id = current_room(r);
  if (!room_id) return std::unexpected(room_id.error());
  Fields f(r.body);
  auto request_id = param(f.required_text("RequestId", 64));
  if (!request_id) return std::unexpected(request_id.error());
  auto accept = required_accept(f);
  if (!accept) return std::unexpected(accept.error());
  auto ok = gateway_.engine_.respond_cohost(sdkappid_, *room_id, user_, *request_id, *accept);
  if (!ok) return std::unexpected(ok.error());
  return std::string("{}");
}

ClientSession::Data ClientSession::do_cohost_cancel(Request& r) {
  auto room_id = current_room(r);
  if (!room_id) return std::unexpected(room_id.error());
  auto request_id = param(Fields(r.body).required_text("RequestId", 64));
  if (!request_id) return std::unexpected(request_id.error());
  auto ok = gateway_.engine_.cancel_cohost(sdkappid_, *room_id, user_, *request_id);
  if (!ok) return std::unexpected(ok.error());
  return std::string("{}");
}

ClientSession::Data ClientSession::do_cohost_disconnect(Request& r) {
  auto room_id = current_room(r);
  if (!room_id) return std::unexpected(room_id.error());
  auto ok = gateway_.engine_.disconnect_cohost(sdkappid_, *room_id, user_);
  if (!ok) return std::unexpected(ok.error());
  return std::string("{}");
}

ClientSession::Data ClientSession::do_get_cohost(Request& r) {
  auto room_id = current_room(r);
  if (!room_id) return std::unexpected(room_id.error());
  std::string out;
  JsonWriter w(out);
  w.begin_object().key("CoHostList");
  write_cohost_list(w, gateway_.engine_.cohost_rooms(sdkappid_, *room_id));
  w.end_object();
  return out;
}

}  // namespace liveroom::gateway
