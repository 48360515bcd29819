// One node of a cluster (docs/cluster.md): the HTTP server, the paths that are the node's own
// (/healthz, /metrics, /readyz with placement by app), and the routing of every other request to
// the shard that covers it: the only one with placement by cluster, the app's with placement by
// app. A shard follows or leads on its own (node/shard.h).
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include "api/query.h"
#include "api/room_of_call.h"
#include "base/json_writer.h"
#include "base/query_params.h"
#include "cluster/placement.h"
#include "domain/room.h"
#include "node/client_following_room.h"
#include "node/fan_out.h"
#include "node/login_deadlines.h"
#include "node/serve.h"
#include "node/shard.h"

namespace liveroom::node {
namespace {

// Refuses to start on a database this node cannot use, with the reason; then reads the secret
// that links must present.
std::string prepare_postgres_and_read_secret(const std::string& url) {
  store::prepare_postgres(url);
  return store::postgres_cluster_secret(url);
}

// The app a request's query string names (`sdkappid`, its first occurrence); none if absent or
// not an SDKAppID (whichever shard gets it answers the error a single node would).
std::optional<uint32_t> app_of_target(std::string_view target) {
  const size_t query = target.find('?');
  if (query == std::string_view::npos) return std::nullopt;
  std::optional<uint32_t> app;
  bool seen = false;
  for_each_param(target.substr(query + 1), [&](std::string_view key, std::string_view value) {
    if (seen || key != "sdkappid") return;
    seen = true;
    app = api::parse_sdkappid(value);
  });
  return app;
}

// The threads that run a node's lease looks: one per lease up to a few. A look waits for a Redis
// round trip that carries the other threads' looks too, so more threads mostly add wake-ups.
size_t lease_threads(const config::Config& cfg) {
  constexpr size_t kMaxLeaseThreads = 16;
  switch (cfg.cluster->placement) {
    case config::ClusterConfig::Placement::kApp:
      return std::min(kMaxLeaseThreads, cfg.apps.size());
    case config::ClusterConfig::Placement::kRoom:
      return std::min(kMaxLeaseThreads, cfg.apps.size() * cfg.cluster->room_slots);
    case config::ClusterConfig::Placement::kCluster:
      break;
  }
  return 1;
}

// A client that logs in by its first message rather than the upgrade's query string: with
// placement by app, the node cannot know its app (and so its shard) before that message. This
// session waits for it, then opens the client on the app's shard and gives it that message, and
// everything after, as if the client had connected to it directly.
class ClientByLogin final : public AwaitingLogin,
                            public std::enable_shared_from_this<ClientByLogin> {
 public:
  using Open = std::function<std::shared_ptr<server::WebSocketSession>(
      std::optional<uint32_t> app, const server::HttpRequest& upgrade,
      std::shared_ptr<server::WebSocketPeer> peer)>;
  ClientByLogin(const server::HttpRequest& upgrade, std::shared_ptr<server::WebSocketPeer> peer,
                Open open)
      : upgrade_(upgrade), peer_(std::move(peer)), open_(std::move(open)) {}

  void on_text(std::string_view text) override {
    if (!inner_) {
      inner_ = open_(app_of_login(text), upgrade_, peer_);
      if (!inner_) {
        peer_->close(1013, "no node can take this client now; reconnect");
        return;
      }
      open_ = nullptr;
    }
    inner_->on_text(text);
  }
  void on_close() override {
    closed_ = true;
    if (inner_) inner_->on_close();
  }
  // A client that has sent something has its app's gateway session, which keeps the deadline from
  // then on; one that has sent nothing is closed as the gateway closes a connection not logged in
  // in time.
  void login_deadline() override {
    peer_->post([self = shared_from_this()] {
      if (!self->inner_ && !self->closed_) self->peer_->close(1008, "no login in time");
    });
  }

 private:
  server::HttpRequest upgrade_;
  std::shared_ptr<server::WebSocketPeer> peer_;
  Open open_;
  std::shared_ptr<server::WebSocketSession> inner_;
  bool closed_ = false;  // on the peer's I/O thread, as inner_
};

class ClusterNode {
 public:
  ClusterNode(config::Config cfg, std::vector<char*> command_line);
  ClusterNode(const ClusterNode&) = delete;
  ClusterNode& operator=(const ClusterNode&) = delete;

  // Serves until SIGTERM or SIGINT, then stops (handing over what it leads); returns 0.
  int run();

