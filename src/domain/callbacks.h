// Webhook subscriptions and the callback commands liveroom can send (spec §5.2), as values.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace liveroom::domain {

inline constexpr std::string_view kAfterCreateRoom = "Live.CallbackAfterCreateRoom";
inline constexpr std::string_view kAfterDestroyRoom = "Live.CallbackAfterDestroyRoom";
inline constexpr std::string_view kAfterUpdateRoomInfo = "Live.CallbackAfterUpdateRoomInfo";
inline constexpr std::string_view kAfterSetMetadata = "Live.CallbackAfterSetMetadata";
inline constexpr std::string_view kAfterDelMetadata = "Live.CallbackAfterDelMetadata";
inline constexpr std::string_view kBeforeSendGift = "Live.CallbackBeforeSendGift";
inline constexpr std::string_view kAfterCreateBattle = "Live.CallbackAfterCreateBattle";
inline constexpr std::string_view kAfterStartBattle = "Live.CallbackAfterStartBattle";
inline constexpr std::string_view kAfterEndBattle = "Live.CallbackAfterEndBattle";
// Not an event: a subscription that lists it turns on the non-blocking gift check (a backend
// that fails or is late allows the gift), as the switch of that name does in Tencent's console.
inline constexpr std::string_view kGiftCheckNotBlock = "Live.CallbackBeforeCallBackNotBlock";

// Every CallbackCommand a subscription may list: the ones this build sends and the ones of
// spec §5.2 that later features send (accepting them now keeps a copied Tencent list valid).
std::span<const std::string_view> known_callback_commands();
bool is_callback_command(std::string_view command);

inline constexpr size_t kMaxCallbackUrlBytes = 1024;
inline constexpr size_t kMaxCallbackTokenChars = 128;

// http:// or https:// with a host; Result names `field`.
Result<void> check_callback_url(std::string_view url, std::string_view field);

struct Subscription {
  std::string url;
  std::vector<std::string> commands;  // empty: every command
  bool wants(std::string_view command) const;
  // Whether `command` is in the list itself (an empty list wants every event, lists nothing).
  bool lists(std::string_view command) const;
};

// What Tencent's live_config API manages for one app: one subscription and one token.
struct CallbackConfig {
  std::optional<Subscription> subscription;
  std::optional<std::string> token;  // set once set_callback_token was called
  bool token_enabled = false;
};

// One event on its way to one URL: the row of the transactional outbox. An event sent to two URLs
// is two entries with the same event_id.
struct OutboxEntry {
  uint64_t id = 0;  // increasing in creation order; a room's entries are in room_seq order
  uint32_t sdkappid = 0;
  std::string url;
  std::string room_id;
  uint64_t room_seq = 0;  // the event's number within its room: 1, 2, 3 ...
  std::string event_id;   // 32 lowercase hex, the same on every URL and retry
  std::string command;    // CallbackCommand
  std::string payload;    // the JSON body
  std::string client_ip;  // of the API call that caused the event
  int64_t created_ms = 0;
  uint32_t attempts = 0;
  int64_t next_attempt_ms = 0;
  bool dead = false;
  std::string last_error;
};

}  // namespace liveroom::domain
