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

#include "base/http_target.h"

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

struct Connection {
  std::unique_ptr<TcpStream> plain;
  std::unique_ptr<TlsStream> secure;
  beast::flat_buffer read_buffer;  // kept across exchanges: no allocation per reply
  uint64_t replies = 0;            // read on this connection so far
  TcpStream& tcp() { return secure ? beast::get_lowest_layer(*secure) : *plain; }
};

struct Lane;

// How long a receiver whose pipelined batch was not confirmed gets one request at a time
// before pipelining is tried again (the receiver may have been restarted, or replaced by one
// that takes it).
constexpr std::chrono::minutes kPipeliningPause{10};

// One receiver (scheme, host, port): its keep-alive connections, shared by every URL on it.
struct Endpoint {
  HttpTarget target;  // where to connect (its path is that of the first URL seen)
  std::vector<std::unique_ptr<Connection>> idle;
  // Deliveries: lanes whose head is due, and the connection workers sending them.
  std::deque<Lane*> ready;
  unsigned workers = 0;
  unsigned starting_workers = 0;  // spawned, not yet taken their first batch
  // Pipelining is off until then: a pipelined batch to this receiver was not confirmed.
  std::chrono::steady_clock::time_point one_at_a_time_until{};
  // Veto requests: at most connections_per_url at once; the rest wait here.
  unsigned veto_in_flight = 0;
  std::deque<Timer*> veto_waiters;
};

// A URL's parsed target and its endpoint, parsed once (a handful of URLs serve every event).
struct Destination {
  HttpTarget target;
  Endpoint* endpoint;
};

// The deliveries of one (URL, app, room), in order; its head is sent, or waits to be.
struct Lane {
  enum class State { kIdle, kReady, kSending, kWaiting };
  std::string key;
  std::shared_ptr<const Destination> destination;  // null: the URL cannot be parsed
  std::deque<domain::OutboxEntry> queue;
  State state = State::kIdle;
};

// The TLS client context of every dispatcher in the process, made once. Loading the system's CA
// bundle (set_default_verify_paths) parses every certificate in it, and with placement by app a
// node makes a dispatcher for each app it hosts: made per dispatcher, that was most of a starting
// node's CPU (about 60 % of it in OpenSSL and its locks with 320 apps over three nodes), late
// enough for lease renewals to lapse. A configured SSL_CTX serves connections on any thread. It
// is never destroyed: dispatchers may still be stopping when static objects are.
ssl::context& tls_client_context() {
  static ssl::context* const context = [] {
    auto* c = new ssl::context(ssl::context::tls_client);
    c->set_default_verify_paths();
    c->set_verify_mode(ssl::verify_peer);
    return c;
  }();
  return *context;
}

}  // namespace

struct Dispatcher::Impl {
  store::Store& store;
  const Clock& clock;
  std::function<std::optional<std::string>(uint32_t)> token_of;
  std::function<int64_t(uint32_t)> max_age_ms;
  DispatcherOptions options;

  asio::io_context ioc{1};
  std::thread thread;
  ssl::context& tls = tls_client_context();
  // Touched on the dispatcher thread only. Lanes and endpoints are nodes: pointers stay valid.
  std::unordered_map<std::string, Lane> lanes;
  std::unordered_map<std::string, Endpoint> endpoints;
  std::unordered_map<std::string, std::shared_ptr<const Destination>> destinations;
  std::mt19937_64 random{std::random_device{}()};

  // Committed events reach the dispatcher through the hand-off. While events keep coming, the
  // dispatcher collects them every `collect_interval` on its own timer instead of being woken
  // by every commit: fewer wake-ups on the machine that also serves the API, and bigger
  // pipelined batches. The first event after a quiet spell wakes it at once.
  std::mutex handoff_mu;
  std::vector<store::OutboxEntries> handoff;  // committed, not yet taken by the dispatcher
  bool collecting = false;                    // the timer will take the hand-off: nobody posts
  Timer collect_timer{ioc.get_executor()};

  void take_handoff() {
    std::vector<store::OutboxEntries> taken;
    {
      std::lock_guard lock(handoff_mu);
      taken.swap(handoff);
      collecting = !taken.empty();
    }
    if (taken.empty()) return;  // quiet: the next commit wakes the dispatcher again
    for (const auto& batch : taken) {
      for (const auto& e : *batch) enqueue(e);
    }
    collect_timer.expires_after(options.collect_interval);
    collect_timer.async_wait([this](boost::system::error_code ec) {
      if (!ec) take_handoff();
    });
  }

