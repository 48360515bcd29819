// RoomEngine: the authoritative in-memory state of every app's rooms and accounts. Each call
// validates against current state, applies the change in memory, and hands the change to the
// store in the same critical section, so memory and the store's queue see changes in one order.
//
// Rooms are spread over shards by hash(RoomId), each with its own mutex, so unrelated rooms never
// contend. Lock order, where more than one is held: room shard → accounts → list index.
//
// Every call takes a ReadFence: the store sequence number that the reply must wait for before it
// is sent. A mutation raises it to its own submission; a read raises it to the last write of what
// it looked at (a room, a deletion in that shard, an account). So no reply shows state that a
// crash could still take back, and an acknowledged write is always durable.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/error.h"
#include "base/string_hash.h"
#include "domain/account.h"
#include "domain/callbacks.h"
#include "domain/room.h"
#include "engine/audience.h"
#include "engine/gift_catalog.h"
#include "engine/read_fence.h"
#include "store/store.h"

namespace liveroom::engine {

struct AppOptions {
  uint32_t sdkappid = 0;
  std::vector<std::string> admins;
  bool auto_import_accounts = false;
  std::vector<domain::Subscription> file_callbacks;  // [[apps.callbacks]]
  std::optional<std::string> file_callback_token;    // until the API sets one
  bool file_callback_token_enabled = false;
  // Room lifecycle (spec destroy_room): an empty room is dismissed after this long (0: never);
  // a room whose owner is away this long is dismissed (0: never, the default).
  int64_t empty_room_dismiss_seconds = 1800;
  int64_t owner_absent_dismiss_seconds = 0;
};

// Online presence, for every app.
struct PresenceOptions {
  int64_t grace_ms = 30'000;  // an offline member stays in the room this long
};

// What entering a room gives the member.
struct EnterResult {
  domain::Room room;  // the columns (no metadata or moderation)
  std::vector<domain::Seat> seats;
  Role role = Role::kAudience;
  size_t member_count = 0;
  int64_t muted_until = 0;
  bool recovered = false;  // was offline within the grace period: seat and role kept
};

struct MemberPage {
  std::vector<std::pair<std::string, Role>> members;
  size_t member_count = 0;
  std::string next;  // "" at the end
};

// The outcome of take_seat: seated at `index`, or an application waiting for a manager.
struct TakeSeatResult {
  std::optional<uint32_t> index;
  std::string request_id;
};

// Who caused a change: named in its callbacks.
struct Actor {
  std::string operator_account;
  std::string client_ip;
};

// Receives the outbox entries of each commit once it is durable (on the store's writer thread;
// it must only queue them). The webhook dispatcher implements it.
class OutboxListener {
 public:
  virtual ~OutboxListener() = default;
  virtual void on_committed(store::OutboxEntries entries) = 0;
};

// A message to a room's chat (the room is also an IM group, GroupId = RoomId).
struct RoomMessage {
  std::string sender;
  std::string msg_body;            // the IM MsgBody array, serialized
  std::optional<uint32_t> random;  // send_group_msg de-duplication
  std::string cloud_custom_data;
  bool after_callback = true;           // false: ForbidCallbackControl ForbidAfterSendMsgCallback
  bool sender_must_be_imported = true;  // REST senders; gateway senders logged in with a UserSig
  bool from_member = false;  // a member's chat: the room's mute rules apply (-2101/-2380/-2381)
};

struct SentMessage {
  uint64_t msg_seq = 0;
  int64_t msg_time = 0;  // Unix seconds
};

// A gift a member sends to members of its room (the gateway's send_gift).
struct GiftSend {
  std::string sender;
  std::string gift_id;
  int64_t count = 1;                   // of the gift, to each receiver
  std::vector<std::string> receivers;  // empty: the room's owner
  std::optional<uint32_t> random;      // the sender's key: a retry with it is not counted again
};

// What a send counted; for a retried send, what the first one counted.
struct SentGift {
  domain::Gift gift;  // the catalog's entry when it was sent
  std::vector<std::string> receivers;
  int64_t count = 0;
  int64_t coins = 0;  // price × count × receivers
  bool repeated = false;
};

inline constexpr int64_t kMaxGiftCount = 9'999;
inline constexpr size_t kMaxGiftReceivers = 20;
// How many of a sender's latest Random keys a room remembers (durably).
inline constexpr size_t kGiftKeysPerSender = 32;

// One room's answer to a co-host request: asked (kOk, with the request's id), or why not.
struct CoHostInvite {
  std::string room_id;
  Code code = Code::kOk;
  std::string message;
  std::string request_id;
};
inline constexpr size_t kMaxCoHostRooms = 9;  // rooms in one co-host connection
inline constexpr int64_t kDefaultCoHostTimeoutMs = 10'000;

// One invited room's answer to create_battle (spec §2.6 Result): 0 invited, 3 in another
// battle already, 5 could not be invited (the message says why).
struct BattleInvite {
  std::string room_id;
  int64_t result_code = 0;
  std::string message;
};
struct CreatedBattle {
  std::string battle_id;  // "" when no room could be invited: no battle was created
  std::vector<BattleInvite> results;
};
inline constexpr int64_t kBattleInvited = 0;
inline constexpr int64_t kBattleRoomBusy = 3;
inline constexpr int64_t kBattleRoomUnavailable = 5;
inline constexpr int64_t kDefaultBattleInviteTimeoutMs = 10'000;
inline constexpr int64_t kBattleScorePushMs = 200;  // scores reach members at most 5 times a second
inline constexpr size_t kEndedBattlesKept = 1'000;  // per app, for get_battle_info

// A live_config update: the fields sent.
struct CallbackPatch {
  std::optional<std::string> url;
  std::optional<std::vector<std::string>> commands;
};

// One entry of a get_room_list page.
struct RoomListEntry {
  std::string room_id;
  std::string name;
  std::string owner;
  std::string cover_url;
  std::vector<int64_t> category;
  int64_t create_time = 0;
  int64_t activity_status = 0;
  int64_t view_count = 0;
};

struct RoomListPage {
  std::vector<RoomListEntry> rooms;
  std::string next;  // "" when the scan is complete
};

// A profile item to set; the api layer has checked its type against the tag.
struct ProfileItem {
  std::string tag;
  domain::ProfileValue value;
};

// The outcome of one account in a batch call (multiaccount_import, account_delete).
struct AccountResult {
  std::string user_id;
  Code code = Code::kOk;
  std::string info;
};

// A room's columns (its rooms row) without the metadata and moderation documents, which have
// rows of their own and can be large: copying them on every update would be wasted work.
// Requires the room's shard lock (the documents are moved out for the copy and back).
domain::Room columns_of(domain::Room& room);
// A seat list with nothing on it is stored as none (rooms without seat changes stay small).
std::vector<domain::Seat> normalized_seats(std::vector<domain::Seat> seats);

class RoomEngine {
 public:
  RoomEngine(store::Store& store, const Clock& clock, std::vector<AppOptions> apps);
  ~RoomEngine();
  RoomEngine(const RoomEngine&) = delete;
  RoomEngine& operator=(const RoomEngine&) = delete;

