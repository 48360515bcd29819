#include "node/client_following_room.h"

#include <boost/json.hpp>

#include "api/fields.h"
#include "api/query.h"
#include "domain/room.h"

namespace liveroom::node {
namespace {

namespace json = boost::json;

// The ids of this class's own messages: a NUL no client sends starts them, so the replies to them
// (`{"id":` and the id, as the gateway writes every reply) are told apart by their first bytes.
constexpr std::string_view kOwnIdText = std::string_view("\0lr:", 4);
constexpr std::string_view kOwnReplyPrefix = R"({"id":"\u0000lr:)";

bool own_reply(const std::string& frame) {
  return frame.starts_with(kOwnReplyPrefix);
}

// `body` as one of this class's messages: its own id.
std::string with_own_id(json::object body, std::string_view name) {
  body["id"] = std::string(kOwnIdText) + std::string(name);
  return json::serialize(body);
}

}  // namespace

std::optional<uint32_t> app_of_login(std::string_view text) {
  boost::system::error_code ec;
  const json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const json::value* app = v.get_object().if_contains("sdkappid");
  if (app == nullptr) return std::nullopt;
  if (app->is_int64() && app->get_int64() > 0 && app->get_int64() <= UINT32_MAX) {
    return static_cast<uint32_t>(app->get_int64());
  }
  if (app->is_uint64() && app->get_uint64() <= UINT32_MAX) {
    return static_cast<uint32_t>(app->get_uint64());
  }
  if (app->is_string()) return api::parse_sdkappid(app->get_string());
  return std::nullopt;
}

// The peer every session of the client writes to: the client's connection, but for the replies
// to this class's own messages, which go to it instead (on the connection's I/O thread).
class ClientFollowingRoom::Filter final : public server::WebSocketPeer {
 public:
  Filter(std::shared_ptr<server::WebSocketPeer> peer, std::weak_ptr<ClientFollowingRoom> owner)
      : peer_(std::move(peer)), owner_(std::move(owner)) {}

  void send(std::shared_ptr<const std::string> text) override {
    if (own_reply(*text)) return to_owner(std::move(text));
    peer_->send(std::move(text));
  }
  void send_here(const std::shared_ptr<const std::string>& text) override {
    if (own_reply(*text)) return to_owner(text);
    peer_->send_here(text);
  }
  void send_here(std::span<const std::shared_ptr<const std::string>> texts) override {
    if (std::ranges::none_of(texts, [](const auto& t) { return own_reply(*t); })) {
      peer_->send_here(texts);
      return;
    }
    std::vector<std::shared_ptr<const std::string>> theirs;
    for (const auto& t : texts) {
      if (own_reply(*t)) {
        to_owner(t);
      } else {
        theirs.push_back(t);
      }
    }
    if (!theirs.empty()) peer_->send_here(theirs);
  }
  void close(uint16_t code, std::string reason) override { peer_->close(code, std::move(reason)); }
  void post(std::move_only_function<void()> fn) override { peer_->post(std::move(fn)); }
  size_t worker() const override { return peer_->worker(); }
  const std::string& remote_address() const override { return peer_->remote_address(); }

 private:
  void to_owner(std::shared_ptr<const std::string> text) {
    peer_->post([owner = owner_, text = std::move(text)] {
      if (auto o = owner.lock()) o->internal_reply(*text);
    });
  }

  const std::shared_ptr<server::WebSocketPeer> peer_;
  const std::weak_ptr<ClientFollowingRoom> owner_;
};

std::shared_ptr<ClientFollowingRoom> ClientFollowingRoom::make(
    const server::HttpRequest& upgrade, std::shared_ptr<server::WebSocketPeer> peer,
    std::optional<uint32_t> sdkappid, uint32_t slots, Open open) {
  std::shared_ptr<ClientFollowingRoom> client(
      new ClientFollowingRoom(upgrade, std::move(peer), sdkappid, slots, std::move(open)));
  client->filter_ = std::make_shared<Filter>(client->peer_, client);
  // A client whose upgrade names its app (a query-string login) opens at once, as a single
  // node's gateway logs it in at the upgrade.
  if (sdkappid) client->open_first();
  return client;
}

ClientFollowingRoom::ClientFollowingRoom(const server::HttpRequest& upgrade,
                                         std::shared_ptr<server::WebSocketPeer> peer,
                                         std::optional<uint32_t> sdkappid, uint32_t slots,
                                         Open open)
    : upgrade_(upgrade),
      peer_(std::move(peer)),
      sdkappid_(sdkappid),
      slots_(slots),
      open_(std::move(open)) {}

