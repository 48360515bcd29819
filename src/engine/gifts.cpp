// Gifts members send in a room: checked against the room and the catalog, priced, counted into
// the room's statistics durably (TotalGiftsSent, TotalGiftCoins, TotalUniqueGiftSenders), and
// shown to the members in order with the room's other events. A send that carries a Random is
// counted once: a retry with the same key (a client that lost the reply) answers what the first
// one counted, across restarts too, because the keys are stored with the sender's row.
#include <algorithm>

#include <fmt/format.h>

#include "engine/room_engine_internal.h"

namespace liveroom::engine {

Result<SentGift> RoomEngine::price_gift_locked(uint32_t sdkappid, const RoomEntry& entry,
                                               const GiftSend& send, ReadFence& fence) {
  const domain::Room& room = entry.room;
  if (!entry.presence || !entry.presence->members.contains(send.sender)) {
    return fail(Code::kClientNotInRoom,
                fmt::format("enter room '{}' before sending gifts", room.room_id));
  }
  // Counted already (its reply was lost and the client asks again): answered whatever changed
  // since, so a retry never fails where the first send succeeded.
  if (auto sender = entry.gift_senders.find(send.sender);
      send.random && sender != entry.gift_senders.end()) {
    for (const auto& key : sender->second) {
      if (key.random != *send.random) continue;
      SentGift repeated;
      repeated.gift.gift_id = send.gift_id;
      repeated.receivers =
          send.receivers.empty() ? std::vector<std::string>{room.owner} : send.receivers;
      repeated.count = send.count;
      repeated.coins = key.coins;
      repeated.repeated = true;
      return repeated;
    }
  }
  if (!room.is_gift_enabled) {
    return fail(
        Code::kNotPermitted,
        fmt::format("gifts are disabled in room '{}' (IsGiftEnabled is false)", room.room_id));
  }
  SentGift sent;
  if (send.receivers.empty()) {
    sent.receivers.push_back(room.owner);
  } else {
    for (size_t i = 0; i < send.receivers.size(); ++i) {
      const std::string& receiver = send.receivers[i];
      if (receiver != room.owner && !check_member(entry, receiver, room.room_id)) {
        return fail(Code::kClientBadParameter, fmt::format("Receivers[{}] '{}' is not in room '{}'",
                                                           i, receiver, room.room_id));
      }
      if (std::ranges::find(sent.receivers, receiver) == sent.receivers.end()) {
        sent.receivers.push_back(receiver);
      }
    }
  }
  auto gift = gifts_.gift(sdkappid, send.gift_id, fence);
  if (!gift) {
    return fail(Code::kClientBadParameter,
                fmt::format("GiftId '{}' is not in the gift catalog", send.gift_id));
  }
  sent.gift = std::move(*gift);
  sent.count = send.count;
  sent.coins = sent.gift.coins * send.count * static_cast<int64_t>(sent.receivers.size());
  return sent;
}

Result<SentGift> RoomEngine::price_gift(uint32_t sdkappid, std::string_view room_id,
                                        const GiftSend& send, ReadFence& fence) {
  return with_room(sdkappid, room_id, fence,
                   [&](AppState&, RoomShard&, RoomEntry& entry) -> Result<SentGift> {
                     return price_gift_locked(sdkappid, entry, send, fence);
                   });
}

Result<SentGift> RoomEngine::send_gift(uint32_t sdkappid, std::string_view room_id,
                                       const GiftSend& send, ReadFence& fence) {
  return with_room(
      sdkappid, room_id, fence, [&](AppState& a, RoomShard&, RoomEntry& entry) -> Result<SentGift> {
        auto priced = price_gift_locked(sdkappid, entry, send, fence);
        if (!priced || priced->repeated) return priced;
        SentGift& sent = *priced;
        auto sender = entry.gift_senders.find(send.sender);
        domain::Room updated = columns_of(entry.room);
        updated.total_gifts_sent += sent.count * static_cast<int64_t>(sent.receivers.size());
        updated.total_gift_coins += sent.coins;
        if (sender == entry.gift_senders.end()) updated.total_gift_senders += 1;
        std::vector<store::GiftSendKey> keys;
        if (sender != entry.gift_senders.end()) keys = sender->second;
        if (send.random) {
          keys.push_back({*send.random, sent.coins});
          if (keys.size() > kGiftKeysPerSender) keys.erase(keys.begin());
        }
        std::vector<store::Change> changes{
            store::PutRoom{sdkappid, updated},
            store::PutGiftSender{sdkappid, std::string(room_id), send.sender, keys}};
        // A room in a running battle scores the coins it receives, in the same commit.
        const bool scores = entry.battle && clock_.unix_millis() < entry.battle->ends_at_ms;
        if (scores) {
          changes.push_back(store::PutBattleScore{sdkappid, entry.battle->battle_id,
                                                  std::string(room_id),
                                                  entry.battle->score + sent.coins});
        }
        const uint64_t seq = submit(std::move(changes), {});
        if (scores) {
          entry.battle->score += sent.coins;
          std::lock_guard lock(a.cross.unsettled_mu);  // a leaf lock: pushed at the next tick
          a.cross.scored_battles.insert(entry.battle->battle_id);
        }
        fence.observe(seq);
        entry.seq = seq;
        entry.room.total_gifts_sent = updated.total_gifts_sent;
        entry.room.total_gift_coins = updated.total_gift_coins;
        entry.room.total_gift_senders = updated.total_gift_senders;
        entry.gift_senders.insert_or_assign(send.sender, std::move(keys));
        if (entry.presence && entry.presence->audience) {
          entry.presence->audience->gift(
              seq, GiftNotice{send.sender, sent.receivers, &sent.gift, sent.count, sent.coins,
                              updated.total_gift_coins});
        }
        return sent;
      });
}

}  // namespace liveroom::engine
