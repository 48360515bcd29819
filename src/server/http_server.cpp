// One coroutine per connection, in the shape of Beast's awaitable server example:
//   wait for the first byte (idle timeout) → read the request (read timeout, size limits) →
//   ask the Handler → if the response is gated, wait for the gate (no timeout: a durable write
//   waits for fsync) → write → keep-alive?
//
// Threads: one io_context per I/O thread, each run by exactly one thread, and every connection
// pinned to one of them (round-robin at accept). A connection's handlers therefore never run
// concurrently without strands, and all I/O objects use the concrete io_context executor rather
// than the type-erased any_io_executor: both showed up in profiles of the request path.
//
// A registry of live connections lets a drain close idle keep-alive connections at once instead
// of waiting for their idle timeout.
#include "server/http_server.h"

#include <array>
#include <csignal>
#include <deque>
#include <mutex>
#include <span>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

#include <spdlog/spdlog.h>
#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "base/log_throttle.h"

namespace liveroom::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using namespace boost::asio::experimental::awaitable_operators;

namespace {

using Executor = asio::io_context::executor_type;
using Socket = asio::basic_stream_socket<tcp, Executor>;
using TlsStream = beast::ssl_stream<Socket>;
using Acceptor = asio::basic_socket_acceptor<tcp, Executor>;
using Timer = asio::basic_waitable_timer<std::chrono::steady_clock,
                                         asio::wait_traits<std::chrono::steady_clock>, Executor>;
template <typename T>
using Task = asio::awaitable<T, Executor>;
constexpr auto kAwait = asio::as_tuple(asio::use_awaitable_t<Executor>{});
constexpr std::chrono::steady_clock::duration kCloseHandshakeTimeout = 2s;

}  // namespace

// An I/O thread and its io_context. Gates are opened from the store's writer thread, many at
// once after a group commit; instead of one post (and possibly one wake-up) each, openings are
// queued and the first one into an empty queue posts a single drain that resumes them all.
struct Worker {
  asio::io_context ioc{1};  // run by exactly one thread
  std::thread thread;
  std::mutex opened_mu;
  std::vector<std::move_only_function<void()>> opened;

  void resume_later(std::move_only_function<void()> resume) {
    bool first;
    {
      std::lock_guard lock(opened_mu);
      first = opened.empty();
      opened.push_back(std::move(resume));
    }
    if (first) asio::post(ioc, [this] { drain_opened(); });
  }

  void drain_opened() {
    std::vector<std::move_only_function<void()>> ready;
    {
      std::lock_guard lock(opened_mu);
      ready.swap(opened);
    }
    for (auto& resume : ready) resume();
  }
};

namespace {

// Suspends the coroutine until the gate opens, from whatever thread opens it; it resumes on
// `worker`'s thread.
template <typename Token>
auto async_pass_gate(Gate& gate, Worker& worker, Token&& token) {
  return asio::async_initiate<Token, void()>(
      [&gate, &worker](auto completion) {
        gate([&worker, completion = std::move(completion)]() mutable {
          worker.resume_later(
              [completion = std::move(completion)]() mutable { std::move(completion)(); });
        });
      },
      token);
}

// Suspends the coroutine until `later` answers, stores the answer in `out` and resumes on
// `worker`'s thread.
template <typename Token>
auto async_wait_for_answer(Later& later, HttpResponse& out, Worker& worker, Token&& token) {
  return asio::async_initiate<Token, void()>(
      [&later, &out, &worker](auto completion) {
        later.start(
            [&out, &worker, completion = std::move(completion)](HttpResponse&& answer) mutable {
              out = std::move(answer);  // published to the worker by resume_later's queue
              worker.resume_later(
                  [completion = std::move(completion)]() mutable { std::move(completion)(); });
            });
      },
      token);
}

// The response head is small and fixed in shape; writing it directly is cheaper than Beast's
// serializer. Head and body then go out in one gathered write.
std::string serialize_head(const HttpResponse& r, unsigned version, bool keep_alive) {
  std::string out;
  out.reserve(128);
  out += version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  out += std::to_string(r.status);
  out += ' ';
  out += http::obsolete_reason(static_cast<http::status>(r.status));
  out += "\r\nContent-Type: ";
  out += r.content_type;
  out += "\r\nContent-Length: ";
  out += std::to_string(r.body.size());
  if (!keep_alive) {
    out += "\r\nConnection: close";
  } else if (version == 10) {
    out += "\r\nConnection: keep-alive";
  }
  out += "\r\n\r\n";
  return out;
}

std::pair<std::string, std::string> split_host_port(const std::string& host_port) {
  auto colon = host_port.rfind(':');
  if (colon == std::string::npos) throw std::runtime_error("listen must be HOST:PORT");
  std::string host = host_port.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return {host, host_port.substr(colon + 1)};
}

}  // namespace

