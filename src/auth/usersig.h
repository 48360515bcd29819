// Every REST call is authenticated by a Tencent TLSSigAPIv2 UserSig, and clients produce them with
// Tencent's SDKs in half a dozen languages that disagree on JSON style and compression level. This
// module is the single place that knows the format (shared/spec/usersig.md), so the decoder
// tolerates everything those SDKs emit and nothing else, and every rejection says which check
// failed: "70009" alone is the most common support question about this API.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"

namespace liveroom::auth {

// The members of a decoded UserSig, after JSON unescaping.
struct UserSigClaims {
  std::string identifier;              // TLS.identifier, exact UTF-8 bytes
  uint32_t sdkappid = 0;               // TLS.sdkappid
  int64_t time = 0;                    // TLS.time, unix seconds of issue
  int64_t expire = 0;                  // TLS.expire, seconds relative to time
  std::optional<std::string> userbuf;  // TLS.userbuf (standard base64) iff the member exists
  std::string sig;                     // TLS.sig (standard base64 of the HMAC)
};

// Largest inflated JSON accepted; real payloads are 150-400 bytes.
inline constexpr std::size_t kMaxUserSigPayloadBytes = 64 * 1024;

// Undoes the three layers (Tencent base64, zlib, JSON) and checks the member types. Does not
// check the MAC, the expiry or the request's sdkappid/identifier.
// Errors: 70002 empty; 70003 for every decoding failure, with the failed check in the info.
Result<UserSigClaims> decode_usersig(std::string_view usersig);

// decode_usersig, then (in this order) sdkappid (70014), identifier byte for byte (70013),
// expiry `now > time + expire` (70001) and the HMAC-SHA256 under `key`, used as text (70009).
// The returned claims are those of the accepted sig.
Result<UserSigClaims> verify_usersig(std::string_view usersig, uint64_t sdkappid,
                                     std::string_view identifier, std::string_view key,
                                     int64_t now);

// Issues a sig the way Tencent's SDKs do (compact JSON, zlib level 6, Tencent base64). With
// `userbuf_bytes` the raw bytes are base64-encoded into TLS.userbuf and signed, even when empty.
// The identifier must be valid UTF-8 for the result to verify.
std::string generate_usersig(uint32_t sdkappid, std::string_view key, std::string_view identifier,
                             int64_t expire, int64_t now,
                             std::optional<std::string_view> userbuf_bytes = std::nullopt);

// The exact text the HMAC covers (spec "The text that is signed").
std::string usersig_signed_text(std::string_view identifier, uint64_t sdkappid, int64_t time,
                                int64_t expire, std::optional<std::string_view> userbuf);

}  // namespace liveroom::auth
