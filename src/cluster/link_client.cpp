#include "cluster/link_client.h"

#include <atomic>
#include <map>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include "base/http_target.h"
#include "base/log_throttle.h"
#include "base/query_params.h"
#include "cluster/link_records.h"

namespace liveroom::cluster {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kAwait = asio::as_tuple(asio::use_awaitable);
constexpr auto kConnectTimeout = std::chrono::seconds(5);
// The leader closes a link it hears nothing from (its idle timeout is larger than this).
constexpr auto kKeepAlive = std::chrono::seconds(10);
constexpr auto kLeaderSilence = std::chrono::seconds(15);
// A message to the leader carries what is queued, up to about this much.
constexpr size_t kMaxMessage = 1 << 20;

// Gives `answer` what `response` answers once it is known: a call rerouted or held may be
// forwarded again, so a later answer may itself come later.
void answer_with(server::Answer& answer, server::HttpResponse&& response) {
  if (response.later) {
    auto later = std::move(response.later);
    later->start([answer = std::move(answer)](server::HttpResponse&& ready) mutable {
      answer_with(answer, std::move(ready));
    });
    return;
  }
  answer(std::move(response));
}

}  // namespace

struct Lane;

// One link to a leader. Everything here runs on its lane's thread, which is the I/O thread of
// every client it carries (so it writes to them with send_here).
class Link : public std::enable_shared_from_this<Link> {
 public:
  Link(LinkClient::Impl& owner, Lane& lane, std::string base);

  void start(const std::string& node_id, const std::string& secret, const std::string& shard) {
    asio::co_spawn(ioc_, run(shared_from_this(), node_id, secret, shard), asio::detached);
  }

  // `settled`, if any, is told whether the leader gets the client: true once the leader has
  // accepted the link, false if the link dies before (then the client is not closed: its owner
  // routes it again).
  void add(uint64_t id, std::shared_ptr<server::WebSocketPeer> peer, const std::string& target,
           LinkClient::Settled settled) {
    if (dead_) {
      if (settled && !accepted_) return settled(false);
      peer->close(1012, "cluster: " + why_dead_ + "; reconnect");
      return;
    }
    append_record(outbox_, 'O', id, peer->remote_address() + "\n" + target);
    clients_.emplace(id, std::move(peer));
    count_clients(+1);
    if (settled) {
      if (accepted_) {
        settled(true);
      } else {
        unsettled_.emplace(id, std::move(settled));
      }
    }
    kick_writer();
  }

  void from_client(uint64_t id, std::string_view text) {
    if (dead_ || !clients_.contains(id)) return;
    append_record(outbox_, 'D', id, text);
    kick_writer();
  }

  void client_closed(uint64_t id) {
    unsettled_.erase(id);
    if (dead_ || clients_.erase(id) == 0) return;
    count_clients(-1);
    append_record(outbox_, 'C', id, {});
    kick_writer();
  }

  // `unreachable` renders the answer should the leader not give one; `reroute`, if any, the
  // answer to a call the leader never carried out.
  // `keep_key`, if not empty: the answer may be kept under it (KeptReads).
  void call(uint64_t id, server::Answer answer, server::HttpRequest&& request,
            std::chrono::steady_clock::time_point deadline, LinkClient::Unreachable unreachable,
            LinkClient::Reroute reroute, std::string keep_key = {}) {
    if (dead_) {
      // (A link found dead is no longer in its lane's map: this is a race with its death.)
      Call call{std::move(answer), deadline, std::move(unreachable), std::move(request),
                std::move(reroute)};
      fail(call, why_dead_);
      return;
    }
    append_call(outbox_, id,
                {request.method, request.target, request.remote_address, request.body});
    if (!reroute) request = {};  // kept only to be sent again
    Call call{std::move(answer), deadline, std::move(unreachable), std::move(request),
              std::move(reroute)};
    if (!keep_key.empty()) {
      call.keep_key = std::move(keep_key);
      call.keep_since = barriers_answered_;
      ++fills_;
    }
    calls_.emplace(id, std::move(call));
    count_calls(+1);
    kick_writer();
  }

