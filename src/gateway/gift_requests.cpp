// The gateway's gift requests (docs/client-protocol.md): reading the catalog, and sending a gift,
// which the app's backend may refuse first (Live.CallbackBeforeSendGift, spec §5.3).
#include <fmt/format.h>

#include "base/json_writer.h"
#include "domain/callbacks.h"
#include "domain/gift_json.h"
#include "engine/room_events.h"
#include "gateway/client_session.h"
#include "gateway/gateway.h"
#include "gateway/request_fields.h"
#include "webhook/dispatcher.h"

namespace liveroom::gateway {

using api::Fields;

namespace {

// The backend's ErrorCodes that reach the sender as they are (spec §5.3).
constexpr int64_t kFirstPassedCode = 102'100;
constexpr int64_t kLastPassedCode = 102'200;

Error refusal(const webhook::VetoAnswer& answer, std::chrono::milliseconds timeout) {
  if (!answer.answered) {
    return Error{Code::kMessageVetoed,
                 fmt::format("the app backend did not answer Live.CallbackBeforeSendGift within "
                             "{} ms, and its non-blocking switch is off",
                             timeout.count())};
  }
  const Code code = answer.error_code >= kFirstPassedCode && answer.error_code <= kLastPassedCode
                        ? static_cast<Code>(answer.error_code)
                        : Code::kMessageVetoed;
  return Error{code, fmt::format("the app backend refused the gift: {} {}", answer.error_code,
                                 answer.error_info)};
}

}  // namespace

ClientSession::Data ClientSession::sent_gift_data(const engine::SentGift& sent) {
  std::string out;
  JsonWriter w(out);
  w.begin_object()
      .field("GiftId", sent.gift.gift_id)
      .field("Count", sent.count)
      .field("Coins", sent.coins)
      .key("Receivers")
      .begin_array();
  for (const auto& receiver : sent.receivers) w.value(receiver);
  w.end_array().field("Repeated", sent.repeated).end_object();
  return out;
}

ClientSession::Data ClientSession::do_get_gift_list(Request& r) {
  auto listing = gateway_.engine_.gifts().listing(sdkappid_, r.fence);
  if (!listing) return std::unexpected(listing.error());
  std::string out;
  JsonWriter w(out);
  w.begin_object().key("GiftList").begin_array();
  for (const auto& gift : listing->gifts) domain::write_gift(w, gift);
  w.end_array().key("CategoryList").begin_array();
  for (const auto& c : listing->categories) {
    w.begin_object()
        .field("CategoryId", c.category_id)
        .field("Name", c.default_name)
        .field("Desc", c.default_desc)
        .key("GiftIdList")
        .begin_array();
    for (const auto& id : c.gift_ids) w.value(id);
    w.end_array().key("LanguageList");
    domain::write_language_list(w, c.languages);
    w.end_object();
  }
  w.end_array().end_object();
  return out;
}

ClientSession::Data ClientSession::do_send_gift(Request& r) {
  auto room_id = current_room(r);
  if (!room_id) return std::unexpected(room_id.error());
  Fields f(r.body);
  auto gift_id = param(f.required_text("GiftId", domain::kMaxGiftIdBytes));
  if (!gift_id) return std::unexpected(gift_id.error());
  auto count = param(f.integer("Count", 1, engine::kMaxGiftCount));
  if (!count) return std::unexpected(count.error());
  auto receivers = param(f.account_array("Receivers", engine::kMaxGiftReceivers));
  if (!receivers) return std::unexpected(receivers.error());
  auto random = param(f.integer("Random", 0, UINT32_MAX));
  if (!random) return std::unexpected(random.error());
  engine::GiftSend send{user_, std::string(*gift_id), count->value_or(1),
                        receivers->value_or(std::vector<std::string>{}), std::nullopt};
  if (*random) send.random = static_cast<uint32_t>(**random);

  auto& engine = gateway_.engine_;
  std::vector<std::string> urls = gateway_.dispatcher_
                                      ? engine.subscribers(sdkappid_, domain::kBeforeSendGift)
                                      : std::vector<std::string>{};
  if (urls.empty()) {
    auto sent = engine.send_gift(sdkappid_, *room_id, send, r.fence);
    if (!sent) return std::unexpected(sent.error());
    return sent_gift_data(*sent);
  }

  // The backend decides before the gift counts: check and price it first, so the backend hears
  // of a gift that can count, and of a retried one not at all.
  auto priced = engine.price_gift(sdkappid_, *room_id, send, r.fence);
  if (!priced) return std::unexpected(priced.error());
  if (priced->repeated) return sent_gift_data(*priced);
  const auto& app = gateway_.apps_.at(sdkappid_);
  const bool fail_open =
      app.gift_veto_fail_open || engine.subscription_lists(sdkappid_, domain::kGiftCheckNotBlock);
  std::string payload =
      engine::before_send_gift_payload(*room_id, user_, priced->receivers, priced->gift.gift_id,
                                       priced->count, priced->coins, gateway_.clock_.unix_millis());
  r.deferred = true;
  gateway_.dispatcher_->ask_veto(
      sdkappid_, std::move(urls), std::string(domain::kBeforeSendGift), std::move(payload),
      peer_->remote_address(), app.veto_timeout, fail_open,
      [self = shared_from_this(), id = boost::json::value(*r.id), send = std::move(send),
       room = *room_id, timeout = app.veto_timeout](webhook::VetoAnswer answer) mutable {
        engine::ReadFence fence;
        Data data = std::unexpected(refusal(answer, timeout));
        if (answer.allowed) {
          auto sent = self->gateway_.engine_.send_gift(self->sdkappid_, room, send, fence);
          data = sent ? sent_gift_data(*sent) : Data(std::unexpected(sent.error()));
        }
        self->peer_->post([self, id = std::move(id), data = std::move(data), fence] {
          self->reply(&id, data, fence);
        });
      });
  return std::string{};
}

}  // namespace liveroom::gateway
