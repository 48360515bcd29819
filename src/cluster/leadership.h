// Who leads the cluster: a lease in Redis (SET NX PX, renewed by a script that checks the holder),
// kept by one thread per node. The lease only says who should lead; what stops a stale leader
// from writing is the epoch its PostgreSQL commits carry (store::PostgresOptions). See
// docs/cluster.md.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "cluster/redis_client.h"
#include "config/config.h"

namespace liveroom::cluster {

class Leadership {
 public:
  struct Hooks {
    // The leadership epoch PostgreSQL holds now; checked when this node regains a lease that
    // lapsed (a Redis outage), to be sure nobody led in between.
    std::function<uint64_t()> current_epoch;
    // This node led and no longer does (another node holds the lease, or the epoch moved on).
    // Called on the lease thread; it must stop the node acting as leader.
    std::function<void(const std::string& why)> lost;
  };

  Leadership(const config::ClusterConfig& config, Hooks hooks);
  ~Leadership();
  Leadership(const Leadership&) = delete;
  Leadership& operator=(const Leadership&) = delete;

  // Connects to Redis once, so a wrong address or password stops start-up with a clear error.
  void check();
  void start();
  // Stops the lease thread; a leader gives its lease up so a follower need not wait for expiry.
  void stop();

  // Blocks until this node holds the lease; false if stop() or interrupt_wait() came first.
  bool wait_until_elected();
  // Wakes wait_until_elected() for shutdown, keeping the lease (and its renewal) until stop().
  void interrupt_wait();
  // Recorded once this node has raised the epoch in PostgreSQL.
  void set_epoch(uint64_t epoch) { epoch_.store(epoch); }

  bool elected() const { return elected_.load(std::memory_order_acquire); }
  // True while the lease is known held: renewed less than lease_ms ago. A leader serves only then.
  bool lease_valid() const;
  // Where the leader is reached (its advertise_url), as last read from Redis; empty if none is
  // known or this node is the leader.
  std::string leader_url() const;

 private:
  void run();
  void tick();
  void lose(const std::string& why);

  config::ClusterConfig config_;
  Hooks hooks_;
  RedisClient redis_;
  std::string key_;
  std::string value_;  // node_id, a token unique to this process, advertise_url

  std::atomic<bool> elected_{false};
  std::atomic<int64_t> valid_until_ns_{0};  // steady_clock
  std::atomic<uint64_t> epoch_{0};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::string leader_url_;
  bool stopping_ = false;
  bool interrupted_ = false;
  bool lease_lapsed_logged_ = false;
  std::chrono::steady_clock::time_point last_error_log_{};
  std::thread thread_;
};

}  // namespace liveroom::cluster
