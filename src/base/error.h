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
  kTooFrequent = 100012,
  kTooManyAdmins = 100020,
  kRoomHasNoSeats = 100211,
  kCallbackTokenMissing = 100302,
  // IM codes the client gateway answers where the client SDKs have none of their own.
  kBannedFromRoom = 10007,
  kRoomFull = 10014,
  kMessageVetoed = 10016,  // Group.CallbackBeforeSendMsg refused the message
  // Client SDK codes (spec §3.4), answered by the client gateway only. Engine rules that both
  // the gateway and REST enforce fail with these; REST answers their rest_equivalent().
  kClientGeneric = -1,
  kClientRateLimited = -2,
  kClientRepeated = -3,  // the operation is done or under way already
  kClientBadParameter = -1001,
  kClientNotLoggedIn = -1002,
  kClientRoomNotFound = -2100,
  kClientNotInRoom = -2101,
  kClientOwnerCannotLeave = -2102,
  kClientInAnotherRoom = -2108,
  kClientUserNotFound = -2200,  // here: a room's owner is not online in it
  kClientOwnerOnly = -2300,
  kClientManagerOnly = -2301,
  kClientAlreadySeated = -2341,
  kClientSeatTaken = -2342,
  kClientSeatLocked = -2343,
  kClientNoSuchSeat = -2344,
  kClientNotSeated = -2345,
  kClientSeatsFull = -2346,
  kClientAllMuted = -2380,
  kClientYouAreMuted = -2381,
};

struct Error {
  Code code = Code::kInternal;
  std::string info;
};

template <typename T>
using Result = std::expected<T, Error>;

// The default ErrorInfo of a code, used when the failing step has nothing more precise to say.
std::string_view default_info(Code code);

// What a REST call answers for a code: client SDK codes (negative) become the REST code of the
// same rule (a seat rule is a parameter error, 100002; a missing room 100004).
Code rest_equivalent(Code code);
// What the client gateway answers for a code: 100004 is the SDK's -2100.
Code client_equivalent(Code code);

inline int wire_code(Code code) {
  return static_cast<int>(code);
}

// Builds the failure value; an empty info takes the table's default text.
inline std::unexpected<Error> fail(Code code, std::string info = {}) {
  if (info.empty()) info = std::string(default_info(code));
  return std::unexpected<Error>(Error{code, std::move(info)});
}

}  // namespace liveroom