  // Fills memory from the store at start-up; rows of apps no longer configured are skipped.
  // (The outbox rows of the snapshot are the dispatcher's; only their ids are looked at.)
  void load(store::Snapshot snapshot);
  // Where committed events go; set before serving.
  void set_outbox_listener(OutboxListener* listener) { outbox_listener_ = listener; }

  // The apps' gift catalogs (add_gift and its siblings; what a sent gift costs).
  GiftCatalog& gifts() { return gifts_; }

  bool has_app(uint32_t sdkappid) const;
  bool is_app_admin(uint32_t sdkappid, std::string_view user_id) const;
  size_t room_count() const;

  // --- rooms ---------------------------------------------------------------------------------
  // `caller` owns the room when the patch's request named no Owner_Account.
  Result<void> create_room(uint32_t sdkappid, std::string room_id, std::string owner,
                           const domain::RoomPatch& fields, ReadFence& fence,
                           const Actor& actor = {});
  Result<domain::RoomStatistic> destroy_room(uint32_t sdkappid, std::string_view room_id,
                                             ReadFence& fence, const Actor& actor = {});
  Result<void> update_room(uint32_t sdkappid, std::string_view room_id,
                           const domain::RoomPatch& patch, ReadFence& fence,
                           const Actor& actor = {});

  // Calls `visit(const domain::Room&)` under the room's lock and returns what it returns. Keep
  // the visitor short: it holds the shard.
  template <typename Visitor>
  auto read_room(uint32_t sdkappid, std::string_view room_id, ReadFence& fence, Visitor&& visit)
      -> Result<decltype(visit(std::declval<const domain::Room&>()))>;

  // Same, with the room's number of members (online, within grace, and robots) as well.
  template <typename Visitor>
  auto read_room_with_members(uint32_t sdkappid, std::string_view room_id, ReadFence& fence,
                              Visitor&& visit)
      -> Result<decltype(visit(std::declval<const domain::Room&>(), size_t{}))>;

  Result<RoomListPage> list_rooms(uint32_t sdkappid, std::string_view cursor, size_t count,
                                  ReadFence& fence);

  Result<void> set_metadata(uint32_t sdkappid, std::string_view room_id,
                            const std::vector<domain::MetadataEntry>& entries, ReadFence& fence,
                            const Actor& actor = {});
  Result<void> delete_metadata(uint32_t sdkappid, std::string_view room_id,
                               const std::vector<std::string>& keys, ReadFence& fence,
                               const Actor& actor = {});

  // --- moderation (spec §2.2, §2.5): admins, bans, mutes, robots -------------------------------
  enum class AdminOp { kAdd, kDelete };
  // Admins and robots must be imported accounts (70107); at most 5 admins (100020), 3 robots.
  Result<void> modify_admins(uint32_t sdkappid, std::string_view room_id,
                             const std::vector<std::string>& users, AdminOp op, ReadFence& fence,
                             const Actor& actor = {});
  // until_seconds = now + duration; a duration of 0 lifts the restriction.
  Result<void> ban_members(uint32_t sdkappid, std::string_view room_id,
                           const std::vector<std::string>& users, int64_t duration_seconds,
                           const std::string& reason, ReadFence& fence);
  Result<void> mute_members(uint32_t sdkappid, std::string_view room_id,
                            const std::vector<std::string>& users, int64_t duration_seconds,
                            ReadFence& fence);
  Result<void> add_robots(uint32_t sdkappid, std::string_view room_id,
                          const std::vector<std::string>& robots, ReadFence& fence);
  Result<void> delete_robots(uint32_t sdkappid, std::string_view room_id,
                             const std::vector<std::string>& robots, ReadFence& fence);

