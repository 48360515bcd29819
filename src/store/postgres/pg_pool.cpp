#include "store/postgres/pg_pool.h"

#include <utility>

namespace liveroom::store {

PgPool::PgPool(std::string url, size_t size) : url_(std::move(url)), size_(size == 0 ? 1 : size) {}

PgPool::Borrowed::~Borrowed() {
  if (connection_) pool_->give_back(std::move(connection_));
}

PgPool::Borrowed PgPool::borrow() {
  std::unique_lock lock(mu_);
  freed_.wait(lock, [this] { return !idle_.empty() || open_ < size_; });
  if (!idle_.empty()) {
    auto connection = std::move(idle_.back());
    idle_.pop_back();
    return Borrowed(this, std::move(connection));
  }
  ++open_;  // reserved while it connects, outside the lock
  lock.unlock();
  try {
    return Borrowed(this, std::make_unique<PgConnection>(url_));
  } catch (...) {
    lock.lock();
    --open_;
    freed_.notify_one();
    throw;
  }
}

void PgPool::give_back(std::unique_ptr<PgConnection> connection) {
  // (A connection closes outside the lock: it may say goodbye to the server.)
  std::unique_ptr<PgConnection> closing;
  {
    std::lock_guard lock(mu_);
    if (connection->idle()) {
      idle_.push_back(std::move(connection));
    } else {
      closing = std::move(connection);
      --open_;
    }
  }
  freed_.notify_one();
}

size_t PgPool::open_connections() const {
  std::lock_guard lock(mu_);
  return open_;
}

}  // namespace liveroom::store
