// Query strings (`a=1&b=2`), split without decoding: the API's (api/query.h decodes what it
// needs) and the node links' (cluster/link_client.cpp).
#pragma once

#include <string_view>

namespace liveroom {

// Calls `visit(key, raw_value)` for each `key=value` of `query`, in order. Keys are
// case-sensitive (spec §1.1); a parameter without '=' has an empty value.
template <typename Visit>
void for_each_param(std::string_view query, Visit&& visit) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    std::string_view param = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const auto eq = param.find('=');
    visit(param.substr(0, eq),
          eq == std::string_view::npos ? std::string_view() : param.substr(eq + 1));
  }
}

}  // namespace liveroom
