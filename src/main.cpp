// liveroomd: the command line. `serve` runs the server (node/serve.h); `usersig gen|verify`
// help operators answer "why is my sig rejected?" without a server; `webhooks` and `cluster`
// ask a running server or cluster.
#include <CLI/CLI.hpp>

#include <iostream>
#include <optional>
#include <vector>

#include <spdlog/spdlog.h>

#include "auth/usersig.h"
#include "base/clock.h"
#include "base/log.h"
#include "cli/admin_client.h"
#include "cli/cluster_status.h"
#include "node/serve.h"

int main(int argc, char** argv) {
  std::vector<char*> command_line(argv, argv + argc);
  command_line.push_back(nullptr);
  CLI::App app{"liveroomd: a self-hosted server for Tencent Cloud's Live room REST API"};
  app.require_subcommand(1);

  std::string config_path, listen, data_dir;
  std::string log_format = "text", log_level = "info";
  auto* serve_cmd = app.add_subcommand("serve", "run the server");
  serve_cmd->add_option("--log-format", log_format, "text or json (one JSON object a line)");
  serve_cmd->add_option("--log-level", log_level, "trace, debug, info, warn, error or critical");
  serve_cmd->add_option("--config", config_path, "TOML configuration file")->required();
  serve_cmd->add_option("--listen", listen, "HOST:PORT to listen on (overrides the config)");
  serve_cmd->add_option("--data-dir", data_dir, "data directory (overrides the config)");

  auto* usersig_cmd = app.add_subcommand("usersig", "generate or verify a UserSig");
  usersig_cmd->require_subcommand(1);
  uint32_t sdkappid = 0;
  std::string key, identifier, sig;
  int64_t expire = 180 * 86400;
  std::optional<int64_t> now;
  auto* gen = usersig_cmd->add_subcommand("gen", "print a UserSig");
  gen->add_option("--sdkappid", sdkappid)->required();
  gen->add_option("--key", key, "the app's secret key")->required();
  gen->add_option("--identifier", identifier)->required();
  gen->add_option("--expire", expire, "validity in seconds (default 180 days)");
  auto* verify = usersig_cmd->add_subcommand("verify", "check a UserSig as the server would");
  verify->add_option("--sdkappid", sdkappid)->required();
  verify->add_option("--key", key, "the app's secret key")->required();
  verify->add_option("--identifier", identifier)->required();
  verify->add_option("--usersig", sig)->required();
  verify->add_option("--now", now, "Unix time to check expiry against (default: now)");

  auto* webhooks_cmd = app.add_subcommand("webhooks", "inspect and replay webhook dead letters");
  webhooks_cmd->require_subcommand(1);
  std::optional<uint32_t> hook_app;
  std::vector<uint64_t> replay_ids;
  auto* dead_cmd =
      webhooks_cmd->add_subcommand("dead-letters", "list the dead letters of the running server");
  dead_cmd->add_option("--config", config_path, "the server's TOML configuration")->required();
  dead_cmd->add_option("--sdkappid", hook_app, "the app (default: the first in the config)");
  auto* replay_cmd = webhooks_cmd->add_subcommand("replay", "queue dead letters again");
  replay_cmd->add_option("--config", config_path, "the server's TOML configuration")->required();
  replay_cmd->add_option("--sdkappid", hook_app, "the app (default: the first in the config)");
  replay_cmd->add_option("--id", replay_ids, "dead-letter Ids (default: all)");
  liveroom::cli::TlsVerify tls_verify;
  for (auto* cmd : {dead_cmd, replay_cmd}) {
    cmd->add_option("--ca-file", tls_verify.ca_file,
                    "with [tls]: CA certificates (PEM) to verify the server with (default: the "
                    "system's)");
    cmd->add_option("--tls-name", tls_verify.server_name,
                    "with [tls]: the host name the certificate must carry (default: the listen "
                    "host)");
    cmd->add_flag("--insecure-skip-verify", tls_verify.insecure_skip_verify,
                  "with [tls]: do not verify the server's certificate");
  }

  auto* cluster_cmd = app.add_subcommand("cluster", "inspect a cluster (docs/cluster.md)");
  cluster_cmd->require_subcommand(1);
  bool status_json = false;
  auto* status_cmd = cluster_cmd->add_subcommand(
      "status", "who leads, which nodes run, what is queued (from Redis and PostgreSQL)");
  status_cmd->add_option("--config", config_path, "a node's TOML configuration")->required();
  status_cmd->add_flag("--json", status_json, "one JSON object instead of a table");

  CLI11_PARSE(app, argc, argv);
  if (*status_cmd) return liveroom::cli::print_cluster_status(config_path, status_json);
  if (*dead_cmd) return liveroom::cli::print_dead_letters(config_path, hook_app, tls_verify);
  if (*replay_cmd) {
    return liveroom::cli::replay_dead_letters(config_path, hook_app, replay_ids, tls_verify);
  }

  try {
    if (*serve_cmd) {
      auto format = liveroom::parse_log_format(log_format);
      auto level = liveroom::parse_log_level(log_level);
      if (!format || !level) {
        std::cerr << "liveroomd: --log-format must be text or json, --log-level a spdlog level\n";
        return 2;
      }
      liveroom::init_logging(*format, *level);
      return liveroom::node::serve(config_path, listen, data_dir, std::move(command_line));
    }
    liveroom::SystemClock clock;
    if (*gen) {
      std::cout << liveroom::auth::generate_usersig(sdkappid, key, identifier, expire,
                                                    clock.unix_seconds())
                << "\n";
      return 0;
    }
    auto result = liveroom::auth::verify_usersig(sig, sdkappid, identifier, key,
                                                 now.value_or(clock.unix_seconds()));
    if (result) {
      std::cout << "valid\n";
      return 0;
    }
    std::cout << "invalid " << liveroom::wire_code(result.error().code) << " "
              << result.error().info << "\n";
    return 1;
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
    return 2;
  }
}
