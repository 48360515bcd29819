#include "api/router.h"

#include <charconv>

#include <fmt/format.h>
#include <boost/url.hpp>

#include "api/envelope.h"
#include "api/fields.h"

namespace liveroom::api {

namespace json = boost::json;
namespace urls = boost::urls;

namespace {

constexpr std::string_view kApiPrefix = "/v4/";

struct Credentials {
  std::optional<std::string> sdkappid;
  std::string identifier;
  std::string usersig;
};

Credentials read_query(std::string_view query) {
  Credentials c;
  auto params = urls::parse_query(query);
  if (!params) return c;
  for (auto param : *params) {
    // Parameter names are case-sensitive (spec §1.1). Values are percent-decoded.
    if (param.key == "sdkappid") {
      c.sdkappid = param.has_value ? std::string(param.value.decode()) : std::string();
    } else if (param.key == "identifier") {
      c.identifier = param.value.decode();
    } else if (param.key == "usersig") {
      c.usersig = param.value.decode();
    }
  }
  return c;
}

std::optional<uint32_t> parse_sdkappid(std::string_view text) {
  uint32_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

server::HttpResponse json_response(std::string body) {
  return server::HttpResponse{200, "application/json", std::move(body)};
}

}  // namespace

ApiRouter::ApiRouter(const config::Config& config, engine::RoomEngine& engine, store::Store& store,
                     const Clock& clock)
    : services_{engine, clock}, store_(store), clock_(clock), quotas_(config.apps) {
  for (auto family :
       {room_commands(), metadata_commands(), account_commands(), profile_commands()}) {
    for (const CommandSpec& spec : family) commands_.emplace(std::string(spec.path), spec.fn);
  }
  for (const auto& app : config.apps) apps_.emplace(app.sdkappid, App{app.secret_key});
}

std::vector<std::string_view> ApiRouter::command_paths() const {
  std::vector<std::string_view> paths;
  for (const auto& [path, fn] : commands_) paths.push_back(path);
  return paths;
}

void ApiRouter::handle(server::HttpRequest&& request, server::Responder respond) {
  std::string_view target = request.target;
  const auto question = target.find('?');
  std::string_view path = target.substr(0, question);
  std::string_view query = question == std::string_view::npos ? "" : target.substr(question + 1);

  if (path == "/healthz" || path == "/readyz") {
    // The store is loaded before the listener opens, so answering at all means healthy.
    respond(json_response(R"({"status":"ok"})"));
    return;
  }

  // A per-request arena: the body's JSON tree and the reply are freed in one go.
  unsigned char initial[4096];
  auto storage = json::make_shared_resource<json::monotonic_resource>(initial, sizeof(initial));
  engine::ReadFence fence;
  const std::string request_id = next_request_id();
  Result<Reply> reply = dispatch(request, path, query, storage, fence);
  std::string body =
      reply ? encode_success(request_id, *reply) : encode_failure(request_id, reply.error());
  if (fence.seq == 0 || fence.seq <= store_.durable_seq()) {
    respond(json_response(std::move(body)));
    return;
  }
  store_.when_durable(fence.seq, [respond = std::move(respond), body = std::move(body)]() mutable {
    respond(json_response(std::move(body)));
  });
}

Result<Reply> ApiRouter::dispatch(const server::HttpRequest& request, std::string_view path,
                                  std::string_view query, json::storage_ptr storage,
                                  engine::ReadFence& fence) {
  if (!path.starts_with(kApiPrefix)) {
    return fail(Code::kBadPath,
                fmt::format("no API at '{}': paths are /v4/<service>/<command>", path));
  }
  if (request.method != "POST") {
    return fail(Code::kHttpParse,
                fmt::format("only POST is supported on the REST API, not {}", request.method));
  }
  const std::string_view command_path = path.substr(kApiPrefix.size());
  auto command = commands_.find(command_path);
  if (command == commands_.end()) {
    return fail(Code::kBadPath, fmt::format("unknown API '{}'", command_path));
  }

  Credentials cred = read_query(query);
  if (!cred.sdkappid || cred.sdkappid->empty()) {
    return fail(Code::kSdkAppIdMissing, "sdkappid is missing from the URL query");
  }
  auto sdkappid = parse_sdkappid(*cred.sdkappid);
  auto app = sdkappid ? apps_.find(*sdkappid) : apps_.end();
  if (app == apps_.end()) {
    return fail(Code::kSdkAppIdInvalid,
                fmt::format("sdkappid '{}' is not an application of this server", *cred.sdkappid));
  }
  if (auto ok = verifier_.verify(*sdkappid, cred.identifier, cred.usersig, app->second.secret_key,
                                 clock_.unix_seconds());
      !ok) {
    return std::unexpected(ok.error());
  }
  if (!services_.engine.is_app_admin(*sdkappid, cred.identifier)) {
    return fail(Code::kNotAppAdmin,
                fmt::format("identifier '{}' is not an App administrator of sdkappid {}; the "
                            "REST API must be called as an App administrator",
                            cred.identifier, *sdkappid));
  }
  const std::string_view command_name = command_path.substr(command_path.find('/') + 1);
  if (auto ok = quotas_.try_acquire(*sdkappid, command_name, std::chrono::steady_clock::now());
      !ok) {
    return std::unexpected(ok.error());
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

  Call call{*sdkappid, cred.identifier, body.get_object(), storage, {}};
  Result<Reply> reply = command->second(services_, call);
  fence = call.fence;
  return reply;
}

}  // namespace liveroom::api