  // --- messages (spec §2.4) -------------------------------------------------------------------
  // Gives the message the room's next MsgSeq and counts it; a message with the same sender and
  // Random as one of the room's recent messages answers that message's MsgSeq and is not sent
  // again. The sender must be an imported account (70107).
  Result<SentMessage> send_message(uint32_t sdkappid, std::string_view room_id,
                                   const RoomMessage& message, ReadFence& fence,
                                   const Actor& actor = {});

  // --- gifts (engine/gifts.cpp) ---------------------------------------------------------------
  // What send_gift would check and count, without counting: for asking the app's backend
  // (Live.CallbackBeforeSendGift) first. -2101 for a sender that is not a member, 100006 when
  // the room has IsGiftEnabled false, -1001 for a gift the catalog lacks or a receiver not in
  // the room.
  Result<SentGift> price_gift(uint32_t sdkappid, std::string_view room_id, const GiftSend& send,
                              ReadFence& fence);
  // Counts the gift into the room's statistics and shows it to the members, in the room's
  // order of events, once durable; checks again (the room may have changed meanwhile).
  Result<SentGift> send_gift(uint32_t sdkappid, std::string_view room_id, const GiftSend& send,
                             ReadFence& fence);

  // --- co-hosting (engine/cohosting.cpp): rooms whose owners share one stage --------------------
  // Soft state, like presence: a restart ends every connection. `owner` must be the owner of
  // `room_id` and in it (-2300, -2101).
  // Asks the owners of `to_rooms`; each answer says whether that owner was asked.
  Result<std::vector<CoHostInvite>> request_cohost(uint32_t sdkappid, std::string_view room_id,
                                                   const std::string& owner,
                                                   const std::vector<std::string>& to_rooms,
                                                   int64_t timeout_ms,
                                                   const std::string& extension_info);
  // The asked owner accepts (the rooms connect: the asked room joins the asking room's
  // connection) or rejects.
  Result<void> respond_cohost(uint32_t sdkappid, std::string_view room_id, const std::string& owner,
                              std::string_view request_id, bool accept);
  Result<void> cancel_cohost(uint32_t sdkappid, std::string_view room_id, const std::string& owner,
                             std::string_view request_id);
  // The room leaves its connection (the others stay connected if two or more remain).
  Result<void> disconnect_cohost(uint32_t sdkappid, std::string_view room_id,
                                 const std::string& owner);
  // The rooms connected with `room_id`, itself included; empty when it is in no connection.
  std::vector<CoHostRoom> cohost_rooms(uint32_t sdkappid, std::string_view room_id);

  // --- battles (engine/battles.cpp): PK between rooms, scored by the gifts each room receives ---
  // Durable: a battle survives a restart, and one whose end passed meanwhile ends at the first
  // tick with the scores its rooms had. `owner` "" is an App administrator (REST create_battle,
  // which does not check co-hosting); otherwise the owner of `from_room`, online in it, whose
  // room co-hosts with every invited room. The asking room is in the battle from the start; the
  // battle starts when an invited room accepts.
  Result<CreatedBattle> create_battle(uint32_t sdkappid, const std::string& from_room,
                                      const std::vector<std::string>& to_rooms, int64_t duration_ms,
                                      int64_t invite_timeout_ms, const std::string& extension_info,
                                      const std::string& owner, const Actor& actor,
                                      ReadFence& fence);
  Result<void> respond_battle(uint32_t sdkappid, std::string_view room_id, const std::string& owner,
                              std::string_view battle_id, bool accept, ReadFence& fence);
  // The room leaves its battle; the battle ends when fewer than two rooms are left in it.
  Result<void> leave_battle(uint32_t sdkappid, std::string_view room_id, const std::string& owner,
                            ReadFence& fence);
  // Ends a battle now (REST end_battle); answers it as ended.
  Result<domain::Battle> end_battle(uint32_t sdkappid, std::string_view battle_id,
                                    const Actor& actor, ReadFence& fence);
  // A battle by its id, or (battle_id "") the battle `room_id` is in now, with live scores.
  Result<domain::Battle> battle_info(uint32_t sdkappid, std::string_view battle_id,
                                     std::string_view room_id, ReadFence& fence);

  // --- seats (room_engine_http_mic, spec §2.3) ------------------------------------------------
  // Only members can sit; robots are members (online members come with the client gateway).
  struct SeatLocks {
    std::optional<bool> taken, video, audio;
  };
  enum class SeatPolicy { kGiveUp = 0, kForce = 1, kSwap = 2 };
  Result<void> pick_seat(uint32_t sdkappid, std::string_view room_id, uint32_t index,
                         const std::string& member, ReadFence& fence, const Actor& actor = {});
  // `data` is delivered to the member (if online).
  Result<void> kick_from_seat(uint32_t sdkappid, std::string_view room_id,
                              const std::string& member, const std::string& data, ReadFence& fence,
                              const Actor& actor = {});
  Result<void> lock_seat(uint32_t sdkappid, std::string_view room_id, uint32_t index,
                         const SeatLocks& locks, ReadFence& fence, const Actor& actor = {});
  // switch_seat: kGiveUp and no unlock; move_user_to_seat: any policy, unlocks the target.
  Result<void> move_to_seat(uint32_t sdkappid, std::string_view room_id, const std::string& member,
                            uint32_t index, SeatPolicy policy, bool unlock_target, ReadFence& fence,
                            const Actor& actor = {});

