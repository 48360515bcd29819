// Typed configuration of liveroomd, read from a TOML file. Every key is documented in
// liveroom.example.toml. Unknown keys and bad values stop start-up with a ConfigError whose
// message names the key (exceptions are fine at start-up; the request path uses Result).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace liveroom::config {

struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct TlsConfig {
  std::string cert_file;  // PEM certificate chain
  std::string key_file;   // PEM private key
};

// [apps.rate_limits]: requests per second; 0 = unlimited.
struct RateLimits {
  // `default = N` replaces the spec's per-command defaults for every command not listed.
  std::optional<uint32_t> default_per_second;
  // `<command> = N` for one command name (e.g. get_room_list).
  std::map<std::string, uint32_t> per_command;
};

// [[apps.callbacks]]: a webhook subscription fixed in the file (beside the one the live_config
// API manages).
struct CallbackSubscription {
  std::string url;
  std::vector<std::string> commands;  // empty: every command
};

struct AppConfig {
  uint32_t sdkappid = 0;
  std::string secret_key;
  std::vector<std::string> admins;
  bool auto_import_accounts = false;
  RateLimits rate_limits;
  std::vector<CallbackSubscription> callbacks;
  std::optional<std::string> callback_token;  // used until the live_config API sets one
  bool callback_token_enabled = false;
  uint32_t webhook_max_age_seconds = 86'400;  // then a failing delivery becomes a dead letter
  uint32_t veto_timeout_ms = 2'000;           // "before" callbacks
  bool veto_fail_open = true;                 // allow when the backend fails or is late
  // Live.CallbackBeforeSendGift alone: Tencent blocks a gift when the backend fails or is late,
  // unless the app turns on its non-blocking switch (Live.CallbackBeforeCallBackNotBlock).
  bool gift_veto_fail_open = false;
  // Room lifecycle: an empty room (no members, no robots) is dismissed after this long; a room
  // whose owner is away this long is dismissed. 0 = never.
  uint32_t empty_room_dismiss_seconds = 1'800;
  uint32_t owner_absent_dismiss_seconds = 0;
};

// [gateway]: the client WebSocket gateway (docs/client-protocol.md).
struct GatewayConfig {
  uint32_t heartbeat_interval_ms = 10'000;      // clients heartbeat this often; 3 missed = closed
  uint32_t presence_grace_ms = 30'000;          // an offline member keeps its place this long
  uint32_t member_batch_ms = 200;               // MembersChanged and Likes at most this often
  uint64_t max_queued_bytes = 4 * 1024 * 1024;  // per connection; more = slow consumer, closed
  uint32_t max_message_bytes = 64 * 1024;       // largest client message
  uint32_t login_timeout_ms = 5'000;  // a connection not logged in by then is closed (1008)
  // Gift events a room's members get one by one, per second (a burst of as many); the rest of a
  // storm reaches them folded into one GiftSummary per member_batch_ms. 0: every gift alone.
  uint32_t gift_events_per_second = 5;
};

// [webhooks]: how the dispatcher talks to receivers (docs/webhooks.md).
struct WebhooksConfig {
  uint32_t connections_per_url = 32;  // per receiver (scheme, host, port)
  uint32_t pipeline_depth = 32;       // deliveries written at once on a connection; 1 = one by one
  uint32_t request_timeout_ms = 5'000;
};

// [http]: transport limits.
struct HttpConfig {
  unsigned io_threads = 0;                // threads running the I/O loop; 0 = one per core
  uint32_t max_header_bytes = 8 * 1024;   // request line + headers
  uint32_t max_body_bytes = 1024 * 1024;  // request body
  uint32_t read_timeout_ms = 10'000;      // rest of a request, once its first byte arrived
  uint32_t idle_timeout_ms = 60'000;      // waiting for a request; writing a response
  uint32_t max_connections = 50'000;      // WebSocket members included
  // Per client address, so one client cannot take every slot; 0 = no cap. Clients behind one
  // proxy or load balancer share its address: raise it (or 0) there.
  uint32_t max_connections_per_ip = 10'000;
};

// [cluster]: run as one node of a cluster sharing PostgreSQL (durable state) and Redis (the
// leadership lease) instead of the embedded SQLite store (docs/cluster.md).
struct ClusterConfig {
  std::string node_id;        // unique per node: letters, digits, '_', '-', '.'
  std::string advertise_url;  // http://host:port where the other nodes reach this one
  std::string postgres_url;   // a libpq connection URI
  std::string redis_url;      // redis://[:password@]host[:port][/db]
  uint32_t lease_ms = 5'000;  // leadership lease; a dead leader is replaced after about this long
  std::string key_prefix = "liveroom";  // Redis key namespace (several clusters on one Redis)
  // How long a node holds a call while no leader can take it (a failover, a leader stepping
  // down) before answering 100001; 0: answer at once. A held call was never carried out, so it
  // is sent to the next leader.
  uint32_t failover_wait_ms = 10'000;
  // Followers answer get_room_info from the leader's answers they kept, after asking it what
  // changed (docs/cluster.md, "Reads on followers"); false: every call goes to the leader.
  bool follower_reads = true;
  // What one lease covers (docs/cluster.md, "Placement"): kCluster, one leader hosts every app;
  // kApp, each app has its own lease, epoch and host, so a cluster serving several apps spreads
  // them over its nodes. Every node of a cluster must say the same.
  // kRoom, each app's rooms are spread over `room_slots` slots by their RoomId, each slot with
  // its own lease, epoch and host; the host of an app's slot 0 also keeps what is app-wide
  // (accounts, callbacks, the gift catalog, the room list).
  enum class Placement { kCluster, kApp, kRoom };
  Placement placement = Placement::kCluster;
  // With placement by room: the slots of each app (fixed for the cluster's life).
  uint32_t room_slots = 64;
  // The PostgreSQL connections one node opens at most, shared by its stores (each commit and
  // each load borrows one) and its leadership: with placement by app a node hosting many apps
  // would otherwise open one per app and exhaust the server's max_connections.
  uint32_t postgres_connections = 8;
};

struct Config {
  std::string listen = "127.0.0.1:8080";  // HOST:PORT
  std::string data_dir = "./data";
  std::optional<TlsConfig> tls;
  HttpConfig http;
  GatewayConfig gateway;
  WebhooksConfig webhooks;
  std::vector<AppConfig> apps;
  std::optional<ClusterConfig> cluster;  // absent: one node on the embedded store
};

// Parses and validates the file; throws ConfigError naming the file, key and rule.
Config load_config_file(const std::string& path);
// Same for TOML text (tests); `origin` names the source in messages.
Config parse_config(std::string_view toml_text, const std::string& origin = "config");

}  // namespace liveroom::config
