#include "base/json_writer.h"

#include "base/utf8.h"

namespace liveroom {

// RFC 8259 escaping: quote, backslash and control characters. Well-formed UTF-8 is copied as is;
// a byte that does not start a well-formed sequence becomes \ufffd, because strings reach here
// from percent-decoded query values too (an identifier echoed in ErrorInfo), and a reply or a
// WebSocket text frame must be valid UTF-8 whatever the client sent.
void JsonWriter::quote(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  const auto* bytes = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = bytes + s.size();
  out_ += '"';
  size_t run = 0;
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = bytes[i];
    if (c >= 0x80) {
      const size_t length = utf8_sequence_length(bytes + i, end);
      if (length != 0) {
        i += length;
        continue;
      }
      out_.append(s.data() + run, i - run);
      out_ += "\\ufffd";
      run = ++i;
      continue;
    }
    if (c >= 0x20 && c != '"' && c != '\\') {
      ++i;
      continue;
    }
    out_.append(s.data() + run, i - run);
    run = ++i;
    switch (c) {
      case '"':
        out_ += "\\\"";
        break;
      case '\\':
        out_ += "\\\\";
        break;
      case '\n':
        out_ += "\\n";
        break;
      case '\r':
        out_ += "\\r";
        break;
      case '\t':
        out_ += "\\t";
        break;
      case '\b':
        out_ += "\\b";
        break;
      case '\f':
        out_ += "\\f";
        break;
      default:
        out_ += "\\u00";
        out_ += kHex[c >> 4];
        out_ += kHex[c & 0xf];
    }
  }
  out_.append(s.data() + run, s.size() - run);
  out_ += '"';
}

}  // namespace liveroom
