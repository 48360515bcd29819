// PostgreSQL implementation of Store for cluster mode: the same group commit as SQLite
// (store/group_commit.h), each batch sent as one transaction in one round trip, and fenced: the
// transaction first checks that the leadership epoch this node holds is still current, so a node
// that lost the cluster (paused past its lease, cut off) can never commit after its successor
// took over. With placement by app a store serves one app: it loads that app's rows and checks
// that app's epoch, and the hosts of other apps write the same tables beside it.
//
// A lost connection is not fatal: the batch is written again once PostgreSQL answers (every
// change is idempotent, so a commit whose outcome the lost connection hid is harmless to repeat);
// the requests in it wait, unacknowledged, meanwhile.
//
// A store borrows a connection for each commit and for its load from the node's PgPool, which
// every store and the leadership of the node share (store/postgres/pg_pool.h).
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "store/group_commit.h"
#include "store/postgres/pg_connection.h"
#include "store/postgres/pg_pool.h"
#include "store/store.h"

namespace liveroom::store {
namespace {

// Placement by room: keeps of a snapshot of the app what the store's slot hosts: the rooms of the
// slot with their rows, outbox and the battles they asked for; the app-wide rows stay whole.
void keep_slot(Snapshot& snapshot, uint32_t slot, uint32_t slots) {
  const auto other = [&](std::string_view room_id) {
    return domain::room_slot(room_id, slots) != slot;
  };
  std::erase_if(snapshot.rooms, [&](const auto& r) { return other(r.room.room_id); });
  std::erase_if(snapshot.outbox, [&](const auto& e) { return other(e.room_id); });
  std::erase_if(snapshot.room_event_seqs, [&](const auto& s) { return other(s.room_id); });
  std::erase_if(snapshot.gift_senders, [&](const auto& s) { return other(s.room_id); });
  std::erase_if(snapshot.battles, [&](const auto& b) {
    return b.battle.rooms.empty() || other(b.battle.rooms.front().room_id);
  });
}

// The statements that add one change of app-wide state to the app's feed ($1 the app, `key` its
// key), in the transaction of the change: the version row is taken and held to the commit.
std::string feed_sql(std::string_view kind, std::string_view key) {
  return fmt::format(
      ";INSERT INTO app_state_versions VALUES ($1, 1) ON CONFLICT (sdkappid) DO UPDATE SET "
      "version = app_state_versions.version + 1;"
      "INSERT INTO app_state_changes SELECT $1, version, '{}', {} FROM app_state_versions "
      "WHERE sdkappid = $1",
      kind, key);
}

class PostgresBackend {
 public:
  explicit PostgresBackend(const PostgresOptions& options)
      : options_(options),
        own_pool_(options.pool ? nullptr : std::make_unique<PgPool>(options.url, 1)),
        pool_(options.pool ? *options.pool : *own_pool_) {
    prepare();
  }

  WriteStatements<PgStatement>& statements() { return s_; }

  Snapshot load() {
    PgPool::Borrowed db = pool_.borrow();
    struct Reader {
      PgConnection* db;
      PgStatement prepare(std::string_view sql) { return PgStatement(db, nullptr, sql); }
    } reader{&*db};
    // A statement of its own, not part of the snapshot's transaction: a REPEATABLE READ
    // transaction would fail to update the row if another store's load updated it meanwhile,
    // whereas this one waits for that load and reserves the block after its block.
    const uint64_t first_outbox_id = reserve_outbox_ids(*db);
    // One snapshot of every table, whatever commits meanwhile.
    db->exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    Snapshot snapshot = read_snapshot(reader, options_.sdkappid);
    if (options_.slot && options_.sdkappid) {
      PgResult v = db->exec_params("SELECT version FROM app_state_versions WHERE sdkappid = $1",
                                   {std::to_string(*options_.sdkappid)});
      snapshot.app_state_version = v.rows() == 0 ? 0 : std::stoull(std::string(v.text(0, 0)));
    }
    db->exec("COMMIT");
    if (options_.slot) keep_slot(snapshot, *options_.slot, options_.room_slots);
    snapshot.first_outbox_id = first_outbox_id;
    return snapshot;
  }

