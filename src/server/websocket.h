// The WebSocket side of the transport: an HTTP upgrade on a configured path becomes a peer (what
// the application may do to the connection) and a session (what the application does with what
// arrives). Like the HTTP side, it knows nothing of rooms.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace liveroom::server {

struct HttpRequest;

// Several texts sent together go out as one message with this between them (the protocol's
// objects never contain a raw newline).
inline constexpr std::string_view kMessageSeparator = "\n";

// The one message send_here(texts) writes for `texts`, built once: for a message many peers get,
// rather than gathered again in each peer's write.
std::shared_ptr<const std::string> join_messages(
    std::span<const std::shared_ptr<const std::string>> texts);

// A connection that carries the traffic of many peers (a cluster node's link to another): a
// message for several of them crosses it once, with the list of who gets it.
class SharedLink {
 public:
  virtual ~SharedLink() = default;
  // From the link's I/O thread (the worker() of its peers): `texts` to each of `peers` (their
  // shared_link_id()s), as send_here(texts) to each would.
  virtual void multicast_here(std::span<const uint64_t> peers,
                              std::span<const std::shared_ptr<const std::string>> texts) = 0;
};

// One WebSocket connection, as the application holds it. Text messages (or binary ones, on a
// path whose options say so).
class WebSocketPeer {
 public:
  virtual ~WebSocketPeer() = default;
  // Queues a message; from any thread. Messages queued while a write is in flight go out
  // together as one message, joined by '\n' (the protocol's objects never contain a raw
  // newline). A peer with more than max_queued_bytes waiting is disconnected (slow consumer).
  virtual void send(std::shared_ptr<const std::string> text) = 0;
  // Same, but only from the peer's own I/O thread: no hop.
  virtual void send_here(const std::shared_ptr<const std::string>& text) = 0;
  // Several messages at once, from the peer's own I/O thread: they go out as one message, joined
  // by '\n', when the connection is idle (one write instead of one each).
  virtual void send_here(std::span<const std::shared_ptr<const std::string>> texts) = 0;
  // Sends what is queued, then closes with a close frame; from any thread.
  virtual void close(uint16_t code, std::string reason) = 0;
  // Runs `fn` on the peer's I/O thread.
  virtual void post(std::move_only_function<void()> fn) = 0;
  // Which I/O thread the peer lives on (0 .. HttpServer::worker_count() - 1).
  virtual size_t worker() const = 0;
  virtual const std::string& remote_address() const = 0;
  // The link this peer rides on with others, and its id there; null for a connection of its own.
  virtual SharedLink* shared_link() { return nullptr; }
  virtual uint64_t shared_link_id() const { return 0; }
};

// What the application does with a connection. Both calls run on the peer's I/O thread.
class WebSocketSession {
 public:
  virtual ~WebSocketSession() = default;
  virtual void on_text(std::string_view text) = 0;
  // The connection is gone; no more calls follow.
  virtual void on_close() = 0;
};

struct WebSocketOptions {
  std::string path;                      // upgrades on this path (query string ignored)
  uint32_t idle_timeout_ms = 30'000;     // nothing received this long: the server closes
  size_t max_message_bytes = 64 * 1024;  // larger incoming messages close the connection
  size_t max_queued_bytes = 4 * 1024 * 1024;
  // Binary frames both ways instead of text: the messages are bytes (a cluster's node link, whose
  // payloads are whatever clients sent).
  bool binary = false;
};

// Accepts an upgraded connection (nullptr refuses it with close code 1008).
using WebSocketOpener = std::function<std::shared_ptr<WebSocketSession>(
    const HttpRequest& upgrade, std::shared_ptr<WebSocketPeer> peer)>;

}  // namespace liveroom::server
