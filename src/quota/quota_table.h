// Tencent documents a "maximum calling frequency" per SDKAppID and API (spec live-api.md §1.4),
// and clients are written against it (the official console paces gift calls at 1.1 s), so we
// enforce the same limits by default while letting an operator raise, lower or disable them per
// app. One token bucket per (sdkappid, command) holding one second's worth of tokens gives the
// documented rate with the burst a client expects after a pause.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/error.h"
#include "base/string_hash.h"
#include "config/config.h"

namespace liveroom::quota {

class QuotaTable {
 public:
  using Clock = std::chrono::steady_clock;

  QuotaTable();
  // configure_app for every app of the configuration.
  explicit QuotaTable(const std::vector<config::AppConfig>& apps);
  ~QuotaTable();
  QuotaTable(const QuotaTable&) = delete;
  QuotaTable& operator=(const QuotaTable&) = delete;

  // Sets (or replaces, refilling every bucket) the limits of one app. An app never configured
  // gets the spec defaults. Thread-safe.
  void configure_app(uint32_t sdkappid, const config::RateLimits& limits);

  // Takes one token from the bucket of (sdkappid, command), or fails with 60007 naming the
  // command and its limit. `command` is the last path segment (a "service/command" path is
  // accepted too). Thread-safe; no allocation once the bucket exists.
  Result<void> try_acquire(uint32_t sdkappid, std::string_view command, Clock::time_point now);

  // Requests per second allowed for the command; 0 = unlimited.
  uint32_t limit_for(uint32_t sdkappid, std::string_view command) const;

  // The limit the spec documents for a command (live-api.md §1.4).
  static uint32_t spec_default(std::string_view command);
  // The 60007 of a call over its limit.
  static Error over_limit(uint32_t sdkappid, std::string_view command, uint32_t limit);
  // The bucket name: the last path segment, with get_room_statistic folded into get_room_stats.
  static std::string_view canonical_command(std::string_view command);

 private:
  struct Bucket;
  struct App;
  using BucketMap = std::unordered_map<std::string, Bucket, StringHash, std::equal_to<>>;

  App* find_or_create_app(uint32_t sdkappid, std::shared_lock<std::shared_mutex>& lock);
  static std::unique_ptr<App> make_app(uint32_t sdkappid, const config::RateLimits* limits);

  mutable std::shared_mutex mu_;  // guards apps_ (the map, not the buckets)
  std::unordered_map<uint32_t, std::unique_ptr<App>> apps_;
  std::size_t unconfigured_apps_ = 0;
  std::unique_ptr<App> unconfigured_overflow_;
};

}  // namespace liveroom::quota
