#include "domain/message_body.h"

#include "base/json_writer.h"

namespace liveroom::domain {

std::string text_body(std::string_view text) {
  std::string body;
  JsonWriter w(body);
  w.begin_array().begin_object().field("MsgType", "TIMTextElem");
  w.key("MsgContent").begin_object().field("Text", text).end_object();
  w.end_object().end_array();
  return body;
}

std::string custom_body(std::string_view business_id, std::string_view data) {
  std::string inner;
  JsonWriter(inner)
      .begin_object()
      .field("BusinessId", business_id)
      .field("Data", data)
      .end_object();
  std::string body;
  JsonWriter w(body);
  w.begin_array().begin_object().field("MsgType", "TIMCustomElem");
  w.key("MsgContent").begin_object().field("Data", inner).end_object();
  w.end_object().end_array();
  return body;
}

}  // namespace liveroom::domain
