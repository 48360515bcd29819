#include "webhook/dispatcher.h"

#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <deque>
#include <random>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json.hpp>
#include <boost/url.hpp>

namespace liveroom::webhook {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
namespace json = boost::json;
using tcp = asio::ip::tcp;

namespace {

using Executor = asio::io_context::executor_type;
template <typename T>
using Task = asio::awaitable<T, Executor>;
constexpr auto kAwait = asio::as_tuple(asio::use_awaitable_t<Executor>{});
using TcpStream = beast::basic_stream<tcp, Executor>;
using TlsStream = beast::ssl_stream<TcpStream>;
using Timer = asio::basic_waitable_timer<std::chrono::steady_clock,
                                         asio::wait_traits<std::chrono::steady_clock>, Executor>;

std::string hex(const unsigned char* data, size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kHex[data[i] >> 4]);
    out.push_back(kHex[data[i] & 0xf]);
  }
  return out;
}

// Tencent's Sign: hex(SHA-256(token + RequestTime)).
std::string tencent_sign(std::string_view token, std::string_view request_time) {
  std::string text = std::string(token) + std::string(request_time);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  return hex(digest, sizeof(digest));
}

// liveroom's body signature: hex(HMAC-SHA256(token, timestamp + "." + body)).
std::string body_signature(std::string_view token, std::string_view timestamp,
                           std::string_view body) {
  std::string message = std::string(timestamp) + "." + std::string(body);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), token.data(), static_cast<int>(token.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest, &length);
  return hex(digest, length);
}

struct Target {
  bool tls = false;
  std::string host;
  std::string port;
  std::string path_and_query;  // without liveroom's parameters
  std::string endpoint_key() const { return (tls ? "https://" : "http://") + host + ":" + port; }
};

std::optional<Target> parse_target(const std::string& url) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) return std::nullopt;
  Target t;
  t.tls = parsed->scheme() == "https";
  if (!t.tls && parsed->scheme() != "http") return std::nullopt;
  t.host = parsed->host_name().empty() ? std::string(parsed->encoded_host())
                                       : std::string(parsed->host_name());
  if (parsed->host_type() == boost::urls::host_type::ipv6) {
    t.host = std::string(parsed->host_ipv6_address().to_string());
  }
  t.port = parsed->has_port() ? std::string(parsed->port()) : (t.tls ? "443" : "80");
  t.path_and_query = parsed->encoded_path().empty() ? "/" : std::string(parsed->encoded_path());
  if (parsed->has_query()) t.path_and_query += "?" + std::string(parsed->encoded_query());
  return t;
}

struct Connection {
  std::unique_ptr<TcpStream> plain;
  std::unique_ptr<TlsStream> secure;
  beast::flat_buffer read_buffer;  // kept across exchanges: no allocation per reply
  TcpStream& tcp() { return secure ? beast::get_lowest_layer(*secure) : *plain; }
};

struct Endpoint {
  unsigned in_flight = 0;
  std::vector<std::unique_ptr<Connection>> idle;
  std::deque<Timer*> waiters;  // lanes waiting for a slot
};

struct Lane {
  std::deque<domain::OutboxEntry> queue;
  bool pumping = false;
};

}  // namespace

struct Dispatcher::Impl {
  store::Store& store;
  const Clock& clock;
  std::function<std::optional<std::string>(uint32_t)> token_of;
  std::function<int64_t(uint32_t)> max_age_ms;
  DispatcherOptions options;

  asio::io_context ioc{1};
  std::thread thread;
  ssl::context tls{ssl::context::tls_client};
  std::unordered_map<std::string, Lane> lanes;  // touched on the dispatcher thread only
  std::unordered_map<std::string, Endpoint> endpoints;
  // A URL's parsed target and its endpoint, parsed once (a handful of URLs serve every event).
  struct Destination {
    Target target;
    Endpoint* endpoint;
  };
  std::unordered_map<std::string, std::shared_ptr<const Destination>> destinations;
  std::mt19937_64 random{std::random_device{}()};

