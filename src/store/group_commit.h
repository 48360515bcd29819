// The writer side every durable store shares: submissions queue up, one writer thread takes all
// that are queued, writes them in one transaction and commits, and then acknowledges them in
// order. Submissions that arrive during a commit form the next batch, so concurrent requests
// share a commit (and its fsync) without any timer.
//
// A Backend supplies the database: its WriteStatements, begin()/commit(), load() and close(), and
// what a failed commit means (after_failure). Nothing is acknowledged until its commit succeeded,
// so a failure never exposes memory that disk does not hold; the backend decides whether the batch
// may be written again (PostgreSQL after reconnecting: every change is idempotent) or the process
// must stop (SQLite: a failed commit means a broken disk).
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_set>

#include <spdlog/spdlog.h>

#include "store/rows.h"
#include "store/store.h"

namespace liveroom::store {

// What a backend makes of a failed commit (nothing of the batch was acknowledged).
enum class AfterFailure {
  kRetry,  // write the same batch again (the backend has waited and reconnected)
  kHalt,   // write nothing more: this node may no longer write (fenced)
  kAbort,  // memory is ahead of a database that cannot take it: stop the process
};

template <typename Backend>
class GroupCommitStore final : public Store {
 public:
  template <typename... Args>
  explicit GroupCommitStore(Args&&... args) : backend_(std::forward<Args>(args)...) {
    writer_ = std::thread([this] { write_loop(); });
  }

  ~GroupCommitStore() override { close(); }

  Snapshot load() override { return backend_.load(); }

  uint64_t submit(std::vector<Change> changes) override {
    uint64_t seq;
    {
      std::lock_guard lock(queue_mu_);
      seq = ++submitted_;
      queue_.push_back(Pending{seq, std::move(changes)});
    }
    queue_cv_.notify_one();
    return seq;
  }

  void submit_deferred(std::vector<Change> changes) override {
    // No notify: waking the writer is what this saves. It looks at the deferred changes'
    // age whenever it wakes, and it never sleeps longer than kDeferredDelay.
    std::lock_guard lock(queue_mu_);
    if (deferred_.empty()) deferred_since_ = std::chrono::steady_clock::now();
    deferred_.insert(deferred_.end(), std::make_move_iterator(changes.begin()),
                     std::make_move_iterator(changes.end()));
  }

  void when_durable(uint64_t seq, DurableCallback callback) override {
    {
      std::lock_guard lock(waiters_mu_);
      if (seq > durable_.load(std::memory_order_relaxed)) {
        waiters_.emplace(seq, std::move(callback));
        return;
      }
    }
    callback();
  }

  void set_commit_observer(CommitObserver observer) override {
    std::lock_guard lock(queue_mu_);
    observer_ = std::move(observer);
  }

  uint64_t durable_seq() const override { return durable_.load(std::memory_order_acquire); }
  uint64_t submitted_seq() const override {
    std::lock_guard lock(queue_mu_);
    return submitted_;
  }

  void close() override {
    {
      std::lock_guard lock(queue_mu_);
      if (stopping_) return;
      stopping_ = true;
    }
    queue_cv_.notify_one();
    if (writer_.joinable()) writer_.join();
    spdlog::debug("store: {} commits, {} writes", commits_.load(), committed_changes_.load());
    backend_.close();
  }

 private:
  struct Pending {
    uint64_t seq;
    std::vector<Change> changes;
  };

  void write_loop() {
    std::vector<Pending> batch;
    std::vector<Change> deferred;
    CommitObserver observer;
    for (;;) {
      {
        std::unique_lock lock(queue_mu_);
        for (;;) {
          if (!queue_.empty() || stopping_) break;
          const auto now = std::chrono::steady_clock::now();
          if (!deferred_.empty() && now >= deferred_since_ + kDeferredDelay) break;
          queue_cv_.wait_until(
              lock, deferred_.empty() ? now + kDeferredDelay : deferred_since_ + kDeferredDelay);
        }
        if (queue_.empty() && deferred_.empty()) return;  // stopping with nothing left to write
        batch.swap(queue_);
        deferred.swap(deferred_);
        observer = observer_;
      }
      const auto started = std::chrono::steady_clock::now();
      auto& statements = backend_.statements();
      const auto write_change = [&statements](const Change& change) { statements.write(change); };
      for (;;) {
        try {
          backend_.begin();
          // Deferred changes commute with everything else (see Store::submit_deferred).
          std::ranges::for_each(deferred, write_change);
          for_each_surviving_change(batch, write_change);
          backend_.commit();
          break;
        } catch (const std::exception& e) {
          switch (backend_.after_failure(e)) {
            case AfterFailure::kRetry:
              continue;
            case AfterFailure::kHalt:
              return;  // nothing more is acknowledged; the backend has told its owner why
            case AfterFailure::kAbort:
              spdlog::critical(
                  "store: commit failed, stopping to keep memory and disk consistent: {}",
                  e.what());
              std::abort();
          }
        }
      }
      if (observer) observer(std::chrono::steady_clock::now() - started, batch.size());
      if (!batch.empty()) publish(batch.back().seq, batch.size());
      batch.clear();
      deferred.clear();
    }
  }

