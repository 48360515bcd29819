// What a follower does with every request: forward it to the leader and pass the answer back. It
// knows nothing of rooms or of the Tencent API: REST calls go over a pool of keep-alive HTTP/1.1
// connections, and a WebSocket connection is relayed message by message over a WebSocket of its
// own to the leader. It runs on its own I/O threads, so waiting on the leader never holds up the
// node's own connections.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "server/http_server.h"
#include "server/websocket.h"

namespace liveroom::cluster {

class Forwarder {
 public:
  // Renders the answer to a request the leader could not answer (unreachable, timed out); the
  // transport cannot render the application's envelope itself.
  using Unreachable = std::function<server::HttpResponse(std::string_view why)>;

  Forwarder(Unreachable unreachable, std::chrono::milliseconds timeout, unsigned threads);
  ~Forwarder();
  Forwarder(const Forwarder&) = delete;
  Forwarder& operator=(const Forwarder&) = delete;

  // Answers (later) with what the server at `base_url` (http://host[:port]) answers to `request`.
  server::HttpResponse forward(const std::string& base_url, server::HttpRequest&& request);
  // Relays a client's WebSocket connection to `base_url` + the upgrade's target: the leader sees
  // the same path and query (and so the same login), the client sees the leader's messages and
  // close code.
  std::shared_ptr<server::WebSocketSession> relay(const std::string& base_url,
                                                  const server::HttpRequest& upgrade,
                                                  std::shared_ptr<server::WebSocketPeer> peer);
  void stop();

  struct Impl;  // the pool and I/O threads, shared with the relays

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace liveroom::cluster
