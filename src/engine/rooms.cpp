// Room lifecycle (create, destroy, update), the public room list, and room metadata.
#include <algorithm>
#include <utility>

#include <fmt/format.h>

#include "base/hex.h"
#include "engine/room_engine_internal.h"
#include "engine/room_events.h"

namespace liveroom::engine {

namespace {

// get_room_list cursors: "<ViewCount>-<hex RoomId>" of the last room returned. Hex keeps any
// printable RoomId (which may contain '-') unambiguous.
std::string encode_cursor(int64_t view_count, std::string_view room_id) {
  return fmt::format("{}-{}", view_count, to_hex(room_id));
}

std::optional<std::pair<int64_t, std::string>> decode_cursor(std::string_view cursor) {
  auto dash = cursor.find('-', 1);  // a ViewCount is never negative, but skip a leading sign
  if (dash == std::string_view::npos || dash == 0) return std::nullopt;
  int64_t view_count = 0;
  for (char c : cursor.substr(0, dash)) {
    if (c < '0' || c > '9' || view_count > (INT64_MAX - 9) / 10) return std::nullopt;
    view_count = view_count * 10 + (c - '0');
  }
  std::string_view hex = cursor.substr(dash + 1);
  if (hex.empty() || hex.size() % 2 != 0 || hex.size() > 2 * domain::kMaxRoomIdBytes) {
    return std::nullopt;
  }
  auto room_id = from_hex(hex);
  if (!room_id) return std::nullopt;
  if (!domain::check_room_id(*room_id, "Next")) return std::nullopt;  // never issued by us
  return std::pair{view_count, std::move(*room_id)};
}

}  // namespace

Result<void> RoomEngine::create_room(uint32_t sdkappid, std::string room_id, std::string owner,
                                     const domain::RoomPatch& fields, ReadFence& fence,
                                     const Actor& actor) {
  AppState* a = app(sdkappid);
  if (!a) return fail(Code::kSdkAppIdInvalid);
  RoomShard& shard = shard_of(*a, room_id);
  std::lock_guard lock(shard.mu);

  if (auto it = shard.rooms.find(room_id); it != shard.rooms.end()) {
    fence.observe(it->second.seq);
    if (it->second.room.owner == owner) {
      return fail(Code::kRoomExistsSameOwner,
                  fmt::format("room '{}' already exists and is owned by '{}'", room_id, owner));
    }
    return fail(Code::kRoomIdTaken,
                fmt::format("RoomId '{}' is already used by another owner", room_id));
  }
  const int64_t now_ms = clock_.steady_millis();
  if (auto it = shard.recent_creates.find(room_id);
      it != shard.recent_creates.end() && now_ms - it->second < 1000) {
    return fail(Code::kTooFrequent,
                fmt::format("RoomId '{}' was created less than a second ago", room_id));
  }

  std::vector<std::string> imports;
  if (auto ok = require_account(*a, owner, "RoomInfo.Owner_Account", fence, imports); !ok) {
    return ok;
  }
  std::vector<store::Change> changes;
  import_pending(sdkappid, imports, changes);

  domain::Room room;
  room.room_id = room_id;
  room.name = room_id;
  room.owner = std::move(owner);
  room.create_time = clock_.unix_seconds();
  domain::apply_patch(room, fields);

  changes.push_back(store::PutRoom{sdkappid, room});
  PendingEvents events;
  emit(
      *a, shard, room_id, domain::kAfterCreateRoom,
      [&] { return created_room_payload(room, actor.operator_account, clock_.unix_millis()); },
      actor, changes, events);
  const uint64_t seq = submit(std::move(changes), std::move(events));
  fence.observe(seq);
  imported(*a, imports, seq);
  reindex(*a, nullptr, &room);
  if (shard.recent_creates.size() > 1024) {
    std::erase_if(shard.recent_creates,
                  [now_ms](const auto& e) { return now_ms - e.second >= 1000; });
  }
  shard.recent_creates.insert_or_assign(room_id, now_ms);
  if (room_watcher_) room_watcher_(sdkappid, room_id);
  shard.rooms.emplace(std::move(room_id), RoomEntry{std::move(room), seq});
  return {};
}

Result<domain::RoomStatistic> RoomEngine::destroy_room(uint32_t sdkappid, std::string_view room_id,
                                                       ReadFence& fence, const Actor& actor) {
  auto stats = with_room(
      sdkappid, room_id, fence,
      [&](AppState& a, RoomShard& shard, RoomEntry& entry) -> Result<domain::RoomStatistic> {
        return dismiss(a, shard, room_id, entry, "DestroyByUser", actor, fence);
      });
  if (AppState* a = app(sdkappid); a && stats) settle_cross_room(*a);
  return stats;
}

domain::RoomStatistic RoomEngine::dismiss(AppState& a, RoomShard& shard, std::string_view room_id,
                                          RoomEntry& entry, std::string_view event_type,
                                          const Actor& actor, ReadFence& fence) {
  domain::RoomStatistic stats = domain::statistic_of(entry.room);
  std::vector<store::Change> changes{store::DeleteRoom{a.options.sdkappid, std::string(room_id)}};
  PendingEvents events;
  emit(
      a, shard, room_id, domain::kAfterDestroyRoom,
      [&] {
        return destroyed_room_payload(entry.room, stats, event_type, actor.operator_account,
                                      clock_.unix_millis());
      },
      actor, changes, events);
  const uint64_t seq = submit(std::move(changes), std::move(events));
  fence.observe(seq);
  shard.last_delete_seq = seq;
  reindex(a, &entry.room, nullptr);
  if (entry.presence && entry.presence->audience) {
    entry.presence->audience->dismissed(seq, event_type, stats);
  }
  shard.recent_messages.erase(std::string(room_id));
  unsettle(a, std::string(room_id));             // its co-host connection and requests end
  shard.rooms.erase(shard.rooms.find(room_id));  // `entry` dies here
  return stats;
}

Result<void> RoomEngine::update_room(uint32_t sdkappid, std::string_view room_id,
                                     const domain::RoomPatch& patch, ReadFence& fence,
                                     const Actor& actor) {
  return with_room(
      sdkappid, room_id, fence,
      [&](AppState& a, RoomShard& shard, RoomEntry& entry) -> Result<void> {
        domain::Room updated = columns_of(entry.room);
        if (!domain::apply_patch(updated, patch)) return {};  // nothing changed
        std::vector<store::Change> changes;
        PendingEvents events;
        emit(
            a, shard, room_id, domain::kAfterUpdateRoomInfo,
            [&] {
              return updated_room_payload(updated,
                                          entry.presence ? entry.presence->members.size() : 0,
                                          actor.operator_account, clock_.unix_millis());
            },
            actor, changes, events);
        changes.insert(changes.begin(), store::PutRoom{sdkappid, updated});
        // A new layout (SeatTemplate, MaxSeatCount) removes the seats past its count, with their
        // occupants and locks, in the same commit: left in the stored list they would come back
        // occupied and locked when the layout grows again.
        const std::vector<domain::Seat> seats_before = domain::seats_of(entry.room);
        std::vector<domain::Seat> seats_after = seats_before;
        seats_after.resize(updated.seat_count);
        const bool seats_changed = seats_after != seats_before;
        std::vector<std::string> unseated;
        domain::RoomModeration moderation;
        if (seats_changed) {
          for (size_t i = seats_after.size(); i < seats_before.size(); ++i) {
            if (!seats_before[i].member.empty()) unseated.push_back(seats_before[i].member);
          }
          moderation = entry.room.moderation;
          moderation.seats = normalized_seats(seats_after);
          changes.push_back(store::PutRoomModeration{sdkappid, updated.room_id, moderation});
          emit_seat_list(a, shard, updated.room_id, seats_after, actor, changes, events);
        } else {
          moderation = std::move(entry.room.moderation);
        }
        const uint64_t seq = submit(std::move(changes), std::move(events));
        fence.observe(seq);
        updated.metadata = std::move(entry.room.metadata);
        updated.moderation = std::move(moderation);
        reindex(a, &entry.room, &updated);
        entry.room = std::move(updated);
        entry.seq = seq;
        if (!entry.presence) return {};
        if (entry.presence->audience) {
          entry.presence->audience->room_info_changed(seq, entry.room,
                                                      entry.presence->members.size());
        }
        if (seats_changed) announce_layout(entry, seq, seats_after, unseated);
        return {};
      });
}

Result<RoomListPage> RoomEngine::list_rooms(uint32_t sdkappid, std::string_view cursor,
                                            size_t count, ReadFence& fence) {
  AppState* a = app(sdkappid);
  if (!a) return fail(Code::kSdkAppIdInvalid);
  std::optional<ListKey> after;
  if (!cursor.empty() && cursor != "0") {
    auto decoded = decode_cursor(cursor);
    if (!decoded) {
      return fail(Code::kInvalidParameter,
                  "Next is not a cursor returned by get_room_list (send \"\" to start)");
    }
    after = ListKey{decoded->first, std::move(decoded->second)};
  }
  // The page reflects every write submitted so far; wait for all of them to be durable.
  fence.observe(store_.submitted_seq());
  if (public_room_lister_) {
    // Placement by room: the other slots' rooms are on other hosts; PostgreSQL has them all,
    // every acknowledged write included.
    store::PublicRoomsPage rows;
    try {
      rows = public_room_lister_(
          sdkappid,
          after ? std::optional(std::pair(after->view_count, after->room_id)) : std::nullopt,
          count);
    } catch (const std::exception& e) {
      return fail(Code::kInternal, fmt::format("cluster: cannot read the room list: {}", e.what()));
    }
    RoomListPage page;
    for (domain::Room& r : rows.rooms) {
      page.rooms.push_back(RoomListEntry{
          std::move(r.room_id), std::move(r.name), std::move(r.owner), std::move(r.cover_url),
          std::move(r.category), r.create_time, r.activity_status, r.view_count});
    }
    if (rows.more && !page.rooms.empty()) {
      page.next = encode_cursor(page.rooms.back().view_count, page.rooms.back().room_id);
    }
    return page;
  }

  std::vector<ListKey> keys;
  bool more = false;
  {
    std::lock_guard lock(a->index_mu);
    auto it = after ? a->public_index.upper_bound(*after) : a->public_index.begin();
    for (; it != a->public_index.end() && keys.size() < count; ++it) keys.push_back(*it);
    more = it != a->public_index.end();
  }
  RoomListPage page;
  page.rooms.reserve(keys.size());
  for (const ListKey& key : keys) {
    RoomShard& shard = shard_of(*a, key.room_id);
    std::lock_guard lock(shard.mu);
    auto it = shard.rooms.find(key.room_id);
    if (it == shard.rooms.end()) continue;  // destroyed since: it did not exist for the whole scan
    const domain::Room& r = it->second.room;
    page.rooms.push_back(RoomListEntry{r.room_id, r.name, r.owner, r.cover_url, r.category,
                                       r.create_time, r.activity_status, r.view_count});
  }
  if (more && !keys.empty()) page.next = encode_cursor(keys.back().view_count, keys.back().room_id);
  return page;
}

template <typename MakePayload>
void RoomEngine::put_metadata(AppState& a, RoomShard& shard, RoomEntry& entry,
                              std::vector<domain::MetadataEntry> metadata, ReadFence& fence,
                              const Actor& actor, std::string_view command,
                              MakePayload&& make_payload) {
  std::vector<store::Change> changes{
      store::PutRoomMetadata{a.options.sdkappid, entry.room.room_id, metadata}};
  PendingEvents events;
  emit(a, shard, entry.room.room_id, command, make_payload, actor, changes, events);
  const uint64_t seq = submit(std::move(changes), std::move(events));
  fence.observe(seq);
  entry.room.metadata = std::move(metadata);
  entry.seq = seq;
}

Result<void> RoomEngine::set_metadata(uint32_t sdkappid, std::string_view room_id,
                                      const std::vector<domain::MetadataEntry>& entries,
                                      ReadFence& fence, const Actor& actor) {
  return with_room(sdkappid, room_id, fence,
                   [&](AppState& a, RoomShard& shard, RoomEntry& entry) -> Result<void> {
                     std::vector<domain::MetadataEntry> next = entry.room.metadata;
                     if (auto ok = domain::upsert_metadata(next, entries); !ok) return ok;
                     if (next == entry.room.metadata) return {};  // no change: no write, no event
                     put_metadata(a, shard, entry, std::move(next), fence, actor,
                                  domain::kAfterSetMetadata, [&] {
                                    return metadata_set_payload(room_id, entries,
                                                                actor.operator_account,
                                                                clock_.unix_millis());
                                  });
                     return {};
                   });
}

Result<void> RoomEngine::delete_metadata(uint32_t sdkappid, std::string_view room_id,
                                         const std::vector<std::string>& keys, ReadFence& fence,
                                         const Actor& actor) {
  return with_room(sdkappid, room_id, fence,
                   [&](AppState& a, RoomShard& shard, RoomEntry& entry) -> Result<void> {
                     std::vector<domain::MetadataEntry> next = entry.room.metadata;
                     if (!domain::delete_metadata(next, keys)) return {};
                     put_metadata(a, shard, entry, std::move(next), fence, actor,
                                  domain::kAfterDelMetadata, [&] {
                                    return metadata_deleted_payload(room_id, keys,
                                                                    actor.operator_account,
                                                                    clock_.unix_millis());
                                  });
                     return {};
                   });
}

}  // namespace liveroom::engine
