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
};

// [http]: transport limits.
struct HttpConfig {
  unsigned io_threads = 0;                // threads running the I/O loop; 0 = one per core
  uint32_t max_header_bytes = 8 * 1024;   // request line + headers
  uint32_t max_body_bytes = 1024 * 1024;  // request body
  uint32_t read_timeout_ms = 10'000;      // rest of a request, once its first byte arrived
  uint32_t idle_timeout_ms = 60'000;      // waiting for a request; writing a response
  uint32_t max_connections = 10'000;
};

struct Config {
  std::string listen = "127.0.0.1:8080";  // HOST:PORT
  std::string data_dir = "./data";
  std::optional<TlsConfig> tls;
  HttpConfig http;
  std::vector<AppConfig> apps;
};

// Parses and validates the file; throws ConfigError naming the file, key and rule.
Config load_config_file(const std::string& path);
// Same for TOML text (tests); `origin` names the source in messages.
Config parse_config(std::string_view toml_text, const std::string& origin = "config");

}  // namespace liveroom::config
