#include "engine/room_engine.h"

#include <random>

#include <algorithm>
#include <chrono>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "base/hex.h"
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

void set_profile_items(domain::Account& account, const std::vector<ProfileItem>& items) {
  for (const auto& item : items) account.profile.insert_or_assign(item.tag, item.value);
}

}  // namespace

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

RoomEngine::RoomEngine(store::Store& store, const Clock& clock, std::vector<AppOptions> apps)
    : store_(store), clock_(clock) {
  for (auto& options : apps) {
    auto state = std::make_unique<AppState>();
    state->admins.insert(options.admins.begin(), options.admins.end());
    state->options = std::move(options);
    apps_.emplace(state->options.sdkappid, std::move(state));
  }
}

RoomEngine::~RoomEngine() = default;

void RoomEngine::load(store::Snapshot snapshot) {
  size_t skipped = 0;
  for (auto& [sdkappid, room] : snapshot.rooms) {
    AppState* a = app(sdkappid);
    if (!a) {
      ++skipped;
      continue;
    }
    reindex(*a, nullptr, &room);
    // Presence is soft state: after a restart only robots are members, so only they still sit.
    const auto& robots = room.moderation.robots;
    for (auto& seat : room.moderation.seats) {
      if (std::find(robots.begin(), robots.end(), seat.member) == robots.end()) seat.member.clear();
    }
    room.moderation.seats = normalized_seats(std::move(room.moderation.seats));
    std::unique_ptr<Presence> presence;
    if (!robots.empty()) {
      presence = std::make_unique<Presence>();
      for (const auto& robot : robots) presence->members[robot].robot = true;
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
  for (auto& [sdkappid, config] : snapshot.callback_configs) {
    if (AppState* a = app(sdkappid)) a->api_callbacks = std::move(config);
  }
  uint64_t max_outbox_id = 0;
  for (const auto& entry : snapshot.outbox) max_outbox_id = std::max(max_outbox_id, entry.id);
  next_outbox_id_ = max_outbox_id + 1;
  if (skipped)
    spdlog::warn("store holds {} rows of apps that are not configured; kept on disk", skipped);
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

bool RoomEngine::account_known(const AppState& app, std::string_view user_id) {
  return app.admins.contains(user_id) || app.accounts.contains(user_id);
}

Result<void> RoomEngine::require_account(AppState& a, const std::string& user_id,
                                         std::string_view field, ReadFence& fence,
                                         std::vector<std::string>& imports) {
  std::lock_guard lock(a.accounts_mu);
  if (account_known(a, user_id)) {
    if (auto it = a.accounts.find(user_id); it != a.accounts.end()) fence.observe(it->second.seq);
    return {};
  }
  fence.observe(a.accounts_delete_seq);
  if (!a.options.auto_import_accounts) {
    return fail(Code::kAccountNotImported,
                fmt::format("{} '{}' is not an imported account (import it with account_import, "
                            "or set auto_import_accounts)",
                            field, user_id));
  }
  if (auto ok = domain::check_user_id(user_id, field); !ok) return ok;
  if (std::find(imports.begin(), imports.end(), user_id) == imports.end()) {
    imports.push_back(user_id);
  }
  return {};
}

void RoomEngine::import_pending(uint32_t sdkappid, const std::vector<std::string>& imports,
                                std::vector<store::Change>& changes) {
  for (const auto& user_id : imports) {
    changes.push_back(store::PutAccount{sdkappid, domain::Account{user_id, {}}});
  }
}

void RoomEngine::imported(AppState& a, const std::vector<std::string>& imports, uint64_t seq) {
  if (imports.empty()) return;
  std::lock_guard lock(a.accounts_mu);
  for (const auto& user_id : imports) {
    // emplace: an account_import that raced this commit keeps its profile.
    a.accounts.emplace(user_id, AccountEntry{domain::Account{user_id, {}}, seq});
  }
}

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
    return fail(Code::kCreateTooFrequent,
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
  shard.rooms.emplace(std::move(room_id), RoomEntry{std::move(room), seq});
  return {};
}

Result<domain::RoomStatistic> RoomEngine::destroy_room(uint32_t sdkappid, std::string_view room_id,
                                                       ReadFence& fence, const Actor& actor) {
  return with_room(
      sdkappid, room_id, fence,
      [&](AppState& a, RoomShard& shard, RoomEntry& entry) -> Result<domain::RoomStatistic> {
        return dismiss(a, shard, room_id, entry, "DestroyByUser", actor, fence);
      });
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

// --- messages ------------------------------------------------------------------------------------

Result<SentMessage> RoomEngine::send_message(uint32_t sdkappid, std::string_view room_id,
                                             const RoomMessage& message, ReadFence& fence,
                                             const Actor& actor) {
  return with_room(
      sdkappid, room_id, fence,
      [&](AppState& a, RoomShard& shard, RoomEntry& entry) -> Result<SentMessage> {
        if (message.from_member) {
          if (auto ok = member_may_send(entry, message.sender, clock_.unix_seconds()); !ok) {
            return std::unexpected(ok.error());
          }
        }
        std::vector<std::string> imports;
        if (message.sender_must_be_imported) {
          if (auto ok = require_account(a, message.sender, "sender", fence, imports); !ok) {
            return std::unexpected(ok.error());
          }
        }
        auto& recent = shard.recent_messages[std::string(room_id)];
        if (message.random) {
          for (const auto& r : recent) {
            if (r.random == *message.random && r.sender == message.sender) return r.sent;
          }
        }
        domain::Room updated = columns_of(entry.room);
        updated.msg_seq += 1;
        updated.total_msg_count += 1;
        const SentMessage sent{updated.msg_seq, clock_.unix_seconds()};
        std::vector<store::Change> changes;
        PendingEvents events;
        if (message.after_callback) {
          emit(
              a, shard, room_id, "Group.CallbackAfterSendMsg",
              [&] {
                return sent_message_payload(room_id, message.sender, actor.operator_account,
                                            message.random.value_or(0), sent.msg_seq, sent.msg_time,
                                            message.msg_body, message.cloud_custom_data,
                                            clock_.unix_millis());
              },
              actor, changes, events);
        }
        changes.insert(changes.begin(), store::PutRoom{sdkappid, updated});
        import_pending(sdkappid, imports, changes);
        const uint64_t seq = submit(std::move(changes), std::move(events));
        fence.observe(seq);
        imported(a, imports, seq);
        entry.room.msg_seq = updated.msg_seq;
        entry.room.total_msg_count = updated.total_msg_count;
        entry.seq = seq;
        if (entry.presence && entry.presence->audience) {
          entry.presence->audience->message(
              seq, MessageNotice{sent.msg_seq, sent.msg_time, message.sender, message.msg_body,
                                 message.cloud_custom_data});
        }
        if (message.random) {
          recent.push_back({message.sender, *message.random, sent});
          if (recent.size() > 256) recent.pop_front();
        }
        return sent;
      });
}

// --- moderation ----------------------------------------------------------------------------------

template <typename Change, typename Emit>
Result<void> RoomEngine::moderate(uint32_t sdkappid, std::string_view room_id, ReadFence& fence,
                                  Change&& change, Emit&& emit_events, const Actor& actor) {
  return with_room(sdkappid, room_id, fence,
                   [&](AppState& a, RoomShard& shard, RoomEntry& entry) -> Result<void> {
                     domain::RoomModeration next = entry.room.moderation;
                     if (auto ok = change(next, a, entry); !ok) return ok;
                     if (next == entry.room.moderation) return {};  // nothing changed
                     std::vector<store::Change> changes;
                     PendingEvents events;
                     emit_events(a, shard, changes, events);
                     apply_moderation(a, shard, entry, std::move(next), actor, fence,
                                      std::move(changes), std::move(events));
                     return {};
                   });
}

void RoomEngine::apply_moderation(AppState& a, RoomShard& shard, RoomEntry& entry,
                                  domain::RoomModeration next, const Actor& actor, ReadFence& fence,
                                  std::vector<store::Change> changes, PendingEvents events) {
  const std::string& room_id = entry.room.room_id;
  const int64_t now = clock_.unix_seconds();
  const domain::RoomModeration& before = entry.room.moderation;
  Presence* presence = entry.presence.get();

  // Online members who are banned now leave the room (and their seats) in the same commit.
  std::vector<std::pair<std::string, int64_t>> banned_out;
  if (presence) {
    for (const auto& ban : next.bans) {
      if (ban.until <= now) continue;  // expired (not copied out: this runs on every seat change)
      auto it = presence->members.find(ban.user_id);
      if (it == presence->members.end() || it->second.robot) continue;
      banned_out.emplace_back(ban.user_id, ban.until);
      for (auto& seat : next.seats) {
        if (seat.member == ban.user_id) seat.member.clear();
      }
    }
    next.seats = normalized_seats(std::move(next.seats));
  }
  const bool seats_changed = next.seats != before.seats;
  if (seats_changed) {
    domain::Room view = columns_of(entry.room);
    view.moderation.seats = next.seats;
    emit_seat_list(a, shard, room_id, domain::seats_of(view), actor, changes, events);
  }
  changes.insert(changes.begin(), store::PutRoomModeration{a.options.sdkappid, room_id, next});
  const uint64_t seq = submit(std::move(changes), std::move(events));
  fence.observe(seq);
  domain::RoomModeration previous = std::exchange(entry.room.moderation, std::move(next));
  entry.seq = seq;
  if (!presence && !entry.room.moderation.robots.empty()) {
    entry.presence = std::make_unique<Presence>();
    presence = entry.presence.get();
  }
  if (!presence) return;

  // Robots are members while they are in the robot list; the audience hears of them as of any
  // member coming or going (member counts).
  const auto& robots = entry.room.moderation.robots;
  std::vector<std::string> robots_in, robots_out;
  for (const auto& robot : robots) {
    if (presence->members.contains(robot)) continue;
    presence->members[robot].robot = true;
    robots_in.push_back(robot);
  }
  std::erase_if(presence->members, [&](const auto& m) {
    const bool gone =
        m.second.robot && std::find(robots.begin(), robots.end(), m.first) == robots.end();
    if (gone) robots_out.push_back(m.first);
    return gone;
  });

  RoomAudience* audience = presence->audience.get();
  if (audience) {
    const size_t count = presence->members.size();
    for (const auto& robot : robots_out) {
      audience->left(seq, robot, nullptr, count, LeaveCause::kLeft, 0);
    }
    for (const auto& robot : robots_in) audience->entered(seq, robot, nullptr, count, false);
  }
  for (const auto& [user, until] : banned_out) {
    auto it = presence->members.find(user);
    ConnectionPtr connection = std::move(it->second.connection);
    presence->members.erase(it);
    std::erase_if(presence->seat_requests, [&](const auto& r) { return r.second.member == user; });
    if (audience) {
      audience->left(seq, user, connection, presence->members.size(), LeaveCause::kBanned, until);
    }
  }
  after_members_changed(a, entry);
  if (!audience) return;
  if (seats_changed) audience->seats_changed(seq, domain::seats_of(entry.room));
  // Only users named in the mute or admin lists can have changed: look at them, not at every
  // member (a room may have thousands).
  std::set<std::string_view> named;
  for (const auto* list : {&previous.mutes, &entry.room.moderation.mutes}) {
    for (const auto& r : *list) named.insert(r.user_id);
  }
  for (const auto* list : {&previous.admins, &entry.room.moderation.admins}) {
    for (const auto& user : *list) named.insert(user);
  }
  for (std::string_view name : named) {
    auto it = presence->members.find(name);
    if (it == presence->members.end() || !it->second.connection) continue;
    const std::string& user = it->first;
    const ConnectionPtr& connection = it->second.connection;
    const int64_t muted_before = domain::restricted_until(previous.mutes, user, now);
    const int64_t muted_after = domain::restricted_until(entry.room.moderation.mutes, user, now);
    if (muted_before != muted_after) audience->notify(seq, connection, MutedNotice{muted_after});
    const bool admin_before =
        std::find(previous.admins.begin(), previous.admins.end(), user) != previous.admins.end();
    const bool admin_after =
        std::find(entry.room.moderation.admins.begin(), entry.room.moderation.admins.end(), user) !=
        entry.room.moderation.admins.end();
    if (admin_before != admin_after) {
      audience->notify(seq, connection, RoleNotice{role_in(entry.room, user)});
    }
  }
}

namespace {
auto no_events = [](auto&, auto&, auto&, auto&) {};
}  // namespace

Result<void> RoomEngine::modify_admins(uint32_t sdkappid, std::string_view room_id,
                                       const std::vector<std::string>& users, AdminOp op,
                                       ReadFence& fence, const Actor& actor) {
  std::vector<std::string> imports;
  auto done = moderate(
      sdkappid, room_id, fence,
      [&](domain::RoomModeration& m, AppState& a, RoomEntry&) -> Result<void> {
        for (const auto& user : users) {
          auto it = std::find(m.admins.begin(), m.admins.end(), user);
          if (op == AdminOp::kDelete) {
            if (it != m.admins.end()) m.admins.erase(it);
            continue;
          }
          if (it != m.admins.end()) continue;
          if (auto ok = require_account(a, user, "Admin_Account", fence, imports); !ok) return ok;
          m.admins.push_back(user);
        }
        if (m.admins.size() > domain::kMaxAdmins) {
          return fail(Code::kTooManyAdmins,
                      fmt::format("room '{}' would have {} admins; at most {}", room_id,
                                  m.admins.size(), domain::kMaxAdmins));
        }
        return {};
      },
      [&](AppState& a, RoomShard& shard, std::vector<store::Change>& changes,
          PendingEvents& events) {
        import_pending(sdkappid, imports, changes);
        emit(
            a, shard, room_id, "Live.CallbackAfterModifyAdmin",
            [&] {
              return modify_admin_payload(room_id, users, op == AdminOp::kAdd ? "add" : "delete",
                                          actor.operator_account, clock_.unix_millis());
            },
            actor, changes, events);
      });
  // An account to import means the list changed, so the moderation was committed (fence.seq).
  if (done && !imports.empty()) imported(*app(sdkappid), imports, fence.seq);
  return done;
}

Result<void> RoomEngine::ban_members(uint32_t sdkappid, std::string_view room_id,
                                     const std::vector<std::string>& users,
                                     int64_t duration_seconds, const std::string& reason,
                                     ReadFence& fence) {
  const int64_t now = clock_.unix_seconds();
  return moderate(
      sdkappid, room_id, fence,
      [&](domain::RoomModeration& m, AppState&, RoomEntry& entry) -> Result<void> {
        const domain::Room& room = entry.room;
        for (const auto& user : users) {
          if (user == room.owner && duration_seconds > 0) {
            return fail(Code::kNotPermitted,
                        fmt::format("'{}' owns room '{}' and cannot be banned", user, room_id));
          }
          domain::restrict_user(m.bans, user, duration_seconds > 0 ? now + duration_seconds : 0,
                                reason, now);
        }
        return {};
      },
      no_events);
}

Result<void> RoomEngine::mute_members(uint32_t sdkappid, std::string_view room_id,
                                      const std::vector<std::string>& users,
                                      int64_t duration_seconds, ReadFence& fence) {
  const int64_t now = clock_.unix_seconds();
  return moderate(
      sdkappid, room_id, fence,
      [&](domain::RoomModeration& m, AppState&, RoomEntry&) -> Result<void> {
        for (const auto& user : users) {
          domain::restrict_user(m.mutes, user, duration_seconds > 0 ? now + duration_seconds : 0,
                                "", now);
        }
        return {};
      },
      no_events);
}

Result<void> RoomEngine::add_robots(uint32_t sdkappid, std::string_view room_id,
                                    const std::vector<std::string>& robots, ReadFence& fence) {
  std::vector<std::string> imports;
  auto done = moderate(
      sdkappid, room_id, fence,
      [&](domain::RoomModeration& m, AppState& a, RoomEntry&) -> Result<void> {
        for (const auto& robot : robots) {
          if (std::find(m.robots.begin(), m.robots.end(), robot) != m.robots.end()) continue;
          if (auto ok = require_account(a, robot, "RobotList_Account", fence, imports); !ok) {
            return ok;
          }
          m.robots.push_back(robot);
        }
        if (m.robots.size() > domain::kMaxRobots) {
          return fail(Code::kInvalidParameter,
                      fmt::format("room '{}' would have {} robots; at most {}", room_id,
                                  m.robots.size(), domain::kMaxRobots));
        }
        return {};
      },
      [&](AppState&, RoomShard&, std::vector<store::Change>& changes, PendingEvents&) {
        import_pending(sdkappid, imports, changes);
      });
  if (done && !imports.empty()) imported(*app(sdkappid), imports, fence.seq);
  return done;
}

template <typename Change>
Result<void> RoomEngine::change_seats(uint32_t sdkappid, std::string_view room_id, ReadFence& fence,
                                      const Actor& actor, Change&& change) {
  return moderate(
      sdkappid, room_id, fence,
      [&](domain::RoomModeration& m, AppState&, RoomEntry& entry) -> Result<void> {
        const domain::Room& room = entry.room;
        if (room.seat_count == 0) {
          return fail(Code::kRoomHasNoSeats, fmt::format("room '{}' has no seats", room_id));
        }
        std::vector<domain::Seat> seats = m.seats;
        seats.resize(room.seat_count);
        if (auto ok = change(seats, m, std::as_const(entry)); !ok) return ok;
        m.seats = normalized_seats(std::move(seats));
        return {};
      },
      no_events, actor);
}

namespace {

Result<void> check_index(const std::vector<domain::Seat>& seats, uint32_t index) {
  if (index >= seats.size()) {
    return fail(
        Code::kClientNoSuchSeat,
        fmt::format("Index {} is not a seat: the room has seats 0 to {}", index, seats.size() - 1));
  }
  return {};
}

}  // namespace

Result<void> RoomEngine::check_member(const RoomEntry& entry, const std::string& member,
                                      std::string_view room_id) {
  const auto& robots = entry.room.moderation.robots;
  const bool present = entry.presence && entry.presence->members.contains(member);
  if (!present && std::find(robots.begin(), robots.end(), member) == robots.end()) {
    return fail(Code::kClientNotInRoom,
                fmt::format("Member_Account '{}' is not in room '{}'", member, room_id));
  }
  return {};
}

Result<void> RoomEngine::pick_seat(uint32_t sdkappid, std::string_view room_id, uint32_t index,
                                   const std::string& member, ReadFence& fence,
                                   const Actor& actor) {
  return change_seats(
      sdkappid, room_id, fence, actor,
      [&](std::vector<domain::Seat>& seats, const domain::RoomModeration&,
          const RoomEntry& entry) -> Result<void> {
        if (auto ok = check_index(seats, index); !ok) return ok;
        if (auto ok = check_member(entry, member, room_id); !ok) return ok;
        domain::Seat& seat = seats[index];
        if (seat.member == member) return {};  // already there: picking again is harmless
        if (auto at = domain::seat_of(seats, member)) {
          return fail(
              Code::kClientAlreadySeated,
              fmt::format("'{}' already sits on seat {}; move_user_to_seat moves", member, *at));
        }
        if (!seat.member.empty()) {
          return fail(Code::kClientSeatTaken,
                      fmt::format("seat {} is taken by '{}'", index, seat.member));
        }
        if (seat.taken_disabled) {
          return fail(Code::kClientSeatLocked, fmt::format("seat {} is locked", index));
        }
        seat.member = member;
        return {};
      });
}

Result<void> RoomEngine::kick_from_seat(uint32_t sdkappid, std::string_view room_id,
                                        const std::string& member, const std::string& data,
                                        ReadFence& fence, const Actor& actor) {
  auto kicked = change_seats(sdkappid, room_id, fence, actor,
                             [&](std::vector<domain::Seat>& seats, const domain::RoomModeration&,
                                 const RoomEntry&) -> Result<void> {
                               auto at = domain::seat_of(seats, member);
                               if (!at) {
                                 return fail(Code::kClientNotSeated,
                                             fmt::format("'{}' is not on a seat", member));
                               }
                               seats[*at].member.clear();
                               return {};
                             });
  if (!kicked) return kicked;
  // The kicked member hears why (spec: Data is delivered to the kicked user).
  (void)with_room(sdkappid, room_id, fence, [&](AppState&, RoomShard&, RoomEntry& entry) {
    if (!entry.presence || !entry.presence->audience) return Result<void>{};
    auto it = entry.presence->members.find(member);
    if (it != entry.presence->members.end() && it->second.connection) {
      entry.presence->audience->notify(entry.seq, it->second.connection,
                                       KickedOffSeatNotice{data, SeatLossCause::kKicked});
    }
    return Result<void>{};
  });
  return {};
}

Result<void> RoomEngine::lock_seat(uint32_t sdkappid, std::string_view room_id, uint32_t index,
                                   const SeatLocks& locks, ReadFence& fence, const Actor& actor) {
  return change_seats(sdkappid, room_id, fence, actor,
                      [&](std::vector<domain::Seat>& seats, const domain::RoomModeration&,
                          const RoomEntry&) -> Result<void> {
                        if (auto ok = check_index(seats, index); !ok) return ok;
                        domain::Seat& seat = seats[index];
                        if (locks.taken) seat.taken_disabled = *locks.taken;
                        if (locks.video) seat.video_disabled = *locks.video;
                        if (locks.audio) seat.audio_disabled = *locks.audio;
                        // spec §2.3: locking an occupied seat first removes the occupant.
                        if (seat.taken_disabled) seat.member.clear();
                        return {};
                      });
}

Result<void> RoomEngine::move_to_seat(uint32_t sdkappid, std::string_view room_id,
                                      const std::string& member, uint32_t index, SeatPolicy policy,
                                      bool unlock_target, ReadFence& fence, const Actor& actor) {
  return change_seats(
      sdkappid, room_id, fence, actor,
      [&](std::vector<domain::Seat>& seats, const domain::RoomModeration&,
          const RoomEntry& entry) -> Result<void> {
        if (auto ok = check_index(seats, index); !ok) return ok;
        if (auto ok = check_member(entry, member, room_id); !ok) return ok;
        domain::Seat& target = seats[index];
        if (target.member == member) return {};
        if (target.taken_disabled) {
          if (!unlock_target) {
            return fail(Code::kClientSeatLocked, fmt::format("seat {} is locked", index));
          }
          target.taken_disabled = false;
        }
        const auto from = domain::seat_of(seats, member);
        if (!target.member.empty()) {
          if (policy == SeatPolicy::kGiveUp) {
            return fail(Code::kClientSeatTaken,
                        fmt::format("seat {} is taken by '{}'", index, target.member));
          }
          if (policy == SeatPolicy::kSwap && from) {
            seats[*from].member = target.member;  // the occupant takes the mover's seat
            target.member = member;
            return {};
          }
          // kForce (or a swap with a mover who was not seated): the occupant leaves the seat.
        }
        if (from) seats[*from].member.clear();
        target.member = member;
        return {};
      });
}

Result<void> RoomEngine::delete_robots(uint32_t sdkappid, std::string_view room_id,
                                       const std::vector<std::string>& robots, ReadFence& fence) {
  return moderate(
      sdkappid, room_id, fence,
      [&](domain::RoomModeration& m, AppState&, RoomEntry&) -> Result<void> {
        auto removed = [&](const std::string& r) {
          return std::find(robots.begin(), robots.end(), r) != robots.end();
        };
        std::erase_if(m.robots, removed);
        for (auto& seat : m.seats) {
          if (!seat.member.empty() && removed(seat.member)) seat.member.clear();  // robots leave
        }
        return {};
      },
      no_events);
}

// --- events ------------------------------------------------------------------------------------

namespace {

std::string random_event_id() {
  thread_local std::mt19937_64 random{std::random_device{}()};
  return fmt::format("{:016x}{:016x}", random(), random());
}

}  // namespace

template <typename MakePayload>
void RoomEngine::emit(AppState& a, RoomShard& shard, std::string_view room_id,
                      std::string_view command, MakePayload&& make_payload, const Actor& actor,
                      std::vector<store::Change>& changes, PendingEvents& events) {
  std::vector<std::string> urls = subscribers(a, command);
  if (urls.empty()) return;  // nobody listens: no event, no sequence number, no payload built
  const std::string payload = make_payload();

  auto seq_it = shard.event_seq.find(room_id);
  if (seq_it == shard.event_seq.end()) seq_it = shard.event_seq.emplace(room_id, 0).first;
  const uint64_t room_seq = ++seq_it->second;  // recorded by the outbox rows themselves

  const std::string event_id = random_event_id();
  const int64_t now_ms = clock_.unix_millis();
  std::vector<domain::OutboxEntry> entries;
  for (auto& url : urls) {
    domain::OutboxEntry e;
    e.id = next_outbox_id_.fetch_add(1);
    e.sdkappid = a.options.sdkappid;
    e.url = std::move(url);
    e.room_id = room_id;
    e.room_seq = room_seq;
    e.event_id = event_id;
    e.command = command;
    e.payload = payload;
    e.client_ip = actor.client_ip;
    e.created_ms = now_ms;
    e.next_attempt_ms = now_ms;
    entries.push_back(std::move(e));
  }
  auto shared = std::make_shared<const std::vector<domain::OutboxEntry>>(std::move(entries));
  events.entries.push_back(shared);
  changes.push_back(store::PutOutbox{std::move(shared)});
}

void RoomEngine::emit_member_state(AppState& a, RoomShard& shard, const std::string& room_id,
                                   std::string_view type, std::string_view cause,
                                   const std::string& user, std::vector<store::Change>& changes,
                                   PendingEvents& events) {
  emit(
      a, shard, room_id, "Live.CallbackAfterMemberStateChanged",
      [&] { return member_state_payload(room_id, type, cause, user, clock_.unix_millis()); },
      Actor{user, {}}, changes, events);
}

void RoomEngine::emit_seat_list(AppState& a, RoomShard& shard, const std::string& room_id,
                                const std::vector<domain::Seat>& seats, const Actor& actor,
                                std::vector<store::Change>& changes, PendingEvents& events) {
  emit(
      a, shard, room_id, "Mic.CallbackAfterSeatInfoChanged",
      [&] {
        return seat_list_payload(room_id, seats, actor.operator_account, clock_.unix_millis());
      },
      actor, changes, events);
}

std::vector<std::string> RoomEngine::subscribers(AppState& a, std::string_view command) {
  std::vector<std::string> urls;
  {
    std::lock_guard lock(a.callbacks_mu);
    if (a.api_callbacks.subscription && a.api_callbacks.subscription->wants(command)) {
      urls.push_back(a.api_callbacks.subscription->url);
    }
  }
  for (const auto& sub : a.options.file_callbacks) {
    if (sub.wants(command) && std::find(urls.begin(), urls.end(), sub.url) == urls.end()) {
      urls.push_back(sub.url);
    }
  }
  return urls;
}

std::vector<std::string> RoomEngine::subscribers(uint32_t sdkappid, std::string_view command) {
  AppState* a = app(sdkappid);
  return a ? subscribers(*a, command) : std::vector<std::string>{};
}

uint64_t RoomEngine::submit(std::vector<store::Change> changes, PendingEvents events) {
  const uint64_t seq = store_.submit(std::move(changes));
  if (!events.entries.empty() && outbox_listener_) {
    // Delivery starts only once the event is durable with its change.
    store_.when_durable(
        seq, [listener = outbox_listener_, entries = std::move(events.entries)]() mutable {
          for (auto& e : entries) listener->on_committed(std::move(e));
        });
  }
  return seq;
}

// --- callback configuration --------------------------------------------------------------------

Result<void> RoomEngine::store_callbacks(AppState& a, domain::CallbackConfig next,
                                         ReadFence& fence) {
  // Requires callbacks_mu.
  const uint64_t seq = store_.submit({store::PutCallbackConfig{a.options.sdkappid, next}});
  fence.observe(seq);
  a.api_callbacks = std::move(next);
  a.callbacks_seq = seq;
  return {};
}

Result<void> RoomEngine::set_callback(uint32_t sdkappid, domain::Subscription subscription,
                                      ReadFence& fence) {
  AppState* a = app(sdkappid);
  if (!a) return fail(Code::kSdkAppIdInvalid);
  std::lock_guard lock(a->callbacks_mu);
  domain::CallbackConfig next = a->api_callbacks;
  next.subscription = std::move(subscription);
  return store_callbacks(*a, std::move(next), fence);
}

Result<void> RoomEngine::update_callback(uint32_t sdkappid, const CallbackPatch& patch,
                                         ReadFence& fence) {
  AppState* a = app(sdkappid);
  if (!a) return fail(Code::kSdkAppIdInvalid);
  std::lock_guard lock(a->callbacks_mu);
  fence.observe(a->callbacks_seq);
  if (!a->api_callbacks.subscription) {
    return fail(Code::kCallbackTokenMissing, "no callback is configured: call set_callback first");
  }
  domain::CallbackConfig next = a->api_callbacks;
  if (patch.url) next.subscription->url = *patch.url;
  if (patch.commands) next.subscription->commands = *patch.commands;
  return store_callbacks(*a, std::move(next), fence);
}

Result<void> RoomEngine::delete_callback(uint32_t sdkappid, ReadFence& fence) {
  AppState* a = app(sdkappid);
  if (!a) return fail(Code::kSdkAppIdInvalid);
  std::lock_guard lock(a->callbacks_mu);
  fence.observe(a->callbacks_seq);
  if (!a->api_callbacks.subscription) {
    return fail(Code::kCallbackTokenMissing, "no callback is configured");
  }
  domain::CallbackConfig next{std::nullopt, a->api_callbacks.token, a->api_callbacks.token_enabled};
  return store_callbacks(*a, std::move(next), fence);
}

Result<domain::Subscription> RoomEngine::get_callback(uint32_t sdkappid, ReadFence& fence) const {
  AppState* a = app(sdkappid);
  if (!a) return fail(Code::kSdkAppIdInvalid);
  std::lock_guard lock(a->callbacks_mu);
  fence.observe(a->callbacks_seq);
  if (!a->api_callbacks.subscription) {
    return fail(Code::kCallbackTokenMissing, "no callback is configured: call set_callback first");
  }
  return *a->api_callbacks.subscription;
}

Result<void> RoomEngine::set_callback_token(uint32_t sdkappid, std::optional<std::string> token,
                                            std::optional<bool> enabled, ReadFence& fence) {
  AppState* a = app(sdkappid);
  if (!a) return fail(Code::kSdkAppIdInvalid);
  std::lock_guard lock(a->callbacks_mu);
  fence.observe(a->callbacks_seq);
  if (!a->api_callbacks.token && (!token || !enabled)) {
    return fail(Code::kInvalidParameter,
                "Token and IsTokenEnable are both required the first time");
  }
  domain::CallbackConfig next = a->api_callbacks;
  if (token) next.token = std::move(token);
  if (enabled) next.token_enabled = *enabled;
  return store_callbacks(*a, std::move(next), fence);
}

Result<std::pair<std::string, bool>> RoomEngine::get_callback_token(uint32_t sdkappid,
                                                                    ReadFence& fence) const {
  AppState* a = app(sdkappid);
  if (!a) return fail(Code::kSdkAppIdInvalid);
  std::lock_guard lock(a->callbacks_mu);
  fence.observe(a->callbacks_seq);
  if (!a->api_callbacks.token) {
    return fail(Code::kCallbackTokenMissing,
                "callback token is not configured: call set_callback_token first");
  }
  return std::pair{*a->api_callbacks.token, a->api_callbacks.token_enabled};
}

std::optional<std::string> RoomEngine::signing_token(uint32_t sdkappid) const {
  AppState* a = app(sdkappid);
  if (!a) return std::nullopt;
  std::lock_guard lock(a->callbacks_mu);
  if (a->api_callbacks.token) {
    if (a->api_callbacks.token_enabled) return a->api_callbacks.token;
    return std::nullopt;
  }
  if (a->options.file_callback_token_enabled) return a->options.file_callback_token;
  return std::nullopt;
}

Result<void> RoomEngine::import_account(uint32_t sdkappid, const std::string& user_id,
                                        const std::vector<ProfileItem>& profile, ReadFence& fence) {
  AppState* a = app(sdkappid);
  if (!a) return fail(Code::kSdkAppIdInvalid);
  std::lock_guard lock(a->accounts_mu);
  auto it = a->accounts.find(user_id);
  if (it != a->accounts.end()) {
    fence.observe(it->second.seq);
    if (profile.empty()) return {};  // importing twice is not an error
  }
  domain::Account account =
      it != a->accounts.end() ? it->second.account : domain::Account{user_id, {}};
  set_profile_items(account, profile);
  const uint64_t seq = store_.submit({store::PutAccount{sdkappid, account}});
  fence.observe(seq);
  a->accounts.insert_or_assign(user_id, AccountEntry{std::move(account), seq});
  return {};
}

std::vector<AccountResult> RoomEngine::import_accounts(uint32_t sdkappid,
                                                       const std::vector<std::string>& user_ids,
                                                       ReadFence& fence) {
  std::vector<AccountResult> results;
  AppState* a = app(sdkappid);
  if (!a) return results;
  std::vector<store::Change> changes;
  std::lock_guard lock(a->accounts_mu);
  for (const auto& id : user_ids) {
    if (auto ok = domain::check_user_id(id, "Accounts[]"); !ok) {
      results.push_back({id, ok.error().code, ok.error().info});
      continue;
    }
    if (auto it = a->accounts.find(id); it != a->accounts.end()) {
      fence.observe(it->second.seq);
      results.push_back({id, Code::kOk, ""});
      continue;
    }
    domain::Account account{id, {}};
    changes.push_back(store::PutAccount{sdkappid, account});
    a->accounts.emplace(id, AccountEntry{std::move(account), 0});
    results.push_back({id, Code::kOk, ""});
  }
  if (!changes.empty()) {
    std::vector<std::string> added;
    for (const auto& c : changes) added.push_back(std::get<store::PutAccount>(c).account.user_id);
    const uint64_t seq = store_.submit(std::move(changes));
    fence.observe(seq);
    for (const auto& id : added) a->accounts.find(id)->second.seq = seq;
  }
  return results;
}

std::vector<AccountResult> RoomEngine::delete_accounts(uint32_t sdkappid,
                                                       const std::vector<std::string>& user_ids,
                                                       ReadFence& fence) {
  std::vector<AccountResult> results;
  AppState* a = app(sdkappid);
  if (!a) return results;
  std::vector<store::Change> changes;
  std::lock_guard lock(a->accounts_mu);
  fence.observe(a->accounts_delete_seq);
  for (const auto& id : user_ids) {
    if (a->admins.contains(id)) {
      results.push_back({id, Code::kNotPermitted,
                         fmt::format("'{}' is an App administrator and cannot be deleted", id)});
      continue;
    }
    auto it = a->accounts.find(id);
    if (it == a->accounts.end()) {
      results.push_back(
          {id, Code::kAccountNotImported, fmt::format("account '{}' is not imported", id)});
      continue;
    }
    changes.push_back(store::DeleteAccount{sdkappid, id});
    a->accounts.erase(it);
    results.push_back({id, Code::kOk, ""});
  }
  if (!changes.empty()) {
    const uint64_t seq = store_.submit(std::move(changes));
    fence.observe(seq);
    a->accounts_delete_seq = seq;
  }
  return results;
}

Result<void> RoomEngine::register_login(uint32_t sdkappid, const std::string& user_id,
                                        ReadFence& fence) {
  AppState* a = app(sdkappid);
  if (!a) return fail(Code::kSdkAppIdInvalid);
  std::lock_guard lock(a->accounts_mu);
  if (auto it = a->accounts.find(user_id); it != a->accounts.end()) {
    fence.observe(it->second.seq);
    return {};
  }
  if (a->admins.contains(user_id)) return {};
  if (auto ok = domain::check_login_user_id(user_id, "identifier"); !ok) return ok;
  domain::Account account{user_id, {}};
  const uint64_t seq = store_.submit({store::PutAccount{sdkappid, account}});
  fence.observe(seq);
  a->accounts.emplace(user_id, AccountEntry{std::move(account), seq});
  return {};
}

bool RoomEngine::account_exists(uint32_t sdkappid, std::string_view user_id,
                                ReadFence& fence) const {
  return get_account(sdkappid, user_id, fence).has_value();
}

std::optional<domain::Account> RoomEngine::get_account(uint32_t sdkappid, std::string_view user_id,
                                                       ReadFence& fence) const {
  AppState* a = app(sdkappid);
  if (!a) return std::nullopt;
  std::lock_guard lock(a->accounts_mu);
  if (auto it = a->accounts.find(user_id); it != a->accounts.end()) {
    fence.observe(it->second.seq);
    return it->second.account;
  }
  fence.observe(a->accounts_delete_seq);
  if (a->admins.contains(user_id)) return domain::Account{std::string(user_id), {}};
  return std::nullopt;
}

Result<void> RoomEngine::set_profile(uint32_t sdkappid, const std::string& user_id,
                                     const std::vector<ProfileItem>& items, ReadFence& fence) {
  AppState* a = app(sdkappid);
  if (!a) return fail(Code::kSdkAppIdInvalid);
  std::lock_guard lock(a->accounts_mu);
  auto it = a->accounts.find(user_id);
  domain::Account account;
  if (it != a->accounts.end()) {
    account = it->second.account;
  } else if (a->admins.contains(user_id)) {
    account.user_id = user_id;  // admins always exist
  } else if (a->options.auto_import_accounts) {
    if (auto ok = domain::check_user_id(user_id, "From_Account"); !ok) return ok;
    account.user_id = user_id;  // auto-import creates on first use
  } else {
    fence.observe(a->accounts_delete_seq);
    return fail(Code::kAccountNotImported,
                fmt::format("From_Account '{}' is not an imported account", user_id));
  }
  set_profile_items(account, items);
  const uint64_t seq = store_.submit({store::PutAccount{sdkappid, account}});
  fence.observe(seq);
  a->accounts.insert_or_assign(user_id, AccountEntry{std::move(account), seq});
  return {};
}

}  // namespace liveroom::engine
