#include "domain/room_json.h"

namespace liveroom::domain {

// Members of RoomInfo, in the order of Tencent's samples. `w` is inside the RoomInfo object.
void write_room_info(JsonWriter& w, const Room& r, size_t members) {
  w.field("RoomId", r.room_id)
      .field("RoomName", r.name)
      .field("RoomType", "Live")
      .field("Owner_Account", r.owner)
      .field("CreateTime", r.create_time)
      .field("IsSeatEnabled", r.seat_count > 0)
      .field("SeatTemplate", r.seat_template)
      .field("TakeSeatMode", to_string(r.take_seat_mode))
      .field("MaxSeatCount", r.seat_count)
      .field("MaxMemberCount", r.max_member_count)
      .field("IsMessageDisabled", r.is_message_disabled)
      .field("IsPublicVisible", r.is_public_visible)
      .field("IsLikeEnabled", r.is_like_enabled)
      .field("IsGiftEnabled", r.is_gift_enabled)
      .field("IsUnlimitedRoomEnabled", r.is_unlimited_room_enabled)
      .field("KeepOwnerOnSeat", r.keep_owner_on_seat)
      .field("CoverURL", r.cover_url)
      .field("BackgroundURL", r.background_url)
      .field("Notice", r.notice)
      .field("CustomInfo", r.custom_info);
  w.key("Category").begin_array();
  for (int64_t c : r.category) w.value(c);
  w.end_array();
  w.field("ActivityStatus", r.activity_status)
      .field("ViewCount", r.view_count)
      // Both names for the members in the room now (the console's Manager reads either).
      .field("MemberCount", static_cast<int64_t>(members))
      .field("OnlineCount", static_cast<int64_t>(members));
}

void write_seat_list(JsonWriter& w, const std::vector<Seat>& seats) {
  w.begin_array();
  for (uint32_t i = 0; i < seats.size(); ++i) {
    w.begin_object().field("Index", i);
    if (!seats[i].member.empty()) w.field("Member_Account", seats[i].member);
    w.field("IsTakenDisabled", seats[i].taken_disabled)
        .field("IsVideoDisabled", seats[i].video_disabled)
        .field("IsAudioDisabled", seats[i].audio_disabled)
        .end_object();
  }
  w.end_array();
}

void write_statistic(JsonWriter& w, const RoomStatistic& stats, bool with_msg_count) {
  w.field("TotalViewers", stats.total_viewers)
      .field("TotalGiftsSent", stats.total_gifts_sent)
      .field("TotalGiftCoins", stats.total_gift_coins)
      .field("TotalUniqueGiftSenders", stats.total_unique_gift_senders)
      .field("TotalLikesReceived", stats.total_likes_received);
  if (with_msg_count) w.field("TotalMsgCount", stats.total_msg_count);
}

}  // namespace liveroom::domain
