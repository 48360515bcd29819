// The RoomInfo object with get_room_info's field names. The get_room_info reply and the
// Live.CallbackAfterUpdateRoomInfo callback both write it, so the two can never drift apart.
#pragma once

#include "base/json_writer.h"
#include "domain/room.h"

namespace liveroom::domain {

// Writes the members of RoomInfo into the object `w` is inside (the caller opens and closes it).
// `members`: the room's members right now (MemberCount / OnlineCount).
void write_room_info(JsonWriter& w, const Room& room, size_t members);
// The SeatList array of get_seat_list, Mic.CallbackAfterSeatInfoChanged and the gateway.
void write_seat_list(JsonWriter& w, const std::vector<Seat>& seats);
// The Statistic members (destroy_room, the destroy callback, the gateway); the caller opens and
// closes the object. The destroy callback documents five totals; replies add TotalMsgCount.
void write_statistic(JsonWriter& w, const RoomStatistic& stats, bool with_msg_count);

}  // namespace liveroom::domain
