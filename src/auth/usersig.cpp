// The decoder is deliberately strict about encoding layers (Tencent alphabet only, zlib only,
// standard JSON only) because every official SDK produces exactly those and anything else is a
// porting bug we would rather report early than accept by accident; it is deliberately lenient
// about the JSON's style (member order, whitespace, escapes) because the SDKs differ there.
//
// Boost.JSON 1.81's boost::json::parse keeps the last of duplicate member names silently, so the
// document goes through boost::json::basic_parser (the same strict parser, default options)
// with a handler that sees every member name and extracts the claims without building a DOM.
#include "auth/usersig.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <limits>
#include <unordered_set>

namespace liveroom::auth {
namespace {

constexpr std::string_view kTencentPrefix = "UserSig is not valid Tencent base64: ";

std::string printable_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u >= 0x20 && u < 0x7f) return std::string("'") + c + "'";
  static constexpr char kHex[] = "0123456789abcdef";
  return std::string("byte 0x") + kHex[u >> 4] + kHex[u & 15];
}

// Value of a character of the Tencent alphabet (standard base64 with + / replaced by * -), or -1.
int tencent_sextet(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '*') return 62;
  if (c == '-') return 63;
  return -1;
}

// Strict: only the Tencent alphabet, length a multiple of 4, '_' only as the final one or two
// padding characters, unused bits zero. Standard '+', '/', '=' are rejected: no SDK emits them in a
// UserSig.
Result<std::string> tencent_base64_decode(std::string_view in) {
  std::size_t pad = 0;
  if (!in.empty() && in.back() == '_') pad = (in.size() >= 2 && in[in.size() - 2] == '_') ? 2 : 1;
  const std::size_t body = in.size() - pad;
  std::string out;
  out.reserve(in.size() / 4 * 3);
  uint32_t acc = 0;
  int bits = 0;
  for (std::size_t i = 0; i < body; ++i) {
    const int v = tencent_sextet(in[i]);
    if (v < 0) {
      std::string what = printable_char(in[i]);
      if (in[i] == '_') what = "padding '_'";
      return fail(Code::kSigUndecodable, std::string(kTencentPrefix) + "unexpected " + what +
                                             " at offset " + std::to_string(i));
    }
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  // Checked after the characters, so that garbage is reported as such.
  if (in.size() % 4 != 0) {
    return fail(Code::kSigUndecodable, std::string(kTencentPrefix) + "length " +
                                           std::to_string(in.size()) + " is not a multiple of 4");
  }
  if ((acc & ((1u << bits) - 1)) != 0) {
    return fail(Code::kSigUndecodable,
                std::string(kTencentPrefix) + "non-zero bits before the padding");
  }
  return out;
}

std::string tencent_base64_encode(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789*-";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t n = (static_cast<unsigned char>(bytes[i]) << 16) |
                       (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                       static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t n = static_cast<unsigned char>(bytes[i]) << 16;
    if (rest == 2) n |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += rest == 2 ? kAlphabet[(n >> 6) & 63] : '_';
    out += '_';
  }
  return out;
}

std::string std_base64_encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string hmac_sha256_base64(std::string_view key, std::string_view text) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int len = 0;
  // An empty string_view may carry a null pointer, which HMAC() would refuse.
  const char* key_bytes = key.empty() ? "" : key.data();
  if (HMAC(EVP_sha256(), key_bytes, static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(text.data()), text.size(), mac.data(),
           &len) == nullptr) {
    return {};  // never equal to a 44-character TLS.sig
  }
  return std_base64_encode(
      std::string_view(reinterpret_cast<const char*>(mac.data()), static_cast<std::size_t>(len)));
}

