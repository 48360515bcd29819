// The IM message bodies of room messages (spec §2.4), shared by REST and the client gateway so a
// message looks the same to members and callbacks whichever way it was sent.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace liveroom::domain {

// IM's limit for one message's content.
inline constexpr size_t kMaxMessageBytes = 12 * 1024;

// [{"MsgType":"TIMTextElem","MsgContent":{"Text":...}}]
std::string text_body(std::string_view text);
// A TIMCustomElem whose Data is the JSON text {"BusinessId":"<id>","Data":"<data>"}.
std::string custom_body(std::string_view business_id, std::string_view data);

}  // namespace liveroom::domain
