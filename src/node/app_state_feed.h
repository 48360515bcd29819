// Placement by room (docs/cluster.md): a slot's host keeps a copy of its app's app-wide state
// (accounts, the callback configuration, the gift catalog) in its engine, and the app's other hosts
// change it too (account_import on the host of slot 0, an auto-import on any). Each change goes
// into the app's feed in PostgreSQL in the transaction of the change; this follows the feed, so
// that a call sees every change acknowledged before it began, on whichever host: catch_up() is a
// barrier, as a follower's read is (docs/cluster.md, "Reads on followers").
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/error.h"
#include "engine/room_engine.h"
#include "store/postgres/pg_pool.h"

namespace liveroom::node {

class AppStateFeed {
 public:
  // `version`: the feed's position the engine's state was loaded at. `trims`: this host keeps the
  // feed short (the app's slot 0). `lost` is called when changes it had not read were trimmed
  // (it went ten minutes without reading, paused: its copy can no longer be brought up to date,
  // and the host must load again).
  AppStateFeed(store::PgPool& postgres, engine::RoomEngine& engine, uint32_t sdkappid,
               uint64_t version, bool trims, std::function<void(const std::string&)> lost);
  ~AppStateFeed();
  AppStateFeed(const AppStateFeed&) = delete;
  AppStateFeed& operator=(const AppStateFeed&) = delete;

  // Returns once a read of the feed that began after this call was applied to the engine; an
  // error if PostgreSQL does not answer in time. Reads run one at a time, and every call waiting
  // shares the next one.
  Result<void> catch_up();
  void stop();

 private:
  // Between calls the feed is read every kIdleRead anyway: a host that serves no call still
  // follows, so that the changes it must read stay few (and are never trimmed before it reads
  // them).
  static constexpr auto kIdleRead = std::chrono::seconds(1);
  static constexpr auto kWaitLimit = std::chrono::seconds(5);
  // How long the feed keeps a change (the host of slot 0 trims it every minute): far longer than
  // any host goes without reading it (kIdleRead), unless it is paused, and then it has lost its
  // lease long before.
  static constexpr std::chrono::seconds kChangesKeptFor{600};

  void run();
  void read_once();  // throws on a database error

  store::PgPool& postgres_;
  engine::RoomEngine& engine_;
  const uint32_t sdkappid_;
  const bool trims_;
  const std::function<void(const std::string&)> lost_;
  uint64_t version_;                  // the feed's position applied (the thread's)
  std::vector<std::string> recheck_;  // accounts to read again (the thread's)
  bool recheck_callbacks_ = false;    // (the thread's)
  bool recheck_catalog_ = false;      // (the thread's)

  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t wanted_ = 0;    // the highest read a catch_up() waits for
  uint64_t started_ = 0;   // reads begun
  uint64_t finished_ = 0;  // reads ended
  bool last_ok_ = true;    // whether the last read ended well
  std::string last_error_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace liveroom::node
