// The durable store behind the RoomEngine. The engine keeps all state in memory and serves reads
// from there; the store is written on every mutation and read only at start-up (recovery).
//
// A change is acknowledged to the client only once it is durable: submit() queues it, a writer
// commits many queued changes in one transaction with one fsync (group commit), and then calls
// the change's callback. Sequence numbers let a reader wait until everything it observed is
// durable, so no reply ever shows state that a crash could take back.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "domain/account.h"
#include "domain/battle.h"
#include "domain/callbacks.h"
#include "domain/gift.h"
#include "domain/room.h"

namespace liveroom::store {

struct PutRoom {
  uint32_t sdkappid;
  domain::Room room;  // every column but metadata
};
struct PutRoomMetadata {
  uint32_t sdkappid;
  std::string room_id;
  std::vector<domain::MetadataEntry> metadata;
};
struct PutRoomModeration {
  uint32_t sdkappid;
  std::string room_id;
  domain::RoomModeration moderation;
};
struct DeleteRoom {  // also deletes its metadata and moderation
  uint32_t sdkappid;
  std::string room_id;
};
struct PutAccount {
  uint32_t sdkappid;
  domain::Account account;
};
struct DeleteAccount {
  uint32_t sdkappid;
  std::string user_id;
};
// The transactional outbox: events go in with the change that caused them. The entries are shared
// with the dispatcher, which receives the same ones once they are durable.
using OutboxEntries = std::shared_ptr<const std::vector<domain::OutboxEntry>>;
struct PutOutbox {
  OutboxEntries entries;
};
// Raises a room's recorded last event sequence number (never lowers it). Written when delivered
// outbox rows are deleted: a room's highest issued number is always max(this, the room_seq of
// its rows still in the outbox), and it is kept after the room is destroyed, so numbers never
// repeat.
struct PutRoomEventSeq {
  uint32_t sdkappid;
  std::string room_id;
  uint64_t last_seq;
};
struct UpdateOutbox {  // a failed attempt, a dead letter, or a replay
  uint64_t id;
  uint32_t attempts;
  int64_t next_attempt_ms;
  int64_t created_ms;
  bool dead;
  std::string last_error;
};
struct DeleteOutbox {  // delivered
  std::vector<uint64_t> ids;
};
struct PutCallbackConfig {
  uint32_t sdkappid;
  domain::CallbackConfig config;
};
// The gift catalog: one row per gift and per category (a category's row lists its gifts).
// A member who sent the room a gift: it counts once in TotalUniqueGiftSenders, and its latest
// sends' Random keys make a retried send (after a lost reply) answer the first one's result
// instead of counting again, across restarts too. Deleted with the room.
struct GiftSendKey {
  uint32_t random = 0;
  int64_t coins = 0;  // what that send cost in all
  bool operator==(const GiftSendKey&) const = default;
};
struct PutGiftSender {
  uint32_t sdkappid;
  std::string room_id;
  std::string user_id;
  std::vector<GiftSendKey> recent;  // oldest first
};
// A battle (its rooms, times, status, and the rooms' scores when it was written), and a room's
// score while it runs, written with each gift that raises it. A battle's scores are the higher
// of the two. DeleteBattle takes the scores with it.
struct PutBattle {
  uint32_t sdkappid;
  domain::Battle battle;
};
struct PutBattleScore {
  uint32_t sdkappid;
  std::string battle_id;
  std::string room_id;
  int64_t score;
};
struct DeleteBattle {
  uint32_t sdkappid;
  std::string battle_id;
};
struct PutGift {
  uint32_t sdkappid;
  domain::Gift gift;
};
struct DeleteGift {
  uint32_t sdkappid;
  std::string gift_id;
};
struct PutGiftCategory {
  uint32_t sdkappid;
  domain::GiftCategory category;
};
struct DeleteGiftCategory {
  uint32_t sdkappid;
  std::string category_id;
};
using Change =
    std::variant<PutRoom, PutRoomMetadata, PutRoomModeration, DeleteRoom, PutAccount, DeleteAccount,
                 PutOutbox, PutRoomEventSeq, UpdateOutbox, DeleteOutbox, PutCallbackConfig, PutGift,
                 DeleteGift, PutGiftCategory, DeleteGiftCategory, PutGiftSender, PutBattle,
                 PutBattleScore, DeleteBattle>;

// Everything the store holds, as read at start-up.
struct Snapshot {
  struct AppRooms {
    uint32_t sdkappid;
    domain::Room room;  // metadata and moderation included
  };
  std::vector<AppRooms> rooms;
  std::vector<PutAccount> accounts;
  std::vector<domain::OutboxEntry> outbox;  // by id: pending and dead deliveries
  std::vector<PutRoomEventSeq> room_event_seqs;
  std::vector<PutCallbackConfig> callback_configs;
  std::vector<PutGift> gifts;
  std::vector<PutGiftCategory> gift_categories;
  std::vector<PutGiftSender> gift_senders;
  std::vector<PutBattle> battles;  // with the scores of battle_scores applied
  // Where this store's new outbox ids start (the engine takes the higher of this and the
  // highest loaded id + 1). PostgreSQL reserves each load a block of ids above every id ever
  // written: with placement by app several hosts write webhook_outbox, each loading only its own
  // app's rows, and ids allocated from those alone would collide. SQLite has one writer: 1.
  uint64_t first_outbox_id = 1;
  // Placement by room: where the app's feed of app-wide changes stood when this was read
  // (read_app_state_changes continues from it).
  uint64_t app_state_version = 0;
};

// Runs on the store's writer thread once the changes are durable. It must be short: post the
// real work elsewhere.
using DurableCallback = std::move_only_function<void()>;

class Store {
 public:
  virtual ~Store() = default;

