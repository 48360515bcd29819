#include "cluster/forwarder.h"

#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include "base/http_target.h"

namespace liveroom::cluster {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kAwait = asio::as_tuple(asio::use_awaitable);
// Pooled connections idle longer than this are not reused: the leader may be about to close them.
constexpr auto kMaxIdle = std::chrono::seconds(20);

}  // namespace

struct Forwarder::Impl : std::enable_shared_from_this<Forwarder::Impl> {
  Impl(Unreachable u, std::chrono::milliseconds t, unsigned threads)
      : unreachable(std::move(u)), timeout(t), work(asio::make_work_guard(ioc)) {
    for (unsigned i = 0; i < std::max(1u, threads); ++i) pool.emplace_back([this] { ioc.run(); });
  }

  struct Idle {
    std::unique_ptr<beast::tcp_stream> stream;
    std::chrono::steady_clock::time_point since;
  };

  std::unique_ptr<beast::tcp_stream> take_idle(const std::string& base) {
    std::lock_guard lock(mu);
    auto& list = idle[base];
    while (!list.empty()) {
      Idle last = std::move(list.back());
      list.pop_back();
      if (std::chrono::steady_clock::now() - last.since < kMaxIdle) return std::move(last.stream);
    }
    return nullptr;
  }

  void put_idle(const std::string& base, std::unique_ptr<beast::tcp_stream> stream) {
    std::lock_guard lock(mu);
    idle[base].push_back({std::move(stream), std::chrono::steady_clock::now()});
  }

  asio::awaitable<std::unique_ptr<beast::tcp_stream>> connect(const HttpTarget& to,
                                                              std::string& error) {
    tcp::resolver resolver(ioc);
    auto [rec, results] = co_await resolver.async_resolve(to.host, to.port, kAwait);
    if (rec) {
      error = "cannot resolve " + to.host + ": " + rec.message();
      co_return nullptr;
    }
    auto stream = std::make_unique<beast::tcp_stream>(ioc);
    stream->expires_after(timeout);
    auto [cec, ep] = co_await stream->async_connect(results, kAwait);
    (void)ep;
    if (cec) {
      error = "cannot connect to the leader at " + to.host + ":" + to.port + ": " + cec.message();
      co_return nullptr;
    }
    stream->socket().set_option(tcp::no_delay(true));
    co_return stream;
  }

  asio::awaitable<server::HttpResponse> exchange(std::string base, server::HttpRequest req) {
    auto to = parse_http_target(base);
    if (!to || to->tls) co_return unreachable("the leader's advertise_url is not http://host:port");
    http::request<http::string_body> out;
    out.method_string(req.method);
    out.target(req.target);
    out.version(11);
    out.set(http::field::host, to->host + ":" + to->port);
    out.set(http::field::content_type, "application/json");
    out.set("X-Forwarded-For", req.remote_address);
    out.keep_alive(true);
    out.body() = std::move(req.body);
    out.prepare_payload();
    std::string error;
    // A pooled connection the leader has just closed fails before any reply byte: try once more
    // on a fresh one.
    for (int attempt = 0; attempt < 2; ++attempt) {
      auto stream = take_idle(base);
      const bool reused = stream != nullptr;
      if (!stream) {
        stream = co_await connect(*to, error);
        if (!stream) break;
      }
      stream->expires_after(timeout);
      auto [wec, wn] = co_await http::async_write(*stream, out, kAwait);
      (void)wn;
      beast::flat_buffer buffer;
      http::response<http::string_body> in;
      boost::system::error_code rec;
      if (!wec) std::tie(rec, std::ignore) = co_await http::async_read(*stream, buffer, in, kAwait);
      const auto ec = wec ? wec : rec;
      if (ec) {
        error = "the leader did not answer: " + ec.message();
        const bool stale = reused && buffer.size() == 0 &&
                           (ec == http::error::end_of_stream || ec == asio::error::eof ||
                            ec == asio::error::connection_reset || ec == asio::error::broken_pipe);
        if (stale) continue;
        break;
      }
      server::HttpResponse answer;
      answer.status = in.result_int();
      if (auto ct = in.find(http::field::content_type); ct != in.end()) {
        answer.content_type = std::string(ct->value());
      }
      answer.body = std::move(in.body());
      if (in.keep_alive()) put_idle(base, std::move(stream));
      co_return answer;
    }
    co_return unreachable(error);
  }

  Unreachable unreachable;
  std::chrono::milliseconds timeout;
  asio::io_context ioc;
  asio::executor_work_guard<asio::io_context::executor_type> work;
  std::vector<std::thread> pool;
  std::mutex mu;
  std::unordered_map<std::string, std::vector<Idle>> idle;
};

