#include "domain/battle_json.h"

namespace liveroom::domain {

namespace {

void write_room(JsonWriter& w, const BattleRoom& r) {
  w.begin_object()
      .field("RoomId", r.room_id)
      .field("Score", r.score)
      .field("Owner_Account", r.owner)
      .field("Status", to_string(r.state))
      .end_object();
}

}  // namespace

void write_battle_info(JsonWriter& w, const Battle& b) {
  w.field("BattleId", b.battle_id)
      .field("Duration", b.duration_ms)
      .field("StartTime", b.start_ms / 1000)
      .field("EndTime", b.start_ms == 0 ? int64_t{0} : b.end_ms / 1000)
      .field("Status", static_cast<int64_t>(b.status))
      .key("FromRoomInfo");
  write_room(w, b.rooms.front());
  w.key("ToRoomList").begin_array();
  for (size_t i = 1; i < b.rooms.size(); ++i) write_room(w, b.rooms[i]);
  w.end_array().field("ExtensionInfo", b.extension_info);
  if (b.status == BattleStatus::kEnded) {
    const std::vector<std::string> winners = b.winners();
    w.field("EndReason", b.end_reason).key("WinnerRoomIdList").begin_array();
    for (const auto& id : winners) w.value(id);
    w.end_array().field("IsDraw", winners.size() > 1);
  }
}

void write_battle_scores(JsonWriter& w, const Battle& b) {
  w.begin_array();
  for (const auto& r : b.rooms) {
    if (r.state != BattleRoomState::kJoined && r.state != BattleRoomState::kLeft) continue;
    w.begin_object().field("RoomId", r.room_id).field("Score", r.score).end_object();
  }
  w.end_array();
}

}  // namespace liveroom::domain
