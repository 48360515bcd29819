#include "node/shard.h"

#include <unistd.h>

#include <cstring>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "api/envelope.h"

namespace liveroom::node {
namespace {

server::HttpResponse unavailable(std::string_view why) {
  return server::HttpResponse{
      200,
      "application/json",
      api::encode_failure(api::next_request_id(), Error{Code::kInternal, std::string(why)}),
      {}};
}

// With placement by app, a shard serves only its app: its engine, quotas and gateway know no
// other, so a call for another app could never be served from the wrong memory.
config::Config config_of(const config::Config& cfg, std::optional<uint32_t> sdkappid) {
  config::Config mine = cfg;
  if (sdkappid) {
    std::erase_if(mine.apps,
                  [&](const config::AppConfig& app) { return app.sdkappid != *sdkappid; });
  }
  return mine;
}

// A node that led and no longer does holds state another node now owns: the only safe way back
// is the start-up path, so the process replaces itself (same pid, the command line it was
// started with) and rejoins as a follower. Nothing it held in memory was acknowledged without
// being committed. With placement by app this ends the node's other shards too: what takes a
// lease from a node (a pause past it, a Redis it cannot reach) takes all of them alike.
[[noreturn]] void restart_as_follower(const std::vector<char*>& command_line,
                                      const std::string& why) {
  spdlog::critical("cluster: restarting as a follower ({})", why);
  spdlog::default_logger()->flush();
  ::close_range(3, ~0U, 0);  // the listener and every connection: the new image opens its own
  ::execv("/proc/self/exe", command_line.data());
  spdlog::critical("cluster: cannot restart ({}); exiting", std::strerror(errno));
  std::_Exit(3);
}

}  // namespace

Shard::Shard(NodeContext& node, std::optional<uint32_t> sdkappid, bool writes_registry)
    : node_(node),
      sdkappid_(sdkappid),
      cfg_(config_of(node.cfg, sdkappid)),
      cluster_(*cfg_.cluster),
      failover_wait_(cluster_.failover_wait_ms),
      follower_reads_(cfg_, clock_, node.reads_answered_here),
      // With placement by app a node may host several apps: their families share one /metrics,
      // told apart by this label.
      registry_(sdkappid ? metrics::Labels{{"app", std::to_string(*sdkappid)}} : metrics::Labels{}),
      leadership_(
          cluster_,
          {.current_epoch =
               [this] {
                 return store::postgres_leadership_epoch(cluster_.postgres_url, sdkappid_);
               },
           .lost = [this](const std::string& why) { restart_as_follower(node_.command_line, why); },
           .describe = writes_registry ? node.describe : std::function<std::string()>{},
           .moved =
               [this](const std::string& previous) {
                 if (links_) links_->abandon(previous, "another node leads now");
               },
           .preferred = sdkappid
                            ? std::function<bool()>([this] { return node_.preferred(*sdkappid_); })
                            : std::function<bool()>{}},
          sdkappid) {
  registry_.gauge("liveroom_cluster_leader", "1 while this node leads the cluster",
                  [] { return 1.0; });
  registry_.gauge("liveroom_cluster_carried_calls",
                  "REST calls the followers' links brought here and not answered yet",
                  [] { return static_cast<double>(cluster::LinkHost::calls_in_progress()); });
  links_.emplace(
      cluster_.node_id, node.link_secret, &unavailable, std::chrono::seconds(30), node.http,
      [this](const std::string&) { leadership_.look_soon(); },
      cluster_.follower_reads ? &follower_reads_ : nullptr,
      sdkappid ? std::to_string(*sdkappid) : std::string());
}

Shard::~Shard() = default;

void Shard::start() {
  // With placement by app a starting node looks often at first (2 × lease_ms): it takes the
  // apps it prefers as soon as it may, and learns the other apps' hosts as soon as they have one.
  if (sdkappid_) leadership_.look_soon();
  leadership_.start();
  takeover_ = std::thread([this] { take_over(); });
}

server::HttpResponse Shard::handle(server::HttpRequest&& req) {
  const std::string_view path = std::string_view(req.target).substr(0, req.target.find('?'));
  if (Services* s = serving()) {
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
        200, std::string(metrics::kContentType), node_.node_metrics.render(), {}};
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

server::HttpResponse Shard::route(server::HttpRequest&& req, Until until) {
  if (serving()) return handle(std::move(req));  // took over
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

server::HttpResponse Shard::hold(server::HttpRequest&& req, Until until, std::string_view why) {
  const bool node_stopping = node_.stopping.load(std::memory_order_acquire);
  if (node_stopping || std::chrono::steady_clock::now() + kHoldStep >= until) {
    node_.calls_refused.inc();
    return unavailable(fmt::format("cluster: {}{}; retry", why,
                                   node_stopping ? ", and this node is stopping" : ""));
  }
  held_calls_.fetch_add(1);
  return links_->after(kHoldStep, std::move(req), [this, until](server::HttpRequest&& r) {
    held_calls_.fetch_sub(1);
    return route(std::move(r), until);
  });
}

server::HttpResponse Shard::carried(server::HttpRequest&& req) {
  if (stepping_down_.load(std::memory_order_acquire)) {
    return server::HttpResponse{cluster::kNotCarriedOut, "text/plain", "stepping down", {}};
  }
  return handle(std::move(req));
}

std::shared_ptr<server::WebSocketSession> Shard::open_client(
    const server::HttpRequest& upgrade, std::shared_ptr<server::WebSocketPeer> peer) {
  if (Services* s = serving()) return s->open(upgrade, std::move(peer));
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

std::shared_ptr<server::WebSocketSession> Shard::route_client(
    const server::HttpRequest& upgrade, std::shared_ptr<server::WebSocketPeer> peer,
    cluster::LinkClient::Settled settled) {
  if (Services* s = serving()) {  // took over
    if (settled) settled(true);
    return s->open(upgrade, std::move(peer));
  }
  const std::string leader = leadership_.leader_url();
  if (leader.empty()) return nullptr;
  return links_->open(leader, upgrade, std::move(peer), std::move(settled));
}

std::shared_ptr<server::WebSocketSession> Shard::open_link(
    const server::HttpRequest& /*upgrade*/, std::shared_ptr<server::WebSocketPeer> peer) {
  Services* s = serving();
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

void Shard::take_over() {
  if (!leadership_.wait_until_elected()) return;
  try {
    const auto started = std::chrono::steady_clock::now();
    const uint64_t epoch = store::take_postgres_leadership(cluster_.postgres_url, cluster_.node_id,
                                                           cluster_.advertise_url, sdkappid_);
    leadership_.set_epoch(epoch);
    auto store = store::open_postgres_store(
        {.url = cluster_.postgres_url,
         .epoch = epoch,
         .on_fenced =
             [this] {
               restart_as_follower(node_.command_line, "another node took over (fenced commit)");
             },
         .sdkappid = sdkappid_});
    services_ = std::make_unique<Services>(
        cfg_, std::move(store), node_.http, registry_,
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
        "cluster: node {} leads{} (epoch {}): {} rooms and {} queued webhook deliveries loaded "
        "in {} ms",
        cluster_.node_id, sdkappid_ ? fmt::format(" app {}", *sdkappid_) : std::string(), epoch,
        services_->engine->room_count(), services_->undelivered,
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                              started)
            .count());
  } catch (const std::exception& e) {
    restart_as_follower(node_.command_line, std::string("cannot take over: ") + e.what());
  }
}

void Shard::room_changed(uint32_t sdkappid, std::string_view room_id) {
  const std::string tag = api::FollowerReads::room_tag(sdkappid, room_id);
  std::lock_guard lock(link_hosts_mu_);
  for (const auto& weak : changed_tags_) {
    if (auto tags = weak.lock()) tags->add(tag);
  }
}

bool Shard::begin_step_down() {
  Services* s = serving();
  if (!s) return false;
  s->router->set_draining();
  stepping_down_.store(true, std::memory_order_release);
  return true;
}

void Shard::close_links(uint16_t code) {
  std::lock_guard lock(link_hosts_mu_);
  for (const auto& weak : link_hosts_) {
    if (auto host = weak.lock()) host->close_link(code, "the leader is stepping down");
  }
}

void Shard::stop_waiting_for_lease() {
  leadership_.interrupt_wait();
  if (takeover_.joinable()) takeover_.join();
}

void Shard::stop() {
  if (services_) services_->stop();
  leadership_.stop();  // gives the lease up only now, with every commit done
  links_->stop();      // the I/O threads it ran on have stopped; before the server goes
  links_.reset();
}

std::string_view Shard::role() const {
  if (serving()) return "leader";
  return leadership_.elected() ? "taking over" : "follower";
}

}  // namespace liveroom::node
