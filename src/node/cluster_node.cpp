// One node of a cluster (docs/cluster.md): a follower that carries its calls and clients to the
// leader over node links, until it wins the leadership lease, takes over and serves as the
// leader, until it stops (handing over) or loses the lease (and starts again as a follower).
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include "api/envelope.h"
#include "api/follower_reads.h"
#include "base/json_writer.h"
#include "cluster/leadership.h"
#include "cluster/link_client.h"
#include "cluster/link_host.h"
#include "node/serve.h"
#include "node/services.h"

namespace liveroom::node {
namespace {

// A node that led and no longer does holds state another node now owns: the only safe way back
// is the start-up path, so the process replaces itself (same pid, the command line it was
// started with) and rejoins as a follower. Nothing it held in memory was acknowledged without
// being committed.
[[noreturn]] void restart_as_follower(const std::vector<char*>& command_line,
                                      const std::string& why) {
  spdlog::critical("cluster: restarting as a follower ({})", why);
  spdlog::default_logger()->flush();
  ::close_range(3, ~0U, 0);  // the listener and every connection: the new image opens its own
  ::execv("/proc/self/exe", command_line.data());
  spdlog::critical("cluster: cannot restart ({}); exiting", std::strerror(errno));
  std::_Exit(3);
}

server::HttpResponse unavailable(std::string_view why) {
  return server::HttpResponse{
      200,
      "application/json",
      api::encode_failure(api::next_request_id(), Error{Code::kInternal, std::string(why)}),
      {}};
}

// Serve as the leader's forwarder until this node wins the lease, then as the leader. One
// object per process; its methods are the paths a request can take on a node.
class ClusterNode {
 public:
  // `command_line`: this process's argv, ending in a null pointer (to start again with).
  ClusterNode(config::Config cfg, std::vector<char*> command_line);
  ClusterNode(const ClusterNode&) = delete;
  ClusterNode& operator=(const ClusterNode&) = delete;

  // Serves until SIGTERM or SIGINT, then stops (handing over, if it leads); returns 0.
  int run();

 private:
  // Where a follower's call goes: to the leader over a link, or, while no leader can take it (a
  // failover, a leader stepping down), nowhere yet: it is held and routed again every
  // kHoldStep until `until`, then answered 100001. A held call was never carried out, so
  // sending it to the next leader (or serving it here, if this node took over) is safe.
  static constexpr auto kHoldStep = std::chrono::milliseconds(50);
  using Until = std::chrono::steady_clock::time_point;

  // Every HTTP request that reaches this node.
  server::HttpResponse handle(server::HttpRequest&& req);
  server::HttpResponse route(server::HttpRequest&& req, Until until);
  server::HttpResponse hold(server::HttpRequest&& req, Until until, std::string_view why);
  // The calls followers carry here. Once this leader is stepping down it carries out none it
  // has not begun: kNotCarriedOut tells the follower to hold the call for the next leader.
  server::HttpResponse carried(server::HttpRequest&& req);
  // A client's /gateway connection: served here when leading, else carried to the leader (or
  // held until one can take it).
  std::shared_ptr<server::WebSocketSession> open_client(
      const server::HttpRequest& upgrade, std::shared_ptr<server::WebSocketPeer> peer);
  std::shared_ptr<server::WebSocketSession> route_client(
      const server::HttpRequest& upgrade, std::shared_ptr<server::WebSocketPeer> peer,
      cluster::LinkClient::Settled settled);
  // The leader's end of a follower's link: its clients become this node's gateway sessions.
  std::shared_ptr<server::WebSocketSession> open_link(const server::HttpRequest& upgrade,
                                                      std::shared_ptr<server::WebSocketPeer> peer);
  // Once this node wins the lease: raise the epoch (which waits for the old leader's commits in
  // flight), then load everything committed and serve it.
  void take_over();
  // A room changed (under its lock, before the change is acknowledged): the followers' links
  // hear of it, so that what they kept of it is forgotten first.
  void room_changed(uint32_t sdkappid, std::string_view room_id);
  void step_down();
  // What this node is now, as /readyz/leader and the registry say.
  std::string_view role() const;
  // This node's registry entry (cluster status reads it).
  std::string describe() const;