// RFC 1950 only: windowBits 15 makes zlib reject gzip and raw deflate headers, and check the
// Adler-32 trailer. Bytes after the end of the stream are ignored, as Go's reader does.
Result<std::string> zlib_inflate(std::string_view in) {
  if (in.size() >= 2 && static_cast<unsigned char>(in[0]) == 0x1f &&
      static_cast<unsigned char>(in[1]) == 0x8b) {
    return fail(Code::kSigUndecodable, "UserSig payload is gzip, not a zlib stream");
  }
  z_stream zs{};
  if (inflateInit(&zs) != Z_OK) return fail(Code::kInternal, "zlib inflateInit failed");
  struct Guard {
    z_stream* s;
    ~Guard() { inflateEnd(s); }
  } guard{&zs};

  // One byte over the cap tells "exactly the cap" from "more than the cap".
  constexpr std::size_t kLimit = kMaxUserSigPayloadBytes + 1;
  std::string out(std::min<std::size_t>(kLimit, std::max<std::size_t>(1024, in.size() * 4)), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  std::size_t produced = 0;
  for (;;) {
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
    zs.avail_out = static_cast<uInt>(out.size() - produced);
    const int rc = inflate(&zs, Z_NO_FLUSH);
    produced = out.size() - zs.avail_out;
    if (produced > kMaxUserSigPayloadBytes) {
      return fail(Code::kSigUndecodable, "UserSig payload inflates to more than " +
                                             std::to_string(kMaxUserSigPayloadBytes) + " bytes");
    }
    if (rc == Z_STREAM_END) break;
    if (rc == Z_OK || rc == Z_BUF_ERROR) {
      if (zs.avail_out == 0) {
        out.resize(std::min(kLimit, out.size() * 2));
        continue;
      }
      if (zs.avail_in == 0) {
        return fail(Code::kSigUndecodable, "UserSig zlib stream is truncated");
      }
      if (rc == Z_OK) continue;
    }
    if (rc == Z_NEED_DICT) {
      return fail(Code::kSigUndecodable, "UserSig zlib stream needs a preset dictionary");
    }
    if (rc == Z_MEM_ERROR) return fail(Code::kInternal, "out of memory inflating UserSig");
    return fail(Code::kSigUndecodable, std::string("UserSig payload is not a valid zlib stream (") +
                                           (zs.msg != nullptr ? zs.msg : "inflate failed") + ")");
  }
  out.resize(produced);
  return out;
}

// ----- JSON -----

enum class Member { kOther, kIdentifier, kSdkappid, kTime, kExpire, kSig, kUserbuf };

Member member_of(std::string_view key) {
  if (key == "TLS.identifier") return Member::kIdentifier;
  if (key == "TLS.sdkappid") return Member::kSdkappid;
  if (key == "TLS.time") return Member::kTime;
  if (key == "TLS.expire") return Member::kExpire;
  if (key == "TLS.sig") return Member::kSig;
  if (key == "TLS.userbuf") return Member::kUserbuf;
  return Member::kOther;
}

bool is_string_member(Member m) {
  return m == Member::kIdentifier || m == Member::kSig || m == Member::kUserbuf;
}

// Receives basic_parser events. Depth 1 is the top-level object; values of unknown members
// (depth > 1 included) are skipped. A rejection sets `error` and returns false.
class ClaimsHandler {
 public:
  using error_code = boost::json::error_code;
  using string_view = boost::json::string_view;

  static constexpr std::size_t max_array_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_object_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_string_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_key_size = static_cast<std::size_t>(-1);

  std::string error;
  UserSigClaims claims;
  bool has_identifier = false, has_sdkappid = false, has_time = false, has_expire = false,
       has_sig = false;

  bool on_document_begin(error_code&) { return true; }
  bool on_document_end(error_code&) { return true; }

  bool on_object_begin(error_code& ec) {
    if (depth_ == 1 && current_ != Member::kOther) return wrong_type("an object", ec);
    ++depth_;
    return true;
  }
  bool on_object_end(std::size_t, error_code&) {
    --depth_;
    return true;
  }
  bool on_array_begin(error_code& ec) {
    if (depth_ == 0) return reject("UserSig JSON is an array, not an object", ec);
    if (depth_ == 1 && current_ != Member::kOther) return wrong_type("an array", ec);
    ++depth_;
    return true;
  }
  bool on_array_end(std::size_t, error_code&) {
    --depth_;
    return true;
  }

  bool on_key_part(string_view s, std::size_t, error_code&) {
    if (depth_ == 1) key_.append(s.data(), s.size());
    return true;
  }
  bool on_key(string_view s, std::size_t, error_code& ec) {
    if (depth_ != 1) return true;
    key_.append(s.data(), s.size());
    if (!seen_.insert(key_).second) {
      return reject("UserSig JSON has member '" + key_ + "' more than once", ec);
    }
    current_ = member_of(key_);
    current_name_ = key_;
    key_.clear();
    return true;
  }

  bool on_string_part(string_view s, std::size_t, error_code& ec) {
    if (!scalar_here()) return depth_ == 0 ? not_object(ec) : true;
    if (!is_string_member(current_)) return wrong_type("a string", ec);
    value_.append(s.data(), s.size());
    return true;
  }
  bool on_string(string_view s, std::size_t, error_code& ec) {
    if (!scalar_here()) return depth_ == 0 ? not_object(ec) : true;
    if (!is_string_member(current_)) return wrong_type("a string", ec);
    value_.append(s.data(), s.size());
    switch (current_) {
      case Member::kIdentifier:
        claims.identifier = std::move(value_);
        has_identifier = true;
        break;
      case Member::kSig:
        claims.sig = std::move(value_);
        has_sig = true;
        break;
      default:
        claims.userbuf = std::move(value_);
        break;
    }
    value_.clear();
    return true;
  }

  bool on_number_part(string_view, error_code&) { return true; }
  bool on_int64(int64_t i, string_view, error_code& ec) {
    if (!scalar_here()) return depth_ == 0 ? not_object(ec) : true;
    switch (current_) {
      case Member::kSdkappid:
        if (i < 0 || i > static_cast<int64_t>(std::numeric_limits<uint32_t>::max())) {
          return reject(
              "UserSig JSON member TLS.sdkappid " + std::to_string(i) + " does not fit in uint32",
              ec);
        }
        claims.sdkappid = static_cast<uint32_t>(i);
        has_sdkappid = true;
        return true;
      case Member::kTime:
        claims.time = i;
        has_time = true;
        return true;
      case Member::kExpire:
        claims.expire = i;
        has_expire = true;
        return true;
      default:
        return wrong_type("a number", ec);
    }
  }
  bool on_uint64(uint64_t u, string_view, error_code& ec) {
    if (!scalar_here()) return depth_ == 0 ? not_object(ec) : true;
    if (current_ == Member::kSdkappid || current_ == Member::kTime || current_ == Member::kExpire) {
      const char* type = current_ == Member::kSdkappid ? "uint32" : "int64";
      return reject("UserSig JSON member " + current_name_ + " " + std::to_string(u) +
                        " does not fit in " + type,
                    ec);
    }
    return wrong_type("a number", ec);
  }
  bool on_double(double, string_view, error_code& ec) {
    if (!scalar_here()) return depth_ == 0 ? not_object(ec) : true;
    if (current_ == Member::kSdkappid || current_ == Member::kTime || current_ == Member::kExpire) {
      return reject("UserSig JSON member " + current_name_ +
                        " is not an integer (fraction, exponent or out of range)",
                    ec);
    }
    return wrong_type("a number", ec);
  }
  bool on_bool(bool, error_code& ec) {
    if (!scalar_here()) return depth_ == 0 ? not_object(ec) : true;
    return wrong_type("a boolean", ec);
  }
  bool on_null(error_code& ec) {
    if (!scalar_here()) return depth_ == 0 ? not_object(ec) : true;
    return wrong_type("null", ec);
  }
  bool on_comment_part(string_view, error_code&) { return true; }
  bool on_comment(string_view, error_code&) { return true; }

 private:
  // True for a value of a top-level member; false inside nested values and at the top.
  bool scalar_here() const { return depth_ == 1; }

  bool reject(std::string why, error_code& ec) {
    error = std::move(why);
    ec = boost::json::error::syntax;  // any non-zero code; `error` carries the reason
    return false;
  }
  bool not_object(error_code& ec) { return reject("UserSig JSON is not an object", ec); }
  bool wrong_type(const char* got, error_code& ec) {
    if (current_ == Member::kOther) return true;  // unknown members may hold anything
    const char* want = is_string_member(current_) ? "a string" : "an integer";
    return reject("UserSig JSON member " + current_name_ + " is " + got + ", not " + want, ec);
  }

  int depth_ = 0;
  Member current_ = Member::kOther;
  std::string current_name_;
  std::string key_;
  std::string value_;
  std::unordered_set<std::string> seen_;
};

Result<UserSigClaims> parse_claims(std::string_view json) {
  boost::json::basic_parser<ClaimsHandler> parser(boost::json::parse_options{});
  boost::json::error_code ec;
  const std::size_t used = parser.write_some(false, json.data(), json.size(), ec);
  ClaimsHandler& h = parser.handler();
  if (!h.error.empty()) return fail(Code::kSigUndecodable, std::move(h.error));
  if (ec) {
    return fail(Code::kSigUndecodable, "UserSig JSON is invalid: " + ec.message() + " (near byte " +
                                           std::to_string(used) + ")");
  }
  if (used != json.size()) {
    return fail(Code::kSigUndecodable,
                "UserSig JSON has extra data after the object (byte " + std::to_string(used) + ")");
  }
  if (!h.has_identifier) return fail(Code::kSigUndecodable, "UserSig JSON lacks TLS.identifier");
  if (!h.has_sdkappid) return fail(Code::kSigUndecodable, "UserSig JSON lacks TLS.sdkappid");
  if (!h.has_time) return fail(Code::kSigUndecodable, "UserSig JSON lacks TLS.time");
  if (!h.has_expire) return fail(Code::kSigUndecodable, "UserSig JSON lacks TLS.expire");
  if (!h.has_sig) return fail(Code::kSigUndecodable, "UserSig JSON lacks TLS.sig");
  return std::move(h.claims);
}

int64_t saturating_add(int64_t a, int64_t b) {
  int64_t r = 0;
  if (!__builtin_add_overflow(a, b, &r)) return r;
  return b > 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
}

}  // namespace