// Bounds each phase of a connection with one lazily re-armed timer. Setting a deadline is a
// clock read and a store; the timer is touched only when a deadline moves earlier than the one
// it is armed for (or when it fires). Re-arming a timer for every read and write, as a timed
// stream does, cost a mutex, an allocation and a clock read per operation on the request path.
class Watchdog {
 public:
  using Clock = std::chrono::steady_clock;

  Watchdog(Executor executor, Socket& socket) : timer_(executor), socket_(socket) {}

  // The current phase must end within `timeout` from now.
  void limit(std::chrono::milliseconds timeout) {
    deadline_ = Clock::now() + timeout;
    if (deadline_ < armed_) timer_.cancel();  // wake watch() to re-arm earlier
  }
  // The current phase may take as long as it takes (waiting for a durable commit).
  void unlimited() { deadline_ = Clock::time_point::max(); }

  // Runs beside the session; closes the socket when a deadline passes, which aborts the
  // session's pending operation.
  Task<void> watch() {
    for (;;) {
      armed_ = deadline_;
      timer_.expires_at(armed_);
      auto [ec] = co_await timer_.async_wait(kAwait);
      if (ec && ec != asio::error::operation_aborted) co_return;
      if (Clock::now() >= deadline_) {
        boost::system::error_code ignored;
        socket_.close(ignored);
        co_return;
      }
    }
  }

 private:
  Timer timer_;
  Socket& socket_;
  Clock::time_point deadline_ = Clock::time_point::max();
  Clock::time_point armed_ = Clock::time_point::max();
};

// A connection as the drain sees it. `idle` and `tcp` are touched only on its I/O thread.
struct Connection {
  Worker& worker;
  Executor executor;
  asio::ip::address peer;  // counted in the per-address table until the connection ends
  Socket* socket = nullptr;
  // Waiting for the first byte of a request. A drain closes idle connections at once; one that
  // has begun sending a request is in flight and is answered (bounded by read_timeout_ms).
  bool idle = true;
  // An upgraded WebSocket: a drain closes its socket outright (a peer in the middle of a close
  // handshake could otherwise hold the drain for the handshake timeout).
  bool websocket = false;
};

// One WebSocket connection: an outgoing queue drained by one write at a time, with whatever
// queued meanwhile gathered into the next message. Touched only on its I/O thread; other threads
// reach it through post(). `ws` is the session coroutine's stream, cleared when it ends (the
// coroutine first waits for a write in flight to finish).
//
// On plain TCP the peer frames its text messages itself and writes them with one non-blocking
// sendmsg: a server's frames are unmasked, so framing is a 2-10 byte header, and a fan-out to
// thousands of idle members then costs one system call each, with no asynchronous operation,
// allocation or reference count per delivery. Only what the socket does not take at once waits
// for an asynchronous write. Beast still reads, answers pings and runs the close handshake
// (never while one of our writes is in flight). Under TLS every write goes through Beast.
template <typename Stream>
class WsPeer final : public WebSocketPeer, public std::enable_shared_from_this<WsPeer<Stream>> {
 public:
  using Ws = websocket::stream<Stream&>;
  static constexpr bool kRawWrites = std::is_same_v<Stream, Socket>;

  WsPeer(Ws& ws, Executor executor, size_t worker, std::string remote, size_t max_queued,
         bool binary)
      : ws_(&ws),
        executor_(executor),
        worker_(worker),
        remote_(std::move(remote)),
        max_queued_(max_queued),
        opcode_(binary ? 0x82 : 0x81),
        drained_(executor) {
    if constexpr (kRawWrites) {
      boost::system::error_code ignored;
      beast::get_lowest_layer(ws).non_blocking(true, ignored);
    }
  }

  void send(std::shared_ptr<const std::string> text) override {
    if (executor_.running_in_this_thread()) return send_here(text);
    asio::post(executor_, [self = this->shared_from_this(), text = std::move(text)]() {
      self->send_here(text);
    });
  }

