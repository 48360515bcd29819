// RoomEngine's core: construction, loading the store's snapshot, the lookup of apps and of a
// room's shard, the public list index, and the room helpers every file uses (columns_of,
// normalized_seats). The calls live in one file per capability: rooms.cpp, messages.cpp,
// moderation.cpp, seats.cpp, members.cpp, event_outbox.cpp (room_events.cpp builds the callback
// bodies), callback_config.cpp and accounts.cpp; room_engine_internal.h holds what they share.
#include "engine/room_engine.h"

#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace liveroom::engine {

domain::Room columns_of(domain::Room& room) {
  auto metadata = std::exchange(room.metadata, {});
  auto moderation = std::exchange(room.moderation, {});
  domain::Room columns = room;
  room.metadata = std::move(metadata);
  room.moderation = std::move(moderation);
  return columns;
}

std::vector<domain::Seat> normalized_seats(std::vector<domain::Seat> seats) {
  const bool pristine =
      std::all_of(seats.begin(), seats.end(), [](const domain::Seat& s) { return s.pristine(); });
  return pristine ? std::vector<domain::Seat>{} : std::move(seats);
}

namespace {

std::vector<uint32_t> sdkappids_of(const std::vector<AppOptions>& apps) {
  std::vector<uint32_t> ids;
  for (const auto& app : apps) ids.push_back(app.sdkappid);
  return ids;
}

}  // namespace

RoomEngine::RoomEngine(store::Store& store, const Clock& clock, std::vector<AppOptions> apps)
    : store_(store), clock_(clock), gifts_(store, clock, sdkappids_of(apps)) {
  for (auto& options : apps) {
    auto state = std::make_unique<AppState>();
    state->admins.insert(options.admins.begin(), options.admins.end());
    state->options = std::move(options);
    apps_.emplace(state->options.sdkappid, std::move(state));
  }
}

RoomEngine::~RoomEngine() = default;

void RoomEngine::load(store::Snapshot snapshot) {
  gifts_.load(snapshot);
  size_t skipped = 0;
  const int64_t loaded_at = std::max<int64_t>(1, clock_.steady_millis());  // 0 means online
  for (auto& [sdkappid, room] : snapshot.rooms) {
    AppState* a = app(sdkappid);
    if (!a) {
      ++skipped;
      continue;
    }
    reindex(*a, nullptr, &room);
    // Presence is soft state, but a member on a seat is stored: it comes back as a member that
    // went offline at this load, so it keeps its seat and role if it re-enters within the grace
    // period (a client reconnecting after a restart or a cluster failover gets its room back),
    // and leaves the seat when the period ends (set_audience_factory schedules that).
    const auto& robots = room.moderation.robots;
    std::unique_ptr<Presence> presence;
    auto member = [&presence](const std::string& user) -> Member& {
      if (!presence) presence = std::make_unique<Presence>();
      return presence->members[user];
    };
    for (const auto& robot : robots) member(robot).robot = true;
    for (const auto& seat : room.moderation.seats) {
      if (seat.member.empty() ||
          std::find(robots.begin(), robots.end(), seat.member) != robots.end()) {
        continue;
      }
      member(seat.member).offline_since = loaded_at;
    }
    std::string id = room.room_id;
    shard_of(*a, id).rooms.emplace(std::move(id),
                                   RoomEntry{std::move(room), 0, std::move(presence)});
  }
  for (auto& [sdkappid, account] : snapshot.accounts) {
    AppState* a = app(sdkappid);
    if (!a) {
      ++skipped;
      continue;
    }
    std::string id = account.user_id;
    a->accounts.emplace(std::move(id), AccountEntry{std::move(account), 0});
  }
  // A room's last event number: the recorded one, or a higher one still in the outbox.
  auto raise_seq = [this](uint32_t sdkappid, const std::string& room_id, uint64_t seq) {
    if (AppState* a = app(sdkappid)) {
      uint64_t& last = shard_of(*a, room_id).event_seq[room_id];
      last = std::max(last, seq);
    }
  };
  for (auto& [sdkappid, room_id, last_seq] : snapshot.room_event_seqs) {
    raise_seq(sdkappid, room_id, last_seq);
  }
  for (const auto& entry : snapshot.outbox)
    raise_seq(entry.sdkappid, entry.room_id, entry.room_seq);
  for (auto& [sdkappid, room_id, user_id, recent] : snapshot.gift_senders) {
    AppState* a = app(sdkappid);
    if (!a) continue;
    RoomShard& shard = shard_of(*a, room_id);
    if (auto it = shard.rooms.find(room_id); it != shard.rooms.end()) {
      it->second.gift_senders.insert_or_assign(std::move(user_id), std::move(recent));
    }
  }
  // Battles: the running ones take their rooms back (a battle whose end passed while the server
  // was down ends at the first tick, with these scores); ended ones stay answerable by id.
  std::ranges::sort(snapshot.battles, {},
                    [](const store::PutBattle& b) { return b.battle.end_ms; });
  for (auto& [sdkappid, battle] : snapshot.battles) {
    AppState* a = app(sdkappid);
    if (!a) continue;
    if (battle.status == domain::BattleStatus::kEnded) {
      a->cross.ended_battles.push_back(battle.battle_id);
    } else {
      for (const auto& r : battle.rooms) {
        if (r.state != domain::BattleRoomState::kInvited &&
            r.state != domain::BattleRoomState::kJoined) {
          continue;
        }
        a->cross.battle_of.insert_or_assign(r.room_id, battle.battle_id);
        RoomShard& shard = shard_of(*a, r.room_id);
        auto it = shard.rooms.find(r.room_id);
        if (r.state == domain::BattleRoomState::kJoined && it != shard.rooms.end()) {
          const bool running = battle.status == domain::BattleStatus::kRunning;
          it->second.battle =
              RoomEntry::Battle{battle.battle_id, r.score, running ? battle.end_ms : int64_t{0}};
        }
      }
    }
    std::string id = battle.battle_id;
    a->cross.battles.insert_or_assign(std::move(id), std::move(battle));
  }
  for (auto& [sdkappid, config] : snapshot.callback_configs) {
    if (AppState* a = app(sdkappid)) a->api_callbacks = std::move(config);
  }
  uint64_t max_outbox_id = 0;
  for (const auto& entry : snapshot.outbox) max_outbox_id = std::max(max_outbox_id, entry.id);
  // The store may say where new ids start (a PostgreSQL store's reserved block, see
  // Snapshot::first_outbox_id).
  next_outbox_id_ = std::max(max_outbox_id + 1, snapshot.first_outbox_id);
  if (skipped)
    spdlog::warn("store holds {} rows of apps that are not configured; kept on disk", skipped);
}

