// Placement by room (docs/cluster.md): a client's connection to the node it reached, whose
// gateway session lives on the host of the room it is in. The session opens on the host of the
// app's slot 0 (a login, the gift list, anything before a room), and each `enter` of a room in
// another slot moves it to that slot's host: a session is opened there (on this node's shard of
// that slot, which serves it or carries it over a link, as any client), the client's login is
// given to it first, and the old session ends. So the room's host sees the member exactly as a
// single node does, its events reach the client in the room's order, and every rule of the
// protocol is the gateway's own.
//
// What the client sees is what one session would show: the replies to the messages this class
// sends itself (the login given again, a probe) carry an id of its own and never reach it. One
// rule spans sessions: a connection in a room must leave it before entering another
// (-2108). Before moving, the old session is asked (a get_members of the room the client last
// entered): if the client is still in it, the enter is answered -2108 as a single node answers
// it; if not (it left, was removed, or the enter had failed), the session moves.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "node/login_deadlines.h"
#include "server/http_server.h"
#include "server/websocket.h"

namespace liveroom::node {

// The app a gateway client's first message logs into (`sdkappid`, a number or its text).
std::optional<uint32_t> app_of_login(std::string_view text);

class ClientFollowingRoom final : public AwaitingLogin,
                                  public std::enable_shared_from_this<ClientFollowingRoom> {
 public:
  // Opens the client's session on this node's shard of (`sdkappid`, `slot`); none (the app is
  // not this node's, or no node can take it now) closes the client with 1013 to reconnect. With
  // no app: the node's first shard, whose gateway answers the login's error.
  using Open = std::function<std::shared_ptr<server::WebSocketSession>(
      std::optional<uint32_t> sdkappid, uint32_t slot, const server::HttpRequest& upgrade,
      std::shared_ptr<server::WebSocketPeer> peer)>;

  // `sdkappid`: the app the upgrade's query names, if any (else the login message's). `slots`:
  // [cluster] room_slots.
  static std::shared_ptr<ClientFollowingRoom> make(const server::HttpRequest& upgrade,
                                                   std::shared_ptr<server::WebSocketPeer> peer,
                                                   std::optional<uint32_t> sdkappid, uint32_t slots,
                                                   Open open);

  void on_text(std::string_view text) override;
  void on_close() override;
  void login_deadline() override;

 private:
  class Filter;  // the peer the sessions write to: drops (and reads) the replies to this class
  ClientFollowingRoom(const server::HttpRequest& upgrade,
                      std::shared_ptr<server::WebSocketPeer> peer, std::optional<uint32_t> sdkappid,
                      uint32_t slots, Open open);

  // One message of the client, in order (on the peer's I/O thread).
  void take(std::string text);
  // The reply to one of this class's own messages (on the peer's I/O thread).
  void internal_reply(std::string_view frame);
  // Opens the session of `slot` (the client's login given first) and ends the current one.
  bool move_to(uint32_t slot);
  // The first message was not a login (so it could not say the app): the login that names the app
  // starts the session again on that app's slot 0.
  void start_again_for(uint32_t sdkappid);
  // Opens the first session (slot 0), once the app is known.
  bool open_first();
  void forward(std::string_view text);
  // Gives what waited for a probe's answer to the session, in order.
  void drain();

  const server::HttpRequest upgrade_;
  const std::shared_ptr<server::WebSocketPeer> peer_;  // the client's connection
  std::shared_ptr<server::WebSocketPeer> filter_;      // what the sessions write to
  std::optional<uint32_t> sdkappid_;
  const uint32_t slots_;
  Open open_;
  // Everything below is the peer's I/O thread's.
  std::shared_ptr<server::WebSocketSession> session_;  // on the host of slot_
  std::optional<uint32_t> session_app_;                // the app of the shard it was opened on
  uint32_t slot_ = 0;
  std::string login_;                // the client's last login message, given to each new session
  bool probing_ = false;             // waiting for the old session's answer before a move
  std::string probed_enter_;         // the enter that waits for it
  uint32_t probed_slot_ = 0;         // and the slot of its room
  std::deque<std::string> waiting_;  // what the client sent meanwhile
  bool closed_ = false;
};

}  // namespace liveroom::node
