// The one error table of liveroom. Every failure on the request path is a value of type Error:
// a Tencent ErrorCode plus an ErrorInfo that names the field and the rule that failed. The
// envelope turns it into {"ActionStatus":"FAIL","ErrorCode":...,"ErrorInfo":...}.
//
// It lives in base/ (the lowest layer) because auth, domain and engine all produce these codes
// and must not include the api layer above them.
#pragma once

#include <cstdint>
#include <expected>
#include <string>
#include <string_view>

namespace liveroom {

// The underlying value of each enumerator is the Tencent ErrorCode on the wire.
enum class Code : int {
  kOk = 0,
  // REST gateway codes (spec §3.1).
  kHttpParse = 60002,
  kJsonParse = 60003,
  kSdkAppIdInvalid = 60006,
  kRateLimited = 60007,
  kMalformedRequest = 60008,
  kBadPath = 60009,
  kNotAppAdmin = 60010,
  kSdkAppIdMissing = 60012,
  kAccountNotString = 60015,
  // Account / UserSig codes (spec §3.2).
  kSigExpired = 70001,
  kSigEmpty = 70002,
  kSigUndecodable = 70003,
  kSigBadSignature = 70009,
  kSigIdentifierMismatch = 70013,
  kSigSdkAppIdMismatch = 70014,
  kAccountNotImported = 70107,
  // Live private codes (spec §3.3).
  kInternal = 100001,
  kInvalidParameter = 100002,
  kRoomIdTaken = 100003,
  kRoomNotFound = 100004,
  kNotPermitted = 100006,
  kRoomExistsSameOwner = 100010,
  kCreateTooFrequent = 100012,
  kTooManyAdmins = 100020,
  kRoomHasNoSeats = 100211,
  kCallbackTokenMissing = 100302,
};

struct Error {
  Code code = Code::kInternal;
  std::string info;
};

template <typename T>
using Result = std::expected<T, Error>;

// The default ErrorInfo of a code, used when the failing step has nothing more precise to say.
std::string_view default_info(Code code);

inline int wire_code(Code code) {
  return static_cast<int>(code);
}

// Builds the failure value; an empty info takes the table's default text.
inline std::unexpected<Error> fail(Code code, std::string info = {}) {
  if (info.empty()) info = std::string(default_info(code));
  return std::unexpected<Error>(Error{code, std::move(info)});
}

}  // namespace liveroom
