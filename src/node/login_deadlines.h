// The login deadline of a cluster node's clients whose session cannot open before their first
// message says which app (and so which shard) they are for.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "server/websocket.h"

namespace liveroom::node {

// A client connection waiting for its first message.
class AwaitingLogin : public server::WebSocketSession {
 public:
  // The login deadline passed (any thread).
  virtual void login_deadline() = 0;
};

// The login deadline of the clients that log in by their first message. The gateway starts a
// connection's deadline when the connection reaches it, which for these is at that message: one
// that sends nothing would otherwise stay open until the idle timeout (three heartbeats), where
// a single node closes it after login_timeout_ms.
class LoginDeadlines {
 public:
  explicit LoginDeadlines(std::chrono::milliseconds timeout) : timeout_(timeout) {}
  ~LoginDeadlines() { stop(); }
  LoginDeadlines(const LoginDeadlines&) = delete;
  LoginDeadlines& operator=(const LoginDeadlines&) = delete;

  void add(const std::shared_ptr<AwaitingLogin>& client) {
    std::lock_guard lock(mu_);
    if (!thread_.joinable() && !stopping_) thread_ = std::thread([this] { run(); });
    queue_.emplace_back(std::chrono::steady_clock::now() + timeout_, client);
  }
  void stop() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  // One timeout for all, so the queue is in deadline order.
  void run() {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      const auto now = std::chrono::steady_clock::now();
      std::vector<std::shared_ptr<AwaitingLogin>> due;
      while (!queue_.empty() && queue_.front().first <= now) {
        if (auto client = queue_.front().second.lock()) due.push_back(std::move(client));
        queue_.pop_front();
      }
      lock.unlock();
      for (const auto& client : due) client->login_deadline();
      due.clear();
      lock.lock();
      cv_.wait_for(lock, std::chrono::milliseconds(100), [this] { return stopping_; });
    }
  }

  const std::chrono::milliseconds timeout_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<std::chrono::steady_clock::time_point, std::weak_ptr<AwaitingLogin>>> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace liveroom::node
