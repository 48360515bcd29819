// One process on the embedded SQLite store: `make run`, and every deployment without [cluster].
#include <chrono>
#include <filesystem>

#include <spdlog/spdlog.h>

#include "node/serve.h"
#include "node/services.h"

namespace liveroom::node {
namespace {

// The data directory holds the callback tokens: 0700 when liveroomd creates it, whatever the
// umask. An existing one readable by others is the operator's choice, but worth a warning.
void prepare_data_dir(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  if (!fs::exists(dir)) {
    fs::create_directories(dir);
    fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace);
    return;
  }
  const fs::perms others = fs::perms::group_all | fs::perms::others_all;
  if ((fs::status(dir).permissions() & others) != fs::perms::none) {
    spdlog::warn(
        "data_dir {} is accessible to other users; it holds the callback tokens that "
        "sign webhooks (chmod 700 it)",
        dir.string());
  }
}

}  // namespace

int serve_single(config::Config cfg) {
  prepare_data_dir(cfg.data_dir);
  const auto started = std::chrono::steady_clock::now();
  metrics::Registry registry;
  std::unique_ptr<Services> services;
  server::HttpServer http(
      cfg.http, cfg.tls,
      [&services](server::HttpRequest&& req) { return services->router->handle(std::move(req)); },
      &api::ApiRouter::refuse);
  services = std::make_unique<Services>(
      cfg,
      store::open_sqlite_store({(std::filesystem::path(cfg.data_dir) / "liveroom.db").string()}),
      http, registry);
  const auto loaded_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::steady_clock::now() - started)
                             .count();
  http.listen(cfg.listen);
  http.set_websocket(
      websocket_options(cfg),
      [&services](const server::HttpRequest& upgrade, std::shared_ptr<server::WebSocketPeer> peer) {
        return services->open(upgrade, std::move(peer));
      });
  http.start();
  spdlog::info(
      "liveroomd listening on {} (port {}), {} rooms and {} queued webhook deliveries loaded from "
      "{} in {} ms{}",
      cfg.listen, http.port(), services->engine->room_count(), services->undelivered, cfg.data_dir,
      loaded_ms, cfg.tls ? ", TLS on" : "");

  http.wait_for_signal();
  services->router->set_draining();
  http.drain_and_stop(std::chrono::seconds(10));
  services->stop();
  spdlog::info("liveroomd stopped cleanly");
  return 0;
}

}  // namespace liveroom::node