  virtual Snapshot load() = 0;

  // Queues changes that one request made; they commit atomically, in submission order with
  // respect to every other submit. Returns the sequence number of this submission.
  virtual uint64_t submit(std::vector<Change> changes) = 0;

  // Queues bookkeeping that needs no commit of its own: it rides along with the next commit, or
  // commits by itself once it has waited `kDeferredDelay` with nothing else to write (and at
  // close). A crash may drop it, so only changes whose loss is harmless belong here, such as
  // deleting outbox rows already delivered (lost: they are sent again, which at-least-once
  // delivery allows). Their order against other submissions must not matter. Under load this
  // saves an fsync per flush; no sequence number, nobody waits for it.
  virtual void submit_deferred(std::vector<Change> changes) = 0;
  static constexpr std::chrono::milliseconds kDeferredDelay{500};

  // Calls `callback` once every submission up to `seq` is durable (at once if it already is).
  virtual void when_durable(uint64_t seq, DurableCallback callback) = 0;

  virtual uint64_t durable_seq() const = 0;
  virtual uint64_t submitted_seq() const = 0;

  // Called on the writer thread after each commit: how long it took (BEGIN to the end of the
  // fsynced COMMIT) and how many submissions it carried (0: deferred bookkeeping only). For
  // metrics; must be cheap.
  using CommitObserver = std::function<void(std::chrono::nanoseconds, size_t)>;
  virtual void set_commit_observer(CommitObserver observer) = 0;