  // --- members (the client gateway) -----------------------------------------------------------
  // Where rooms' audiences come from; set before serving, after load().
  void set_audience_factory(AudienceFactory* factory, PresenceOptions options);
  // Told of every change to what get_room_info shows of a room (its columns, its number of
  // members; its creation and its end), under the room's lock, so before the change can be
  // acknowledged. A cluster's leader tells its followers, which answer get_room_info from what
  // they kept until then (docs/cluster.md). Set before the engine serves.
  using RoomWatcher = std::function<void(uint32_t sdkappid, std::string_view room_id)>;
  void set_room_watcher(RoomWatcher watcher) { room_watcher_ = std::move(watcher); }

  // --- placement by room (docs/cluster.md): this engine holds one slot of an app's rooms -------
  // Battle ids fall in their asking room's slot (so a call naming one reaches its host), and a
  // battle invites only rooms of that slot. Set before serving.
  void set_room_slots(uint32_t slots) { room_slots_ = slots; }
  // get_room_list reads every slot's rooms from here (PostgreSQL) instead of this engine's index.
  // It throws on a database error. Set before serving.
  using PublicRoomLister = std::function<store::PublicRoomsPage(
      uint32_t sdkappid, const std::optional<std::pair<int64_t, std::string>>& after,
      size_t count)>;
  void set_public_room_lister(PublicRoomLister lister) { public_room_lister_ = std::move(lister); }
  // App-wide state another host of the app changed, as PostgreSQL holds it now. Memory follows
  // unless this engine has a write of its own to the same state that is not durable yet: false
  // then, and the caller reads the row again later (that write commits after the change read, so
  // the row will show it, or whatever came after).
  bool follow_account(uint32_t sdkappid, const std::string& user_id,
                      std::optional<domain::Account> now);
  bool follow_callbacks(uint32_t sdkappid, domain::CallbackConfig now);
  // Enters `user` with its connection: refused while banned (10007), when MaxMemberCount
  // members are in (10014), or when the room does not exist. A member that is offline within the
  // grace period comes back with its seat and role; one online elsewhere moves here. Every entry
  // adds to ViewCount.
  Result<EnterResult> enter_room(uint32_t sdkappid, std::string_view room_id,
                                 const std::string& user, ConnectionPtr connection,
                                 ReadFence& fence);
  // The owner cannot leave (-2102). A member on a seat leaves it.
  Result<void> leave_room(uint32_t sdkappid, std::string_view room_id, const std::string& user,
                          ReadFence& fence);
  // `connection` closed: its member goes offline until it returns or the grace period ends.
  void connection_lost(uint32_t sdkappid, std::string_view room_id, const std::string& user,
                       const ConnectionPtr& connection);
  // Online members (and robots) ordered by user id; `cursor` is a previous page's `next`.
  Result<MemberPage> list_members(uint32_t sdkappid, std::string_view room_id,
                                  std::string_view cursor, size_t count, ReadFence& fence);
  // The role of a member; -2101 when `user` is not in the room.
  Result<Role> member_role(uint32_t sdkappid, std::string_view room_id, std::string_view user,
                           ReadFence& fence);
  // -2300/-2301 unless `actor` may act (as owner / as manager) on `target` ("" = no target): an
  // admin cannot act on the owner or another admin.
  Result<void> authorize(uint32_t sdkappid, std::string_view room_id, std::string_view actor,
                         bool owner_only, std::string_view target, ReadFence& fence);
  // Seats from the gateway: FreeToTake (or a manager) sits at once; ApplyToTake applies.
  Result<TakeSeatResult> take_seat(uint32_t sdkappid, std::string_view room_id,
                                   const std::string& user, std::optional<uint32_t> index,
                                   int64_t timeout_ms, ReadFence& fence);
  Result<void> leave_seat(uint32_t sdkappid, std::string_view room_id, const std::string& user,
                          ReadFence& fence);
  Result<std::string> invite_to_seat(uint32_t sdkappid, std::string_view room_id,
                                     const std::string& manager, const std::string& member,
                                     std::optional<uint32_t> index, int64_t timeout_ms,
                                     ReadFence& fence);
  Result<void> cancel_seat_request(uint32_t sdkappid, std::string_view room_id,
                                   const std::string& user, const std::string& request_id,
                                   ReadFence& fence);
  // A manager answers an application, or the invitee an invitation. Answers the seat index.
  Result<std::optional<uint32_t>> respond_seat_request(uint32_t sdkappid, std::string_view room_id,
                                                       const std::string& user,
                                                       const std::string& request_id, bool accept,
                                                       ReadFence& fence);
  // Removes a member from the room (the owner or an admin asked; authorize() first).
  Result<void> kick_member(uint32_t sdkappid, std::string_view room_id, const std::string& member,
                           ReadFence& fence);
  // Counts likes into the statistics; answers the room's total.
  Result<int64_t> like(uint32_t sdkappid, std::string_view room_id, const std::string& user,
                       int64_t count, ReadFence& fence);
  // A member's message: refused while the sender is muted (-2381) or, unless a manager, while
  // the room has IsMessageDisabled (-2380).
  Result<SentMessage> send_member_message(uint32_t sdkappid, std::string_view room_id,
                                          RoomMessage message, ReadFence& fence);
  // The checks of send_member_message alone (before asking a veto callback).
  Result<void> check_member_message(uint32_t sdkappid, std::string_view room_id,
                                    const std::string& sender, ReadFence& fence);
  // Expires grace periods and seat requests, and dismisses rooms by the lifecycle policies.
  // Called periodically (every 100 ms or so) while has_timed_work().
  void tick();
  // Whether tick() has anything to do, now or later: a deadline, a co-host request, a battle not
  // ended or a score to push, a room to settle. With none, the housekeeper that calls tick()
  // sleeps: a node hosting hundreds of idle apps spent most of its CPU waking each app's
  // housekeeper every 50 ms for nothing.
  bool has_timed_work();
  // Called when such work appears (a deadline scheduled, a co-host request made, a battle
  // created, a room to settle), on the thread that added it and possibly under engine locks, so
  // it must take none of them; it wakes a sleeping housekeeper. Empty: none.
  void set_timed_work_hook(std::function<void()> hook);

