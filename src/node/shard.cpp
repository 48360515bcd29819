#include "node/shard.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <thread>

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

Shard::Shard(NodeContext& node, std::optional<cluster::LeaseScope> scope, bool writes_registry)
    : node_(node),
      scope_(scope),
      cfg_(config_of(node.cfg, sdkappid())),
      cluster_(*cfg_.cluster),
      failover_wait_(cluster_.failover_wait_ms),
      follower_reads_(cfg_, clock_, node.reads_answered_here),
      leadership_(
          cluster_, node.redis, node.leases,
          {.current_epoch =
               [this] {
                 return store::postgres_leadership_epoch(node_.postgres, sdkappid(), slot());
               },
           .lost = [this](const std::string& why) { restart_as_follower(node_.command_line, why); },
           .elected = [this] { begin_take_over(); },
           .describe = writes_registry ? node.describe : std::function<std::string()>{},
           .moved =
               [this](const std::string& previous) {
                 if (links_) links_->abandon(previous, "another node leads now");
               },
           .preferred = scope ? std::function<bool()>([this] { return node_.preferred(*scope_); })
                              : std::function<bool()>{},
           .live_changed = writes_registry ? node.live_changed : std::function<void()>{},
           .may_take = [this] { return !node_.retiring.load(std::memory_order_acquire); }},
          scope) {
  links_.emplace(
      cluster_.node_id, node.link_secret, &unavailable, std::chrono::seconds(30), node.http,
      [this](const std::string&) { leadership_.look_soon(); },
      cluster_.follower_reads ? &follower_reads_ : nullptr, link_shard_name());
}

std::string Shard::link_shard_name() const {
  if (!scope_) return {};
  if (scope_->slot) return fmt::format("{}:{}", scope_->sdkappid, *scope_->slot);
  return std::to_string(scope_->sdkappid);
}

Shard::~Shard() = default;

Shard::Serving::~Serving() {
  if (shard_) shard_->uses_.fetch_sub(1);
}

Services* Shard::Serving::operator->() const {
  return hosted_->services.get();
}

const metrics::Registry& Shard::Serving::registry() const {
  return *hosted_->registry;
}

Shard::Serving Shard::serving() const {
  // Counted before looking (both sequentially consistent): a hand-over that has stopped serving
  // and then sees no use cannot have missed one that is about to look.
  uses_.fetch_add(1);
  Hosted* hosted = hosted_now_.load();
  if (!hosted) {
    uses_.fetch_sub(1);
    return {};
  }
  return Serving(this, hosted);
}

std::unique_ptr<metrics::Registry> Shard::leader_registry() {
  // With placement by app a node may host several apps: their families share one /metrics,
  // told apart by this label.
  metrics::Labels labels;
  if (sdkappid()) labels.emplace_back("app", std::to_string(*sdkappid()));
  if (slot()) labels.emplace_back("slot", std::to_string(*slot()));
  auto registry = std::make_unique<metrics::Registry>(labels);
  registry->gauge("liveroom_cluster_leader", "1 while this node leads the cluster",
                  [] { return 1.0; });
  registry->gauge("liveroom_cluster_carried_calls",
                  "REST calls the followers' links brought here and not answered yet",
                  [] { return static_cast<double>(cluster::LinkHost::calls_in_progress()); });
  return registry;
}

void Shard::start() {
  // With placement by app a starting node looks often at first (2 × lease_ms): it takes the
  // apps it prefers as soon as it may, and learns the other apps' hosts as soon as they have one.
  if (sdkappid()) leadership_.look_soon();
  leadership_.start();
}

