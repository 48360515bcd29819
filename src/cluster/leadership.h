// Who leads the cluster: a lease in Redis (SET NX PX, renewed by a script that checks the holder),
// looked at by the node's LeaseDriver (with placement by app, one lease per app; a node's leases
// share its few driver threads and its one Redis connection, SharedRedisClient). The lease only
// says who should lead; what stops a stale leader from writing is the epoch its PostgreSQL commits
// carry (store::PostgresOptions). The looks of one of a node's leases also keep the node's entry
// in the node registry (`liveroomd cluster status` reads it). See docs/cluster.md.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/log_throttle.h"
#include "cluster/lease_driver.h"
#include "cluster/placement.h"
#include "cluster/redis_client.h"
#include "cluster/shared_redis_client.h"
#include "config/config.h"

namespace liveroom::cluster {

// The Redis keys, under the cluster's key_prefix: the lease ("<node_id> <token> <url>"), each
// node's registry entry (a JSON object that expires lease_ms after the node last renewed it, so
// a node that stops disappears), and the set of every node id that ever registered.
std::string lease_key(const std::string& prefix);
// With placement by app, each app's lease instead ("<prefix>:leader:<sdkappid>", same value).
std::string app_lease_key(const std::string& prefix, uint32_t sdkappid);
// With placement by room, each slot's ("<prefix>:leader:<sdkappid>:<slot>").
std::string slot_lease_key(const std::string& prefix, uint32_t sdkappid, uint32_t slot);
// What a lease covers, in log lines and errors: "app 1400000001", "slot 3 of app 1400000001".
std::string scope_name(const LeaseScope& scope);
std::string registry_entry_key(const std::string& prefix, const std::string& node_id);
std::string registry_set_key(const std::string& prefix);
// The lease's value once its leader stopped cleanly (it names no node): taken at once.
inline constexpr std::string_view kReleasedLease = "released";
// The lease's value once its leader handed it to one node ("released for <node_id>", placement by
// app moving an app to its preferred node): that node takes it at once; for the others it is
// held, by nobody yet, until it expires (lease_ms) should that node never take it.
std::string lease_released_for(std::string_view node_id);

// Who the lease's value names ("<node_id> <token> <advertise_url>"); empty fields if malformed.
struct LeaseHolder {
  std::string node_id;
  std::string advertise_url;
};
LeaseHolder parse_lease_value(std::string_view value);

class Leadership : private LeaseDriver::Lease {
 public:
  struct Hooks {
    // The leadership epoch PostgreSQL holds now; checked when this node regains a lease that
    // lapsed (a Redis outage), to be sure nobody led in between.
    std::function<uint64_t()> current_epoch;
    // This node led and no longer does (another node holds the lease, or the epoch moved on).
    // Called on a lease thread; it must stop the node acting as leader.
    std::function<void(const std::string& why)> lost;
    // This node now holds the lease (it won it, or had it handed over): time to take over.
    // Called on a lease thread, which must not wait for the takeover (other leases share it).
    std::function<void()> elected;
    // This node's registry entry, a JSON object (its role, address, load). Called on a lease
    // thread after each look at the lease; none: no entry.
    std::function<std::string()> describe;
    // The lease names a leader other than the one at this URL, which held it before (another
    // node took over, or this one did): what this node sent that leader and is still waiting
    // for may never be answered. Called on a lease thread; none: nothing to do.
    std::function<void(const std::string& previous_leader_url)> moved;
    // Whether this node is the one that should take a free lease (placement spreads apps over
    // the nodes): the others wait two looks longer before they compete, so that the preferred
    // node wins unless it is gone. None: every node is (one lease for the cluster).
    std::function<bool()> preferred;
    // The live nodes changed (a node joined, or left): called on a lease thread after the
    // registry read that saw it, only with `describe`. None: nothing to do.
    std::function<void()> live_changed;
    // Whether this node may take a free lease: not once it is stopping, for it would hold the
    // lease, serving nothing, until it exits, while the nodes that stay waited for it. None:
    // always.
    std::function<bool()> may_take;
  };

  // The cluster's lease, or with `sdkappid` that app's (placement by app). `redis` is the node's
  // one connection and `driver` its lease threads, shared by all its leases; both must outlive
  // this.
  Leadership(const config::ClusterConfig& config, SharedRedisClient& redis, LeaseDriver& driver,
             Hooks hooks, std::optional<LeaseScope> scope = std::nullopt);
  ~Leadership();
  Leadership(const Leadership&) = delete;
  Leadership& operator=(const Leadership&) = delete;