  void begin() {
    pending_.clear();
    pending_ += "BEGIN;\n";
    if (options_.sdkappid && options_.slot) {
      pending_ += fmt::format("SELECT liveroom_check_slot_epoch({}, {}, {});\n", *options_.sdkappid,
                              *options_.slot, options_.epoch);
    } else if (options_.sdkappid) {
      pending_ += "SELECT liveroom_check_app_epoch(" + std::to_string(*options_.sdkappid) + ", " +
                  std::to_string(options_.epoch) + ");\n";
    } else {
      pending_ += "SELECT liveroom_check_epoch(" + std::to_string(options_.epoch) + ");\n";
    }
  }

  void commit() {
    pending_ += "COMMIT;";
    PgPool::Borrowed db = pool_.borrow();
    try {
      db->exec(pending_);
    } catch (const PgError& e) {
      if (!e.connection_lost) {
        try {
          db->exec("ROLLBACK");
        } catch (const PgError&) {
        }
      }
      throw;
    }
    backoff_ = kFirstBackoff;
  }

  AfterFailure after_failure(const std::exception& failure) {
    const auto* e = dynamic_cast<const PgError*>(&failure);
    if (e == nullptr) return AfterFailure::kAbort;
    if (e->sqlstate == kFencedSqlstate) {
      spdlog::critical("cluster: lost leadership: {}", e->what());
      if (options_.on_fenced) options_.on_fenced();
      return AfterFailure::kHalt;
    }
    if (!e->connection_lost) return AfterFailure::kAbort;
    spdlog::error("store: PostgreSQL unreachable, retrying the commit in {} ms: {}",
                  backoff_.count(), e->what());
    std::this_thread::sleep_for(backoff_);
    backoff_ = std::min(backoff_ * 2, kLastBackoff);
    return AfterFailure::kRetry;  // (the pool replaces the broken connection)
  }

  void close() {}  // (the connections are the pool's)

 private:
  static constexpr std::chrono::milliseconds kFirstBackoff{50};
  static constexpr std::chrono::milliseconds kLastBackoff{2000};
  // The outbox ids one load reserves: 2^40, about 35 years of webhooks at 1000/s for one host
  // between two loads, and room for 2^23 loads before a bigint runs out.
  static constexpr int64_t kOutboxIdBlock = int64_t{1} << 40;

  // Reserves a block of outbox ids above every id ever written (those of blocks still being
  // used included) and returns its first. Blocks never overlap, so hosts of different apps never
  // pick the same id, and a host's block follows its predecessors': an app's events keep their
  // order by id across takeovers.
  uint64_t reserve_outbox_ids(PgConnection& db) {
    PgResult r = db.exec(fmt::format(
        "UPDATE outbox_id_blocks SET next = greatest(next, (SELECT coalesce(max(id), 0) + 1 FROM "
        "webhook_outbox)) + {0} WHERE id = 1 RETURNING next - {0}",
        kOutboxIdBlock));
    if (r.rows() != 1) throw StoreError("outbox_id_blocks has no row; the schema is damaged");
    return std::stoull(std::string(r.text(0, 0)));
  }