server::HttpResponse Shard::handle(server::HttpRequest&& req) {
  const std::string_view path = std::string_view(req.target).substr(0, req.target.find('?'));
  if (auto s = serving()) {
    // One scrape of the leader shows the node's own families too (placement by app: the node
    // answers /metrics itself, ClusterNode).
    if (path == "/metrics" && !sdkappid()) {
      const metrics::Registry* registries[] = {&s.registry(), &node_.node_metrics};
      return metrics_answer(registries);
    }
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
    const metrics::Registry* registries[] = {&node_.node_metrics, &node_.follower_metrics};
    return metrics_answer(registries);
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
  if (is_serving()) return handle(std::move(req));  // took over
  const std::string leader = leadership_.leader_url();
  if (leader.empty()) {
    return hold(std::move(req), until,
                stepping_down_.load()   ? "this node is handing the app over to another node"
                : leadership_.elected() ? "this node is taking over as leader"
                                        : "no leader is elected yet");
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
  if (auto s = serving()) return s->open(upgrade, std::move(peer));
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
  if (auto s = serving()) {  // took over
    if (settled) settled(true);
    return s->open(upgrade, std::move(peer));
  }
  const std::string leader = leadership_.leader_url();
  if (leader.empty()) return nullptr;
  return links_->open(leader, upgrade, std::move(peer), std::move(settled));
}

std::shared_ptr<server::WebSocketSession> Shard::open_link(
    const server::HttpRequest& /*upgrade*/, std::shared_ptr<server::WebSocketPeer> peer) {
  auto s = serving();
  if (!s || stepping_down_.load(std::memory_order_acquire)) {
    return cluster::refuse_link(std::move(peer), cluster::kLinkNotLeading,
                                s ? "this node is stepping down" : "this node does not lead");
  }
  auto host = std::make_shared<cluster::LinkHost>(
      std::move(peer),
      [this](const server::HttpRequest& client, std::shared_ptr<server::WebSocketPeer> p)
          -> std::shared_ptr<server::WebSocketSession> {
        // (None once this node no longer serves: the link is closing, and the client with it.)
        if (auto serving_now = serving()) return serving_now->open(client, std::move(p));
        return nullptr;
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

void Shard::begin_take_over() {
  std::lock_guard lock(takeover_mu_);
  if (no_takeover_) return;  // stopping: the lease is kept until stop(), which releases it
  // (The previous takeover ended long ago: this node served, then handed the app over, before
  // it could win the lease again.)
  if (takeover_.joinable()) takeover_.join();
  takeover_ = std::thread([this] { take_over(); });
}

void Shard::take_over() {
  try {
    const auto started = std::chrono::steady_clock::now();
    const uint64_t epoch = store::take_postgres_leadership(
        node_.postgres, cluster_.node_id, cluster_.advertise_url, sdkappid(), slot());
    leadership_.set_epoch(epoch);
    auto store = store::open_postgres_store(
        {.url = cluster_.postgres_url,
         .epoch = epoch,
         .on_fenced =
             [this] {
               restart_as_follower(node_.command_line, "another node took over (fenced commit)");
             },
         .sdkappid = sdkappid(),
         .slot = slot(),
         .room_slots = slot() ? cluster_.room_slots : 0,
         .pool = &node_.postgres});
    auto hosted = std::make_unique<Hosted>();
    hosted->registry = leader_registry();
    hosted->services = std::make_unique<Services>(
        cfg_, std::move(store), node_.http, *hosted->registry,
        [this](uint32_t sdkappid, std::string_view room_id) { room_changed(sdkappid, room_id); });
    // As for REST calls: once the lease lapses another node may lead, so the gateway's
    // sessions (direct and carried) must not act on this node's memory either.
    // And once it hands the app over, a client whose connection is closing is served no more.
    hosted->services->gateway->set_availability([this,
                                                 mine =
                                                     hosted.get()]() -> std::optional<std::string> {
      if (hosted_now_.load() != mine) {
        return "cluster: this app is moving to another node; reconnect";
      }
      if (leadership_.lease_valid()) return std::nullopt;
      return "cluster: this node's leadership lease has lapsed (Redis unreachable, or this node "
             "was paused); retry";
    });
    if (slot()) follow_the_app(*hosted);
    hosted_ = std::move(hosted);
    hosted_now_.store(hosted_.get());
    leadership_.announce();  // the registry shows it leading now, not a renewal later
    spdlog::info(
        "cluster: node {} leads{} (epoch {}): {} rooms and {} queued webhook deliveries loaded "
        "in {} ms",
        cluster_.node_id, scope_ ? " " + name() : std::string(), epoch,
        hosted_->services->engine->room_count(), hosted_->services->undelivered,
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                              started)
            .count());
  } catch (const std::exception& e) {
    restart_as_follower(node_.command_line, std::string("cannot take over: ") + e.what());
  }
}

void Shard::follow_the_app(Hosted& hosted) {
  const uint32_t app = *sdkappid();
  engine::RoomEngine& engine = *hosted.services->engine;
  engine.set_room_slots(cluster_.room_slots);
  engine.set_public_room_lister([this](uint32_t sdkappid,
                                       const std::optional<std::pair<int64_t, std::string>>& after,
                                       size_t count) {
    return store::read_public_rooms(node_.postgres, sdkappid, after, count);
  });
  hosted.feed = std::make_unique<AppStateFeed>(
      node_.postgres, engine, app, hosted.services->app_state_version, slot() == 0u,
      [this](const std::string& why) { restart_as_follower(node_.command_line, why); });
  hosted.services->router->set_before_call([feed = hosted.feed.get()] { return feed->catch_up(); });
  hosted.services->gateway->set_before_request(
      [feed = hosted.feed.get()] { return feed->catch_up(); });
  hosted.services->router->set_shared_quota(
      [quota = node_.quota](uint32_t sdkappid, std::string_view command, uint32_t limit) {
        return quota->take(sdkappid, command, limit);
      });
}

void Shard::room_changed(uint32_t sdkappid, std::string_view room_id) {
  const std::string tag = api::FollowerReads::room_tag(sdkappid, room_id);
  std::lock_guard lock(link_hosts_mu_);
  for (const auto& weak : changed_tags_) {
    if (auto tags = weak.lock()) tags->add(tag);
  }
}

bool Shard::begin_step_down() {
  auto s = serving();
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

size_t Shard::carried_calls_here() {
  std::lock_guard lock(link_hosts_mu_);
  size_t n = 0;
  for (const auto& weak : link_hosts_) {
    if (auto host = weak.lock()) n += host->calls_in_progress_here();
  }
  return n;
}

size_t Shard::links_here() {
  std::lock_guard lock(link_hosts_mu_);
  return static_cast<size_t>(
      std::ranges::count_if(link_hosts_, [](const auto& weak) { return !weak.expired(); }));
}

bool Shard::hand_over(const std::string& node_id) {
  Hosted* hosted = hosted_now_.load();
  if (!hosted || stepping_down_.exchange(true)) return false;
  const auto started = std::chrono::steady_clock::now();
  const std::string app = name();
  spdlog::info("cluster: node {} hands {} over to node {}", cluster_.node_id, app, node_id);
  // From now on this node routes the app's new calls and clients as a follower does: they are
  // held (the lease still names this node) until the next host serves. The links carry out no
  // call they had not begun (stepping_down_): their followers hold those too.
  hosted_now_.store(nullptr);
  // Nothing below may stop what a request is still using; a use is a few microseconds, so a
  // wait that ends without them all ended means something is stuck: start again instead.
  if (!wait_until_done([this] { return uses_.load() == 0; }, std::chrono::seconds(5))) {
    restart_as_follower(node_.command_line, app + " still in use after 5 s of handing over");
  }
  // As a stepping-down leader does (ClusterNode::step_down): once the carried calls are
  // answered, kLinkNotLeading tells the followers that whatever else their link carried was
  // not carried out, to send it to the next host.
  const bool answered =
      wait_until_done([this] { return carried_calls_here() == 0; }, std::chrono::seconds(5));
  close_links(answered ? cluster::kLinkNotLeading : 1001);
  // 1001 (going away) rather than 1012 (service restart): some client libraries still refuse
  // a close code outside RFC 6455's own list.
  hosted->services->gateway->close_sessions(1001, app + " moved to another node; reconnect");
  if (!wait_until_done(
          [&] { return links_here() == 0 && hosted->services->gateway->sessions() == 0; },
          std::chrono::seconds(5))) {
    spdlog::warn("cluster: {}: links or clients still open after 5 s of handing over", app);
  }
  hosted->stop();  // the housekeeping, the webhooks, and the last commits
  const bool released = leadership_.release_to(node_id);
  retired_.emplace_back(std::chrono::steady_clock::now(), std::move(hosted_));
  stepping_down_.store(false);
  spdlog::info("cluster: node {} handed {} over to node {} in {} ms{}", cluster_.node_id, app,
               node_id,
               std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - started)
                   .count(),
               released ? "" : " (the lease could not be handed over: it expires by itself)");
  // Follows now, and takes over again should the lease come back to this node.
  return true;
}

void Shard::free_retired() {
  // A retired host's objects may still be named by work queued on the I/O threads before its
  // last client closed (a walk over a room's members, a reply). That work runs within
  // milliseconds; a minute later, and after one round of every I/O thread, none is left.
  constexpr auto kSettle = std::chrono::seconds(60);
  const auto now = std::chrono::steady_clock::now();
  if (std::ranges::none_of(retired_, [&](const auto& r) { return now - r.first >= kSettle; })) {
    return;
  }
  auto pending = std::make_shared<std::atomic<size_t>>(node_.http.worker_count());
  for (size_t w = 0; w < node_.http.worker_count(); ++w) {
    node_.http.post_to_worker(w, [pending] { pending->fetch_sub(1); });
  }
  const auto deadline = now + std::chrono::seconds(5);
  while (pending->load() > 0) {
    if (std::chrono::steady_clock::now() >= deadline) return;  // (a busy thread: next time)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const size_t before = retired_.size();
  std::erase_if(retired_, [&](const auto& r) { return now - r.first >= kSettle; });
  spdlog::info("cluster: freed what {} hand-over(s) of {} left", before - retired_.size(), name());
}

void Shard::stop_taking_over() {
  std::lock_guard lock(takeover_mu_);
  no_takeover_ = true;
  if (takeover_.joinable()) takeover_.join();
}

void Shard::stop() {
  if (hosted_now_.load()) hosted_->stop();
  leadership_.stop();  // gives the lease up only now, with every commit done
  links_->stop();      // the I/O threads it ran on have stopped; before the server goes
  links_.reset();
  retired_.clear();  // (nothing runs on those threads any more)
}

std::string_view Shard::role() const {
  if (is_serving()) return "leader";
  // (A hand-over holds the lease until its last step, with nothing served any more.)
  if (stepping_down_.load(std::memory_order_acquire)) return "handing over";
  return leadership_.elected() ? "taking over" : "follower";
}

}  // namespace liveroom::node