namespace {

// One relayed WebSocket connection. Everything touching the leader's side runs on one strand.
class RelaySession final : public server::WebSocketSession,
                           public std::enable_shared_from_this<RelaySession> {
 public:
  RelaySession(std::shared_ptr<Forwarder::Impl> forwarder, std::string base, std::string target,
               std::string client, std::shared_ptr<server::WebSocketPeer> peer)
      : forwarder_(std::move(forwarder)),
        strand_(asio::make_strand(forwarder_->ioc)),
        base_(std::move(base)),
        target_(std::move(target)),
        client_(std::move(client)),
        peer_(std::move(peer)) {}

  void start() { asio::co_spawn(strand_, run(shared_from_this()), asio::detached); }

  void on_text(std::string_view text) override {
    asio::post(strand_, [self = shared_from_this(), msg = std::string(text)]() mutable {
      self->outbox_.push_back(std::move(msg));
      self->kick_writer();
    });
  }

  void on_close() override {
    asio::post(strand_, [self = shared_from_this()] {
      self->client_gone_ = true;
      if (self->ws_) {
        boost::system::error_code ignored;
        beast::get_lowest_layer(*self->ws_).socket().close(ignored);
      }
    });
  }

 private:
  static asio::awaitable<void> run(std::shared_ptr<RelaySession> self) {
    auto to = parse_http_target(self->base_);
    std::string error = "the leader's advertise_url is not http://host:port";
    std::unique_ptr<beast::tcp_stream> stream;
    if (to && !to->tls) stream = co_await self->forwarder_->connect(*to, error);
    if (!stream || self->client_gone_) {
      self->peer_->close(1011, "cluster: " + error);
      co_return;
    }
    beast::get_lowest_layer(*stream).expires_never();
    self->ws_ = std::make_unique<websocket::stream<beast::tcp_stream>>(std::move(*stream));
    auto& ws = *self->ws_;
    ws.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
    ws.set_option(websocket::stream_base::decorator(
        [client = self->client_](auto& req) { req.set("X-Forwarded-For", client); }));
    ws.read_message_max(0);  // the leader enforces its own limits
    auto [hec] = co_await ws.async_handshake(to->host + ":" + to->port, self->target_, kAwait);
    if (hec) {
      self->peer_->close(1011, "cluster: the leader refused the connection: " + hec.message());
      co_return;
    }
    self->open_ = true;
    self->kick_writer();
    beast::flat_buffer buffer;
    for (;;) {
      auto [ec, n] = co_await ws.async_read(buffer, kAwait);
      (void)n;
      if (ec) break;
      self->peer_->send(
          std::make_shared<const std::string>(beast::buffers_to_string(buffer.data())));
      buffer.consume(buffer.size());
    }
    if (!self->client_gone_) {
      const auto reason = ws.reason();
      self->peer_->close(reason.code ? static_cast<uint16_t>(reason.code) : 1012,
                         reason.code ? std::string(reason.reason.c_str())
                                     : "cluster: the leader went away; reconnect");
    }
  }

  void kick_writer() {
    if (!open_ || writing_ || outbox_.empty()) return;
    writing_ = true;
    asio::co_spawn(strand_, write_all(shared_from_this()), asio::detached);
  }

  static asio::awaitable<void> write_all(std::shared_ptr<RelaySession> self) {
    while (!self->outbox_.empty()) {
      std::string msg = std::move(self->outbox_.front());
      self->outbox_.pop_front();
      self->ws_->text(true);
      auto [ec, n] = co_await self->ws_->async_write(asio::buffer(msg), kAwait);
      (void)n;
      if (ec) break;
    }
    self->writing_ = false;
  }

  std::shared_ptr<Forwarder::Impl> forwarder_;
  asio::strand<asio::io_context::executor_type> strand_;
  std::string base_, target_, client_;
  std::shared_ptr<server::WebSocketPeer> peer_;
  std::unique_ptr<websocket::stream<beast::tcp_stream>> ws_;
  std::deque<std::string> outbox_;
  bool open_ = false, writing_ = false, client_gone_ = false;
};

}  // namespace

Forwarder::Forwarder(Unreachable unreachable, std::chrono::milliseconds timeout, unsigned threads)
    : impl_(std::make_shared<Impl>(std::move(unreachable), timeout, threads)) {}

Forwarder::~Forwarder() {
  stop();
}

void Forwarder::stop() {
  if (!impl_ || impl_->pool.empty()) return;
  impl_->work.reset();
  impl_->ioc.stop();
  for (auto& t : impl_->pool) t.join();
  impl_->pool.clear();
}

server::HttpResponse Forwarder::forward(const std::string& base_url,
                                        server::HttpRequest&& request) {
  server::HttpResponse response;
  response.later = std::make_shared<server::Later>();
  response.later->start = [impl = impl_, base = base_url,
                           req = std::move(request)](server::Answer answer) mutable {
    asio::co_spawn(
        impl->ioc,
        [impl, base = std::move(base), req = std::move(req),
         answer = std::move(answer)]() mutable -> asio::awaitable<void> {
          server::HttpResponse out = co_await impl->exchange(std::move(base), std::move(req));
          answer(std::move(out));
        },
        asio::detached);
  };
  return response;
}

std::shared_ptr<server::WebSocketSession> Forwarder::relay(
    const std::string& base_url, const server::HttpRequest& upgrade,
    std::shared_ptr<server::WebSocketPeer> peer) {
  auto session = std::make_shared<RelaySession>(impl_, base_url, upgrade.target,
                                                upgrade.remote_address, std::move(peer));
  session->start();
  return session;
}

}  // namespace liveroom::cluster