  mutable std::mutex dead_mu;
  std::map<uint64_t, domain::OutboxEntry> dead;
  mutable std::mutex pending_mu;
  std::set<std::pair<int64_t, uint64_t>> pending;  // (created_ms, id) of queued deliveries
  std::atomic<uint64_t> delivered{0}, retries{0}, dead_lettered{0};

  Impl(store::Store& s, const Clock& c, std::function<std::optional<std::string>(uint32_t)> t,
       std::function<int64_t(uint32_t)> m, DispatcherOptions o)
      : store(s), clock(c), token_of(std::move(t)), max_age_ms(std::move(m)), options(o) {}

  static std::string lane_key(const domain::OutboxEntry& e) {
    return fmt::format("{}\n{}\n{}", e.url, e.sdkappid, e.room_id);
  }

  // The URL's destination, parsed on first use; null when the URL cannot be parsed.
  std::shared_ptr<const Destination> destination_of(const std::string& url) {
    if (auto it = destinations.find(url); it != destinations.end()) return it->second;
    std::shared_ptr<const Destination> destination;
    if (auto parsed = parse_http_target(url)) {
      auto [it, fresh] = endpoints.try_emplace(parsed->endpoint_key());
      if (fresh) it->second.target = *parsed;
      destination = std::make_shared<const Destination>(Destination{*parsed, &it->second});
    }
    // URLs come from the configuration: a handful. Lanes and requests hold their destination,
    // so dropping the cache is safe.
    if (destinations.size() >= 1024) destinations.clear();
    destinations.emplace(url, destination);
    return destination;
  }

  // Dispatcher thread: append to the entry's lane; an idle lane gets going.
  void enqueue(domain::OutboxEntry entry) {
    {
      std::lock_guard lock(pending_mu);
      pending.emplace(entry.created_ms, entry.id);
    }
    std::string key = lane_key(entry);
    auto [it, fresh] = lanes.try_emplace(key);
    Lane& lane = it->second;
    if (fresh) {
      lane.key = std::move(key);
      lane.destination = destination_of(entry.url);
    }
    lane.queue.push_back(std::move(entry));
    if (lane.state == Lane::State::kIdle) schedule(lane);
  }

  // An idle lane with a head: the head is made ready for a connection worker now, or once its
  // retry time comes.
  void schedule(Lane& lane) {
    const int64_t wait_ms = lane.queue.front().next_attempt_ms - clock.unix_millis();
    if (wait_ms > 0) {
      lane.state = Lane::State::kWaiting;
      asio::co_spawn(ioc, wait_then_ready(lane, std::chrono::milliseconds(wait_ms)),
                     asio::detached);
      return;
    }
    if (!lane.destination) {  // nothing to send it to: a failed attempt, as a refused one is
      lane.state = Lane::State::kSending;
      finish(lane, "the URL cannot be parsed");
      return;
    }
    lane.state = Lane::State::kReady;
    Endpoint& endpoint = *lane.destination->endpoint;
    endpoint.ready.push_back(&lane);
    // A new connection worker unless one is about to take the ready lanes anyway. Workers busy
    // with a batch do not count: a slow receiver gets more connections, a fast one batches.
    if (endpoint.starting_workers == 0 && endpoint.workers < options.connections_per_url) {
      ++endpoint.workers;
      ++endpoint.starting_workers;
      asio::co_spawn(ioc, work(endpoint), asio::detached);
    }
  }

  Task<void> wait_then_ready(Lane& lane, std::chrono::milliseconds wait) {
    Timer timer(ioc.get_executor());
    timer.expires_after(wait);
    co_await timer.async_wait(kAwait);
    lane.state = Lane::State::kIdle;
    schedule(lane);
  }

  void forget_pending(const domain::OutboxEntry& e) {
    std::lock_guard lock(pending_mu);
    pending.erase({e.created_ms, e.id});
  }

  // Delivered rows are deleted per batch of deliveries (flush_delivered after each), deferred so
  // that the deletes ride along with the API's next commit instead of costing an fsync, or even
  // a wake-up of the writer, of their own. A crash before they commit only means those events
  // are sent again, which at-least-once delivery allows.
  std::vector<uint64_t> delivered_ids;
  // (sdkappid, RoomId) → the highest room_seq delivered since the last flush.
  std::map<std::pair<uint32_t, std::string>, uint64_t> delivered_seqs;