  std::mutex handoff_mu;
  std::vector<store::OutboxEntries> handoff;  // committed, not yet taken by the dispatcher

  void drain_handoff() {
    std::vector<store::OutboxEntries> taken;
    {
      std::lock_guard lock(handoff_mu);
      taken.swap(handoff);
    }
    for (const auto& batch : taken) {
      for (const auto& e : *batch) enqueue(e);
    }
  }

  mutable std::mutex dead_mu;
  std::map<uint64_t, domain::OutboxEntry> dead;
  mutable std::mutex pending_mu;
  std::set<std::pair<int64_t, uint64_t>> pending;  // (created_ms, id) of queued deliveries
  std::atomic<uint64_t> delivered{0}, retries{0}, dead_lettered{0};

  Impl(store::Store& s, const Clock& c, std::function<std::optional<std::string>(uint32_t)> t,
       std::function<int64_t(uint32_t)> m, DispatcherOptions o)
      : store(s), clock(c), token_of(std::move(t)), max_age_ms(std::move(m)), options(o) {
    tls.set_default_verify_paths();
    tls.set_verify_mode(ssl::verify_peer);
  }

  static std::string lane_key(const domain::OutboxEntry& e) {
    return fmt::format("{}\n{}\n{}", e.url, e.sdkappid, e.room_id);
  }

  // Dispatcher thread: append to the entry's lane and make sure the lane is being pumped.
  void enqueue(domain::OutboxEntry entry) {
    {
      std::lock_guard lock(pending_mu);
      pending.emplace(entry.created_ms, entry.id);
    }
    std::string key = lane_key(entry);
    Lane& lane = lanes[key];
    lane.queue.push_back(std::move(entry));
    if (!lane.pumping) {
      lane.pumping = true;
      asio::co_spawn(ioc, pump(std::move(key)), asio::detached);
    }
  }

  void forget_pending(const domain::OutboxEntry& e) {
    std::lock_guard lock(pending_mu);
    pending.erase({e.created_ms, e.id});
  }

  // Delivered rows are deleted in batches: one store submission per burst of deliveries instead
  // of one per delivery, deferred so that it rides along with the API's next commit instead of
  // costing an fsync of its own. A crash before it commits only means those events are sent
  // again, which at-least-once delivery allows.
  std::vector<uint64_t> delivered_ids;
  // (sdkappid, RoomId) → the highest room_seq delivered in this batch.
  std::map<std::pair<uint32_t, std::string>, uint64_t> delivered_seqs;
  Timer flush_timer{ioc.get_executor()};
  bool flush_scheduled = false;

  void mark_delivered(const domain::OutboxEntry& e) {
    delivered_ids.push_back(e.id);
    uint64_t& seq = delivered_seqs[{e.sdkappid, e.room_id}];
    seq = std::max(seq, e.room_seq);
    if (delivered_ids.size() >= 512) {
      flush_delivered();
    } else if (!flush_scheduled) {
      flush_scheduled = true;
      flush_timer.expires_after(std::chrono::milliseconds(5));
      flush_timer.async_wait([this](boost::system::error_code) {
        flush_scheduled = false;
        flush_delivered();
      });
    }
  }

  // Deleting delivered rows records their rooms' sequence numbers first, in the same commit.
  void flush_delivered() {
    if (delivered_ids.empty()) return;
    std::vector<store::Change> changes;
    for (auto& [room, seq] : delivered_seqs) {
      changes.push_back(store::PutRoomEventSeq{room.first, room.second, seq});
    }
    changes.push_back(store::DeleteOutbox{std::move(delivered_ids)});
    store.submit_deferred(std::move(changes));
    delivered_ids = {};
    delivered_seqs.clear();
  }

  std::chrono::milliseconds backoff(uint32_t attempts) {
    // Exponential, capped, with jitter: a random time between half and all of the step, so
    // receivers coming back up are not hit by every lane at once.
    const int64_t base = options.first_retry.count();
    int64_t step = base << std::min<uint32_t>(attempts - 1, 20);
    step = std::min<int64_t>(step, options.max_retry.count());
    std::uniform_int_distribution<int64_t> jitter(step / 2, step);
    return std::chrono::milliseconds(jitter(random));
  }