  // A call that may be answered from a kept answer (its key, KeptReads): it waits for the
  // answer to a barrier sent after it arrived, then is answered from what is still kept, or
  // goes to the leader (and its answer is kept). Nothing reaches the leader before then, so
  // should the link die first, the call may go to the next leader.
  void read(uint64_t id, server::Answer answer, server::HttpRequest&& request, std::string key,
            std::chrono::steady_clock::time_point deadline, LinkClient::Unreachable unreachable,
            LinkClient::Reroute reroute) {
    if (dead_) {
      return call(id, std::move(answer), std::move(request), deadline, std::move(unreachable),
                  std::move(reroute));
    }
    // A read may wait for the barrier in flight while it has not left this node: the leader
    // reads it after this read began.
    (barrier_unsent_ ? reads_waiting_ : reads_next_)
        .push_back(Read{id, std::move(key),
                        Call{std::move(answer), deadline, std::move(unreachable),
                             std::move(request), std::move(reroute)}});
    if (barriers_answered_ == barriers_sent_) send_barrier();  // (none in flight)
  }

  void stop() { close("this node is stopping"); }

  // The leader answered the link's handshake and has not sent its first message yet: it will
  // accept the link or refuse it before reading a record.
  bool answered_but_not_accepted() const { return open_ && !accepted_ && !dead_; }

  // Ends the link as if it had broken, saying `why`, and closes its connection.
  void close(const std::string& why) {
    die(why);
    if (ws_) {
      boost::system::error_code ignored;
      beast::get_lowest_layer(*ws_).socket().close(ignored);
    }
  }

 private:
  static asio::awaitable<void> run(std::shared_ptr<Link> self, std::string node_id,
                                   std::string secret, std::string shard) {
    auto to = parse_http_target(self->base_);
    if (!to || to->tls) {
      self->die("the leader's advertise_url is not http://host:port");
      co_return;
    }
    tcp::resolver resolver(self->ioc_);
    auto [rec, results] = co_await resolver.async_resolve(to->host, to->port, kAwait);
    if (rec) {
      self->die("cannot resolve the leader " + to->host + ": " + rec.message());
      co_return;
    }
    beast::tcp_stream stream(self->ioc_);
    stream.expires_after(kConnectTimeout);
    auto [cec, ep] = co_await stream.async_connect(results, kAwait);
    (void)ep;
    if (cec) {
      self->die("cannot connect to the leader at " + to->host + ":" + to->port + ": " +
                cec.message());
      co_return;
    }
    stream.socket().set_option(tcp::no_delay(true));
    self->ws_ = std::make_unique<websocket::stream<beast::tcp_stream>>(std::move(stream));
    auto& ws = *self->ws_;
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = kConnectTimeout;
    // A leader that vanished without closing (its machine lost power, a partition) must not
    // hold this link's clients forever: silent for half this, it is pinged; for all of it, the
    // link is dead and its clients reconnect.
    timeouts.idle_timeout = kLeaderSilence;
    timeouts.keep_alive_pings = true;
    ws.set_option(timeouts);
    ws.read_message_max(0);  // the leader's batches; it is trusted
    ws.binary(true);         // payloads are whatever clients sent, not necessarily UTF-8
    std::string target =
        fmt::format("{}?node={}&protocol={}&secret={}", kLinkPath, node_id, kLinkProtocol, secret);
    if (!shard.empty()) target += "&shard=" + shard;
    auto [hec] = co_await ws.async_handshake(to->host + ":" + to->port, target, kAwait);
    if (hec) {
      self->die("the leader refused the link: " + hec.message());
      co_return;
    }
    beast::get_lowest_layer(ws).expires_never();
    self->open_ = true;
    self->kick_writer();
    asio::co_spawn(self->ioc_, keep_alive(self), asio::detached);
    beast::flat_buffer buffer;
    for (;;) {
      auto [ec, n] = co_await ws.async_read(buffer, kAwait);
      (void)n;
      if (ec) {
        const auto reason = ws.reason();
        // A node that does not lead (yet, or any longer) refuses the link before it reads any
        // record: nothing this link carried was carried out.
        self->die(reason.code ? fmt::format("the leader closed the link ({} {})",
                                            static_cast<int>(reason.code), reason.reason.c_str())
                              : "the leader went away",
                  reason.code == kLinkNotLeading);
        co_return;
      }
      if (!self->accepted_) {
        // The leader's first message: it accepted the link, so the clients on it are its.
        self->accepted_ = true;
        for (auto& [id, settled] : std::exchange(self->unsettled_, {})) settled(true);
      }
      const auto data = buffer.cdata();
      const std::string_view message(static_cast<const char*>(data.data()), data.size());
      if (!parse_records(message, [&](const LinkRecord& r) { self->from_leader(r); })) {
        self->die("a malformed record from the leader");
        co_return;
      }
      buffer.consume(buffer.size());
    }
  }

