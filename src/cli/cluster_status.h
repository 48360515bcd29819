// `liveroomd cluster status`: what an operator asks first of a cluster (who leads, which nodes
// run, is anything piling up), answered from the two places that know: Redis (the lease and the
// node registry, docs/cluster.md) and PostgreSQL (the epoch, the rooms, the webhook outbox). It
// reads them directly with the credentials of a node's config file, so it works when no node
// answers HTTP, and changes nothing.
#pragma once

#include <string>

namespace liveroom::cli {

// Prints the status (a table, or one JSON object with `json`); returns the exit code: 0 when a
// leader holds the lease and serves, 1 when none does (a takeover in progress, or no node
// running), 2 when the status cannot be read (no [cluster] table, Redis or PostgreSQL
// unreachable). With placement by app, each app of the config has its own lease and epoch
// instead of the cluster's: 0 when every app's lease is held, 1 when one is not.
int print_cluster_status(const std::string& config_path, bool json);

}  // namespace liveroom::cli
