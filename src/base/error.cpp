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
    case Code::kTooFrequent:
      return "called too often: the same RoomId created twice in a second, or a gift command over "
             "1 per second";
    case Code::kTooManyAdmins:
      return "a room has at most 5 admins";
    case Code::kRoomHasNoSeats:
      return "room does not support seats";
    case Code::kCallbackTokenMissing:
      return "callback token is not configured";
    case Code::kBannedFromRoom:
      return "banned from this room";
    case Code::kRoomFull:
      return "the room is full";
    case Code::kMessageVetoed:
      return "the app backend refused this message (Group.CallbackBeforeSendMsg)";
    case Code::kClientGeneric:
      return "failed";
    case Code::kClientRateLimited:
      return "too many requests on this connection";
    case Code::kClientRepeated:
      return "done or under way already";
    case Code::kClientUserNotFound:
      return "user not found";
    case Code::kClientBadParameter:
      return "invalid parameter";
    case Code::kClientNotLoggedIn:
      return "not logged in: send login first";
    case Code::kClientRoomNotFound:
      return "room does not exist";
    case Code::kClientNotInRoom:
      return "enter the room first";
    case Code::kClientOwnerCannotLeave:
      return "the owner cannot leave a Live room; dismiss it instead";
    case Code::kClientInAnotherRoom:
      return "already in another room";
    case Code::kClientOwnerOnly:
      return "only the room owner may do this";
    case Code::kClientManagerOnly:
      return "only the room owner or an admin may do this";
    case Code::kClientAlreadySeated:
      return "already on a seat";
    case Code::kClientSeatTaken:
      return "the seat is taken";
    case Code::kClientSeatLocked:
      return "the seat is locked";
    case Code::kClientNoSuchSeat:
      return "no such seat";
    case Code::kClientNotSeated:
      return "not on a seat";
    case Code::kClientSeatsFull:
      return "every seat is taken";
    case Code::kClientAllMuted:
      return "messages are disabled in this room";
    case Code::kClientYouAreMuted:
      return "you are muted";
  }
  return "unknown error";
}

Code rest_equivalent(Code code) {
  if (code == Code::kClientRoomNotFound) return Code::kRoomNotFound;
  if (code == Code::kClientOwnerOnly || code == Code::kClientManagerOnly) {
    return Code::kNotPermitted;
  }
  if (code == Code::kBannedFromRoom || code == Code::kRoomFull) return Code::kNotPermitted;
  return static_cast<int>(code) < 0 ? Code::kInvalidParameter : code;
}

Code client_equivalent(Code code) {
  return code == Code::kRoomNotFound ? Code::kClientRoomNotFound : code;
}

}  // namespace liveroom
