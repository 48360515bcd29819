// The RoomInfo fields a request may set, decoded with the rules of create_room and
// update_room_info. The client gateway's update_room_info uses the same decoder, so a field has one
// set of rules whichever way it arrives.
#pragma once

#include "api/fields.h"
#include "domain/room.h"

namespace liveroom::api {

Result<domain::RoomPatch> decode_room_patch(const Fields& room_info);

}  // namespace liveroom::api