  void send_here(const std::shared_ptr<const std::string>& text) override {
    send_here(std::span<const std::shared_ptr<const std::string>>(&text, 1));
  }

  void send_here(std::span<const std::shared_ptr<const std::string>> texts) override {
    if (closing_ || !ws_ || texts.empty()) return;
    if constexpr (kRawWrites) {
      if (!writing_ && queue_.empty() && try_write_now(texts)) return;
    }
    for (const auto& text : texts) queue(text);
    if (!writing_ && !closing_) write_next();
  }

  void close(uint16_t code, std::string reason) override {
    asio::post(executor_, [self = this->shared_from_this(), code, reason = std::move(reason)]() {
      if (self->closing_ || !self->ws_) return;
      self->close_after_ =
          websocket::close_reason(static_cast<websocket::close_code>(code), reason);
      self->closing_ = true;
      if (!self->writing_) self->write_next();
    });
  }

  void post(std::move_only_function<void()> fn) override { asio::post(executor_, std::move(fn)); }
  size_t worker() const override { return worker_; }
  const std::string& remote_address() const override { return remote_; }

  // The session coroutine is ending: no more writes start; wait for the one in flight.
  Task<void> detach() {
    closing_ = true;
    while (writing_) {
      drained_.expires_at(std::chrono::steady_clock::time_point::max());
      co_await drained_.async_wait(kAwait);
    }
    ws_ = nullptr;
  }

 private:
  void queue(const std::shared_ptr<const std::string>& text) {
    if (closing_) return;
    queued_bytes_ += text->size();
    if (queued_bytes_ > max_queued_) {  // a slow consumer: never let it hold memory or threads
      spdlog::info("websocket peer {} disconnected: more than {} bytes queued", remote_,
                   max_queued_);
      abort();
      return;
    }
    queue_.push_back(text);
  }

  Socket& socket() { return beast::get_lowest_layer(*ws_); }

  void abort() {
    closing_ = true;
    queue_.clear();
    boost::system::error_code ignored;
    socket().close(ignored);  // fails the pending read and write
  }

  // A text (or binary) frame's header for `size` payload bytes (RFC 6455 §5.2, FIN set,
  // unmasked).
  asio::const_buffer frame_header(size_t size) {
    size_t n = 0;
    header_[n++] = opcode_;
    if (size < 126) {
      header_[n++] = static_cast<uint8_t>(size);
    } else if (size <= 0xffff) {
      header_[n++] = 126;
      header_[n++] = static_cast<uint8_t>(size >> 8);
      header_[n++] = static_cast<uint8_t>(size);
    } else {
      header_[n++] = 127;
      for (int shift = 56; shift >= 0; shift -= 8) {
        header_[n++] = static_cast<uint8_t>(static_cast<uint64_t>(size) >> shift);
      }
    }
    return asio::buffer(header_.data(), n);
  }

  // Writes `texts` as one message at once if the socket takes it; false: nothing was written.
  bool try_write_now(std::span<const std::shared_ptr<const std::string>> texts) {
    if (texts.size() > 64) return false;  // rare; the queue gathers it in parts
    std::array<asio::const_buffer, 1 + 2 * 64> wire;
    size_t count = 1, size = 0;
    for (const auto& text : texts) {
      if (count > 1) {
        wire[count++] = asio::buffer(kMessageSeparator);
        size += kMessageSeparator.size();
      }
      wire[count++] = asio::buffer(*text);
      size += text->size();
    }
    wire[0] = frame_header(size);
    const auto message = std::span(wire).first(count);
    const size_t total = wire[0].size() + size;
    boost::system::error_code ec;
    const size_t n = socket().write_some(message, ec);
    if (!ec && n == total) return true;
    if (ec && ec != asio::error::would_block && ec != asio::error::try_again) {
      abort();
      return true;  // the connection is gone; nothing more to do with the message
    }
    if (n == 0) return false;  // nothing went out: queue it whole
    // Part of the frame went out: the rest must follow before anything else.
    auto rest = std::make_shared<std::string>();
    rest->reserve(total);
    for (const auto& b : message) rest->append(static_cast<const char*>(b.data()), b.size());
    rest->erase(0, n);
    partial_ = std::move(rest);
    writing_ = true;
    asio::async_write(socket(), asio::buffer(*partial_),
                      [self = this->shared_from_this()](boost::system::error_code e, size_t) {
                        self->partial_.reset();
                        self->written(e, 0);
                      });
    return true;
  }