  // A batch commits atomically, so a row that a later change of the same batch rewrites whole
  // (PutRoom, PutRoomMetadata, PutAccount) or deletes needs only that later change: a hot room
  // updated by many concurrent requests costs one row write per commit, not one per request.
  template <typename Fn>
  static void for_each_surviving_change(const std::vector<Pending>& batch, Fn&& fn) {
    struct Key {
      int kind;
      uint32_t sdkappid;
      std::string_view id;
      bool operator==(const Key&) const = default;
    };
    struct KeyHash {
      size_t operator()(const Key& k) const {
        return std::hash<std::string_view>{}(k.id) ^ (size_t{k.sdkappid} << 8) ^ k.kind;
      }
    };
    enum { kRoomRow, kMetadataRow, kModerationRow, kAccountRow };
    // Walk backwards: the first change seen for a row is the one that survives.
    std::unordered_set<Key, KeyHash> written;
    std::vector<const Change*> surviving;
    for (auto p = batch.rbegin(); p != batch.rend(); ++p) {
      for (auto c = p->changes.rbegin(); c != p->changes.rend(); ++c) {
        bool keep = std::visit(
            [&](const auto& ch) -> bool {
              using T = std::decay_t<decltype(ch)>;
              if constexpr (std::is_same_v<T, PutRoom>) {
                return written.insert({kRoomRow, ch.sdkappid, ch.room.room_id}).second;
              } else if constexpr (std::is_same_v<T, PutRoomMetadata>) {
                return written.insert({kMetadataRow, ch.sdkappid, ch.room_id}).second;
              } else if constexpr (std::is_same_v<T, PutRoomModeration>) {
                return written.insert({kModerationRow, ch.sdkappid, ch.room_id}).second;
              } else if constexpr (std::is_same_v<T, DeleteRoom>) {
                // Deletes all the room's rows, so earlier puts of any are moot. The delete itself
                // always runs: a later re-creation puts the room row but not the others.
                written.insert({kRoomRow, ch.sdkappid, ch.room_id});
                written.insert({kMetadataRow, ch.sdkappid, ch.room_id});
                written.insert({kModerationRow, ch.sdkappid, ch.room_id});
                return true;
              } else if constexpr (std::is_same_v<T, PutAccount>) {
                return written.insert({kAccountRow, ch.sdkappid, ch.account.user_id}).second;
              } else if constexpr (std::is_same_v<T, DeleteAccount>) {
                return written.insert({kAccountRow, ch.sdkappid, ch.user_id}).second;
              } else {
                return true;  // outbox and configuration changes are never superseded here
              }
            },
            *c);
        if (keep) surviving.push_back(&*c);
      }
    }
    for (auto it = surviving.rbegin(); it != surviving.rend(); ++it) fn(**it);
  }

  // Marks everything up to `seq` durable and runs the callbacks waiting for it.
  void publish(uint64_t seq, size_t batch_size) {
    std::vector<DurableCallback> ready;
    {
      std::lock_guard lock(waiters_mu_);
      durable_.store(seq, std::memory_order_release);
      auto end = waiters_.upper_bound(seq);
      for (auto it = waiters_.begin(); it != end; ++it) ready.push_back(std::move(it->second));
      waiters_.erase(waiters_.begin(), end);
    }
    commits_.fetch_add(1, std::memory_order_relaxed);
    committed_changes_.fetch_add(batch_size, std::memory_order_relaxed);
    for (auto& cb : ready) cb();
  }

  Backend backend_;

  mutable std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::vector<Pending> queue_;
  std::vector<Change> deferred_;
  std::chrono::steady_clock::time_point deferred_since_;  // when deferred_ became non-empty
  uint64_t submitted_ = 0;
  bool stopping_ = false;
  CommitObserver observer_;

  std::mutex waiters_mu_;
  std::multimap<uint64_t, DurableCallback> waiters_;
  std::atomic<uint64_t> durable_{0};
  std::atomic<uint64_t> commits_{0};
  std::atomic<uint64_t> committed_changes_{0};

  std::thread writer_;
};

}  // namespace liveroom::store