  // --- callback configuration (live_config) --------------------------------------------------
  Result<void> set_callback(uint32_t sdkappid, domain::Subscription subscription, ReadFence& fence);
  Result<void> update_callback(uint32_t sdkappid, const CallbackPatch& patch, ReadFence& fence);
  Result<void> delete_callback(uint32_t sdkappid, ReadFence& fence);
  Result<domain::Subscription> get_callback(uint32_t sdkappid, ReadFence& fence) const;
  // Token and IsTokenEnable are both required the first time, afterwards either.
  Result<void> set_callback_token(uint32_t sdkappid, std::optional<std::string> token,
                                  std::optional<bool> enabled, ReadFence& fence);
  Result<std::pair<std::string, bool>> get_callback_token(uint32_t sdkappid,
                                                          ReadFence& fence) const;
  // The URLs subscribed to `command` (the live_config one and the file's).
  std::vector<std::string> subscribers(uint32_t sdkappid, std::string_view command);
  // Whether a subscription (the live_config one or the file's) lists `command` by name.
  bool subscription_lists(uint32_t sdkappid, std::string_view command);
  // The token deliveries are signed with right now: the API's if set, else the file's; nullopt
  // when none is set or it is disabled.
  std::optional<std::string> signing_token(uint32_t sdkappid) const;

  // --- accounts ------------------------------------------------------------------------------
  // Imports (or re-imports, keeping the profile) one account; `profile` items are set on it.
  Result<void> import_account(uint32_t sdkappid, const std::string& user_id,
                              const std::vector<ProfileItem>& profile, ReadFence& fence);
  std::vector<AccountResult> import_accounts(uint32_t sdkappid,
                                             const std::vector<std::string>& user_ids,
                                             ReadFence& fence);
  std::vector<AccountResult> delete_accounts(uint32_t sdkappid,
                                             const std::vector<std::string>& user_ids,
                                             ReadFence& fence);
  bool account_exists(uint32_t sdkappid, std::string_view user_id, ReadFence& fence) const;
  // A client's login creates its account, as Tencent's SDK login registers one: durably, like
  // an import (the login's reply waits on `fence`). An id that is not an account yet must follow
  // check_login_user_id.
  Result<void> register_login(uint32_t sdkappid, const std::string& user_id, ReadFence& fence);
  // The account's profile; nullopt when the account does not exist. Admins have an empty one.
  std::optional<domain::Account> get_account(uint32_t sdkappid, std::string_view user_id,
                                             ReadFence& fence) const;
  Result<void> set_profile(uint32_t sdkappid, const std::string& user_id,
                           const std::vector<ProfileItem>& items, ReadFence& fence);

 private:
  // The soft state of a room with members: lost on restart, never stored.
  struct Member {
    ConnectionPtr connection;  // null: offline within the grace period, or a robot
    bool robot = false;
    int64_t offline_since = 0;  // steady ms; 0 = online
  };
  struct SeatRequest {
    SeatRequestKind kind = SeatRequestKind::kApplication;
    std::string member;  // applicant or invitee
    std::string from;    // inviter
    int64_t index = -1;
    int64_t deadline = 0;  // steady ms
  };
  struct Presence {
    std::map<std::string, Member, std::less<>> members;
    std::shared_ptr<RoomAudience> audience;
    std::map<std::string, SeatRequest, std::less<>> seat_requests;
    uint64_t next_request = 0;
    bool ever_entered = false;
    bool owner_was_present = false;
    int64_t empty_since = 0;         // steady ms; 0 = not empty
    int64_t owner_absent_since = 0;  // steady ms; 0 = present (or never came)
  };

  struct RoomEntry {
    domain::Room room;
    uint64_t seq = 0;  // store sequence of the last write to this room
    std::unique_ptr<Presence> presence;
    // The battle the room is in (joined), with its score; ends_at_ms 0 until the battle starts.
    struct Battle {
      std::string battle_id;
      int64_t score = 0;
      int64_t ends_at_ms = 0;  // Unix ms: gifts count until then
    };
    std::optional<Battle> battle;
    // Who has sent the room gifts, with the Random keys of their latest sends (stored).
    std::unordered_map<std::string, std::vector<store::GiftSendKey>, StringHash, std::equal_to<>>
        gift_senders;
  };

  // Something the engine must look at later (tick()).
  enum class DeadlineKind { kGrace, kSeatRequest, kEmptyRoom, kOwnerAbsent };
  struct Deadline {
    uint32_t sdkappid;
    DeadlineKind kind;
    std::string room_id;
    std::string key;  // the member or the request id
  };

  struct RoomShard {
    mutable std::mutex mu;
    std::unordered_map<std::string, RoomEntry, StringHash, std::equal_to<>> rooms;
    uint64_t last_delete_seq = 0;  // a "not found" answer waits for this
    // RoomId → steady-clock ms of its last creation, for 100012 (one creation per second).
    std::unordered_map<std::string, int64_t, StringHash, std::equal_to<>> recent_creates;
    // RoomId → its recent messages' (sender, Random, MsgSeq, MsgTime), for de-duplication.
    struct RecentMessage {
      std::string sender;
      uint32_t random;
      SentMessage sent;
    };
    std::unordered_map<std::string, std::deque<RecentMessage>, StringHash, std::equal_to<>>
        recent_messages;
    // RoomId → the last event sequence number; kept after the room is destroyed.
    std::unordered_map<std::string, uint64_t, StringHash, std::equal_to<>> event_seq;
  };

