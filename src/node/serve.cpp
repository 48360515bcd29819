#include "node/serve.h"

#include <sys/resource.h>

#include <algorithm>

#include <spdlog/spdlog.h>

#include "server/http_server.h"

namespace liveroom::node {
namespace {

// Every member holds a socket: lift the soft limit on open files to the hard one.
void raise_open_file_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

// Each connection holds a descriptor, and so do the store, the listener, every I/O thread and
// each webhook connection: keep [http] max_connections within what the descriptor limit allows,
// or accept fails with EMFILE under load instead of refusing cleanly.
void clamp_max_connections(config::Config& cfg) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return;
  const uint64_t soft = limit.rlim_cur;
  const uint64_t reserved = 128 + 4 * uint64_t{cfg.webhooks.connections_per_url};
  const uint64_t usable = soft > 2 * reserved ? soft - reserved : soft / 2;
  if (cfg.http.max_connections <= usable) return;
  spdlog::warn(
      "[http] max_connections = {} exceeds what the open-file limit ({}) allows; serving "
      "at most {} connections (raise LimitNOFILE / ulimit -n to allow more)",
      cfg.http.max_connections, soft, usable);
  cfg.http.max_connections = static_cast<uint32_t>(std::max<uint64_t>(usable, 1));
}

config::Config load_config(const std::string& config_path, const std::string& listen_override,
                           const std::string& data_dir_override) {
  config::Config cfg = config::load_config_file(config_path);
  if (!listen_override.empty()) cfg.listen = listen_override;
  if (!data_dir_override.empty()) cfg.data_dir = data_dir_override;
  clamp_max_connections(cfg);
  return cfg;
}

}  // namespace

int serve(const std::string& config_path, const std::string& listen_override,
          const std::string& data_dir_override, std::vector<char*> command_line) {
  server::block_termination_signals();
  raise_open_file_limit();
  config::Config cfg = load_config(config_path, listen_override, data_dir_override);
  return cfg.cluster ? serve_cluster(std::move(cfg), std::move(command_line))
                     : serve_single(std::move(cfg));
}

}  // namespace liveroom::node
