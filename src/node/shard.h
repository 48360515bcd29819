// What one leadership lease covers on a cluster node (docs/cluster.md, "Placement"): with
// placement by cluster, every app (one shard per node); with placement by app, one app (a shard
// per app). A shard follows, carrying its calls and clients to the node that holds its lease
// over node links, until this node wins the lease; then it takes over and serves them, until
// the node stops (handing over), hands the app to its preferred node (and follows again), or
// loses the lease (and starts again as a follower).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "api/follower_reads.h"
#include "cluster/leadership.h"
#include "cluster/link_client.h"
#include "cluster/link_host.h"
#include "cluster/shared_quota.h"
#include "cluster/shared_redis_client.h"
#include "config/config.h"
#include "metrics/registry.h"
#include "node/app_state_feed.h"
#include "node/services.h"
#include "server/http_server.h"
#include "store/postgres/pg_pool.h"

namespace liveroom::node {

// Polls `done` every `poll` until it is true (true) or `limit` has passed (false): how a leader
// stepping down, or handing an app over, waits for what other threads end (calls, links, uses).
template <class Done>
bool wait_until_done(Done done, std::chrono::milliseconds limit,
                     std::chrono::milliseconds poll = std::chrono::milliseconds(2)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(poll);
  }
  return true;
}

// The answer to a scrape of /metrics on a node: one exposition of `registries` (a node shows its
// own families beside a host's, or beside what a follower shows in their place).
inline server::HttpResponse metrics_answer(std::span<const metrics::Registry* const> registries) {
  return server::HttpResponse{
      200, std::string(metrics::kContentType), metrics::Registry::render_all(registries), {}};
}

// What a node's shards share; the node owns all of it and outlives them.
struct NodeContext {
  const config::Config& cfg;
  const std::vector<char*>& command_line;  // this process's argv, to start again with
  const std::string& link_secret;
  // The PostgreSQL connections the node's stores and leadership borrow from.
  store::PgPool& postgres;
  // The node's Redis connection and lease threads, shared by the leases of all its shards.
  cluster::SharedRedisClient& redis;
  cluster::LeaseDriver& leases;
  // Placement by room: the buckets of the app's quotas, one for the cluster (null otherwise).
  cluster::SharedQuota* quota;
  server::HttpServer& http;
  const std::atomic<bool>& stopping;  // SIGTERM came: hold nothing more
  const std::atomic<bool>& retiring;  // SIGTERM came: take no lease (set before `stopping`)
  // What /metrics shows of the node itself, whatever it hosts (its Redis connection, its
  // PostgreSQL connections, the calls it holds and carries)...
  metrics::Registry& node_metrics;
  // ...and, while it hosts nothing (placement by cluster), what a host's own families show
  // otherwise (liveroom_cluster_leader 0, its connections).
  metrics::Registry& follower_metrics;
  metrics::Counter& calls_refused;
  metrics::Counter& reads_answered_here;
  // With placement by app (or room): whether this node should take the lease of an app (or of a
  // slot of its rooms) when it is free.
  std::function<bool(const cluster::LeaseScope& scope)> preferred;
  // The node's registry entry (only the first shard's lease writes it).
  std::function<std::string()> describe;
  // The live nodes changed, as that lease last read them.
  std::function<void()> live_changed;
};

class Shard {
  struct Hosted;

 public:
  // A use of what this shard serves, for as long as it lives: a shard handing its app over
  // waits for every use to end before it stops serving (hand_over). Empty if it serves nothing.
  class Serving {
   public:
    Serving() = default;
    Serving(Serving&& other) noexcept
        : shard_(std::exchange(other.shard_, nullptr)), hosted_(other.hosted_) {}
    Serving& operator=(Serving&&) = delete;
    ~Serving();
    explicit operator bool() const { return shard_ != nullptr; }
    Services* operator->() const;
    const metrics::Registry& registry() const;

   private:
    friend class Shard;
    Serving(const Shard* shard, Hosted* hosted) : shard_(shard), hosted_(hosted) {}
    const Shard* shard_ = nullptr;
    Hosted* hosted_ = nullptr;
  };

