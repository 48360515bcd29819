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
#include <thread>

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

// The command line this process was started with, to start again as a follower.
std::vector<char*> g_command_line;

// A node that led and no longer does holds state another node now owns: the only safe way back
// is the start-up path, so the process replaces itself (same pid, same command line) and
// rejoins as a follower. Nothing it held in memory was acknowledged without being committed.
[[noreturn]] void restart_as_follower(const std::string& why) {
  spdlog::critical("cluster: restarting as a follower ({})", why);
  spdlog::default_logger()->flush();
  ::close_range(3, ~0U, 0);  // the listener and every connection: the new image opens its own
  ::execv("/proc/self/exe", g_command_line.data());
  spdlog::critical("cluster: cannot restart ({}); exiting", std::strerror(errno));
  std::_Exit(3);
}

// A leader that stops hands over without failing its followers' calls: it carries out no new
// call (they are held for the next leader), answers those it began, closes the links so the
// followers look for the next leader at once, and only then (after the drain, with every commit
// done) marks its lease released.
void step_down(std::atomic<bool>& stepping_down, std::mutex& link_hosts_mu,
               std::vector<std::weak_ptr<cluster::LinkHost>>& link_hosts) {
  stepping_down.store(true, std::memory_order_release);
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
    std::lock_guard lock(link_hosts_mu);
    for (const auto& weak : link_hosts) {
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

server::HttpResponse unavailable(std::string_view why) {
  return server::HttpResponse{
      200,
      "application/json",
      api::encode_failure(api::next_request_id(), Error{Code::kInternal, std::string(why)}),
      {}};
}

}  // namespace

int serve_cluster(config::Config cfg, std::vector<char*> command_line) {
  g_command_line = std::move(command_line);
  const config::ClusterConfig& cluster = *cfg.cluster;
  // Refuse to start on a database or Redis this node cannot use, with the reason.
  store::prepare_postgres(cluster.postgres_url);
  const std::string link_secret = store::postgres_cluster_secret(cluster.postgres_url);
  // This node's entry in the registry (set below, before the lease thread starts).
  std::function<std::string()> describe_node;
  // A follower's links to the leader, on the HTTP server's I/O threads (made once it exists,
  // before the lease thread starts).
  std::optional<cluster::LinkClient> links;
  cluster::Leadership leadership(
      cluster, {.current_epoch =
                    [&cluster] { return store::postgres_leadership_epoch(cluster.postgres_url); },
                .lost = [](const std::string& why) { restart_as_follower(why); },
                .describe = [&describe_node] { return describe_node(); },
                .moved =
                    [&links](const std::string& previous) {
                      if (links) links->abandon(previous, "another node leads now");
                    }});
  leadership.check();

  metrics::Registry registry;
  std::atomic<Services*> serving{nullptr};
  std::unique_ptr<Services> services;
  // What this node is now, as /readyz/leader and the registry say.
  const auto role = [&serving, &leadership]() -> std::string_view {
    if (serving.load(std::memory_order_acquire)) return "leader";
    return leadership.elected() ? "taking over" : "follower";
  };

  // What /metrics shows while this node follows (the leader's are its Services' and these two).
  metrics::Registry follower_metrics;
  registry.gauge("liveroom_cluster_leader", "1 while this node leads the cluster",
                 [] { return 1.0; });
  registry.gauge("liveroom_cluster_carried_calls",
                 "REST calls the followers' links brought here and not answered yet",
                 [] { return static_cast<double>(cluster::LinkHost::calls_in_progress()); });
  follower_metrics.gauge("liveroom_cluster_leader", "1 while this node leads the cluster",
                         [] { return 0.0; });

  // Where a follower's call goes: to the leader over a link, or, while no leader can take it (a
  // failover, a leader stepping down), nowhere yet: it is held and routed again every
  // kHoldStep until `until`, then answered 100001. A held call was never carried out, so
  // sending it to the next leader (or serving it here, if this node took over) is safe.
  constexpr auto kHoldStep = std::chrono::milliseconds(50);
  const auto failover_wait = std::chrono::milliseconds(cluster.failover_wait_ms);
  std::function<server::HttpResponse(server::HttpRequest&&, std::chrono::steady_clock::time_point)>
      route;
  server::Handler handle;
  std::atomic<int64_t> held_calls{0};
  std::atomic<bool> stopping{false};  // SIGTERM came: hold nothing more (the drain waits for it)
  follower_metrics.gauge("liveroom_cluster_held_calls",
                         "REST calls this node holds until a leader can take them",
                         [&held_calls] { return static_cast<double>(held_calls.load()); });
  metrics::Counter& calls_refused = follower_metrics.counter(
      "liveroom_cluster_calls_refused_total",
      "REST calls answered 100001 because no leader could take them within failover_wait_ms");
  const auto hold = [&](server::HttpRequest&& req, std::chrono::steady_clock::time_point until,
                        std::string_view why) -> server::HttpResponse {
    const bool node_stopping = stopping.load(std::memory_order_acquire);
    if (node_stopping || std::chrono::steady_clock::now() + kHoldStep >= until) {
      calls_refused.inc();
      return unavailable(fmt::format("cluster: {}{}; retry", why,
                                     node_stopping ? ", and this node is stopping" : ""));
    }
    held_calls.fetch_add(1);
    return links->after(kHoldStep, std::move(req),
                        [&route, &held_calls, until](server::HttpRequest&& r) {
                          held_calls.fetch_sub(1);
                          return route(std::move(r), until);
                        });
  };
  route = [&](server::HttpRequest&& req,
              std::chrono::steady_clock::time_point until) -> server::HttpResponse {
    if (serving.load(std::memory_order_acquire)) return handle(std::move(req));  // took over
    const std::string leader = leadership.leader_url();
    if (leader.empty()) {
      return hold(
          std::move(req), until,
          leadership.elected() ? "this node is taking over as leader" : "no leader is elected yet");
    }
    return links->forward(leader, std::move(req), {},
                          [&hold, until](server::HttpRequest&& r, std::string_view why) {
                            return hold(std::move(r), until, why);
                          });
  };

  handle = [&](server::HttpRequest&& req) -> server::HttpResponse {
    const std::string_view path = std::string_view(req.target).substr(0, req.target.find('?'));
    if (Services* s = serving.load(std::memory_order_acquire)) {
      // A leader whose lease lapsed (Redis unreachable) may have been replaced: serving from
      // memory could show state the new leader has changed.
      if (!leadership.lease_valid() && (path == "/readyz" || path == "/readyz/leader")) {
        return server::HttpResponse{503, "application/json", R"({"status":"lease lapsed"})", {}};
      }
      if (!leadership.lease_valid() && path.starts_with("/v4/")) {
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
          200, std::string(metrics::kContentType), follower_metrics.render(), {}};
    }
    // A balancer that sends every call to the leader (and none through a follower's link)
    // checks this: only the serving leader says 200.
    if (path == "/readyz/leader") {
      return server::HttpResponse{
          503, "application/json", fmt::format(R"({{"status":"{}"}})", role()), {}};
    }
    const std::string leader = leadership.leader_url();
    // Ready means the leader answers: the node the lease names may be one that restarted and
    // does not lead yet, so its own /readyz (forwarded like any call) is the answer.
    if (path == "/readyz" && leader.empty()) {
      return server::HttpResponse{503, "application/json", R"({"status":"no leader"})", {}};
    }
    if (path == "/readyz") {  // ready only if the leader itself answers
      return links->forward(leader, std::move(req), [](std::string_view) {
        return server::HttpResponse{
            503, "application/json", R"({"status":"the leader does not answer"})", {}};
      });
    }
    return route(std::move(req), std::chrono::steady_clock::now() + failover_wait);
  };
  // The calls followers carry here. Once this leader is stepping down it carries out none it
  // has not begun: kNotCarriedOut tells the follower to hold the call for the next leader.
  std::atomic<bool> stepping_down{false};
  const server::Handler carried = [&](server::HttpRequest&& req) -> server::HttpResponse {
    if (stepping_down.load(std::memory_order_acquire)) {
      return server::HttpResponse{cluster::kNotCarriedOut, "text/plain", "stepping down", {}};
    }
    return handle(std::move(req));
  };
  std::mutex link_hosts_mu;
  std::vector<std::weak_ptr<cluster::LinkHost>> link_hosts;  // the followers' links, here
  // What each link's follower must hear has changed (told under the engine's room locks, where
  // a link host, which owns sessions, must not end).
  std::vector<std::weak_ptr<cluster::ChangedTags>> changed_tags;
  server::HttpServer http(cfg.http, cfg.tls, handle, &api::ApiRouter::refuse);
  http.listen(cfg.listen);
  http.set_websocket(
      websocket_options(cfg),
      [&](const server::HttpRequest& upgrade, std::shared_ptr<server::WebSocketPeer> peer)
          -> std::shared_ptr<server::WebSocketSession> {
        if (Services* s = serving.load(std::memory_order_acquire)) {
          return s->open(upgrade, std::move(peer));
        }
        // As a call is: over a link to the leader, or, while no leader can take it (none is
        // known, or the link to the one the lease names never opens), held until one can.
        const auto route_client =
            [&](const server::HttpRequest& up, std::shared_ptr<server::WebSocketPeer> p,
                cluster::LinkClient::Settled settled) -> std::shared_ptr<server::WebSocketSession> {
          if (Services* s = serving.load(std::memory_order_acquire)) {  // took over
            if (settled) settled(true);
            return s->open(up, std::move(p));
          }
          const std::string leader = leadership.leader_url();
          if (leader.empty()) return nullptr;
          return links->open(leader, up, std::move(p), std::move(settled));
        };
        if (failover_wait.count() == 0) return route_client(upgrade, std::move(peer), {});
        return links->hold(upgrade, std::move(peer), kHoldStep,
                           std::chrono::steady_clock::now() + failover_wait, route_client);
      });
  // The leader's end of the followers' links: their clients become this node's gateway sessions.
  http.set_websocket(
      {.path = std::string(cluster::kLinkPath),
       .idle_timeout_ms = 60'000,
       .max_message_bytes = 16 << 20,
       .max_queued_bytes = size_t{1} << 30,
       .binary = true},
      [&](const server::HttpRequest& upgrade, std::shared_ptr<server::WebSocketPeer> peer)
          -> std::shared_ptr<server::WebSocketSession> {
        if (!cluster::link_secret_matches(upgrade.target, link_secret)) return nullptr;
        if (auto why = cluster::link_protocol_mismatch(upgrade.target)) {
          return cluster::refuse_link(std::move(peer), cluster::kLinkRefused, std::move(*why));
        }
        Services* s = serving.load(std::memory_order_acquire);
        if (!s || stepping_down.load(std::memory_order_acquire)) {
          return cluster::refuse_link(std::move(peer), cluster::kLinkNotLeading,
                                      s ? "this node is stepping down" : "this node does not lead");
        }
        auto host = std::make_shared<cluster::LinkHost>(
            std::move(peer),
            [s](const server::HttpRequest& client, std::shared_ptr<server::WebSocketPeer> p) {
              return s->open(client, std::move(p));
            },
            carried, [&leadership] { return leadership.lease_valid(); });
        std::lock_guard lock(link_hosts_mu);
        std::erase_if(link_hosts, [](const auto& weak) { return weak.expired(); });
        std::erase_if(changed_tags, [](const auto& weak) { return weak.expired(); });
        link_hosts.push_back(host);
        changed_tags.push_back(host->changed_tags());
        return host;
      });
  follower_metrics.gauge("liveroom_connections", "Open client connections",
                         [&http] { return static_cast<double>(http.active_connections()); });
  follower_metrics.gauge("liveroom_cluster_link_clients",
                         "Client connections carried to the leader over this node's links",
                         [&links] { return static_cast<double>(links->carried_clients()); });
  follower_metrics.gauge("liveroom_cluster_link_calls",
                         "REST calls carried to the leader and not answered yet",
                         [&links] { return static_cast<double>(links->calls_in_flight()); });
  // get_room_info answered here from the leader's answers (docs/cluster.md).
  const SystemClock clock;
  api::FollowerReads follower_reads(
      cfg, clock,
      follower_metrics.counter("liveroom_cluster_reads_answered_here_total",
                               "get_room_info calls this follower answered from the leader's "
                               "answer it kept, the leader having said the room did not change"));
  links.emplace(
      cluster.node_id, link_secret, &unavailable, std::chrono::seconds(30), http,
      [&leadership](const std::string&) { leadership.look_soon(); },
      cluster.follower_reads ? &follower_reads : nullptr);
  const int64_t started_ms = SystemClock().unix_millis();
  describe_node = [&, started_ms] {
    Services* s = serving.load(std::memory_order_acquire);
    std::string out;
    JsonWriter w(out);
    w.begin_object()
        .field("node_id", cluster.node_id)
        .field("advertise_url", cluster.advertise_url)
        .field("pid", static_cast<int64_t>(::getpid()))
        .field("started_ms", started_ms)
        .field("role", role())
        .field("connections", static_cast<int64_t>(http.active_connections()));
    if (s) {
      w.field("lease_valid", leadership.lease_valid())
          .field("rooms", static_cast<int64_t>(s->engine->room_count()));
    } else {
      w.field("carried_clients", static_cast<int64_t>(links->carried_clients()))
          .field("carried_calls", static_cast<int64_t>(links->calls_in_flight()));
    }
    w.end_object();
    return out;
  };
  http.start();
  leadership.start();
  spdlog::info("liveroomd listening on {} (port {}) as cluster node {} ({})", cfg.listen,
               http.port(), cluster.node_id, cluster.advertise_url);

  // Takes over when this node wins the lease: raise the epoch (which waits for the old leader's
  // commits in flight), then load everything committed and serve it.
  std::thread takeover([&] {
    if (!leadership.wait_until_elected()) return;
    try {
      const auto started = std::chrono::steady_clock::now();
      const uint64_t epoch = store::take_postgres_leadership(cluster.postgres_url, cluster.node_id,
                                                             cluster.advertise_url);
      leadership.set_epoch(epoch);
      auto store = store::open_postgres_store(
          {cluster.postgres_url, epoch,
           [] { restart_as_follower("another node took over (fenced commit)"); }});
      // The followers' links hear of every change to a room, so that what they kept of it is
      // forgotten before the change is acknowledged.
      services = std::make_unique<Services>(
          cfg, std::move(store), http, registry,
          [&link_hosts_mu, &changed_tags](uint32_t sdkappid, std::string_view room_id) {
            const std::string tag = api::FollowerReads::room_tag(sdkappid, room_id);
            std::lock_guard lock(link_hosts_mu);
            for (const auto& weak : changed_tags) {
              if (auto tags = weak.lock()) tags->add(tag);
            }
          });
      // As for REST calls: once the lease lapses another node may lead, so the gateway's
      // sessions (direct and carried) must not act on this node's memory either.
      services->gateway->set_availability([&leadership]() -> std::optional<std::string> {
        if (leadership.lease_valid()) return std::nullopt;
        return "cluster: this node's leadership lease has lapsed (Redis unreachable, or this node "
               "was paused); retry";
      });
      serving.store(services.get(), std::memory_order_release);
      leadership.announce();  // the registry shows it leading now, not a renewal later
      spdlog::info(
          "cluster: node {} leads (epoch {}): {} rooms and {} queued webhook deliveries loaded in "
          "{} ms",
          cluster.node_id, epoch, services->engine->room_count(), services->undelivered,
          std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                started)
              .count());
    } catch (const std::exception& e) {
      restart_as_follower(std::string("cannot take over: ") + e.what());
    }
  });

  http.wait_for_signal();
  stopping.store(true, std::memory_order_release);
  if (Services* s = serving.load()) {
    s->router->set_draining();
    step_down(stepping_down, link_hosts_mu, link_hosts);
  }
  http.drain_and_stop(std::chrono::seconds(10));
  leadership.interrupt_wait();
  takeover.join();
  if (services) services->stop();
  leadership.stop();  // gives the lease up only now, with every commit done
  links->stop();      // the I/O threads it ran on have stopped; before the server goes
  links.reset();
  spdlog::info("liveroomd stopped cleanly");
  return 0;
}

}  // namespace liveroom::node
