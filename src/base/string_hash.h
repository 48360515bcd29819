// Transparent hashing so maps keyed by std::string can be searched with a std::string_view
// without allocating a temporary string on every lookup.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace liveroom {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

}  // namespace liveroom
