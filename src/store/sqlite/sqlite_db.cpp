#include "store/sqlite/sqlite_db.h"

#include <array>
#include <map>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <boost/json.hpp>

namespace liveroom::store {

namespace json = boost::json;

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
constexpr std::array<std::string_view, 5> kMigrations{{
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

namespace {

json::value parse_column(std::string_view text, std::string_view what) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) throw StoreError(fmt::format("corrupt {} column: {}", what, ec.message()));
  return v;
}

}  // namespace

std::string encode_moderation(const domain::RoomModeration& m) {
  auto users = [](const std::vector<std::string>& list) {
    json::array a;
    for (const auto& u : list) a.emplace_back(json::string(u));
    return a;
  };
  auto restrictions = [](const std::vector<domain::Restriction>& list) {
    json::array a;
    for (const auto& r : list) {
      a.emplace_back(json::object{{"user", r.user_id}, {"until", r.until}, {"reason", r.reason}});
    }
    return a;
  };
  json::array seats;
  for (const auto& s : m.seats) {
    seats.emplace_back(json::object{{"member", s.member},
                                    {"taken_disabled", s.taken_disabled},
                                    {"video_disabled", s.video_disabled},
                                    {"audio_disabled", s.audio_disabled}});
  }
  return json::serialize(json::object{{"admins", users(m.admins)},
                                      {"bans", restrictions(m.bans)},
                                      {"mutes", restrictions(m.mutes)},
                                      {"robots", users(m.robots)},
                                      {"seats", std::move(seats)}});
}

namespace {

domain::RoomModeration decode_moderation(const json::value& state) {
  domain::RoomModeration m;
  const auto& o = state.as_object();
  for (const auto& u : o.at("admins").as_array()) m.admins.emplace_back(u.as_string());
  for (const auto& u : o.at("robots").as_array()) m.robots.emplace_back(u.as_string());
  auto restrictions = [&](std::string_view key, std::vector<domain::Restriction>& out) {
    for (const auto& v : o.at(key).as_array()) {
      const auto& r = v.as_object();
      out.push_back({std::string(r.at("user").as_string()), r.at("until").to_number<int64_t>(),
                     std::string(r.at("reason").as_string())});
    }
  };
  restrictions("bans", m.bans);
  restrictions("mutes", m.mutes);
  if (const auto* seats = o.if_contains("seats")) {
    for (const auto& v : seats->as_array()) {
      const auto& s = v.as_object();
      m.seats.push_back({std::string(s.at("member").as_string()), s.at("taken_disabled").as_bool(),
                         s.at("video_disabled").as_bool(), s.at("audio_disabled").as_bool()});
    }
  }
  return m;
}

}  // namespace

Snapshot load_snapshot(Database& db) {
  Snapshot snapshot;
  std::map<std::pair<int64_t, std::string>, size_t, std::less<>> index;
  Statement rooms = db.prepare(
      "SELECT sdkappid, room_id, owner, name, seat_template, seat_count, take_seat_mode, "
      "max_member_count, is_message_disabled, is_public_visible, is_like_enabled, "
      "is_gift_enabled, is_unlimited_room_enabled, keep_owner_on_seat, cover_url, "
      "background_url, notice, custom_info, category, activity_status, create_time, view_count, "
      "msg_seq, total_msg_count, total_likes FROM rooms");
  while (rooms.step()) {
    domain::Room r;
    auto sdkappid = static_cast<uint32_t>(rooms.column_int(0));
    r.room_id = rooms.column_text(1);
    r.owner = rooms.column_text(2);
    r.name = rooms.column_text(3);
    r.seat_template = rooms.column_text(4);
    r.seat_count = static_cast<uint32_t>(rooms.column_int(5));
    r.take_seat_mode = static_cast<domain::TakeSeatMode>(rooms.column_int(6));
    r.max_member_count = rooms.column_int(7);
    r.is_message_disabled = rooms.column_int(8) != 0;
    r.is_public_visible = rooms.column_int(9) != 0;
    r.is_like_enabled = rooms.column_int(10) != 0;
    r.is_gift_enabled = rooms.column_int(11) != 0;
    r.is_unlimited_room_enabled = rooms.column_int(12) != 0;
    r.keep_owner_on_seat = rooms.column_int(13) != 0;
    r.cover_url = rooms.column_text(14);
    r.background_url = rooms.column_text(15);
    r.notice = rooms.column_text(16);
    r.custom_info = rooms.column_text(17);
    const json::value category = parse_column(rooms.column_text(18), "rooms.category");
    for (const auto& c : category.as_array()) r.category.push_back(c.as_int64());
    r.activity_status = rooms.column_int(19);
    r.create_time = rooms.column_int(20);
    r.view_count = rooms.column_int(21);
    r.msg_seq = static_cast<uint64_t>(rooms.column_int(22));
    r.total_msg_count = rooms.column_int(23);
    r.total_likes = rooms.column_int(24);
    index.emplace(std::pair<int64_t, std::string>(sdkappid, r.room_id), snapshot.rooms.size());
    snapshot.rooms.push_back({sdkappid, std::move(r)});
  }

  Statement metadata = db.prepare("SELECT sdkappid, room_id, entries FROM room_metadata");
  while (metadata.step()) {
    auto it = index.find(std::pair<int64_t, std::string>(metadata.column_int(0),
                                                         std::string(metadata.column_text(1))));
    if (it == index.end()) continue;  // cannot happen: both rows go in one transaction
    auto& entries = snapshot.rooms[it->second].room.metadata;
    const json::value stored = parse_column(metadata.column_text(2), "room_metadata.entries");
    for (const auto& e : stored.as_array()) {
      const auto& pair = e.as_array();
      entries.emplace_back(std::string(pair.at(0).as_string()),
                           std::string(pair.at(1).as_string()));
    }
  }

  Statement moderation = db.prepare("SELECT sdkappid, room_id, state FROM room_moderation");
  while (moderation.step()) {
    auto it = index.find(std::pair<int64_t, std::string>(moderation.column_int(0),
                                                         std::string(moderation.column_text(1))));
    if (it == index.end()) continue;
    const json::value state = parse_column(moderation.column_text(2), "room_moderation.state");
    snapshot.rooms[it->second].room.moderation = decode_moderation(state);
  }

  Statement accounts = db.prepare("SELECT sdkappid, user_id, profile FROM accounts");
  while (accounts.step()) {
    PutAccount a{static_cast<uint32_t>(accounts.column_int(0)), {}};
    a.account.user_id = accounts.column_text(1);
    const json::value profile = parse_column(accounts.column_text(2), "accounts.profile");
    for (const auto& [tag, value] : profile.as_object()) {
      if (value.is_string()) {
        a.account.profile.emplace(std::string(tag), std::string(value.get_string()));
      } else {
        a.account.profile.emplace(std::string(tag), value.to_number<int64_t>());
      }
    }
    snapshot.accounts.push_back(std::move(a));
  }
  Statement outbox = db.prepare(
      "SELECT id, sdkappid, url, room_id, room_seq, event_id, command, payload, client_ip, "
      "created_ms, attempts, next_attempt_ms, dead, last_error FROM webhook_outbox ORDER BY id");
  while (outbox.step()) {
    domain::OutboxEntry e;
    e.id = static_cast<uint64_t>(outbox.column_int(0));
    e.sdkappid = static_cast<uint32_t>(outbox.column_int(1));
    e.url = outbox.column_text(2);
    e.room_id = outbox.column_text(3);
    e.room_seq = static_cast<uint64_t>(outbox.column_int(4));
    e.event_id = outbox.column_text(5);
    e.command = outbox.column_text(6);
    e.payload = outbox.column_text(7);
    e.client_ip = outbox.column_text(8);
    e.created_ms = outbox.column_int(9);
    e.attempts = static_cast<uint32_t>(outbox.column_int(10));
    e.next_attempt_ms = outbox.column_int(11);
    e.dead = outbox.column_int(12) != 0;
    e.last_error = outbox.column_text(13);
    snapshot.outbox.push_back(std::move(e));
  }

  Statement seqs = db.prepare("SELECT sdkappid, room_id, last_seq FROM room_event_seq");
  while (seqs.step()) {
    snapshot.room_event_seqs.push_back({static_cast<uint32_t>(seqs.column_int(0)),
                                        std::string(seqs.column_text(1)),
                                        static_cast<uint64_t>(seqs.column_int(2))});
  }

  Statement configs =
      db.prepare("SELECT sdkappid, url, commands, token, token_enabled FROM callback_config");
  while (configs.step()) {
    PutCallbackConfig c{static_cast<uint32_t>(configs.column_int(0)), {}};
    if (!configs.column_is_null(1)) {
      domain::Subscription sub{std::string(configs.column_text(1)), {}};
      const json::value commands = parse_column(configs.column_text(2), "callback_config.commands");
      for (const auto& cmd : commands.as_array()) sub.commands.emplace_back(cmd.as_string());
      c.config.subscription = std::move(sub);
    }
    if (!configs.column_is_null(3)) c.config.token = std::string(configs.column_text(3));
    c.config.token_enabled = configs.column_int(4) != 0;
    snapshot.callback_configs.push_back(std::move(c));
  }
  return snapshot;
}

}  // namespace liveroom::store
