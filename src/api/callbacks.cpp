// Webhook configuration and operations: Tencent's live_config service (spec §2.8) and liveroom's
// own liveroom_webhooks service for dead letters (docs/webhooks.md).
#include <array>

#include <fmt/format.h>

#include "api/command.h"
#include "api/fields.h"
#include "webhook/dispatcher.h"

namespace liveroom::api {

namespace json = boost::json;

namespace {

constexpr size_t kMaxCommandsPerList = 64;

Result<std::optional<std::string>> url_field(const Fields& f) {
  auto url = f.text("Url", domain::kMaxCallbackUrlBytes);
  if (!url) return std::unexpected(url.error());
  if (!*url) return std::nullopt;
  if (auto ok = domain::check_callback_url(**url, f.name("Url")); !ok) {
    return std::unexpected(ok.error());
  }
  return std::string(**url);
}

Result<std::optional<std::vector<std::string>>> commands_field(const Fields& f) {
  auto commands = f.text_array("CallbackCommandList", kMaxCommandsPerList, 128);
  if (!commands || !*commands) return commands;
  std::vector<std::string> unique;  // a command listed twice is subscribed once
  for (size_t i = 0; i < (*commands)->size(); ++i) {
    const std::string& c = (**commands)[i];
    if (!domain::is_callback_command(c)) {
      return std::unexpected(f.invalid("CallbackCommandList",
                                       fmt::format("[{}] '{}' is not a CallbackCommand", i, c)));
    }
    if (std::find(unique.begin(), unique.end(), c) == unique.end()) unique.push_back(c);
  }
  return unique;
}

Result<Reply> set_callback(Services& s, Call& call) {
  Fields f(call.body);
  auto url = url_field(f);
  if (!url) return std::unexpected(url.error());
  if (!*url) return std::unexpected(f.invalid("Url", "is required"));
  auto commands = commands_field(f);
  if (!commands) return std::unexpected(commands.error());
  auto ok = s.engine.set_callback(
      call.sdkappid, domain::Subscription{**url, commands->value_or(std::vector<std::string>{})},
      call.fence);
  if (!ok) return std::unexpected(ok.error());
  return Reply{json::object(call.storage)};
}

Result<Reply> update_callback(Services& s, Call& call) {
  Fields f(call.body);
  auto url = url_field(f);
  if (!url) return std::unexpected(url.error());
  auto commands = commands_field(f);
  if (!commands) return std::unexpected(commands.error());
  auto ok = s.engine.update_callback(call.sdkappid, {*url, *commands}, call.fence);
  if (!ok) return std::unexpected(ok.error());
  return Reply{json::object(call.storage)};
}

Result<Reply> delete_callback(Services& s, Call& call) {
  auto ok = s.engine.delete_callback(call.sdkappid, call.fence);
  if (!ok) return std::unexpected(ok.error());
  return Reply{json::object(call.storage)};
}

Result<Reply> get_callback(Services& s, Call& call) {
  auto sub = s.engine.get_callback(call.sdkappid, call.fence);
  if (!sub) return std::unexpected(sub.error());
  Reply reply{json::object(call.storage)};
  reply.fields["Url"] = sub->url;
  json::array commands(call.storage);
  for (const auto& c : sub->commands) commands.emplace_back(json::string(c, call.storage));
  reply.fields["CallbackCommandList"] = std::move(commands);
  return reply;
}

Result<Reply> set_callback_token(Services& s, Call& call) {
  Fields f(call.body);
  auto token = f.text("Token", domain::kMaxCallbackTokenChars * 4);
  if (!token) return std::unexpected(token.error());
  if (*token) {
    // 1-128 characters (not bytes): count UTF-8 lead bytes.
    size_t chars = 0;
    for (unsigned char c : **token) chars += (c & 0xc0) != 0x80;
    if (chars == 0 || chars > domain::kMaxCallbackTokenChars) {
      return std::unexpected(f.invalid("Token", "must be 1 to 128 characters"));
    }
  }
  auto enabled = f.boolean("IsTokenEnable");
  if (!enabled) return std::unexpected(enabled.error());
  std::optional<std::string> token_value;
  if (*token) token_value = std::string(**token);
  auto ok =
      s.engine.set_callback_token(call.sdkappid, std::move(token_value), *enabled, call.fence);
  if (!ok) return std::unexpected(ok.error());
  return Reply{json::object(call.storage)};
}

Result<Reply> get_callback_token(Services& s, Call& call) {
  auto token = s.engine.get_callback_token(call.sdkappid, call.fence);
  if (!token) return std::unexpected(token.error());
  Reply reply{json::object(call.storage)};
  reply.fields["Token"] = token->first;
  reply.fields["IsTokenEnable"] = token->second;
  return reply;
}

Result<Reply> get_dead_letters(Services& s, Call& call) {
  if (!s.dispatcher) return fail(Code::kInternal, "webhooks are not running");
  json::array list(call.storage);
  for (const auto& e : s.dispatcher->dead_letters(call.sdkappid)) {
    json::object o(call.storage);
    o["Id"] = e.id;
    o["EventId"] = e.event_id;
    o["Url"] = e.url;
    o["CallbackCommand"] = e.command;
    o["RoomId"] = e.room_id;
    o["RoomSeq"] = e.room_seq;
    o["CreateTime"] = e.created_ms / 1000;
    o["Attempts"] = e.attempts;
    o["LastError"] = e.last_error;
    list.emplace_back(std::move(o));
  }
  Reply reply{json::object(call.storage)};
  reply.fields["DeadLetters"] = std::move(list);
  return reply;
}

Result<Reply> replay_dead_letters(Services& s, Call& call) {
  if (!s.dispatcher) return fail(Code::kInternal, "webhooks are not running");
  Fields f(call.body);
  auto ids = f.integer_array("Ids", 10'000);
  if (!ids) return std::unexpected(ids.error());
  std::vector<uint64_t> wanted;
  for (int64_t id : ids->value_or(std::vector<int64_t>{})) {
    if (id <= 0) return std::unexpected(f.invalid("Ids", "must hold dead-letter Ids (> 0)"));
    wanted.push_back(static_cast<uint64_t>(id));
  }
  auto [count, seq] = s.dispatcher->replay(call.sdkappid, wanted);
  call.fence.observe(seq);
  Reply reply{json::object(call.storage)};
  reply.fields["Replayed"] = count;
  return reply;
}

constexpr std::array<CommandSpec, 8> kCommands{{
    {"live_config/set_callback", set_callback},
    {"live_config/update_callback", update_callback},
    {"live_config/delete_callback", delete_callback},
    {"live_config/get_callback", get_callback},
    {"live_config/set_callback_token", set_callback_token},
    {"live_config/get_callback_token", get_callback_token},
    {"liveroom_webhooks/get_dead_letters", get_dead_letters},
    {"liveroom_webhooks/replay_dead_letters", replay_dead_letters},
}};

}  // namespace

std::span<const CommandSpec> callback_commands() {
  return kCommands;
}

}  // namespace liveroom::api
