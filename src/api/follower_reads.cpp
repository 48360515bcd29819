#include "api/follower_reads.h"

#include <charconv>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "api/envelope.h"

namespace liveroom::api {

namespace json = boost::json;

namespace {

constexpr std::string_view kGetRoomInfo = "/v4/live_engine_http_srv/get_room_info";

}  // namespace

FollowerReads::FollowerReads(const config::Config& config, const Clock& clock,
                             metrics::Counter& answered)
    : callers_(config.apps), clock_(clock), answered_(answered) {
  const quota::QuotaTable quotas(config.apps);
  for (const auto& app : config.apps) {
    if (quotas.limit_for(app.sdkappid, "get_room_info") == 0) unlimited_.insert(app.sdkappid);
  }
}

std::string FollowerReads::room_tag(uint32_t sdkappid, std::string_view room_id) {
  return fmt::format("{}/{}", sdkappid, room_id);
}

std::optional<std::string> FollowerReads::key_of(const server::HttpRequest& request) {
  const std::string_view target = request.target;
  const size_t question = target.find('?');
  if (request.method != "POST" || target.substr(0, question) != kGetRoomInfo ||
      question == std::string_view::npos || request.body.empty()) {
    return std::nullopt;
  }
  // Checked here each time, as the leader would (an expired UserSig goes to the leader, which
  // answers its error): the kept answer was the leader's to this very UserSig.
  const auto caller = callers_.check(target.substr(question + 1), clock_.unix_seconds());
  if (!caller || !unlimited_.contains(caller->sdkappid)) return std::nullopt;
  // Lengths first, so that no two callers and bodies make the same key.
  return fmt::format("{} {}:{} {}:{} {}", caller->sdkappid, caller->identifier.size(),
                     caller->identifier, caller->usersig.size(), caller->usersig, request.body);
}

std::optional<std::string> FollowerReads::tag_of(std::string_view key, std::string_view body) {
  if (!body.starts_with(kSuccessPrefix)) return std::nullopt;
  uint32_t sdkappid = 0;
  const auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), sdkappid);
  if (ec != std::errc()) return std::nullopt;
  boost::system::error_code parse_error;
  const json::value answer = json::parse(body, parse_error);
  if (parse_error || !answer.is_object()) return std::nullopt;
  const auto* response = answer.as_object().if_contains("Response");
  const auto* info =
      response && response->is_object() ? response->as_object().if_contains("RoomInfo") : nullptr;
  const auto* room_id =
      info && info->is_object() ? info->as_object().if_contains("RoomId") : nullptr;
  if (!room_id || !room_id->is_string()) return std::nullopt;
  return room_tag(sdkappid, room_id->as_string());
}

server::HttpResponse FollowerReads::replay(std::string_view body) {
  answered_.inc();
  // tag_of keeps only answers that begin with kSuccessPrefix (valid JSON): the RequestId
  // follows it, up to the next '"'.
  const size_t id_end = body.find('"', kSuccessPrefix.size());
  if (id_end == std::string_view::npos) {
    return server::HttpResponse{200, "application/json", std::string(body), {}};
  }
  std::string out;
  out.reserve(body.size() + 16);
  out.append(kSuccessPrefix).append(next_request_id()).append(body.substr(id_end));
  return server::HttpResponse{200, "application/json", std::move(out), {}};
}

}  // namespace liveroom::api
