#include "cluster/lease_driver.h"

#include <algorithm>
#include <optional>

namespace liveroom::cluster {

LeaseDriver::LeaseDriver(size_t threads) {
  threads = std::max<size_t>(1, threads);
  others_limit_ = threads == 1 ? 1 : threads - std::max<size_t>(1, threads / 4);
  threads_.reserve(threads);
  for (size_t i = 0; i < threads; ++i) {
    threads_.emplace_back([this] { run(); });
  }
}

LeaseDriver::~LeaseDriver() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  work_.notify_all();
  for (auto& t : threads_) t.join();
}

void LeaseDriver::add(Lease& lease) {
  std::lock_guard lock(mu_);
  auto [it, added] = leases_.try_emplace(&lease);
  if (!added) return;
  it->second.due = Clock::now();
  enqueue(&lease, it->second);
}

void LeaseDriver::wake(Lease& lease) {
  std::lock_guard lock(mu_);
  const auto it = leases_.find(&lease);
  if (it == leases_.end() || it->second.removed) return;
  Entry& entry = it->second;
  if (entry.running) {
    entry.woken = true;  // (re-queued as due now when its look ends)
    return;
  }
  const auto now = Clock::now();
  if (entry.queued && entry.due <= now) return;
  dequeue(&lease, entry);
  entry.due = now;
  enqueue(&lease, entry);
}

void LeaseDriver::remove(Lease& lease) {
  std::unique_lock lock(mu_);
  const auto it = leases_.find(&lease);
  if (it == leases_.end()) return;
  // (A reference, not the iterator: other leases may be added, and the map rehashed, meanwhile.)
  Entry& entry = it->second;
  entry.removed = true;
  dequeue(&lease, entry);
  done_.wait(lock, [&] { return !entry.running; });
  leases_.erase(&lease);
}

void LeaseDriver::enqueue(Lease* lease, Entry& entry) {
  Queue& queue = entry.urgent ? urgent_ : due_;
  const auto [pos, inserted] = queue.emplace(entry.due, lease);
  entry.queued = true;
  // Only a look that is now the first of its queue can be due before what the idle threads
  // wait for.
  if (pos == queue.begin()) work_.notify_one();
}

void LeaseDriver::dequeue(Lease* lease, Entry& entry) {
  if (!entry.queued) return;
  (entry.urgent ? urgent_ : due_).erase({entry.due, lease});
  entry.queued = false;
}

void LeaseDriver::run() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    const auto now = Clock::now();
    const bool others_may_run = others_running_ < others_limit_;
    Queue* from = nullptr;
    if (!urgent_.empty() && urgent_.begin()->first <= now) {
      from = &urgent_;
    } else if (others_may_run && !due_.empty() && due_.begin()->first <= now) {
      from = &due_;
    }
    if (from == nullptr) {
      // (While the others' threads are all busy, this one waits for a leader's look, or for
      // one of those to end.)
      std::optional<Clock::time_point> next;
      if (!urgent_.empty()) next = urgent_.begin()->first;
      if (others_may_run && !due_.empty()) {
        next = next ? std::min(*next, due_.begin()->first) : due_.begin()->first;
      }
      if (next) {
        work_.wait_until(lock, *next);
      } else {
        work_.wait(lock);
      }
      continue;
    }
    Lease* lease = from->begin()->second;
    from->erase(from->begin());
    const bool other = from == &due_;
    if (other) ++others_running_;
    Entry& entry = leases_.at(lease);
    entry.queued = false;
    entry.running = true;
    // Another look due as well goes to another thread, side by side with this one (the idle
    // ones were woken for the first of the queue only).
    if ((!urgent_.empty() && urgent_.begin()->first <= now) ||
        (others_running_ < others_limit_ && !due_.empty() && due_.begin()->first <= now)) {
      work_.notify_one();
    }
    lock.unlock();
    const Clock::time_point next = lease->step();
    const bool urgent = lease->urgent();
    lock.lock();
    entry.running = false;  // (entries are erased only by remove(), which waits for this)
    if (other && others_running_-- == others_limit_ && !due_.empty()) {
      work_.notify_one();  // a thread waiting for the others' looks may take one now
    }
    if (entry.removed) {
      done_.notify_all();
      continue;
    }
    entry.urgent = urgent;
    entry.due = std::exchange(entry.woken, false) ? Clock::now() : next;
    enqueue(lease, entry);
  }
}

}  // namespace liveroom::cluster
