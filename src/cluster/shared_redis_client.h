// One Redis connection for every lease a node keeps. With placement by app a node keeps a lease
// per app, each on its own thread; with a connection each, three nodes of 640 apps opened ~1,900
// connections and Redis on the 2-core VM stopped accepting them (connects timed out, leases
// lapsed, nodes restarted). Here the threads share one connection: what they send while a round
// trip is under way goes together in the next one, as a pipeline (group send, as the store's
// group commit), so a node costs Redis one client and a look at N leases costs a few round trips,
// not N. A thread of its own sends: it goes straight on to the next round trip, where handing the
// sending from caller to caller cost a wake-up per round trip, which a node busy loading its apps
// delayed by seconds. A leader's renewal goes ahead of the followers' looks. See docs/cluster.md
// "Many apps".
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cluster/redis_client.h"

namespace liveroom::cluster {

class SharedRedisClient {
 public:
  SharedRedisClient(RedisAddress address, std::chrono::milliseconds timeout,
                    std::string client_name);
  ~SharedRedisClient();
  SharedRedisClient(const SharedRedisClient&) = delete;
  SharedRedisClient& operator=(const SharedRedisClient&) = delete;

  // Runs one command in the next round trip and waits for its reply. Throws RedisError on an
  // error reply (this command's alone) or a failed connection (then every command of that round
  // trip fails alike, and the next one connects afresh). Thread-safe.
  // `urgent` (a leader renewing its lease, which lapses if that is late) goes ahead of what is
  // not.
  RedisReply command(std::vector<std::string> args, bool urgent = false);

  // Round trips made, and the commands they carried (their ratio is the batching).
  uint64_t round_trips() const { return round_trips_.load(std::memory_order_relaxed); }
  uint64_t commands() const { return commands_.load(std::memory_order_relaxed); }

 private:
  struct Pending;
  void run();  // the sender thread
  // Sends `batch` (its commands moved out), one outcome each (mu_ released).
  std::vector<RedisOutcome> send(const std::vector<Pending*>& batch);

  // At most this many commands in one round trip, so that one look at every lease of a node with
  // thousands of apps does not hold the first reply back behind a long pipeline.
  static constexpr size_t kMaxBatch = 256;

  std::mutex mu_;
  std::condition_variable wake_;  // the sender: something queued, or stop
  std::deque<Pending*> queue_;    // waiting for a round trip: urgent ones first, then oldest
  size_t urgent_ = 0;             // how many at the queue's front are urgent
  bool stopping_ = false;
  RedisClient client_;  // the sender's alone
  std::atomic<uint64_t> round_trips_{0};
  std::atomic<uint64_t> commands_{0};
  std::thread sender_;
};

}  // namespace liveroom::cluster
