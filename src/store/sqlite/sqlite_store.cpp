// SQLite implementation of Store: WAL mode, synchronous=FULL (a COMMIT returns after fsync), one
// writer thread with group commit (store/group_commit.h).
//
// A failed commit leaves memory ahead of disk, which no reply may ever expose; the writer then
// aborts the process. Restart recovers the last committed state, and no acknowledged write is
// lost because acknowledgements only follow a successful commit.
#include "store/group_commit.h"
#include "store/sqlite/sqlite_db.h"
#include "store/store.h"

namespace liveroom::store {
namespace {

class SqliteBackend {
 public:
  explicit SqliteBackend(const SqliteOptions& options) : db_(options.path) {
    migrate(db_);
    prepare();
  }

  WriteStatements<Statement>& statements() { return s_; }
  Snapshot load() { return read_snapshot(db_); }
  void begin() { begin_.run(); }
  void commit() { commit_.run(); }
  // A failed SQLite commit is a failing disk or a bug, not something a retry fixes.
  AfterFailure after_failure(const std::exception&) { return AfterFailure::kAbort; }
  void close() {
    s_ = {};
    begin_ = {};
    commit_ = {};
    db_.close();
  }

 private:
  void prepare() {
    s_.put_room = db_.prepare(
        "INSERT OR REPLACE INTO rooms(sdkappid, room_id, owner, name, seat_template, seat_count, "
        "take_seat_mode, max_member_count, is_message_disabled, is_public_visible, "
        "is_like_enabled, is_gift_enabled, is_unlimited_room_enabled, keep_owner_on_seat, "
        "cover_url, background_url, notice, custom_info, category, activity_status, create_time, "
        "view_count, msg_seq, total_msg_count, total_likes, total_gifts_sent, total_gift_coins, "
        "total_gift_senders) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    s_.put_metadata = db_.prepare(
        "INSERT OR REPLACE INTO room_metadata(sdkappid, room_id, entries) VALUES (?,?,?)");
    s_.delete_metadata = db_.prepare("DELETE FROM room_metadata WHERE sdkappid=? AND room_id=?");
    s_.put_moderation = db_.prepare(
        "INSERT OR REPLACE INTO room_moderation(sdkappid, room_id, state) VALUES (?,?,?)");
    s_.delete_moderation =
        db_.prepare("DELETE FROM room_moderation WHERE sdkappid=? AND room_id=?");
    s_.delete_room = db_.prepare("DELETE FROM rooms WHERE sdkappid=? AND room_id=?");
    s_.put_account =
        db_.prepare("INSERT OR REPLACE INTO accounts(sdkappid, user_id, profile) VALUES (?,?,?)");
    s_.delete_account = db_.prepare("DELETE FROM accounts WHERE sdkappid=? AND user_id=?");
    s_.put_outbox = db_.prepare(
        "INSERT INTO webhook_outbox(id, sdkappid, url, room_id, room_seq, event_id, command, "
        "payload, client_ip, created_ms, attempts, next_attempt_ms, dead, last_error) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    s_.put_event_seq = db_.prepare(
        "INSERT INTO room_event_seq(sdkappid, room_id, last_seq) VALUES (?,?,?) "
        "ON CONFLICT(sdkappid, room_id) DO UPDATE SET last_seq = max(last_seq, excluded.last_seq)");
    s_.update_outbox = db_.prepare(
        "UPDATE webhook_outbox SET attempts=?, next_attempt_ms=?, created_ms=?, dead=?, "
        "last_error=? WHERE id=?");
    s_.delete_outbox = db_.prepare("DELETE FROM webhook_outbox WHERE id BETWEEN ? AND ?");
    s_.put_callback_config = db_.prepare(
        "INSERT OR REPLACE INTO callback_config(sdkappid, url, commands, token, token_enabled) "
        "VALUES (?,?,?,?,?)");
    s_.put_gift =
        db_.prepare("INSERT OR REPLACE INTO gifts(sdkappid, gift_id, doc) VALUES (?,?,?)");
    s_.delete_gift = db_.prepare("DELETE FROM gifts WHERE sdkappid=? AND gift_id=?");
    s_.put_gift_category = db_.prepare(
        "INSERT OR REPLACE INTO gift_categories(sdkappid, category_id, doc) VALUES (?,?,?)");
    s_.delete_gift_category =
        db_.prepare("DELETE FROM gift_categories WHERE sdkappid=? AND category_id=?");
    s_.put_gift_sender = db_.prepare(
        "INSERT OR REPLACE INTO room_gift_senders(sdkappid, room_id, user_id, recent) "
        "VALUES (?,?,?,?)");
    s_.delete_gift_senders =
        db_.prepare("DELETE FROM room_gift_senders WHERE sdkappid=? AND room_id=?");
    s_.put_battle =
        db_.prepare("INSERT OR REPLACE INTO battles(sdkappid, battle_id, doc) VALUES (?,?,?)");
    s_.put_battle_score = db_.prepare(
        "INSERT OR REPLACE INTO battle_scores(sdkappid, battle_id, room_id, score) "
        "VALUES (?,?,?,?)");
    s_.delete_battle = db_.prepare("DELETE FROM battles WHERE sdkappid=? AND battle_id=?");
    s_.delete_battle_scores =
        db_.prepare("DELETE FROM battle_scores WHERE sdkappid=? AND battle_id=?");
    begin_ = db_.prepare("BEGIN IMMEDIATE");
    commit_ = db_.prepare("COMMIT");
  }

  Database db_;
  WriteStatements<Statement> s_;
  Statement begin_, commit_;
};

}  // namespace

std::unique_ptr<Store> open_sqlite_store(const SqliteOptions& options) {
  return std::make_unique<GroupCommitStore<SqliteBackend>>(options);
}

}  // namespace liveroom::store