  void from_leader(const LinkRecord& record) {
    if (dead_) return;
    auto ids = parse_link_ids(record.ids);
    if (!ids) return;
    switch (record.kind) {
      case 'D':
      case 'B': {
        auto text = std::make_shared<const std::string>(record.payload);
        for (uint64_t id : *ids) {
          if (auto it = clients_.find(id); it != clients_.end()) it->second->send_here(text);
        }
        break;
      }
      case 'A': {
        auto it = calls_.find(ids->front());
        if (it == calls_.end()) break;  // timed out meanwhile
        Call call = std::move(it->second);
        calls_.erase(it);
        count_calls(-1);
        fill_done(call);
        auto parsed = parse_answer(record.payload);
        if (!parsed) {
          fail(call, "a malformed answer from the leader");
          break;
        }
        if (!call.keep_key.empty() && parsed->status == 200) keep(call, parsed->body);
        if (parsed->status == kNotCarriedOut && call.reroute) {
          owner_leader_gone();
          answer_with(call.answer,
                      call.reroute(std::move(call.request), "the leader is stepping down"));
          break;
        }
        call.answer(server::HttpResponse{
            parsed->status, std::string(parsed->content_type), std::string(parsed->body), {}, {}});
        break;
      }
      case 'K':
        barrier_answered(ids->front(), record.payload);
        break;
      case 'C': {
        const LinkClose close = parse_close(record.payload);
        for (uint64_t id : *ids) {
          if (auto it = clients_.find(id); it != clients_.end()) {
            it->second->close(close.code, std::string(close.reason));
            clients_.erase(it);
            count_clients(-1);
          }
        }
        break;
      }
      default:
        break;
    }
  }

  void kick_writer() {
    if (!open_ || writing_ || outbox_.empty() || dead_) return;
    writing_ = true;
    asio::co_spawn(ioc_, write_all(shared_from_this()), asio::detached);
  }

  static asio::awaitable<void> write_all(std::shared_ptr<Link> self) {
    while (!self->outbox_.empty() && !self->dead_) {
      std::string message;
      self->barrier_unsent_ = false;  // (or it is in what stays: then later reads wait longer)
      if (self->outbox_.size() <= kMaxMessage) {
        message = std::exchange(self->outbox_, {});
      } else {
        // Cut after the last whole record within the limit (records carry their lengths, so a
        // cut is found by walking them).
        size_t cut = 0;
        std::string_view rest = self->outbox_;
        parse_records(rest, [&](const LinkRecord& r) {
          const size_t end =
              static_cast<size_t>(r.payload.data() + r.payload.size() - self->outbox_.data());
          if (cut == 0 || end <= kMaxMessage) cut = std::max(cut, end);
        });
        message = self->outbox_.substr(0, cut);
        self->outbox_.erase(0, cut);
      }
      auto [ec, n] = co_await self->ws_->async_write(asio::buffer(message), kAwait);
      (void)n;
      if (ec) {
        self->die("cannot write to the leader: " + ec.message());
        break;
      }
      self->wrote_ = true;
    }
    self->writing_ = false;
  }

  // Once a second: calls past their deadline are answered as unreachable (the leader may be
  // paused; a late answer is dropped), and a link with nothing to say says it is alive.
  static asio::awaitable<void> keep_alive(std::shared_ptr<Link> self) {
    auto quiet_since = std::chrono::steady_clock::now();
    while (!self->dead_) {
      self->keepalive_.expires_after(std::chrono::seconds(1));
      auto [ec] = co_await self->keepalive_.async_wait(kAwait);
      if (ec || self->dead_) co_return;
      const auto now = std::chrono::steady_clock::now();
      while (!self->calls_.empty() && self->calls_.begin()->second.deadline <= now) {
        Call call = std::move(self->calls_.begin()->second);
        self->calls_.erase(self->calls_.begin());
        self->count_calls(-1);
        self->fill_done(call);
        fail(call, "the leader did not answer in time");
      }
      // A barrier unanswered for as long: the reads waiting for it (and after it) fail alike.
      const auto overdue = [now](const std::vector<Read>& reads) {
        return !reads.empty() && reads.front().call.deadline <= now;
      };
      if (overdue(self->reads_waiting_) || overdue(self->reads_next_)) {
        for (auto* reads : {&self->reads_waiting_, &self->reads_next_}) {
          for (Read& r : std::exchange(*reads, {}))
            fail(r.call, "the leader did not answer in time");
        }
      }
      if (self->wrote_) {
        self->wrote_ = false;
        quiet_since = now;
      } else if (now - quiet_since >= kKeepAlive) {
        append_record(self->outbox_, 'P', 0, {});
        self->kick_writer();
        quiet_since = now;
      }
    }
  }

