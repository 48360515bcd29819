// Engine-private (src/engine/*.cpp only): templates and helpers that several engine files use.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/room_engine.h"

namespace liveroom::engine {

// A fresh event id for emit(): 32 hex digits.
std::string random_event_id();

// The `emit_events` of a moderate() call whose change has no callback of its own.
inline constexpr auto no_events = [](auto&, auto&, auto&, auto&) {};

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

template <typename Fn>
auto RoomEngine::as_online_owner(uint32_t sdkappid, std::string_view room_id,
                                 const std::string& owner, Fn&& fn)
    -> decltype(fn(std::declval<AppState&>())) {
  AppState* a = app(sdkappid);
  if (!a) return fail(Code::kSdkAppIdInvalid);
  settle_cross_room(*a);  // what was dismissed or went offline is gone before we look
  std::lock_guard lock(a->cross.mu);
  if (auto ok = check_online_owner(*a, room_id, owner); !ok) return std::unexpected(ok.error());
  return fn(*a);
}

}  // namespace liveroom::engine
