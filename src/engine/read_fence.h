// What a reply must wait for: the store sequence number of the last write it made or looked at
// (room_engine.h explains the rule).
#pragma once

#include <cstdint>

namespace liveroom::engine {

struct ReadFence {
  uint64_t seq = 0;
  void observe(uint64_t s) {
    if (s > seq) seq = s;
  }
};

}  // namespace liveroom::engine
