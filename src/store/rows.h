// How the store's changes and snapshot map to table rows. The SQLite and PostgreSQL stores share
// one table layout, so the binding of every column and the decoding of every row live here once,
// written against a small statement interface both databases' wrappers provide:
//   bind(index, int64_t) · bind(index, std::string_view) · bind_null(index) · run()
//   step() · column_int(index) · column_text(index) · column_is_null(index)
// (1-based bind indexes, 0-based columns, as in SQLite).
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json.hpp>

#include "store/store.h"

namespace liveroom::store {

struct StoreError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// JSON documents kept in single columns.
std::string encode_category(const std::vector<int64_t>& category);
std::string encode_metadata(const std::vector<domain::MetadataEntry>& metadata);
std::string encode_profile(const domain::Account& account);
std::string encode_moderation(const domain::RoomModeration& moderation);
std::string encode_commands(const std::vector<std::string>& commands);
boost::json::value parse_column(std::string_view text, std::string_view what);
void decode_category(std::string_view text, std::vector<int64_t>& out);
void decode_metadata(std::string_view text, std::vector<domain::MetadataEntry>& out);
void decode_profile(std::string_view text, domain::Account& out);
domain::RoomModeration decode_moderation(std::string_view text);
std::vector<std::string> decode_commands(std::string_view text);
// A gift or a category without its id (the row's key) as one JSON document.
std::string encode_gift(const domain::Gift& gift);
std::string encode_gift_category(const domain::GiftCategory& category);
void decode_gift(std::string_view text, domain::Gift& out);
void decode_gift_category(std::string_view text, domain::GiftCategory& out);
std::string encode_gift_keys(const std::vector<GiftSendKey>& keys);
// A battle without its id (the row's key).
std::string encode_battle(const domain::Battle& battle);
void decode_battle(std::string_view text, domain::Battle& out);
std::vector<GiftSendKey> decode_gift_keys(std::string_view text);

// One prepared statement per kind of write; each store fills these with its dialect's SQL.
// Parameters are numbered as in the SQLite statements' column lists below.
template <typename Stmt>
struct WriteStatements {
  Stmt put_room;              // the 28 columns of rooms, in read_snapshot's order
  Stmt put_metadata;          // sdkappid, room_id, entries
  Stmt delete_metadata;       // sdkappid, room_id
  Stmt put_moderation;        // sdkappid, room_id, state
  Stmt delete_moderation;     // sdkappid, room_id
  Stmt delete_room;           // sdkappid, room_id
  Stmt put_account;           // sdkappid, user_id, profile
  Stmt delete_account;        // sdkappid, user_id
  Stmt put_outbox;            // the 14 columns of webhook_outbox, in read_snapshot's order
  Stmt put_event_seq;         // sdkappid, room_id, last_seq (never lowers it)
  Stmt update_outbox;         // attempts, next_attempt_ms, created_ms, dead, last_error, id
  Stmt delete_outbox;         // first id, last id (inclusive range)
  Stmt put_callback_config;   // sdkappid, url, commands, token, token_enabled
  Stmt put_gift;              // sdkappid, gift_id, doc
  Stmt delete_gift;           // sdkappid, gift_id
  Stmt put_gift_category;     // sdkappid, category_id, doc
  Stmt delete_gift_category;  // sdkappid, category_id
  Stmt put_gift_sender;       // sdkappid, room_id, user_id, recent
  Stmt delete_gift_senders;   // sdkappid, room_id
  Stmt put_battle;            // sdkappid, battle_id, doc
  Stmt put_battle_score;      // sdkappid, battle_id, room_id, score
  Stmt delete_battle;         // sdkappid, battle_id
  Stmt delete_battle_scores;  // sdkappid, battle_id

  void write(const Change& change) {
    std::visit([&](const auto& c) { this->write_one(c); }, change);
  }

