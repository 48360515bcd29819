#include "api/router.h"

#include "api/query.h"
#include "web/assets.h"

#include <charconv>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/url.hpp>

#include "api/envelope.h"
#include "api/fields.h"
#include "base/log.h"

namespace liveroom::api {

namespace json = boost::json;
namespace urls = boost::urls;

namespace {

constexpr std::string_view kApiPrefix = "/v4/";

server::HttpResponse json_response(std::string body) {
  return server::HttpResponse{200, "application/json", std::move(body), {}};
}

}  // namespace

ApiRouter::ApiRouter(const config::Config& config, engine::RoomEngine& engine, store::Store& store,
                     const Clock& clock, webhook::Dispatcher* dispatcher,
                     metrics::Registry* metrics)
    : services_{engine, clock, dispatcher},
      store_(store),
      clock_(clock),
      metrics_(metrics),
      callers_(config.apps),
      quotas_(config.apps) {
  for (auto family : {room_commands(), metadata_commands(), account_commands(), profile_commands(),
                      callback_commands(), moderation_commands(), seat_commands(),
                      message_commands(), gift_commands(), battle_commands()}) {
    for (const CommandSpec& spec : family) {
      const auto slash = spec.path.find('/');
      Command c{spec.fn, std::string(spec.path.substr(0, slash)),
                std::string(spec.path.substr(slash + 1)), spec.not_app_admin, spec.over_quota};
      if (metrics_) {
        metrics::Labels labels{{"service", c.service}, {"command", c.name}};
        c.duration = &metrics_->histogram(
            "liveroom_request_duration_seconds",
            "REST request latency, from the request to the reply's release (after the fsync "
            "for writes)",
            metrics::kLatencyBounds, labels);
        labels.emplace_back("code", "0");
        c.ok = &metrics_->counter("liveroom_requests_total",
                                  "REST requests by service, command and ErrorCode", labels);
      }
      commands_.emplace(std::string(spec.path), std::move(c));
    }
  }
}

std::vector<std::string_view> ApiRouter::command_paths() const {
  std::vector<std::string_view> paths;
  for (const auto& [path, command] : commands_) paths.push_back(path);
  return paths;
}

void ApiRouter::count(const Command* command, Code code,
                      std::chrono::steady_clock::time_point started) {
  if (!metrics_) return;
  if (command && command->duration) {
    command->duration->observe_ns(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                      std::chrono::steady_clock::now() - started)
                                      .count());
  }
  if (command && code == Code::kOk) {
    command->ok->inc();
    return;
  }
  // Failures are rarer: their children are found (or made) under the registry's lock. Unknown
  // paths share one label value so a scanner cannot create series without bound.
  metrics_
      ->counter("liveroom_requests_total", "REST requests by service, command and ErrorCode",
                {{"service", command ? command->service : "unknown"},
                 {"command", command ? command->name : "unknown"},
                 {"code", std::to_string(wire_code(code))}})
      .inc();
}

server::HttpResponse ApiRouter::handle(server::HttpRequest&& request) {
  const auto started = std::chrono::steady_clock::now();
  std::string_view target = request.target;
  const auto question = target.find('?');
  std::string_view path = target.substr(0, question);
  std::string_view query = question == std::string_view::npos ? "" : target.substr(question + 1);

  if (path == "/healthz") {
    // The store is loaded before the listener opens, so answering at all means healthy.
    return json_response(R"({"status":"ok"})");
  }
  // /readyz/leader: 200 only on the node that serves the API from its own memory, for balancers
  // that send everything to the cluster's leader (docs/cluster.md); a single node is its own.
  if (path == "/readyz" || path == "/readyz/leader") {
    if (draining_) {
      server::HttpResponse r = json_response(R"({"status":"draining"})");
      r.status = 503;
      return r;
    }
    return json_response(R"({"status":"ready"})");
  }
  if (path == "/demo") {  // relative URLs in the page need the trailing slash
    return server::HttpResponse{
        200,
        "text/html; charset=utf-8",
        R"(<!doctype html><meta http-equiv="refresh" content="0; url=/demo/"><a href="/demo/">demo</a>)",
        {}};
  }
  if (path.starts_with("/demo/")) {
    if (auto asset = web::find_demo_asset(path)) {
      return server::HttpResponse{
          200, std::string(asset->content_type), std::string(asset->body), {}};
    }
    return server::HttpResponse{404, "text/plain; charset=utf-8", "not found\n", {}};
  }
  if (path == "/metrics" && metrics_) {
    return server::HttpResponse{200, std::string(metrics::kContentType), metrics_->render(), {}};
  }

  const Command* command = nullptr;
  if (path.starts_with(kApiPrefix)) {
    auto it = commands_.find(path.substr(kApiPrefix.size()));
    if (it != commands_.end()) command = &it->second;
  }

  // A per-request arena: the body's JSON tree and the reply are freed in one go.
  unsigned char initial[4096];
  json::monotonic_resource arena(initial, sizeof(initial));
  json::storage_ptr storage(&arena);
  engine::ReadFence fence;
  const std::string request_id = next_request_id();
  ScopedRequestId log_scope(request_id);
  Result<Reply> reply = dispatch(request, command, path, query, storage, fence);
  if (!reply) reply.error().code = rest_equivalent(reply.error().code);  // rules shared with SDKs
  const Code code = reply ? Code::kOk : reply.error().code;
  if (!reply && reply.error().code == Code::kInternal) {
    spdlog::error("{} failed: {}", path, reply.error().info);
  }
  server::HttpResponse response = json_response(reply ? encode_success(request_id, *reply)
                                                      : encode_failure(request_id, reply.error()));
  if (fence.seq > store_.durable_seq()) {
    // The reply shows a write that is not durable yet: hold it until the store's fsync.
    response.gate = [this, command, code, started,
                     seq = fence.seq](std::move_only_function<void()> open) {
      store_.when_durable(seq, [this, command, code, started, open = std::move(open)]() mutable {
        count(command, code, started);
        open();
      });
    };
  } else {
    count(command, code, started);
  }
  return response;
}

