// The threads that run a node's lease looks (cluster::LeaseDriver): each look when it is due or
// woken, never two looks of one lease at once, a leader's look before the others due with it,
// and none after remove().
#include "cluster/lease_driver.h"

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace liveroom::cluster {
namespace {

using Clock = LeaseDriver::Clock;
using std::chrono::milliseconds;

// A lease whose look runs `look` and is next due `after` it.
class TestLease final : public LeaseDriver::Lease {
 public:
  explicit TestLease(milliseconds after, bool urgent = false) : after_(after), urgent_(urgent) {}

  Clock::time_point step() override {
    const int inside = ++inside_;
    if (inside > most_inside_) most_inside_ = inside;
    const auto started = Clock::now();
    {
      std::lock_guard lock(mu_);
      starts_.push_back(started);
    }
    if (look) look();
    --inside_;
    const auto due = Clock::now() + after_;
    std::lock_guard lock(mu_);
    dues_.push_back(due);
    return due;
  }
  bool urgent() const override { return urgent_; }

  size_t looks() {
    std::lock_guard lock(mu_);
    return starts_.size();
  }
  std::vector<Clock::time_point> starts() {
    std::lock_guard lock(mu_);
    return starts_;
  }
  std::vector<Clock::time_point> dues() {
    std::lock_guard lock(mu_);
    return dues_;
  }

  std::function<void()> look;
  std::atomic<int> inside_{0};
  std::atomic<int> most_inside_{0};

 private:
  const milliseconds after_;
  const bool urgent_;
  std::mutex mu_;
  std::vector<Clock::time_point> starts_;
  std::vector<Clock::time_point> dues_;
};

// Waits (at most 10 s) until `done`.
bool eventually(const std::function<bool()>& done) {
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (!done()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(1));
  }
  return true;
}

TEST(LeaseDriver, RunsEachLookOnlyOnceItIsDue) {
  LeaseDriver driver(4);
  TestLease lease(milliseconds(20));
  driver.add(lease);
  ASSERT_TRUE(eventually([&] { return lease.looks() >= 6; }));
  driver.remove(lease);
  const auto starts = lease.starts();
  const auto dues = lease.dues();
  for (size_t i = 1; i < starts.size(); ++i) {
    EXPECT_GE(starts[i], dues[i - 1]) << "look " << i << " ran before it was due";
  }
}

TEST(LeaseDriver, WakeRunsALookBeforeItIsDue) {
  LeaseDriver driver(2);
  TestLease lease(std::chrono::hours(1));
  driver.add(lease);
  ASSERT_TRUE(eventually([&] { return lease.looks() == 1; }));
  driver.wake(lease);
  EXPECT_TRUE(eventually([&] { return lease.looks() == 2; }));
  // Woken while its look runs: one more look right after it, not lost.
  std::atomic<bool> release{false};
  lease.look = [&] {
    while (!release) std::this_thread::sleep_for(milliseconds(1));
  };
  driver.wake(lease);
  ASSERT_TRUE(eventually([&] { return lease.inside_ == 1; }));
  driver.wake(lease);
  release = true;
  EXPECT_TRUE(eventually([&] { return lease.looks() == 4; }));
  driver.remove(lease);
}

TEST(LeaseDriver, NeverRunsTwoLooksOfOneLeaseAtOnceButRunsLeasesSideBySide) {
  LeaseDriver driver(4);
  std::vector<std::unique_ptr<TestLease>> leases;
  std::atomic<int> inside_any{0}, most_inside_any{0};
  for (int i = 0; i < 4; ++i) {
    leases.push_back(std::make_unique<TestLease>(milliseconds(0)));
    leases.back()->look = [&] {
      const int n = ++inside_any;
      int seen = most_inside_any.load();
      while (n > seen && !most_inside_any.compare_exchange_weak(seen, n)) {
      }
      std::this_thread::sleep_for(milliseconds(20));
      --inside_any;
    };
  }
  for (auto& lease : leases) driver.add(*lease);
  // Wakes from other threads while the looks run.
  std::vector<std::thread> wakers;
  for (int t = 0; t < 3; ++t) {
    wakers.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        for (auto& lease : leases) driver.wake(*lease);
        std::this_thread::sleep_for(milliseconds(1));
      }
    });
  }
  for (auto& w : wakers) w.join();
  for (auto& lease : leases) driver.remove(*lease);
  for (auto& lease : leases) EXPECT_EQ(lease->most_inside_.load(), 1);
  EXPECT_GE(most_inside_any.load(), 2) << "the leases' looks never ran side by side";
}

TEST(LeaseDriver, RemoveWaitsForTheRunningLookAndEndsTheLooks) {
  LeaseDriver driver(2);
  TestLease lease(milliseconds(0));
  std::atomic<bool> started{false}, finished{false};
  lease.look = [&] {
    started = true;
    std::this_thread::sleep_for(milliseconds(100));
    finished = true;
  };
  driver.add(lease);
  ASSERT_TRUE(eventually([&] { return started.load(); }));
  driver.remove(lease);
  EXPECT_TRUE(finished.load()) << "remove() returned while a look of the lease ran";
  const size_t looks = lease.looks();
  driver.wake(lease);  // (removed: nothing)
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_EQ(lease.looks(), looks);
  driver.remove(lease);  // (twice, or never added: nothing)
}

