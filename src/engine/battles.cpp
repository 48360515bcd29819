// PK battles (spec §2.6, the client SDK's BattleStore): a timed contest between live rooms. The
// asking room is in it from the start; invited rooms accept or reject; the battle starts when the
// first accepts and lasts its Duration. A room's score is the coins of the gifts it receives
// while it is in the running battle (engine/gifts.cpp adds them, durably, with the gift). Every
// member of every room in the battle sees it change (BattleChanged), its scores (BattleScore, at
// most every kBattleScorePushMs) and its end with the result (BattleEnded). It ends when its time
// is up, when fewer than two rooms are left in it, when nobody accepted, or when an App
// administrator ends it (end_battle). Create, start and end go through the webhook outbox.
//
// Locking: as co-hosting (cohosting.cpp), under AppState::cross.mu, before any room's lock.
#include <algorithm>

#include <fmt/format.h>

#include "engine/room_engine_internal.h"
#include "engine/room_events.h"

namespace liveroom::engine {

namespace {

using domain::BattleRoomState;
using domain::BattleStatus;

// With placement by room (`slots` > 0) the id falls in `slot`, its asking room's: a call that
// names only the battle then reaches the host of its rooms. (One try in `slots` does.)
std::string new_battle_id(uint32_t slots, uint32_t slot) {
  while (true) {
    std::string id = "battle_" + random_event_id().substr(0, 20);
    if (slots == 0 || domain::room_slot(id, slots) == slot) return id;
  }
}

}  // namespace

void RoomEngine::set_room_battle(AppState& a, std::string_view room_id,
                                 std::optional<RoomEntry::Battle> battle) {
  ReadFence fence;
  (void)with_room(a.options.sdkappid, room_id, fence,
                  [&](AppState&, RoomShard&, RoomEntry& entry) -> Result<void> {
                    entry.battle = std::move(battle);
                    return {};
                  });
}

void RoomEngine::collect_scores(AppState& a, domain::Battle& battle, bool release) {
  for (auto& r : battle.rooms) {
    if (r.state != BattleRoomState::kJoined) continue;
    ReadFence fence;
    (void)with_room(a.options.sdkappid, r.room_id, fence,
                    [&](AppState&, RoomShard&, RoomEntry& entry) -> Result<void> {
                      if (entry.battle && entry.battle->battle_id == battle.battle_id) {
                        r.score = std::max(r.score, entry.battle->score);
                        if (release) entry.battle.reset();
                      }
                      return {};
                    });
  }
}

uint64_t RoomEngine::write_battle(AppState& a, const domain::Battle& battle,
                                  std::string_view command, const Actor& actor, ReadFence& fence) {
  uint64_t seq = 0;
  {
    // The asking room orders the battle's webhooks: its shard numbers them and the commit goes
    // in under its lock, as every room event does.
    const std::string& room_id = battle.rooms.front().room_id;
    RoomShard& shard = shard_of(a, room_id);
    std::lock_guard lock(shard.mu);
    std::vector<store::Change> changes{store::PutBattle{a.options.sdkappid, battle}};
    PendingEvents events;
    if (!command.empty()) {
      emit(
          a, shard, room_id, command,
          [&] {
            return battle_payload(command, battle, actor.operator_account, clock_.unix_millis());
          },
          actor, changes, events);
    }
    seq = submit(std::move(changes), std::move(events));
  }
  a.cross.battles_seq = seq;
  fence.observe(seq);
  for (const auto& r : battle.rooms) {
    const bool told = r.state == BattleRoomState::kJoined || r.state == BattleRoomState::kLeft;
    if (!told) continue;
    ReadFence ignored;
    (void)with_room(a.options.sdkappid, r.room_id, ignored,
                    [&](AppState&, RoomShard&, RoomEntry& entry) -> Result<void> {
                      if (entry.presence && entry.presence->audience) {
                        entry.presence->audience->battle_changed(seq, battle);
                      }
                      return {};
                    });
  }
  return seq;
}

Result<CreatedBattle> RoomEngine::create_battle(uint32_t sdkappid, const std::string& from_room,
                                                const std::vector<std::string>& to_rooms,
                                                int64_t duration_ms, int64_t invite_timeout_ms,
                                                const std::string& extension_info,
                                                const std::string& owner, const Actor& actor,
                                                ReadFence& fence) {
  AppState* a = app(sdkappid);
  if (!a) return fail(Code::kSdkAppIdInvalid);
  settle_cross_room(*a);
  CrossRoom& x = a->cross;
  std::lock_guard lock(x.mu);
  auto from_owner =
      read_room(sdkappid, from_room, fence, [](const domain::Room& room) { return room.owner; });
  if (!from_owner) return std::unexpected(from_owner.error());
  if (!owner.empty()) {
    if (auto ok = check_online_owner(*a, from_room, owner); !ok) {
      return std::unexpected(ok.error());
    }
    auto mine = x.connection_of.find(from_room);
    for (const auto& to : to_rooms) {
      auto theirs = x.connection_of.find(to);
      if (mine == x.connection_of.end() || theirs == x.connection_of.end() ||
          mine->second != theirs->second) {
        return fail(Code::kNotPermitted,
                    fmt::format("room '{}' does not co-host with room '{}': battles are between "
                                "connected rooms",
                                to, from_room));
      }
    }
  }
  if (x.battle_of.contains(from_room)) {
    return fail(Code::kNotPermitted, fmt::format("room '{}' is in another battle", from_room));
  }

  const int64_t now = clock_.unix_millis();
  domain::Battle battle;
  battle.battle_id = new_battle_id(room_slots_, domain::room_slot(from_room, room_slots_));
  battle.duration_ms = duration_ms;
  battle.extension_info = extension_info;
  battle.create_ms = now;
  battle.rooms.push_back({from_room, *from_owner, BattleRoomState::kJoined, 0, 0});
  CreatedBattle created;
  for (const auto& to : to_rooms) {
    BattleInvite answer{to, kBattleInvited, {}};
    ReadFence ignored;
    auto to_owner =
        read_room(sdkappid, to, ignored, [](const domain::Room& room) { return room.owner; });
    if (to == from_room || battle.room(to)) {
      answer = {to, kBattleRoomUnavailable, "listed twice, or the asking room itself"};
    } else if (room_slots_ > 0 &&
               domain::room_slot(to, room_slots_) != domain::room_slot(from_room, room_slots_)) {
      answer = {to, kBattleRoomUnavailable,
                fmt::format("room '{}' is in another slot than room '{}' (placement = \"room\" "
                            "runs a battle between rooms of one slot only, for now)",
                            to, from_room)};
    } else if (!to_owner) {
      answer = {to, kBattleRoomUnavailable, fmt::format("room '{}' does not exist", to)};
    } else if (x.battle_of.contains(to)) {
      answer = {to, kBattleRoomBusy, fmt::format("room '{}' is in another battle", to)};
    } else {
      battle.rooms.push_back(
          {to, *to_owner, BattleRoomState::kInvited, 0, now + invite_timeout_ms});
    }
    created.results.push_back(std::move(answer));
  }
  if (battle.rooms.size() < 2) return created;  // nobody to fight: no battle

  created.battle_id = battle.battle_id;
  for (const auto& r : battle.rooms) x.battle_of.insert_or_assign(r.room_id, battle.battle_id);
  set_room_battle(*a, from_room, RoomEntry::Battle{battle.battle_id, 0, 0});
  const uint64_t seq = write_battle(*a, battle, domain::kAfterCreateBattle, actor, fence);
  for (size_t i = 1; i < battle.rooms.size(); ++i) {
    tell_owner(*a, battle.rooms[i].room_id,
               BattleInvitationNotice{battle.battle_id, from_room, owner, duration_ms,
                                      extension_info, invite_timeout_ms},
               seq);
  }
  x.battles.emplace(battle.battle_id, std::move(battle));
  timed_work_added();  // its invitations' and its own time-outs, its scores
  return created;
}

void RoomEngine::start_battle(AppState& a, domain::Battle& battle, ReadFence& fence) {
  battle.status = BattleStatus::kRunning;
  battle.start_ms = clock_.unix_millis();
  battle.end_ms = battle.start_ms + battle.duration_ms;
  for (const auto& r : battle.rooms) {
    if (r.state != BattleRoomState::kJoined) continue;
    set_room_battle(a, r.room_id, RoomEntry::Battle{battle.battle_id, 0, battle.end_ms});
  }
  write_battle(a, battle, domain::kAfterStartBattle, Actor{}, fence);
}

void RoomEngine::finish_battle(AppState& a, domain::Battle& battle, std::string reason,
                               const Actor& actor, ReadFence& fence) {
  collect_scores(a, battle, true);
  const int64_t now = clock_.unix_millis();
  battle.status = BattleStatus::kEnded;
  battle.end_reason = std::move(reason);
  battle.end_ms = battle.start_ms == 0 ? now : std::min(now, battle.end_ms);
  for (auto& r : battle.rooms) {
    auto it = a.cross.battle_of.find(r.room_id);
    if (it != a.cross.battle_of.end() && it->second == battle.battle_id) {
      a.cross.battle_of.erase(it);
    }
  }
  write_battle(a, battle, domain::kAfterEndBattle, actor, fence);
  // Ended battles stay answerable by id for a while; the oldest go.
  auto& ended = a.cross.ended_battles;
  ended.push_back(battle.battle_id);
  while (ended.size() > kEndedBattlesKept) {
    submit({store::DeleteBattle{a.options.sdkappid, ended.front()}}, {});
    a.cross.battles.erase(a.cross.battles.find(ended.front()));
    ended.pop_front();
  }
}

void RoomEngine::drop_from_battle(AppState& a, domain::Battle& battle, std::string_view room_id,
                                  std::string_view reason, ReadFence& fence) {
  domain::BattleRoom* r = battle.room(room_id);
  if (!r) return;
  if (r->state == BattleRoomState::kJoined) {
    domain::Battle scored = battle;
    collect_scores(a, scored, false);
    r->score = scored.room(room_id)->score;
    set_room_battle(a, room_id, std::nullopt);
    r->state = BattleRoomState::kLeft;
  } else if (r->state == BattleRoomState::kInvited) {
    r->state = BattleRoomState::kRejected;
  } else {
    return;
  }
  a.cross.battle_of.erase(std::string(room_id));
  const bool waiting = std::ranges::any_of(battle.rooms, [](const domain::BattleRoom& x) {
    return x.state == BattleRoomState::kInvited;
  });
  if (battle.status == BattleStatus::kRunning && battle.joined() < 2) {
    finish_battle(a, battle, "AllLeft", Actor{}, fence);
  } else if (battle.status == BattleStatus::kInviting && (battle.joined() == 0 || !waiting)) {
    finish_battle(a, battle, battle.joined() == 0 ? std::string(reason) : "NobodyAccepted", Actor{},
                  fence);
  } else {
    write_battle(a, battle, {}, Actor{}, fence);
  }
}

Result<void> RoomEngine::respond_battle(uint32_t sdkappid, std::string_view room_id,
                                        const std::string& owner, std::string_view battle_id,
                                        bool accept, ReadFence& fence) {
  return as_online_owner(sdkappid, room_id, owner, [&](AppState& a) -> Result<void> {
    auto it = a.cross.battles.find(battle_id);
    domain::BattleRoom* r = it == a.cross.battles.end() ? nullptr : it->second.room(room_id);
    if (!r || r->state != BattleRoomState::kInvited) {
      return fail(Code::kClientBadParameter,
                  fmt::format("room '{}' has no invitation to battle '{}'", room_id, battle_id));
    }
    domain::Battle& battle = it->second;
    const std::string from = battle.rooms.front().room_id;
    fence.observe(a.cross.battles_seq);
    if (!accept) {
      tell_owner(a, from, BattleReplyNotice{battle.battle_id, std::string(room_id), "Rejected"});
      drop_from_battle(a, battle, room_id, "NobodyAccepted", fence);
      return {};
    }
    r->state = BattleRoomState::kJoined;
    if (battle.status == BattleStatus::kInviting) {
      start_battle(a, battle, fence);
    } else {
      set_room_battle(a, room_id, RoomEntry::Battle{battle.battle_id, 0, battle.end_ms});
      write_battle(a, battle, {}, Actor{}, fence);
    }
    tell_owner(a, from, BattleReplyNotice{battle.battle_id, std::string(room_id), "Accepted"},
               a.cross.battles_seq);
    return {};
  });
}

Result<void> RoomEngine::leave_battle(uint32_t sdkappid, std::string_view room_id,
                                      const std::string& owner, ReadFence& fence) {
  return as_online_owner(sdkappid, room_id, owner, [&](AppState& a) -> Result<void> {
    auto of = a.cross.battle_of.find(room_id);
    auto it =
        of == a.cross.battle_of.end() ? a.cross.battles.end() : a.cross.battles.find(of->second);
    if (it == a.cross.battles.end() ||
        it->second.room(room_id)->state != BattleRoomState::kJoined) {
      return fail(Code::kClientBadParameter, fmt::format("room '{}' is in no battle", room_id));
    }
    drop_from_battle(a, it->second, room_id, "AllLeft", fence);
    return {};
  });
}

Result<domain::Battle> RoomEngine::end_battle(uint32_t sdkappid, std::string_view battle_id,
                                              const Actor& actor, ReadFence& fence) {
  AppState* a = app(sdkappid);
  if (!a) return fail(Code::kSdkAppIdInvalid);
  settle_cross_room(*a);
  std::lock_guard lock(a->cross.mu);
  fence.observe(a->cross.battles_seq);
  auto it = a->cross.battles.find(battle_id);
  if (it == a->cross.battles.end()) {
    return fail(Code::kInvalidParameter, fmt::format("BattleId '{}' does not exist", battle_id));
  }
  if (it->second.status == BattleStatus::kEnded) {
    return fail(Code::kInvalidParameter, fmt::format("battle '{}' has ended already", battle_id));
  }
  finish_battle(*a, it->second, "EndedByAdmin", actor, fence);
  return it->second;
}

Result<domain::Battle> RoomEngine::battle_info(uint32_t sdkappid, std::string_view battle_id,
                                               std::string_view room_id, ReadFence& fence) {
  AppState* a = app(sdkappid);
  if (!a) return fail(Code::kSdkAppIdInvalid);
  settle_cross_room(*a);
  std::lock_guard lock(a->cross.mu);
  fence.observe(a->cross.battles_seq);
  std::string id(battle_id);
  if (id.empty()) {
    auto of = a->cross.battle_of.find(room_id);
    if (of == a->cross.battle_of.end()) {
      return fail(Code::kInvalidParameter, fmt::format("room '{}' is in no battle", room_id));
    }
    id = of->second;
  }
  auto it = a->cross.battles.find(id);
  if (it == a->cross.battles.end()) {
    return fail(Code::kInvalidParameter, fmt::format("BattleId '{}' does not exist", id));
  }
  domain::Battle battle = it->second;
  if (battle.status != BattleStatus::kEnded) collect_scores(*a, battle, false);
  return battle;
}

void RoomEngine::settle_battles(AppState& a, const std::vector<std::string>& gone_rooms) {
  CrossRoom& x = a.cross;
  ReadFence fence;
  for (const auto& room_id : gone_rooms) {
    auto of = x.battle_of.find(room_id);
    if (of == x.battle_of.end()) continue;
    // Only a dismissed room leaves its battle; an owner who went offline stays in it.
    if (ReadFence ignored;
        read_room(a.options.sdkappid, room_id, ignored, [](const domain::Room&) { return 0; })) {
      continue;
    }
    drop_from_battle(a, x.battles.at(of->second), room_id, "RoomDismissed", fence);
  }
  const int64_t now = clock_.unix_millis();
  for (auto& [id, battle] : x.battles) {
    if (battle.status == BattleStatus::kEnded) continue;
    if (battle.status == BattleStatus::kRunning && battle.end_ms <= now) {
      finish_battle(a, battle, "Timeout", Actor{}, fence);
      continue;
    }
    for (size_t i = 1; i < battle.rooms.size() && battle.status != BattleStatus::kEnded; ++i) {
      domain::BattleRoom& r = battle.rooms[i];
      if (r.state != BattleRoomState::kInvited || r.invited_until_ms > now) continue;
      tell_owner(a, battle.rooms.front().room_id,
                 BattleReplyNotice{battle.battle_id, r.room_id, "TimedOut"});
      drop_from_battle(a, battle, std::string(r.room_id), "NobodyAccepted", fence);
    }
  }

  // Scores: at most one push per kBattleScorePushMs, with every battle scored since the last.
  std::set<std::string, std::less<>> scored;
  {
    std::lock_guard lock(x.unsettled_mu);
    if (x.scored_battles.empty() || now - x.last_score_push_ms < kBattleScorePushMs) return;
    scored.swap(x.scored_battles);
  }
  x.last_score_push_ms = now;
  for (const auto& id : scored) {
    auto it = x.battles.find(id);
    if (it == x.battles.end() || it->second.status != BattleStatus::kRunning) continue;
    domain::Battle battle = it->second;
    collect_scores(a, battle, false);
    for (const auto& r : battle.rooms) {
      if (r.state != BattleRoomState::kJoined && r.state != BattleRoomState::kLeft) continue;
      ReadFence ignored;
      (void)with_room(a.options.sdkappid, r.room_id, ignored,
                      [&](AppState&, RoomShard&, RoomEntry& entry) -> Result<void> {
                        if (entry.presence && entry.presence->audience) {
                          entry.presence->audience->battle_scores(entry.seq, battle);
                        }
                        return {};
                      });
    }
  }
}

}  // namespace liveroom::engine
