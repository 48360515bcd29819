// One client connection: its login, the room it is in, and its requests. Everything here runs on
// the connection's I/O thread; other threads reach it through its peer's post().
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "base/error.h"
#include "engine/audience.h"
#include "engine/room_engine.h"
#include "server/websocket.h"

namespace liveroom::gateway {

class Gateway;
class RoomChannel;
using Frame = std::shared_ptr<const std::string>;

class ClientSession final : public server::WebSocketSession,
                            public engine::MemberConnection,
                            public std::enable_shared_from_this<ClientSession> {
 public:
  ClientSession(Gateway& gateway, std::shared_ptr<server::WebSocketPeer> peer);

  void on_text(std::string_view text) override;
  void on_close() override;
  // From any thread: the connection closes with `code` (what was queued goes first).
  void close(uint16_t code, std::string reason) { peer_->close(code, std::move(reason)); }

  // Logs in from the upgrade's query string (sdkappid, identifier, usersig), if it has them.
  void login_from_query(std::string_view target);

  // --- on the I/O thread, for RoomChannel ---
  void push(const Frame& frame) { peer_->send_here(frame); }
  void push(std::span<const Frame> frames) { peer_->send_here(frames); }
  size_t worker() const { return peer_->worker(); }
  server::SharedLink* shared_link() const { return peer_->shared_link(); }
  uint64_t shared_link_id() const { return peer_->shared_link_id(); }
  // The engine took this connection out of `room_id` (left, kicked, banned, dismissed).
  void left_room(uint32_t sdkappid, const std::string& room_id);
  // Where RoomChannel keeps this session in its list for this thread.
  RoomChannel* listed_in = nullptr;
  size_t slot = 0;

  // --- from any thread ---
  // A newer login of the same user: say so, then close.
  void replaced();
  // The login deadline passed: closes the connection unless it has logged in meanwhile.
  void login_deadline();

 private:
  struct Request {
    const boost::json::value* id;
    const boost::json::object& body;
    engine::ReadFence fence;
    bool deferred = false;  // the handler replies later, from another thread
  };
  using Data = Result<std::string>;  // the reply's data object, serialized

  void handle(Request& request, std::string_view op);
  void reply(const boost::json::value* id, const Data& data, const engine::ReadFence& fence);
  bool allow_request();

  Data do_login(Request& r);
  Data do_enter(Request& r);
  Data do_leave(Request& r);
  Data do_get_members(Request& r);
  Data do_get_current_room(Request& r);
  Data do_take_seat(Request& r);
  Data do_leave_seat(Request& r);
  Data do_cancel_seat_request(Request& r);
  Data do_respond_seat_request(Request& r);
  Data do_invite_to_seat(Request& r);
  Data do_kick_off_seat(Request& r);
  Data do_lock_seat(Request& r);
  Data do_move_seat(Request& r);
  Data do_send_text(Request& r);
  Data do_send_custom(Request& r);
  Data do_like(Request& r);
  Data do_get_gift_list(Request& r);
  Data do_send_gift(Request& r);
  Data do_cohost_request(Request& r);
  Data do_cohost_respond(Request& r);
  Data do_cohost_cancel(Request& r);
  Data do_cohost_disconnect(Request& r);
  Data do_get_cohost(Request& r);
  Data do_battle_request(Request& r);
  Data do_battle_respond(Request& r);
  Data do_battle_leave(Request& r);
  Data do_get_battle(Request& r);
  Data do_update_room_info(Request& r);
  Data do_kick_member(Request& r);
  Data do_ban_member(Request& r);
  Data do_mute_member(Request& r);
  Data do_set_admin(Request& r);
  Data do_dismiss(Request& r);

  // The RoomId of a request, which must be the room this connection is in (-2101).
  Result<std::string> current_room(const Request& r) const;
  engine::Actor actor() const { return {user_, peer_->remote_address()}; }
  Data send_message(Request& r, std::string msg_body, std::string cloud_custom_data);
  // The reply to a send_gift the engine counted (or had counted: `repeated`).
  static Data sent_gift_data(const engine::SentGift& sent);

  Gateway& gateway_;
  std::shared_ptr<server::WebSocketPeer> peer_;
  bool logged_in_ = false;
  uint32_t sdkappid_ = 0;
  std::string user_;
  std::string room_id_;  // "" when in no room
  // Request rate: a token bucket of 100/s that holds up to 200 (docs/client-protocol.md).
  double tokens_ = 200;
  int64_t tokens_at_ms_ = 0;
};

}  // namespace liveroom::gateway