  // The link is gone: its clients are told to reconnect (through the load balancer, to whichever
  // node; the new link or leader gives them their room back).
  // `carried_nothing`: the leader said it carried out none of the link's calls.
  void die(const std::string& why, bool carried_nothing = false);
  void owner_leader_gone();
  void count_clients(int64_t delta);
  void count_calls(int64_t delta);
  struct Call;
  static void fail(Call& call, const std::string& why) {
    call.answer(call.unreachable("cluster: " + why));
  }

  // The answer to barrier `n` names what changed since the previous one (or everything): what
  // was kept about it is forgotten, then the reads that waited for this barrier are answered.
  void barrier_answered(uint64_t n, std::string_view changed);
  void forget(std::string_view tag);
  // A kept read's answer from the leader: kept unless a barrier answered while it was on its
  // way named its tag (it may show the state from before that change).
  void keep(const Call& call, std::string_view body);
  void fill_done(const Call& call) {
    if (!call.keep_key.empty() && fills_ > 0 && --fills_ == 0) forgotten_since_.clear();
  }
  void send_barrier() {
    barrier_unsent_ = true;
    reads_waiting_ = std::exchange(reads_next_, {});
    append_record(outbox_, 'K', ++barriers_sent_, {});
    kick_writer();
  }

  LinkClient::Impl& owner_;
  Lane& lane_;
  asio::io_context& ioc_;
  const std::string base_;
  std::unique_ptr<websocket::stream<beast::tcp_stream>> ws_;
  asio::steady_timer keepalive_;
  std::unordered_map<uint64_t, std::shared_ptr<server::WebSocketPeer>> clients_;
  // Clients added before the leader accepted the link, whose owner waits to know if it does.
  std::unordered_map<uint64_t, LinkClient::Settled> unsettled_;
  struct Call {
    server::Answer answer;
    std::chrono::steady_clock::time_point deadline;
    LinkClient::Unreachable unreachable;
    server::HttpRequest request;  // kept only when it can be rerouted
    LinkClient::Reroute reroute;
    std::string keep_key;     // its answer may be kept under this key (KeptReads)
    uint64_t keep_since = 0;  // barriers answered when it was sent
  };
  std::map<uint64_t, Call> calls_;  // by id, which is also the order of their deadlines
  // Kept answers: by key, and the keys by tag.
  struct Kept {
    std::string tag, body;
  };
  static constexpr size_t kMaxKept = 16384;  // beyond, all are forgotten and kept afresh
  std::unordered_map<std::string, Kept> kept_;
  std::unordered_multimap<std::string, std::string> kept_by_tag_;
  struct Read {
    uint64_t id;
    std::string key;
    Call call;
  };
  std::vector<Read> reads_waiting_;  // for the barrier in flight
  std::vector<Read> reads_next_;     // for the next barrier
  // One barrier at most is in flight: sent and not answered.
  uint64_t barriers_sent_ = 0, barriers_answered_ = 0;
  bool barrier_unsent_ = false;  // the barrier in flight is still in outbox_
  // While kept reads are on their way to the leader (fills_): when each tag was last named.
  size_t fills_ = 0;
  std::unordered_map<std::string, uint64_t> forgotten_since_;
  uint64_t forgot_everything_at_ = 0;
  std::string outbox_;
  bool open_ = false, writing_ = false, dead_ = false, wrote_ = false;
  bool accepted_ = false;  // the leader's first message arrived
  std::string why_dead_;
};

// One of the server's I/O threads and the links it runs (one per leader it has talked to).
struct Lane {
  explicit Lane(asio::io_context& context) : ioc(context) {}
  asio::io_context& ioc;
  std::unordered_map<std::string, std::shared_ptr<Link>> links;  // touched on ioc's thread only

  bool here() const { return ioc.get_executor().running_in_this_thread(); }
  // Runs `fn` on this lane's thread: at once when already there (the usual case: a handler or a
  // client's callback runs on its connection's thread, and that is its lane), else posted.
  template <typename Fn>
  void run(Fn&& fn) {
    if (here()) {
      fn();
    } else {
      asio::post(ioc, std::forward<Fn>(fn));
    }
  }
};

