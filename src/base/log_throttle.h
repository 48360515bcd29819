// Lets a log line that may repeat many times a second (an accept that keeps failing, Redis that
// is down, a follower of another version retrying) through at most once per interval, and says
// how many it held back meanwhile: the failure is reported, the log is not flooded. Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>

namespace liveroom {

class LogThrottle {
 public:
  explicit LogThrottle(std::chrono::steady_clock::duration interval) : interval_(interval) {}

  // Whether to log this occurrence: if so, how many were held back since the last one logged.
  std::optional<uint64_t> allow(
      std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now()) {
    const int64_t now_ns = now.time_since_epoch() / std::chrono::nanoseconds(1);
    int64_t last = last_ns_.load(std::memory_order_relaxed);
    if (now_ns - last >= interval_ns() &&
        last_ns_.compare_exchange_strong(last, now_ns, std::memory_order_relaxed)) {
      return held_back_.exchange(0, std::memory_order_relaxed);
    }
    held_back_.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
  }

 private:
  int64_t interval_ns() const { return interval_ / std::chrono::nanoseconds(1); }

  const std::chrono::steady_clock::duration interval_;
  std::atomic<int64_t> last_ns_{INT64_MIN / 2};  // long ago: the first occurrence is logged
  std::atomic<uint64_t> held_back_{0};
};

}  // namespace liveroom