  // get_room_list order: ViewCount descending, then RoomId ascending.
  struct ListKey {
    int64_t view_count;
    std::string room_id;
    bool operator<(const ListKey& o) const {
      if (view_count != o.view_count) return view_count > o.view_count;
      return room_id < o.room_id;
    }
  };

  struct AccountEntry {
    domain::Account account;
    uint64_t seq = 0;
  };

  static constexpr size_t kShards = 64;

  struct CoHostRequest {
    std::string from_room;
    std::string to_room;
    std::string from_owner;
    int64_t deadline = 0;  // steady ms
  };
  // State that spans rooms: co-host connections and requests (and battles). Lock order: mu, then
  // room shards; code under a room's lock never takes mu, it notes the room in `unsettled`.
  struct CrossRoom {
    std::mutex mu;
    std::unordered_map<std::string, uint64_t, StringHash, std::equal_to<>> connection_of;
    std::map<uint64_t, std::vector<std::string>> connections;  // id → rooms, in joining order
    std::map<std::string, CoHostRequest, std::less<>> cohost_requests;
    uint64_t next_id = 1;
    std::map<std::string, domain::Battle, std::less<>> battles;  // running, and recently ended
    // Room → the battle it is invited to or in (one at a time).
    std::unordered_map<std::string, std::string, StringHash, std::equal_to<>> battle_of;
    std::deque<std::string> ended_battles;  // oldest first, at most kEndedBattlesKept
    uint64_t battles_seq = 0;               // store sequence of the last battle write
    int64_t last_score_push_ms = 0;
    // Rooms dismissed, or whose owner went offline, since the last settle_cross_room (a leaf
    // lock: taken under room locks).
    std::mutex unsettled_mu;
    std::vector<std::string> unsettled;
    std::set<std::string, std::less<>> scored_battles;  // scores changed since the last push
  };

  struct AppState {
    AppOptions options;
    CrossRoom cross;
    std::unordered_set<std::string, StringHash, std::equal_to<>> admins;
    std::array<RoomShard, kShards> shards;
    mutable std::mutex accounts_mu;
    std::unordered_map<std::string, AccountEntry, StringHash, std::equal_to<>> accounts;
    uint64_t accounts_delete_seq = 0;
    // Placement by room: accounts this engine deleted, until durable (follow_account).
    std::unordered_map<std::string, uint64_t, StringHash, std::equal_to<>> deleting;
    mutable std::mutex index_mu;
    std::set<ListKey> public_index;
    mutable std::mutex callbacks_mu;
    domain::CallbackConfig api_callbacks;
    uint64_t callbacks_seq = 0;
  };

  // The outbox entries of the events built inside one mutation.
  struct PendingEvents {
    std::vector<store::OutboxEntries> entries;
  };

  // --- members ---
  Presence& presence_of(AppState& a, std::string_view room_id, RoomEntry& entry);
  static Role role_in(const domain::Room& room, std::string_view user);
  void schedule(int64_t when, Deadline deadline);
  // Takes `user` out of the room: off its seat (stored), its seat requests dropped, its
  // audience told why. Requires the shard lock; `entry` must have presence.
  void remove_member(AppState& a, RoomShard& shard, RoomEntry& entry, const std::string& user,
                     LeaveCause cause, const Actor& actor, ReadFence& fence);
  // After a change to members: lifecycle bookkeeping (empty room, absent owner).
  void after_members_changed(AppState& a, RoomEntry& entry);
  // Mic.CallbackAfterSeatInfoChanged; `seats` is the room's whole seat list after the change.
  void emit_seat_list(AppState& a, RoomShard& shard, const std::string& room_id,
                      const std::vector<domain::Seat>& seats, const Actor& actor,
                      std::vector<store::Change>& changes, PendingEvents& events);
  void emit_member_state(AppState& a, RoomShard& shard, const std::string& room_id,
                         std::string_view type, std::string_view cause, const std::string& user,
                         std::vector<store::Change>& changes, PendingEvents& events);
  // Puts `user` on seat `index` (checked by the caller) and stores it.
  uint32_t seat_member(AppState& a, RoomShard& shard, RoomEntry& entry, const std::string& user,
                       uint32_t index, ReadFence& fence);
  void notify_managers(RoomEntry& entry, uint64_t seq, const MemberNotice& notice,
                       std::string_view except);
  void notify_member(RoomEntry& entry, uint64_t seq, std::string_view user,
                     const MemberNotice& notice);
  void resolve_seat_request(RoomEntry& entry, uint64_t seq, const std::string& id,
                            const SeatRequest& request, SeatRequestResult result, int64_t index);
  // After a layout change committed at `seq`: members see the new `seats`, whoever sat on a seat
  // that is gone (`unseated`) hears it, and requests for such seats end Cancelled.
  void announce_layout(RoomEntry& entry, uint64_t seq, const std::vector<domain::Seat>& seats,
                       const std::vector<std::string>& unseated);
  // Dismisses the room (destroy_room and the lifecycle policies). `entry` dies.
  domain::RoomStatistic dismiss(AppState& a, RoomShard& shard, std::string_view room_id,
                                RoomEntry& entry, std::string_view event_type, const Actor& actor,
                                ReadFence& fence);
  void expire(const Deadline& deadline, int64_t now);

