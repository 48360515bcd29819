#include "domain/gift.h"

#include <algorithm>

#include <fmt/format.h>
#include <boost/json.hpp>

namespace liveroom::domain {

bool is_gift_language(std::string_view language) {
  return std::ranges::find(kGiftLanguages, language) != kGiftLanguages.end();
}

Result<void> check_gift_id(std::string_view id, std::string_view field) {
  if (id.empty()) return fail(Code::kInvalidParameter, fmt::format("{} must not be empty", field));
  if (id.size() > kMaxGiftIdBytes) {
    return fail(Code::kInvalidParameter,
                fmt::format("{} exceeds {} bytes", field, kMaxGiftIdBytes));
  }
  for (unsigned char c : id) {
    if (c < 0x21 || c > 0x7e) {
      return fail(Code::kInvalidParameter,
                  fmt::format("{} must be printable ASCII without spaces", field));
    }
  }
  return {};
}

Result<void> check_extension_info(std::string_view text, std::string_view field) {
  if (text.empty()) return {};
  boost::system::error_code ec;
  boost::json::parse(text, ec);
  if (ec) {
    return fail(Code::kInvalidParameter,
                fmt::format("{} must be empty or a JSON text ({})", field, ec.message()));
  }
  return {};
}

}  // namespace liveroom::domain
