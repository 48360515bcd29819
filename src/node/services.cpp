#include "node/services.h"

#include <algorithm>
#include <array>
#include <unordered_map>

#include <fmt/format.h>

namespace liveroom::node {
namespace {

// Rate-limit keys name commands; a misspelt one would silently never match, so refuse it.
void check_rate_limit_names(const config::Config& cfg, const api::ApiRouter& router) {
  auto paths = router.command_paths();
  for (size_t i = 0; i < cfg.apps.size(); ++i) {
    for (const auto& [command, limit] : cfg.apps[i].rate_limits.per_command) {
      bool known = std::any_of(paths.begin(), paths.end(), [&](std::string_view p) {
        return p.substr(p.find('/') + 1) == command;
      });
      if (!known) {
        throw config::ConfigError(fmt::format(
            "apps[{}].rate_limits.{} names no command this server answers", i, command));
      }
    }
  }
}

// Registers the families that are sampled rather than counted on the request path.
void register_gauges(metrics::Registry& registry, store::Store& store,
                     const engine::RoomEngine& engine, const webhook::Dispatcher& dispatcher,
                     const server::HttpServer& http, const gateway::Gateway& gateway) {
  auto& commit_latency =
      registry.histogram("liveroom_store_commit_duration_seconds",
                         "Store group commit latency, BEGIN to the end of the fsynced COMMIT",
                         metrics::kLatencyBounds);
  static constexpr std::array<double, 10> kBatchBounds{1, 2, 4, 8, 16, 32, 64, 128, 256, 512};
  auto& batch_size =
      registry.histogram("liveroom_store_commit_batch_size", "Requests sharing one group commit",
                         kBatchBounds, {}, metrics::HistogramUnit::kCount);
  store.set_commit_observer(
      [&commit_latency, &batch_size](std::chrono::nanoseconds took, size_t batch) {
        commit_latency.observe_ns(took.count());
        batch_size.observe(static_cast<double>(batch));
      });
  registry.gauge("liveroom_connections", "Open client connections",
                 [&http] { return static_cast<double>(http.active_connections()); });
  registry.gauge("liveroom_gateway_sessions", "Open client gateway (WebSocket) connections",
                 [&gateway] { return static_cast<double>(gateway.sessions()); });
  registry.gauge("liveroom_rooms", "Rooms in memory",
                 [&engine] { return static_cast<double>(engine.room_count()); });
  registry.gauge("liveroom_webhook_queue_depth", "Webhook deliveries waiting or in flight",
                 [&dispatcher] { return static_cast<double>(dispatcher.stats().queued); });
  registry.gauge("liveroom_webhook_oldest_age_seconds", "Age of the oldest queued delivery",
                 [&dispatcher] { return dispatcher.stats().oldest_age_ms / 1000.0; });
  registry.gauge("liveroom_webhook_dead_letters", "Dead letters kept for replay",
                 [&dispatcher] { return static_cast<double>(dispatcher.stats().dead_letters); });
  const std::string deliveries = "liveroom_webhook_deliveries_total";
  const std::string help = "Webhook delivery attempts by result";
  registry.sampled_counter(deliveries, help, [&dispatcher] { return dispatcher.stats().delivered; },
                           {{"result", "ok"}});
  registry.sampled_counter(deliveries, help, [&dispatcher] { return dispatcher.stats().retries; },
                           {{"result", "retry"}});
  registry.sampled_counter(deliveries, help,
                           [&dispatcher] { return dispatcher.stats().dead_lettered; },
                           {{"result", "dead"}});
}

}  // namespace

Services::Services(const config::Config& cfg, std::unique_ptr<store::Store> opened,
                   server::HttpServer& http, metrics::Registry& registry,
                   engine::RoomEngine::RoomWatcher watcher)
    : store(std::move(opened)) {
  std::vector<engine::AppOptions> apps;
  std::unordered_map<uint32_t, int64_t> max_age_ms;
  for (const auto& app : cfg.apps) {
    std::vector<domain::Subscription> callbacks;
    for (const auto& c : app.callbacks) callbacks.push_back({c.url, c.commands});
    apps.push_back({app.sdkappid, app.admins, app.auto_import_accounts, std::move(callbacks),
                    app.callback_token, app.callback_token_enabled,
                    int64_t{app.empty_room_dismiss_seconds},
                    int64_t{app.owner_absent_dismiss_seconds}});
    max_age_ms[app.sdkappid] = int64_t{app.webhook_max_age_seconds} * 1000;
  }
  engine = std::make_unique<engine::RoomEngine>(*store, clock, std::move(apps));
  if (watcher) engine->set_room_watcher(std::move(watcher));
  store::Snapshot snapshot = store->load();
  app_state_version = snapshot.app_state_version;
  std::vector<domain::OutboxEntry> outbox = snapshot.outbox;
  engine->load(std::move(snapshot));

  dispatcher = std::make_unique<webhook::Dispatcher>(
      *store, clock, [e = engine.get()](uint32_t sdkappid) { return e->signing_token(sdkappid); },
      [max_age_ms](uint32_t sdkappid) {
        auto it = max_age_ms.find(sdkappid);
        return it == max_age_ms.end() ? int64_t{86'400'000} : it->second;
      },
      webhook::DispatcherOptions{
          .connections_per_url = cfg.webhooks.connections_per_url,
          .pipeline_depth = cfg.webhooks.pipeline_depth,
          .request_timeout = std::chrono::milliseconds(cfg.webhooks.request_timeout_ms)});
  undelivered = outbox.size();
  dispatcher->load(std::move(outbox));
  engine->set_outbox_listener(dispatcher.get());
  dispatcher->start();

  router =
      std::make_unique<api::ApiRouter>(cfg, *engine, *store, clock, dispatcher.get(), &registry);
  check_rate_limit_names(cfg, *router);
  gateway = std::make_unique<gateway::Gateway>(cfg, *engine, *store, clock, http, dispatcher.get());
  gateway->observe_walks(&registry.histogram(
      "liveroom_gateway_walk_duration_seconds",
      "Time an I/O thread takes to write one broadcast to its own members of a room, first to "
      "last (members behind another node's link are not in it: that node writes to them)",
      metrics::kLatencyBounds));
  engine->set_audience_factory(gateway.get(), {int64_t{cfg.gateway.presence_grace_ms}});
  register_gauges(registry, *store, *engine, *dispatcher, http, *gateway);
  gateway->start();
}

std::shared_ptr<server::WebSocketSession> Services::open(
    const server::HttpRequest& upgrade, std::shared_ptr<server::WebSocketPeer> peer) {
  return gateway->open_session(upgrade, std::move(peer));
}

void Services::stop() {
  gateway->stop();
  dispatcher->stop();
  store->close();
}

server::WebSocketOptions websocket_options(const config::Config& cfg) {
  return {"/gateway", 3 * cfg.gateway.heartbeat_interval_ms, cfg.gateway.max_message_bytes,
          cfg.gateway.max_queued_bytes};
}

}  // namespace liveroom::node