  void write_next() {
    if (!ws_) return;
    in_flight_.clear();
    wire_.clear();
    size_t bytes = 0;      // the message: payloads and separators
    size_t payload = 0;    // what queued_bytes_ counted
    wire_.emplace_back();  // the frame header's place (raw writes)
    while (!queue_.empty() && in_flight_.size() < 64 && bytes < 256 * 1024) {
      if (!in_flight_.empty()) {
        wire_.push_back(asio::buffer(kMessageSeparator));
        bytes += kMessageSeparator.size();
      }
      bytes += queue_.front()->size();
      payload += queue_.front()->size();
      wire_.push_back(asio::buffer(*queue_.front()));
      in_flight_.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    if (in_flight_.empty()) {
      if (close_after_) {
        writing_ = true;
        ws_->async_close(*close_after_, [self = this->shared_from_this()](auto) {
          self->writing_ = false;
          self->drained_.cancel();
        });
        close_after_.reset();
        return;
      }
      writing_ = false;
      drained_.cancel();
      return;
    }
    writing_ = true;
    auto done = [self = this->shared_from_this(), payload](boost::system::error_code ec, size_t) {
      self->written(ec, payload);
    };
    if constexpr (kRawWrites) {
      wire_.front() = frame_header(bytes);
      asio::async_write(socket(), wire_, std::move(done));
    } else {
      ws_->async_write(std::span(wire_).subspan(1), std::move(done));
    }
  }

  void written(boost::system::error_code ec, size_t bytes) {
    queued_bytes_ -= bytes;
    if (ec) {
      closing_ = true;
      queue_.clear();
      writing_ = false;
      drained_.cancel();
      return;
    }
    write_next();
  }

  Ws* ws_;
  Executor executor_;
  size_t worker_;
  std::string remote_;
  size_t max_queued_;
  std::deque<std::shared_ptr<const std::string>> queue_;
  std::vector<std::shared_ptr<const std::string>> in_flight_;
  std::vector<asio::const_buffer> wire_;
  const uint8_t opcode_;  // FIN and text or binary
  std::array<uint8_t, 10> header_{};
  std::shared_ptr<std::string> partial_;  // the rest of a frame the socket took only part of
  size_t queued_bytes_ = 0;
  bool writing_ = false;
  bool closing_ = false;
  std::optional<websocket::close_reason> close_after_;
  Timer drained_;
};

struct HttpServer::Impl {
  config::HttpConfig cfg;
  struct WebSocketRoute {
    WebSocketOptions options;
    WebSocketOpener opener;
  };
  std::vector<WebSocketRoute> websockets;  // by path
  const WebSocketRoute* websocket_route(std::string_view target) const {
    const std::string_view path = target.substr(0, target.find('?'));
    for (const auto& route : websockets) {
      if (route.options.path == path) return &route;
    }
    return nullptr;
  }
  Handler handler;
  RefusalRenderer refusal;
  std::optional<ssl::context> tls;
  std::vector<std::unique_ptr<Worker>> workers;
  std::optional<Acceptor> acceptor;
  size_t next_worker = 0;
  std::atomic<size_t> connections{0};
  std::atomic<bool> draining{false};
  // Connections open per client address, for [http] max_connections_per_ip. Incremented by the
  // accept loop, decremented by the I/O thread whose connection ended.
  std::mutex per_ip_mu;
  std::unordered_map<asio::ip::address, size_t> per_ip;
  // Accept failing for want of descriptors or memory: the loop backs off instead of spinning,
  // and logs one line per interval.
  LogThrottle accept_errors{std::chrono::seconds(10)};
  std::mutex registry_mu;
  std::unordered_set<std::shared_ptr<Connection>> registry;

  Impl(const config::HttpConfig& http, Handler h, RefusalRenderer r)
      : cfg(http), handler(std::move(h)), refusal(std::move(r)) {
    unsigned n =
        cfg.io_threads ? cfg.io_threads : std::max(1u, std::thread::hardware_concurrency());
    for (unsigned i = 0; i < n; ++i) workers.push_back(std::make_unique<Worker>());
    acceptor.emplace(workers[0]->ioc.get_executor());
  }

