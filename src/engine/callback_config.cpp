// Callback configuration (live_config): the API's subscription and signing token, and the token
// deliveries are signed with.
#include <fmt/format.h>

#include "engine/room_engine.h"

namespace liveroom::engine {

Result<void> RoomEngine::store_callbacks(AppState& a, domain::CallbackConfig next,
                                         ReadFence& fence) {
  // Requires callbacks_mu.
  const uint64_t seq = store_.submit({store::PutCallbackConfig{a.options.sdkappid, next}});
  fence.observe(seq);
  a.api_callbacks = std::move(next);
  a.callbacks_seq = seq;
  return {};
}

bool RoomEngine::follow_callbacks(uint32_t sdkappid, domain::CallbackConfig now) {
  AppState* a = app(sdkappid);
  if (!a) return true;
  std::lock_guard lock(a->callbacks_mu);
  if (a->callbacks_seq > store_.durable_seq()) return false;
  a->api_callbacks = std::move(now);
  return true;
}

Result<void> RoomEngine::set_callback(uint32_t sdkappid, domain::Subscription subscription,
                                      ReadFence& fence) {
  AppState* a = app(sdkappid);
  if (!a) return fail(Code::kSdkAppIdInvalid);
  std::lock_guard lock(a->callbacks_mu);
  domain::CallbackConfig next = a->api_callbacks;
  next.subscription = std::move(subscription);
  return store_callbacks(*a, std::move(next), fence);
}

Result<void> RoomEngine::update_callback(uint32_t sdkappid, const CallbackPatch& patch,
                                         ReadFence& fence) {
  AppState* a = app(sdkappid);
  if (!a) return fail(Code::kSdkAppIdInvalid);
  std::lock_guard lock(a->callbacks_mu);
  fence.observe(a->callbacks_seq);
  if (!a->api_callbacks.subscription) {
    return fail(Code::kCallbackTokenMissing, "no callback is configured: call set_callback first");
  }
  domain::CallbackConfig next = a->api_callbacks;
  if (patch.url) next.subscription->url = *patch.url;
  if (patch.commands) next.subscription->commands = *patch.commands;
  return store_callbacks(*a, std::move(next), fence);
}

Result<void> RoomEngine::delete_callback(uint32_t sdkappid, ReadFence& fence) {
  AppState* a = app(sdkappid);
  if (!a) return fail(Code::kSdkAppIdInvalid);
  std::lock_guard lock(a->callbacks_mu);
  fence.observe(a->callbacks_seq);
  if (!a->api_callbacks.subscription) {
    return fail(Code::kCallbackTokenMissing, "no callback is configured");
  }
  domain::CallbackConfig next{std::nullopt, a->api_callbacks.token, a->api_callbacks.token_enabled};
  return store_callbacks(*a, std::move(next), fence);
}

Result<domain::Subscription> RoomEngine::get_callback(uint32_t sdkappid, ReadFence& fence) const {
  AppState* a = app(sdkappid);
  if (!a) return fail(Code::kSdkAppIdInvalid);
  std::lock_guard lock(a->callbacks_mu);
  fence.observe(a->callbacks_seq);
  if (!a->api_callbacks.subscription) {
    return fail(Code::kCallbackTokenMissing, "no callback is configured: call set_callback first");
  }
  return *a->api_callbacks.subscription;
}

Result<void> RoomEngine::set_callback_token(uint32_t sdkappid, std::optional<std::string> token,
                                            std::optional<bool> enabled, ReadFence& fence) {
  AppState* a = app(sdkappid);
  if (!a) return fail(Code::kSdkAppIdInvalid);
  std::lock_guard lock(a->callbacks_mu);
  fence.observe(a->callbacks_seq);
  if (!a->api_callbacks.token && (!token || !enabled)) {
    return fail(Code::kInvalidParameter,
                "Token and IsTokenEnable are both required the first time");
  }
  domain::CallbackConfig next = a->api_callbacks;
  if (token) next.token = std::move(token);
  if (enabled) next.token_enabled = *enabled;
  return store_callbacks(*a, std::move(next), fence);
}

Result<std::pair<std::string, bool>> RoomEngine::get_callback_token(uint32_t sdkappid,
                                                                    ReadFence& fence) const {
  AppState* a = app(sdkappid);
  if (!a) return fail(Code::kSdkAppIdInvalid);
  std::lock_guard lock(a->callbacks_mu);
  fence.observe(a->callbacks_seq);
  if (!a->api_callbacks.token) {
    return fail(Code::kCallbackTokenMissing,
                "callback token is not configured: call set_callback_token first");
  }
  return std::pair{*a->api_callbacks.token, a->api_callbacks.token_enabled};
}

std::optional<std::string> RoomEngine::signing_token(uint32_t sdkappid) const {
  AppState* a = app(sdkappid);
  if (!a) return std::nullopt;
  std::lock_guard lock(a->callbacks_mu);
  if (a->api_callbacks.token) {
    if (a->api_callbacks.token_enabled) return a->api_callbacks.token;
    return std::nullopt;
  }
  if (a->options.file_callback_token_enabled) return a->options.file_callback_token;
  return std::nullopt;
}

}  // namespace liveroom::engine