  // --- co-hosting ---
  // Under a room's lock: the room was dismissed, or its owner went offline; its connections and
  // requests end at the next settle_cross_room.
  void unsettle(AppState& a, std::string room_id);
  // Ends what unsettled rooms and lapsed requests leave behind; runs in tick() and after the
  // calls that unsettle rooms.
  void settle_cross_room();
  void settle_cross_room(AppState& a);
  // Runs `fn(AppState&)` under cross.mu once `owner` is known to own `room_id` and be online in
  // it (-2101, -2300 otherwise).
  template <typename Fn>
  auto as_online_owner(uint32_t sdkappid, std::string_view room_id, const std::string& owner,
                       Fn&& fn) -> decltype(fn(std::declval<AppState&>()));
  // Requires cross.mu: `owner` owns `room_id` and is online in it.
  Result<void> check_online_owner(AppState& a, std::string_view room_id, std::string_view owner);
  // Requires cross.mu: the owner of `room_id` if online in it, else nullopt.
  std::optional<std::string> online_owner_of(AppState& a, std::string_view room_id);
  // Requires cross.mu: tells the room's owner (if online in it), once `seq` is durable.
  void tell_owner(AppState& a, std::string_view room_id, const MemberNotice& notice,
                  uint64_t seq = 0);
  // Requires cross.mu: every member of each room of `told` hears that `rooms` are connected (no
  // room, when fewer than two are left).
  void announce_connection(AppState& a, const std::vector<std::string>& rooms,
                           const std::vector<std::string>& told);
  // Requires cross.mu: `room_id` leaves its connection; the rest hear of it.
  void leave_connection(AppState& a, const std::string& room_id);
  // Requires cross.mu: ends a request, telling both owners.
  void resolve_cohost(AppState& a, const std::string& request_id, CoHostResult result);

  // --- battles (all require cross.mu) ---
  // Stores the battle (with `command`'s webhook when not empty; the asking room orders it) and
  // tells the members of every room taking part; returns the store sequence.
  uint64_t write_battle(AppState& a, const domain::Battle& battle, std::string_view command,
                        const Actor& actor, ReadFence& fence);
  // Copies the scores of the joined rooms into `battle`; `release` also takes the battle off
  // those rooms (gifts stop counting).
  void collect_scores(AppState& a, domain::Battle& battle, bool release);
  void set_room_battle(AppState& a, std::string_view room_id,
                       std::optional<RoomEntry::Battle> battle);
  void start_battle(AppState& a, domain::Battle& battle, ReadFence& fence);
  void finish_battle(AppState& a, domain::Battle& battle, std::string reason, const Actor& actor,
                     ReadFence& fence);
  // A room leaves (or, invited, turns down) its battle: ends it when fewer than two remain.
  void drop_from_battle(AppState& a, domain::Battle& battle, std::string_view room_id,
                        std::string_view reason, ReadFence& fence);
  // Lapsed invitations, battles whose time is up, dismissed rooms, and score pushes.
  void settle_battles(AppState& a, const std::vector<std::string>& gone_rooms);

  AppState* app(uint32_t sdkappid) const;
  static std::vector<std::string> subscribers(AppState& a, std::string_view command);
  // Runs `fn(AppState&, RoomShard&, RoomEntry&)` under the room's shard lock after raising the
  // fence to the room's last write, or answers 100004. Every single-room call goes through here.
  template <typename Fn>
  auto with_room(uint32_t sdkappid, std::string_view room_id, ReadFence& fence, Fn&& fn)
      -> std::invoke_result_t<Fn, AppState&, RoomShard&, RoomEntry&>;
  // Adds one event to `changes`: one outbox entry per subscription that wants `command`.
  // Requires the room's shard lock.
  // `make_payload()` builds the JSON body; it is called only when somebody subscribes.
  template <typename MakePayload>
  void emit(AppState& app, RoomShard& shard, std::string_view room_id, std::string_view command,
            MakePayload&& make_payload, const Actor& actor, std::vector<store::Change>& changes,
            PendingEvents& events);
  // Submits `changes`; once durable, hands the events to the outbox listener.
  uint64_t submit(std::vector<store::Change> changes, PendingEvents events);
  // Applies `change(moderation, app)` to a copy of the room's moderation; if it succeeds and
  // changed something, stores it (with the events `emit_events` adds) and publishes it.
  // Applies `change(seats, moderation, room)` to the room's seats; stores and announces a change
  // (Mic.CallbackAfterSeatInfoChanged). 100211 for a room without seats.
  template <typename Change>
  Result<void> change_seats(uint32_t sdkappid, std::string_view room_id, ReadFence& fence,
                            const Actor& actor, Change&& change);
  template <typename Change, typename Emit>
  Result<void> moderate(uint32_t sdkappid, std::string_view room_id, ReadFence& fence,
                        Change&& change, Emit&& emit_events, const Actor& actor = {});
  // Stores a room's next moderation document with `changes`, and carries it to the online
  // members: banned members leave, the seat list, mutes and roles they see change.
  void apply_moderation(AppState& a, RoomShard& shard, RoomEntry& entry,
                        domain::RoomModeration next, const Actor& actor, ReadFence& fence,
                        std::vector<store::Change> changes, PendingEvents events);
  static Result<void> check_member(const RoomEntry& entry, const std::string& member,
                                   std::string_view room_id);
  // price_gift's checks, under the room's lock.
  Result<SentGift> price_gift_locked(uint32_t sdkappid, const RoomEntry& entry,
                                     const GiftSend& send, ReadFence& fence);
  // Whether member `sender` may chat in the room now (requires the room's lock).
  static Result<void> member_may_send(const RoomEntry& entry, const std::string& sender,
                                      int64_t now);
  // Replaces a room's metadata in memory and in the store, with its event.
  template <typename MakePayload>
  void put_metadata(AppState& app, RoomShard& shard, RoomEntry& entry,
                    std::vector<domain::MetadataEntry> metadata, ReadFence& fence,
                    const Actor& actor, std::string_view command, MakePayload&& make_payload);
  Result<void> store_callbacks(AppState& app, domain::CallbackConfig next, ReadFence& fence);
  static RoomShard& shard_of(AppState& app, std::string_view room_id);
  static Error room_not_found(std::string_view room_id);
  // Keeps the public list index in step with a room's visibility and ViewCount.
  static void reindex(AppState& app, const domain::Room* before, const domain::Room* after);
  // Requires accounts_mu. Admins always exist.
  static bool account_known(const AppState& app, std::string_view user_id);
  // An account that a REST call names where one must exist (owner, sender, admin, robot): a
  // known one passes; an unknown one is 70107, unless the app has auto_import_accounts, where it
  // is checked and added to `imports`. The caller puts import_pending's PutAccounts in the same
  // commit as its change (never an import without the change, or the reverse) and records them
  // with imported() once submitted. Takes accounts_mu.
  Result<void> require_account(AppState& a, const std::string& user_id, std::string_view field,
                               ReadFence& fence, std::vector<std::string>& imports);
  static void import_pending(uint32_t sdkappid, const std::vector<std::string>& imports,
                             std::vector<store::Change>& changes);
  static void imported(AppState& a, const std::vector<std::string>& imports, uint64_t seq);

