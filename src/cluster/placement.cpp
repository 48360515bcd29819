#include "cluster/placement.h"

#include <algorithm>

namespace liveroom::cluster {

namespace {

constexpr uint64_t kFnvOffset = 14695981039346656037ull;
constexpr uint64_t kFnvPrime = 1099511628211ull;

uint64_t score(uint32_t sdkappid, std::optional<uint32_t> slot, std::string_view node_id) {
  uint64_t h = kFnvOffset;  // FNV-1a
  const auto mix = [&h](unsigned char byte) {
    h ^= byte;
    h *= kFnvPrime;
  };
  for (int shift = 0; shift < 32; shift += 8) mix(static_cast<unsigned char>(sdkappid >> shift));
  if (slot) {
    // (After the app's bytes and before the node's, so that an app's score stays what it was.)
    mix('/');
    for (int shift = 0; shift < 32; shift += 8) mix(static_cast<unsigned char>(*slot >> shift));
  }
  for (char c : node_id) mix(static_cast<unsigned char>(c));
  h ^= h >> 33;  // FNV's low bits mix poorly for short keys
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return h;
}

}  // namespace

uint64_t placement_score(uint32_t sdkappid, std::string_view node_id) {
  return score(sdkappid, std::nullopt, node_id);
}

uint64_t placement_score(const LeaseScope& scope, std::string_view node_id) {
  return score(scope.sdkappid, scope.slot, node_id);
}

const std::string& preferred_node(const LeaseScope& scope,
                                  const std::vector<std::string>& candidates) {
  return *std::max_element(candidates.begin(), candidates.end(), [&](const auto& a, const auto& b) {
    return placement_score(scope, a) < placement_score(scope, b);
  });
}

const std::string& preferred_node(uint32_t sdkappid, const std::vector<std::string>& candidates) {
  return *std::max_element(candidates.begin(), candidates.end(), [&](const auto& a, const auto& b) {
    return placement_score(sdkappid, a) < placement_score(sdkappid, b);
  });
}

}  // namespace liveroom::cluster
