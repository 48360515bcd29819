#include "store/sqlite/sqlite_db.h"

#include <array>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

namespace liveroom::store {

namespace {
[[noreturn]] void throw_error(sqlite3* db, std::string_view what) {
  throw StoreError(fmt::format("{}: {}", what, db ? sqlite3_errmsg(db) : "out of memory"));
}
}  // namespace

Statement::Statement(sqlite3* db, std::string_view sql) : db_(db) {
  if (sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                         &stmt_, nullptr) != SQLITE_OK) {
    throw_error(db, fmt::format("prepare '{}'", sql));
  }
}

Statement::Statement(Statement&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)), stmt_(std::exchange(other.stmt_, nullptr)) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    db_ = std::exchange(other.db_, nullptr);
    stmt_ = std::exchange(other.stmt_, nullptr);
  }
  return *this;
}

Statement::~Statement() {
  sqlite3_finalize(stmt_);
}

void Statement::bind(int index, int64_t value) {
  if (sqlite3_bind_int64(stmt_, index, value) != SQLITE_OK) throw_error(db_, "bind");
}

void Statement::bind(int index, std::string_view value) {
  if (sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()),
                        SQLITE_TRANSIENT) != SQLITE_OK) {
    throw_error(db_, "bind");
  }
}

void Statement::bind_null(int index) {
  if (sqlite3_bind_null(stmt_, index) != SQLITE_OK) throw_error(db_, "bind");
}

bool Statement::column_is_null(int index) const {
  return sqlite3_column_type(stmt_, index) == SQLITE_NULL;
}

bool Statement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  std::string message = sqlite3_errmsg(db_);
  sqlite3_reset(stmt_);
  throw StoreError("step: " + message);
}

void Statement::run() {
  while (step()) {
  }
  reset();
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

int64_t Statement::column_int(int index) const {
  return sqlite3_column_int64(stmt_, index);
}

std::string_view Statement::column_text(int index) const {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, index));
  return text ? std::string_view(text, sqlite3_column_bytes(stmt_, index)) : std::string_view();
}

// The database holds every room and the apps' callback tokens (which sign webhooks): only the
// server's user may read it, whatever the umask. Created 0600 before SQLite opens it (SQLite
// gives its -wal and -shm files the database's mode), and tightened if an older version or an
// operator left it readable by others.
static void restrict_to_owner(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return;  // sqlite3_open_v2 below reports why
  ::fchmod(fd, 0600);
  ::close(fd);
  for (const char* suffix : {"-wal", "-shm", "-journal"}) {
    ::chmod((path + suffix).c_str(), 0600);  // absent files: nothing to do
  }
}

Database::Database(const std::string& path) {
  if (path != ":memory:" && !path.empty()) restrict_to_owner(path);
  if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    std::string message = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw StoreError(fmt::format("cannot open {}: {}", path, message));
  }
  sqlite3_busy_timeout(db_, 5000);
  // WAL with synchronous=FULL: a COMMIT returns only after the WAL is fsynced, which is what
  // lets us acknowledge a write once its transaction commits.
  exec("PRAGMA journal_mode=WAL");
  exec("PRAGMA synchronous=FULL");
  exec("PRAGMA foreign_keys=ON");
  // Checkpoint when the WAL reaches 10,000 pages (~40 MB) instead of SQLite's 1,000: the hot
  // pages (busy rooms, the outbox's ends) are copied into the database once per checkpoint,
  // not once per 1,000 frames, which under steady writes is most of the checkpointing work.
  // Recovery after a crash reads at most that much WAL.
  exec("PRAGMA wal_autocheckpoint=10000");
}

Database::~Database() {
  close();
}

void Database::close() {
  if (db_) {
    sqlite3_close_v2(db_);
    db_ = nullptr;
  }
}

void Database::exec(std::string_view sql) {
  char* error = nullptr;
  std::string text(sql);
  if (sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
    std::string message = error ? error : "unknown error";
    sqlite3_free(error);
    throw StoreError(fmt::format("'{}': {}", sql.substr(0, 80), message));
  }
}

