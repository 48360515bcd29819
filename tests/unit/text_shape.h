// has_shape: a tiny matcher for the fixed shapes the tests check (timestamps, request ids).
// std::regex would do, but g++ 12 reports -Wmaybe-uninitialized inside <regex> itself (a false
// positive in libstdc++'s NFA code) in the sanitizer builds, and warnings are errors there too.
#pragma once

#include <cstddef>
#include <string_view>

namespace liveroom::testing_support {

// Whether `text` has the shape `pattern`: in the pattern '#' stands for one decimal digit and '%'
// for one lowercase hex digit; either followed by '+' for one or more of them (greedy, so the
// pattern character after a run must not belong to its class). Every other character stands for
// itself.
inline bool has_shape(std::string_view text, std::string_view pattern) {
  auto fits = [](char p, char c) {
    const bool digit = c >= '0' && c <= '9';
    if (p == '#') return digit;
    if (p == '%') return digit || (c >= 'a' && c <= 'f');
    return p == c;
  };
  std::size_t t = 0;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const char p = pattern[i];
    if (t == text.size() || !fits(p, text[t])) return false;
    ++t;
    if ((p == '#' || p == '%') && i + 1 < pattern.size() && pattern[i + 1] == '+') {
      while (t < text.size() && fits(p, text[t])) ++t;
      ++i;
    }
  }
  return t == text.size();
}

}  // namespace liveroom::testing_support
