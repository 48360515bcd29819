// The PostgreSQL schema: the SQLite store's tables (bigint for integers, bytea for text, see
// pg_connection.h) plus the cluster's leadership row (and each app's, placement by app), the
// fencing check every commit runs and the blocks of outbox ids loads reserve.
#include <array>

#include <fmt/format.h>

#include "store/postgres/pg_connection.h"

namespace liveroom::store {
namespace {

// Each entry moves the schema from version i to i+1. Never edit a released step: add one.
constexpr std::array<std::string_view, 7> kMigrations{{
    R"sql(
    CREATE TABLE rooms(
      sdkappid bigint NOT NULL,
      room_id bytea NOT NULL,
      owner bytea NOT NULL,
      name bytea NOT NULL,
      seat_template bytea NOT NULL,
      seat_count bigint NOT NULL,
      take_seat_mode bigint NOT NULL,
      max_member_count bigint NOT NULL,
      is_message_disabled bigint NOT NULL,
      is_public_visible bigint NOT NULL,
      is_like_enabled bigint NOT NULL,
      is_gift_enabled bigint NOT NULL,
      is_unlimited_room_enabled bigint NOT NULL,
      keep_owner_on_seat bigint NOT NULL,
      cover_url bytea NOT NULL,
      background_url bytea NOT NULL,
      notice bytea NOT NULL,
      custom_info bytea NOT NULL,
      category bytea NOT NULL,
      activity_status bigint NOT NULL,
      create_time bigint NOT NULL,
      view_count bigint NOT NULL,
      msg_seq bigint NOT NULL,
      total_msg_count bigint NOT NULL,
      total_likes bigint NOT NULL,
      PRIMARY KEY (sdkappid, room_id)
    );
    CREATE TABLE room_metadata(
      sdkappid bigint NOT NULL,
      room_id bytea NOT NULL,
      entries bytea NOT NULL,
      PRIMARY KEY (sdkappid, room_id)
    );
    CREATE TABLE room_moderation(
      sdkappid bigint NOT NULL,
      room_id bytea NOT NULL,
      state bytea NOT NULL,
      PRIMARY KEY (sdkappid, room_id)
    );
    CREATE TABLE accounts(
      sdkappid bigint NOT NULL,
      user_id bytea NOT NULL,
      profile bytea NOT NULL,
      PRIMARY KEY (sdkappid, user_id)
    );
    CREATE TABLE callback_config(
      sdkappid bigint PRIMARY KEY,
      url bytea,
      commands bytea,
      token bytea,
      token_enabled bigint NOT NULL
    );
    CREATE TABLE room_event_seq(
      sdkappid bigint NOT NULL,
      room_id bytea NOT NULL,
      last_seq bigint NOT NULL,
      PRIMARY KEY (sdkappid, room_id)
    );
    CREATE TABLE webhook_outbox(
      id bigint PRIMARY KEY,
      sdkappid bigint NOT NULL,
      url bytea NOT NULL,
      room_id bytea NOT NULL,
      room_seq bigint NOT NULL,
      event_id bytea NOT NULL,
      command bytea NOT NULL,
      payload bytea NOT NULL,
      client_ip bytea NOT NULL,
      created_ms bigint NOT NULL,
      attempts bigint NOT NULL,
      next_attempt_ms bigint NOT NULL,
      dead bigint NOT NULL,
      last_error bytea NOT NULL
    );
    -- One row: which node leads and its epoch. A takeover raises the epoch; every commit checks
    -- that the epoch its node holds is still the current one (the fencing token).
    CREATE TABLE cluster_leadership(
      id integer PRIMARY KEY CHECK (id = 1),
      epoch bigint NOT NULL,
      node_id text NOT NULL,
      advertise_url text NOT NULL,
      since timestamptz NOT NULL
    );
    INSERT INTO cluster_leadership VALUES (1, 0, '', '', now());
    -- FOR SHARE: a takeover's UPDATE of the row waits for commits in flight, so everything the
    -- old leader committed precedes what the new one loads.
    CREATE FUNCTION liveroom_check_epoch(held bigint) RETURNS void LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM 1 FROM cluster_leadership WHERE id = 1 AND epoch = held FOR SHARE;
      IF NOT FOUND THEN
        RAISE EXCEPTION 'liveroom: epoch % no longer leads the cluster', held
          USING ERRCODE = 'LR001';
      END IF;
    END $$;
    )sql",
    // 2: the secret nodes show each other on their links (docs/cluster.md): whoever can read the
    // database is a node. gen_random_uuid() draws from the server's strong random source.
    R"sql(
    CREATE TABLE cluster_secret(
      id integer PRIMARY KEY CHECK (id = 1),
      secret text NOT NULL
    );
    INSERT INTO cluster_secret
      SELECT 1, replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '');
    )sql",
    // 3: the gift catalog, as the SQLite store's migration 6.
    R"sql(
    CREATE TABLE gifts(
      sdkappid bigint NOT NULL,
      gift_id bytea NOT NULL,
      doc bytea NOT NULL,
      PRIMARY KEY (sdkappid, gift_id)
    );
    CREATE TABLE gift_categories(
      sdkappid bigint NOT NULL,
      category_id bytea NOT NULL,
      doc bytea NOT NULL,
      PRIMARY KEY (sdkappid, category_id)
    );
    )sql",
    // 4: gifts sent in rooms, as the SQLite store's migration 7.
    R"sql(
    ALTER TABLE rooms ADD COLUMN total_gifts_sent bigint NOT NULL DEFAULT 0;
    ALTER TABLE rooms ADD COLUMN total_gift_coins bigint NOT NULL DEFAULT 0;
    ALTER TABLE rooms ADD COLUMN total_gift_senders bigint NOT NULL DEFAULT 0;
    CREATE TABLE room_gift_senders(
      sdkappid bigint NOT NULL,
      room_id bytea NOT NULL,
      user_id bytea NOT NULL,
      recent bytea NOT NULL,
      PRIMARY KEY (sdkappid, room_id, user_id)
    );
    )sql",
    // 5: PK battles, as the SQLite store's migration 8.
    R"sql(
    CREATE TABLE battles(
      sdkappid bigint NOT NULL,
      battle_id bytea NOT NULL,
      doc bytea NOT NULL,
      PRIMARY KEY (sdkappid, battle_id)
    );
    CREATE TABLE battle_scores(
      sdkappid bigint NOT NULL,
      battle_id bytea NOT NULL,
      room_id bytea NOT NULL,
      score bigint NOT NULL,
      PRIMARY KEY (sdkappid, battle_id, room_id)
    );
    )sql",
    // 6: placement by app (docs/cluster.md): each app's own epoch row, fenced like the cluster's,
    // and the blocks of outbox ids every load reserves, so that hosts of different apps writing
    // webhook_outbox side by side never pick the same id. Only additions: a binary of version 5
    // still commits against it.
    R"sql(
    CREATE TABLE app_leadership(
      sdkappid bigint PRIMARY KEY,
      epoch bigint NOT NULL,
      node_id text NOT NULL,
      advertise_url text NOT NULL,
      since timestamptz NOT NULL
    );
    -- FOR SHARE as in liveroom_check_epoch: a takeover of the app waits for its commits in flight.
    CREATE FUNCTION liveroom_check_app_epoch(app bigint, held bigint) RETURNS void
    LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM 1 FROM app_leadership WHERE sdkappid = app AND epoch = held FOR SHARE;
      IF NOT FOUND THEN
        RAISE EXCEPTION 'liveroom: epoch % no longer hosts app %', held, app
          USING ERRCODE = 'LR001';
      END IF;
    END $$;
    -- The first id of the next block a load reserves; only ever raised.
    CREATE TABLE outbox_id_blocks(
      id integer PRIMARY KEY CHECK (id = 1),
      next bigint NOT NULL
    );
    INSERT INTO outbox_id_blocks VALUES (1, 1);
    )sql",
    // 7: placement by room (docs/cluster.md): each slot of an app's rooms has its epoch row,
    // fenced like an app's; and each app a feed of changes to its app-wide state (accounts, the
    // callback configuration, the gift catalog), which its hosts read to follow each other. A
    // change takes the app's version row and holds it to its commit, so versions are taken in
    // commit order: a reader that saw version v has seen every change before it. Only additions,
    // as 6.
    R"sql(
    CREATE TABLE slot_leadership(
      sdkappid bigint NOT NULL,
      slot bigint NOT NULL,
      epoch bigint NOT NULL,
      node_id text NOT NULL,
      advertise_url text NOT NULL,
      since timestamptz NOT NULL,
      PRIMARY KEY (sdkappid, slot)
    );
    CREATE FUNCTION liveroom_check_slot_epoch(app bigint, s bigint, held bigint) RETURNS void
    LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM 1 FROM slot_leadership WHERE sdkappid = app AND slot = s AND epoch = held FOR SHARE;
      IF NOT FOUND THEN
        RAISE EXCEPTION 'liveroom: epoch % no longer hosts slot % of app %', held, s, app
          USING ERRCODE = 'LR001';
      END IF;
    END $$;
    CREATE TABLE app_state_versions(
      sdkappid bigint PRIMARY KEY,
      version bigint NOT NULL
    );
    CREATE TABLE app_state_changes(
      sdkappid bigint NOT NULL,
      version bigint NOT NULL,
      kind text NOT NULL,
      key bytea NOT NULL,
      made timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (sdkappid, version)
    );
    )sql",
}};