  config::Config cfg_;
  const std::vector<char*> command_line_;
  const config::ClusterConfig& cluster_;
  const std::string link_secret_;
  const std::chrono::milliseconds failover_wait_;
  // A follower's links to the leader, on the HTTP server's I/O threads (made once it exists,
  // before the lease thread starts).
  std::optional<cluster::LinkClient> links_;
  cluster::Leadership leadership_;
  metrics::Registry registry_;  // the leader's: its Services' figures and two of its own
  // What /metrics shows while this node follows.
  metrics::Registry follower_metrics_;
  std::atomic<Services*> serving_{nullptr};
  std::unique_ptr<Services> services_;
  std::atomic<int64_t> held_calls_{0};
  std::atomic<bool> stopping_{false};  // SIGTERM came: hold nothing more (the drain waits for it)
  std::atomic<bool> stepping_down_{false};
  metrics::Counter& calls_refused_;
  std::mutex link_hosts_mu_;
  std::vector<std::weak_ptr<cluster::LinkHost>> link_hosts_;  // the followers' links, here
  // What each link's follower must hear has changed (told under the engine's room locks, where
  // a link host, which owns sessions, must not end).
  std::vector<std::weak_ptr<cluster::ChangedTags>> changed_tags_;
  server::HttpServer http_;
  const SystemClock clock_;
  // get_room_info answered here from the leader's answers (docs/cluster.md).
  api::FollowerReads follower_reads_;
  const int64_t started_ms_;
};

// Refuses to start on a database this node cannot use, with the reason; then reads the secret
// that links must present.
std::string prepare_postgres_and_read_secret(const std::string& url) {
  store::prepare_postgres(url);
  return store::postgres_cluster_secret(url);
}

ClusterNode::ClusterNode(config::Config cfg, std::vector<char*> command_line)
    : cfg_(std::move(cfg)),
      command_line_(std::move(command_line)),
      cluster_(*cfg_.cluster),
      link_secret_(prepare_postgres_and_read_secret(cluster_.postgres_url)),
      failover_wait_(cluster_.failover_wait_ms),
      leadership_(
          cluster_,
          {.current_epoch =
               [this] { return store::postgres_leadership_epoch(cluster_.postgres_url); },
           .lost = [this](const std::string& why) { restart_as_follower(command_line_, why); },
           .describe = [this] { return describe(); },
           .moved =
               [this](const std::string& previous) {
                 if (links_) links_->abandon(previous, "another node leads now");
               }}),
      calls_refused_(follower_metrics_.counter(
          "liveroom_cluster_calls_refused_total",
          "REST calls answered 100001 because no leader could take them within failover_wait_ms")),
      http_(
          cfg_.http, cfg_.tls, [this](server::HttpRequest&& req) { return handle(std::move(req)); },
          &api::ApiRouter::refuse),
      follower_reads_(cfg_, clock_,
                      follower_metrics_.counter(
                          "liveroom_cluster_reads_answered_here_total",
                          "get_room_info calls this follower answered from the leader's answer "
                          "it kept, the leader having said the room did not change")),
      started_ms_(SystemClock().unix_millis()) {
  // Refuse to start on a Redis this node cannot use, with the reason.
  leadership_.check();
  registry_.gauge("liveroom_cluster_leader", "1 while this node leads the cluster",
                  [] { return 1.0; });
  registry_.gauge("liveroom_cluster_carried_calls",
                  "REST calls the followers' links brought here and not answered yet",
                  [] { return static_cast<double>(cluster::LinkHost::calls_in_progress()); });
  follower_metrics_.gauge("liveroom_cluster_leader", "1 while this node leads the cluster",
                          [] { return 0.0; });
  follower_metrics_.gauge("liveroom_cluster_held_calls",
                          "REST calls this node holds until a leader can take them",
                          [this] { return static_cast<double>(held_calls_.load()); });
  http_.listen(cfg_.listen);
  http_.set_websocket(websocket_options(cfg_), [this](const server::HttpRequest& upgrade,
                                                      std::shared_ptr<server::WebSocketPeer> peer) {
    return open_client(upgrade, std::move(peer));
  });
  http_.set_websocket(
      {.path = std::string(cluster::kLinkPath),
       .idle_timeout_ms = 60'000,
       .max_message_bytes = 16 << 20,
       .max_queued_bytes = size_t{1} << 30,
       .binary = true},
      [this](const server::HttpRequest& upgrade, std::shared_ptr<server::WebSocketPeer> peer) {
        return open_link(upgrade, std::move(peer));
      });
  follower_metrics_.gauge("liveroom_connections", "Open client connections",
                          [this] { return static_cast<double>(http_.active_connections()); });
  follower_metrics_.gauge("liveroom_cluster_link_clients",
                          "Client connections carried to the leader over this node's links",
                          [this] { return static_cast<double>(links_->carried_clients()); });
  follower_metrics_.gauge("liveroom_cluster_link_calls",
                          "REST calls carried to the leader and not answered yet",
                          [this] { return static_cast<double>(links_->calls_in_flight()); });
  links_.emplace(
      cluster_.node_id, link_secret_, &unavailable, std::chrono::seconds(30), http_,
      [this](const std::string&) { leadership_.look_soon(); },
      cluster_.follower_reads ? &follower_reads_ : nullptr);
}

int ClusterNode::run() {
  http_.start();
  leadership_.start();
  spdlog::info("liveroomd listening on {} (port {}) as cluster node {} ({})", cfg_.listen,
               http_.port(), cluster_.node_id, cluster_.advertise_url);
  std::thread takeover([this] { take_over(); });

  http_.wait_for_signal();
  stopping_.store(true, std::memory_order_release);
  if (Services* s = serving_.load()) {
    s->router->set_draining();
    step_down();
  }
  http_.drain_and_stop(std::chrono::seconds(10));
  leadership_.interrupt_wait();
  takeover.join();
  if (services_) services_->stop();
  leadership_.stop();  // gives the lease up only now, with every commit done
  links_->stop();      // the I/O threads it ran on have stopped; before the server goes
  links_.reset();
  spdlog::info("liveroomd stopped cleanly");
  return 0;
}

server::HttpResponse ClusterNode::handle(server::HttpRequest&& req) {
  const std::string_view path = std::string_view(req.target).substr(0, req.target.find('?'));
  if (Services* s = serving_.load(std::memory_order_acquire)) {
    // A leader whose lease lapsed (Redis unreachable) may have been replaced: serving from
    // memory could show state the new leader has changed.
    if (!leadership_.lease_valid() && (path == "/readyz" || path == "/readyz/leader")) {
      return server::HttpResponse{503, "application/json", R"({"status":"lease lapsed"})", {}};
    }
    if (!leadership_.lease_valid() && path.starts_with("/v4/")) {
      return unavailable(
          "cluster: this node's leadership lease has lapsed (Redis unreachable, or this "
          "node was paused); retry");
    }
    return s->router->handle(std::move(req));
  }
  if (path == "/healthz")
    return server::HttpResponse{200, "application/json", R"({"status":"ok"})", {}};
  // Each node is scraped on its own: a follower's figures are its own, not the leader's.
  if (path == "/metrics") {
    return server::HttpResponse{
        200, std::string(metrics::kContentType), follower_metrics_.render(), {}};
  }
  // A balancer that sends every call to the leader (and none through a follower's link)
  // checks this: only the serving leader says 200.
  if (path == "/readyz/leader") {
    return server::HttpResponse{
        503, "application/json", fmt::format(R"({{"status":"{}"}})", role()), {}};
  }
  const std::string leader = leadership_.leader_url();
  // Ready means the leader answers: the node the lease names may be one that restarted and
  // does not lead yet, so its own /readyz (forwarded like any call) is the answer.
  if (path == "/readyz" && leader.empty()) {
    return server::HttpResponse{503, "application/json", R"({"status":"no leader"})", {}};
  }
  if (path == "/readyz") {  // ready only if the leader itself answers
    return links_->forward(leader, std::move(req), [](std::string_view) {
      return server::HttpResponse{
          503, "application/json", R"({"status":"the leader does not answer"})", {}};
    });
  }
  return route(std::move(req), std::chrono::steady_clock::now() + failover_wait_);
}

server::HttpResponse ClusterNode::route(server::HttpRequest&& req, Until until) {
  if (serving_.load(std::memory_order_acquire)) return handle(std::move(req));  // took over
  const std::string leader = leadership_.leader_url();
  if (leader.empty()) {
    return hold(
        std::move(req), until,
        leadership_.elected() ? "this node is taking over as leader" : "no leader is elected yet");
  }
  return links_->forward(leader, std::move(req), {},
                         [this, until](server::HttpRequest&& r, std::string_view why) {
                           return hold(std::move(r), until, why);
                         });
}

server::HttpResponse ClusterNode::hold(server::HttpRequest&& req, Until until,
                                       std::string_view why) {
  const bool node_stopping = stopping_.load(std::memory_order_acquire);
  if (node_stopping || std::chrono::steady_clock::now() + kHoldStep >= until) {
    calls_refused_.inc();
    return unavailable(fmt::format("cluster: {}{}; retry", why,
                                   node_stopping ? ", and this node is stopping" : ""));
  }
  held_calls_.fetch_add(1);
  return links_->after(kHoldStep, std::move(req), [this, until](server::HttpRequest&& r) {
    held_calls_.fetch_sub(1);
    return route(std::move(r), until);
  });
}

server::HttpResponse ClusterNode::carried(server::HttpRequest&& req) {
  if (stepping_down_.load(std::memory_order_acquire)) {
    return server::HttpResponse{cluster::kNotCarriedOut, "text/plain", "stepping down", {}};
  }
  return handle(std::move(req));
}

std::shared_ptr<server::WebSocketSession> ClusterNode::open_client(
    const server::HttpRequest& upgrade, std::shared_ptr<server::WebSocketPeer> peer) {
  if (Services* s = serving_.load(std::memory_order_acquire)) {
    return s->open(upgrade, std::move(peer));
  }
  // As a call is: over a link to the leader, or, while no leader can take it (none is known,
  // or the link to the one the lease names never opens), held until one can.
  if (failover_wait_.count() == 0) return route_client(upgrade, std::move(peer), {});
  return links_->hold(
      upgrade, std::move(peer), kHoldStep, std::chrono::steady_clock::now() + failover_wait_,
      [this](const server::HttpRequest& up, std::shared_ptr<server::WebSocketPeer> p,
             cluster::LinkClient::Settled settled) {
        return route_client(up, std::move(p), std::move(settled));
      });
}

std::shared_ptr<server::WebSocketSession> ClusterNode::route_client(
    const server::HttpRequest& upgrade, std::shared_ptr<server::WebSocketPeer> peer,
    cluster::LinkClient::Settled settled) {
  if (Services* s = serving_.load(std::memory_order_acquire)) {  // took over
    if (settled) settled(true);
    return s->open(upgrade, std::move(peer));
  }
  const std::string leader = leadership_.leader_url();
  if (leader.empty()) return nullptr;
  return links_->open(leader, upgrade, std::move(peer), std::move(settled));
}

std::shared_ptr<server::WebSocketSession> ClusterNode::open_link(
    const server::HttpRequest& upgrade, std::shared_ptr<server::WebSocketPeer> peer) {
  if (!cluster::link_secret_matches(upgrade.target, link_secret_)) return nullptr;
  if (auto why = cluster::link_protocol_mismatch(upgrade.target)) {
    return cluster::refuse_link(std::move(peer), cluster::kLinkRefused, std::move(*why));
  }
  Services* s = serving_.load(std::memory_order_acquire);
  if (!s || stepping_down_.load(std::memory_order_acquire)) {
    return cluster::refuse_link(std::move(peer), cluster::kLinkNotLeading,
                                s ? "this node is stepping down" : "this node does not lead");
  }
  auto host = std::make_shared<cluster::LinkHost>(
      std::move(peer),
      [s](const server::HttpRequest& client, std::shared_ptr<server::WebSocketPeer> p) {
        return s->open(client, std::move(p));
      },
      [this](server::HttpRequest&& req) { return carried(std::move(req)); },
      [this] { return leadership_.lease_valid(); });
  std::lock_guard lock(link_hosts_mu_);
  std::erase_if(link_hosts_, [](const auto& weak) { return weak.expired(); });
  std::erase_if(changed_tags_, [](const auto& weak) { return weak.expired(); });
  link_hosts_.push_back(host);
  changed_tags_.push_back(host->changed_tags());
  return host;
}

void ClusterNode::take_over() {
  if (!leadership_.wait_until_elected()) return;
  try {
    const auto started = std::chrono::steady_clock::now();
    const uint64_t epoch = store::take_postgres_leadership(cluster_.postgres_url, cluster_.node_id,
                                                           cluster_.advertise_url);
    leadership_.set_epoch(epoch);
    auto store = store::open_postgres_store(
        {cluster_.postgres_url, epoch,
         [this] { restart_as_follower(command_line_, "another node took over (fenced commit)"); }});
    services_ = std::make_unique<Services>(
        cfg_, std::move(store), http_, registry_,
        [this](uint32_t sdkappid, std::string_view room_id) { room_changed(sdkappid, room_id); });
    // As for REST calls: once the lease lapses another node may lead, so the gateway's
    // sessions (direct and carried) must not act on this node's memory either.
    services_->gateway->set_availability([this]() -> std::optional<std::string> {
      if (leadership_.lease_valid()) return std::nullopt;
      return "cluster: this node's leadership lease has lapsed (Redis unreachable, or this node "
             "was paused); retry";
    });
    serving_.store(services_.get(), std::memory_order_release);
    leadership_.announce();  // the registry shows it leading now, not a renewal later
    spdlog::info(
        "cluster: node {} leads (epoch {}): {} rooms and {} queued webhook deliveries loaded in "
        "{} ms",
        cluster_.node_id, epoch, services_->engine->room_count(), services_->undelivered,
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                              started)
            .count());
  } catch (const std::exception& e) {
    restart_as_follower(command_line_, std::string("cannot take over: ") + e.what());
  }
}

void ClusterNode::room_changed(uint32_t sdkappid, std::string_view room_id) {
  const std::string tag = api::FollowerReads::room_tag(sdkappid, room_id);
  std::lock_guard lock(link_hosts_mu_);
  for (const auto& weak : changed_tags_) {
    if (auto tags = weak.lock()) tags->add(tag);
  }
}

// A leader that stops hands over without failing its followers' calls: it carries out no new
// call (they are held for the next leader), answers those it began, closes the links so the
// followers look for the next leader at once, and only then (after the drain, with every commit
// done) marks its lease released.
void ClusterNode::step_down() {
  stepping_down_.store(true, std::memory_order_release);
  const auto wait_for = [](auto done, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
  };
  // (A call is in progress here about as long as its commit takes.) Once every call begun
  // before the step-down is answered, whatever a link still carries was not carried out, and
  // kLinkNotLeading says so: the followers send it to the next leader. Should a call still be
  // running, nothing can be said of the others either: 1001, and the followers answer them
  // as after any lost connection.
  const bool answered =
      wait_for([] { return cluster::LinkHost::calls_in_progress() == 0; }, std::chrono::seconds(5));
  {
    std::lock_guard lock(link_hosts_mu_);
    for (const auto& weak : link_hosts_) {
      if (auto host = weak.lock()) {
        host->close_link(answered ? cluster::kLinkNotLeading : 1001, "the leader is stepping down");
      }
    }
  }
  // The drain that follows ends the links still open, and a follower that had not yet read the
  // close above then sees a leader that went away (100001 for what it carried) instead of one
  // that stepped down. A follower echoes the close within milliseconds; the bound is for a slow
  // one (a loaded machine, a sanitizer build), and stays within the drain's own 10 s.
  wait_for([] { return cluster::LinkHost::links_open() == 0; }, std::chrono::seconds(5));
  spdlog::info("cluster: stepped down: the followers' calls are answered and their links closed");
}

std::string_view ClusterNode::role() const {
  if (serving_.load(std::memory_order_acquire)) return "leader";
  return leadership_.elected() ? "taking over" : "follower";
}

std::string ClusterNode::describe() const {
  Services* s = serving_.load(std::memory_order_acquire);
  std::string out;
  JsonWriter w(out);
  w.begin_object()
      .field("node_id", cluster_.node_id)
      .field("advertise_url", cluster_.advertise_url)
      .field("pid", static_cast<int64_t>(::getpid()))
      .field("started_ms", started_ms_)
      .field("role", role())
      .field("connections", static_cast<int64_t>(http_.active_connections()));
  if (s) {
    w.field("lease_valid", leadership_.lease_valid())
        .field("rooms", static_cast<int64_t>(s->engine->room_count()));
  } else {
    w.field("carried_clients", static_cast<int64_t>(links_->carried_clients()))
        .field("carried_calls", static_cast<int64_t>(links_->calls_in_flight()));
  }
  w.end_object();
  return out;
}

}  // namespace

int serve_cluster(config::Config cfg, std::vector<char*> command_line) {
  ClusterNode node(std::move(cfg), std::move(command_line));
  return node.run();
}

}  // namespace liveroom::node
