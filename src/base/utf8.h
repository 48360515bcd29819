// UTF-8 well-formedness, for output that must stay valid whatever bytes a client sent: JSON
// replies and frames (RFC 8259 §8.1, RFC 6455 §5.6) and JSON log lines.
#pragma once

#include <cstddef>
#include <string_view>

namespace liveroom {

// The length of the well-formed UTF-8 sequence that starts at `p` (1 to 4), or 0 if the bytes at
// `p` do not start one. Well-formed is Unicode table 3-7: no overlong forms, no surrogates,
// nothing above U+10FFFF. Requires p < end.
inline size_t utf8_sequence_length(const unsigned char* p, const unsigned char* end) {
  const unsigned char c = *p;
  if (c < 0x80) return 1;
  size_t length = 0;
  unsigned char low = 0x80, high = 0xbf;  // range of the second byte
  if (c >= 0xc2 && c <= 0xdf) {
    length = 2;
  } else if (c >= 0xe0 && c <= 0xef) {
    length = 3;
    if (c == 0xe0) low = 0xa0;
    if (c == 0xed) high = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    length = 4;
    if (c == 0xf0) low = 0x90;
    if (c == 0xf4) high = 0x8f;
  }
  if (length == 0 || static_cast<size_t>(end - p) < length || p[1] < low || p[1] > high) return 0;
  for (size_t i = 2; i < length; ++i) {
    if (p[i] < 0x80 || p[i] > 0xbf) return 0;
  }
  return length;
}

// The same, for the sequence at byte `at` of `text` (at < text.size()).
inline size_t utf8_sequence_length(std::string_view text, size_t at) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  return utf8_sequence_length(p + at, p + text.size());
}

inline bool is_valid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    const size_t n = utf8_sequence_length(p, end);
    if (n == 0) return false;
    p += n;
  }
  return true;
}

// The byte offset of the first control character in well-formed UTF-8 `s` (C0 U+0000..U+001F,
// DEL, C1 U+0080..U+009F, encoded C2 80..C2 9F), or npos.
inline size_t find_control_character(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) return i;
    if (c == 0xc2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) < 0xa0) return i;
  }
  return std::string_view::npos;
}

}  // namespace liveroom
