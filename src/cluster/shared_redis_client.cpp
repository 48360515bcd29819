#include "cluster/shared_redis_client.h"

#include <algorithm>
#include <optional>

namespace liveroom::cluster {

// A caller's command, on its own stack until its outcome is in. Its own mutex, not the queue's,
// guards its outcome: a round trip's hundreds of callers then wake without queueing on one lock,
// which held the sender (and every lease behind it) back for seconds on a busy node.
struct SharedRedisClient::Pending {
  std::vector<std::string> args;
  std::mutex mu;
  std::condition_variable cv;  // its caller waits here until done
  std::optional<RedisOutcome> outcome;
  bool done = false;
};

SharedRedisClient::SharedRedisClient(RedisAddress address, std::chrono::milliseconds timeout,
                                     std::string client_name)
    : client_(std::move(address), timeout, std::move(client_name)), sender_([this] { run(); }) {}

SharedRedisClient::~SharedRedisClient() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_one();
  sender_.join();
}

RedisReply SharedRedisClient::command(std::vector<std::string> args, bool urgent) {
  Pending mine{.args = std::move(args)};
  std::unique_lock lock(mu_);
  if (stopping_) throw RedisError("Redis: the node is stopping");
  if (urgent) {
    queue_.insert(queue_.begin() + static_cast<ptrdiff_t>(urgent_++), &mine);
  } else {
    queue_.push_back(&mine);
  }
  lock.unlock();
  wake_.notify_one();
  std::unique_lock done(mine.mu);
  mine.cv.wait(done, [&] { return mine.done; });
  RedisOutcome outcome = std::move(*mine.outcome);
  done.unlock();
  if (!outcome) throw RedisError(outcome.error());
  return std::move(*outcome);
}

void SharedRedisClient::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and nobody waits
    const size_t n = std::min(queue_.size(), kMaxBatch);
    std::vector<Pending*> batch(queue_.begin(), queue_.begin() + static_cast<ptrdiff_t>(n));
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<ptrdiff_t>(n));
    urgent_ -= std::min(urgent_, n);
    lock.unlock();
    std::vector<RedisOutcome> outcomes = send(batch);
    for (size_t i = 0; i < batch.size(); ++i) {
      Pending* p = batch[i];
      // Notified under its lock: once it sees done, its caller returns and the Pending is gone.
      std::lock_guard done(p->mu);
      p->outcome = std::move(outcomes[i]);
      p->done = true;
      p->cv.notify_one();
    }
    lock.lock();
  }
}

std::vector<RedisOutcome> SharedRedisClient::send(const std::vector<Pending*>& batch) {
  std::vector<std::vector<std::string>> commands;
  commands.reserve(batch.size());
  for (Pending* p : batch) commands.push_back(std::move(p->args));
  round_trips_.fetch_add(1, std::memory_order_relaxed);
  commands_.fetch_add(batch.size(), std::memory_order_relaxed);
  try {
    return client_.pipeline(commands);
  } catch (const std::exception& e) {  // RedisError, or out of memory: the same to callers
    return std::vector<RedisOutcome>(batch.size(), std::unexpected(std::string(e.what())));
  }
}

}  // namespace liveroom::cluster