 private:
  // Placement by app or by room: a lease per app or per slot, each with its preferred node.
  bool by_app_or_room() const {
    return cluster_.placement != config::ClusterConfig::Placement::kCluster;
  }
  bool by_room() const { return cluster_.placement == config::ClusterConfig::Placement::kRoom; }
  server::HttpResponse handle(server::HttpRequest&& req);
  // With placement by app: the node's own answers to /healthz, /metrics and /readyz*.
  std::optional<server::HttpResponse> answer_here(std::string_view path);
  Shard& shard_for(std::optional<uint32_t> sdkappid);
  // Placement by room: the shard of the slot of the room a call names (slot 0 for the app's own
  // calls).
  Shard& shard_for_call(std::optional<uint32_t> sdkappid, std::string_view path,
                        std::string_view body);
  std::shared_ptr<server::WebSocketSession> open_client(
      const server::HttpRequest& upgrade, std::shared_ptr<server::WebSocketPeer> peer);
  std::shared_ptr<server::WebSocketSession> open_link(const server::HttpRequest& upgrade,
                                                      std::shared_ptr<server::WebSocketPeer> peer);
  // Whether this node should take `sdkappid`'s lease: it is the app's preferred node among the
  // live ones, as the registry last showed them. Not before it has been up two look intervals
  // (its list is read after each look): the nodes of a cluster starting together have then
  // registered, and split the apps.
  bool preferred(const cluster::LeaseScope& scope) const;
  // The node among `live` (this one added) that should host `scope`: rendezvous hashing.
  std::string preferred_node(const cluster::LeaseScope& scope, std::vector<std::string> live) const;
  // A node joined or left: the apps this node now prefers, and does not host, may be handed to
  // it at any moment (a host stopping, or rebalancing): their shards look often.
  void live_changed();
  // Placement by app, when the node stops: the apps it hosts go each to its preferred node among
  // the others, where rebalancing would send it anyway, rather than to whichever looks first.
  void choose_successors();
  // Placement by app, on its own thread: an app this node hosts moves to its preferred node once
  // that node has been live for a whole lease (it joined, or came back after a failure), a few
  // apps per look (kMovesPerLook); and what such moves stopped serving is freed later.
  void rebalance();
  void step_down();
  // What this node is now, as /readyz/leader and the registry say.
  std::string_view role() const;
  // This node's registry entry (cluster status reads it).
  std::string describe() const;