server::HttpResponse ApiRouter::refuse(unsigned status, std::string_view reason) {
  server::HttpResponse response = json_response(
      encode_failure(next_request_id(), Error{Code::kMalformedRequest, std::string(reason)}));
  response.status = status;
  return response;
}

Result<Reply> ApiRouter::dispatch(const server::HttpRequest& request, const Command* command,
                                  std::string_view path, std::string_view query,
                                  json::storage_ptr storage, engine::ReadFence& fence) {
  if (!path.starts_with(kApiPrefix)) {
    return fail(Code::kBadPath,
                fmt::format("no API at '{}': paths are /v4/<service>/<command>", path));
  }
  if (request.method != "POST") {
    return fail(Code::kHttpParse,
                fmt::format("only POST is supported on the REST API, not {}", request.method));
  }
  if (!command) {
    return fail(Code::kBadPath, fmt::format("unknown API '{}'", path.substr(kApiPrefix.size())));
  }

  auto caller = callers_.check(query, clock_.unix_seconds());
  if (!caller) return std::unexpected(caller.error());
  const uint32_t sdkappid = caller->sdkappid;
  const std::string& identifier = caller->identifier;
  if (!services_.engine.is_app_admin(sdkappid, identifier)) {
    return fail(command->not_app_admin,
                fmt::format("identifier '{}' is not an App administrator of sdkappid {}; the "
                            "REST API must be called as an App administrator",
                            identifier, sdkappid));
  }
  if (shared_quota_) {
    if (const uint32_t limit = quotas_.limit_for(sdkappid, command->name); limit > 0) {
      if (auto ok =
              shared_quota_(sdkappid, quota::QuotaTable::canonical_command(command->name), limit);
          !ok) {
        return fail(ok.error().code == Code::kRateLimited ? command->over_quota : ok.error().code,
                    std::move(ok.error().info));
      }
    }
  } else if (auto ok =
                 quotas_.try_acquire(sdkappid, command->name, std::chrono::steady_clock::now());
             !ok) {
    return fail(command->over_quota, std::move(ok.error().info));
  }
  if (before_call_ && command->name != "get_room_info") {
    if (auto ok = before_call_(); !ok) return std::unexpected(std::move(ok.error()));
  }

  if (request.body.empty()) {
    return fail(Code::kJsonParse, "request body is empty; send {} when a call takes no input");
  }
  json::parse_options options;
  options.allow_comments = true;  // Tencent's doc samples carry comments and trailing commas
  options.allow_trailing_commas = true;
  boost::system::error_code ec;
  json::value body = json::parse(request.body, ec, storage, options);
  if (ec) {
    return fail(Code::kJsonParse, fmt::format("request body is not valid JSON: {}", ec.message()));
  }
  if (!body.is_object()) {
    return fail(Code::kJsonParse,
                fmt::format("request body must be a JSON object, not {}", json_type_name(body)));
  }

  Call call{sdkappid, identifier, request.remote_address, body.get_object(), storage, {}};
  Result<Reply> reply = command->fn(services_, call);
  fence = call.fence;
  return reply;
}

std::string percent_decoded(std::string_view raw) {
  if (raw.find('%') == std::string_view::npos) return std::string(raw);
  auto pct = urls::make_pct_string_view(raw);
  if (!pct) return std::string(raw);
  return pct->decode();
}

std::optional<uint32_t> parse_sdkappid(std::string_view text) {
  if (text.empty() || (text[0] == '0' && text.size() > 1)) return std::nullopt;
  uint32_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

Result<TencentQuery> read_tencent_query(std::string_view query) {
  TencentQuery q;
  std::optional<std::string_view> repeated;
  for_each_param(query, [&](std::string_view key, std::string_view value) {
    std::optional<std::string>* slot = key == "sdkappid"      ? &q.sdkappid
                                       : key == "identifier"  ? &q.identifier
                                       : key == "usersig"     ? &q.usersig
                                       : key == "random"      ? &q.random
                                       : key == "contenttype" ? &q.contenttype
                                                              : nullptr;
    if (!slot) return;
    if (slot->has_value() && !repeated) repeated = key;
    *slot = percent_decoded(value);
  });
  if (repeated) {
    return fail(Code::kHttpParse,
                fmt::format("the URL query names '{}' more than once", *repeated));
  }
  // `random` is not interpreted (no reply depends on it), so its form is not checked: server
  // SDKs that send a signed int (Java's nextInt) keep working.
  return q;
}

}  // namespace liveroom::api