struct LinkClient::Impl {
  Impl(std::string n, std::string s, Unreachable u, std::chrono::milliseconds t,
       server::HttpServer& server, LeaderGone g, KeptReads* k, std::string sh)
      : node_id(std::move(n)),
        secret(std::move(s)),
        shard(std::move(sh)),
        unreachable(std::move(u)),
        leader_gone(std::move(g)),
        kept(k),
        call_timeout(t) {
    lanes.reserve(server.worker_count());
    for (size_t i = 0; i < server.worker_count(); ++i) lanes.emplace_back(server.worker_context(i));
  }

  // A call goes on the lane of the thread it arrives on; from elsewhere, the lanes take turns.
  Lane& lane_for_call(uint64_t id) {
    for (auto& lane : lanes) {
      if (lane.here()) return lane;
    }
    return lanes[id % lanes.size()];
  }
  // A client keeps the lane of its connection's thread, so its records stay in order on one link
  // and the leader's messages for it are written without a hop.
  Lane& lane_of_peer(const server::WebSocketPeer& peer) {
    return lanes[peer.worker() % lanes.size()];
  }

  // On the lane's thread.
  std::shared_ptr<Link> link_to(Lane& lane, const std::string& base) {
    auto& link = lane.links[base];
    if (!link) {
      link = std::make_shared<Link>(*this, lane, base);
      link->start(node_id, secret, shard);
    }
    return link;
  }

  const std::string node_id, secret, shard;
  const Unreachable unreachable;
  const LeaderGone leader_gone;
  KeptReads* const kept;
  const std::chrono::milliseconds call_timeout;
  std::vector<Lane> lanes;
  std::atomic<uint64_t> next_id{1};
  std::atomic<int64_t> clients{0}, calls{0};
  std::atomic<bool> stopped{false};
};

void Link::owner_leader_gone() {
  if (owner_.leader_gone && !owner_.stopped.load()) owner_.leader_gone(base_);
}

void Link::barrier_answered(uint64_t n, std::string_view changed) {
  // (Answers come in order, one per barrier: this never returns.)
  if (n != barriers_sent_ || barriers_answered_ == barriers_sent_) return;
  ++barriers_answered_;
  if (changed == kEverythingChanged) {
    kept_.clear();
    kept_by_tag_.clear();
    forgotten_since_.clear();
    forgot_everything_at_ = barriers_answered_;
  } else {
    while (!changed.empty()) {
      const size_t eol = changed.find('\n');
      const std::string_view tag = changed.substr(0, eol);
      forget(tag);
      if (fills_ > 0) forgotten_since_.insert_or_assign(std::string(tag), barriers_answered_);
      changed = eol == std::string_view::npos ? std::string_view{} : changed.substr(eol + 1);
    }
  }
  for (Read& r : std::exchange(reads_waiting_, {})) {
    if (auto it = kept_.find(r.key); it != kept_.end()) {
      r.call.answer(owner_.kept->replay(it->second.body));
    } else {
      call(r.id, std::move(r.call.answer), std::move(r.call.request), r.call.deadline,
           std::move(r.call.unreachable), std::move(r.call.reroute), std::move(r.key));
    }
  }
  if (!reads_next_.empty() && !dead_) send_barrier();
}

void Link::forget(std::string_view tag) {
  const auto [from, to] = kept_by_tag_.equal_range(std::string(tag));
  for (auto it = from; it != to; ++it) kept_.erase(it->second);
  kept_by_tag_.erase(from, to);
}

void Link::keep(const Call& call, std::string_view body) {
  auto tag = owner_.kept->tag_of(call.keep_key, body);
  if (!tag || forgot_everything_at_ > call.keep_since) return;
  if (auto it = forgotten_since_.find(*tag);
      it != forgotten_since_.end() && it->second > call.keep_since) {
    return;
  }
  if (kept_.size() >= kMaxKept) {
    kept_.clear();
    kept_by_tag_.clear();
  }
  auto [it, added] = kept_.try_emplace(call.keep_key);
  if (added || it->second.tag != *tag) kept_by_tag_.emplace(*tag, call.keep_key);
  it->second = Kept{std::move(*tag), std::string(body)};
}

void Link::count_clients(int64_t delta) {
  owner_.clients.fetch_add(delta, std::memory_order_relaxed);
}

void Link::count_calls(int64_t delta) {
  owner_.calls.fetch_add(delta, std::memory_order_relaxed);
}

Link::Link(LinkClient::Impl& owner, Lane& lane, std::string base)
    : owner_(owner), lane_(lane), ioc_(lane.ioc), base_(std::move(base)), keepalive_(lane.ioc) {}

