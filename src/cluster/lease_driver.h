// Runs the looks of every lease a node keeps (Leadership) on a few threads of its own. With
// placement by app a node keeps a lease per app, and each lease had a thread that slept between
// looks (and each shard another that waited to win it): a node of a thousand-app cluster ran
// 2,000 threads that mostly slept. A look is one or two Redis commands, which the node's shared
// connection sends together with the other leases' (SharedRedisClient), so a few threads keep
// many leases: what they wait for is the round trip, not each other. A leader's renewal goes
// ahead of the followers' looks that are due with it, as it does on the connection, and a
// quarter of the threads are kept for leaders: a follower's look may wait for PostgreSQL (the
// epoch, while no node has led yet) or for a Redis that does not answer, and a leader whose
// renewal waited behind such looks would lose its lease. See docs/cluster.md "Many apps".
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

namespace liveroom::cluster {

class LeaseDriver {
 public:
  using Clock = std::chrono::steady_clock;

  // What the driver runs: one look at a lease at a time, never two of the same lease at once.
  class Lease {
   public:
    virtual ~Lease() = default;
    // One look (it may block on Redis or PostgreSQL); returns when it wants the next.
    virtual Clock::time_point step() = 0;
    // Whether this lease's look goes before the others that are due (a leader renewing, whose
    // lease lapses if that is late). Asked after each look.
    virtual bool urgent() const = 0;
  };

  // `threads` at least 1; with 2 or more, a quarter of them (at least one) run only leaders'
  // looks.
  explicit LeaseDriver(size_t threads);
  ~LeaseDriver();
  LeaseDriver(const LeaseDriver&) = delete;
  LeaseDriver& operator=(const LeaseDriver&) = delete;

  // Its first look is due now. A lease is added and removed by its owner, one call at a time;
  // wake() may come from any thread.
  void add(Lease& lease);
  // Its next look is due now (after the one running, if one is): something it must act on came.
  void wake(Lease& lease);
  // Runs it no more; waits for a look of it that is running. Nothing if it was never added.
  void remove(Lease& lease);

 private:
  struct Entry {
    Clock::time_point due;
    bool urgent = false;
    bool queued = false;   // in urgent_ or due_
    bool running = false;  // a thread runs its step()
    bool woken = false;    // wake() came while it ran
    bool removed = false;  // remove() waits for its running step
  };
  using Queue = std::set<std::pair<Clock::time_point, Lease*>>;

  void run();
  void enqueue(Lease* lease, Entry& entry);  // mu_ held
  void dequeue(Lease* lease, Entry& entry);  // mu_ held

  std::mutex mu_;
  std::condition_variable work_;  // a look became due earlier, or stop
  std::condition_variable done_;  // a look ended (for remove)
  std::unordered_map<Lease*, Entry> leases_;
  Queue urgent_;             // leaders' looks, by when due
  Queue due_;                // the others'
  size_t others_limit_ = 1;  // how many threads may run the others' looks at once
  size_t others_running_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace liveroom::cluster