// Any constant shared by every liveroomd: nodes starting together migrate one at a time.
constexpr int64_t kMigrationLock = 0x6c697665726f6f6d;  // "liveroom"

int64_t schema_version(PgConnection& db) {
  db.exec("CREATE TABLE IF NOT EXISTS liveroom_schema(version integer NOT NULL)");
  PgResult r = db.exec("SELECT max(version) FROM liveroom_schema");
  if (r.rows() == 0 || r.is_null(0, 0)) return 0;
  return std::stoll(std::string(r.text(0, 0)));
}

}  // namespace

int64_t latest_postgres_schema_version() {
  return static_cast<int64_t>(kMigrations.size());
}

void migrate_postgres(PgConnection& db) {
  db.exec(fmt::format("SELECT pg_advisory_lock({})", kMigrationLock));
  try {
    const int64_t current = schema_version(db);
    if (current > latest_postgres_schema_version()) {
      throw StoreError(fmt::format(
          "the PostgreSQL database has liveroom schema version {}, newer than this liveroomd "
          "knows ({}); run the newer liveroomd",
          current, kMigrations.size()));
    }
    for (auto version = static_cast<size_t>(current); version < kMigrations.size(); ++version) {
      db.exec("BEGIN");
      try {
        db.exec(std::string(kMigrations[version]));
        db.exec(fmt::format("DELETE FROM liveroom_schema; INSERT INTO liveroom_schema VALUES ({})",
                            version + 1));
        db.exec("COMMIT");
      } catch (...) {
        db.exec("ROLLBACK");
        throw;
      }
    }
  } catch (...) {
    db.exec(fmt::format("SELECT pg_advisory_unlock({})", kMigrationLock));
    throw;
  }
  db.exec(fmt::format("SELECT pg_advisory_unlock({})", kMigrationLock));
}

}  // namespace liveroom::store