void Link::die(const std::string& why, bool carried_nothing) {
  if (dead_) return;
  dead_ = true;
  why_dead_ = why;
  keepalive_.cancel();
  if (auto it = lane_.links.find(base_); it != lane_.links.end() && it->second.get() == this) {
    lane_.links.erase(it);  // the next client opens a new link
  }
  count_clients(-static_cast<int64_t>(clients_.size()));
  count_calls(-static_cast<int64_t>(calls_.size()));
  // Nothing this link carried reached a leader if it never opened, or if the leader refused it
  // with kLinkNotLeading (before reading a record, or after answering every call it began):
  // then its calls, and the clients the leader had not yet accepted, may go to the next one.
  const bool reached_no_leader = (!open_ || carried_nothing) && !owner_.stopped.load();
  // A client is routed again by its owner, if it waits to know. Any other is told to
  // reconnect: it may have had a session on the leader, and that is gone.
  auto unsettled = std::exchange(unsettled_, {});
  size_t told_to_reconnect = 0, routed_again = 0;
  for (auto& [id, peer] : std::exchange(clients_, {})) {
    auto it = unsettled.find(id);
    if (reached_no_leader && it != unsettled.end()) {
      it->second(false);
      ++routed_again;
    } else {
      peer->close(1012, "cluster: " + why + "; reconnect");
      ++told_to_reconnect;
    }
  }
  if (told_to_reconnect > 0) {
    spdlog::warn("cluster: the link to {} is gone ({}); {} clients told to reconnect", base_, why,
                 told_to_reconnect);
  }
  owner_leader_gone();
  // Otherwise a call in flight may have been carried out: the client learns it failed, as with
  // any lost connection, and may retry (the API's writes are safe to repeat or fail cleanly).
  for (auto& [id, call] : std::exchange(calls_, {})) {
    if (reached_no_leader && call.reroute) {
      ++routed_again;
      answer_with(call.answer, call.reroute(std::move(call.request), why));
    } else {
      fail(call, why);
    }
  }
  fills_ = 0;
  // Reads waiting for a barrier never reached the leader, whatever became of the link.
  for (auto* reads : {&reads_waiting_, &reads_next_}) {
    for (Read& r : std::exchange(*reads, {})) {
      if (r.call.reroute && !owner_.stopped.load()) {
        ++routed_again;
        answer_with(r.call.answer, r.call.reroute(std::move(r.call.request), why));
      } else {
        fail(r.call, why);
      }
    }
  }
  // During a failover this repeats every routing step (the lease still names the old leader):
  // reported now and then, so the log says why calls and clients wait without filling up.
  static LogThrottle waiting_for_leader(std::chrono::seconds(5));
  if (routed_again > 0) {
    if (const auto held_back = waiting_for_leader.allow()) {
      spdlog::info(
          "cluster: {} took no call or client ({}); {} routed again ({} more such links since the "
          "last report)",
          base_, why, routed_again, *held_back);
    }
  }
}