void RoomEngine::set_audience_factory(AudienceFactory* factory, PresenceOptions options) {
  audience_factory_ = factory;
  presence_options_ = options;
  // The members load() brought back offline (seated ones) leave when their grace period ends.
  for (const auto& [sdkappid, a] : apps_) {
    for (auto& shard : a->shards) {
      std::lock_guard lock(shard.mu);
      for (const auto& [room_id, entry] : shard.rooms) {
        if (!entry.presence) continue;
        for (const auto& [user, m] : entry.presence->members) {
          if (m.robot || m.connection || m.offline_since == 0) continue;
          schedule(m.offline_since + options.grace_ms,
                   Deadline{sdkappid, DeadlineKind::kGrace, room_id, user});
        }
      }
    }
  }
}

RoomEngine::AppState* RoomEngine::app(uint32_t sdkappid) const {
  auto it = apps_.find(sdkappid);
  return it == apps_.end() ? nullptr : it->second.get();
}

bool RoomEngine::has_app(uint32_t sdkappid) const {
  return app(sdkappid) != nullptr;
}

bool RoomEngine::is_app_admin(uint32_t sdkappid, std::string_view user_id) const {
  AppState* a = app(sdkappid);
  return a && a->admins.contains(user_id);
}

size_t RoomEngine::room_count() const {
  size_t n = 0;
  for (const auto& [id, a] : apps_) {
    for (const auto& shard : a->shards) {
      std::lock_guard lock(shard.mu);
      n += shard.rooms.size();
    }
  }
  return n;
}

RoomEngine::RoomShard& RoomEngine::shard_of(AppState& app, std::string_view room_id) {
  return app.shards[StringHash{}(room_id) % kShards];
}

Error RoomEngine::room_not_found(std::string_view room_id) {
  return Error{Code::kRoomNotFound, fmt::format("room '{}' does not exist", room_id)};
}

void RoomEngine::reindex(AppState& app, const domain::Room* before, const domain::Room* after) {
  const bool was = before && before->is_public_visible;
  const bool is = after && after->is_public_visible;
  if (was && is && before->view_count == after->view_count) return;
  if (!was && !is) return;
  std::lock_guard lock(app.index_mu);
  if (was) app.public_index.erase(ListKey{before->view_count, before->room_id});
  if (is) app.public_index.insert(ListKey{after->view_count, after->room_id});
}

}  // namespace liveroom::engine