  Task<void> pump(std::string key) {
    Timer timer(ioc.get_executor());
    for (;;) {
      Lane& lane = lanes[key];
      if (lane.queue.empty()) {
        lanes.erase(key);
        co_return;
      }
      domain::OutboxEntry& head = lane.queue.front();
      const int64_t wait_ms = head.next_attempt_ms - clock.unix_millis();
      if (wait_ms > 0) {
        timer.expires_after(std::chrono::milliseconds(wait_ms));
        co_await timer.async_wait(kAwait);
      }
      std::optional<std::string> error = co_await send(head);
      Lane& now_lane = lanes[key];  // the map may have rehashed meanwhile; nodes stay put
      domain::OutboxEntry entry = std::move(now_lane.queue.front());
      now_lane.queue.pop_front();
      if (!error) {
        delivered.fetch_add(1, std::memory_order_relaxed);
        forget_pending(entry);
        mark_delivered(entry);
        continue;
      }
      entry.attempts += 1;
      entry.last_error = *error;
      const int64_t now = clock.unix_millis();
      const int64_t expires = entry.created_ms + max_age_ms(entry.sdkappid);
      if (now >= expires) {
        spdlog::warn("webhook: event {} to {} is a dead letter after {} attempts: {}",
                     entry.event_id, entry.url, entry.attempts, entry.last_error);
        entry.dead = true;
        forget_pending(entry);
        store.submit({store::UpdateOutbox{entry.id, entry.attempts, entry.next_attempt_ms,
                                          entry.created_ms, true, entry.last_error}});
        dead_lettered.fetch_add(1, std::memory_order_relaxed);
        std::lock_guard lock(dead_mu);
        dead.emplace(entry.id, std::move(entry));
        continue;
      }
      retries.fetch_add(1, std::memory_order_relaxed);
      entry.next_attempt_ms = std::min(now + backoff(entry.attempts).count(), expires);
      store.submit({store::UpdateOutbox{entry.id, entry.attempts, entry.next_attempt_ms,
                                        entry.created_ms, false, entry.last_error}});
      now_lane.queue.push_front(std::move(entry));  // the head retries; order is kept
    }
  }

  struct Reply {
    unsigned status = 0;
    std::string body;
  };