  // Commits what is queued, stops the writer and closes the database.
  virtual void close() = 0;
};

struct SqliteOptions {
  std::string path;  // the database file
};

// The embedded default: SQLite in WAL mode with synchronous=FULL and one writer thread.
std::unique_ptr<Store> open_sqlite_store(const SqliteOptions& options);

class PgPool;  // store/postgres/pg_pool.h

struct PostgresOptions {
  std::string url;  // a libpq connection URI
  // The leadership epoch this node holds (take_postgres_leadership): every commit checks it is
  // still the current one, and refuses otherwise.
  uint64_t epoch = 0;
  // Called on the writer thread when a commit is refused because another node took over. The
  // refused batch is never acknowledged; the process must stop acting for the cluster.
  std::function<void()> on_fenced;
  // With placement by app, the one app this store serves: load() returns only that app's rows,
  // and every commit checks that app's epoch (take_postgres_leadership with the app) instead of
  // the cluster's.
  std::optional<uint32_t> sdkappid;
  // With placement by room, the one slot of that app's rooms this store serves (of
  // `room_slots`): load() returns only the rooms of that slot (and their rows, outbox and
  // battles), with the app-wide rows (accounts, callbacks, gifts) whole; commits check the slot's
  // epoch, and every change to app-wide state also goes into the app's feed in the same
  // transaction, so the app's other hosts learn of it (read_app_state_changes).
  std::optional<uint32_t> slot;
  uint32_t room_slots = 0;
  // The connections it borrows (the node's, shared with its other stores and its leadership);
  // none: one connection to `url` of its own.
  PgPool* pool = nullptr;
};

// Cluster mode: PostgreSQL, one writer thread, fenced commits (docs/cluster.md). The schema must
// be prepared first. It connects when first used: load() throws StoreError (with libpq's reason)
// when it cannot, and commits wait, unacknowledged, until they can.
std::unique_ptr<Store> open_postgres_store(const PostgresOptions& options);
// Connects and brings the schema to this binary's version; throws StoreError if the database is
// unreachable, refuses the credentials, or holds a schema newer than this binary knows.
void prepare_postgres(const std::string& url);
// Raises the leadership epoch and records this node as the leader; returns the new epoch. Waits
// for the previous leader's commits in flight to end. With an app (placement by app): that app's
// epoch and host, its row made at its first take (epoch 1).
// With a slot as well (placement by room): that slot's of the app.
uint64_t take_postgres_leadership(PgPool& pool, const std::string& node_id,
                                  const std::string& advertise_url,
                                  std::optional<uint32_t> sdkappid = std::nullopt,
                                  std::optional<uint32_t> slot = std::nullopt);
// The current leadership epoch; with an app, that app's (0 before any node hosted it), with a
// slot that slot's.
uint64_t postgres_leadership_epoch(PgPool& pool, std::optional<uint32_t> sdkappid = std::nullopt,
                                   std::optional<uint32_t> slot = std::nullopt);

// Placement by room: what the app's hosts changed of its app-wide state after feed position
// `after`, as it is now in PostgreSQL. Every host of an app reads it before a call that uses that
// state, so a change acknowledged by one host is seen by the call on any other.
struct AppStateChanges {
  uint64_t version = 0;  // the feed's position after these
  bool gap = false;      // changes after `after` are no longer kept: everything must be loaded
  std::vector<std::pair<std::string, std::optional<domain::Account>>> accounts;  // none: deleted
  std::optional<domain::CallbackConfig> callbacks;  // the app's configuration now, if it changed
  // The app's gift catalog now (gifts and categories, each by id), if any of it changed: it is
  // small, and read whole.
  struct Catalog {
    std::vector<domain::Gift> gifts;
    std::vector<domain::GiftCategory> categories;
  };
  std::optional<Catalog> catalog;
};
// Also reads again the rows of `recheck_accounts` (and the callbacks, the catalog, if asked),
// changes a host could not apply at its previous read.
AppStateChanges read_app_state_changes(PgPool& pool, uint32_t sdkappid, uint64_t after,
                                       const std::vector<std::string>& recheck_accounts = {},
                                       bool recheck_callbacks = false,
                                       bool recheck_catalog = false);
// Forgets the feed's changes made more than `keep_for` ago (the app's slot 0 host, now and then).
void trim_app_state_changes(PgPool& pool, uint32_t sdkappid, std::chrono::seconds keep_for);
// Placement by room: a page of the app's public rooms in get_room_list's order (ViewCount down,
// then RoomId), after (view_count, room_id) if given; only the list's columns are filled.
struct PublicRoomsPage {
  std::vector<domain::Room> rooms;
  bool more = false;
};
PublicRoomsPage read_public_rooms(PgPool& pool, uint32_t sdkappid,
                                  const std::optional<std::pair<int64_t, std::string>>& after,
                                  size_t count);
// The secret every node of the cluster shows on its links to the others (made by the schema).
std::string postgres_cluster_secret(const std::string& url);

// What `liveroomd cluster status` reports from PostgreSQL (read only; nothing is migrated).
struct PostgresClusterSummary {
  uint64_t epoch = 0;
  std::string leader_node_id;  // who raised the epoch last ("" before any node led)
  std::string leader_url;
  int64_t leader_since_ms = 0;  // Unix milliseconds
  int64_t schema_version = 0;
  int64_t rooms = 0;
  int64_t webhooks_pending = 0;  // queued or being retried
  int64_t webhooks_dead = 0;     // dead letters
};
PostgresClusterSummary postgres_cluster_summary(const std::string& url);

// An app's epoch row (placement by app): who raised its epoch last.
struct PostgresAppLeadership {
  uint32_t sdkappid;
  uint64_t epoch;
  std::string node_id;
  std::string leader_url;
  int64_t since_ms;  // Unix milliseconds
};
// Every app's row, by sdkappid (read only; none when the schema predates placement by app).
std::vector<PostgresAppLeadership> postgres_app_leaderships(const std::string& url);

// A slot's epoch row (placement by room): who raised its epoch last.
struct PostgresSlotLeadership {
  uint32_t sdkappid;
  uint32_t slot;
  uint64_t epoch;
  std::string node_id;
  std::string leader_url;
  int64_t since_ms;  // Unix milliseconds
};
// Every slot's row, by sdkappid then slot (read only; none when the schema predates placement by
// room).
std::vector<PostgresSlotLeadership> postgres_slot_leaderships(const std::string& url);

}  // namespace liveroom::store