std::string usersig_signed_text(std::string_view identifier, uint64_t sdkappid, int64_t time,
                                int64_t expire, std::optional<std::string_view> userbuf) {
  std::string text;
  text.reserve(80 + identifier.size() + (userbuf ? userbuf->size() : 0));
  text.append("TLS.identifier:").append(identifier).append("\n");
  text.append("TLS.sdkappid:").append(std::to_string(sdkappid)).append("\n");
  text.append("TLS.time:").append(std::to_string(time)).append("\n");
  text.append("TLS.expire:").append(std::to_string(expire)).append("\n");
  if (userbuf) text.append("TLS.userbuf:").append(*userbuf).append("\n");
  return text;
}

Result<UserSigClaims> decode_usersig(std::string_view usersig) {
  if (usersig.empty()) return fail(Code::kSigEmpty, "UserSig length is 0");
  auto compressed = tencent_base64_decode(usersig);
  if (!compressed) return std::unexpected(std::move(compressed.error()));
  auto json = zlib_inflate(*compressed);
  if (!json) return std::unexpected(std::move(json.error()));
  return parse_claims(*json);
}

Result<UserSigClaims> verify_usersig(std::string_view usersig, uint64_t sdkappid,
                                     std::string_view identifier, std::string_view key,
                                     int64_t now) {
  auto claims = decode_usersig(usersig);
  if (!claims) return claims;
  const UserSigClaims& c = *claims;
  if (c.sdkappid != sdkappid) {
    return fail(Code::kSigSdkAppIdMismatch, "UserSig was issued for sdkappid " +
                                                std::to_string(c.sdkappid) + ", request says " +
                                                std::to_string(sdkappid));
  }
  if (c.identifier != identifier) {
    return fail(Code::kSigIdentifierMismatch, "UserSig was issued for identifier '" + c.identifier +
                                                  "', request says '" + std::string(identifier) +
                                                  "'");
  }
  const int64_t expiry = saturating_add(c.time, c.expire);
  if (now > expiry) {
    return fail(Code::kSigExpired, "UserSig expired at " + std::to_string(expiry) + " (now " +
                                       std::to_string(now) + ")");
  }
  const std::optional<std::string_view> userbuf =
      c.userbuf ? std::optional<std::string_view>(*c.userbuf) : std::nullopt;
  const std::string expected = hmac_sha256_base64(
      key, usersig_signed_text(c.identifier, c.sdkappid, c.time, c.expire, userbuf));
  if (expected.size() != c.sig.size() ||
      CRYPTO_memcmp(expected.data(), c.sig.data(), expected.size()) != 0) {
    return fail(Code::kSigBadSignature,
                "UserSig signature mismatch: TLS.sig is not the HMAC-SHA256 of its fields under "
                "the secret key configured for sdkappid " +
                    std::to_string(sdkappid) + " (wrong key, or the sig was altered)");
  }
  return claims;
}

