// Which node should host an app (placement by app, docs/cluster.md "Placement"), or a slot of an
// app's rooms (placement by room): rendezvous hashing. Each (app, node) pair gets a score, and an
// app's preferred node is the candidate with the highest, so a node joining or leaving moves only
// the apps it wins or held. Every node computes the same answer from the same list of live nodes,
// with nothing to agree on.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace liveroom::cluster {

// The score of `node_id` for `sdkappid`: the same on every node, build and platform.
uint64_t placement_score(uint32_t sdkappid, std::string_view node_id);

// The node among `candidates` (not empty) that should host `sdkappid`.
const std::string& preferred_node(uint32_t sdkappid, const std::vector<std::string>& candidates);

// What one lease covers: an app (its slot none) or one slot of an app's rooms.
struct LeaseScope {
  uint32_t sdkappid = 0;
  std::optional<uint32_t> slot;
  bool operator==(const LeaseScope&) const = default;
};
// The score of `node_id` for a slot; an app's (no slot) is placement_score(sdkappid, node_id).
uint64_t placement_score(const LeaseScope& scope, std::string_view node_id);
const std::string& preferred_node(const LeaseScope& scope,
                                  const std::vector<std::string>& candidates);

}  // namespace liveroom::cluster
