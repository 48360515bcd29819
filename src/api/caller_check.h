// The first checks of every REST call, in the order docs/compatibility.md gives: the query
// string names one of this server's apps (60002, 60003, 60006) and a UserSig that verifies for
// its identifier (70001 and the other UserSig codes). The router runs them on every call, and a
// cluster follower before it answers a read from what it kept (follower_reads.h).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "auth/verified_sig_cache.h"
#include "base/error.h"
#include "config/config.h"

namespace liveroom::api {

class CallerCheck {
 public:
  explicit CallerCheck(const std::vector<config::AppConfig>& apps);

  struct Caller {
    uint32_t sdkappid = 0;
    std::string identifier, usersig;
  };
  // The caller `query` names, or the error the API answers. Thread-safe.
  Result<Caller> check(std::string_view query, int64_t now_unix_seconds);

 private:
  std::unordered_map<uint32_t, std::string> secret_keys_;  // by sdkappid
  auth::UserSigVerifier verifier_;                         // (remembers sigs that passed)
};

}  // namespace liveroom::api