  store::Store& store_;
  const Clock& clock_;
  OutboxListener* outbox_listener_ = nullptr;
  AudienceFactory* audience_factory_ = nullptr;
  PresenceOptions presence_options_;
  std::mutex deadlines_mu_;
  std::multimap<int64_t, Deadline> deadlines_;
  void timed_work_added();         // calls the hook
  std::mutex timed_work_hook_mu_;  // a leaf: the hook may be cleared while others call it
  std::function<void()> timed_work_hook_;
  std::atomic<uint64_t> next_outbox_id_{1};
  std::unordered_map<uint32_t, std::unique_ptr<AppState>> apps_;
  GiftCatalog gifts_;
  RoomWatcher room_watcher_;
  uint32_t room_slots_ = 0;  // placement by room: the app's slots; 0 otherwise
  PublicRoomLister public_room_lister_;
};

template <typename Fn>
auto RoomEngine::with_room(uint32_t sdkappid, std::string_view room_id, ReadFence& fence, Fn&& fn)
    -> std::invoke_result_t<Fn, AppState&, RoomShard&, RoomEntry&> {
  AppState* a = app(sdkappid);
  if (!a) return fail(Code::kSdkAppIdInvalid);
  RoomShard& shard = shard_of(*a, room_id);
  std::lock_guard lock(shard.mu);
  auto it = shard.rooms.find(room_id);
  if (it == shard.rooms.end()) {
    fence.observe(shard.last_delete_seq);  // "not found" may rest on a deletion not yet durable
    return std::unexpected(room_not_found(room_id));
  }
  fence.observe(it->second.seq);
  if (!room_watcher_) return fn(*a, shard, it->second);
  // What get_room_info shows changes only with the room's last write (its columns) or its
  // number of members, so comparing the two tells every change to the watcher, whichever
  // call made it. (`room_id` may point into the entry, which `fn` may erase.)
  const std::string id(room_id);
  const auto members_of = [](const RoomEntry& e) {
    return e.presence ? e.presence->members.size() : size_t{0};
  };
  const uint64_t seq_before = it->second.seq;
  const size_t members_before = members_of(it->second);
  auto result = fn(*a, shard, it->second);
  auto after = shard.rooms.find(id);
  if (after == shard.rooms.end() || after->second.seq != seq_before ||
      members_of(after->second) != members_before) {
    room_watcher_(sdkappid, id);
  }
  return result;
}

template <typename Visitor>
auto RoomEngine::read_room(uint32_t sdkappid, std::string_view room_id, ReadFence& fence,
                           Visitor&& visit)
    -> Result<decltype(visit(std::declval<const domain::Room&>()))> {
  using Value = decltype(visit(std::declval<const domain::Room&>()));
  return with_room(sdkappid, room_id, fence,
                   [&](AppState&, RoomShard&, RoomEntry& entry) -> Result<Value> {
                     return visit(std::as_const(entry.room));
                   });
}

template <typename Visitor>
auto RoomEngine::read_room_with_members(uint32_t sdkappid, std::string_view room_id,
                                        ReadFence& fence, Visitor&& visit)
    -> Result<decltype(visit(std::declval<const domain::Room&>(), size_t{}))> {
  using Value = decltype(visit(std::declval<const domain::Room&>(), size_t{}));
  return with_room(sdkappid, room_id, fence,
                   [&](AppState&, RoomShard&, RoomEntry& entry) -> Result<Value> {
                     const size_t members = entry.presence ? entry.presence->members.size() : 0;
                     return visit(std::as_const(entry.room), members);
                   });
}

}  // namespace liveroom::engine
