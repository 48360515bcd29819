// A follower's end of its node link to the leader (link_records.h): one WebSocket carries every
// client connection this node accepts and every REST call it forwards, so the leader keeps one
// connection per node instead of one per client, calls travel in batches, and a broadcast to a
// room's members here crosses once; this node writes it to each of them. It knows nothing of
// rooms or of the Tencent API, and runs on I/O threads of its own.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "server/http_server.h"
#include "server/websocket.h"

namespace liveroom::cluster {

class LinkClient {
 public:
  // Renders the answer to a call the leader could not answer (the link broke, or it timed out):
  // the transport cannot render the application's envelope itself.
  using Unreachable = std::function<server::HttpResponse(std::string_view why)>;

  // `node_id` and `secret` (the cluster's, from PostgreSQL) identify this node to the leader.
  // `lanes`: links to the leader, each on a thread of its own here and (the leader's acceptor
  // spreads connections over its I/O threads) on one of the leader's: one per I/O thread keeps
  // every core of both busy.
  LinkClient(std::string node_id, std::string secret, Unreachable unreachable,
             std::chrono::milliseconds call_timeout, unsigned lanes);
  ~LinkClient();
  LinkClient(const LinkClient&) = delete;
  LinkClient& operator=(const LinkClient&) = delete;

  // Carries a client's gateway connection to the leader at `leader_url` (http://host:port): the
  // leader sees its address and the upgrade's target (and so its login), the client sees the
  // leader's messages and close code. If the link goes, the client is closed with 1012.
  std::shared_ptr<server::WebSocketSession> open(const std::string& leader_url,
                                                 const server::HttpRequest& upgrade,
                                                 std::shared_ptr<server::WebSocketPeer> peer);
  // Answers (later) with what the leader at `leader_url` answers to `request`; with what
  // `unreachable` (the constructor's if empty) renders if the leader does not answer.
  server::HttpResponse forward(const std::string& leader_url, server::HttpRequest&& request,
                               Unreachable unreachable = {});
  void stop();

  // For /metrics: client connections carried, and calls waiting for the leader's answer.
  size_t carried_clients() const;
  size_t calls_in_flight() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

// The path the leader serves node links on, and whether `target` (its query string) carries
// `secret`.
inline constexpr std::string_view kLinkPath = "/cluster/link";
bool link_secret_matches(std::string_view target, std::string_view secret);

}  // namespace liveroom::cluster
