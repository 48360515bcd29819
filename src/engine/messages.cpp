// Messages to a room's chat (send_group_msg and members' chat): MsgSeq, de-duplication by
// Random, and the after-send callback.
#include <string>

#include "engine/room_engine_internal.h"
#include "engine/room_events.h"

namespace liveroom::engine {

Result<SentMessage> RoomEngine::send_message(uint32_t sdkappid, std::string_view room_id,
                                             const RoomMessage& message, ReadFence& fence,
                                             const Actor& actor) {
  return with_room(
      sdkappid, room_id, fence,
      [&](AppState& a, RoomShard& shard, RoomEntry& entry) -> Result<SentMessage> {
        if (message.from_member) {
          if (auto ok = member_may_send(entry, message.sender, clock_.unix_seconds()); !ok) {
            return std::unexpected(ok.error());
          }
        }
        std::vector<std::string> imports;
        if (message.sender_must_be_imported) {
          if (auto ok = require_account(a, message.sender, "sender", fence, imports); !ok) {
            return std::unexpected(ok.error());
          }
        }
        auto& recent = shard.recent_messages[std::string(room_id)];
        if (message.random) {
          for (const auto& r : recent) {
            if (r.random == *message.random && r.sender == message.sender) return r.sent;
          }
        }
        domain::Room updated = columns_of(entry.room);
        updated.msg_seq += 1;
        updated.total_msg_count += 1;
        const SentMessage sent{updated.msg_seq, clock_.unix_seconds()};
        std::vector<store::Change> changes;
        PendingEvents events;
        if (message.after_callback) {
          emit(
              a, shard, room_id, "Group.CallbackAfterSendMsg",
              [&] {
                return sent_message_payload(room_id, message.sender, actor.operator_account,
                                            message.random.value_or(0), sent.msg_seq, sent.msg_time,
                                            message.msg_body, message.cloud_custom_data,
                                            clock_.unix_millis());
              },
              actor, changes, events);
        }
        changes.insert(changes.begin(), store::PutRoom{sdkappid, updated});
        import_pending(sdkappid, imports, changes);
        const uint64_t seq = submit(std::move(changes), std::move(events));
        fence.observe(seq);
        imported(a, imports, seq);
        entry.room.msg_seq = updated.msg_seq;
        entry.room.total_msg_count = updated.total_msg_count;
        entry.seq = seq;
        if (entry.presence && entry.presence->audience) {
          entry.presence->audience->message(
              seq, MessageNotice{sent.msg_seq, sent.msg_time, message.sender, message.msg_body,
                                 message.cloud_custom_data});
        }
        if (message.random) {
          recent.push_back({message.sender, *message.random, sent});
          if (recent.size() > 256) recent.pop_front();
        }
        return sent;
      });
}

}  // namespace liveroom::engine
