#include "base/error.h"

namespace liveroom {

std::string_view default_info(Code code) {
  switch (code) {
    case Code::kOk:
      return "";
    case Code::kHttpParse:
      return "HTTP parse error: malformed request URL";
    case Code::kJsonParse:
      return "request body is not valid JSON";
    case Code::kSdkAppIdInvalid:
      return "SDKAppID invalid";
    case Code::kRateLimited:
      return "REST API call rate exceeded";
    case Code::kMalformedRequest:
      return "malformed HTTP request";
    case Code::kBadPath:
      return "bad resource: check the request path";
    case Code::kNotAppAdmin:
      return "the call requires App administrator permission";
    case Code::kSdkAppIdMissing:
      return "sdkappid missing from the URL";
    case Code::kAccountNotString:
      return "account fields must be strings";
    case Code::kSigExpired:
      return "UserSig expired";
    case Code::kSigEmpty:
      return "UserSig length is 0";
    case Code::kSigUndecodable:
      return "UserSig could not be decoded";
    case Code::kSigBadSignature:
      return "UserSig verification failed: wrong key";
    case Code::kSigIdentifierMismatch:
      return "identifier does not match the UserSig";
    case Code::kSigSdkAppIdMismatch:
      return "sdkappid does not match the UserSig";
    case Code::kAccountNotImported:
      return "account not imported";
    case Code::kInternal:
      return "internal server error, retry";
    case Code::kInvalidParameter:
      return "invalid parameter";
    case Code::kRoomIdTaken:
      return "RoomId already exists";
    case Code::kRoomNotFound:
      return "room does not exist";
    case Code::kNotPermitted:
      return "operation not permitted";
    case Code::kRoomExistsSameOwner:
      return "RoomId already exists with the same Owner_Account";
    case Code::kCreateTooFrequent:
      return "same RoomId created more than once per second";
    case Code::kTooManyAdmins:
      return "a room has at most 5 admins";
    case Code::kRoomHasNoSeats:
      return "room does not support seats";
    case Code::kCallbackTokenMissing:
      return "callback token is not configured";
  }
  return "unknown error";
}

}  // namespace liveroom