  // PostgreSQL has no INSERT OR REPLACE: a replace is a delete and an insert in the same
  // transaction. Outbox rows may be written twice (a retried commit), hence ON CONFLICT.
  void prepare() {
    auto make = [this](std::string_view sql) { return PgStatement(nullptr, &pending_, sql); };
    s_.put_room = make(
        "DELETE FROM rooms WHERE sdkappid=$1 AND room_id=$2;"
        "INSERT INTO rooms(sdkappid, room_id, owner, name, seat_template, seat_count, "
        "take_seat_mode, max_member_count, is_message_disabled, is_public_visible, "
        "is_like_enabled, is_gift_enabled, is_unlimited_room_enabled, keep_owner_on_seat, "
        "cover_url, background_url, notice, custom_info, category, activity_status, create_time, "
        "view_count, msg_seq, total_msg_count, total_likes, total_gifts_sent, total_gift_coins, "
        "total_gift_senders) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,"
        "$18,$19,$20,$21,$22,$23,$24,$25,$26,$27,$28)");
    s_.put_metadata = make(
        "DELETE FROM room_metadata WHERE sdkappid=$1 AND room_id=$2;"
        "INSERT INTO room_metadata(sdkappid, room_id, entries) VALUES ($1,$2,$3)");
    s_.delete_metadata = make("DELETE FROM room_metadata WHERE sdkappid=$1 AND room_id=$2");
    s_.put_moderation = make(
        "DELETE FROM room_moderation WHERE sdkappid=$1 AND room_id=$2;"
        "INSERT INTO room_moderation(sdkappid, room_id, state) VALUES ($1,$2,$3)");
    s_.delete_moderation = make("DELETE FROM room_moderation WHERE sdkappid=$1 AND room_id=$2");
    s_.delete_room = make("DELETE FROM rooms WHERE sdkappid=$1 AND room_id=$2");
    // With placement by room, changes to app-wide state also go into the app's feed.
    const bool feed = options_.slot.has_value();
    s_.put_account = make(
        "DELETE FROM accounts WHERE sdkappid=$1 AND user_id=$2;"
        "INSERT INTO accounts(sdkappid, user_id, profile) VALUES ($1,$2,$3)" +
        (feed ? feed_sql("account", "$2") : std::string()));
    s_.delete_account = make("DELETE FROM accounts WHERE sdkappid=$1 AND user_id=$2" +
                             (feed ? feed_sql("account", "$2") : std::string()));
    s_.put_outbox = make(
        "INSERT INTO webhook_outbox(id, sdkappid, url, room_id, room_seq, event_id, command, "
        "payload, client_ip, created_ms, attempts, next_attempt_ms, dead, last_error) "
        "VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14) ON CONFLICT (id) DO NOTHING");
    s_.put_event_seq = make(
        "INSERT INTO room_event_seq(sdkappid, room_id, last_seq) VALUES ($1,$2,$3) "
        "ON CONFLICT (sdkappid, room_id) DO UPDATE "
        "SET last_seq = GREATEST(room_event_seq.last_seq, excluded.last_seq)");
    s_.update_outbox = make(
        "UPDATE webhook_outbox SET attempts=$1, next_attempt_ms=$2, created_ms=$3, dead=$4, "
        "last_error=$5 WHERE id=$6");
    s_.delete_outbox = make("DELETE FROM webhook_outbox WHERE id BETWEEN $1 AND $2");
    s_.put_callback_config = make(
        "DELETE FROM callback_config WHERE sdkappid=$1;"
        "INSERT INTO callback_config(sdkappid, url, commands, token, token_enabled) "
        "VALUES ($1,$2,$3,$4,$5)" +
        (feed ? feed_sql("callbacks", "''::bytea") : std::string()));
    // (The catalog is read whole when any of it changed: its rows share one kind in the feed.)
    const std::string gift_feed = feed ? feed_sql("gift", "$2") : std::string();
    s_.put_gift = make(
        "DELETE FROM gifts WHERE sdkappid=$1 AND gift_id=$2;"
        "INSERT INTO gifts(sdkappid, gift_id, doc) VALUES ($1,$2,$3)" +
        gift_feed);
    s_.delete_gift = make("DELETE FROM gifts WHERE sdkappid=$1 AND gift_id=$2" + gift_feed);
    s_.put_gift_category = make(
        "DELETE FROM gift_categories WHERE sdkappid=$1 AND category_id=$2;"
        "INSERT INTO gift_categories(sdkappid, category_id, doc) VALUES ($1,$2,$3)" +
        gift_feed);
    s_.delete_gift_category =
        make("DELETE FROM gift_categories WHERE sdkappid=$1 AND category_id=$2" + gift_feed);
    s_.put_gift_sender = make(
        "DELETE FROM room_gift_senders WHERE sdkappid=$1 AND room_id=$2 AND user_id=$3;"
        "INSERT INTO room_gift_senders(sdkappid, room_id, user_id, recent) VALUES ($1,$2,$3,$4)");
    s_.delete_gift_senders = make("DELETE FROM room_gift_senders WHERE sdkappid=$1 AND room_id=$2");
    s_.put_battle = make(
        "DELETE FROM battles WHERE sdkappid=$1 AND battle_id=$2;"
        "INSERT INTO battles(sdkappid, battle_id, doc) VALUES ($1,$2,$3)");
    s_.put_battle_score = make(
        "DELETE FROM battle_scores WHERE sdkappid=$1 AND battle_id=$2 AND room_id=$3;"
        "INSERT INTO battle_scores(sdkappid, battle_id, room_id, score) VALUES ($1,$2,$3,$4)");
    s_.delete_battle = make("DELETE FROM battles WHERE sdkappid=$1 AND battle_id=$2");
    s_.delete_battle_scores = make("DELETE FROM battle_scores WHERE sdkappid=$1 AND battle_id=$2");
  }