namespace {

// Each entry moves the schema from version i to i+1. Never edit a released step: add one.
constexpr std::array<std::string_view, 8> kMigrations{{
    R"sql(
    CREATE TABLE rooms(
      sdkappid INTEGER NOT NULL,
      room_id TEXT NOT NULL,
      owner TEXT NOT NULL,
      name TEXT NOT NULL,
      seat_template TEXT NOT NULL,
      seat_count INTEGER NOT NULL,
      take_seat_mode INTEGER NOT NULL,
      max_member_count INTEGER NOT NULL,
      is_message_disabled INTEGER NOT NULL,
      is_public_visible INTEGER NOT NULL,
      is_like_enabled INTEGER NOT NULL,
      is_gift_enabled INTEGER NOT NULL,
      is_unlimited_room_enabled INTEGER NOT NULL,
      keep_owner_on_seat INTEGER NOT NULL,
      cover_url TEXT NOT NULL,
      background_url TEXT NOT NULL,
      notice TEXT NOT NULL,
      custom_info TEXT NOT NULL,
      category TEXT NOT NULL,          -- JSON array of integers
      activity_status INTEGER NOT NULL,
      create_time INTEGER NOT NULL,    -- Unix seconds
      view_count INTEGER NOT NULL,
      PRIMARY KEY (sdkappid, room_id)
    ) WITHOUT ROWID;
    CREATE TABLE room_metadata(
      sdkappid INTEGER NOT NULL,
      room_id TEXT NOT NULL,
      entries TEXT NOT NULL,           -- JSON array of [key, value], insertion order
      PRIMARY KEY (sdkappid, room_id)
    ) WITHOUT ROWID;
    CREATE TABLE accounts(
      sdkappid INTEGER NOT NULL,
      user_id TEXT NOT NULL,
      profile TEXT NOT NULL,           -- JSON object: tag -> string or integer
      PRIMARY KEY (sdkappid, user_id)
    ) WITHOUT ROWID;
    )sql",
    // 2: webhooks. The outbox holds one row per (event, URL) until it is delivered; dead letters
    // stay with dead = 1 until replayed.
    R"sql(
    CREATE TABLE callback_config(
      sdkappid INTEGER PRIMARY KEY,
      url TEXT,                        -- NULL: no subscription through the live_config API
      commands TEXT,                   -- JSON array; [] = every command
      token TEXT,                      -- NULL: no token set
      token_enabled INTEGER NOT NULL
    );
    CREATE TABLE room_event_seq(
      sdkappid INTEGER NOT NULL,
      room_id TEXT NOT NULL,
      last_seq INTEGER NOT NULL,
      PRIMARY KEY (sdkappid, room_id)
    ) WITHOUT ROWID;
    CREATE TABLE webhook_outbox(
      id INTEGER PRIMARY KEY,
      sdkappid INTEGER NOT NULL,
      url TEXT NOT NULL,
      room_id TEXT NOT NULL,
      room_seq INTEGER NOT NULL,
      event_id TEXT NOT NULL,
      command TEXT NOT NULL,
      payload TEXT NOT NULL,
      client_ip TEXT NOT NULL,
      created_ms INTEGER NOT NULL,
      attempts INTEGER NOT NULL,
      next_attempt_ms INTEGER NOT NULL,
      dead INTEGER NOT NULL,
      last_error TEXT NOT NULL
    );
    )sql",
    // 3: moderation (admins, bans, mutes, robots): one JSON document per room.
    R"sql(
    CREATE TABLE room_moderation(
      sdkappid INTEGER NOT NULL,
      room_id TEXT NOT NULL,
      state TEXT NOT NULL,
      PRIMARY KEY (sdkappid, room_id)
    ) WITHOUT ROWID;
    )sql",
    // 4: room messages: the last MsgSeq and the message count of the statistics.
    R"sql(
    ALTER TABLE rooms ADD COLUMN msg_seq INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rooms ADD COLUMN total_msg_count INTEGER NOT NULL DEFAULT 0;
    )sql",
    // 5: likes received by the room (statistics), counted from the client gateway.
    R"sql(
    ALTER TABLE rooms ADD COLUMN total_likes INTEGER NOT NULL DEFAULT 0;
    )sql",
    // 6: the gift catalog: one JSON document per gift and per category (with its gift ids).
    R"sql(
    CREATE TABLE gifts(
      sdkappid INTEGER NOT NULL,
      gift_id TEXT NOT NULL,
      doc TEXT NOT NULL,
      PRIMARY KEY (sdkappid, gift_id)
    ) WITHOUT ROWID;
    CREATE TABLE gift_categories(
      sdkappid INTEGER NOT NULL,
      category_id TEXT NOT NULL,
      doc TEXT NOT NULL,
      PRIMARY KEY (sdkappid, category_id)
    ) WITHOUT ROWID;
    )sql",
    // 7: gifts sent in rooms: the room's totals, and who sent (TotalUniqueGiftSenders, and the
    // Random keys of each sender's latest sends, so a retried send is not counted twice).
    R"sql(
    ALTER TABLE rooms ADD COLUMN total_gifts_sent INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rooms ADD COLUMN total_gift_coins INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rooms ADD COLUMN total_gift_senders INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE room_gift_senders(
      sdkappid INTEGER NOT NULL,
      room_id TEXT NOT NULL,
      user_id TEXT NOT NULL,
      recent TEXT NOT NULL,            -- JSON array of [Random, coins], oldest first
      PRIMARY KEY (sdkappid, room_id, user_id)
    ) WITHOUT ROWID;
    )sql",
    // 8: PK battles: one JSON document per battle, and each room's score while it runs.
    R"sql(
    CREATE TABLE battles(
      sdkappid INTEGER NOT NULL,
      battle_id TEXT NOT NULL,
      doc TEXT NOT NULL,
      PRIMARY KEY (sdkappid, battle_id)
    ) WITHOUT ROWID;
    CREATE TABLE battle_scores(
      sdkappid INTEGER NOT NULL,
      battle_id TEXT NOT NULL,
      room_id TEXT NOT NULL,
      score INTEGER NOT NULL,
      PRIMARY KEY (sdkappid, battle_id, room_id)
    ) WITHOUT ROWID;
    )sql",
}};

int64_t user_version(Database& db) {
  Statement s = db.prepare("PRAGMA user_version");
  s.step();
  return s.column_int(0);
}

}  // namespace

int64_t latest_schema_version() {
  return static_cast<int64_t>(kMigrations.size());
}

void migrate(Database& db) {
  const int64_t current = user_version(db);
  if (current > static_cast<int64_t>(kMigrations.size())) {
    throw StoreError(
        fmt::format("the data directory has schema version {}, newer than this binary knows ({}); "
                    "run the newer liveroomd",
                    current, kMigrations.size()));
  }
  for (size_t version = static_cast<size_t>(current); version < kMigrations.size(); ++version) {
    db.exec("BEGIN IMMEDIATE");
    try {
      db.exec(kMigrations[version]);
      db.exec(fmt::format("PRAGMA user_version={}", version + 1));
      db.exec("COMMIT");
    } catch (...) {
      db.exec("ROLLBACK");
      throw;
    }
  }
}

}  // namespace liveroom::store