  // Connects to Redis once, so a wrong address or password stops start-up with a clear error.
  void check();
  // Its looks begin (on the driver's threads).
  void start();
  // Its looks end; a leader marks its lease released so a follower (its successor, if set)
  // takes it at its next look instead of waiting for it to expire.
  void stop();

  // A leader that has stopped serving (every commit done) gives the lease to `node_id` and
  // follows from then on; its next look does it, and this waits for it. False if this node
  // did not hold the lease or Redis could not be told (the lease then expires by itself).
  bool release_to(const std::string& node_id);
  // This node is stopping: its registry entry goes now, so that the others stop counting it live
  // (placement by app: their preferred nodes for its apps start looking often), while it keeps
  // its leases, and goes on reading the live nodes, until stop(). Only with `describe`.
  void withdraw();
  // Where stop() hands the lease: released for this node only (as release_to), not for whichever
  // looks first. Empty: for any.
  void set_successor(std::string node_id);
  // Recorded once this node has raised the epoch in PostgreSQL.
  void set_epoch(uint64_t epoch) { epoch_.store(epoch); }
  // What describe() says has changed (the node began serving): the registry entry is written
  // now rather than at the next look at the lease.
  void announce();
  // The leader may be changing (its link broke, or it said it is stepping down): look at the
  // lease often for the next 2 × lease_ms, so that a released lease is taken, or the new
  // leader found, within a fraction of a second. Cheap to call often.
  void look_soon();

  bool elected() const { return elected_.load(std::memory_order_acquire); }
  // True while the lease is known held: renewed less than lease_ms ago. A leader serves only then.
  bool lease_valid() const;
  // Where the leader is reached (its advertise_url), as last read from Redis; empty if none is
  // known or this node is the leader.
  std::string leader_url() const;
  // The nodes whose registry entries had not expired at this node's last entry write (sorted;
  // empty before the first, and always without the `describe` hook).
  std::vector<std::string> live_nodes() const;

 private:
  // One look, on a driver thread: renew or read the lease, and whatever was asked meanwhile
  // (withdraw, release_to, announce). Returns when the next is due.
  LeaseDriver::Clock::time_point step() override;
  bool urgent() const override { return elected(); }
  // How often the lease is looked at (renewed, or read by a follower): a third of lease_ms.
  std::chrono::milliseconds look_interval() const {
    return std::chrono::milliseconds(config_.lease_ms / 3);
  }
  bool tick();     // false when Redis could not be reached
  bool release();  // in a look, for release_to()
  void publish();  // the registry entry; failures only logged (the lease does not depend on it)
  void lose(const std::string& why);
  // The lease names the leader at `url` (this node's own when it won it): hooks_.moved if that
  // is another than the last one seen.
  void saw_leader(const std::string& url);
  void log_redis_error(const std::exception& e);
  // True while the epoch is still 0: no node has ever led, so none can be renewing an absent
  // lease. False once it is not, or if PostgreSQL cannot say.
  bool nobody_ever_led();

  config::ClusterConfig config_;
  Hooks hooks_;
  SharedRedisClient& redis_;
  LeaseDriver& driver_;
  std::string key_;
  std::string scope_;  // what the lease is for, in log lines: "" or " for app <sdkappid>"
  std::string value_;  // node_id, a token unique to this process, advertise_url

  std::atomic<bool> elected_{false};
  std::atomic<int64_t> valid_until_ns_{0};  // steady_clock
  std::atomic<uint64_t> epoch_{0};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::string leader_url_;
  std::vector<std::string> live_nodes_;
  bool stopping_ = false;
  bool withdraw_ = false;   // a withdraw() for the next look to carry out
  bool withdrawn_ = false;  // its entry removed: the registry is only read (looks only)
  std::string successor_;
  bool announce_ = false;
  bool look_now_ = false;
  std::optional<std::string> release_to_;               // a release_to() waiting for the next look
  std::optional<bool> released_;                        // its outcome
  std::chrono::steady_clock::time_point fast_until_{};  // looking every kFastLook until then
  // When the lease is next looked at (renewed or read); the looks only.
  std::chrono::steady_clock::time_point next_look_{};
  bool lease_lapsed_logged_ = false;
  // Since when the looks have found no lease at all (looks only).
  std::optional<std::chrono::steady_clock::time_point> free_since_;
  // Whether some node has led this cluster (the epoch has left 0), once seen (looks only).
  bool someone_led_ = false;
  // The advertise_url the lease last named (looks only); kept while it names nobody, so
  // that a leader replaced after its lease expired is told apart from one that renewed.
  std::string last_leader_url_;
  LogThrottle redis_errors_{std::chrono::seconds(5)};
};

}  // namespace liveroom::cluster