 private:
  void write_one(const PutRoom& c) {
    const domain::Room& r = c.room;
    Stmt& s = put_room;
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
    s.bind(26, r.total_gifts_sent);
    s.bind(27, r.total_gift_coins);
    s.bind(28, r.total_gift_senders);
    s.run();
  }
  void write_one(const PutRoomMetadata& c) {
    put_metadata.bind(1, static_cast<int64_t>(c.sdkappid));
    put_metadata.bind(2, c.room_id);
    put_metadata.bind(3, encode_metadata(c.metadata));
    put_metadata.run();
  }
  void write_one(const DeleteRoom& c) {
    for (Stmt* s : {&delete_room, &delete_metadata, &delete_moderation, &delete_gift_senders}) {
      s->bind(1, static_cast<int64_t>(c.sdkappid));
      s->bind(2, c.room_id);
      s->run();
    }
  }
  void write_one(const PutRoomModeration& c) {
    if (c.moderation.empty()) {
      delete_moderation.bind(1, static_cast<int64_t>(c.sdkappid));
      delete_moderation.bind(2, c.room_id);
      delete_moderation.run();
      return;
    }
    put_moderation.bind(1, static_cast<int64_t>(c.sdkappid));
    put_moderation.bind(2, c.room_id);
    put_moderation.bind(3, encode_moderation(c.moderation));
    put_moderation.run();
  }
  void write_one(const PutAccount& c) {
    put_account.bind(1, static_cast<int64_t>(c.sdkappid));
    put_account.bind(2, c.account.user_id);
    put_account.bind(3, encode_profile(c.account));
    put_account.run();
  }
  void write_one(const DeleteAccount& c) {
    delete_account.bind(1, static_cast<int64_t>(c.sdkappid));
    delete_account.bind(2, c.user_id);
    delete_account.run();
  }
  void write_one(const PutOutbox& c) {
    for (const domain::OutboxEntry& e : *c.entries) {
      Stmt& s = put_outbox;
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
  void write_one(const PutRoomEventSeq& c) {
    put_event_seq.bind(1, static_cast<int64_t>(c.sdkappid));
    put_event_seq.bind(2, c.room_id);
    put_event_seq.bind(3, static_cast<int64_t>(c.last_seq));
    put_event_seq.run();
  }
  void write_one(const UpdateOutbox& c) {
    Stmt& s = update_outbox;
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
  void write_one(const DeleteOutbox& c) {
    std::vector<uint64_t> ids = c.ids;
    std::ranges::sort(ids);
    for (size_t i = 0; i < ids.size();) {
      size_t j = i + 1;
      while (j < ids.size() && ids[j] <= ids[j - 1] + 1) ++j;
      delete_outbox.bind(1, static_cast<int64_t>(ids[i]));
      delete_outbox.bind(2, static_cast<int64_t>(ids[j - 1]));
      delete_outbox.run();
      i = j;
    }
  }
  void write_one(const PutCallbackConfig& c) {
    Stmt& s = put_callback_config;
    s.bind(1, static_cast<int64_t>(c.sdkappid));
    if (c.config.subscription) {
      s.bind(2, c.config.subscription->url);
      s.bind(3, encode_commands(c.config.subscription->commands));
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
  void write_one(const PutGift& c) {
    put_gift.bind(1, static_cast<int64_t>(c.sdkappid));
    put_gift.bind(2, c.gift.gift_id);
    put_gift.bind(3, encode_gift(c.gift));
    put_gift.run();
  }
  void write_one(const DeleteGift& c) {
    delete_gift.bind(1, static_cast<int64_t>(c.sdkappid));
    delete_gift.bind(2, c.gift_id);
    delete_gift.run();
  }
  void write_one(const PutGiftCategory& c) {
    put_gift_category.bind(1, static_cast<int64_t>(c.sdkappid));
    put_gift_category.bind(2, c.category.category_id);
    put_gift_category.bind(3, encode_gift_category(c.category));
    put_gift_category.run();
  }
  void write_one(const PutGiftSender& c) {
    put_gift_sender.bind(1, static_cast<int64_t>(c.sdkappid));
    put_gift_sender.bind(2, c.room_id);
    put_gift_sender.bind(3, c.user_id);
    put_gift_sender.bind(4, encode_gift_keys(c.recent));
    put_gift_sender.run();
  }
  void write_one(const PutBattle& c) {
    put_battle.bind(1, static_cast<int64_t>(c.sdkappid));
    put_battle.bind(2, c.battle.battle_id);
    put_battle.bind(3, encode_battle(c.battle));
    put_battle.run();
  }
  void write_one(const PutBattleScore& c) {
    put_battle_score.bind(1, static_cast<int64_t>(c.sdkappid));
    put_battle_score.bind(2, c.battle_id);
    put_battle_score.bind(3, c.room_id);
    put_battle_score.bind(4, c.score);
    put_battle_score.run();
  }
  void write_one(const DeleteBattle& c) {
    for (Stmt* s : {&delete_battle, &delete_battle_scores}) {
      s->bind(1, static_cast<int64_t>(c.sdkappid));
      s->bind(2, c.battle_id);
      s->run();
    }
  }
  void write_one(const DeleteGiftCategory& c) {
    delete_gift_category.bind(1, static_cast<int64_t>(c.sdkappid));
    delete_gift_category.bind(2, c.category_id);
    delete_gift_category.run();
  }
};

// Reads every table into a Snapshot. `db.prepare(sql)` returns a statement; the SELECTs below
// are plain SQL that both databases run as written. With `only_app`, only that app's rows (every
// table has an sdkappid column).
template <typename Db>
Snapshot read_snapshot(Db& db, std::optional<uint32_t> only_app = std::nullopt) {
  const std::string where = only_app ? " WHERE sdkappid = " + std::to_string(*only_app) : "";
  Snapshot snapshot;
  std::map<std::pair<int64_t, std::string>, size_t, std::less<>> index;
  auto find_room = [&](int64_t sdkappid, std::string_view room_id) -> domain::Room* {
    auto it = index.find(std::pair<int64_t, std::string>(sdkappid, std::string(room_id)));
    // A row without its room cannot happen (both go in one transaction); skip it if it does.
    return it == index.end() ? nullptr : &snapshot.rooms[it->second].room;
  };
  auto rooms = db.prepare(
      "SELECT sdkappid, room_id, owner, name, seat_template, seat_count, take_seat_mode, "
      "max_member_count, is_message_disabled, is_public_visible, is_like_enabled, "
      "is_gift_enabled, is_unlimited_room_enabled, keep_owner_on_seat, cover_url, "
      "background_url, notice, custom_info, category, activity_status, create_time, view_count, "
      "msg_seq, total_msg_count, total_likes, total_gifts_sent, total_gift_coins, "
      "total_gift_senders FROM rooms" +
      where);
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
    decode_category(rooms.column_text(18), r.category);
    r.activity_status = rooms.column_int(19);
    r.create_time = rooms.column_int(20);
    r.view_count = rooms.column_int(21);
    r.msg_seq = static_cast<uint64_t>(rooms.column_int(22));
    r.total_msg_count = rooms.column_int(23);
    r.total_likes = rooms.column_int(24);
    r.total_gifts_sent = rooms.column_int(25);
    r.total_gift_coins = rooms.column_int(26);
    r.total_gift_senders = rooms.column_int(27);
    index.emplace(std::pair<int64_t, std::string>(sdkappid, r.room_id), snapshot.rooms.size());
    snapshot.rooms.push_back({sdkappid, std::move(r)});
  }

  auto metadata = db.prepare("SELECT sdkappid, room_id, entries FROM room_metadata" + where);
  while (metadata.step()) {
    if (domain::Room* room = find_room(metadata.column_int(0), metadata.column_text(1))) {
      decode_metadata(metadata.column_text(2), room->metadata);
    }
  }
  auto moderation = db.prepare("SELECT sdkappid, room_id, state FROM room_moderation" + where);
  while (moderation.step()) {
    if (domain::Room* room = find_room(moderation.column_int(0), moderation.column_text(1))) {
      room->moderation = decode_moderation(moderation.column_text(2));
    }
  }

  auto accounts = db.prepare("SELECT sdkappid, user_id, profile FROM accounts" + where);
  while (accounts.step()) {
    PutAccount a{static_cast<uint32_t>(accounts.column_int(0)), {}};
    a.account.user_id = accounts.column_text(1);
    decode_profile(accounts.column_text(2), a.account);
    snapshot.accounts.push_back(std::move(a));
  }

  auto outbox = db.prepare(
      "SELECT id, sdkappid, url, room_id, room_seq, event_id, command, payload, client_ip, "
      "created_ms, attempts, next_attempt_ms, dead, last_error FROM webhook_outbox" +
      where + " ORDER BY id");
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

  auto seqs = db.prepare("SELECT sdkappid, room_id, last_seq FROM room_event_seq" + where);
  while (seqs.step()) {
    snapshot.room_event_seqs.push_back({static_cast<uint32_t>(seqs.column_int(0)),
                                        std::string(seqs.column_text(1)),
                                        static_cast<uint64_t>(seqs.column_int(2))});
  }

  auto configs = db.prepare(
      "SELECT sdkappid, url, commands, token, token_enabled FROM callback_config" + where);
  while (configs.step()) {
    PutCallbackConfig c{static_cast<uint32_t>(configs.column_int(0)), {}};
    if (!configs.column_is_null(1)) {
      c.config.subscription = domain::Subscription{std::string(configs.column_text(1)),
                                                   decode_commands(configs.column_text(2))};
    }
    if (!configs.column_is_null(3)) c.config.token = std::string(configs.column_text(3));
    c.config.token_enabled = configs.column_int(4) != 0;
    snapshot.callback_configs.push_back(std::move(c));
  }

  auto gifts = db.prepare("SELECT sdkappid, gift_id, doc FROM gifts" + where);
  while (gifts.step()) {
    PutGift g{static_cast<uint32_t>(gifts.column_int(0)), {}};
    g.gift.gift_id = gifts.column_text(1);
    decode_gift(gifts.column_text(2), g.gift);
    snapshot.gifts.push_back(std::move(g));
  }
  auto categories = db.prepare("SELECT sdkappid, category_id, doc FROM gift_categories" + where);
  while (categories.step()) {
    PutGiftCategory c{static_cast<uint32_t>(categories.column_int(0)), {}};
    c.category.category_id = categories.column_text(1);
    decode_gift_category(categories.column_text(2), c.category);
    snapshot.gift_categories.push_back(std::move(c));
  }
  auto senders =
      db.prepare("SELECT sdkappid, room_id, user_id, recent FROM room_gift_senders" + where);
  while (senders.step()) {
    PutGiftSender g{static_cast<uint32_t>(senders.column_int(0)),
                    std::string(senders.column_text(1)),
                    std::string(senders.column_text(2)),
                    {}};
    g.recent = decode_gift_keys(senders.column_text(3));
    snapshot.gift_senders.push_back(std::move(g));
  }

  std::map<std::pair<int64_t, std::string>, size_t, std::less<>> battle_index;
  auto battles = db.prepare("SELECT sdkappid, battle_id, doc FROM battles" + where);
  while (battles.step()) {
    PutBattle b{static_cast<uint32_t>(battles.column_int(0)), {}};
    b.battle.battle_id = battles.column_text(1);
    decode_battle(battles.column_text(2), b.battle);
    battle_index.emplace(std::pair<int64_t, std::string>(b.sdkappid, b.battle.battle_id),
                         snapshot.battles.size());
    snapshot.battles.push_back(std::move(b));
  }
  auto scores = db.prepare("SELECT sdkappid, battle_id, room_id, score FROM battle_scores" + where);
  while (scores.step()) {
    auto it = battle_index.find(
        std::pair<int64_t, std::string>(scores.column_int(0), std::string(scores.column_text(1))));
    if (it == battle_index.end()) continue;
    if (domain::BattleRoom* room =
            snapshot.battles[it->second].battle.room(scores.column_text(2))) {
      room->score = std::max(room->score, scores.column_int(3));
    }
  }
  return snapshot;
}

}  // namespace liveroom::store