  // `scope`: the app this shard is, with placement by app, or the slot of an app's rooms, with
  // placement by room; none: the whole cluster.
  Shard(NodeContext& node, std::optional<cluster::LeaseScope> scope, bool writes_registry);
  ~Shard();
  Shard(const Shard&) = delete;
  Shard& operator=(const Shard&) = delete;

  // Refuses to start on a Redis this node cannot use, with the reason.
  void check() { leadership_.check(); }
  // Once the HTTP server runs: competes for the lease, and takes over once it wins it.
  void start();

  // Every HTTP request of this shard (with placement by app, those of its app).
  server::HttpResponse handle(server::HttpRequest&& req);
  // A client's /gateway connection: served here when leading, else carried to the leader (or
  // held until one can take it).
  std::shared_ptr<server::WebSocketSession> open_client(
      const server::HttpRequest& upgrade, std::shared_ptr<server::WebSocketPeer> peer);
  // The leader's end of a follower's link (its secret and protocol already checked): its
  // clients become this node's gateway sessions.
  std::shared_ptr<server::WebSocketSession> open_link(const server::HttpRequest& upgrade,
                                                      std::shared_ptr<server::WebSocketPeer> peer);

  // Stopping, in the node's order (ClusterNode::run). A leader first carries out no new call
  // from the links and drains its router (begin_step_down), then, once every carried call is
  // answered (across all shards: LinkHost counts them for the process), closes its links
  // (close_links), so the followers hold what they carried for the next leader.
  bool begin_step_down();
  void close_links(uint16_t code);
  // Placement by app: gives the app this node hosts to `node_id`, its preferred node, and
  // follows from then on. The same steps as a stepping-down leader's, for this app alone: new
  // calls and clients are held (here and on the followers) for the next host, those begun are
  // answered, the links are closed, this node's own clients of the app are closed to reconnect
  // (1001), the last commits are done, and the lease goes to that node, which takes it at once.
  // False if this shard served nothing.
  bool hand_over(const std::string& node_id);
  // The node stops: the app this shard hosts goes to `node_id` (its preferred node among the
  // others), not to whichever node looks first.
  void set_successor(std::string node_id) { leadership_.set_successor(std::move(node_id)); }
  // The node stops (only on the shard that writes its registry entry): see Leadership::withdraw.
  void withdraw_from_registry() { leadership_.withdraw(); }
  // Its host may change soon (this node is to get it): look at the lease often for a while.
  void look_soon() { leadership_.look_soon(); }
  // Frees what earlier hand-overs stopped serving, once nothing can reach it any more.
  void free_retired();
  // After the HTTP server stopped: a lease won from now on is kept until stop() releases it,
  // and nothing is loaded for it.
  void stop_taking_over();
  void stop();

  Serving serving() const;
  bool is_serving() const { return hosted_now_.load() != nullptr; }
  std::string_view role() const;
  std::optional<uint32_t> sdkappid() const {
    return scope_ ? std::optional<uint32_t>(scope_->sdkappid) : std::nullopt;
  }
  const std::optional<cluster::LeaseScope>& scope() const { return scope_; }
  // "app 1400000001", "slot 3 of app 1400000001" (the scope's; "" for the whole cluster).
  std::string name() const { return scope_ ? cluster::scope_name(*scope_) : std::string(); }
  // Where this shard's leader is reached; empty if unknown or this node leads it.
  std::string leader_url() const { return leadership_.leader_url(); }
  bool lease_valid() const { return leadership_.lease_valid(); }
  const cluster::Leadership& leadership() const { return leadership_; }
  size_t carried_clients() const { return links_->carried_clients(); }
  size_t calls_in_flight() const { return links_->calls_in_flight(); }
  int64_t held_calls() const { return held_calls_.load(); }