  // One signed POST of a callback to `url`, over a pooled keep-alive connection.
  Task<Result<Reply>> post(const std::string& url, uint32_t sdkappid, std::string_view command,
                           std::string_view client_ip, const std::string& payload,
                           std::string_view event_id, uint64_t room_seq,
                           std::chrono::milliseconds timeout) {
    std::shared_ptr<const Destination> destination;  // held: the cache may drop it meanwhile
    if (auto it = destinations.find(url); it != destinations.end()) {
      destination = it->second;
    } else {
      if (auto parsed = parse_target(url)) {
        destination = std::make_shared<const Destination>(
            Destination{*parsed, &endpoints[parsed->endpoint_key()]});  // endpoints stay put
      }
      if (destinations.size() >= 1024) destinations.clear();  // URLs come from config
      destinations.emplace(url, destination);
    }
    if (!destination) co_return fail(Code::kInvalidParameter, "the URL cannot be parsed");
    const Target* target = &destination->target;
    Endpoint& endpoint = *destination->endpoint;

    const std::string now_s = std::to_string(clock.unix_seconds());
    const std::optional<std::string> token = token_of(sdkappid);
    std::string path = target->path_and_query;
    path += path.find('?') == std::string::npos ? '?' : '&';
    path += fmt::format(
        "SdkAppid={}&CallbackCommand={}&contenttype=json&ClientIP={}&OptPlatform=RESTAPI", sdkappid,
        command, client_ip);
    if (token) path += fmt::format("&Sign={}&RequestTime={}", tencent_sign(*token, now_s), now_s);

    // The request head is small and fixed in shape: written directly, as the server side writes
    // its response heads, instead of through Beast's fields container and serializer. The
    // payload goes out beside it, uncopied.
    std::string head;
    head.reserve(256 + path.size());
    head += "POST ";
    head += path;
    head += " HTTP/1.1\r\nHost: ";
    head += target->host;
    head += "\r\nContent-Type: application/json\r\nUser-Agent: liveroomd\r\n";
    if (!event_id.empty()) {
      head += "X-Liveroom-Event-Id: ";
      head += event_id;
      head += "\r\n";
    }
    if (room_seq) head += fmt::format("X-Liveroom-Room-Seq: {}\r\n", room_seq);
    head += "X-Liveroom-Timestamp: ";
    head += now_s;
    head += "\r\n";
    if (token) {
      head += "X-Liveroom-Signature: v1=";
      head += body_signature(*token, now_s, payload);
      head += "\r\n";
    }
    head += fmt::format("Content-Length: {}\r\n\r\n", payload.size());
    const std::array<asio::const_buffer, 2> req{asio::buffer(head), asio::buffer(payload)};

    co_await acquire(endpoint);
    Result<Reply> result = fail(Code::kInternal, "not sent");
    // A pooled connection may have been closed by the peer meanwhile: one retry on a new one.
    for (int attempt = 0; attempt < 2; ++attempt) {
      const bool reused = !endpoint.idle.empty();
      std::unique_ptr<Connection> conn;
      if (reused) {
        conn = std::move(endpoint.idle.back());
        endpoint.idle.pop_back();
      } else {
        auto connected = co_await connect(*target, timeout);
        if (!connected) {
          result = std::unexpected(connected.error());
          break;
        }
        conn = std::move(*connected);
      }
      result = co_await exchange(*conn, req, timeout);
      if (result) {
        if (conn->tcp().socket().is_open()) endpoint.idle.push_back(std::move(conn));
        break;
      }
      if (!reused) break;
    }
    release(endpoint);
    co_return result;
  }

  // Sends one delivery; nullopt on a 2xx, else why it failed.
  Task<std::optional<std::string>> send(const domain::OutboxEntry& e) {
    auto reply = co_await post(e.url, e.sdkappid, e.command, e.client_ip, e.payload, e.event_id,
                               e.room_seq, options.request_timeout);
    if (!reply) co_return reply.error().info;
    if (reply->status / 100 != 2) co_return fmt::format("HTTP {}", reply->status);
    co_return std::nullopt;
  }

  Task<void> veto(uint32_t sdkappid, std::vector<std::string> urls, std::string command,
                  std::string payload, std::string client_ip, std::chrono::milliseconds timeout,
                  bool fail_open, std::move_only_function<void(VetoAnswer)> done) {
    VetoAnswer answer;
    for (const auto& url : urls) {
      auto reply = co_await post(url, sdkappid, command, client_ip, payload, {}, 0, timeout);
      std::optional<int64_t> code;
      std::string info;
      if (reply && reply->status / 100 == 2) {
        boost::system::error_code ec;
        json::value body = json::parse(reply->body, ec);
        if (!ec && body.is_object()) {
          if (const auto* c = body.as_object().if_contains("ErrorCode"); c && c->is_number()) {
            code = c->to_number<int64_t>(ec);
            if (ec) code.reset();
          }
          if (const auto* i = body.as_object().if_contains("ErrorInfo"); i && i->is_string()) {
            info = std::string(i->get_string());
          }
        }
      }
      if (!code) {  // no usable answer: the fail-open switch decides for this backend
        answer.answered = false;
        if (!fail_open) {
          answer.allowed = false;
          break;
        }
        continue;
      }
      if (*code != 0) {
        answer.allowed = false;
        answer.error_code = *code;
        answer.error_info = std::move(info);
        break;
      }
    }
    done(std::move(answer));
  }

  Task<void> acquire(Endpoint& endpoint) {
    while (endpoint.in_flight >= options.connections_per_url) {
      Timer wake(ioc.get_executor());
      wake.expires_at(std::chrono::steady_clock::time_point::max());
      endpoint.waiters.push_back(&wake);
      co_await wake.async_wait(kAwait);  // cancelled by release()
    }
    ++endpoint.in_flight;
  }

