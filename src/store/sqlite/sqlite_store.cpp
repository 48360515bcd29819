// SQLite implementation of Store. One writer thread owns the write connection; each loop takes
// every queued submission, writes them in one transaction and commits (WAL, synchronous=FULL:
// the commit returns after fsync). Submissions that arrive during a commit form the next batch,
// so concurrent requests share fsyncs without any timer.
//
// A failed commit leaves memory ahead of disk, which no reply may ever expose; the writer then
// aborts the process. Restart recovers the last committed state, and no acknowledged write is
// lost because acknowledgements only follow a successful commit.
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_set>

#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include "store/sqlite/sqlite_db.h"
#include "store/store.h"

namespace liveroom::store {
namespace {

namespace json = boost::json;

std::string encode_category(const std::vector<int64_t>& category) {
  json::array arr;
  for (int64_t c : category) arr.emplace_back(c);
  return json::serialize(arr);
}

std::string encode_metadata(const std::vector<domain::MetadataEntry>& metadata) {
  json::array arr;
  for (const auto& [k, v] : metadata)
    arr.emplace_back(json::array{json::string(k), json::string(v)});
  return json::serialize(arr);
}

std::string encode_profile(const domain::Account& account) {
  json::object obj;
  for (const auto& [tag, value] : account.profile) {
    if (const auto* s = std::get_if<std::string>(&value)) {
      obj[tag] = *s;
    } else {
      obj[tag] = std::get<int64_t>(value);
    }
  }
  return json::serialize(obj);
}

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(const SqliteOptions& options) : db_(options.path) {
    migrate(db_);
    prepare();
    writer_ = std::thread([this] { write_loop(); });
  }

  ~SqliteStore() override { close(); }

  Snapshot load() override { return load_snapshot(db_); }

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
    statements_.clear();
    db_.close();
  }

 private:
  struct Pending {
    uint64_t seq;
    std::vector<Change> changes;
  };

  void prepare() {
    put_room_ = db_.prepare(
        "INSERT OR REPLACE INTO rooms(sdkappid, room_id, owner, name, seat_template, seat_count, "
        "take_seat_mode, max_member_count, is_message_disabled, is_public_visible, "
        "is_like_enabled, is_gift_enabled, is_unlimited_room_enabled, keep_owner_on_seat, "
        "cover_url, background_url, notice, custom_info, category, activity_status, create_time, "
        "view_count, msg_seq, total_msg_count, total_likes) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    put_metadata_ = db_.prepare(
        "INSERT OR REPLACE INTO room_metadata(sdkappid, room_id, entries) VALUES (?,?,?)");
    delete_metadata_ = db_.prepare("DELETE FROM room_metadata WHERE sdkappid=? AND room_id=?");
    put_moderation_ = db_.prepare(
        "INSERT OR REPLACE INTO room_moderation(sdkappid, room_id, state) VALUES (?,?,?)");
    delete_moderation_ = db_.prepare("DELETE FROM room_moderation WHERE sdkappid=? AND room_id=?");
    delete_room_ = db_.prepare("DELETE FROM rooms WHERE sdkappid=? AND room_id=?");
    put_account_ =
        db_.prepare("INSERT OR REPLACE INTO accounts(sdkappid, user_id, profile) VALUES (?,?,?)");
    delete_account_ = db_.prepare("DELETE FROM accounts WHERE sdkappid=? AND user_id=?");
    put_outbox_ = db_.prepare(
        "INSERT INTO webhook_outbox(id, sdkappid, url, room_id, room_seq, event_id, command, "
        "payload, client_ip, created_ms, attempts, next_attempt_ms, dead, last_error) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    put_event_seq_ = db_.prepare(
        "INSERT INTO room_event_seq(sdkappid, room_id, last_seq) VALUES (?,?,?) "
        "ON CONFLICT(sdkappid, room_id) DO UPDATE SET last_seq = max(last_seq, excluded.last_seq)");
    update_outbox_ = db_.prepare(
        "UPDATE webhook_outbox SET attempts=?, next_attempt_ms=?, created_ms=?, dead=?, "
        "last_error=? WHERE id=?");
    delete_outbox_ = db_.prepare("DELETE FROM webhook_outbox WHERE id BETWEEN ? AND ?");
    put_callback_config_ = db_.prepare(
        "INSERT OR REPLACE INTO callback_config(sdkappid, url, commands, token, token_enabled) "
        "VALUES (?,?,?,?,?)");
    begin_ = db_.prepare("BEGIN IMMEDIATE");
    commit_ = db_.prepare("COMMIT");
    statements_ = {&put_room_,      &put_metadata_,   &delete_metadata_,     &delete_room_,
                   &put_account_,   &delete_account_, &put_outbox_,          &put_event_seq_,
                   &update_outbox_, &delete_outbox_,  &put_callback_config_, &begin_,
                   &commit_};
  }

