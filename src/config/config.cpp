// The configuration is validated strictly and all at once, at start-up: a misspelt key or an
// out-of-range limit that were silently ignored would surface hours later as a quota or a body
// limit that never applies, far from the line that caused it. So every table lists the keys it
// knows, every value is checked for type and range here, and each error names the file, the key
// path (as an operator would write it, `apps[1].admins[0]`), the rule and the line. toml++ stays
// inside this file so that no other layer pays for its heavy header.
#include "config/config.h"

#include "base/hex.h"
#include "base/http_target.h"
#include "base/utf8.h"
#include "domain/callbacks.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <sstream>
#include <string_view>
#include <system_error>
#include <type_traits>

namespace liveroom::config {
namespace {

constexpr int64_t kMaxSdkAppId = std::numeric_limits<uint32_t>::max();
constexpr size_t kMaxAccountBytes = 32;  // Tencent's limit on a UserID
constexpr int64_t kMaxRateLimit = 1'000'000;

// What TOML allows in a bare key.
bool is_bare_key_byte(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

// Builds the key paths used in messages; keys that are not TOML bare keys are quoted so the path
// can be pasted back into the file.
std::string key_path(std::string_view parent, std::string_view key) {
  bool bare = !key.empty() && std::ranges::all_of(key, is_bare_key_byte);
  std::string out(parent);
  if (!out.empty()) out += '.';
  if (bare) {
    out += key;
  } else {
    out += '"';
    for (char c : key) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out;
}

std::string index_path(std::string_view parent, size_t index) {
  return std::string(parent) + "[" + std::to_string(index) + "]";
}

class ConfigReader {
 public:
  explicit ConfigReader(const std::string& origin) : origin_(origin) {}

  [[noreturn]] void fail(const std::string& path, const std::string& rule,
                         const toml::node* at = nullptr) const {
    std::string msg = origin_ + ": " + path + " " + rule;
    if (at != nullptr && at->source().begin.line != 0) {
      msg += " (line " + std::to_string(at->source().begin.line) + ")";
    }
    throw ConfigError(msg);
  }

  void reject_unknown_keys(const toml::table& table, std::string_view path,
                           std::initializer_list<std::string_view> known) const {
    for (auto&& [key, node] : table) {
      if (std::ranges::find(known, key.str()) != known.end()) continue;
      std::string list;
      for (std::string_view k : known) {
        if (!list.empty()) list += ", ";
        list += k;
      }
      fail(key_path(path, key.str()), "is not a known key (known keys: " + list + ")", &node);
    }
  }

  const toml::table& table(const toml::node& node, const std::string& path,
                           std::string_view how_to_write) const {
    const toml::table* t = node.as_table();
    if (t == nullptr) fail(path, "must be a table (" + std::string(how_to_write) + ")", &node);
    return *t;
  }

  int64_t integer(const toml::node& node, const std::string& path, int64_t lo, int64_t hi) const {
    const auto* v = node.as_integer();
    if (v == nullptr || v->get() < lo || v->get() > hi) {
      fail(path, "must be an integer between " + std::to_string(lo) + " and " + std::to_string(hi),
           &node);
    }
    return v->get();
  }

  std::string non_empty_string(const toml::node& node, const std::string& path) const {
    const auto* v = node.as_string();
    if (v == nullptr || v->get().empty()) fail(path, "must be a non-empty string", &node);
    return v->get();
  }

  bool boolean(const toml::node& node, const std::string& path) const {
    const auto* v = node.as_boolean();
    if (v == nullptr) fail(path, "must be true or false", &node);
    return v->get();
  }

  // A key that has no default: its absence is reported at the table that should hold it.
  const toml::node& required(const toml::table& table, std::string_view key,
                             const std::string& table_path, std::string_view rule) const {
    const toml::node* node = table.get(key);
    if (node == nullptr) {
      fail(key_path(table_path, key), "is required: " + std::string(rule), &table);
    }
    return *node;
  }

 private:
  const std::string& origin_;
};

bool is_port(std::string_view s) {
  if (s.empty() || s.size() > 5) return false;
  unsigned value = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  return value <= 65535;
}

bool is_hostname_or_ipv4(std::string_view s) {
  return !s.empty() && std::ranges::all_of(s, [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-';
  });
}

bool is_ipv6_literal(std::string_view s) {
  return s.find(':') != std::string_view::npos && std::ranges::all_of(s, [](char c) {
           return (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || (c >= '0' && c <= '9') ||
                  c == ':' || c == '.';
         });
}

// HOST:PORT, HOST a name or IPv4 address, or [IPv6]:PORT. Port 0 asks the OS for a free port.
bool is_listen_address(std::string_view s) {
  if (s.starts_with('[')) {
    size_t close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':') {
      return false;
    }
    return is_ipv6_literal(s.substr(1, close - 1)) && is_port(s.substr(close + 2));
  }
  size_t colon = s.rfind(':');
  if (colon == std::string_view::npos) return false;
  return is_hostname_or_ipv4(s.substr(0, colon)) && is_port(s.substr(colon + 1));
}

bool is_command_name(std::string_view s) {
  return !s.empty() &&
         std::ranges::all_of(s, [](char c) { return (c >= 'a' && c <= 'z') || c == '_'; });
}

// The server opens these files later, after it has dropped into its event loop; a typo found
// there would be a far less clear error than this one.
void check_readable_file(const ConfigReader& r, const toml::node& node, const std::string& path,
                         const std::string& file) {
  std::error_code ec;
  auto status = std::filesystem::status(file, ec);
  if (ec || !std::filesystem::exists(status)) {
    r.fail(path, "names '" + file + "', which does not exist", &node);
  }
  if (!std::filesystem::is_regular_file(status)) {
    r.fail(path, "names '" + file + "', which is not a regular file", &node);
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    r.fail(path, "names '" + file + "', which cannot be read: " + std::strerror(errno), &node);
  }
}

void read_listen(const ConfigReader& r, const toml::node& node, Config& cfg) {
  const auto* v = node.as_string();
  if (v == nullptr || !is_listen_address(v->get())) {
    r.fail("listen",
           "must be a string \"HOST:PORT\" (IPv6 as \"[::1]:PORT\") with a port between 0 and "
           "65535",
           &node);
  }
  cfg.listen = v->get();
}

TlsConfig read_tls(const ConfigReader& r, const toml::node& node) {
  const toml::table& t = r.table(node, "tls", "[tls]");
  r.reject_unknown_keys(t, "tls", {"cert_file", "key_file"});
  TlsConfig tls;
  const auto& cert = r.required(t, "cert_file", "tls", "the PEM certificate chain file");
  tls.cert_file = r.non_empty_string(cert, "tls.cert_file");
  const auto& key = r.required(t, "key_file", "tls", "the PEM private key file");
  tls.key_file = r.non_empty_string(key, "tls.key_file");
  check_readable_file(r, cert, "tls.cert_file", tls.cert_file);
  check_readable_file(r, key, "tls.key_file", tls.key_file);
  return tls;
}

// Reads `key` of the table `t` (at `path`) into `field` when present, checked to [lo, hi].
template <typename Field>
void read_integer(const ConfigReader& r, const toml::table& t, std::string_view path,
                  std::string_view key, Field& field, int64_t lo, int64_t hi) {
  if (const toml::node* n = t.get(key)) {
    field = static_cast<Field>(r.integer(*n, key_path(path, key), lo, hi));
  }
}

HttpConfig read_http(const ConfigReader& r, const toml::node& node) {
  const toml::table& t = r.table(node, "http", "[http]");
  r.reject_unknown_keys(t, "http",
                        {"io_threads", "max_header_bytes", "max_body_bytes", "read_timeout_ms",
                         "idle_timeout_ms", "max_connections", "max_connections_per_ip"});
  HttpConfig http;
  auto read_int = [&](std::string_view key, auto& field, int64_t lo, int64_t hi) {
    read_integer(r, t, "http", key, field, lo, hi);
  };
  read_int("io_threads", http.io_threads, 0, 64);
  read_int("max_header_bytes", http.max_header_bytes, 1024, 1024 * 1024);
  read_int("max_body_bytes", http.max_body_bytes, 1024, 64 * 1024 * 1024);
  read_int("read_timeout_ms", http.read_timeout_ms, 100, 3'600'000);
  read_int("idle_timeout_ms", http.idle_timeout_ms, 100, 3'600'000);
  read_int("max_connections", http.max_connections, 1, 1'000'000);
  read_int("max_connections_per_ip", http.max_connections_per_ip, 0, 1'000'000);
  return http;
}

GatewayConfig read_gateway(const ConfigReader& r, const toml::node& node) {
  const toml::table& t = r.table(node, "gateway", "[gateway]");
  r.reject_unknown_keys(
      t, "gateway",
      {"heartbeat_interval_ms", "presence_grace_ms", "member_batch_ms", "max_queued_bytes",
       "max_message_bytes", "login_timeout_ms", "gift_events_per_second"});
  GatewayConfig g;
  auto read_int = [&](std::string_view key, auto& field, int64_t lo, int64_t hi) {
    read_integer(r, t, "gateway", key, field, lo, hi);
  };
  read_int("heartbeat_interval_ms", g.heartbeat_interval_ms, 100, 600'000);
  read_int("presence_grace_ms", g.presence_grace_ms, 0, 3'600'000);
  read_int("member_batch_ms", g.member_batch_ms, 10, 10'000);
  read_int("max_queued_bytes", g.max_queued_bytes, 64 * 1024, 1024 * 1024 * 1024);
  read_int("max_message_bytes", g.max_message_bytes, 1024, 16 * 1024 * 1024);
  read_int("login_timeout_ms", g.login_timeout_ms, 100, 600'000);
  read_int("gift_events_per_second", g.gift_events_per_second, 0, 1'000'000);
  return g;
}

WebhooksConfig read_webhooks(const ConfigReader& r, const toml::node& node) {
  const toml::table& t = r.table(node, "webhooks", "[webhooks]");
  r.reject_unknown_keys(t, "webhooks",
                        {"connections_per_url", "pipeline_depth", "request_timeout_ms"});
  WebhooksConfig w;
  auto read_int = [&](std::string_view key, auto& field, int64_t lo, int64_t hi) {
    read_integer(r, t, "webhooks", key, field, lo, hi);
  };
  read_int("connections_per_url", w.connections_per_url, 1, 1024);
  read_int("pipeline_depth", w.pipeline_depth, 1, 256);
  read_int("request_timeout_ms", w.request_timeout_ms, 100, 60'000);
  return w;
}

ClusterConfig read_cluster(const ConfigReader& r, const toml::node& node) {
  const toml::table& t = r.table(node, "cluster", "[cluster]");
  r.reject_unknown_keys(
      t, "cluster",
      {"node_id", "advertise_url", "postgres_url", "redis_url", "lease_ms", "key_prefix",
       "failover_wait_ms", "follower_reads", "placement", "postgres_connections", "room_slots"});
  ClusterConfig c;
  const auto& id_node = r.required(t, "node_id", "cluster", "a name unique in the cluster");
  c.node_id = r.non_empty_string(id_node, "cluster.node_id");
  const auto name_byte = [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-' || ch == '.';
  };
  if (c.node_id.size() > 64 || !std::ranges::all_of(c.node_id, name_byte)) {
    r.fail("cluster.node_id", "must be 1 to 64 letters, digits, '_', '-' or '.'", &id_node);
  }
  const auto& adv = r.required(t, "advertise_url", "cluster",
                               "where the other nodes reach this one, e.g. http://10.0.0.1:9000");
  c.advertise_url = r.non_empty_string(adv, "cluster.advertise_url");
  if (const auto target = parse_http_target(c.advertise_url); !target || target->tls) {
    r.fail("cluster.advertise_url",
           "must be http://host:port (nodes talk plain HTTP; TLS ends at the load balancer)", &adv);
  }
  while (c.advertise_url.ends_with('/')) c.advertise_url.pop_back();
  const auto& pg = r.required(t, "postgres_url", "cluster",
                              "a libpq URI, e.g. postgresql://user:password@host:5432/liveroom");
  c.postgres_url = r.non_empty_string(pg, "cluster.postgres_url");
  if (!c.postgres_url.starts_with("postgresql://") && !c.postgres_url.starts_with("postgres://")) {
    r.fail("cluster.postgres_url", "must be a URI starting with postgresql://", &pg);
  }
  const auto& redis = r.required(t, "redis_url", "cluster", "redis://[:password@]host[:port][/db]");
  c.redis_url = r.non_empty_string(redis, "cluster.redis_url");
  if (!c.redis_url.starts_with("redis://") && !c.redis_url.starts_with("redis-sentinel://")) {
    r.fail("cluster.redis_url",
           "must be a URI starting with redis:// (or redis-sentinel:// for Sentinels)", &redis);
  }
  read_integer(r, t, "cluster", "lease_ms", c.lease_ms, 1'000, 60'000);
  read_integer(r, t, "cluster", "failover_wait_ms", c.failover_wait_ms, 0, 60'000);
  read_integer(r, t, "cluster", "postgres_connections", c.postgres_connections, 1, 1'000);
  if (const toml::node* n = t.get("key_prefix")) {
    c.key_prefix = r.non_empty_string(*n, "cluster.key_prefix");
  }
  if (const toml::node* n = t.get("follower_reads")) {
    c.follower_reads = r.boolean(*n, "cluster.follower_reads");
  }
  if (const toml::node* n = t.get("placement")) {
    const std::string placement = r.non_empty_string(*n, "cluster.placement");
    if (placement == "app") {
      c.placement = ClusterConfig::Placement::kApp;
    } else if (placement == "room") {
      c.placement = ClusterConfig::Placement::kRoom;
    } else if (placement != "cluster") {
      r.fail("cluster.placement",
             "must be \"cluster\" (one leader hosts every app), \"app\" (each app has its own "
             "host) or \"room\" (each app's rooms are spread over the nodes by slot)",
             n);
    }
  }
  read_integer(r, t, "cluster", "room_slots", c.room_slots, 1, 1'024);
  if (t.get("room_slots") && c.placement != ClusterConfig::Placement::kRoom) {
    r.fail("cluster.room_slots", "applies only with placement = \"room\"", t.get("room_slots"));
  }
  return c;
}

RateLimits read_rate_limits(const ConfigReader& r, const toml::node& node,
                            const std::string& path) {
  const toml::table& t = r.table(node, path, "[apps.rate_limits]");
  RateLimits limits;
  for (auto&& [key, value] : t) {
    std::string name(key.str());
    std::string value_path = key_path(path, name);
    if (name != "default" && !is_command_name(name)) {
      r.fail(value_path,
             "is not a command name (`default` or a command such as get_room_list: lowercase "
             "letters and '_')",
             &value);
    }
    auto n = static_cast<uint32_t>(r.integer(value, value_path, 0, kMaxRateLimit));
    if (name == "default") {
      limits.default_per_second = n;
    } else {
      limits.per_command.emplace(std::move(name), n);
    }
  }
  return limits;
}

// [[apps.callbacks]] url = "...", commands = [...]
std::vector<CallbackSubscription> read_callbacks(const ConfigReader& r, const toml::node& node,
                                                 const std::string& path) {
  const toml::array* list = node.as_array();
  if (list == nullptr) r.fail(path, "must be an array of tables ([[apps.callbacks]])", &node);
  std::vector<CallbackSubscription> out;
  for (size_t i = 0; i < list->size(); ++i) {
    const std::string item_path = index_path(path, i);
    const toml::table& t = r.table(*list->get(i), item_path, "[[apps.callbacks]]");
    r.reject_unknown_keys(t, item_path, {"url", "commands"});
    CallbackSubscription sub;
    const toml::node& url = r.required(t, "url", item_path, "where to POST the callbacks");
    sub.url = r.non_empty_string(url, item_path + ".url");
    if (auto ok = domain::check_callback_url(sub.url, item_path + ".url"); !ok) {
      r.fail(item_path + ".url", "is not a callback URL: " + ok.error().info, &url);
    }
    if (const toml::node* c = t.get("commands")) {
      const toml::array* commands = c->as_array();
      if (commands == nullptr) r.fail(item_path + ".commands", "must be an array of strings", c);
      for (size_t j = 0; j < commands->size(); ++j) {
        const auto* s = commands->get(j)->as_string();
        if (s == nullptr || !domain::is_callback_command(s->get())) {
          r.fail(index_path(item_path + ".commands", j),
                 "must be a CallbackCommand such as Live.CallbackAfterCreateRoom",
                 commands->get(j));
        }
        sub.commands.push_back(s->get());
      }
    }
    out.push_back(std::move(sub));
  }
  return out;
}

AppConfig read_app(const ConfigReader& r, const toml::node& node, const std::string& path) {
  const toml::table& t = r.table(node, path, "[[apps]]");
  r.reject_unknown_keys(
      t, path,
      {"sdkappid", "secret_key", "admins", "auto_import_accounts", "rate_limits", "callbacks",
       "callback_token", "callback_token_enabled", "webhook_max_age_seconds", "veto_timeout_ms",
       "veto_fail_open", "gift_veto_fail_open", "empty_room_dismiss_seconds",
       "owner_absent_dismiss_seconds"});
  AppConfig app;

  const std::string id_path = path + ".sdkappid";
  const auto& id = r.required(t, "sdkappid", path, "the app's SDKAppID");
  app.sdkappid = static_cast<uint32_t>(r.integer(id, id_path, 1, kMaxSdkAppId));

  app.secret_key =
      r.non_empty_string(r.required(t, "secret_key", path, "the key that signs the app's UserSigs"),
                         path + ".secret_key");

  const std::string admins_path = path + ".admins";
  const auto& admins_node = r.required(t, "admins", path, "at least one App administrator UserID");
  const toml::array* admins = admins_node.as_array();
  if (admins == nullptr || admins->empty()) {
    r.fail(admins_path, "must be a non-empty array of UserIDs", &admins_node);
  }
  for (size_t i = 0; i < admins->size(); ++i) {
    const toml::node& a = *admins->get(i);
    std::string a_path = index_path(admins_path, i);
    const auto* s = a.as_string();
    if (s == nullptr || s->get().empty() || s->get().size() > kMaxAccountBytes) {
      r.fail(a_path, "must be a string of 1 to 32 bytes", &a);
    }
    // The account rule of domain::check_user_id (TOML escapes can write "\u0000").
    if (find_control_character(s->get()) != std::string_view::npos) {
      r.fail(a_path, "must not contain control characters", &a);
    }
    auto dup = std::ranges::find(app.admins, s->get());
    if (dup != app.admins.end()) {
      r.fail(a_path,
             "repeats " + index_path(admins_path, static_cast<size_t>(dup - app.admins.begin())),
             &a);
    }
    app.admins.push_back(s->get());
  }

  if (const toml::node* n = t.get("auto_import_accounts")) {
    app.auto_import_accounts = r.boolean(*n, path + ".auto_import_accounts");
  }
  if (const toml::node* n = t.get("rate_limits")) {
    app.rate_limits = read_rate_limits(r, *n, path + ".rate_limits");
  }
  if (const toml::node* n = t.get("callbacks")) {
    app.callbacks = read_callbacks(r, *n, path + ".callbacks");
  }
  if (const toml::node* n = t.get("callback_token")) {
    const std::string token_path = path + ".callback_token";
    app.callback_token = r.non_empty_string(*n, token_path);
    if (app.callback_token->size() > domain::kMaxCallbackTokenChars) {
      r.fail(token_path, "must be 1 to 128 characters", n);
    }
  }
  if (const toml::node* n = t.get("callback_token_enabled")) {
    app.callback_token_enabled = r.boolean(*n, path + ".callback_token_enabled");
    if (app.callback_token_enabled && !app.callback_token) {
      r.fail(path + ".callback_token_enabled", "needs callback_token", n);
    }
  }
  if (const toml::node* n = t.get("webhook_max_age_seconds")) {
    app.webhook_max_age_seconds =
        static_cast<uint32_t>(r.integer(*n, path + ".webhook_max_age_seconds", 1, 30 * 86'400));
  }
  if (const toml::node* n = t.get("veto_timeout_ms")) {
    app.veto_timeout_ms =
        static_cast<uint32_t>(r.integer(*n, path + ".veto_timeout_ms", 10, 60'000));
  }
  if (const toml::node* n = t.get("veto_fail_open")) {
    app.veto_fail_open = r.boolean(*n, path + ".veto_fail_open");
  }
  if (const toml::node* n = t.get("gift_veto_fail_open")) {
    app.gift_veto_fail_open = r.boolean(*n, path + ".gift_veto_fail_open");
  }
  if (const toml::node* n = t.get("empty_room_dismiss_seconds")) {
    app.empty_room_dismiss_seconds =
        static_cast<uint32_t>(r.integer(*n, path + ".empty_room_dismiss_seconds", 0, 7 * 86'400));
  }
  if (const toml::node* n = t.get("owner_absent_dismiss_seconds")) {
    app.owner_absent_dismiss_seconds =
        static_cast<uint32_t>(r.integer(*n, path + ".owner_absent_dismiss_seconds", 0, 7 * 86'400));
  }
  return app;
}

void read_apps(const ConfigReader& r, const toml::table& root, Config& cfg) {
  const toml::node* node = root.get("apps");
  if (node == nullptr) {
    r.fail("apps", "must contain at least one app: add an [[apps]] table");
  }
  const toml::array* apps = node->as_array();
  if (apps == nullptr) r.fail("apps", "must be an array of tables: write [[apps]]", node);
  if (apps->empty()) {
    r.fail("apps", "must contain at least one app: add an [[apps]] table", node);
  }
  for (size_t i = 0; i < apps->size(); ++i) {
    std::string path = index_path("apps", i);
    AppConfig app = read_app(r, *apps->get(i), path);
    for (size_t j = 0; j < cfg.apps.size(); ++j) {
      if (cfg.apps[j].sdkappid == app.sdkappid) {
        r.fail(path + ".sdkappid",
               "repeats apps[" + std::to_string(j) + "].sdkappid " + std::to_string(app.sdkappid) +
                   "; each app needs its own",
               apps->get(i)->as_table()->get("sdkappid"));
      }
    }
    cfg.apps.push_back(std::move(app));
  }
}

// --- what toml++ must never see -------------------------------------------------------------
//
// toml++ 3.3.0 (Debian's libtomlplusplus-dev) trusts an input it should refuse: its
// parse_table_header() hands whatever follows `[` or `[[` (and blanks) to parse_key(), whose
// first line is TOML_ASSERT_ASSUME(is_bare_key_character(*cp) || is_string_delimiter(*cp)). So a
// header such as `[\0`, `[=]`, `[#]`, `[.a]` or `[Ѣ]` aborts a build with assertions and, with
// NDEBUG, becomes __builtin_assume(false) under clang: undefined behaviour on operator input.
// toml++ lets TOML_ASSERT be replaced, but not under NDEBUG (it then turns TOML_ASSERT_ASSUME into
// an assumption regardless), so no configuration of the library turns this into an error;
// instead the raw text is checked here first and such a file gets an error naming the line and
// the rule.
// A second defect: is_non_ascii_horizontal_whitespace() (unicode_autogenerated.h) reaches
// TOML_UNREACHABLE (__builtin_unreachable) for U+00A1-U+0499 and U+FBC6-U+FEFE, and the parser
// asks it about any character between tokens (so `[[appsttpѢ]]` or `a = 1é`), after a backslash
// in a multi-line string, and at the start of the line after a line-ending backslash. TOML 1.0
// allows non-ASCII only inside strings and comments anyway, so it is refused elsewhere; the two
// string cases are refused too (the first is an invalid escape; the second is rare enough that
// moving the backslash is the fix). What is inside a string is what toml++ decides: a quote,
// bracket or '=' inside a bad token or a bare value opens nothing for it, and it reads on to the
// next blank or delimiter, so the pass follows keys, bare values and open brackets as toml++ does
// (cases fuzz_config found).
// A third: parse_value() asserts that a value does not start with a closer, so an array closed
// by '}' (`x = [}`), or an inline table by ']', is refused here.
// The same pass refuses what TOML forbids everywhere (control characters other than tab and
// CR LF; invalid UTF-8), so those errors name their line too.

[[noreturn]] void syntax_error(const std::string& origin, size_t line, size_t column,
                               const std::string& rule) {
  throw ConfigError(origin + ": TOML syntax error at line " + std::to_string(line) + ", column " +
                    std::to_string(column) + ": " + rule);
}

std::string byte_hex(char c) {
  return "0x" + to_hex(std::string_view(&c, 1));
}

// Walks the text once, knowing just enough TOML (comments, the four kinds of strings, and how
// deep inside arrays and inline tables a byte is) to tell a table header from a `[` that opens
// an array on a line of its own.
void check_toml_text(std::string_view text, const std::string& origin) {
  enum class In { kCode, kComment, kBasic, kLiteral, kMultiBasic, kMultiLiteral };
  In in = In::kCode;
  size_t line = 1;
  size_t line_start = 0;
  size_t column = 1;  // of text[i], in characters as toml++ counts them
  bool only_blanks_so_far = true;
  bool in_header = false;
  bool skipping_blanks = false;  // after a line-ending backslash in a multi-line basic string
  std::string open;  // the arrays ('[') and inline tables ('{') of a value still open, innermost
                     // last
  // Whether a key may come here: at a line's start outside a value, and after '{' or ',' in an
  // inline table, until its '='. Only there does a '.' join a key's parts, so that a quote may
  // follow it.
  bool key_position = true;
  // Inside a value written without quotes or brackets (a number, a boolean, a date; or a bad
  // token): toml++ reads it up to a blank, ',', ']', '}', '#' or the line's end, so a quote, a
  // bracket or a '=' there opens nothing (`x =--BB==["é"]`).
  bool in_bare_value = false;
  // The last character outside strings and comments other than a blank ('\n' at a line's
  // start). A quote opens a string only where a key or a value can start; elsewhere (`x = 1'é`)
  // toml++ reads it as part of a bad token, and the rest of the line is code to it. So does a
  // bracket or brace inside such a token (`x = 1t["é"]`): it opens nothing, and the quote after
  // it opens no string; and a '.' where no key can be (`x = 1."é"`).
  char previous_code = '\n';
  constexpr std::string_view kOpensAfter = "\n=[{,";
  const auto starts_with = [&](size_t at, std::string_view s) {
    return text.substr(std::min(at, text.size()), s.size()) == s;
  };
  const auto forbidden_control = [&](size_t at) {
    const auto b = static_cast<unsigned char>(text[at]);
    return (b < 0x20 && b != '\t' && b != '\n' && b != '\r') || b == 0x7F ||
           (b == '\r' && !starts_with(at + 1, "\n"));
  };

  for (size_t i = 0; i < text.size();) {
    const char c = text[i];
    const size_t length = utf8_sequence_length(text, i);
    if (length == 0)
      syntax_error(origin, line, column, "the byte " + byte_hex(c) + " is not UTF-8");
    if (forbidden_control(i)) {
      syntax_error(origin, line, column,
                   "the control character " + byte_hex(c) +
                       " is not allowed in TOML (only tab, and CR directly before LF)");
    }
    if (c == '\n') {
      ++line;
      line_start = i + 1;
      column = 1;
      only_blanks_so_far = true;
      in_header = false;
      previous_code = '\n';
      in_bare_value = false;
      if (open.empty()) {
        key_position = true;
      } else if (open.back() == '[') {
        key_position = false;  // (a multi-line array; inline tables end on their line)
      }
      if (in == In::kComment || in == In::kBasic || in == In::kLiteral) in = In::kCode;
      ++i;
      continue;
    }
    size_t step = length;
    bool in_bad_token = false;  // a byte toml++ reads as part of a token it will refuse
    switch (in) {
      case In::kComment:
        break;
      case In::kBasic:
      case In::kMultiBasic:
        if (skipping_blanks) {
          // The first character after a line-ending backslash goes through toml++'s
          // is_horizontal_whitespace(), see above.
          if (c == ' ' || c == '\t' || c == '\r') break;
          skipping_blanks = false;
          if (length > 1) {
            syntax_error(origin, line, column,
                         "a non-ASCII character cannot start the line after a line-ending "
                         "backslash (toml++ cannot read it; put the backslash after it)");
          }
        }
        if (c == '\\') {
          const char next = i + 1 < text.size() ? text[i + 1] : '\0';
          if ((next & 0x80) != 0) {
            syntax_error(origin, line, column + 1,
                         "a backslash must be followed by an escape (b t n f r \" \\ u U)");
          }
          if (in == In::kMultiBasic &&
              (next == ' ' || next == '\t' || next == '\r' || next == '\n')) {
            skipping_blanks = true;
          } else if (next >= 0x20 && next < 0x7F) {
            step = 2;  // an escaped quote or backslash does not end the string
          }
        } else if (c == '"') {
          if (in == In::kBasic) {
            in = In::kCode;
          } else if (starts_with(i, R"(""")")) {
            // Up to two more quotes right before the closing three belong to the string.
            step = 3;
            while (step < 5 && i + step < text.size() && text[i + step] == '"') ++step;
            in = In::kCode;
          }
        }
        break;
      case In::kLiteral:
        if (c == '\'') in = In::kCode;
        break;
      case In::kMultiLiteral:
        if (starts_with(i, "\'\'\'")) {
          step = 3;
          while (step < 5 && i + step < text.size() && text[i + step] == '\'') ++step;
          in = In::kCode;
        }
        break;
      case In::kCode:
        if (length > 1) {
          syntax_error(origin, line, column,
                       "a non-ASCII character is allowed only inside strings and comments");
        }
        if (in_bare_value) {
          if (std::string_view(" \t\r,]}#").find(c) == std::string_view::npos) {
            in_bad_token = c == '"' || c == '\'' || c == '[' || c == '{' || c == '=' || c == '.';
            break;
          }
          in_bare_value = false;  // and the terminator is read as usual
        }
        if (c == '#') {
          in = In::kComment;
        } else if (!key_position && !in_header &&
                   std::string_view(" \t\r\"'[]{},#=").find(c) == std::string_view::npos) {
          in_bare_value = true;
          // toml++ asserts on some malformed dates and times (`3724-06-55 1#`); no key of ours
          // takes one, so none reaches it.
          const auto digits = [&](size_t from, size_t n) {
            return from + n <= text.size() && std::ranges::all_of(text.substr(from, n), [](char d) {
                     return d >= '0' && d <= '9';
                   });
          };
          if ((digits(i, 4) && starts_with(i + 4, "-")) ||
              (digits(i, 2) && starts_with(i + 2, ":"))) {
            syntax_error(origin, line, column,
                         "a date or time: no key of this configuration takes one (quote it if "
                         "it is meant as text)");
          }
        } else if ((c == '"' || c == '\'') &&
                   kOpensAfter.find(previous_code) == std::string_view::npos &&
                   !(previous_code == '.' && key_position)) {
          // Not where a string can start: an ordinary byte of a token toml++ will refuse.
          in_bad_token = true;
        } else if (c == '"') {
          in = starts_with(i, R"(""")") ? In::kMultiBasic : In::kBasic;
          if (in == In::kMultiBasic) step = 3;
        } else if (c == '\'') {
          in = starts_with(i, "'''") ? In::kMultiLiteral : In::kLiteral;
          if (in == In::kMultiLiteral) step = 3;
        } else if (c == '[' && only_blanks_so_far && open.empty()) {
          // A table header: its name must start the way parse_key() assumes.
          in_header = true;
          size_t name = i + (starts_with(i, "[[") ? 2 : 1);
          while (name < text.size() && (text[name] == ' ' || text[name] == '\t')) ++name;
          const char first = name < text.size() ? text[name] : '\n';
          // A forbidden control character there is reported as such, on the next turn.
          const bool control_next = name < text.size() && forbidden_control(name);
          if (first != ']' && first != '"' && first != '\'' && !is_bare_key_byte(first) &&
              !control_next) {
            syntax_error(origin, line, name - line_start + 1,
                         "a table header's name must start with a letter, a digit, '_', '-' or "
                         "a quote");
          }
          step = name - i;
        } else if ((c == '[' || c == '{') && !in_header) {
          if (kOpensAfter.find(previous_code) == std::string_view::npos) {
            in_bad_token = true;
          } else {
            open.push_back(c);
            key_position = c == '{';
          }
        } else if ((c == ']' || c == '}') && !in_header && !open.empty()) {
          // (toml++ asserts on a value that starts with the wrong closer, `x = [}`.)
          if (c == '}' && open.back() == '[') {
            syntax_error(origin, line, column, "'}' inside an array (an array ends with ']')");
          }
          if (c == ']' && open.back() == '{') {
            syntax_error(origin, line, column,
                         "']' inside an inline table (an inline table ends with '}')");
          }
          open.pop_back();
          key_position = false;
        } else if (c == '=') {
          key_position = false;
        } else if (c == ',' && !open.empty()) {
          key_position = open.back() == '{';
        }
        break;
    }
    if (c != ' ' && c != '\t') {
      only_blanks_so_far = false;
      if (in == In::kCode || in == In::kComment) previous_code = in_bad_token ? 'x' : c;
    }
    // A skipped escape or run of quotes is ASCII: one column a byte.
    column += length == 1 ? step : 1;
    i += step;
  }
}

}  // namespace

Config parse_config(std::string_view toml_text, const std::string& origin) {
  check_toml_text(toml_text, origin);
  toml::table root;
  try {
    root = toml::parse(toml_text, origin);
  } catch (const toml::parse_error& e) {
    const auto& where = e.source().begin;
    throw ConfigError(origin + ": TOML syntax error at line " + std::to_string(where.line) +
                      ", column " + std::to_string(where.column) + ": " +
                      std::string(e.description()));
  }

  ConfigReader r(origin);
  r.reject_unknown_keys(
      root, "", {"listen", "data_dir", "tls", "http", "gateway", "webhooks", "apps", "cluster"});
  Config cfg;
  if (const toml::node* n = root.get("listen")) read_listen(r, *n, cfg);
  if (const toml::node* n = root.get("data_dir")) cfg.data_dir = r.non_empty_string(*n, "data_dir");
  // Nodes forward to each other over plain HTTP: TLS ends at the load balancer in front.
  if (root.get("tls") != nullptr && root.get("cluster") != nullptr) {
    r.fail("tls", "cannot be combined with [cluster]: terminate TLS at the load balancer",
           root.get("tls"));
  }
  if (const toml::node* n = root.get("tls")) cfg.tls = read_tls(r, *n);
  if (const toml::node* n = root.get("http")) cfg.http = read_http(r, *n);
  if (const toml::node* n = root.get("gateway")) cfg.gateway = read_gateway(r, *n);
  if (const toml::node* n = root.get("webhooks")) cfg.webhooks = read_webhooks(r, *n);
  if (const toml::node* n = root.get("cluster")) cfg.cluster = read_cluster(r, *n);
  read_apps(r, root, cfg);
  return cfg;
}

Config load_config_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw ConfigError(path + ": is a directory, not a configuration file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw ConfigError(path + ": cannot open the configuration file: " + std::strerror(errno));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    throw ConfigError(path + ": cannot read the configuration file: " + std::strerror(errno));
  }
  return parse_config(text.str(), path);
}

}  // namespace liveroom::config
