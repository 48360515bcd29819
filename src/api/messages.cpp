// Room messages (spec §2.4): send_text_msg and send_custom_msg of live_engine_http_srv, and IM's
// group_open_http_svc/send_group_msg with GroupId = RoomId, which the official console uses for
// admin chat and for re-posting moderated messages (console-client.md §5.11).
//
// Each message gets the room's next MsgSeq, counts in TotalMsgCount, fires
// Group.CallbackAfterSendMsg through the outbox, and reaches the room's online members as a
// Message event (the client gateway). The App administrator's REST messages are not subject to
// IsMessageDisabled, mutes or Group.CallbackBeforeSendMsg, which apply to members' chat.
#include <array>

#include <fmt/format.h>

#include "api/command.h"
#include "api/fields.h"
#include "base/json_writer.h"
#include "domain/message_body.h"

namespace liveroom::api {

namespace json = boost::json;

namespace {

Result<std::string_view> sender_field(const Fields& f, std::string_view key, const Call& call,
                                      bool required) {
  auto sender = f.account(key);
  if (!sender) return std::unexpected(sender.error());
  if (!*sender || (*sender)->empty()) {
    if (required) return std::unexpected(f.invalid(key, "is required"));
    return call.identifier;
  }
  return **sender;
}

Reply live_reply(Call& call, const engine::SentMessage& sent) {
  Reply reply{json::object(call.storage)};
  reply.fields["MsgTime"] = sent.msg_time;
  reply.fields["MsgSeq"] = sent.msg_seq;
  reply.fields["MsgDropReason"] = "";
  return reply;
}

Result<Reply> send(Services& s, Call& call, std::string_view room_id, engine::RoomMessage message,
                   bool im_reply) {
  if (message.msg_body.size() > domain::kMaxMessageBytes) {
    return fail(Code::kInvalidParameter,
                fmt::format("the message exceeds {} bytes", domain::kMaxMessageBytes));
  }
  auto sent = s.engine.send_message(call.sdkappid, room_id, message, call.fence, call.actor());
  if (!sent) return std::unexpected(sent.error());
  if (!im_reply) return live_reply(call, *sent);
  Reply reply{json::object(call.storage), true};  // IM answers at the top level
  reply.fields["MsgTime"] = sent->msg_time;
  reply.fields["MsgSeq"] = sent->msg_seq;
  return reply;
}

Result<Reply> send_text_msg(Services& s, Call& call) {
  Fields f(call.body);
  auto room_id = room_id_field(f);
  if (!room_id) return std::unexpected(room_id.error());
  auto sender = sender_field(f, "Sender_Account", call, true);
  if (!sender) return std::unexpected(sender.error());
  auto text = f.required_text("TextContent", domain::kMaxMessageBytes);
  if (!text) return std::unexpected(text.error());
  if (text->empty()) return std::unexpected(f.invalid("TextContent", "is empty"));
  auto extension = f.text("ExtensionInfo", domain::kMaxMessageBytes);
  if (!extension) return std::unexpected(extension.error());
  return send(s, call, *room_id,
              {std::string(*sender), domain::text_body(*text), std::nullopt,
               std::string(extension->value_or("")), true},
              false);
}

Result<Reply> send_custom_msg(Services& s, Call& call) {
  Fields f(call.body);
  auto room_id = room_id_field(f);
  if (!room_id) return std::unexpected(room_id.error());
  auto sender = sender_field(f, "Sender_Account", call, false);
  if (!sender) return std::unexpected(sender.error());
  auto business = f.required_text("BusinessId", 128);
  if (!business) return std::unexpected(business.error());
  if (business->empty()) return std::unexpected(f.invalid("BusinessId", "is empty"));
  // Data is typed String on one doc page and Integer on another: accept both, keep the text.
  std::string data;
  const json::value* d = f.find("Data");
  if (!d) return std::unexpected(f.invalid("Data", "is required"));
  if (d->is_string()) {
    data = std::string(d->get_string());
  } else if (d->is_int64() || d->is_uint64()) {
    data = json::serialize(*d);
  } else {
    return std::unexpected(f.invalid(
        "Data", fmt::format("must be a String or an Integer, not {}", json_type_name(*d))));
  }
  return send(s, call, *room_id,
              {std::string(*sender), domain::custom_body(*business, data), std::nullopt, "", true},
              false);
}

// IM's MsgBody: 1 to 8 elements {MsgType, MsgContent}; text and custom elements are checked.
Result<std::string> msg_body_field(const Fields& f) {
  auto elements = f.object_array("MsgBody", 8);
  if (!elements) return std::unexpected(elements.error());
  if (!*elements || (*elements)->empty()) {
    return std::unexpected(f.invalid("MsgBody", "must hold 1 to 8 message elements"));
  }
  for (const Fields& e : **elements) {
    auto type = e.required_text("MsgType", 64);
    if (!type) return std::unexpected(type.error());
    auto content = e.required_object("MsgContent");
    if (!content) return std::unexpected(content.error());
    if (*type == "TIMTextElem") {
      auto text = content->required_text("Text", domain::kMaxMessageBytes);
      if (!text) return std::unexpected(text.error());
    } else if (*type == "TIMCustomElem") {
      auto data = content->text("Data", domain::kMaxMessageBytes);
      if (!data) return std::unexpected(data.error());
    } else if (!type->starts_with("TIM") || !type->ends_with("Elem")) {
      return std::unexpected(
          e.invalid("MsgType", fmt::format("'{}' is not a message element type", *type)));
    }
  }
  return json::serialize(*f.find("MsgBody"));
}

Result<Reply> send_group_msg(Services& s, Call& call) {
  Fields f(call.body);
  auto group = f.required_text("GroupId", SIZE_MAX);
  if (!group) return std::unexpected(group.error());
  if (auto ok = domain::check_room_id(*group, "GroupId"); !ok) return std::unexpected(ok.error());
  auto sender = sender_field(f, "From_Account", call, false);
  if (!sender) return std::unexpected(sender.error());
  auto random = f.integer("Random", 0, UINT32_MAX);
  if (!random) return std::unexpected(random.error());
  auto priority = f.text("MsgPriority", 16);
  if (!priority) return std::unexpected(priority.error());
  auto controls = f.text_array("SendMsgControl", 8, 64);
  if (!controls) return std::unexpected(controls.error());
  auto forbid = f.text_array("ForbidCallbackControl", 8, 64);
  if (!forbid) return std::unexpected(forbid.error());
  auto body = msg_body_field(f);
  if (!body) return std::unexpected(body.error());
  auto cloud = f.text("CloudCustomData", domain::kMaxMessageBytes);
  if (!cloud) return std::unexpected(cloud.error());
  const auto& forbidden = forbid->value_or(std::vector<std::string>{});
  const bool after = std::find(forbidden.begin(), forbidden.end(), "ForbidAfterSendMsgCallback") ==
                     forbidden.end();
  std::optional<uint32_t> random_value;
  if (*random) random_value = static_cast<uint32_t>(**random);
  return send(s, call, *group,
              {std::string(*sender), std::move(*body), random_value,
               std::string(cloud->value_or("")), after},
              true);
}

constexpr std::array<CommandSpec, 3> kCommands{{
    {"live_engine_http_srv/send_text_msg", send_text_msg},
    {"live_engine_http_srv/send_custom_msg", send_custom_msg},
    {"group_open_http_svc/send_group_msg", send_group_msg},
}};

}  // namespace

std::span<const CommandSpec> message_commands() {
  return kCommands;
}

}  // namespace liveroom::api
