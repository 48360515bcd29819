// One coroutine per connection, in the shape of Beast's awaitable server example:
//   wait for the first byte (idle timeout) → read the request (read timeout, size limits) →
//   hand it to the Handler and wait for its answer (no timeout: a durable write waits for fsync)
//   → write → keep-alive?
// Each connection runs on its own strand, so a handler completing on another thread is posted
// back to the connection's strand. A registry of live connections lets a drain close idle
// keep-alive connections at once instead of waiting for their idle timeout.
#include "server/http_server.h"

#include <csignal>
#include <mutex>
#include <stdexcept>
#include <unordered_set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace liveroom::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

constexpr auto kAwait = asio::as_tuple(asio::use_awaitable);

// Suspends the coroutine until the Handler answers, from whatever thread it answers.
template <typename Token>
auto async_handle(const Handler& handler, HttpRequest request, Token&& token) {
  return asio::async_initiate<Token, void(HttpResponse)>(
      [&handler](auto completion, HttpRequest request) {
        auto work = asio::make_work_guard(completion);
        handler(std::move(request), [completion = std::move(completion),
                                     work = std::move(work)](HttpResponse response) mutable {
          auto ex = work.get_executor();
          asio::post(ex, [completion = std::move(completion), response = std::move(response),
                          work = std::move(work)]() mutable {
            std::move(completion)(std::move(response));
          });
        });
      },
      token, std::move(request));
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

// A connection as the drain sees it. `idle` and `tcp` are touched only on the connection's strand.
struct Connection {
  asio::strand<asio::io_context::executor_type> strand;
  beast::tcp_stream* tcp = nullptr;
  bool idle = true;
};

struct HttpServer::Impl {
  config::HttpConfig cfg;
  Handler handler;
  asio::io_context ioc;
  std::optional<ssl::context> tls;
  tcp::acceptor acceptor{ioc};
  std::vector<std::thread> threads;
  std::atomic<size_t> connections{0};
  std::atomic<bool> draining{false};
  std::mutex registry_mu;
  std::unordered_set<std::shared_ptr<Connection>> registry;

  Impl(const config::HttpConfig& http, Handler h) : cfg(http), handler(std::move(h)) {}

  asio::awaitable<void> accept_loop();
  template <typename Stream>
  asio::awaitable<void> serve(Stream stream, std::shared_ptr<Connection> conn);
  template <typename Stream>
  asio::awaitable<void> run_session(Stream& stream, Connection& conn);
  asio::awaitable<void> serve_tls(tcp::socket socket, std::shared_ptr<Connection> conn);
};

HttpServer::HttpServer(const config::HttpConfig& http, const std::optional<config::TlsConfig>& tls,
                       Handler handler)
    : impl_(std::make_unique<Impl>(http, std::move(handler))) {
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
  if (!impl_->threads.empty()) drain_and_stop(0ms);
}

void HttpServer::listen(const std::string& host_port) {
  auto [host, port] = split_host_port(host_port);
  tcp::resolver resolver(impl_->ioc);
  auto endpoints = resolver.resolve(host, port, tcp::resolver::passive);
  if (endpoints.empty()) throw std::runtime_error("cannot resolve " + host_port);
  tcp::endpoint endpoint = endpoints.begin()->endpoint();
  auto& acceptor = impl_->acceptor;
  acceptor.open(endpoint.protocol());
  acceptor.set_option(asio::socket_base::reuse_address(true));
  acceptor.bind(endpoint);
  acceptor.listen(asio::socket_base::max_listen_connections);
}

uint16_t HttpServer::port() const {
  return impl_->acceptor.local_endpoint().port();
}

size_t HttpServer::active_connections() const {
  return impl_->connections.load();
}

void HttpServer::start() {
  asio::co_spawn(impl_->ioc, impl_->accept_loop(), asio::detached);
  unsigned n = impl_->cfg.io_threads ? impl_->cfg.io_threads
                                     : std::max(1u, std::thread::hardware_concurrency());
  for (unsigned i = 0; i < n; ++i) impl_->threads.emplace_back([this] { impl_->ioc.run(); });
}

void HttpServer::drain_and_stop(std::chrono::milliseconds grace) {
  auto& impl = *impl_;
  if (impl.draining.exchange(true)) return;
  asio::post(impl.ioc, [&impl] {
    boost::system::error_code ec;
    impl.acceptor.close(ec);
  });
  {
    std::lock_guard lock(impl.registry_mu);
    for (const auto& conn : impl.registry) {
      asio::post(conn->strand, [conn] {
        if (conn->idle && conn->tcp) conn->tcp->cancel();
      });
    }
  }
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (impl.connections.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  impl.ioc.stop();
  for (auto& t : impl.threads) t.join();
  impl.threads.clear();
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

asio::awaitable<void> HttpServer::Impl::accept_loop() {
  for (;;) {
    auto strand = asio::make_strand(ioc);
    auto [ec, socket] = co_await acceptor.async_accept(strand, kAwait);
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
      spdlog::warn("accept failed: {}", ec.message());
      continue;
    }
    if (draining || connections.load() >= cfg.max_connections) {
      boost::system::error_code ignored;
      socket.close(ignored);
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    auto conn = std::make_shared<Connection>(Connection{strand});
    if (tls) {
      asio::co_spawn(strand, serve_tls(std::move(socket), conn), asio::detached);
    } else {
      asio::co_spawn(strand, serve(beast::tcp_stream(std::move(socket)), conn), asio::detached);
    }
  }
}

asio::awaitable<void> HttpServer::Impl::serve_tls(tcp::socket socket,
                                                  std::shared_ptr<Connection> conn) {
  beast::ssl_stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(socket)), *tls);
  co_await serve(std::move(stream), std::move(conn));
}

template <typename Stream>
asio::awaitable<void> HttpServer::Impl::serve(Stream stream, std::shared_ptr<Connection> conn) {
  connections.fetch_add(1);
  conn->tcp = &beast::get_lowest_layer(stream);
  {
    std::lock_guard lock(registry_mu);
    registry.insert(conn);
  }
  try {
    co_await run_session(stream, *conn);
  } catch (const std::exception& e) {
    spdlog::debug("connection ended: {}", e.what());
  }
  {
    std::lock_guard lock(registry_mu);
    registry.erase(conn);
  }
  conn->tcp = nullptr;
  connections.fetch_sub(1);
}

template <typename Stream>
asio::awaitable<void> HttpServer::Impl::run_session(Stream& stream, Connection& conn) {
  auto& tcp_stream = beast::get_lowest_layer(stream);
  const std::string remote = [&] {
    boost::system::error_code ec;
    auto ep = tcp_stream.socket().remote_endpoint(ec);
    return ec ? std::string() : ep.address().to_string();
  }();
  constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;
  if constexpr (kTls) {
    tcp_stream.expires_after(std::chrono::milliseconds(cfg.read_timeout_ms));
    auto [ec] = co_await stream.async_handshake(ssl::stream_base::server, kAwait);
    if (ec) co_return;
  }

  beast::flat_buffer buffer;
  for (;;) {
    // Idle: wait for the first byte of the next request.
    conn.idle = true;
    if (draining) break;
    if (buffer.size() == 0) {
      tcp_stream.expires_after(std::chrono::milliseconds(cfg.idle_timeout_ms));
      auto [ec, n] = co_await stream.async_read_some(buffer.prepare(4096), kAwait);
      if (ec) break;
      buffer.commit(n);
    }
    conn.idle = false;

    // Reading: the whole request must arrive within the read timeout and the size limits.
    tcp_stream.expires_after(std::chrono::milliseconds(cfg.read_timeout_ms));
    http::request_parser<http::string_body> parser;
    parser.header_limit(cfg.max_header_bytes);
    parser.body_limit(cfg.max_body_bytes);
    auto [read_ec, read_n] = co_await http::async_read(stream, buffer, parser, kAwait);
    (void)read_n;
    std::optional<std::pair<http::status, std::string_view>> refusal;
    if (read_ec == http::error::body_limit) {
      refusal = {http::status::payload_too_large, "request body too large"};
    } else if (read_ec == http::error::header_limit) {
      refusal = {http::status::request_header_fields_too_large, "request header too large"};
    } else if (read_ec == beast::error::timeout || read_ec == http::error::end_of_stream ||
               read_ec == asio::error::eof || read_ec == asio::error::connection_reset ||
               read_ec == asio::error::operation_aborted) {
      break;
    } else if (read_ec) {
      refusal = {http::status::bad_request, "malformed HTTP request"};
    }
    if (refusal) {
      http::response<http::string_body> res{refusal->first, 11};
      res.set(http::field::content_type, "application/json");
      res.set(http::field::connection, "close");
      res.body() = fmt::format(R"({{"ActionStatus":"FAIL","ErrorCode":60008,"ErrorInfo":"{}"}})",
                               refusal->second);
      res.prepare_payload();
      tcp_stream.expires_after(std::chrono::milliseconds(cfg.read_timeout_ms));
      co_await http::async_write(stream, res, kAwait);
      break;
    }

    auto& req = parser.get();
    HttpRequest request{std::string(req.method_string()), std::string(req.target()),
                        std::move(req.body()), remote};
    const bool keep_alive = req.keep_alive();
    const unsigned version = req.version();

    tcp_stream.expires_never();
    HttpResponse answer = co_await async_handle(handler, std::move(request), asio::use_awaitable);

    http::response<http::string_body> res{static_cast<http::status>(answer.status), version};
    res.set(http::field::content_type, answer.content_type);
    res.keep_alive(keep_alive && !draining);
    res.body() = std::move(answer.body);
    res.prepare_payload();
    tcp_stream.expires_after(std::chrono::milliseconds(cfg.read_timeout_ms));
    auto [write_ec, write_n] = co_await http::async_write(stream, res, kAwait);
    (void)write_n;
    if (write_ec || !res.keep_alive()) break;
  }

  if constexpr (kTls) {
    tcp_stream.expires_after(1s);
    co_await stream.async_shutdown(kAwait);
  } else {
    boost::system::error_code ec;
    tcp_stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  }
}

}  // namespace liveroom::server
