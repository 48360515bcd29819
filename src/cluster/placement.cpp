#include "cluster/placement.h"

#include <algorithm>

namespace liveroom::cluster {

uint64_t placement_score(uint32_t sdkappid, std::string_view node_id) {
  uint64_t h = 14695981039346656037ull;  // FNV-1a
  const auto mix = [&h](unsigned char byte) {
    h ^= byte;
    h *= 1099511628211ull;
  };
  for (int shift = 0; shift < 32; shift += 8) mix(static_cast<unsigned char>(sdkappid >> shift));
  for (char c : node_id) mix(static_cast<unsigned char>(c));
  h ^= h >> 33;  // FNV's low bits mix poorly for short keys
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return h;
}

const std::string& preferred_node(uint32_t sdkappid, const std::vector<std::string>& candidates) {
  return *std::max_element(candidates.begin(), candidates.end(), [&](const auto& a, const auto& b) {
    return placement_score(sdkappid, a) < placement_score(sdkappid, b);
  });
}

}  // namespace liveroom::cluster