  config::Config cfg_;
  const std::vector<char*> command_line_;
  const config::ClusterConfig& cluster_;
  const std::string link_secret_;
  store::PgPool postgres_;
  cluster::SharedRedisClient redis_;           // every shard's lease uses it: declared before them
  cluster::LeaseDriver leases_;                // and every lease's looks run on its threads
  std::optional<cluster::SharedQuota> quota_;  // placement by room
  // What /metrics shows of the node itself (NodeContext says which when).
  metrics::Registry node_metrics_;
  metrics::Registry follower_metrics_;
  std::atomic<bool> retiring_{false};  // SIGTERM came: take no lease
  std::atomic<bool> stopping_{false};  // and, once successors are chosen, hold no call
  metrics::Counter& calls_refused_;
  metrics::Counter& reads_answered_here_;
  metrics::Counter& apps_handed_over_;
  server::HttpServer http_;
  NodeContext context_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::unordered_map<uint32_t, Shard*> shard_of_app_;  // placement by app; by room, slot 0's
  std::unordered_map<uint32_t, std::vector<Shard*>> slots_of_app_;  // placement by room
  LoginDeadlines login_deadlines_;
  std::thread rebalancer_;
  std::mutex rebalance_mu_;
  std::condition_variable rebalance_cv_;
  bool rebalance_stop_ = false;
  const std::chrono::steady_clock::time_point started_;
  const int64_t started_ms_;
};

ClusterNode::ClusterNode(config::Config cfg, std::vector<char*> command_line)
    : cfg_(std::move(cfg)),
      command_line_(std::move(command_line)),
      cluster_(*cfg_.cluster),
      link_secret_(prepare_postgres_and_read_secret(cluster_.postgres_url)),
      postgres_(cluster_.postgres_url, cluster_.postgres_connections),
      // A lease's Redis calls give up after a quarter of it, so that a leader cut off from Redis
      // learns it in time to stop serving before its lease runs out.
      redis_(cluster::parse_redis_url(cluster_.redis_url),
             std::chrono::milliseconds(std::max<uint32_t>(200, cluster_.lease_ms / 4)),
             "liveroomd-" + cluster_.node_id),
      leases_(lease_threads(cfg_)),
      quota_(by_room()
                 ? std::make_optional<cluster::SharedQuota>(
                       cluster::parse_redis_url(cluster_.redis_url), cluster_.key_prefix,
                       std::chrono::milliseconds(std::max<uint32_t>(200, cluster_.lease_ms / 4)))
                 : std::nullopt),
      calls_refused_(node_metrics_.counter(
          "liveroom_cluster_calls_refused_total",
          "REST calls answered 100001 because no leader could take them within failover_wait_ms")),
      reads_answered_here_(node_metrics_.counter(
          "liveroom_cluster_reads_answered_here_total",
          "get_room_info calls this follower answered from the leader's answer it kept, the "
          "leader having said the room did not change")),
      apps_handed_over_(node_metrics_.counter(
          "liveroom_cluster_apps_handed_over_total",
          "Apps this node hosted and handed over to their preferred node (placement by app)")),
      http_(
          cfg_.http, cfg_.tls, [this](server::HttpRequest&& req) { return handle(std::move(req)); },
          &api::ApiRouter::refuse),
      context_{.cfg = cfg_,
               .command_line = command_line_,
               .link_secret = link_secret_,
               .postgres = postgres_,
               .redis = redis_,
               .leases = leases_,
               .quota = quota_ ? &*quota_ : nullptr,
               .http = http_,
               .stopping = stopping_,
               .retiring = retiring_,
               .node_metrics = node_metrics_,
               .follower_metrics = follower_metrics_,
               .calls_refused = calls_refused_,
               .reads_answered_here = reads_answered_here_,
               .preferred = [this](const cluster::LeaseScope& scope) { return preferred(scope); },
               .describe = [this] { return describe(); },
               .live_changed = [this] { live_changed(); }},
      login_deadlines_(std::chrono::milliseconds(cfg_.gateway.login_timeout_ms)),
      started_(std::chrono::steady_clock::now()),
      started_ms_(SystemClock().unix_millis()) {
  if (by_room()) {
    for (const auto& app : cfg_.apps) {
      for (uint32_t slot = 0; slot < cluster_.room_slots; ++slot) {
        shards_.push_back(std::make_unique<Shard>(context_, cluster::LeaseScope{app.sdkappid, slot},
                                                  shards_.empty()));
        slots_of_app_[app.sdkappid].push_back(shards_.back().get());
      }
      shard_of_app_[app.sdkappid] = slots_of_app_[app.sdkappid].front();
    }
  } else if (by_app_or_room()) {
    for (const auto& app : cfg_.apps) {
      shards_.push_back(std::make_unique<Shard>(
          context_, cluster::LeaseScope{app.sdkappid, std::nullopt}, shards_.empty()));
      shard_of_app_[app.sdkappid] = shards_.back().get();
    }
  } else {
    shards_.push_back(std::make_unique<Shard>(context_, std::nullopt, true));
  }
  // Refuse to start on a Redis this node cannot use, with the reason.
  shards_.front()->check();
  follower_metrics_.gauge("liveroom_cluster_leader", "1 while this node leads the cluster",
                          [] { return 0.0; });
  node_metrics_.sampled_counter(
      "liveroom_cluster_redis_round_trips_total",
      "Round trips to Redis on this node's one connection (its leases and registry entry)",
      [this] { return redis_.round_trips(); });
  node_metrics_.sampled_counter(
      "liveroom_cluster_redis_commands_total",
      "Redis commands those round trips carried (several at once when leases look together)",
      [this] { return redis_.commands(); });
  node_metrics_.gauge(
      "liveroom_cluster_postgres_connections",
      "PostgreSQL connections this node has open (at most [cluster] postgres_connections)",
      [this] { return static_cast<double>(postgres_.open_connections()); });
  node_metrics_.gauge("liveroom_cluster_held_calls",
                      "REST calls this node holds until a leader can take them", [this] {
                        int64_t held = 0;
                        for (const auto& s : shards_) held += s->held_calls();
                        return static_cast<double>(held);
                      });
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
  node_metrics_.gauge("liveroom_cluster_link_clients",
                      "Client connections carried to the leader over this node's links", [this] {
                        size_t n = 0;
                        for (const auto& s : shards_) n += s->carried_clients();
                        return static_cast<double>(n);
                      });
  node_metrics_.gauge("liveroom_cluster_link_calls",
                      "REST calls carried to the leader and not answered yet", [this] {
                        size_t n = 0;
                        for (const auto& s : shards_) n += s->calls_in_flight();
                        return static_cast<double>(n);
                      });
}

int ClusterNode::run() {
  http_.start();
  for (auto& shard : shards_) shard->start();
  if (by_app_or_room()) rebalancer_ = std::thread([this] { rebalance(); });
  spdlog::info("liveroomd listening on {} (port {}) as cluster node {} ({}){}", cfg_.listen,
               http_.port(), cluster_.node_id, cluster_.advertise_url,
               by_room()          ? fmt::format(", placement by room ({} apps of {} slots)",
                                                cfg_.apps.size(), cluster_.room_slots)
               : by_app_or_room() ? fmt::format(", placement by app ({} apps)", shards_.size())
                                  : "");

  http_.wait_for_signal();
  retiring_.store(true, std::memory_order_release);
  {
    std::lock_guard lock(rebalance_mu_);
    rebalance_stop_ = true;
  }
  rebalance_cv_.notify_all();
  if (rebalancer_.joinable()) rebalancer_.join();  // (a hand-over in progress ends first)
  if (by_app_or_room()) choose_successors();
  stopping_.store(true, std::memory_order_release);
  // A follower whose link a stepping-down leader closed tries the leader again until the lease
  // names the next one; refusing its connection (rather than upgrading it and closing it, which
  // the drain could cut short) tells it plainly that nothing it sent was carried out.
  if (role() == "leader") http_.stop_accepting();
  step_down();
  login_deadlines_.stop();
  http_.drain_and_stop(std::chrono::seconds(10));
  for (auto& shard : shards_) shard->stop_taking_over();
  for (auto& shard : shards_) shard->stop();
  spdlog::info("liveroomd stopped cleanly");
  return 0;
}

Shard& ClusterNode::shard_for(std::optional<uint32_t> sdkappid) {
  if (sdkappid) {
    if (auto it = shard_of_app_.find(*sdkappid); it != shard_of_app_.end()) return *it->second;
  }
  return *shards_.front();
}

server::HttpResponse ClusterNode::handle(server::HttpRequest&& req) {
  if (!by_app_or_room()) return shards_.front()->handle(std::move(req));
  const std::string_view path = std::string_view(req.target).substr(0, req.target.find('?'));
  if (auto here = answer_here(path)) return std::move(*here);
  if (by_room()) {
    const auto app = app_of_target(req.target);
    // The webhook outbox of each slot is its host's: these ask them all.
    if (path.starts_with("/v4/liveroom_webhooks/") && app && slots_of_app_.contains(*app)) {
      std::vector<server::HttpResponse> parts;
      for (Shard* slot : slots_of_app_.at(*app))
        parts.push_back(slot->handle(server::HttpRequest(req)));
      return gather(std::move(parts), &merge_webhook_answers);
    }
    return shard_for_call(app, path, req.body).handle(std::move(req));
  }
  return shard_for(app_of_target(req.target)).handle(std::move(req));
}

Shard& ClusterNode::shard_for_call(std::optional<uint32_t> sdkappid, std::string_view path,
                                   std::string_view body) {
  const auto slots = sdkappid ? slots_of_app_.find(*sdkappid) : slots_of_app_.end();
  if (slots == slots_of_app_.end()) return shard_for(sdkappid);
  const std::optional<std::string> room = api::room_of_call(path, body);
  if (!room) return *slots->second.front();
  return *slots->second[domain::room_slot(*room, cluster_.room_slots)];
}

std::optional<server::HttpResponse> ClusterNode::answer_here(std::string_view path) {
  auto json = [](unsigned status, std::string body) {
    return server::HttpResponse{status, "application/json", std::move(body), {}};
  };
  if (path == "/healthz") return json(200, R"({"status":"ok"})");
  if (path == "/metrics") {
    std::vector<const metrics::Registry*> registries{&node_metrics_, &follower_metrics_};
    std::vector<Shard::Serving> serving;  // (each app's figures, while it is rendered)
    for (const auto& s : shards_) {
      if (auto here = s->serving()) {
        registries.push_back(&here.registry());
        serving.push_back(std::move(here));
      }
    }
    return metrics_answer(registries);
  }
  // Ready: every app has a node serving it that this node knows of (itself, with a fresh
  // lease, or the one its lease names).
  if (path == "/readyz") {
    for (const auto& s : shards_) {
      const bool here = s->is_serving() && s->lease_valid();
      if (!here && s->leader_url().empty()) {
        return json(503, fmt::format(R"({{"status":"no node serves {}"}})", s->name()));
      }
    }
    return json(200, R"({"status":"ready"})");
  }
  // A node that hosts an app (placement by app has no single leader to send everything to).
  if (path == "/readyz/leader") {
    const std::string_view r = role();
    if (r == "leader") return json(200, R"({"status":"ready"})");
    return json(503, fmt::format(R"({{"status":"{}"}})", r));
  }
  return std::nullopt;
}

std::shared_ptr<server::WebSocketSession> ClusterNode::open_client(
    const server::HttpRequest& upgrade, std::shared_ptr<server::WebSocketPeer> peer) {
  if (!by_app_or_room()) return shards_.front()->open_client(upgrade, std::move(peer));
  const std::string_view target = upgrade.target;
  if (by_room()) {
    // The client's session follows the room it enters, from slot to slot.
    const bool app_in_query = target.find("sdkappid=") != std::string_view::npos;
    auto client = ClientFollowingRoom::make(
        upgrade, std::move(peer), app_in_query ? app_of_target(target) : std::nullopt,
        cluster_.room_slots,
        [this](std::optional<uint32_t> app, uint32_t slot, const server::HttpRequest& up,
               std::shared_ptr<server::WebSocketPeer> p) {
          const auto slots = app ? slots_of_app_.find(*app) : slots_of_app_.end();
          Shard& shard = slots == slots_of_app_.end() ? shard_for(app) : *slots->second.at(slot);
          return shard.open_client(up, std::move(p));
        });
    if (!app_in_query) login_deadlines_.add(client);
    return client;
  }
  if (target.find("sdkappid=") != std::string_view::npos) {
    return shard_for(app_of_target(target)).open_client(upgrade, std::move(peer));
  }
  auto client = std::make_shared<ClientByLogin>(
      upgrade, std::move(peer),
      [this](std::optional<uint32_t> app, const server::HttpRequest& up,
             std::shared_ptr<server::WebSocketPeer> p) {
        return shard_for(app).open_client(up, std::move(p));
      });
  login_deadlines_.add(client);
  return client;
}

std::shared_ptr<server::WebSocketSession> ClusterNode::open_link(
    const server::HttpRequest& upgrade, std::shared_ptr<server::WebSocketPeer> peer) {
  if (!cluster::link_secret_matches(upgrade.target, link_secret_)) return nullptr;
  if (auto why = cluster::link_protocol_mismatch(upgrade.target)) {
    return cluster::refuse_link(std::move(peer), cluster::kLinkRefused, std::move(*why));
  }
  const std::string shard = cluster::link_shard(upgrade.target);
  if (!by_app_or_room()) {
    if (!shard.empty()) {
      return cluster::refuse_link(std::move(peer), cluster::kLinkRefused,
                                  "placement by cluster here, by app on the follower: every node "
                                  "of a cluster must have the same [cluster] placement");
    }
    return shards_.front()->open_link(upgrade, std::move(peer));
  }
  if (by_room()) {
    // "<app>:<slot>"
    const size_t colon = shard.find(':');
    const auto app =
        colon == std::string::npos ? std::nullopt : api::parse_sdkappid(shard.substr(0, colon));
    const auto slots = app ? slots_of_app_.find(*app) : slots_of_app_.end();
    uint32_t slot = 0;
    const std::string_view slot_text =
        colon == std::string::npos ? std::string_view() : std::string_view(shard).substr(colon + 1);
    const auto [end, ec] =
        std::from_chars(slot_text.data(), slot_text.data() + slot_text.size(), slot);
    if (slots == slots_of_app_.end() || ec != std::errc() ||
        end != slot_text.data() + slot_text.size() || slot >= slots->second.size()) {
      return cluster::refuse_link(
          std::move(peer), cluster::kLinkRefused,
          "placement by room here with " + std::to_string(cluster_.room_slots) +
              " slots; the follower's link names '" + shard +
              "': every node of a cluster must have the same [cluster] placement and room_slots, "
              "and the same [[apps]]");
    }
    return slots->second[slot]->open_link(upgrade, std::move(peer));
  }
  const auto app = api::parse_sdkappid(shard);
  const auto it = app ? shard_of_app_.find(*app) : shard_of_app_.end();
  if (it == shard_of_app_.end()) {
    return cluster::refuse_link(
        std::move(peer), cluster::kLinkRefused,
        shard.empty() ? "placement by app here, by cluster on the follower: every node of a "
                        "cluster must have the same [cluster] placement"
                      : "app " + shard + " is not in this node's [[apps]]");
  }
  return it->second->open_link(upgrade, std::move(peer));
}

bool ClusterNode::preferred(const cluster::LeaseScope& scope) const {
  if (std::chrono::steady_clock::now() - started_ <
      2 * std::chrono::milliseconds(cluster_.lease_ms / 3)) {
    return false;
  }
  return preferred_node(scope, shards_.front()->leadership().live_nodes()) == cluster_.node_id;
}

std::string ClusterNode::preferred_node(const cluster::LeaseScope& scope,
                                        std::vector<std::string> live) const {
  if (std::find(live.begin(), live.end(), cluster_.node_id) == live.end()) {
    live.push_back(cluster_.node_id);
  }
  return cluster::preferred_node(scope, live);
}

void ClusterNode::live_changed() {
  if (!by_app_or_room()) return;
  for (auto& shard : shards_) {
    if (!shard->is_serving() && preferred(*shard->scope())) shard->look_soon();
  }
}

void ClusterNode::choose_successors() {
  const auto others_live = [this] {
    std::vector<std::string> live = shards_.front()->leadership().live_nodes();
    std::erase(live, cluster_.node_id);
    return live;
  };
  if (std::ranges::none_of(shards_, [](const auto& s) { return s->is_serving(); }) ||
      others_live().empty()) {
    return;  // nothing to hand, or nobody to hand it to: released for any node
  }
  const auto started = std::chrono::steady_clock::now();
  shards_.front()->withdraw_from_registry();
  // Every other node reads the registry once per look interval; those that now prefer one of
  // this node's apps look at its lease every 100 ms from then on (live_changed), so they take it
  // as soon as it is released. Until then this node serves as usual: the wait delays its exit,
  // not a call.
  std::this_thread::sleep_for(std::chrono::milliseconds(cluster_.lease_ms / 3) +
                              std::chrono::milliseconds(300));
  const std::vector<std::string> others = others_live();
  if (others.empty()) return;  // they stopped too: released for any node
  for (auto& shard : shards_) {
    if (!shard->is_serving()) continue;
    const std::string& next = cluster::preferred_node(*shard->scope(), others);
    shard->set_successor(next);
    spdlog::info("cluster: node {} stops: {} goes to node {}", cluster_.node_id, shard->name(),
                 next);
  }
  spdlog::info("cluster: successors chosen in {} ms",
               std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - started)
                   .count());
}

void ClusterNode::rebalance() {
  using Clock = std::chrono::steady_clock;
  const auto lease = std::chrono::milliseconds(cluster_.lease_ms);
  std::unordered_map<std::string, Clock::time_point> live_since;
  // An app handed to a node that did not take it (another version, another [[apps]]) comes
  // back when the lease expires: it is not sent there again for a while.
  std::unordered_map<Shard*, std::pair<std::string, Clock::time_point>> handed;
  // A few apps per look, not all that should move: each move reconnects its app's clients
  // through the balancer, and a node that comes back to a cluster of a thousand apps would
  // otherwise have a third of them reconnect at once. Not one per look either: that node would
  // get its share over several minutes (333 looks), each app paused in turn.
  constexpr size_t kMovesPerLook = 8;
  std::unique_lock lock(rebalance_mu_);
  while (!rebalance_cv_.wait_for(lock, lease / 3, [this] { return rebalance_stop_; })) {
    lock.unlock();
    const auto now = Clock::now();
    const std::vector<std::string> live = shards_.front()->leadership().live_nodes();
    std::erase_if(live_since, [&](const auto& entry) {
      return std::find(live.begin(), live.end(), entry.first) == live.end();
    });
    for (const auto& id : live) live_since.try_emplace(id, now);
    std::vector<std::pair<Shard*, std::string>> moves;
    for (auto& shard : shards_) {
      // (Not while its lease lapses: a Redis that cannot renew it could not be told either.)
      if (!shard->is_serving() || !shard->lease_valid() ||
          stopping_.load(std::memory_order_acquire)) {
        continue;
      }
      const std::string best = preferred_node(*shard->scope(), live);
      if (best == cluster_.node_id || now - live_since[best] < lease) continue;
      if (auto it = handed.find(shard.get());
          it != handed.end() && it->second.first == best && now - it->second.second < 15 * lease) {
        continue;
      }
      handed[shard.get()] = {best, now};
      moves.emplace_back(shard.get(), best);
      if (moves.size() == kMovesPerLook) break;  // the next ones at the next look
    }
    // Side by side: each hand-over waits for its own app's calls and clients only.
    std::vector<std::thread> movers;
    for (const auto& [shard, best] : moves) {
      movers.emplace_back([this, shard, best] {
        if (shard->hand_over(best)) apps_handed_over_.inc();
      });
    }
    for (auto& mover : movers) mover.join();
    for (auto& shard : shards_) shard->free_retired();
    lock.lock();
  }
}

// A leader that stops hands over without failing its followers' calls: it carries out no new
// call (they are held for the next leader), answers those it began, closes the links so the
// followers look for the next leader at once, and only then (after the drain, with every commit
// done) marks its leases released.
void ClusterNode::step_down() {
  bool leads = false;
  for (auto& shard : shards_) leads = shard->begin_step_down() || leads;
  if (!leads) return;
  constexpr auto kPoll = std::chrono::milliseconds(5);
  // (A call is in progress here about as long as its commit takes.) Once every call begun
  // before the step-down is answered, whatever a link still carries was not carried out, and
  // kLinkNotLeading says so: the followers send it to the next leader. Should a call still be
  // running, nothing can be said of the others either: 1001, and the followers answer them
  // as after any lost connection.
  const bool answered = wait_until_done([] { return cluster::LinkHost::calls_in_progress() == 0; },
                                        std::chrono::seconds(5), kPoll);
  for (auto& shard : shards_) shard->close_links(answered ? cluster::kLinkNotLeading : 1001);
  // The drain that follows ends the links still open, and a follower that had not yet read the
  // close above then sees a leader that went away (100001 for what it carried) instead of one
  // that stepped down. A follower echoes the close within milliseconds; the bound is for a slow
  // one (a loaded machine, a sanitizer build), and stays within the drain's own 10 s.
  wait_until_done([] { return cluster::LinkHost::links_open() == 0; }, std::chrono::seconds(5),
                  kPoll);
  spdlog::info("cluster: stepped down: the followers' calls are answered and their links closed");
}

std::string_view ClusterNode::role() const {
  // The first of these that a shard is: leader, taking over, handing over, follower.
  std::string_view role = "follower";
  for (const auto& s : shards_) {
    if (s->is_serving()) return "leader";
    if (s->role() == "taking over" || role == "follower") role = s->role();
  }
  return role;
}

std::string ClusterNode::describe() const {
  std::string out;
  JsonWriter w(out);
  w.begin_object()
      .field("node_id", cluster_.node_id)
      .field("advertise_url", cluster_.advertise_url)
      .field("pid", static_cast<int64_t>(::getpid()))
      .field("started_ms", started_ms_)
      .field("role", role())
      .field("connections", static_cast<int64_t>(http_.active_connections()));
  int64_t rooms = 0;
  bool serves = false;
  for (const auto& s : shards_) {
    if (auto services = s->serving()) {
      rooms += static_cast<int64_t>(services->engine->room_count());
      serves = true;
    }
  }
  if (serves) {
    w.field("lease_valid", std::ranges::all_of(shards_, [](const auto& s) {
              return !s->is_serving() || s->lease_valid();
            }));
    w.field("rooms", rooms);
  }
  if (!serves || by_app_or_room()) {
    size_t clients = 0, calls = 0;
    for (const auto& s : shards_) {
      clients += s->carried_clients();
      calls += s->calls_in_flight();
    }
    w.field("carried_clients", static_cast<int64_t>(clients))
        .field("carried_calls", static_cast<int64_t>(calls));
  }
  if (by_room()) {
    w.key("slots").begin_array();  // "<sdkappid>:<slot>"
    for (const auto& s : shards_) {
      if (s->is_serving()) w.value(fmt::format("{}:{}", *s->sdkappid(), *s->scope()->slot));
    }
    w.end_array();
  } else if (by_app_or_room()) {
    w.key("apps").begin_array();
    for (const auto& s : shards_) {
      if (s->is_serving()) w.value(static_cast<int64_t>(*s->sdkappid()));
    }
    w.end_array();
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