  PostgresOptions options_;
  std::unique_ptr<PgPool> own_pool_;  // without the node's: one connection of its own
  PgPool& pool_;
  std::string pending_;  // the transaction being built
  WriteStatements<PgStatement> s_;
  std::chrono::milliseconds backoff_ = kFirstBackoff;
};

}  // namespace

std::unique_ptr<Store> open_postgres_store(const PostgresOptions& options) {
  return std::make_unique<GroupCommitStore<PostgresBackend>>(options);
}

void prepare_postgres(const std::string& url) {
  PgConnection db(url);
  migrate_postgres(db);
}

uint64_t take_postgres_leadership(PgPool& pool, const std::string& node_id,
                                  const std::string& advertise_url,
                                  std::optional<uint32_t> sdkappid, std::optional<uint32_t> slot) {
  PgPool::Borrowed db = pool.borrow();
  if (sdkappid && slot) {
    // As an app's row: the lock waits for the slot's previous host's commits in flight.
    PgResult r = db->exec_params(
        "INSERT INTO slot_leadership VALUES ($1, $2, 1, $3, $4, now()) ON CONFLICT (sdkappid, "
        "slot) DO UPDATE SET epoch = slot_leadership.epoch + 1, node_id = excluded.node_id, "
        "advertise_url = excluded.advertise_url, since = now() RETURNING epoch",
        {std::to_string(*sdkappid), std::to_string(*slot), node_id, advertise_url});
    if (r.rows() != 1) throw StoreError("slot_leadership: the upsert returned no epoch");
    return std::stoull(std::string(r.text(0, 0)));
  }
  if (sdkappid) {
    // The row's lock waits for the previous host's commits in flight, as the cluster's UPDATE
    // does; an app nobody hosted yet has no row and so no commits to wait for.
    PgResult r = db->exec_params(
        "INSERT INTO app_leadership VALUES ($1, 1, $2, $3, now()) ON CONFLICT (sdkappid) DO "
        "UPDATE SET epoch = app_leadership.epoch + 1, node_id = excluded.node_id, "
        "advertise_url = excluded.advertise_url, since = now() RETURNING epoch",
        {std::to_string(*sdkappid), node_id, advertise_url});
    if (r.rows() != 1) throw StoreError("app_leadership: the upsert returned no epoch");
    return std::stoull(std::string(r.text(0, 0)));
  }
  PgResult r = db->exec_params(
      "UPDATE cluster_leadership SET epoch = epoch + 1, node_id = $1, advertise_url = $2, "
      "since = now() WHERE id = 1 RETURNING epoch",
      {node_id, advertise_url});
  if (r.rows() != 1) throw StoreError("cluster_leadership has no row; the schema is damaged");
  return std::stoull(std::string(r.text(0, 0)));
}

uint64_t postgres_leadership_epoch(PgPool& pool, std::optional<uint32_t> sdkappid,
                                   std::optional<uint32_t> slot) {
  PgPool::Borrowed db = pool.borrow();
  if (sdkappid && slot) {
    PgResult r =
        db->exec_params("SELECT epoch FROM slot_leadership WHERE sdkappid = $1 AND slot = $2",
                        {std::to_string(*sdkappid), std::to_string(*slot)});
    return r.rows() == 0 ? 0 : std::stoull(std::string(r.text(0, 0)));
  }
  if (sdkappid) {
    PgResult r = db->exec_params("SELECT epoch FROM app_leadership WHERE sdkappid = $1",
                                 {std::to_string(*sdkappid)});
    return r.rows() == 0 ? 0 : std::stoull(std::string(r.text(0, 0)));
  }
  PgResult r = db->exec("SELECT epoch FROM cluster_leadership WHERE id = 1");
  if (r.rows() != 1) throw StoreError("cluster_leadership has no row; the schema is damaged");
  return std::stoull(std::string(r.text(0, 0)));
}

PostgresClusterSummary postgres_cluster_summary(const std::string& url) {
  PgConnection db(url);
  PgResult r = db.exec(
      "SELECT l.epoch, l.node_id, l.advertise_url, "
      "(extract(epoch FROM l.since) * 1000)::bigint, "
      "(SELECT max(version) FROM liveroom_schema), (SELECT count(*) FROM rooms), "
      "(SELECT count(*) FROM webhook_outbox WHERE dead = 0), "
      "(SELECT count(*) FROM webhook_outbox WHERE dead <> 0) "
      "FROM cluster_leadership l WHERE l.id = 1");
  if (r.rows() != 1) throw StoreError("cluster_leadership has no row; the schema is damaged");
  auto number = [&r](int column) { return std::stoll(std::string(r.text(0, column))); };
  return {.epoch = static_cast<uint64_t>(number(0)),
          .leader_node_id = std::string(r.text(0, 1)),
          .leader_url = std::string(r.text(0, 2)),
          .leader_since_ms = number(3),
          .schema_version = number(4),
          .rooms = number(5),
          .webhooks_pending = number(6),
          .webhooks_dead = number(7)};
}

std::vector<PostgresAppLeadership> postgres_app_leaderships(const std::string& url) {
  PgConnection db(url);
  // Status may read a cluster whose nodes have not migrated to placement by app yet.
  PgResult exists = db.exec("SELECT to_regclass('app_leadership') IS NOT NULL");
  if (exists.rows() != 1 || exists.text(0, 0) != "t") return {};
  PgResult r = db.exec(
      "SELECT sdkappid, epoch, node_id, advertise_url, (extract(epoch FROM since) * 1000)::bigint "
      "FROM app_leadership ORDER BY sdkappid");
  std::vector<PostgresAppLeadership> rows;
  for (int i = 0; i < r.rows(); ++i) {
    rows.push_back({.sdkappid = static_cast<uint32_t>(std::stoull(std::string(r.text(i, 0)))),
                    .epoch = std::stoull(std::string(r.text(i, 1))),
                    .node_id = std::string(r.text(i, 2)),
                    .leader_url = std::string(r.text(i, 3)),
                    .since_ms = std::stoll(std::string(r.text(i, 4)))});
  }
  return rows;
}

AppStateChanges read_app_state_changes(PgPool& pool, uint32_t sdkappid, uint64_t after,
                                       const std::vector<std::string>& recheck_accounts,
                                       bool recheck_callbacks, bool recheck_catalog) {
  PgPool::Borrowed db = pool.borrow();
  AppStateChanges out;
  out.version = after;
  // Each change with what its key holds now: a later change to the same key reads the same row,
  // so only the last of a key's changes matters, and a deleted row reads as none. The app's
  // version comes in the same statement (one snapshot): past `after` with a change missing, some
  // were trimmed before this host read them. (No version row: nothing ever changed.)
  PgStatement changes(&*db, nullptr,
                      "SELECT v.version, c.version IS NULL, c.version, c.kind, c.key, "
                      "(a.profile IS NULL)::int, a.profile "
                      "FROM app_state_versions v LEFT JOIN app_state_changes c ON "
                      "c.sdkappid = v.sdkappid AND c.version > $2 "
                      "LEFT JOIN accounts a ON c.kind = 'account' AND a.sdkappid = c.sdkappid AND "
                      "a.user_id = c.key WHERE v.sdkappid = $1 ORDER BY c.version");
  changes.bind(1, static_cast<int64_t>(sdkappid));
  changes.bind(2, static_cast<int64_t>(after));
  bool callbacks = recheck_callbacks;
  bool catalog = recheck_catalog;
  for (const std::string& user_id : recheck_accounts) {
    PgStatement row(&*db, nullptr,
                    "SELECT profile FROM accounts WHERE sdkappid = $1 AND user_id = $2");
    row.bind(1, static_cast<int64_t>(sdkappid));
    row.bind(2, user_id);
    std::optional<domain::Account> account;
    if (row.step()) {
      account.emplace();
      account->user_id = user_id;
      decode_profile(row.column_text(0), *account);
    }
    out.accounts.emplace_back(user_id, std::move(account));
  }
  uint64_t current = after;
  while (changes.step()) {
    current = static_cast<uint64_t>(changes.column_int(0));
    if (changes.column_text(1) == "t") break;  // no change after `after` (one row)
    const auto version = static_cast<uint64_t>(changes.column_int(2));
    // Versions are consecutive: one missing means it was trimmed before this host read it.
    if (version != out.version + 1) out.gap = true;
    out.version = version;
    const std::string_view kind = changes.column_text(3);
    if (kind == "callbacks") {
      callbacks = true;
      continue;
    }
    if (kind == "gift") {
      catalog = true;
      continue;
    }
    std::optional<domain::Account> account;
    if (changes.column_int(5) == 0) {
      account.emplace();
      account->user_id = changes.column_text(4);
      decode_profile(changes.column_text(6), *account);
    }
    out.accounts.emplace_back(std::string(changes.column_text(4)), std::move(account));
  }
  // Changes this host never read, all trimmed.
  if (out.version < current) out.gap = true;
  if (callbacks) {
    PgStatement row(&*db, nullptr,
                    "SELECT url, commands, token, token_enabled FROM callback_config "
                    "WHERE sdkappid = $1");
    row.bind(1, static_cast<int64_t>(sdkappid));
    domain::CallbackConfig config;
    if (row.step()) {
      if (!row.column_is_null(0)) {
        config.subscription = domain::Subscription{std::string(row.column_text(0)),
                                                   decode_commands(row.column_text(1))};
      }
      if (!row.column_is_null(2)) config.token = std::string(row.column_text(2));
      config.token_enabled = row.column_int(3) != 0;
    }
    out.callbacks = std::move(config);
  }
  if (catalog) {
    AppStateChanges::Catalog now;
    PgStatement gifts(&*db, nullptr, "SELECT gift_id, doc FROM gifts WHERE sdkappid = $1");
    gifts.bind(1, static_cast<int64_t>(sdkappid));
    while (gifts.step()) {
      domain::Gift& g = now.gifts.emplace_back();
      g.gift_id = gifts.column_text(0);
      decode_gift(gifts.column_text(1), g);
    }
    PgStatement categories(&*db, nullptr,
                           "SELECT category_id, doc FROM gift_categories WHERE sdkappid = $1");
    categories.bind(1, static_cast<int64_t>(sdkappid));
    while (categories.step()) {
      domain::GiftCategory& c = now.categories.emplace_back();
      c.category_id = categories.column_text(0);
      decode_gift_category(categories.column_text(1), c);
    }
    out.catalog = std::move(now);
  }
  return out;
}

void trim_app_state_changes(PgPool& pool, uint32_t sdkappid, std::chrono::seconds keep_for) {
  PgPool::Borrowed db = pool.borrow();
  db->exec_params(
      "DELETE FROM app_state_changes WHERE sdkappid = $1 AND made < now() - make_interval(secs "
      "=> $2)",
      {std::to_string(sdkappid), std::to_string(keep_for.count())});
}

PublicRoomsPage read_public_rooms(PgPool& pool, uint32_t sdkappid,
                                  const std::optional<std::pair<int64_t, std::string>>& after,
                                  size_t count) {
  PgPool::Borrowed db = pool.borrow();
  // bytea compares byte by byte, as std::string does: the order of the single node's index.
  PgStatement rooms(
      &*db, nullptr,
      std::string("SELECT room_id, name, owner, cover_url, category, create_time, "
                  "activity_status, view_count FROM rooms WHERE sdkappid = $1 AND "
                  "is_public_visible <> 0") +
          (after ? " AND (view_count < $3 OR (view_count = $3 AND room_id > $4))" : "") +
          " ORDER BY view_count DESC, room_id LIMIT $2");
  rooms.bind(1, static_cast<int64_t>(sdkappid));
  rooms.bind(2, static_cast<int64_t>(count + 1));
  if (after) {
    rooms.bind(3, after->first);
    rooms.bind(4, after->second);
  }
  PublicRoomsPage page;
  while (rooms.step()) {
    if (page.rooms.size() == count) {
      page.more = true;
      break;
    }
    domain::Room& r = page.rooms.emplace_back();
    r.room_id = rooms.column_text(0);
    r.name = rooms.column_text(1);
    r.owner = rooms.column_text(2);
    r.cover_url = rooms.column_text(3);
    decode_category(rooms.column_text(4), r.category);
    r.create_time = rooms.column_int(5);
    r.activity_status = rooms.column_int(6);
    r.view_count = rooms.column_int(7);
  }
  return page;
}

std::string postgres_cluster_secret(const std::string& url) {
  PgConnection db(url);
  PgResult r = db.exec("SELECT secret FROM cluster_secret WHERE id = 1");
  if (r.rows() != 1) throw StoreError("cluster_secret has no row; the schema is damaged");
  return std::string(r.text(0, 0));
}

std::vector<PostgresSlotLeadership> postgres_slot_leaderships(const std::string& url) {
  PgConnection db(url);
  // Status may read a cluster whose nodes have not migrated to placement by room yet.
  PgResult exists = db.exec("SELECT to_regclass('slot_leadership') IS NOT NULL");
  if (exists.rows() != 1 || exists.text(0, 0) != "t") return {};
  PgResult r = db.exec(
      "SELECT sdkappid, slot, epoch, node_id, advertise_url, "
      "(extract(epoch FROM since) * 1000)::bigint FROM slot_leadership ORDER BY sdkappid, slot");
  std::vector<PostgresSlotLeadership> rows;
  for (int i = 0; i < r.rows(); ++i) {
    rows.push_back({.sdkappid = static_cast<uint32_t>(std::stoull(std::string(r.text(i, 0)))),
                    .slot = static_cast<uint32_t>(std::stoull(std::string(r.text(i, 1)))),
                    .epoch = std::stoull(std::string(r.text(i, 2))),
                    .node_id = std::string(r.text(i, 3)),
                    .leader_url = std::string(r.text(i, 4)),
                    .since_ms = std::stoll(std::string(r.text(i, 5)))});
  }
  return rows;
}

}  // namespace liveroom::store