TEST(LeaseDriver, ALeadersLookGoesBeforeTheOthersDueWithIt) {
  LeaseDriver driver(1);
  // The leader's first look tells the driver it is urgent; its next is due in 150 ms.
  TestLease leader(milliseconds(150), /*urgent=*/true);
  driver.add(leader);
  ASSERT_TRUE(eventually([&] { return leader.looks() == 1; }));
  // The one thread is held while twenty followers' looks come due (before the leader's).
  TestLease blocker(std::chrono::hours(1));
  std::atomic<bool> release{false};
  blocker.look = [&] {
    while (!release) std::this_thread::sleep_for(milliseconds(1));
  };
  driver.add(blocker);
  ASSERT_TRUE(eventually([&] { return blocker.inside_ == 1; }));
  std::vector<std::unique_ptr<TestLease>> followers;
  for (int i = 0; i < 20; ++i) {
    followers.push_back(std::make_unique<TestLease>(std::chrono::hours(1)));
    driver.add(*followers.back());
  }
  std::this_thread::sleep_for(milliseconds(300));  // the leader's look is due too now
  release = true;
  ASSERT_TRUE(eventually([&] { return leader.looks() == 2; }));
  ASSERT_TRUE(eventually([&] {
    for (auto& f : followers) {
      if (f->looks() == 0) return false;
    }
    return true;
  }));
  const auto leader_second = leader.starts()[1];
  for (auto& f : followers) {
    EXPECT_LT(leader_second, f->starts()[0]) << "a follower's look went before the leader's";
  }
  driver.remove(leader);
  driver.remove(blocker);
  for (auto& f : followers) driver.remove(*f);
}

TEST(LeaseDriver, LeasesAddedWokenAndRemovedFromManyThreadsAtOnce) {
  // What a node does when apps move: leases come and go while others are woken, from several
  // threads. Each lease counts its looks; none runs twice at once, none after remove().
  LeaseDriver driver(6);
  constexpr int kLeases = 64;
  std::vector<std::unique_ptr<TestLease>> leases;
  std::vector<std::atomic<bool>> removed(kLeases);
  std::vector<std::atomic<int>> after_removal(kLeases);
  for (int i = 0; i < kLeases; ++i) {
    leases.push_back(std::make_unique<TestLease>(milliseconds(i % 5), /*urgent=*/i % 7 == 0));
    leases.back()->look = [&, i] {
      if (removed[i]) ++after_removal[i];
    };
    driver.add(*leases.back());
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 300; ++round) {
        driver.wake(*leases[(round * 7 + t * 13) % kLeases]);
        if (round % 10 == 0) {
          // Out and back in (as a node's shards start and stop), by the lease's one owner.
          const int mine = (round / 10 * 4 + t) % kLeases;
          driver.remove(*leases[mine]);
          driver.add(*leases[mine]);
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (int i = 0; i < kLeases; i += 2) {
    driver.remove(*leases[i]);
    removed[i] = true;  // (after remove() returned: a look from now on is a fault)
  }
  std::this_thread::sleep_for(milliseconds(100));
  for (int i = 0; i < kLeases; ++i) {
    driver.wake(*leases[i]);
    EXPECT_EQ(leases[i]->most_inside_.load(), 1) << "lease " << i;
    EXPECT_EQ(after_removal[i].load(), 0) << "lease " << i << " looked after remove()";
    if (i % 2 == 1) {
      EXPECT_GT(leases[i]->looks(), 1u) << "lease " << i;
    }
  }
  for (int i = 1; i < kLeases; i += 2) driver.remove(*leases[i]);
}

// Sets `flag` when it goes: the hanging looks end even when an assertion returns early, before
// the driver (declared before this) joins its threads.
struct SetOnExit {
  std::atomic<bool>& flag;
  ~SetOnExit() { flag = true; }
};

TEST(LeaseDriver, FollowersLooksThatHangLeaveThreadsForTheLeaders) {
  std::atomic<bool> release{false};
  std::atomic<int> hanging{0}, most_hanging{0};
  TestLease leader(milliseconds(20), /*urgent=*/true);
  std::vector<std::unique_ptr<TestLease>> followers;
  LeaseDriver driver(4);  // three for the followers' looks, one kept for leaders
  SetOnExit release_on_exit{release};
  driver.add(leader);
  ASSERT_TRUE(eventually([&] { return leader.looks() >= 1; }));
  // Ten followers whose looks hang (a PostgreSQL that does not answer).
  for (int i = 0; i < 10; ++i) {
    followers.push_back(std::make_unique<TestLease>(std::chrono::hours(1)));
    followers.back()->look = [&] {
      const int n = ++hanging;
      int seen = most_hanging.load();
      while (n > seen && !most_hanging.compare_exchange_weak(seen, n)) {
      }
      while (!release) std::this_thread::sleep_for(milliseconds(1));
      --hanging;
    };
    driver.add(*followers.back());
  }
  ASSERT_TRUE(eventually([&] { return hanging == 3; }));
  // The leader goes on renewing meanwhile.
  const size_t before = leader.looks();
  EXPECT_TRUE(eventually([&] { return leader.looks() >= before + 5; }));
  EXPECT_EQ(most_hanging.load(), 3);
  release = true;
  EXPECT_TRUE(eventually([&] {
    for (auto& f : followers) {
      if (f->looks() == 0) return false;
    }
    return true;
  })) << "the followers' looks that waited never ran";
  driver.remove(leader);
  for (auto& f : followers) driver.remove(*f);
}

}  // namespace
}  // namespace liveroom::cluster
