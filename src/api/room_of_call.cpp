#include "api/room_of_call.h"

#include <boost/json.hpp>

#include "api/fields.h"

namespace liveroom::api {
namespace {

namespace json = boost::json;

// A text field's value if it is a non-empty string (the handler refuses anything else, on
// whichever node).
std::optional<std::string> text_of(const Fields& fields, std::string_view key) {
  auto value = fields.text(key, SIZE_MAX);
  if (!value || !*value || (*value)->empty()) return std::nullopt;
  return std::string(**value);
}

}  // namespace

std::optional<std::string> room_of_call(std::string_view path, std::string_view body) {
  constexpr std::string_view kPrefix = "/v4/";
  if (!path.starts_with(kPrefix)) return std::nullopt;
  path.remove_prefix(kPrefix.size());
  const size_t slash = path.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  const std::string_view service = path.substr(0, slash);
  const std::string_view command = path.substr(slash + 1);
  const bool room_service = service == "live_engine_http_srv" || service == "room_engine_http_mic";
  const bool room_command = (room_service && command != "get_room_list") ||
                            (service == "group_open_http_svc" && command == "send_group_msg") ||
                            service == "live_engine_http_pk";
  if (!room_command) return std::nullopt;

  json::parse_options options;  // as the router parses it
  options.allow_comments = true;
  options.allow_trailing_commas = true;
  boost::system::error_code ec;
  json::value parsed = json::parse(body, ec, {}, options);
  if (ec || !parsed.is_object()) return std::nullopt;
  const Fields fields(parsed.get_object());
  if (command == "create_room" || command == "update_room_info") {
    auto info = fields.required_object("RoomInfo");
    return info ? text_of(*info, "RoomId") : std::nullopt;
  }
  if (command == "send_group_msg") return text_of(fields, "GroupId");
  if (command == "create_battle") return text_of(fields, "FromRoomId");
  // A battle's id is made to fall in its asking room's slot (RoomEngine::create_battle).
  if (command == "end_battle") return text_of(fields, "BattleId");
  if (command == "get_battle_info") {
    if (auto battle = text_of(fields, "BattleId")) return battle;
  }
  return text_of(fields, "RoomId");
}

}  // namespace liveroom::api