 private:
  // Where a follower's call goes: to the leader over a link, or, while no leader can take it (a
  // failover, a leader stepping down), nowhere yet: it is held and routed again every
  // kHoldStep until `until`, then answered 100001. A held call was never carried out, so
  // sending it to the next leader (or serving it here, if this node took over) is safe.
  static constexpr auto kHoldStep = std::chrono::milliseconds(50);
  using Until = std::chrono::steady_clock::time_point;

  server::HttpResponse route(server::HttpRequest&& req, Until until);
  server::HttpResponse hold(server::HttpRequest&& req, Until until, std::string_view why);
  // The calls followers carry here. Once this leader is stepping down it carries out none it
  // has not begun: kNotCarriedOut tells the follower to hold the call for the next leader.
  server::HttpResponse carried(server::HttpRequest&& req);
  std::shared_ptr<server::WebSocketSession> route_client(
      const server::HttpRequest& upgrade, std::shared_ptr<server::WebSocketPeer> peer,
      cluster::LinkClient::Settled settled);
  // Once this node wins the lease (on a lease thread): take_over() on a thread of its own.
  void begin_take_over();
  // Raise the epoch (which waits for the old leader's commits in flight), then load everything
  // committed and serve it.
  void take_over();
  // Placement by room, at a takeover: the slot's engine follows the app's other hosts (the
  // app-wide state, the room list in PostgreSQL, battles within the slot).
  void follow_the_app(Hosted& hosted);
  // A room changed (under its lock, before the change is acknowledged): the followers' links
  // hear of it, so that what they kept of it is forgotten first.
  void room_changed(uint32_t sdkappid, std::string_view room_id);
  // The calls this shard's links brought and that are not answered yet, and its links open.
  size_t carried_calls_here();
  size_t links_here();

  // What a takeover serves: the leader's figures (its Services' and two of its own, shown on
  // /metrics while it serves) and its Services.
  struct Hosted {
    std::unique_ptr<metrics::Registry> registry;
    std::unique_ptr<Services> services;
    // Placement by room: the app's app-wide state as its other hosts change it (stopped before
    // the services).
    std::unique_ptr<AppStateFeed> feed;
    void stop() {
      if (feed) feed->stop();
      services->stop();
    }
  };
  std::unique_ptr<metrics::Registry> leader_registry();
  std::optional<uint32_t> slot() const { return scope_ ? scope_->slot : std::nullopt; }
  // What this shard's links name on the host ("" for the cluster, "<app>", "<app>:<slot>").
  std::string link_shard_name() const;

  NodeContext& node_;
  const std::optional<cluster::LeaseScope> scope_;
  // The configuration this shard serves: with placement by app, only its app's [[apps]].
  const config::Config cfg_;
  const config::ClusterConfig& cluster_;
  const std::chrono::milliseconds failover_wait_;
  // get_room_info answered here from the leader's answers (docs/cluster.md).
  const SystemClock clock_;
  api::FollowerReads follower_reads_;
  // The links to this shard's leader, on the HTTP server's I/O threads (made before the server
  // starts).
  std::optional<cluster::LinkClient> links_;
  cluster::Leadership leadership_;
  std::unique_ptr<Hosted> hosted_;
  std::atomic<Hosted*> hosted_now_{nullptr};  // hosted_ while it serves
  mutable std::atomic<int64_t> uses_{0};      // Serving objects alive
  // What hand-overs stopped serving, and when: freed once nothing can reach it.
  std::vector<std::pair<std::chrono::steady_clock::time_point, std::unique_ptr<Hosted>>> retired_;
  std::atomic<int64_t> held_calls_{0};
  std::atomic<bool> stepping_down_{false};
  std::mutex link_hosts_mu_;
  std::vector<std::weak_ptr<cluster::LinkHost>> link_hosts_;  // the followers' links, here
  // What each link's follower must hear has changed (told under the engine's room locks, where
  // a link host, which owns sessions, must not end).
  std::vector<std::weak_ptr<cluster::ChangedTags>> changed_tags_;
  std::mutex takeover_mu_;
  bool no_takeover_ = false;  // stop_taking_over() came
  std::thread takeover_;      // while a won lease loads (joined at the next, or at the stop)
};

}  // namespace liveroom::node
