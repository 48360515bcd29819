// Running one liveroomd process: on the embedded store alone, or as a node of a cluster
// (docs/cluster.md). Each returns the process's exit status once a SIGTERM or SIGINT has
// stopped it cleanly, and throws what stops it from starting.
#pragma once

#include <string>
#include <vector>

#include "config/config.h"

namespace liveroom::node {

// Loads the configuration (`listen`/`data_dir` override it when not empty) and serves it: as a
// cluster node when it has a [cluster] table. `command_line` is this process's argv (ending in a
// null pointer): a cluster node that loses its leadership starts it again in its place.
int serve(const std::string& config_path, const std::string& listen_override,
          const std::string& data_dir_override, std::vector<char*> command_line);

int serve_single(config::Config cfg);
int serve_cluster(config::Config cfg, std::vector<char*> command_line);

}  // namespace liveroom::node