  void write(const PutRoom& c) {
    const domain::Room& r = c.room;
    Statement& s = put_room_;
    s.bind(1, static_cast<int64_t>(c.sdkappid));
    s.bind(2, r.room_id);
    s.bind(3, r.owner);
    s.bind(4, r.name);
    s.bind(5, r.seat_template);
    s.bind(6, static_cast<int64_t>(r.seat_count));
    s.bind(7, static_cast<int64_t>(r.take_seat_mode));
    s.bind(8, r.max_member_count);
    s.bind(9, int64_t{r.is_message_disabled});
    s.bind(10, int64_t{r.is_public_visible});
    s.bind(11, int64_t{r.is_like_enabled});
    s.bind(12, int64_t{r.is_gift_enabled});
    s.bind(13, int64_t{r.is_unlimited_room_enabled});
    s.bind(14, int64_t{r.keep_owner_on_seat});
    s.bind(15, r.cover_url);
    s.bind(16, r.background_url);
    s.bind(17, r.notice);
    s.bind(18, r.custom_info);
    s.bind(19, encode_category(r.category));
    s.bind(20, r.activity_status);
    s.bind(21, r.create_time);
    s.bind(22, r.view_count);
    s.bind(23, static_cast<int64_t>(r.msg_seq));
    s.bind(24, r.total_msg_count);
    s.bind(25, r.total_likes);
    s.run();
  }
  void write(const PutRoomMetadata& c) {
    put_metadata_.bind(1, static_cast<int64_t>(c.sdkappid));
    put_metadata_.bind(2, c.room_id);
    put_metadata_.bind(3, encode_metadata(c.metadata));
    put_metadata_.run();
  }
  void write(const DeleteRoom& c) {
    for (Statement* s : {&delete_room_, &delete_metadata_, &delete_moderation_}) {
      s->bind(1, static_cast<int64_t>(c.sdkappid));
      s->bind(2, c.room_id);
      s->run();
    }
  }
  void write(const PutRoomModeration& c) {
    if (c.moderation.empty()) {
      delete_moderation_.bind(1, static_cast<int64_t>(c.sdkappid));
      delete_moderation_.bind(2, c.room_id);
      delete_moderation_.run();
      return;
    }
    put_moderation_.bind(1, static_cast<int64_t>(c.sdkappid));
    put_moderation_.bind(2, c.room_id);
    put_moderation_.bind(3, encode_moderation(c.moderation));
    put_moderation_.run();
  }
  void write(const PutAccount& c) {
    put_account_.bind(1, static_cast<int64_t>(c.sdkappid));
    put_account_.bind(2, c.account.user_id);
    put_account_.bind(3, encode_profile(c.account));
    put_account_.run();
  }
  void write(const DeleteAccount& c) {
    delete_account_.bind(1, static_cast<int64_t>(c.sdkappid));
    delete_account_.bind(2, c.user_id);
    delete_account_.run();
  }

