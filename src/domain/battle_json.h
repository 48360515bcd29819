// A battle as get_battle_info answers it (spec §2.6); the gateway's battle events and the battle
// webhooks carry the same object, so the three never drift apart.
#pragma once

#include "base/json_writer.h"
#include "domain/battle.h"

namespace liveroom::domain {

// Writes the members of the battle object into the object `w` is inside (the caller opens and
// closes it): BattleId, Duration (ms), StartTime, EndTime (Unix s; 0 before the start), Status,
// FromRoomInfo{RoomId, Score, Owner_Account, Status}, ToRoomList[same], ExtensionInfo, and once
// it ended EndReason, WinnerRoomIdList and IsDraw.
void write_battle_info(JsonWriter& w, const Battle& battle);
// ScoreList: [{RoomId, Score}] of the rooms that took part.
void write_battle_scores(JsonWriter& w, const Battle& battle);

}  // namespace liveroom::domain