  Task<void> accept_loop();
  // Takes a slot for `address`; false when it already has max_connections_per_ip open.
  bool take_address_slot(const asio::ip::address& address);
  void release_address_slot(const asio::ip::address& address);
  // Logs a failed accept at most once per interval (with how many were not logged) and returns
  // how long the loop waits before accepting again.
  std::chrono::milliseconds accept_failed(const boost::system::error_code& ec,
                                          std::chrono::milliseconds previous_backoff);
  template <typename Stream>
  Task<void> serve(Stream stream, std::shared_ptr<Connection> conn);
  template <typename Stream>
  Task<void> run_session(Stream& stream, Connection& conn, Watchdog& watchdog);
  template <typename Stream>
  Task<void> run_websocket(Stream& stream, Connection& conn, Watchdog& watchdog,
                           http::request<http::string_body> upgrade, std::string remote,
                           const WebSocketRoute& route);
  size_t worker_index(const Worker& w) const {
    for (size_t i = 0; i < workers.size(); ++i) {
      if (workers[i].get() == &w) return i;
    }
    return 0;
  }
};

std::shared_ptr<const std::string> join_messages(
    std::span<const std::shared_ptr<const std::string>> texts) {
  size_t size = 0;
  for (const auto& text : texts) size += text->size() + kMessageSeparator.size();
  std::string joined;
  joined.reserve(size);
  for (const auto& text : texts) {
    if (&text != &texts.front()) joined += kMessageSeparator;
    joined += *text;
  }
  return std::make_shared<const std::string>(std::move(joined));
}

HttpServer::HttpServer(const config::HttpConfig& http, const std::optional<config::TlsConfig>& tls,
                       Handler handler, RefusalRenderer refusal)
    : impl_(std::make_unique<Impl>(http, std::move(handler), std::move(refusal))) {
  if (tls) {
    impl_->tls.emplace(ssl::context::tls_server);
    auto& ctx = *impl_->tls;
    ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                    ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    ctx.use_certificate_chain_file(tls->cert_file);
    ctx.use_private_key_file(tls->key_file, ssl::context::pem);
  }
}

HttpServer::~HttpServer() {
  drain_and_stop(0ms);
}

void HttpServer::listen(const std::string& host_port) {
  auto [host, port] = split_host_port(host_port);
  tcp::resolver resolver(impl_->workers[0]->ioc);
  auto endpoints = resolver.resolve(host, port, tcp::resolver::passive);
  if (endpoints.empty()) throw std::runtime_error("cannot resolve " + host_port);
  tcp::endpoint endpoint = endpoints.begin()->endpoint();
  auto& acceptor = *impl_->acceptor;
  acceptor.open(endpoint.protocol());
  acceptor.set_option(asio::socket_base::reuse_address(true));
  acceptor.bind(endpoint);
  acceptor.listen(asio::socket_base::max_listen_connections);
}

uint16_t HttpServer::port() const {
  return impl_->acceptor->local_endpoint().port();
}

size_t HttpServer::active_connections() const {
  return impl_->connections.load();
}

void HttpServer::set_websocket(WebSocketOptions options, WebSocketOpener opener) {
  impl_->websockets.push_back({std::move(options), std::move(opener)});
}

size_t HttpServer::worker_count() const {
  return impl_->workers.size();
}

void HttpServer::post_to_worker(size_t worker, std::move_only_function<void()> fn) {
  asio::post(impl_->workers[worker % impl_->workers.size()]->ioc, std::move(fn));
}

asio::io_context& HttpServer::worker_context(size_t worker) {
  return impl_->workers[worker % impl_->workers.size()]->ioc;
}

void HttpServer::start() {
  asio::co_spawn(impl_->workers[0]->ioc, impl_->accept_loop(), asio::detached);
  for (auto& w : impl_->workers) {
    w->thread = std::thread([ioc = &w->ioc] {
      auto guard = asio::make_work_guard(*ioc);  // keep running while connections are idle
      ioc->run();
    });
  }
}

void HttpServer::stop_accepting() {
  asio::post(impl_->workers[0]->ioc, [&impl = *impl_] {
    boost::system::error_code ec;
    impl.acceptor->close(ec);
  });
}

void HttpServer::drain_and_stop(std::chrono::milliseconds grace) {
  auto& impl = *impl_;
  if (impl.draining.exchange(true)) return;
  stop_accepting();
  {
    std::lock_guard lock(impl.registry_mu);
    for (const auto& conn : impl.registry) {
      asio::post(conn->executor, [conn] {
        boost::system::error_code ignored;
        if (conn->websocket && conn->socket) {
          conn->socket->close(ignored);
        } else if (conn->idle && conn->socket) {
          conn->socket->cancel(ignored);
        }
      });
    }
  }
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (impl.connections.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  for (auto& w : impl.workers) w->ioc.stop();
  for (auto& w : impl.workers) {
    if (w->thread.joinable()) w->thread.join();
  }
}

void block_termination_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

void HttpServer::wait_for_signal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  int sig = 0;
  sigwait(&set, &sig);
  spdlog::info("received signal {}, draining", sig);
}

bool HttpServer::Impl::take_address_slot(const asio::ip::address& address) {
  if (cfg.max_connections_per_ip == 0) return true;
  std::lock_guard lock(per_ip_mu);
  size_t& open = per_ip[address];
  if (open >= cfg.max_connections_per_ip) return false;
  ++open;
  return true;
}

void HttpServer::Impl::release_address_slot(const asio::ip::address& address) {
  if (cfg.max_connections_per_ip == 0) return;
  std::lock_guard lock(per_ip_mu);
  auto it = per_ip.find(address);
  if (it != per_ip.end() && --it->second == 0) per_ip.erase(it);
}

std::chrono::milliseconds HttpServer::Impl::accept_failed(
    const boost::system::error_code& ec, std::chrono::milliseconds previous_backoff) {
  // Out of descriptors or memory: the pending connection stays in the listen queue, so an
  // immediate retry fails again at once. Wait, longer each time up to a second, for connections
  // to end. Other errors (a client that reset before accept) concern one connection only.
  const bool resources = ec == asio::error::no_descriptors || ec.value() == ENFILE ||
                         ec == asio::error::no_buffer_space || ec == asio::error::no_memory;
  const auto backoff = resources ? std::clamp(previous_backoff * 2, std::chrono::milliseconds(10),
                                              std::chrono::milliseconds(1000))
                                 : std::chrono::milliseconds(0);
  if (const auto held_back = accept_errors.allow()) {
    spdlog::warn(
        "accept failed: {} ({} more failures since the last report; raise the descriptor "
        "limit or lower [http] max_connections)",
        ec.message(), *held_back);
  }
  return backoff;
}

Task<void> HttpServer::Impl::accept_loop() {
  std::chrono::milliseconds backoff{0};
  Timer pause(workers[0]->ioc.get_executor());
  for (;;) {
    Worker& worker = *workers[next_worker++ % workers.size()];
    auto [ec, socket] = co_await acceptor->async_accept(worker.ioc, kAwait);
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor->is_open()) co_return;
      backoff = accept_failed(ec, backoff);
      if (backoff.count() > 0) {
        pause.expires_after(backoff);
        co_await pause.async_wait(kAwait);
      }
      continue;
    }
    backoff = std::chrono::milliseconds(0);
    if (draining || connections.load() >= cfg.max_connections) {
      boost::system::error_code ignored;
      socket.close(ignored);
      continue;
    }
    boost::system::error_code peer_ec;
    const asio::ip::address address = socket.remote_endpoint(peer_ec).address();
    if (peer_ec || !take_address_slot(address)) {
      boost::system::error_code ignored;
      socket.close(ignored);
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    auto conn =
        std::make_shared<Connection>(Connection{worker, worker.ioc.get_executor(), address});
    if (tls) {
      asio::co_spawn(worker.ioc, serve(TlsStream(std::move(socket), *tls), conn), asio::detached);
    } else {
      asio::co_spawn(worker.ioc, serve(std::move(socket), conn), asio::detached);
    }
  }
}