void ClientFollowingRoom::on_text(std::string_view text) {
  take(std::string(text));
}

void ClientFollowingRoom::on_close() {
  closed_ = true;
  waiting_.clear();
  if (session_) session_->on_close();
  session_.reset();
}

void ClientFollowingRoom::login_deadline() {
  peer_->post([self = shared_from_this()] {
    if (!self->session_ && !self->closed_) self->peer_->close(1008, "no login in time");
  });
}

bool ClientFollowingRoom::open_first() {
  session_ = open_(sdkappid_, 0, upgrade_, filter_);
  session_app_ = sdkappid_;
  slot_ = 0;
  if (!session_) {
    closed_ = true;
    peer_->close(1013, "no node can take this client now; reconnect");
    return false;
  }
  return true;
}

void ClientFollowingRoom::forward(std::string_view text) {
  if (session_) session_->on_text(text);
}

void ClientFollowingRoom::take(std::string text) {
  if (closed_) return;
  if (probing_) {
    waiting_.push_back(std::move(text));
    return;
  }
  if (!session_) {
    if (!sdkappid_) sdkappid_ = app_of_login(text);
    if (!open_first()) return;
  }
  boost::system::error_code ec;
  json::value parsed = json::parse(text, ec);
  const json::object* body = !ec && parsed.is_object() ? &parsed.get_object() : nullptr;
  const json::value* op = body ? body->if_contains("op") : nullptr;
  // (Anything malformed goes to the session, which answers it as a single node does.)
  if (op == nullptr || !op->is_string()) return forward(text);
  if (op->get_string() == "login") {
    login_ = text;
    if (const auto app = app_of_login(text); app && app != session_app_) start_again_for(*app);
    return forward(text);
  }
  const bool logged_in = !login_.empty() || upgrade_.target.find("usersig=") != std::string::npos;
  if (op->get_string() != "enter" || !sdkappid_ || !logged_in) return forward(text);
  auto room = api::room_id_field(api::Fields(*body));
  if (!room) return forward(text);
  const uint32_t slot = domain::room_slot(*room, slots_);
  if (slot == slot_) return forward(text);
  // Another host's room. One room at a time: the session asks whether the client is still in a
  // room here before it moves.
  probing_ = true;
  probed_enter_ = std::move(text);
  probed_slot_ = slot;
  forward(with_own_id(json::object{{"op", "get_current_room"}}, "room"));
}

void ClientFollowingRoom::internal_reply(std::string_view frame) {
  if (closed_ || !probing_ || frame.find(R"(lr:room")") == std::string_view::npos) return;
  boost::system::error_code ec;
  const json::value reply = json::parse(frame, ec);
  const json::value* data =
      !ec && reply.is_object() ? reply.get_object().if_contains("data") : nullptr;
  const json::value* room =
      data && data->is_object() ? data->get_object().if_contains("RoomId") : nullptr;
  const bool in_a_room = room && room->is_string() && !room->get_string().empty();
  probing_ = false;
  std::string enter = std::move(probed_enter_);
  // Still in a room: the session answers the enter as a single node does (-2108, leave first).
  if (in_a_room || move_to(probed_slot_)) forward(enter);
  drain();
}

void ClientFollowingRoom::start_again_for(uint32_t sdkappid) {
  std::shared_ptr<server::WebSocketSession> old = std::move(session_);
  sdkappid_ = sdkappid;
  if (old) old->on_close();
  open_first();
}

bool ClientFollowingRoom::move_to(uint32_t slot) {
  std::shared_ptr<server::WebSocketSession> old = std::move(session_);
  session_ = open_(sdkappid_, slot, upgrade_, filter_);
  session_app_ = sdkappid_;
  slot_ = slot;
  if (old) old->on_close();
  if (!session_) {
    closed_ = true;
    peer_->close(1013, "no node can take this client now; reconnect");
    return false;
  }
  // The login first, as the client gave it (a query-string login is in the upgrade already).
  if (!login_.empty()) {
    boost::system::error_code ec;
    json::value login = json::parse(login_, ec);
    if (!ec && login.is_object()) forward(with_own_id(std::move(login.get_object()), "login"));
  }
  return true;
}

void ClientFollowingRoom::drain() {
  while (!waiting_.empty() && !probing_ && !closed_) {
    std::string next = std::move(waiting_.front());
    waiting_.pop_front();
    take(std::move(next));
  }
}

}  // namespace liveroom::node
