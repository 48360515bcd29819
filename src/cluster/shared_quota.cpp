#include "cluster/shared_quota.h"

#include <fmt/format.h>

#include "quota/quota_table.h"

namespace liveroom::cluster {
namespace {

// KEYS[1] the bucket, ARGV[1] its limit per second. The bucket holds its tokens and the time of
// its last refill (Redis's TIME, in ms: every node's call sees the same clock). It expires after
// a minute unused: a full bucket and no bucket are the same.
constexpr std::string_view kTakeToken = R"lua(
local limit = tonumber(ARGV[1])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = limit
  at = now
elseif now > at then
  tokens = math.min(limit, tokens + (now - at) * limit / 1000)
  at = now
end
local taken = 0
if tokens >= 1 then
  tokens = tokens - 1
  taken = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(at))
redis.call('PEXPIRE', KEYS[1], 60000)
return taken
)lua";

}  // namespace

SharedQuota::SharedQuota(RedisAddress address, std::string key_prefix,
                         std::chrono::milliseconds timeout)
    : address_(std::move(address)), key_prefix_(std::move(key_prefix)), timeout_(timeout) {}

SharedQuota::~SharedQuota() = default;

std::unique_ptr<RedisClient> SharedQuota::borrow() {
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      auto client = std::move(idle_.back());
      idle_.pop_back();
      return client;
    }
  }
  return std::make_unique<RedisClient>(address_, timeout_, "liveroomd-quota");
}

void SharedQuota::give_back(std::unique_ptr<RedisClient> client) {
  std::lock_guard lock(mu_);
  idle_.push_back(std::move(client));
}

Result<void> SharedQuota::take(uint32_t sdkappid, std::string_view command, uint32_t limit) {
  if (limit == 0) return {};
  const std::string key = fmt::format("{}:quota:{}:{}", key_prefix_, sdkappid, command);
  auto client = borrow();
  RedisReply reply;
  try {
    reply = client->command({"EVAL", std::string(kTakeToken), "1", key, std::to_string(limit)});
  } catch (const RedisError& e) {
    // (The client reconnects at its next command.)
    give_back(std::move(client));
    return fail(
        Code::kInternal,
        fmt::format("cluster: the quota of {} cannot be checked: {}; retry", command, e.what()));
  }
  give_back(std::move(client));
  const auto* taken = std::get_if<long long>(&reply);
  if (taken == nullptr) {
    return fail(Code::kInternal,
                fmt::format("cluster: Redis answered the quota of {} with no number", command));
  }
  if (*taken == 1) return {};
  return std::unexpected(quota::QuotaTable::over_limit(sdkappid, command, limit));
}

}  // namespace liveroom::cluster