template <typename Stream>
Task<void> HttpServer::Impl::serve(Stream stream, std::shared_ptr<Connection> conn) {
  connections.fetch_add(1);
  Socket& socket = beast::get_lowest_layer(stream);
  conn->socket = &socket;
  {
    std::lock_guard lock(registry_mu);
    registry.insert(conn);
  }
  try {
    // Whichever ends first cancels the other: the session when it is done, or the watchdog
    // when it closed the socket on a timeout.
    Watchdog watchdog(conn->executor, socket);
    co_await (run_session(stream, *conn, watchdog) || watchdog.watch());
  } catch (const std::exception& e) {
    spdlog::debug("connection ended: {}", e.what());
  }
  {
    std::lock_guard lock(registry_mu);
    registry.erase(conn);
  }
  conn->socket = nullptr;
  release_address_slot(conn->peer);
  connections.fetch_sub(1);
}

template <typename Stream>
Task<void> HttpServer::Impl::run_session(Stream& stream, Connection& conn, Watchdog& watchdog) {
  Socket& socket = beast::get_lowest_layer(stream);
  const std::string remote = conn.peer.to_string();  // read once, at accept
  constexpr bool kTls = std::is_same_v<Stream, TlsStream>;
  if constexpr (kTls) {
    watchdog.limit(std::chrono::milliseconds(cfg.read_timeout_ms));
    auto [ec] = co_await stream.async_handshake(ssl::stream_base::server, kAwait);
    if (ec) co_return;
  }

  beast::flat_buffer buffer;
  for (;;) {
    // Idle: wait for the first byte of the next request.
    conn.idle = true;
    if (draining) break;
    // idle_timeout_ms bounds waiting for a request and also writing the answer to it.
    watchdog.limit(std::chrono::milliseconds(cfg.idle_timeout_ms));
    if (buffer.size() == 0) {
      auto [ec, n] = co_await stream.async_read_some(buffer.prepare(4096), kAwait);
      if (ec) break;
      buffer.commit(n);
    }
    conn.idle = false;

    // Reading: once a request has begun, the rest must arrive within read_timeout_ms and the
    // size limits. Usually it is all in the buffer after the first read, so the parser is fed
    // synchronously and only asks the socket (under the read deadline) when it needs more.
    bool read_deadline_set = false;
    http::request_parser<http::string_body> parser;
    parser.header_limit(cfg.max_header_bytes);
    parser.body_limit(cfg.max_body_bytes);
    parser.eager(true);
    boost::system::error_code read_ec;
    for (;;) {
      if (buffer.size() > 0) {
        size_t used = parser.put(buffer.data(), read_ec);
        buffer.consume(used);
        if (read_ec == http::error::need_more) {
          read_ec = {};
        } else if (read_ec || parser.is_done()) {
          break;
        } else if (used > 0) {
          continue;
        }
      }
      if (!read_deadline_set) {
        watchdog.limit(std::chrono::milliseconds(cfg.read_timeout_ms));
        read_deadline_set = true;
      }
      auto [ec, n] = co_await stream.async_read_some(buffer.prepare(16 * 1024), kAwait);
      if (ec == asio::error::eof && buffer.size() == 0) {
        parser.put_eof(read_ec);
        if (!read_ec) read_ec = http::error::end_of_stream;
        break;
      }
      if (ec) {
        read_ec = ec;
        break;
      }
      buffer.commit(n);
    }
    std::optional<std::pair<unsigned, std::string_view>> refusal_status;
    if (read_ec == http::error::body_limit) {
      refusal_status = {413, "request body exceeds the server's max_body_bytes"};
    } else if (read_ec == http::error::header_limit) {
      refusal_status = {431, "request header exceeds the server's max_header_bytes"};
    } else if (read_ec == beast::error::timeout || read_ec == http::error::end_of_stream ||
               read_ec == http::error::partial_message || read_ec == asio::error::eof ||
               read_ec == asio::error::connection_reset ||
               read_ec == asio::error::operation_aborted) {
      break;
    } else if (read_ec) {
      refusal_status = {400, "malformed HTTP request"};
    }
    if (refusal_status) {
      HttpResponse refuse = refusal(refusal_status->first, refusal_status->second);
      std::string head = serialize_head(refuse, 11, false);
      std::array<asio::const_buffer, 2> wire{asio::buffer(head), asio::buffer(refuse.body)};
      co_await asio::async_write(stream, wire, kAwait);
      break;
    }

    auto& req = parser.get();
    const WebSocketRoute* route =
        websocket::is_upgrade(req) ? websocket_route(std::string_view(req.target())) : nullptr;
    if (route) {
      buffer.consume(buffer.size());  // (a client waits for 101 before sending frames)
      buffer.shrink_to_fit();         // the session below may be idle for hours
      co_await run_websocket(stream, conn, watchdog, parser.release(), remote, *route);
      co_return;
    }
    const bool keep_alive = req.keep_alive() && !draining;
    const unsigned version = req.version();
    HttpResponse answer =
        handler(HttpRequest{std::string(req.method_string()), std::string(req.target()),
                            std::move(req.body()), remote});
    if (answer.later) {
      std::shared_ptr<Later> later = std::move(answer.later);
      watchdog.unlimited();
      co_await async_wait_for_answer(*later, answer, conn.worker,
                                     asio::use_awaitable_t<Executor>{});
      watchdog.limit(std::chrono::milliseconds(cfg.idle_timeout_ms));
    }
    if (answer.gate) {
      watchdog.unlimited();
      co_await async_pass_gate(answer.gate, conn.worker, asio::use_awaitable_t<Executor>{});
      watchdog.limit(std::chrono::milliseconds(cfg.idle_timeout_ms));
    }

    const bool stay = keep_alive && !draining;
    std::string head = serialize_head(answer, version, stay);
    std::array<asio::const_buffer, 2> wire{asio::buffer(head), asio::buffer(answer.body)};
    auto [write_ec, write_n] = co_await asio::async_write(stream, wire, kAwait);
    (void)write_n;
    if (write_ec || !stay) break;
  }

  if constexpr (kTls) {
    watchdog.limit(1s);
    co_await stream.async_shutdown(kAwait);
  } else {
    boost::system::error_code ec;
    socket.shutdown(tcp::socket::shutdown_send, ec);
  }
}