  void release(Endpoint& endpoint) {
    --endpoint.in_flight;
    if (!endpoint.waiters.empty()) {
      endpoint.waiters.front()->cancel();
      endpoint.waiters.pop_front();
    }
  }

  Task<Result<std::unique_ptr<Connection>>> connect(const Target& t,
                                                    std::chrono::milliseconds timeout) {
    tcp::resolver resolver(ioc);
    auto [rec, endpoints_found] = co_await resolver.async_resolve(t.host, t.port, kAwait);
    if (rec)
      co_return fail(Code::kInternal, fmt::format("cannot resolve {}: {}", t.host, rec.message()));
    auto conn = std::make_unique<Connection>();
    TcpStream stream(ioc.get_executor());
    stream.expires_after(timeout);
    auto [cec, ep] = co_await stream.async_connect(endpoints_found, kAwait);
    if (cec)
      co_return fail(Code::kInternal,
                     fmt::format("cannot connect to {}:{}: {}", t.host, t.port, cec.message()));
    stream.socket().set_option(tcp::no_delay(true));
    if (!t.tls) {
      conn->plain = std::make_unique<TcpStream>(std::move(stream));
      co_return conn;
    }
    conn->secure = std::make_unique<TlsStream>(std::move(stream), tls);
    SSL_set_tlsext_host_name(conn->secure->native_handle(), t.host.c_str());
    conn->secure->set_verify_callback(ssl::host_name_verification(t.host));
    auto [hec] = co_await conn->secure->async_handshake(ssl::stream_base::client, kAwait);
    if (hec)
      co_return fail(Code::kInternal,
                     fmt::format("TLS handshake with {} failed: {}", t.host, hec.message()));
    co_return conn;
  }

  template <typename Stream>
  Task<Result<Reply>> exchange_on(Stream& stream, TcpStream& tcp, beast::flat_buffer& buffer,
                                  const std::array<asio::const_buffer, 2>& req,
                                  std::chrono::milliseconds timeout) {
    tcp.expires_after(timeout);
    auto [wec, wn] = co_await asio::async_write(stream, req, kAwait);
    if (wec) co_return fail(Code::kInternal, "send failed: " + wec.message());
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024);
    auto [rec, rn] = co_await http::async_read(stream, buffer, parser, kAwait);
    if (rec) co_return fail(Code::kInternal, "no reply: " + rec.message());
    if (!parser.get().keep_alive()) tcp.close();  // answered, but not reusable: never pooled
    co_return Reply{parser.get().result_int(), std::move(parser.get().body())};
  }

  Task<Result<Reply>> exchange(Connection& c, const std::array<asio::const_buffer, 2>& req,
                               std::chrono::milliseconds timeout) {
    if (c.secure) co_return co_await exchange_on(*c.secure, c.tcp(), c.read_buffer, req, timeout);
    co_return co_await exchange_on(*c.plain, c.tcp(), c.read_buffer, req, timeout);
  }
};

Dispatcher::Dispatcher(store::Store& store, const Clock& clock,
                       std::function<std::optional<std::string>(uint32_t)> token_of,
                       std::function<int64_t(uint32_t)> max_age_ms, DispatcherOptions options)
    : impl_(std::make_unique<Impl>(store, clock, std::move(token_of), std::move(max_age_ms),
                                   options)) {}

Dispatcher::~Dispatcher() {
  stop();
}

void Dispatcher::load(std::vector<domain::OutboxEntry> entries) {
  for (auto& e : entries) {
    if (e.dead) {
      std::lock_guard lock(impl_->dead_mu);
      impl_->dead.emplace(e.id, std::move(e));
    } else {
      impl_->enqueue(std::move(e));  // the thread has not started: no race
    }
  }
}

void Dispatcher::start() {
  impl_->thread = std::thread([impl = impl_.get()] {
    auto guard = asio::make_work_guard(impl->ioc);
    impl->ioc.run();
  });
}

