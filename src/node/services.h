// Everything that answers the API from one node's memory: the single node's, or a cluster
// leader's once it has taken over. Built in dependency order (store, engine, webhook dispatcher,
// router, gateway) and stopped in reverse.
#pragma once

#include <memory>

#include "api/router.h"
#include "base/clock.h"
#include "config/config.h"
#include "engine/room_engine.h"
#include "gateway/gateway.h"
#include "metrics/registry.h"
#include "server/http_server.h"
#include "store/store.h"
#include "webhook/dispatcher.h"

namespace liveroom::node {

struct Services {
  // Loads what `opened` holds. `watcher`, if any, is told of every change to what get_room_info
  // shows (a cluster leader's followers keep its answers).
  Services(const config::Config& cfg, std::unique_ptr<store::Store> opened,
           server::HttpServer& http, metrics::Registry& registry,
           engine::RoomEngine::RoomWatcher watcher = {});

  std::shared_ptr<server::WebSocketSession> open(const server::HttpRequest& upgrade,
                                                 std::shared_ptr<server::WebSocketPeer> peer);

  // After the HTTP server stopped: undelivered events stay in the store for the next start.
  void stop();

  SystemClock clock;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<engine::RoomEngine> engine;
  std::unique_ptr<webhook::Dispatcher> dispatcher;
  std::unique_ptr<api::ApiRouter> router;
  std::unique_ptr<gateway::Gateway> gateway;
  size_t undelivered = 0;
  uint64_t app_state_version = 0;  // where the loaded app-wide state stands (placement by room)
};

// The client gateway's WebSocket settings, from [gateway].
server::WebSocketOptions websocket_options(const config::Config& cfg);

}  // namespace liveroom::node
