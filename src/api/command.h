// What every command handler sees and returns. A handler is one short function:
//   decode the body into typed values (Fields) → apply them through the engine → encode a Reply.
// Authentication, quotas, body parsing and the envelope happen before and after, in the router.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include <boost/json.hpp>

#include "base/clock.h"
#include "base/error.h"
#include "engine/room_engine.h"

namespace liveroom::webhook {
class Dispatcher;
}

namespace liveroom::api {

struct Services {
  engine::RoomEngine& engine;
  const Clock& clock;
  webhook::Dispatcher* dispatcher = nullptr;  // dead letters; null where webhooks are off
};

struct Call {
  uint32_t sdkappid = 0;
  std::string_view identifier;  // the App administrator making the call
  std::string_view client_ip;   // of the HTTP peer, for callbacks' ClientIP
  const boost::json::object& body;
  boost::json::storage_ptr storage;  // the request's arena; build replies in it
  engine::ReadFence fence;           // the reply waits until this is durable

  // Who a change's callbacks name as its cause.
  engine::Actor actor() const { return {std::string(identifier), std::string(client_ip)}; }
};

struct Reply {
  boost::json::object fields;
  // IM-style calls (accounts, profiles) put their results at the top level of the envelope
  // instead of inside "Response".
  bool top_level = false;
  // Already-serialized members of the Response object (without braces), written by JsonWriter
  // for hot replies; used instead of `fields` when not empty.
  std::string raw_members;
  // Written at the top level as well as `fields` in Response: for replies whose documented and
  // observed shapes differ (the gift language getters), so that clients of either work.
  boost::json::object beside_response;
};

using CommandFn = Result<Reply> (*)(Services&, Call&);

struct CommandSpec {
  std::string_view path;  // "<service>/<command>"
  CommandFn fn;
  // How the command refuses a caller that is not an App administrator, and a call over its
  // quota. Most commands answer as Tencent's REST gateway does; the gift pages document their
  // own codes (100006, 100012).
  Code not_app_admin = Code::kNotAppAdmin;
  Code over_quota = Code::kRateLimited;
};

// One list per command family; the router indexes them all.
std::span<const CommandSpec> room_commands();
std::span<const CommandSpec> metadata_commands();
std::span<const CommandSpec> account_commands();
std::span<const CommandSpec> profile_commands();
std::span<const CommandSpec> callback_commands();
std::span<const CommandSpec> moderation_commands();
std::span<const CommandSpec> seat_commands();
std::span<const CommandSpec> message_commands();
std::span<const CommandSpec> gift_commands();
std::span<const CommandSpec> battle_commands();

}  // namespace liveroom::api