  void mark_delivered(const domain::OutboxEntry& e) {
    delivered_ids.push_back(e.id);
    uint64_t& seq = delivered_seqs[{e.sdkappid, e.room_id}];
    seq = std::max(seq, e.room_seq);
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

  // The lane's head was sent: delivered (no error), or a failed attempt to retry or give up.
  // Then the lane's next head gets going, or the empty lane is dropped.
  void finish(Lane& lane, std::optional<std::string> error) {
    domain::OutboxEntry entry = std::move(lane.queue.front());
    lane.queue.pop_front();
    lane.state = Lane::State::kIdle;
    if (!error) {
      delivered.fetch_add(1, std::memory_order_relaxed);
      forget_pending(entry);
      mark_delivered(entry);
    } else {
      give_up_or_retry(lane, std::move(entry), std::move(*error));
    }
    if (lane.queue.empty()) {
      lanes.erase(lanes.find(lane.key));  // by iterator: the key passed lives in the erased node
    } else {
      schedule(lane);
    }
  }

  void give_up_or_retry(Lane& lane, domain::OutboxEntry entry, std::string error) {
    entry.attempts += 1;
    entry.last_error = std::move(error);
    const int64_t now = clock.unix_millis();
    const int64_t expires = entry.created_ms + max_age_ms(entry.sdkappid);
    if (now >= expires) {
      spdlog::warn("webhook: event {} to {} is a dead letter after {} attempts: {}", entry.event_id,
                   entry.url, entry.attempts, entry.last_error);
      entry.dead = true;
      forget_pending(entry);
      store.submit({store::UpdateOutbox{entry.id, entry.attempts, entry.next_attempt_ms,
                                        entry.created_ms, true, entry.last_error}});
      dead_lettered.fetch_add(1, std::memory_order_relaxed);
      std::lock_guard lock(dead_mu);
      dead.emplace(entry.id, std::move(entry));
      return;
    }
    retries.fetch_add(1, std::memory_order_relaxed);
    entry.next_attempt_ms = std::min(now + backoff(entry.attempts).count(), expires);
    store.submit({store::UpdateOutbox{entry.id, entry.attempts, entry.next_attempt_ms,
                                      entry.created_ms, false, entry.last_error}});
    lane.queue.push_front(std::move(entry));  // the head retries; order is kept
  }

  // A connection worker: sends the endpoint's ready lanes in batches over one keep-alive
  // connection until none is left, then parks the connection in the pool.
  Task<void> work(Endpoint& endpoint) {
    std::unique_ptr<Connection> conn;
    bool starting = true;
    while (!endpoint.ready.empty()) {
      std::vector<Lane*> batch;
      const size_t depth = std::chrono::steady_clock::now() < endpoint.one_at_a_time_until
                               ? 1
                               : options.pipeline_depth;
      while (!endpoint.ready.empty() && batch.size() < depth) {
        batch.push_back(endpoint.ready.front());
        endpoint.ready.pop_front();
        batch.back()->state = Lane::State::kSending;
      }
      if (starting) {
        starting = false;
        --endpoint.starting_workers;
      }
      co_await deliver(endpoint, conn, std::move(batch));
      flush_delivered();
    }
    if (starting) --endpoint.starting_workers;
    if (conn && conn->tcp().socket().is_open()) endpoint.idle.push_back(std::move(conn));
    --endpoint.workers;
  }

  // The request head of one delivery. It is small and fixed in shape: written directly, as the
  // server side writes its response heads, instead of through Beast's fields container and
  // serializer. The payload goes out beside it, uncopied.
  std::string request_head(const HttpTarget& target, uint32_t sdkappid, std::string_view command,
                           std::string_view client_ip, std::string_view payload,
                           std::string_view event_id, uint64_t room_seq) {
    const std::string now_s = std::to_string(clock.unix_seconds());
    const std::optional<std::string> token = token_of(sdkappid);
    std::string head;
    head.reserve(512 + target.path_and_query.size());
    head += "POST ";
    head += target.path_and_query;
    head += target.path_and_query.find('?') == std::string::npos ? '?' : '&';
    head += fmt::format(
        "SdkAppid={}&CallbackCommand={}&contenttype=json&ClientIP={}&OptPlatform=RESTAPI", sdkappid,
        command, client_ip);
    if (token) head += fmt::format("&Sign={}&RequestTime={}", tencent_sign(*token, now_s), now_s);
    head += " HTTP/1.1\r\nHost: ";
    head += target.host;
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
    return head;
  }

  // Sends the heads of `batch` (lanes of one endpoint) in one write, HTTP/1.1 pipelining, and
  // reads the replies in order: one write and a read or two per batch instead of per delivery,
  // on both sides. A lane has at most one delivery in flight, so each room's order is kept.
  //
  // A reply names no request, so a receiver that mishandles pipelining (drops requests that
  // came together, or answers out of order) could make a reply confirm the wrong delivery. So
  // a pipelined batch confirms its deliveries only as a whole: every reply read and every one
  // a 2xx. Anything else puts the whole batch back in the ready queue, without counting an
  // attempt, and the receiver gets one request at a time for a while, where each reply is
  // exact and a failure counts as usual. Duplicates are possible (receivers de-duplicate by
  // event id); a lost event is not. Two cases are exact even when pipelined: a pooled
  // connection that fails before any reply is retried once on a new one (the receiver may have
  // closed it while idle), and a reply with Connection: close ends the batch there (the
  // deliveries it answered count; the rest were not looked at).
  Task<void> deliver(Endpoint& endpoint, std::unique_ptr<Connection>& conn,
                     std::vector<Lane*> batch) {
    std::vector<std::string> heads;
    std::vector<asio::const_buffer> buffers;
    heads.reserve(batch.size());
    buffers.reserve(2 * batch.size());
    for (Lane* lane : batch) {
      const domain::OutboxEntry& e = lane->queue.front();
      heads.push_back(request_head(lane->destination->target, e.sdkappid, e.command, e.client_ip,
                                   e.payload, e.event_id, e.room_seq));
    }
    for (size_t i = 0; i < batch.size(); ++i) {
      buffers.push_back(asio::buffer(heads[i]));
      buffers.push_back(asio::buffer(batch[i]->queue.front().payload));
    }
    const auto timeout = options.request_timeout;
    for (bool retried = false;; retried = true) {
      bool reused = conn != nullptr;
      if (!conn && !endpoint.idle.empty()) {
        conn = std::move(endpoint.idle.back());
        endpoint.idle.pop_back();
        reused = true;
      }
      if (!conn) {
        auto connected = co_await connect(endpoint.target, timeout);
        if (!connected) {
          // Unreachable: every delivery of the batch would have failed the same way.
          for (Lane* lane : batch) finish(*lane, connected.error().info);
          co_return;
        }
        conn = std::move(*connected);
      }
      Connection& c = *conn;
      c.tcp().expires_after(timeout);
      auto [wec, wn] = c.secure ? co_await asio::async_write(*c.secure, buffers, kAwait)
                                : co_await asio::async_write(*c.plain, buffers, kAwait);
      std::vector<unsigned> statuses;  // of the replies read, in order
      statuses.reserve(batch.size());
      std::string error;
      bool closed_by_receiver = false;
      if (wec) {
        error = "send failed: " + wec.message();
      } else {
        while (statuses.size() < batch.size()) {
          c.tcp().expires_after(timeout);
          http::response_parser<http::string_body> parser;
          parser.body_limit(64 * 1024);
          auto [rec, rn] = c.secure
                               ? co_await http::async_read(*c.secure, c.read_buffer, parser, kAwait)
                               : co_await http::async_read(*c.plain, c.read_buffer, parser, kAwait);
          if (rec) {
            error = "no reply: " + rec.message();
            break;
          }
          ++c.replies;
          statuses.push_back(parser.get().result_int());
          if (!parser.get().keep_alive()) {
            closed_by_receiver = true;
            break;
          }
        }
      }
      const size_t answered = statuses.size();
      const uint64_t replies = c.replies;
      if (answered < batch.size() || closed_by_receiver) conn.reset();           // never reused
      if (answered == 0 && !closed_by_receiver && reused && !retried) continue;  // stale
      const bool all_2xx = std::ranges::all_of(statuses, [](unsigned s) { return s / 100 == 2; });
      if (batch.size() == 1) {  // exact
        std::optional<std::string> failure;
        if (answered == 0) {
          failure = std::move(error);
        } else if (statuses[0] / 100 != 2) {
          failure = fmt::format("HTTP {}", statuses[0]);
        }
        finish(*batch[0], std::move(failure));
        co_return;
      }
      if (closed_by_receiver && all_2xx) {
        for (size_t i = 0; i < answered; ++i) finish(*batch[i], std::nullopt);
        // A receiver that ends every connection after one reply gains nothing from pipelining.
        if (replies == 1 && answered < batch.size()) {
          pause_pipelining(endpoint, "it closes every connection");
        }
        requeue(endpoint, batch, answered);
        co_return;
      }
      if (answered == batch.size() && all_2xx) {
        for (Lane* lane : batch) finish(*lane, std::nullopt);
        co_return;
      }
      pause_pipelining(endpoint,
                       answered < batch.size()
                           ? fmt::format("{} of {} replies, then {}", answered, batch.size(), error)
                           : std::string("a reply other than 2xx"));
      requeue(endpoint, batch, 0);
      co_return;
    }
  }

  void pause_pipelining(Endpoint& endpoint, std::string_view why) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= endpoint.one_at_a_time_until) {
      spdlog::warn(
          "webhook: a pipelined batch to {}:{} was not confirmed ({}); sending one at a time for "
          "{} s",
          endpoint.target.host, endpoint.target.port, why,
          std::chrono::duration_cast<std::chrono::seconds>(kPipeliningPause).count());
    }
    endpoint.one_at_a_time_until = now + kPipeliningPause;
  }

  // Lanes of `batch` from `first` on were not answered and not at fault: back to the front of
  // the ready queue, in their order.
  void requeue(Endpoint& endpoint, const std::vector<Lane*>& batch, size_t first) {
    for (size_t i = batch.size(); i > first; --i) {
      batch[i - 1]->state = Lane::State::kReady;
      endpoint.ready.push_front(batch[i - 1]);
    }
  }

  struct Reply {
    unsigned status = 0;
    std::string body;
  };

  // One signed POST of a "before" callback to `url`, over a pooled keep-alive connection (not
  // pipelined: its answer is awaited by a user).
  Task<Result<Reply>> post(const std::string& url, uint32_t sdkappid, std::string_view command,
                           std::string_view client_ip, const std::string& payload,
                           std::chrono::milliseconds timeout) {
    // Held: the cache may drop it meanwhile.
    const std::shared_ptr<const Destination> destination = destination_of(url);
    if (!destination) co_return fail(Code::kInvalidParameter, "the URL cannot be parsed");
    const HttpTarget* target = &destination->target;
    Endpoint& endpoint = *destination->endpoint;
    const std::string head = request_head(*target, sdkappid, command, client_ip, payload, {}, 0);
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

  Task<void> veto(uint32_t sdkappid, std::vector<std::string> urls, std::string command,
                  std::string payload, std::string client_ip, std::chrono::milliseconds timeout,
                  bool fail_open, std::move_only_function<void(VetoAnswer)> done) {
    VetoAnswer answer;
    for (const auto& url : urls) {
      auto reply = co_await post(url, sdkappid, command, client_ip, payload, timeout);
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
    while (endpoint.veto_in_flight >= options.connections_per_url) {
      Timer wake(ioc.get_executor());
      wake.expires_at(std::chrono::steady_clock::time_point::max());
      endpoint.veto_waiters.push_back(&wake);
      co_await wake.async_wait(kAwait);  // cancelled by release()
    }
    ++endpoint.veto_in_flight;
  }

  void release(Endpoint& endpoint) {
    --endpoint.veto_in_flight;
    if (!endpoint.veto_waiters.empty()) {
      endpoint.veto_waiters.front()->cancel();
      endpoint.veto_waiters.pop_front();
    }
  }

  Task<Result<std::unique_ptr<Connection>>> connect(const HttpTarget& t,
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
  // Only the first commit after a quiet spell posts (and wakes the dispatcher thread); while
  // events keep coming, the dispatcher's collect timer takes them.
  bool wake;
  {
    std::lock_guard lock(impl_->handoff_mu);
    wake = impl_->handoff.empty() && !impl_->collecting;
    impl_->handoff.push_back(std::move(entries));
  }
  if (wake) asio::post(impl_->ioc, [impl = impl_.get()] { impl->take_handoff(); });
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