std::string generate_usersig(uint32_t sdkappid, std::string_view key, std::string_view identifier,
                             int64_t expire, int64_t now,
                             std::optional<std::string_view> userbuf_bytes) {
  std::optional<std::string> userbuf;
  if (userbuf_bytes) userbuf = std_base64_encode(*userbuf_bytes);
  const std::optional<std::string_view> ub =
      userbuf ? std::optional<std::string_view>(*userbuf) : std::nullopt;
  const std::string sig =
      hmac_sha256_base64(key, usersig_signed_text(identifier, sdkappid, now, expire, ub));

  boost::json::object doc;
  doc["TLS.ver"] = "2.0";
  doc["TLS.identifier"] = boost::json::string_view(identifier.data(), identifier.size());
  doc["TLS.sdkappid"] = sdkappid;
  doc["TLS.time"] = now;
  doc["TLS.expire"] = expire;
  if (userbuf) doc["TLS.userbuf"] = *userbuf;
  doc["TLS.sig"] = sig;
  const std::string json = boost::json::serialize(doc);

  uLongf len = compressBound(static_cast<uLong>(json.size()));
  std::string compressed(len, '\0');
  if (compress2(reinterpret_cast<Bytef*>(compressed.data()), &len,
                reinterpret_cast<const Bytef*>(json.data()), static_cast<uLong>(json.size()),
                6) != Z_OK) {
    return {};
  }
  compressed.resize(len);
  return tencent_base64_encode(compressed);
}

}  // namespace liveroom::auth
