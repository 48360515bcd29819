// The Tencent REST surface as one server::Handler. Each request goes through the same steps, in
// the order docs/compatibility.md documents: path → sdkappid → UserSig → App admin → quota →
// body → command handler → envelope. The reply is sent once the store has made durable every
// write the command made or observed.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "api/caller_check.h"
#include "api/command.h"
#include "base/string_hash.h"
#include "config/config.h"
#include "metrics/registry.h"
#include "quota/quota_table.h"
#include "server/http_server.h"
#include "store/store.h"

namespace liveroom::api {

class ApiRouter {
 public:
  ApiRouter(const config::Config& config, engine::RoomEngine& engine, store::Store& store,
            const Clock& clock, webhook::Dispatcher* dispatcher = nullptr,
            metrics::Registry* metrics = nullptr);

  // After SIGTERM: /readyz answers 503 so load balancers stop sending new work.
  void set_draining() { draining_ = true; }

  server::HttpResponse handle(server::HttpRequest&& request);
  // The envelope for a request the transport refused (too large, malformed): 60008.
  static server::HttpResponse refuse(unsigned status, std::string_view reason);

  // Every "<service>/<command>" this server answers (for docs and start-up checks).
  std::vector<std::string_view> command_paths() const;

  // Placement by room (docs/cluster.md). Set before serving.
  // Runs before every command but get_room_info (which reads only its room): brings the app-wide
  // state the engine keeps up to date with the app's other hosts; an error answers the call.
  using BeforeCall = std::function<Result<void>()>;
  void set_before_call(BeforeCall before) { before_call_ = std::move(before); }
  // Takes the call's token from the cluster's one bucket of (sdkappid, command), whose rate is
  // `limit` per second (never 0), instead of this router's own.
  using SharedQuota =
      std::function<Result<void>(uint32_t sdkappid, std::string_view command, uint32_t limit)>;
  void set_shared_quota(SharedQuota quota) { shared_quota_ = std::move(quota); }

 private:
  // What the router knows of one command; the metrics children are created once, up front.
  struct Command {
    CommandFn fn = nullptr;
    std::string service;
    std::string name;
    Code not_app_admin = Code::kNotAppAdmin;
    Code over_quota = Code::kRateLimited;
    metrics::Counter* ok = nullptr;
    metrics::Histogram* duration = nullptr;
  };
  void count(const Command* command, Code code, std::chrono::steady_clock::time_point started);

  // Runs the pipeline; fills `fence` with what the reply must wait for.
  Result<Reply> dispatch(const server::HttpRequest& request, const Command* command,
                         std::string_view path, std::string_view query,
                         boost::json::storage_ptr storage, engine::ReadFence& fence);

  Services services_;
  store::Store& store_;
  const Clock& clock_;
  metrics::Registry* metrics_;
  std::atomic<bool> draining_{false};
  std::unordered_map<std::string, Command, StringHash, std::equal_to<>> commands_;
  CallerCheck callers_;
  quota::QuotaTable quotas_;
  BeforeCall before_call_;
  SharedQuota shared_quota_;
};

}  // namespace liveroom::api
