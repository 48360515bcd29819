// An admin client sends the same UserSig with every request, and a full verification (base64,
// inflate, JSON, HMAC) costs microseconds; remembering sigs that already passed turns that into
// one hash lookup. The cache must never widen what verify_usersig accepts: the entry is bound to
// everything the verdict depended on (sdkappid, identifier, key, sig) and keeps the absolute
// expiry, so a cached sig stops working at the same second an uncached one would.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/error.h"

namespace liveroom::auth {

class UserSigVerifier {
 public:
  static constexpr std::size_t kDefaultMaxEntries = 100'000;

  // `max_entries` bounds the number of cached sigs (0 disables the cache).
  explicit UserSigVerifier(std::size_t max_entries = kDefaultMaxEntries);
  UserSigVerifier(const UserSigVerifier&) = delete;
  UserSigVerifier& operator=(const UserSigVerifier&) = delete;

  // Same verdict and codes as verify_usersig(usersig, sdkappid, identifier, key, now).
  // Thread-safe.
  Result<void> verify(uint64_t sdkappid, std::string_view identifier, std::string_view usersig,
                      std::string_view key, int64_t now);

  // Number of cached sigs (for tests and metrics).
  std::size_t size() const;

  static constexpr std::size_t kShards = 16;

 private:
  struct Lookup {
    std::size_t hash;
    uint64_t sdkappid;
    std::string_view identifier, key, usersig;
  };
  struct Entry {
    std::size_t hash;
    uint64_t sdkappid;
    std::string identifier, key, usersig;
  };
  // The hash is computed once per call and carried in the key, so the map does not rehash the
  // strings and the shard choice uses the same value.
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(const Entry& e) const { return e.hash; }
    std::size_t operator()(const Lookup& l) const { return l.hash; }
  };
  struct Eq {
    using is_transparent = void;
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      return a.hash == b.hash && a.sdkappid == b.sdkappid && a.usersig == b.usersig &&
             a.identifier == b.identifier && a.key == b.key;
    }
  };
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<Entry, int64_t, Hash, Eq> expiry_by_sig;  // absolute unix expiry
    std::size_t capacity = 0;
  };
  static std::size_t hash_of(uint64_t sdkappid, std::string_view identifier, std::string_view key,
                             std::string_view usersig);

  std::array<Shard, kShards> shards_;
};

}  // namespace liveroom::auth