template <typename Stream>
Task<void> HttpServer::Impl::run_websocket(Stream& stream, Connection& conn, Watchdog& watchdog,
                                           http::request<http::string_body> upgrade,
                                           std::string remote, const WebSocketRoute& route) {
  watchdog.unlimited();  // the WebSocket stream keeps its own (idle) timeout
  websocket::stream<Stream&> ws(stream);
  websocket::stream_base::timeout timeouts{};
  timeouts.handshake_timeout = std::chrono::milliseconds(cfg.read_timeout_ms);
  timeouts.idle_timeout = std::chrono::milliseconds(route.options.idle_timeout_ms);
  timeouts.keep_alive_pings = false;
  ws.set_option(timeouts);
  // Beast names itself and its version in every handshake response, refusals included, unless
  // the response has a Server field already: it gets our name, without a version.
  ws.set_option(websocket::stream_base::decorator(
      [](websocket::response_type& response) { response.set(http::field::server, "liveroomd"); }));
  ws.read_message_max(route.options.max_message_bytes);
  ws.auto_fragment(false);
  {
    auto [ec] = co_await ws.async_accept(upgrade, kAwait);
    if (ec) co_return;
  }
  // From now on the handshake timeout bounds our closing handshake: a client that does not
  // answer a close frame (one closed at its login deadline, say) must not hold its connection
  // slot for the whole read timeout.
  timeouts.handshake_timeout = std::min(timeouts.handshake_timeout, kCloseHandshakeTimeout);
  ws.set_option(timeouts);
  if (route.options.binary) {
    ws.binary(true);
  } else {
    ws.text(true);
  }
  // A member waiting for events is idle: a drain closes it at once (clients reconnect).
  conn.idle = true;
  conn.websocket = true;
  auto peer = std::make_shared<WsPeer<Stream>>(ws, conn.executor, worker_index(conn.worker),
                                               std::move(remote), route.options.max_queued_bytes,
                                               route.options.binary);
  HttpRequest request{std::string(upgrade.method_string()),
                      std::string(upgrade.target()),
                      {},
                      peer->remote_address()};
  std::shared_ptr<WebSocketSession> session = route.opener(request, peer);
  if (!session) {
    co_await ws.async_close(websocket::close_code::policy_error, kAwait);
    co_return;
  }
  beast::flat_buffer in;
  bool refused = false;
  for (;;) {
    auto [ec, n] = co_await ws.async_read(in, kAwait);
    if (ec || draining) break;
    if (!ws.got_text() && !route.options.binary && !refused) {
      // The protocol is JSON text; a binary frame is a client we do not understand (RFC 6455
      // 1003). Closing through the peer waits for a write in flight; reading on lets Beast
      // finish the close handshake.
      refused = true;
      peer->close(static_cast<uint16_t>(websocket::close_code::unknown_data), "text frames only");
    }
    if (refused) {
      in.consume(in.size());
      continue;
    }
    const auto data = in.cdata();
    session->on_text(std::string_view(static_cast<const char*>(data.data()), data.size()));
    in.consume(in.size());
    in.shrink_to_fit();  // an idle member holds no read buffer; requests are infrequent
  }
  session->on_close();
  co_await peer->detach();
}

}  // namespace liveroom::server
