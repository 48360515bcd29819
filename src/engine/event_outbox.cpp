// Callback events: who subscribes to a command, the events emit() puts in the outbox with the
// change they describe, and submit(), which hands them to delivery once the change is durable.
#include <algorithm>
#include <random>

#include <fmt/format.h>

#include "engine/room_engine_internal.h"
#include "engine/room_events.h"

namespace liveroom::engine {

std::string random_event_id() {
  thread_local std::mt19937_64 random{std::random_device{}()};
  return fmt::format("{:016x}{:016x}", random(), random());
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

bool RoomEngine::subscription_lists(uint32_t sdkappid, std::string_view command) {
  AppState* a = app(sdkappid);
  if (!a) return false;
  {
    std::lock_guard lock(a->callbacks_mu);
    if (a->api_callbacks.subscription && a->api_callbacks.subscription->lists(command)) return true;
  }
  return std::ranges::any_of(a->options.file_callbacks,
                             [&](const auto& sub) { return sub.lists(command); });
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

}  // namespace liveroom::engine