void Dispatcher::stop() {
  if (!impl_->thread.joinable()) return;
  // On the dispatcher's own thread: record what was delivered (so a clean restart does not send
  // it again), then stop.
  asio::post(impl_->ioc, [impl = impl_.get()] {
    impl->flush_delivered();
    impl->ioc.stop();
  });
  impl_->thread.join();
}

void Dispatcher::on_committed(store::OutboxEntries entries) {
  // Many commits hand over events in a burst: only the first one into an empty hand-off posts
  // (and possibly wakes the dispatcher thread); the drain takes them all.
  bool first;
  {
    std::lock_guard lock(impl_->handoff_mu);
    first = impl_->handoff.empty();
    impl_->handoff.push_back(std::move(entries));
  }
  if (first) asio::post(impl_->ioc, [impl = impl_.get()] { impl->drain_handoff(); });
}

std::vector<domain::OutboxEntry> Dispatcher::dead_letters(uint32_t sdkappid) const {
  std::vector<domain::OutboxEntry> out;
  std::lock_guard lock(impl_->dead_mu);
  for (const auto& [id, e] : impl_->dead) {
    if (e.sdkappid == sdkappid) out.push_back(e);
  }
  return out;
}

std::pair<size_t, uint64_t> Dispatcher::replay(uint32_t sdkappid,
                                               const std::vector<uint64_t>& ids) {
  std::vector<domain::OutboxEntry> again;
  {
    std::lock_guard lock(impl_->dead_mu);
    for (auto it = impl_->dead.begin(); it != impl_->dead.end();) {
      const bool wanted =
          it->second.sdkappid == sdkappid &&
          (ids.empty() || std::find(ids.begin(), ids.end(), it->first) != ids.end());
      if (!wanted) {
        ++it;
        continue;
      }
      again.push_back(std::move(it->second));
      it = impl_->dead.erase(it);
    }
  }
  if (again.empty()) return {0, 0};
  const int64_t now = impl_->clock.unix_millis();
  std::vector<store::Change> changes;
  for (auto& e : again) {
    e.dead = false;
    e.attempts = 0;
    e.created_ms = now;  // a fresh max age
    e.next_attempt_ms = now;
    changes.push_back(store::UpdateOutbox{e.id, 0, now, now, false, e.last_error});
  }
  const uint64_t seq = impl_->store.submit(std::move(changes));
  const size_t n = again.size();
  asio::post(impl_->ioc, [impl = impl_.get(), again = std::move(again)]() mutable {
    for (auto& e : again) impl->enqueue(std::move(e));
  });
  return {n, seq};
}

void Dispatcher::ask_veto(uint32_t sdkappid, std::vector<std::string> urls, std::string command,
                          std::string payload, std::string client_ip,
                          std::chrono::milliseconds timeout, bool fail_open,
                          std::move_only_function<void(VetoAnswer)> done) {
  asio::post(impl_->ioc, [impl = impl_.get(), sdkappid, urls = std::move(urls),
                          command = std::move(command), payload = std::move(payload),
                          client_ip = std::move(client_ip), timeout, fail_open,
                          done = std::move(done)]() mutable {
    asio::co_spawn(impl->ioc,
                   impl->veto(sdkappid, std::move(urls), std::move(command), std::move(payload),
                              std::move(client_ip), timeout, fail_open, std::move(done)),
                   asio::detached);
  });
}

DispatcherStats Dispatcher::stats() const {
  DispatcherStats s;
  {
    std::lock_guard lock(impl_->pending_mu);
    s.queued = impl_->pending.size();
    if (!impl_->pending.empty()) {
      s.oldest_age_ms = impl_->clock.unix_millis() - impl_->pending.begin()->first;
    }
  }
  {
    std::lock_guard lock(impl_->dead_mu);
    s.dead_letters = impl_->dead.size();
  }
  s.delivered = impl_->delivered.load();
  s.retries = impl_->retries.load();
  s.dead_lettered = impl_->dead_lettered.load();
  return s;
}

}  // namespace liveroom::webhook
