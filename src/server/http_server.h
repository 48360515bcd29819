// The HTTP transport of liveroomd: Boost.Beast over Asio with C++20 coroutines, plain TCP or
// TLS on the same code path. It knows nothing of rooms: it reads a request within the configured
// limits, hands it to the Handler, and writes back whatever the Handler answers, whenever it
// answers (a durable write answers from the store's writer thread, after the fsync).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "config/config.h"
#include "server/websocket.h"

namespace boost::asio {
class io_context;
}

namespace liveroom::server {

struct HttpRequest {
  std::string method;  // "POST", "GET", ...
  std::string target;  // path and query, undecoded
  std::string body;
  std::string remote_address;
};

// Holds a finished response back until something outside the transport allows it out (a durable
// write waits for the store's fsync). It is called once with `open`, which it must call exactly
// once, from any thread.
using Gate = std::move_only_function<void(std::move_only_function<void()> open)>;

struct Later;

struct HttpResponse {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  Gate gate;                     // empty: send at once
  std::shared_ptr<Later> later;  // set: everything above is replaced by what it answers
};

// The answer comes later (a request forwarded to another server): `start` is called once with a
// function that takes the answer, which must be called exactly once, from any thread.
using Answer = std::move_only_function<void(HttpResponse&&)>;
struct Later {
  std::move_only_function<void(Answer answer)> start;
};

// Answers one request. It runs on the connection's I/O thread and must not block.
using Handler = std::function<HttpResponse(HttpRequest&&)>;
// Renders the answer to a request the transport refuses before any Handler sees it (status 400,
// 413 or 431, and why), so the body can take the application's envelope.
using RefusalRenderer = std::function<HttpResponse(unsigned status, std::string_view reason)>;

// Blocks SIGINT/SIGTERM in the calling thread and every thread it starts later, so that
// HttpServer::wait_for_signal() receives them. Call first thing in main().
void block_termination_signals();

class HttpServer {
 public:
  HttpServer(const config::HttpConfig& http, const std::optional<config::TlsConfig>& tls,
             Handler handler, RefusalRenderer refusal);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds HOST:PORT (port 0 = any free port); throws std::runtime_error on failure.
  void listen(const std::string& host_port);
  uint16_t port() const;
  // Starts the I/O threads and returns.
  void start();
  // Stops accepting, closes idle keep-alive connections, lets requests in flight (begun to
  // arrive or being handled) finish within `grace`, then stops the I/O threads. Safe to call
  // from a signal-handling thread.
  void drain_and_stop(std::chrono::milliseconds grace);
  // Only the first step of drain_and_stop: new connections are refused from now (a cluster
  // leader handing over, whose followers must find the next leader rather than this one).
  void stop_accepting();
  // Blocks until SIGINT or SIGTERM arrives.
  void wait_for_signal();

  size_t active_connections() const;

  // Serves WebSocket upgrades on options.path with `opener`; once per path. Call before start().
  void set_websocket(WebSocketOptions options, WebSocketOpener opener);
  // The I/O threads, for applications that fan work out to every connection thread by thread.
  size_t worker_count() const;
  void post_to_worker(size_t worker, std::move_only_function<void()> fn);
  // The io_context of I/O thread `worker`, for a client of other servers that serves this
  // server's requests and connections (a follower's node links): run on the same threads, it
  // hands them nothing across threads. Whatever it keeps there must be closed after
  // drain_and_stop() and before this server is destroyed.
  boost::asio::io_context& worker_context(size_t worker);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace liveroom::server
