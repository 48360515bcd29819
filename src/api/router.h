// The Tencent REST surface as one server::Handler. Each request goes through the same steps, in
// the order docs/compatibility.md documents: path → sdkappid → UserSig → App admin → quota →
// body → command handler → envelope. The reply is sent once the store has made durable every
// write the command made or observed.
#pragma once

#include <atomic>
#include <chrono>
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
};

}  // namespace liveroom::api
