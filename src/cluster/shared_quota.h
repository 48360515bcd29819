// Placement by room (docs/cluster.md): an app's calls of one command run on the hosts of all its
// slots, yet the quota Tencent documents is one bucket per app and command. The bucket then lives
// in Redis: each call takes its token there with one script (one round trip), the same token
// bucket as quota::QuotaTable's (one second's worth, refilled continuously), on Redis's clock.
// Only commands with a limit ask (a limit of 0, unlimited, costs nothing).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "cluster/redis_client.h"

namespace liveroom::cluster {

class SharedQuota {
 public:
  SharedQuota(RedisAddress address, std::string key_prefix, std::chrono::milliseconds timeout);
  ~SharedQuota();
  SharedQuota(const SharedQuota&) = delete;
  SharedQuota& operator=(const SharedQuota&) = delete;

  // Takes a token from the bucket of (sdkappid, command), whose rate is `limit` per second: 60007
  // when it is empty (the message a single node gives), 100001 when Redis does not answer.
  // Thread-safe: each calling thread borrows a connection of its own.
  Result<void> take(uint32_t sdkappid, std::string_view command, uint32_t limit);

 private:
  std::unique_ptr<RedisClient> borrow();
  void give_back(std::unique_ptr<RedisClient> client);

  const RedisAddress address_;
  const std::string key_prefix_;
  const std::chrono::milliseconds timeout_;
  std::mutex mu_;
  std::vector<std::unique_ptr<RedisClient>> idle_;  // at most one per thread that asked at once
};

}  // namespace liveroom::cluster