namespace {

// A follower's client connection (LinkClient::hold): routed to a leader when it opens, and
// again, after `step`, for as long as no leader takes it: none is known, or the link to the one
// the lease names never opened (it died). What the client sends is kept until a leader has it
// (the link opened, or this node took over) and given to each new route in order, so nothing is
// lost or reordered by the wait. Everything runs on the peer's I/O thread.
class HeldClient final : public server::WebSocketSession,
                         public std::enable_shared_from_this<HeldClient> {
 public:
  HeldClient(asio::io_context& ioc, server::HttpRequest upgrade,
             std::shared_ptr<server::WebSocketPeer> peer, std::chrono::milliseconds step,
             std::chrono::steady_clock::time_point until, LinkClient::ClientRoute route)
      : timer_(ioc),
        upgrade_(std::move(upgrade)),
        peer_(std::move(peer)),
        step_(step),
        until_(until),
        route_(std::move(route)) {}

  void try_route() {
    if (closed_) return;
    if (std::chrono::steady_clock::now() >= until_) {
      peer_->close(1013, "cluster: no leader took the connection in time; reconnect");
      return;
    }
    const uint64_t generation = ++generation_;
    state_ = State::kAwaitingLink;
    auto session = route_(upgrade_, peer_, [weak = weak_from_this(), generation](bool carried) {
      if (auto self = weak.lock()) self->settle(generation, carried);
    });
    if (closed_) return;
    if (!session || state_ == State::kNotCarried) {
      state_ = State::kWaiting;
      return wait();
    }
    inner_ = std::move(session);
    for (const std::string& text : held_) {
      if (closed_ || !inner_) return;
      inner_->on_text(text);
    }
    if (state_ == State::kCarried) forget_held();
  }

  void on_text(std::string_view text) override {
    if (inner_) inner_->on_text(text);
    if (state_ == State::kCarried) return;
    held_bytes_ += text.size();
    if (held_bytes_ > LinkClient::kMaxHeldBytes) {
      peer_->close(1013, "cluster: no leader yet, and too much sent meanwhile; reconnect");
      return;
    }
    held_.emplace_back(text);
  }

  void on_close() override {
    closed_ = true;
    timer_.cancel();
    if (auto inner = std::move(inner_)) inner->on_close();
  }

 private:
  enum class State { kWaiting, kAwaitingLink, kCarried, kNotCarried };

  void wait() {
    timer_.expires_after(step_);
    timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
      if (auto self = weak.lock(); self && !ec) self->try_route();
    });
  }

  // The route's link opened (or this node serves it): a leader has everything sent so far.
  // Or it died before opening: nothing reached a leader, so the client is routed again.
  void settle(uint64_t generation, bool carried) {
    if (generation != generation_ || closed_) return;
    if (carried) {
      state_ = State::kCarried;
      if (inner_) forget_held();
      return;
    }
    state_ = State::kNotCarried;
    if (inner_) {  // (if not, try_route is still running and waits itself)
      inner_.reset();
      state_ = State::kWaiting;
      wait();
    }
  }

  void forget_held() {
    held_.clear();
    held_.shrink_to_fit();
    held_bytes_ = 0;
  }

  asio::steady_timer timer_;
  const server::HttpRequest upgrade_;
  const std::shared_ptr<server::WebSocketPeer> peer_;
  const std::chrono::milliseconds step_;
  const std::chrono::steady_clock::time_point until_;
  const LinkClient::ClientRoute route_;
  std::shared_ptr<server::WebSocketSession> inner_;
  State state_ = State::kWaiting;
  uint64_t generation_ = 0;
  std::vector<std::string> held_;
  size_t held_bytes_ = 0;
  bool closed_ = false;
};

// A client's connection on this node, carried over the link. The transport calls it on the
// client's I/O thread, which is its link's thread: it hands everything to the link directly.
class LinkedClient final : public server::WebSocketSession {
 public:
  LinkedClient(std::shared_ptr<Link> link, uint64_t id) : link_(std::move(link)), id_(id) {}

  void on_text(std::string_view text) override {
    if (link_) link_->from_client(id_, text);
  }
  void on_close() override {
    if (link_) link_->client_closed(id_);
    link_.reset();
  }

 private:
  std::shared_ptr<Link> link_;
  const uint64_t id_;
};

}  // namespace

LinkClient::LinkClient(std::string node_id, std::string secret, Unreachable unreachable,
                       std::chrono::milliseconds call_timeout, server::HttpServer& server,
                       LeaderGone leader_gone, KeptReads* kept, std::string shard)
    : impl_(std::make_shared<Impl>(std::move(node_id), std::move(secret), std::move(unreachable),
                                   call_timeout, server, std::move(leader_gone), kept,
                                   std::move(shard))) {}

server::HttpResponse LinkClient::forward(const std::string& leader_url,
                                         server::HttpRequest&& request, Unreachable unreachable,
                                         Reroute reroute) {
  if (!unreachable) unreachable = impl_->unreachable;
  std::optional<std::string> keep_key;
  if (impl_->kept) keep_key = impl_->kept->key_of(request);
  server::HttpResponse response;
  response.later = std::make_shared<server::Later>();
  response.later->start = [impl = impl_, base = leader_url, request = std::move(request),
                           unreachable = std::move(unreachable), reroute = std::move(reroute),
                           keep_key = std::move(keep_key)](server::Answer answer) mutable {
    const uint64_t id = impl->next_id.fetch_add(1);
    const auto deadline = std::chrono::steady_clock::now() + impl->call_timeout;
    Lane& lane = impl->lane_for_call(id);
    lane.run([impl, &lane, base = std::move(base), request = std::move(request),
              answer = std::move(answer), id, deadline, unreachable = std::move(unreachable),
              reroute = std::move(reroute), keep_key = std::move(keep_key)]() mutable {
      auto link = impl->link_to(lane, base);
      if (keep_key) {
        link->read(id, std::move(answer), std::move(request), std::move(*keep_key), deadline,
                   std::move(unreachable), std::move(reroute));
      } else {
        link->call(id, std::move(answer), std::move(request), deadline, std::move(unreachable),
                   std::move(reroute));
      }
    });
  };
  return response;
}