  void write(const PutOutbox& c) {
    for (const domain::OutboxEntry& e : *c.entries) {
      Statement& s = put_outbox_;
      s.bind(1, static_cast<int64_t>(e.id));
      s.bind(2, static_cast<int64_t>(e.sdkappid));
      s.bind(3, e.url);
      s.bind(4, e.room_id);
      s.bind(5, static_cast<int64_t>(e.room_seq));
      s.bind(6, e.event_id);
      s.bind(7, e.command);
      s.bind(8, e.payload);
      s.bind(9, e.client_ip);
      s.bind(10, e.created_ms);
      s.bind(11, static_cast<int64_t>(e.attempts));
      s.bind(12, e.next_attempt_ms);
      s.bind(13, int64_t{e.dead});
      s.bind(14, e.last_error);
      s.run();
    }
  }
  void write(const PutRoomEventSeq& c) {
    put_event_seq_.bind(1, static_cast<int64_t>(c.sdkappid));
    put_event_seq_.bind(2, c.room_id);
    put_event_seq_.bind(3, static_cast<int64_t>(c.last_seq));
    put_event_seq_.run();
  }
  void write(const UpdateOutbox& c) {
    Statement& s = update_outbox_;
    s.bind(1, static_cast<int64_t>(c.attempts));
    s.bind(2, c.next_attempt_ms);
    s.bind(3, c.created_ms);
    s.bind(4, int64_t{c.dead});
    s.bind(5, c.last_error);
    s.bind(6, static_cast<int64_t>(c.id));
    s.run();
  }
  // Deliveries finish roughly in id order, so the ids mostly form runs: one range delete per run
  // of consecutive ids instead of one seek per row.
  void write(const DeleteOutbox& c) {
    std::vector<uint64_t> ids = c.ids;
    std::ranges::sort(ids);
    for (size_t i = 0; i < ids.size();) {
      size_t j = i + 1;
      while (j < ids.size() && ids[j] <= ids[j - 1] + 1) ++j;
      delete_outbox_.bind(1, static_cast<int64_t>(ids[i]));
      delete_outbox_.bind(2, static_cast<int64_t>(ids[j - 1]));
      delete_outbox_.run();
      i = j;
    }
  }
  void write(const PutCallbackConfig& c) {
    Statement& s = put_callback_config_;
    s.bind(1, static_cast<int64_t>(c.sdkappid));
    if (c.config.subscription) {
      s.bind(2, c.config.subscription->url);
      json::array commands;
      for (const auto& cmd : c.config.subscription->commands) commands.emplace_back(cmd);
      s.bind(3, json::serialize(commands));
    } else {
      s.bind_null(2);
      s.bind_null(3);
    }
    if (c.config.token) {
      s.bind(4, *c.config.token);
    } else {
      s.bind_null(4);
    }
    s.bind(5, int64_t{c.config.token_enabled});
    s.run();
  }

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
      const auto write_change = [this](const Change& change) {
        std::visit([this](const auto& c) { write(c); }, change);
      };
      try {
        begin_.run();
        // Deferred changes commute with everything else (see Store::submit_deferred).
        std::ranges::for_each(deferred, write_change);
        for_each_surviving_change(batch, write_change);
        commit_.run();
      } catch (const std::exception& e) {
        spdlog::critical("store: commit failed, stopping to keep memory and disk consistent: {}",
                         e.what());
        std::abort();
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

  Database db_;
  Statement put_room_, put_metadata_, delete_metadata_, delete_room_, put_account_, delete_account_,
      put_moderation_, delete_moderation_, put_outbox_, put_event_seq_, update_outbox_,
      delete_outbox_, put_callback_config_, begin_, commit_;
  std::vector<Statement*> statements_;

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

}  // namespace

std::unique_ptr<Store> open_sqlite_store(const SqliteOptions& options) {
  return std::make_unique<SqliteStore>(options);
}

}  // namespace liveroom::store
