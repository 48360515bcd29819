#include "domain/callbacks.h"

#include <algorithm>
#include <array>

#include <fmt/format.h>

namespace liveroom::domain {

namespace {
constexpr std::array<std::string_view, 20> kCommands{
    kAfterCreateRoom,
    kAfterDestroyRoom,
    kAfterUpdateRoomInfo,
    kAfterSetMetadata,
    kAfterDelMetadata,
    "Live.CallbackAfterCreateRoomReachingThreshold",
    "Live.CallbackAfterMemberStateChanged",
    "Live.CallbackMemberStateChanged",
    "Live.CallbackAfterChangeOwner",
    "Live.CallbackAfterModifyAdmin",
    "Mic.CallbackAfterSeatInfoChanged",
    kAfterCreateBattle,
    kAfterStartBattle,
    kAfterEndBattle,
    kBeforeSendGift,
    kGiftCheckNotBlock,
    "Group.CallbackBeforeSendMsg",
    "Group.CallbackAfterSendMsg",
    "Follow.CallbackAfterFollowAdd",
    "Follow.CallbackAfterFollowDelete",
};
}  // namespace

std::span<const std::string_view> known_callback_commands() {
  return kCommands;
}

bool is_callback_command(std::string_view command) {
  return std::find(kCommands.begin(), kCommands.end(), command) != kCommands.end();
}

Result<void> check_callback_url(std::string_view url, std::string_view field) {
  if (url.size() > kMaxCallbackUrlBytes) {
    return fail(Code::kInvalidParameter,
                fmt::format("{} exceeds {} bytes", field, kMaxCallbackUrlBytes));
  }
  std::string_view rest;
  if (url.starts_with("http://")) {
    rest = url.substr(7);
  } else if (url.starts_with("https://")) {
    rest = url.substr(8);
  } else {
    return fail(Code::kInvalidParameter,
                fmt::format("{} must start with http:// or https://", field));
  }
  const std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.empty() || authority.front() == ':') {
    return fail(Code::kInvalidParameter, fmt::format("{} has no host", field));
  }
  if (authority.find('@') != std::string_view::npos) {
    return fail(Code::kInvalidParameter,
                fmt::format("{} must not carry credentials (user@host); sign with a token", field));
  }
  // A port, if any, is 1-65535 (an IPv6 literal's colons are inside its brackets).
  const auto bracket = authority.rfind(']');
  const auto colon = authority.rfind(':');
  if (colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket)) {
    const std::string_view port = authority.substr(colon + 1);
    unsigned value = 0;
    bool digits = !port.empty() && port.size() <= 5;
    for (char c : port) {
      digits = digits && c >= '0' && c <= '9';
      if (digits) value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (!digits || value == 0 || value > 65535) {
      return fail(Code::kInvalidParameter, fmt::format("{} has an invalid port", field));
    }
  }
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return fail(Code::kInvalidParameter,
                  fmt::format("{} must not contain spaces or control characters", field));
    }
  }
  return {};
}

bool Subscription::wants(std::string_view command) const {
  return commands.empty() || lists(command);
}

bool Subscription::lists(std::string_view command) const {
  return std::find(commands.begin(), commands.end(), command) != commands.end();
}

}  // namespace liveroom::domain
