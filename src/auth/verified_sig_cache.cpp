// Sharding keeps request threads that verify different sigs off each other's mutex; only
// successes are cached, so the cache can only be filled by someone holding an app's key, and
// failures always take the full (slow, precise-error) path.
#include "auth/verified_sig_cache.h"

#include <functional>
#include <limits>

#include "auth/usersig.h"

namespace liveroom::auth {

static_assert(UserSigVerifier::kShards == 16, "verify() picks the shard from the top 4 hash bits");

UserSigVerifier::UserSigVerifier(std::size_t max_entries) {
  // Split the bound exactly: shard i gets max/kShards, plus one for the first max%kShards.
  for (std::size_t i = 0; i < kShards; ++i) {
    shards_[i].capacity = max_entries / kShards + (i < max_entries % kShards ? 1 : 0);
  }
}

std::size_t UserSigVerifier::hash_of(uint64_t sdkappid, std::string_view identifier,
                                     std::string_view key, std::string_view usersig) {
  const std::hash<std::string_view> h;
  std::size_t x = h(usersig);
  x = (x ^ h(identifier)) * 0x9E3779B97F4A7C15ull;
  x = (x ^ h(key)) * 0x9E3779B97F4A7C15ull;
  x = (x ^ sdkappid) * 0xC2B2AE3D27D4EB4Full;
  return x ^ (x >> 29);
}

Result<void> UserSigVerifier::verify(uint64_t sdkappid, std::string_view identifier,
                                     std::string_view usersig, std::string_view key, int64_t now) {
  const Lookup probe{hash_of(sdkappid, identifier, key, usersig), sdkappid, identifier, key,
                     usersig};
  // Top bits pick the shard; the map's buckets use the low bits.
  Shard& shard = shards_[probe.hash >> (std::numeric_limits<std::size_t>::digits - 4)];
  {
    std::lock_guard lock(shard.mu);
    auto it = shard.expiry_by_sig.find(probe);
    if (it != shard.expiry_by_sig.end()) {
      const int64_t expiry = it->second;
      if (now <= expiry) return {};
      shard.expiry_by_sig.erase(it);
      return fail(Code::kSigExpired, "UserSig expired at " + std::to_string(expiry) + " (now " +
                                         std::to_string(now) + ")");
    }
  }

  auto claims = verify_usersig(usersig, sdkappid, identifier, key, now);
  if (!claims) return std::unexpected(std::move(claims.error()));
  if (shard.capacity == 0) return {};

  int64_t expiry = 0;
  if (__builtin_add_overflow(claims->time, claims->expire, &expiry)) {
    expiry = std::numeric_limits<int64_t>::max();  // verify_usersig passed, so it overflowed up
  }
  std::lock_guard lock(shard.mu);
  // Bound: a full shard is emptied rather than trimmed. Eviction order hardly matters here
  // (a normal deployment caches a handful of admin sigs and never reaches the bound; only key
  // holders can add entries), clearing is O(1) amortised with no per-entry bookkeeping on the
  // hit path, and losing 1/kShards of the cache only costs those sigs one re-verification.
  if (shard.expiry_by_sig.size() >= shard.capacity && !shard.expiry_by_sig.contains(probe)) {
    shard.expiry_by_sig.clear();
  }
  shard.expiry_by_sig.try_emplace(
      Entry{probe.hash, sdkappid, std::string(identifier), std::string(key), std::string(usersig)},
      expiry);
  return {};
}

std::size_t UserSigVerifier::size() const {
  std::size_t n = 0;
  for (const Shard& s : shards_) {
    std::lock_guard lock(s.mu);
    n += s.expiry_by_sig.size();
  }
  return n;
}

}  // namespace liveroom::auth
