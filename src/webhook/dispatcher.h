// Delivers the transactional outbox to the apps' webhook URLs (docs/webhooks.md).
//
// Events reach the dispatcher only after they are durable with their change (the engine hands
// them over from the store's commit callback), and at start-up from the store. Each (URL, app,
// room) is a lane that sends its events one at a time in order. Lanes whose head is due wait in
// their receiver's ready queue; up to `connections_per_url` connection workers per receiver take
// them in batches of up to `pipeline_depth`, written together on one keep-alive connection
// (HTTP/1.1 pipelining) and confirmed as a whole. Progress (delivered, retry scheduled, dead) is
// written back to the store without waiting: after a crash an event may be sent again, never
// lost. Everything runs on the dispatcher's own thread; API threads only queue work for it.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "base/clock.h"
#include "base/error.h"
#include "domain/callbacks.h"
#include "engine/room_engine.h"
#include "store/store.h"

namespace liveroom::webhook {

struct DispatcherOptions {
  unsigned connections_per_url = 32;  // per receiver (scheme, host, port)
  unsigned pipeline_depth = 32;       // deliveries written at once on one connection; 1 = off
  // While events keep coming, how often the dispatcher collects them (see take_handoff).
  std::chrono::milliseconds collect_interval{5};
  std::chrono::milliseconds request_timeout{5000};
  std::chrono::milliseconds first_retry{1000};
  std::chrono::milliseconds max_retry{300'000};
};

// The answer of a "before" callback (spec §5.3).
struct VetoAnswer {
  bool allowed = true;
  int64_t error_code = 0;  // the backend's ErrorCode when it blocked
  std::string error_info;
  bool answered = true;  // false: no valid answer in time; `allowed` is then the fail-open switch
};

// Counters for /metrics.
struct DispatcherStats {
  uint64_t queued = 0;         // pending deliveries (not dead)
  int64_t oldest_age_ms = 0;   // age of the oldest pending delivery
  uint64_t delivered = 0;      // total since start
  uint64_t retries = 0;        // failed attempts that were rescheduled
  uint64_t dead_lettered = 0;  // total since start
  uint64_t dead_letters = 0;   // currently kept
};

class Dispatcher final : public engine::OutboxListener {
 public:
  // `token_of(sdkappid)`: the token to sign with now (nullopt: unsigned). `max_age_ms(sdkappid)`:
  // how old a failing delivery may get before it becomes a dead letter.
  Dispatcher(store::Store& store, const Clock& clock,
             std::function<std::optional<std::string>(uint32_t)> token_of,
             std::function<int64_t(uint32_t)> max_age_ms, DispatcherOptions options = {});
  ~Dispatcher() override;
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // The outbox rows read at start-up (pending and dead), in id order. Call before start().
  void load(std::vector<domain::OutboxEntry> entries);
  void start();
  // Stops sending; undelivered events stay in the store for the next start.
  void stop();

  void on_committed(store::OutboxEntries entries) override;

  std::vector<domain::OutboxEntry> dead_letters(uint32_t sdkappid) const;
  // Queues the app's dead letters with these ids (all when empty) again, with a fresh max age.
  // Returns how many, and the store sequence the reply must wait for.
  std::pair<size_t, uint64_t> replay(uint32_t sdkappid, const std::vector<uint64_t>& ids);

  // A "before" callback: POSTs `payload` to each URL (signed like deliveries, not queued, not
  // retried) and calls `done` on the dispatcher thread: allowed iff every backend answered
  // ErrorCode 0 within `timeout`; a backend that fails or is late counts as `fail_open`.
  void ask_veto(uint32_t sdkappid, std::vector<std::string> urls, std::string command,
                std::string payload, std::string client_ip, std::chrono::milliseconds timeout,
                bool fail_open, std::move_only_function<void(VetoAnswer)> done);

  DispatcherStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace liveroom::webhook