server::HttpResponse LinkClient::after(
    std::chrono::milliseconds delay, server::HttpRequest&& request,
    std::function<server::HttpResponse(server::HttpRequest&&)> then) {
  server::HttpResponse response;
  response.later = std::make_shared<server::Later>();
  response.later->start = [impl = impl_, delay, request = std::move(request),
                           then = std::move(then)](server::Answer answer) mutable {
    Lane& lane = impl->lane_for_call(impl->next_id.fetch_add(1));
    auto timer = std::make_shared<asio::steady_timer>(lane.ioc, delay);
    // (If the server stops first, its I/O threads never run this and the held call's
    // connection goes with them.)
    timer->async_wait([timer, request = std::move(request), then = std::move(then),
                       answer = std::move(answer)](boost::system::error_code) mutable {
      answer_with(answer, then(std::move(request)));
    });
  };
  return response;
}

LinkClient::~LinkClient() {
  stop();
}

void LinkClient::stop() {
  if (!impl_ || impl_->stopped.exchange(true)) return;
  // The lanes' threads have stopped (see the header), so this thread may touch them.
  for (auto& lane : impl_->lanes) {
    for (auto& [base, link] : std::exchange(lane.links, {})) link->stop();
  }
}

std::shared_ptr<server::WebSocketSession> LinkClient::open(
    const std::string& leader_url, const server::HttpRequest& upgrade,
    std::shared_ptr<server::WebSocketPeer> peer, Settled settled) {
  const uint64_t id = impl_->next_id.fetch_add(1);
  Lane& lane = impl_->lane_of_peer(*peer);
  // The transport opens a connection on its own thread, which is this lane's.
  auto link = impl_->link_to(lane, leader_url);
  link->add(id, std::move(peer), upgrade.target, std::move(settled));
  return std::make_shared<LinkedClient>(std::move(link), id);
}

std::shared_ptr<server::WebSocketSession> LinkClient::hold(
    const server::HttpRequest& upgrade, std::shared_ptr<server::WebSocketPeer> peer,
    std::chrono::milliseconds step, std::chrono::steady_clock::time_point until,
    ClientRoute route) {
  Lane& lane = impl_->lane_of_peer(*peer);
  auto held = std::make_shared<HeldClient>(lane.ioc, upgrade, std::move(peer), step, until,
                                           std::move(route));
  held->try_route();
  return held;
}

void LinkClient::abandon(const std::string& leader_url, const std::string& why) {
  for (auto& lane : impl_->lanes) {
    asio::post(lane.ioc, [impl = impl_, &lane, leader_url, why] {
      if (impl->stopped.load()) return;
      if (auto it = lane.links.find(leader_url); it != lane.links.end()) {
        const std::shared_ptr<Link> link = it->second;  // close() takes it out of lane.links
        if (link->answered_but_not_accepted()) return;
        link->close(why);
      }
    });
  }
}

size_t LinkClient::carried_clients() const {
  return static_cast<size_t>(std::max<int64_t>(0, impl_->clients.load()));
}

size_t LinkClient::calls_in_flight() const {
  return static_cast<size_t>(std::max<int64_t>(0, impl_->calls.load()));
}

namespace {

// The value of the first `name` parameter of `target`'s query string, as sent.
std::optional<std::string_view> query_parameter(std::string_view target, std::string_view name) {
  const size_t query = target.find('?');
  if (query == std::string_view::npos) return std::nullopt;
  std::optional<std::string_view> found;
  for_each_param(target.substr(query + 1), [&](std::string_view key, std::string_view value) {
    if (!found && key == name) found = value;
  });
  return found;
}

}  // namespace

bool link_secret_matches(std::string_view target, std::string_view secret) {
  const auto given = query_parameter(target, "secret");
  if (!given || secret.empty() || given->size() != secret.size()) return false;
  unsigned char diff = 0;  // constant time: the secret is not guessed byte by byte
  for (size_t i = 0; i < given->size(); ++i) diff |= (*given)[i] ^ secret[i];
  return diff == 0;
}

std::string link_shard(std::string_view target) {
  return std::string(query_parameter(target, "shard").value_or(""));
}

std::optional<std::string> link_protocol_mismatch(std::string_view target) {
  const auto given = query_parameter(target, "protocol");
  if (given && *given == std::to_string(kLinkProtocol)) return std::nullopt;
  return fmt::format(
      "link protocol {} here, {} on the follower: run one liveroomd version in the cluster",
      kLinkProtocol, given && !given->empty() ? std::string(*given) : std::string("none"));
}

}  // namespace liveroom::cluster
