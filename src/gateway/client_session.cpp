// Each request: decode (Fields, as REST does) → authorize → one engine call → encode the reply,
// which leaves once everything it shows is durable.
#include "gateway/client_session.h"

#include <algorithm>
#include <iterator>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "api/fields.h"
#include "api/query.h"
#include "api/room_patch.h"
#include "base/json_writer.h"
#include "domain/message_body.h"
#include "domain/room_json.h"
#include "engine/room_events.h"
#include "gateway/gateway.h"
#include "gateway/request_fields.h"
#include "gateway/room_channel.h"
#include "webhook/dispatcher.h"

namespace liveroom::gateway {

namespace json = boost::json;
using api::Fields;

namespace {

constexpr int64_t kDefaultSeatRequestTimeoutMs = 60'000;
constexpr double kRequestsPerSecond = 100;
constexpr double kRequestBurst = 200;  // a burst beyond the rate, as REST quotas allow

std::string empty_data() {
  return "{}";
}

// An optional non-negative seat index.
Result<std::optional<uint32_t>> seat_index(const Fields& f, std::string_view key) {
  auto index = param(f.integer(key, 0, 1'000));
  if (!index) return std::unexpected(index.error());
  if (!*index) return std::optional<uint32_t>{};
  return std::optional<uint32_t>(static_cast<uint32_t>(**index));
}

}  // namespace

ClientSession::ClientSession(Gateway& gateway, std::shared_ptr<server::WebSocketPeer> peer)
    : gateway_(gateway), peer_(std::move(peer)) {}

void ClientSession::on_close() {
  {
    std::lock_guard lock(gateway_.open_mu_);
    gateway_.open_.erase(this);
  }
  if (listed_in) listed_in->detach_here(*this);
  if (!logged_in_) return;
  if (!room_id_.empty()) {
    // The member goes offline; it keeps its place for the grace period.
    gateway_.engine_.connection_lost(sdkappid_, room_id_, user_, shared_from_this());
  }
  gateway_.logout(this, sdkappid_, user_);
}

void ClientSession::replaced() {
  static const Frame kReplaced = std::make_shared<const std::string>(
      R"({"event":"Kicked","RoomId":"","data":{"Reason":"LoggedInElsewhere"}})");
  peer_->post([self = shared_from_this()] {
    self->push(kReplaced);
    // The member goes offline now (not when the close handshake ends): its grace period starts,
    // for the newer connection to resume it. The engine ignores this if the newer connection has
    // already entered (the member's connection is then that one).
    if (self->logged_in_ && !self->room_id_.empty()) {
      self->gateway_.engine_.connection_lost(self->sdkappid_, self->room_id_, self->user_, self);
      self->room_id_.clear();
    }
    self->peer_->close(4001, "logged in elsewhere");
  });
}

void ClientSession::login_deadline() {
  peer_->post([self = shared_from_this()] {
    if (!self->logged_in_) self->peer_->close(1008, "no login in time");
  });
}

void ClientSession::left_room(uint32_t sdkappid, const std::string& room_id) {
  if (sdkappid == sdkappid_ && room_id == room_id_) room_id_.clear();
}

void ClientSession::login_from_query(std::string_view target) {
  auto query_at = target.find('?');
  if (query_at == std::string_view::npos) return;
  json::object body;
  auto query = api::read_tencent_query(target.substr(query_at + 1));
  Data data = empty_data();
  Request request{nullptr, body, {}};
  if (!query) {
    data = std::unexpected(client_parameter_error(query.error()));
  } else {
    if (query->sdkappid) body["sdkappid"] = *query->sdkappid;
    if (query->identifier) body["identifier"] = *query->identifier;
    if (query->usersig) body["usersig"] = *query->usersig;
    if (body.empty()) return;
    data = do_login(request);
  }
  if (!data) {
    reply(nullptr, data, request.fence);
    peer_->close(1008, "login failed");
  }
}

bool ClientSession::allow_request() {
  const int64_t now = gateway_.clock_.steady_millis();
  if (tokens_at_ms_ != 0) {
    tokens_ = std::min(kRequestBurst, tokens_ + static_cast<double>(now - tokens_at_ms_) *
                                                    kRequestsPerSecond / 1000.0);
  }
  tokens_at_ms_ = now;
  if (tokens_ < 1) return false;
  tokens_ -= 1;
  return true;
}

void ClientSession::on_text(std::string_view text) {
  boost::system::error_code ec;
  json::value parsed = json::parse(text, ec);
  static const json::value kNull;
  if (ec || !parsed.is_object()) {
    reply(&kNull, fail(Code::kClientBadParameter, "a request is one JSON object"), {});
    return;
  }
  const json::object& body = parsed.get_object();
  const json::value* id = body.if_contains("id");
  if (!id) id = &kNull;
  const json::value* op = body.if_contains("op");
  Request request{id, body, {}};
  if (!op || !op->is_string()) {
    reply(id, fail(Code::kClientBadParameter, "op must be a string naming the operation"), {});
    return;
  }
  if (!allow_request()) {
    reply(id, fail(Code::kClientRateLimited, "more than 100 requests per second"), {});
    return;
  }
  handle(request, op->get_string());
}

void ClientSession::handle(Request& r, std::string_view op) {
  using Handler = Data (ClientSession::*)(Request&);
  struct Op {
    std::string_view name;
    Handler handler;
  };
  static constexpr Op kOps[] = {
      {"enter", &ClientSession::do_enter},
      {"leave", &ClientSession::do_leave},
      {"get_members", &ClientSession::do_get_members},
      {"get_current_room", &ClientSession::do_get_current_room},
      {"take_seat", &ClientSession::do_take_seat},
      {"leave_seat", &ClientSession::do_leave_seat},
      {"cancel_seat_request", &ClientSession::do_cancel_seat_request},
      {"respond_seat_request", &ClientSession::do_respond_seat_request},
      {"invite_to_seat", &ClientSession::do_invite_to_seat},
      {"kick_off_seat", &ClientSession::do_kick_off_seat},
      {"lock_seat", &ClientSession::do_lock_seat},
      {"move_seat", &ClientSession::do_move_seat},
      {"send_text", &ClientSession::do_send_text},
      {"send_custom", &ClientSession::do_send_custom},
      {"like", &ClientSession::do_like},
      // gifts (gift_requests.cpp)
      {"get_gift_list", &ClientSession::do_get_gift_list},
      {"send_gift", &ClientSession::do_send_gift},
      // co-hosting (cohost_requests.cpp)
      {"cohost_request", &ClientSession::do_cohost_request},
      {"cohost_respond", &ClientSession::do_cohost_respond},
      {"cohost_cancel", &ClientSession::do_cohost_cancel},
      {"cohost_disconnect", &ClientSession::do_cohost_disconnect},
      {"get_cohost", &ClientSession::do_get_cohost},
      // battles (battle_requests.cpp)
      {"battle_request", &ClientSession::do_battle_request},
      {"battle_respond", &ClientSession::do_battle_respond},
      {"battle_leave", &ClientSession::do_battle_leave},
      {"get_battle", &ClientSession::do_get_battle},
      {"update_room_info", &ClientSession::do_update_room_info},
      {"kick_member", &ClientSession::do_kick_member},
      {"ban_member", &ClientSession::do_ban_member},
      {"mute_member", &ClientSession::do_mute_member},
      {"set_admin", &ClientSession::do_set_admin},
      {"dismiss", &ClientSession::do_dismiss},
  };
  if (gateway_.unavailable_ && op != "heartbeat") {
    if (auto why = gateway_.unavailable_()) {
      reply(r.id, fail(Code::kInternal, *why), r.fence);
      return;
    }
  }
  if (op == "login") {
    Data data = do_login(r);
    reply(r.id, data, r.fence);
    return;
  }
  // Before a login only `login` is served: a connection that never logs in must not stay by
  // heartbeating (it is closed at the login deadline, Gateway::expire_logins).
  if (!logged_in_) {
    reply(r.id, fail(Code::kClientNotLoggedIn, fmt::format("log in before '{}'", op)), r.fence);
    return;
  }
  if (op == "heartbeat") {
    reply(r.id, fmt::format(R"({{"ServerTime":{}}})", gateway_.clock_.unix_seconds()), r.fence);
    return;
  }
  // Reads of what this host alone holds (the room's members, the session's room, the room's
  // co-hosting and battle) need no news of the app's other hosts.
  static constexpr std::string_view kLocalReads[] = {"get_members", "get_current_room",
                                                     "get_cohost", "get_battle"};
  if (gateway_.before_request_ && std::ranges::find(kLocalReads, op) == std::end(kLocalReads)) {
    if (auto ok = gateway_.before_request_(); !ok) {
      reply(r.id, std::unexpected(std::move(ok.error())), r.fence);
      return;
    }
  }
  for (const auto& candidate : kOps) {
    if (candidate.name != op) continue;
    Data data = (this->*candidate.handler)(r);
    if (!r.deferred) reply(r.id, data, r.fence);
    return;
  }
  reply(r.id, fail(Code::kClientBadParameter, fmt::format("unknown op '{}'", op)), r.fence);
}

void ClientSession::reply(const json::value* id, const Data& data, const engine::ReadFence& fence) {
  std::string out;
  out.reserve(64 + (data ? data->size() : 64));
  out += R"({"id":)";
  out += id ? json::serialize(*id) : "null";
  if (data) {
    out += R"(,"code":0,"message":"","data":)";
    out += *data;
  } else {
    std::string members;
    JsonWriter(members)
        .begin_object()
        .field("code", static_cast<int64_t>(wire_code(client_equivalent(data.error().code))))
        .field("message", data.error().info)
        .end_object();
    out += ',';
    out.append(members, 1, members.size() - 2);  // without its braces
    out += R"(,"data":{})";
  }
  out += '}';
  auto frame = std::make_shared<const std::string>(std::move(out));
  store::Store& store = gateway_.store_;
  if (fence.seq > store.durable_seq()) {
    store.when_durable(fence.seq, [peer = peer_, frame = std::move(frame)]() mutable {
      peer->send(std::move(frame));
    });
  } else {
    peer_->send_here(std::move(frame));
  }
}

Result<std::string> ClientSession::current_room(const Request& r) const {
  auto room_id = param(api::room_id_field(Fields(r.body)));
  if (!room_id) return std::unexpected(room_id.error());
  if (room_id_ != *room_id) {
    return fail(Code::kClientNotInRoom,
                fmt::format("enter room '{}' before this operation", *room_id));
  }
  return std::string(*room_id);
}

// --- login and presence ----------------------------------------------------------------------

ClientSession::Data ClientSession::do_login(Request& r) {
  Fields f(r.body);
  if (logged_in_) return fail(Code::kClientGeneric, "this connection is already logged in");
  // A number, or its text as in REST query strings (and the upgrade's query string).
  const json::value* app = f.find("sdkappid");
  uint64_t sdkappid = 0;
  if (app && app->is_int64() && app->get_int64() > 0) {
    sdkappid = static_cast<uint64_t>(app->get_int64());
  } else if (app && app->is_uint64()) {
    sdkappid = app->get_uint64();
  } else if (app && app->is_string()) {
    sdkappid = api::parse_sdkappid(app->get_string()).value_or(0);
  }
  if (sdkappid == 0 || sdkappid > UINT32_MAX) {
    return fail(Code::kClientBadParameter, "sdkappid must be the app's SDKAppID");
  }
  auto identifier = param(f.required_text("identifier", 32));
  if (!identifier) return std::unexpected(identifier.error());
  auto usersig = param(f.required_text("usersig", 4096));
  if (!usersig) return std::unexpected(usersig.error());
  std::string user(*identifier);
  auto ok =
      gateway_.login(shared_from_this(), static_cast<uint32_t>(sdkappid), user, *usersig, r.fence);
  if (!ok) return std::unexpected(client_parameter_error(ok.error()));
  logged_in_ = true;
  sdkappid_ = static_cast<uint32_t>(sdkappid);
  user_ = std::move(user);
  std::string out;
  JsonWriter(out)
      .begin_object()
      .field("UserId", user_)
      .field("HeartbeatIntervalMs", static_cast<int64_t>(gateway_.options_.heartbeat_interval_ms))
      .field("ServerTime", gateway_.clock_.unix_seconds())
      .end_object();
  return out;
}

ClientSession::Data ClientSession::do_enter(Request& r) {
  auto room_id = param(api::room_id_field(Fields(r.body)));
  if (!room_id) return std::unexpected(room_id.error());
  if (!room_id_.empty() && room_id_ != *room_id) {
    return fail(Code::kClientInAnotherRoom,
                fmt::format("this connection is in room '{}'; leave it first", room_id_));
  }
  auto entered =
      gateway_.engine_.enter_room(sdkappid_, *room_id, user_, shared_from_this(), r.fence);
  if (!entered) return std::unexpected(entered.error());
  room_id_ = std::string(*room_id);
  std::string out;
  JsonWriter w(out);
  w.begin_object().key("RoomInfo").begin_object();
  domain::write_room_info(w, entered->room, entered->member_count);
  w.end_object().key("SeatList");
  domain::write_seat_list(w, entered->seats);
  w.field("Role", engine::to_string(entered->role))
      .field("MemberCount", static_cast<int64_t>(entered->member_count))
      .field("TotalLikes", entered->room.total_likes)
      .field("TotalGiftCoins", entered->room.total_gift_coins)
      .field("MsgSeq", static_cast<int64_t>(entered->room.msg_seq))
      .field("MutedUntil", entered->muted_until)
      .field("Recovered", entered->recovered)
      .key("CoHostList");
  write_cohost_list(w, gateway_.engine_.cohost_rooms(sdkappid_, *room_id));
  w.end_object();
  return out;
}

ClientSession::Data ClientSession::do_leave(Request& r) {
  auto room_id = current_room(r);
  if (!room_id) return std::unexpected(room_id.error());
  auto ok = gateway_.engine_.leave_room(sdkappid_, *room_id, user_, r.fence);
  if (!ok) return std::unexpected(ok.error());
  room_id_.clear();
  return empty_data();
}

// Which room this connection is in ("" for none): after a reconnect, or a removal the client
// missed, and for a cluster node that moves a client's session to the host of the room it enters
// (it asks the old session first: one room at a time).
ClientSession::Data ClientSession::do_get_current_room(Request&) {
  std::string out;
  JsonWriter(out).begin_object().field("RoomId", room_id_).end_object();
  return out;
}

ClientSession::Data ClientSession::do_get_members(Request& r) {
  auto room_id = current_room(r);
  if (!room_id) return std::unexpected(room_id.error());
  Fields f(r.body);
  auto next = param(f.text("Next", 1024));
  if (!next) return std::unexpected(next.error());
  auto count = param(f.integer("Count", 1, 1000));
  if (!count) return std::unexpected(count.error());
  auto page = gateway_.engine_.list_members(sdkappid_, *room_id, next->value_or(""),
                                            static_cast<size_t>(count->value_or(100)), r.fence);
  if (!page) return std::unexpected(client_parameter_error(page.error()));
  std::string out;
  JsonWriter w(out);
  w.begin_object().key("MemberList").begin_array();
  for (const auto& [member, role] : page->members) {
    w.begin_object()
        .field("Member_Account", member)
        .field("Role", engine::to_string(role))
        .end_object();
  }
  w.end_array()
      .field("MemberCount", static_cast<int64_t>(page->member_count))
      .field("Next", page->next)
      .end_object();
  return out;
}

// --- seats -------------------------------------------------------------------------------------

ClientSession::Data ClientSession::do_take_seat(Request& r) {
  auto room_id = current_room(r);
  if (!room_id) return std::unexpected(room_id.error());
  Fields f(r.body);
  auto index = seat_index(f, "Index");
  if (!index) return std::unexpected(index.error());
  auto timeout = param(f.integer("TimeoutMs", 1'000, 300'000));
  if (!timeout) return std::unexpected(timeout.error());
  auto taken = gateway_.engine_.take_seat(sdkappid_, *room_id, user_, *index,
                                          timeout->value_or(kDefaultSeatRequestTimeoutMs), r.fence);
  if (!taken) return std::unexpected(taken.error());
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  if (taken->index) {
    w.field("Status", "Seated").field("Index", *taken->index);
  } else {
    w.field("Status", "Pending").field("RequestId", taken->request_id);
  }
  w.end_object();
  return out;
}

ClientSession::Data ClientSession::do_leave_seat(Request& r) {
  auto room_id = current_room(r);
  if (!room_id) return std::unexpected(room_id.error());
  auto ok = gateway_.engine_.leave_seat(sdkappid_, *room_id, user_, r.fence);
  if (!ok) return std::unexpected(ok.error());
  return empty_data();
}

ClientSession::Data ClientSession::do_cancel_seat_request(Request& r) {
  auto room_id = current_room(r);
  if (!room_id) return std::unexpected(room_id.error());
  auto id = param(Fields(r.body).required_text("RequestId", 64));
  if (!id) return std::unexpected(id.error());
  auto ok =
      gateway_.engine_.cancel_seat_request(sdkappid_, *room_id, user_, std::string(*id), r.fence);
  if (!ok) return std::unexpected(ok.error());
  return empty_data();
}

ClientSession::Data ClientSession::do_respond_seat_request(Request& r) {
  auto room_id = current_room(r);
  if (!room_id) return std::unexpected(room_id.error());
  Fields f(r.body);
  auto id = param(f.required_text("RequestId", 64));
  if (!id) return std::unexpected(id.error());
  auto accept = required_accept(f);
  if (!accept) return std::unexpected(accept.error());
  auto seat = gateway_.engine_.respond_seat_request(sdkappid_, *room_id, user_, std::string(*id),
                                                    *accept, r.fence);
  if (!seat) return std::unexpected(seat.error());
  if (!*seat) return empty_data();
  return fmt::format(R"({{"Index":{}}})", **seat);
}

ClientSession::Data ClientSession::do_invite_to_seat(Request& r) {
  auto room_id = current_room(r);
  if (!room_id) return std::unexpected(room_id.error());
  Fields f(r.body);
  auto member = param(f.required_account("Member_Account"));
  if (!member) return std::unexpected(member.error());
  auto index = seat_index(f, "Index");
  if (!index) return std::unexpected(index.error());
  auto timeout = param(f.integer("TimeoutMs", 1'000, 300'000));
  if (!timeout) return std::unexpected(timeout.error());
  auto& engine = gateway_.engine_;
  if (auto ok = engine.authorize(sdkappid_, *room_id, user_, false, {}, r.fence); !ok) {
    return std::unexpected(ok.error());
  }
  auto id = engine.invite_to_seat(sdkappid_, *room_id, user_, std::string(*member), *index,
                                  timeout->value_or(kDefaultSeatRequestTimeoutMs), r.fence);
  if (!id) return std::unexpected(id.error());
  std::string out;
  JsonWriter(out).begin_object().field("RequestId", *id).end_object();
  return out;
}

ClientSession::Data ClientSession::do_kick_off_seat(Request& r) {
  auto room_id = current_room(r);
  if (!room_id) return std::unexpected(room_id.error());
  Fields f(r.body);
  auto member = param(f.required_account("Member_Account"));
  if (!member) return std::unexpected(member.error());
  auto data = param(f.text("Data", 1024));
  if (!data) return std::unexpected(data.error());
  auto& engine = gateway_.engine_;
  if (auto ok = engine.authorize(sdkappid_, *room_id, user_, false, *member, r.fence); !ok) {
    return std::unexpected(ok.error());
  }
  auto ok = engine.kick_from_seat(sdkappid_, *room_id, std::string(*member),
                                  std::string(data->value_or("")), r.fence, actor());
  if (!ok) return std::unexpected(ok.error());
  return empty_data();
}

ClientSession::Data ClientSession::do_lock_seat(Request& r) {
  auto room_id = current_room(r);
  if (!room_id) return std::unexpected(room_id.error());
  Fields f(r.body);
  auto index = param(f.integer("Index", 0, 1'000));
  if (!index) return std::unexpected(index.error());
  if (!*index) return fail(Code::kClientBadParameter, "Index is required");
  engine::RoomEngine::SeatLocks locks;
  for (auto [key, field] :
       {std::pair{"ForbidTaken", &locks.taken}, std::pair{"ForbidVideo", &locks.video},
        std::pair{"ForbidAudio", &locks.audio}}) {
    auto value = param(f.boolean(key));
    if (!value) return std::unexpected(value.error());
    *field = *value;
  }
  auto& engine = gateway_.engine_;
  if (auto ok = engine.authorize(sdkappid_, *room_id, user_, false, {}, r.fence); !ok) {
    return std::unexpected(ok.error());
  }
  auto ok = engine.lock_seat(sdkappid_, *room_id, static_cast<uint32_t>(**index), locks, r.fence,
                             actor());
  if (!ok) return std::unexpected(ok.error());
  return empty_data();
}

ClientSession::Data ClientSession::do_move_seat(Request& r) {
  auto room_id = current_room(r);
  if (!room_id) return std::unexpected(room_id.error());
  Fields f(r.body);
  auto index = param(f.integer("SeatIndex", 0, 1'000));
  if (!index) return std::unexpected(index.error());
  if (!*index) return fail(Code::kClientBadParameter, "SeatIndex is required");
  auto member = param(f.account("Member_Account"));
  if (!member) return std::unexpected(member.error());
  auto policy = param(f.integer("Policy", 0, 2));
  if (!policy) return std::unexpected(policy.error());
  const std::string target(member->value_or(user_));
  auto& engine = gateway_.engine_;
  if (target != user_ || policy->value_or(0) != 0) {
    if (auto ok = engine.authorize(sdkappid_, *room_id, user_, false, target, r.fence); !ok) {
      return std::unexpected(ok.error());
    }
  } else {
    // Moving oneself is for members already on a seat (taking one goes through take_seat).
    auto seated = engine.read_room(sdkappid_, *room_id, r.fence, [&](const domain::Room& room) {
      return domain::seat_of(domain::seats_of(room), user_).has_value();
    });
    if (!seated) return std::unexpected(seated.error());
    if (!*seated) return fail(Code::kClientNotSeated, "take a seat before moving to another");
  }
  auto ok = engine.move_to_seat(sdkappid_, *room_id, target, static_cast<uint32_t>(**index),
                                static_cast<engine::RoomEngine::SeatPolicy>(policy->value_or(0)),
                                false, r.fence, actor());
  if (!ok) return std::unexpected(ok.error());
  return empty_data();
}

// --- chat and likes ----------------------------------------------------------------------------

ClientSession::Data ClientSession::send_message(Request& r, std::string msg_body,
                                                std::string cloud_custom_data) {
  auto room_id = current_room(r);
  if (!room_id) return std::unexpected(room_id.error());
  engine::RoomMessage message;
  message.sender = user_;
  message.msg_body = std::move(msg_body);
  message.cloud_custom_data = std::move(cloud_custom_data);
  message.sender_must_be_imported = false;  // logged in with a valid UserSig
  auto& engine = gateway_.engine_;
  auto send = [&engine, app = sdkappid_, room = *room_id](engine::RoomMessage m,
                                                          engine::ReadFence& fence) -> Data {
    auto sent = engine.send_member_message(app, room, std::move(m), fence);
    if (!sent) return std::unexpected(sent.error());
    return fmt::format(R"({{"MsgSeq":{},"MsgTime":{}}})", sent->msg_seq, sent->msg_time);
  };
  constexpr std::string_view kBefore = "Group.CallbackBeforeSendMsg";
  std::vector<std::string> urls =
      gateway_.dispatcher_ ? engine.subscribers(sdkappid_, kBefore) : std::vector<std::string>{};
  if (urls.empty()) return send(std::move(message), r.fence);

  // The app's backend may refuse the message (spec §5.3): check what we can first, then ask it,
  // and send (or refuse) when it answers. The request does not hold the connection's thread.
  if (auto ok = engine.check_member_message(sdkappid_, *room_id, user_, r.fence); !ok) {
    return std::unexpected(ok.error());
  }
  const auto& app = gateway_.apps_.at(sdkappid_);
  std::string payload = engine::before_send_message_payload(
      *room_id, user_, message.msg_body, message.cloud_custom_data, gateway_.clock_.unix_millis());
  r.deferred = true;
  gateway_.dispatcher_->ask_veto(
      sdkappid_, std::move(urls), std::string(kBefore), std::move(payload), peer_->remote_address(),
      app.veto_timeout, app.veto_fail_open,
      [self = shared_from_this(), id = json::value(*r.id), message = std::move(message),
       send](webhook::VetoAnswer answer) mutable {
        engine::ReadFence fence;
        Data data = answer.allowed
                        ? send(std::move(message), fence)
                        : Data(fail(Code::kMessageVetoed,
                                    fmt::format("the app backend refused the message: {} {}",
                                                answer.error_code, answer.error_info)));
        self->peer_->post([self, id = std::move(id), data = std::move(data), fence] {
          self->reply(&id, data, fence);
        });
      });
  return empty_data();
}

ClientSession::Data ClientSession::do_send_text(Request& r) {
  Fields f(r.body);
  auto text = param(f.required_text("Text", domain::kMaxMessageBytes));
  if (!text) return std::unexpected(text.error());
  if (text->empty()) return fail(Code::kClientBadParameter, "Text must not be empty");
  auto extension = param(f.text("ExtensionInfo", domain::kMaxMessageBytes));
  if (!extension) return std::unexpected(extension.error());
  return send_message(r, domain::text_body(*text), std::string(extension->value_or("")));
}

ClientSession::Data ClientSession::do_send_custom(Request& r) {
  Fields f(r.body);
  auto business_id = param(f.required_text("BusinessId", 128));
  if (!business_id) return std::unexpected(business_id.error());
  auto data = param(f.required_text("Data", domain::kMaxMessageBytes));
  if (!data) return std::unexpected(data.error());
  return send_message(r, domain::custom_body(*business_id, *data), {});
}

ClientSession::Data ClientSession::do_like(Request& r) {
  auto room_id = current_room(r);
  if (!room_id) return std::unexpected(room_id.error());
  auto count = param(Fields(r.body).integer("Count", 1, 100));
  if (!count) return std::unexpected(count.error());
  auto total = gateway_.engine_.like(sdkappid_, *room_id, user_, count->value_or(1), r.fence);
  if (!total) return std::unexpected(total.error());
  return fmt::format(R"({{"TotalLikes":{}}})", *total);
}

// --- owner and admins --------------------------------------------------------------------------

ClientSession::Data ClientSession::do_update_room_info(Request& r) {
  auto room_id = current_room(r);
  if (!room_id) return std::unexpected(room_id.error());
  auto info = param(Fields(r.body).required_object("RoomInfo"));
  if (!info) return std::unexpected(info.error());
  auto& engine = gateway_.engine_;
  if (auto ok = engine.authorize(sdkappid_, *room_id, user_, false, {}, r.fence); !ok) {
    return std::unexpected(ok.error());
  }
  auto patch = api::decode_room_patch(*info);  // update_room_info's rules and codes (100002)
  if (!patch) return std::unexpected(patch.error());
  auto ok = engine.update_room(sdkappid_, *room_id, *patch, r.fence, actor());
  if (!ok) return std::unexpected(ok.error());
  return empty_data();
}

ClientSession::Data ClientSession::do_kick_member(Request& r) {
  auto room_id = current_room(r);
  if (!room_id) return std::unexpected(room_id.error());
  auto member = param(Fields(r.body).required_account("Member_Account"));
  if (!member) return std::unexpected(member.error());
  auto& engine = gateway_.engine_;
  if (auto ok = engine.authorize(sdkappid_, *room_id, user_, false, *member, r.fence); !ok) {
    return std::unexpected(ok.error());
  }
  auto ok = engine.kick_member(sdkappid_, *room_id, std::string(*member), r.fence);
  if (!ok) return std::unexpected(ok.error());
  return empty_data();
}

ClientSession::Data ClientSession::do_ban_member(Request& r) {
  auto room_id = current_room(r);
  if (!room_id) return std::unexpected(room_id.error());
  Fields f(r.body);
  auto member = param(f.required_account("Member_Account"));
  if (!member) return std::unexpected(member.error());
  auto duration = param(f.integer("Duration", 1, 10LL * 365 * 86'400));
  if (!duration) return std::unexpected(duration.error());
  if (!*duration) return fail(Code::kClientBadParameter, "Duration is required (seconds, >= 1)");
  auto reason = param(f.text("Reason", 256));
  if (!reason) return std::unexpected(reason.error());
  auto& engine = gateway_.engine_;
  if (auto ok = engine.authorize(sdkappid_, *room_id, user_, false, *member, r.fence); !ok) {
    return std::unexpected(ok.error());
  }
  auto ok = engine.ban_members(sdkappid_, *room_id, {std::string(*member)}, **duration,
                               std::string(reason->value_or("")), r.fence);
  if (!ok) return std::unexpected(ok.error());
  return empty_data();
}

ClientSession::Data ClientSession::do_mute_member(Request& r) {
  auto room_id = current_room(r);
  if (!room_id) return std::unexpected(room_id.error());
  Fields f(r.body);
  auto member = param(f.required_account("Member_Account"));
  if (!member) return std::unexpected(member.error());
  auto mute_time = param(f.integer("MuteTime", 0, 10LL * 365 * 86'400));
  if (!mute_time) return std::unexpected(mute_time.error());
  if (!*mute_time)
    return fail(Code::kClientBadParameter, "MuteTime is required (seconds, 0 unmutes)");
  auto& engine = gateway_.engine_;
  if (auto ok = engine.authorize(sdkappid_, *room_id, user_, false, *member, r.fence); !ok) {
    return std::unexpected(ok.error());
  }
  auto ok = engine.mute_members(sdkappid_, *room_id, {std::string(*member)}, **mute_time, r.fence);
  if (!ok) return std::unexpected(ok.error());
  return empty_data();
}

ClientSession::Data ClientSession::do_set_admin(Request& r) {
  auto room_id = current_room(r);
  if (!room_id) return std::unexpected(room_id.error());
  Fields f(r.body);
  auto member = param(f.required_account("Member_Account"));
  if (!member) return std::unexpected(member.error());
  auto is_admin = param(f.boolean("IsAdmin"));
  if (!is_admin) return std::unexpected(is_admin.error());
  if (!*is_admin) return fail(Code::kClientBadParameter, "IsAdmin is required (true or false)");
  auto& engine = gateway_.engine_;
  if (auto ok = engine.authorize(sdkappid_, *room_id, user_, true, {}, r.fence); !ok) {
    return std::unexpected(ok.error());
  }
  auto ok = engine.modify_admins(
      sdkappid_, *room_id, {std::string(*member)},
      **is_admin ? engine::RoomEngine::AdminOp::kAdd : engine::RoomEngine::AdminOp::kDelete,
      r.fence, actor());
  if (!ok) return std::unexpected(ok.error());
  return empty_data();
}

ClientSession::Data ClientSession::do_dismiss(Request& r) {
  auto room_id = current_room(r);
  if (!room_id) return std::unexpected(room_id.error());
  auto& engine = gateway_.engine_;
  if (auto ok = engine.authorize(sdkappid_, *room_id, user_, true, {}, r.fence); !ok) {
    return std::unexpected(ok.error());
  }
  auto stats = engine.destroy_room(sdkappid_, *room_id, r.fence, actor());
  if (!stats) return std::unexpected(stats.error());
  room_id_.clear();
  std::string out;
  JsonWriter w(out);
  w.begin_object().key("Statistic").begin_object();
  domain::write_statistic(w, *stats, true);
  w.end_object().end_object();
  return out;
}

}  // namespace liveroom::gateway
