// UserSig verification is where a compatible server most easily diverges from Tencent: these
// tests run every shared vector (sigs made by Tencent's own SDKs) and pin the rules the vectors
// cannot show, building the odd cases by hand with OpenSSL and zlib rather than with our encoder
// so that encoder and decoder cannot share a mistake.
#include "auth/usersig.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <zlib.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "auth/verified_sig_cache.h"

namespace liveroom::auth {
namespace {

constexpr std::string_view kKey =
    "e55c7a0a473a21966ab381382c370ccf47285d61463cb0ccd9f68fc6fdefcdc5";
constexpr std::string_view kOtherKey =
    "67ae51b939d3a9b06bf328a3ec08e84cc11abf032415bafe2dfa63d2844d9444";
constexpr uint32_t kApp = 1400000001;
constexpr int64_t kTime = 1700000000;
constexpr int64_t kExpire = 86400;

// ----- hand-made encodings, independent of usersig.cpp -----

std::string std_base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string to_tencent(std::string b64) {
  for (char& c : b64) {
    if (c == '+') c = '*';
    if (c == '/') c = '-';
    if (c == '=') c = '_';
  }
  return b64;
}

// windowBits 15 = zlib, 31 = gzip, -15 = raw deflate.
std::string deflate_with(std::string_view data, int window_bits, int level = 6) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, level, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&zs, static_cast<uLong>(data.size())) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

std::string hmac_b64(std::string_view key, std::string_view text) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(text.data()), text.size(), mac, &len);
  return std_base64(std::string_view(reinterpret_cast<const char*>(mac), len));
}

std::string signed_text(std::string_view id, uint64_t app, int64_t time, int64_t expire,
                        const char* userbuf_line = nullptr) {
  std::string t = "TLS.identifier:" + std::string(id) + "\nTLS.sdkappid:" + std::to_string(app) +
                  "\nTLS.time:" + std::to_string(time) + "\nTLS.expire:" + std::to_string(expire) +
                  "\n";
  if (userbuf_line != nullptr) t += "TLS.userbuf:" + std::string(userbuf_line) + "\n";
  return t;
}

std::string sig_of_json(std::string_view json, int window_bits = 15) {
  return to_tencent(std_base64(deflate_with(json, window_bits)));
}

// A compact payload; `extra` is inserted before TLS.sig verbatim (e.g. `"TLS.userbuf":"",`).
std::string payload(std::string_view id, int64_t time, int64_t expire, std::string_view sig,
                    std::string_view extra = {}, uint64_t app = kApp) {
  return R"({"TLS.ver":"2.0","TLS.identifier":")" + std::string(id) + R"(","TLS.sdkappid":)" +
         std::to_string(app) + R"(,"TLS.time":)" + std::to_string(time) + R"(,"TLS.expire":)" +
         std::to_string(expire) + "," + std::string(extra) + R"("TLS.sig":")" + std::string(sig) +
         R"("})";
}

std::string good_payload(std::string_view id = "admin") {
  return payload(id, kTime, kExpire, hmac_b64(kKey, signed_text(id, kApp, kTime, kExpire)));
}

Code code_of(const Result<UserSigClaims>& r) {
  return r ? Code::kOk : r.error().code;
}
std::string info_of(const Result<UserSigClaims>& r) {
  return r ? "" : r.error().info;
}

// ----- shared vectors -----

struct VectorCase {
  std::string id, expect, reason_code, key, identifier, usersig;
  uint64_t sdkappid = 0;
  int64_t now = 0;
  std::optional<int64_t> time, expire;
  std::optional<std::string> userbuf;
};

// Test logs name the case, not a hex dump of the struct.
void PrintTo(const VectorCase& c, std::ostream* os) {
  *os << c.id;
}

std::vector<VectorCase> load_vectors() {
  std::ifstream in(LIVEROOM_TESTDATA_DIR "/usersig_vectors.json", std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  boost::json::error_code ec;
  const boost::json::value doc = boost::json::parse(ss.str(), ec);
  std::vector<VectorCase> cases;
  if (ec || !doc.is_object()) return cases;
  for (const boost::json::value& v : doc.at("cases").as_array()) {
    const boost::json::object& o = v.as_object();
    VectorCase c;
    auto str = [&](const char* k) { return std::string(o.at(k).as_string()); };
    c.id = str("id");
    c.expect = str("expect");
    if (o.contains("reason_code")) c.reason_code = str("reason_code");
    c.key = str("key");
    c.identifier = str("identifier");
    c.usersig = str("usersig");
    c.sdkappid = o.at("sdkappid").to_number<uint64_t>();
    c.now = o.at("now").to_number<int64_t>();
    if (!o.at("time").is_null()) c.time = o.at("time").to_number<int64_t>();
    if (!o.at("expire").is_null()) c.expire = o.at("expire").to_number<int64_t>();
    if (!o.at("userbuf").is_null()) c.userbuf = str("userbuf");
    cases.push_back(std::move(c));
  }
  return cases;
}

const std::vector<VectorCase>& vectors() {
  static const std::vector<VectorCase> cases = load_vectors();
  return cases;
}

Code expected_code(std::string_view reason) {
  static const std::map<std::string_view, Code> table = {
      {"empty", Code::kSigEmpty},
      {"base64", Code::kSigUndecodable},
      {"inflate", Code::kSigUndecodable},
      {"json", Code::kSigUndecodable},
      {"missing_field", Code::kSigUndecodable},
      {"identifier_mismatch", Code::kSigIdentifierMismatch},
      {"sdkappid_mismatch", Code::kSigSdkAppIdMismatch},
      {"expired", Code::kSigExpired},
      {"hmac_mismatch", Code::kSigBadSignature},
  };
  auto it = table.find(reason);
  return it == table.end() ? Code::kInternal : it->second;
}

TEST(UserSigVectors, FileHasAllCases) {
  ASSERT_EQ(vectors().size(), 32u);
  int valid = 0;
  for (const VectorCase& c : vectors()) valid += c.expect == "valid";
  EXPECT_EQ(valid, 20);
}

class UserSigVectorTest : public ::testing::TestWithParam<VectorCase> {};

TEST_P(UserSigVectorTest, VerifiesAsExpected) {
  const VectorCase& c = GetParam();
  const auto r = verify_usersig(c.usersig, c.sdkappid, c.identifier, c.key, c.now);
  if (c.expect == "valid") {
    ASSERT_TRUE(r.has_value()) << r.error().info;
    EXPECT_EQ(r->identifier, c.identifier);
    EXPECT_EQ(r->sdkappid, c.sdkappid);
    EXPECT_EQ(r->time, c.time);
    EXPECT_EQ(r->expire, c.expire);
    EXPECT_EQ(r->userbuf, c.userbuf);
  } else {
    ASSERT_EQ(c.expect, "invalid");
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, expected_code(c.reason_code)) << r.error().info;
    EXPECT_FALSE(r.error().info.empty());
    EXPECT_EQ(r.error().info.find(c.key), std::string::npos) << "ErrorInfo leaks the key";
  }
}

TEST_P(UserSigVectorTest, CachedVerifierAgrees) {
  const VectorCase& c = GetParam();
  UserSigVerifier verifier;
  for (int pass = 0; pass < 2; ++pass) {  // miss, then (for valid sigs) hit
    const auto r = verifier.verify(c.sdkappid, c.identifier, c.usersig, c.key, c.now);
    if (c.expect == "valid") {
      EXPECT_TRUE(r.has_value()) << r.error().info;
    } else {
      ASSERT_FALSE(r.has_value());
      EXPECT_EQ(r.error().code, expected_code(c.reason_code));
    }
  }
  EXPECT_EQ(verifier.size(), c.expect == "valid" ? 1u : 0u);
}

std::string vector_name(const ::testing::TestParamInfo<VectorCase>& info) {
  std::string name = info.param.id;
  for (char& ch : name) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(Shared, UserSigVectorTest, ::testing::ValuesIn(vectors()), vector_name);

// ----- rules the vectors do not cover -----

TEST(UserSig, GeneratedSigRoundTrips) {
  const std::string sig = generate_usersig(kApp, kKey, "administrator", kExpire, kTime);
  EXPECT_EQ(sig.substr(0, 2), "eJ");  // zlib header 78 9C = level 6
  const auto r = verify_usersig(sig, kApp, "administrator", kKey, kTime + 10);
  ASSERT_TRUE(r.has_value()) << r.error().info;
  EXPECT_EQ(r->identifier, "administrator");
  EXPECT_EQ(r->sdkappid, kApp);
  EXPECT_EQ(r->time, kTime);
  EXPECT_EQ(r->expire, kExpire);
  EXPECT_FALSE(r->userbuf.has_value());
  EXPECT_EQ(r->sig, hmac_b64(kKey, signed_text("administrator", kApp, kTime, kExpire)));
}

TEST(UserSig, GeneratedSigWithUserbufAndUnicodeRoundTrips) {
  const std::string id = "用户 \"q\" \\ \t 🚀";
  const std::string bytes("\xfb\xff\x00\xfe", 4);
  const std::string sig = generate_usersig(4294967295u, kKey, id, 300, kTime, bytes);
  const auto r = verify_usersig(sig, 4294967295u, id, kKey, kTime);
  ASSERT_TRUE(r.has_value()) << r.error().info;
  EXPECT_EQ(r->identifier, id);
  EXPECT_EQ(r->userbuf, std_base64(bytes));
}

TEST(UserSig, SignedTextMatchesSpecExample) {
  EXPECT_EQ(usersig_signed_text("administrator", 1400000000, 1700000000, 15552000, std::nullopt),
            "TLS.identifier:administrator\nTLS.sdkappid:1400000000\nTLS.time:1700000000\n"
            "TLS.expire:15552000\n");
  EXPECT_EQ(usersig_signed_text("a", 1, 2, 3, ""),
            "TLS.identifier:a\nTLS.sdkappid:1\nTLS.time:2\nTLS.expire:3\nTLS.userbuf:\n");
}

TEST(UserSig, ExpiryBoundary) {
  const std::string sig = sig_of_json(good_payload());
  EXPECT_TRUE(verify_usersig(sig, kApp, "admin", kKey, kTime + kExpire).has_value());
  const auto late = verify_usersig(sig, kApp, "admin", kKey, kTime + kExpire + 1);
  EXPECT_EQ(code_of(late), Code::kSigExpired);
  EXPECT_EQ(info_of(late), "UserSig expired at 1700086400 (now 1700086401)");
  // A sig issued "in the future" is not rejected (neither official verifier does).
  EXPECT_TRUE(verify_usersig(sig, kApp, "admin", kKey, kTime - 3600).has_value());
}

TEST(UserSig, EmptyUserbufMemberIsSignedWithItsLine) {
  const std::string with_line =
      hmac_b64(kKey, signed_text("admin", kApp, kTime, kExpire, /*userbuf_line=*/""));
  const std::string sig =
      sig_of_json(payload("admin", kTime, kExpire, with_line, R"("TLS.userbuf":"",)"));
  const auto r = verify_usersig(sig, kApp, "admin", kKey, kTime);
  ASSERT_TRUE(r.has_value()) << r.error().info;
  EXPECT_EQ(r->userbuf, std::optional<std::string>(""));

  // Same payload, MAC computed without the userbuf line (the C++ SDK's view): rejected.
  const std::string without_line = hmac_b64(kKey, signed_text("admin", kApp, kTime, kExpire));
  const auto bad = verify_usersig(
      sig_of_json(payload("admin", kTime, kExpire, without_line, R"("TLS.userbuf":"",)")), kApp,
      "admin", kKey, kTime);
  EXPECT_EQ(code_of(bad), Code::kSigBadSignature);

  // Member absent but the line signed (Go HEAD's omitempty bug): rejected too.
  EXPECT_EQ(code_of(verify_usersig(sig_of_json(payload("admin", kTime, kExpire, with_line)), kApp,
                                   "admin", kKey, kTime)),
            Code::kSigBadSignature);

  // Our generator writes the member and the line for an empty buffer.
  const std::string generated = generate_usersig(kApp, kKey, "admin", kExpire, kTime, "");
  const auto g = verify_usersig(generated, kApp, "admin", kKey, kTime);
  ASSERT_TRUE(g.has_value()) << g.error().info;
  EXPECT_EQ(g->userbuf, std::optional<std::string>(""));
  EXPECT_EQ(g->sig, with_line);
}

TEST(UserSig, IdentifierIsComparedByteForByte) {
  const std::string admin = sig_of_json(good_payload("Admin"));
  const auto r = verify_usersig(admin, kApp, "admin", kKey, kTime);
  EXPECT_EQ(code_of(r), Code::kSigIdentifierMismatch);
  EXPECT_EQ(info_of(r), "UserSig was issued for identifier 'Admin', request says 'admin'");

  const std::string nfc = "caf\xc3\xa9";   // é as U+00E9
  const std::string nfd = "cafe\xcc\x81";  // e + U+0301
  const std::string nfc_sig = sig_of_json(good_payload(nfc));
  const std::string nfd_sig = sig_of_json(good_payload(nfd));
  EXPECT_TRUE(verify_usersig(nfc_sig, kApp, nfc, kKey, kTime).has_value());
  EXPECT_TRUE(verify_usersig(nfd_sig, kApp, nfd, kKey, kTime).has_value());
  EXPECT_EQ(code_of(verify_usersig(nfc_sig, kApp, nfd, kKey, kTime)), Code::kSigIdentifierMismatch);
  EXPECT_EQ(code_of(verify_usersig(nfd_sig, kApp, nfc, kKey, kTime)), Code::kSigIdentifierMismatch);
  // No trimming either.
  EXPECT_EQ(
      code_of(verify_usersig(sig_of_json(good_payload("admin")), kApp, "admin ", kKey, kTime)),
      Code::kSigIdentifierMismatch);
}

TEST(UserSig, SdkAppIdMismatchNamesBoth) {
  const auto r = verify_usersig(sig_of_json(good_payload()), 1400000002, "admin", kKey, kTime);
  EXPECT_EQ(code_of(r), Code::kSigSdkAppIdMismatch);
  EXPECT_EQ(info_of(r), "UserSig was issued for sdkappid 1400000001, request says 1400000002");
}

TEST(UserSig, OnlyZlibIsAccepted) {
  const std::string json = good_payload();
  ASSERT_TRUE(verify_usersig(sig_of_json(json), kApp, "admin", kKey, kTime).has_value());
  for (int level : {0, 1, 9}) {  // any level inflates
    const std::string sig = to_tencent(std_base64(deflate_with(json, 15, level)));
    EXPECT_TRUE(verify_usersig(sig, kApp, "admin", kKey, kTime).has_value()) << level;
  }

  const auto gzip = verify_usersig(sig_of_json(json, 31), kApp, "admin", kKey, kTime);
  EXPECT_EQ(code_of(gzip), Code::kSigUndecodable);
  EXPECT_NE(info_of(gzip).find("gzip"), std::string::npos) << info_of(gzip);

  const auto raw = verify_usersig(sig_of_json(json, -15), kApp, "admin", kKey, kTime);
  EXPECT_EQ(code_of(raw), Code::kSigUndecodable);
  EXPECT_NE(info_of(raw).find("zlib"), std::string::npos) << info_of(raw);

  std::string bad_adler = deflate_with(json, 15);
  bad_adler.back() = static_cast<char>(bad_adler.back() ^ 1);
  const auto adler = verify_usersig(to_tencent(std_base64(bad_adler)), kApp, "admin", kKey, kTime);
  EXPECT_EQ(code_of(adler), Code::kSigUndecodable);
  EXPECT_NE(info_of(adler).find("incorrect data check"), std::string::npos) << info_of(adler);

  std::string truncated = deflate_with(json, 15);
  truncated.resize(truncated.size() - 5);
  const auto cut = verify_usersig(to_tencent(std_base64(truncated)), kApp, "admin", kKey, kTime);
  EXPECT_EQ(code_of(cut), Code::kSigUndecodable);
  EXPECT_EQ(info_of(cut), "UserSig zlib stream is truncated");

  // Bytes after the end of the stream are ignored, as Go's reader does.
  const std::string trailing = deflate_with(json, 15) + "xyz";
  EXPECT_TRUE(
      verify_usersig(to_tencent(std_base64(trailing)), kApp, "admin", kKey, kTime).has_value());
}

TEST(UserSig, InflatedSizeIsCapped) {
  // An unknown member pads the payload; the sig stays valid, so only the cap decides.
  const auto padded = [](std::size_t total) {
    const std::string base = good_payload();
    std::string pad(total - base.size() - std::string(R"(,"pad":"")").size(), 'x');
    return base.substr(0, base.size() - 1) + R"(,"pad":")" + pad + R"("})";
  };
  const std::string at_cap = padded(kMaxUserSigPayloadBytes);
  ASSERT_EQ(at_cap.size(), kMaxUserSigPayloadBytes);
  EXPECT_TRUE(verify_usersig(sig_of_json(at_cap), kApp, "admin", kKey, kTime).has_value());
  const auto over =
      verify_usersig(sig_of_json(padded(kMaxUserSigPayloadBytes + 1)), kApp, "admin", kKey, kTime);
  EXPECT_EQ(code_of(over), Code::kSigUndecodable);
  EXPECT_EQ(info_of(over), "UserSig payload inflates to more than 65536 bytes");
}

TEST(UserSig, OnlyTencentAlphabetIsAccepted) {
  const std::string zlib = deflate_with(good_payload(), 15);
  std::string standard = std_base64(zlib);
  ASSERT_NE(standard.find_first_of("+/="), std::string::npos) << "pick a payload that shows it";

  // RFC 4648 base64url: '-' for '+', '_' for '/', padding dropped.
  std::string url = standard;
  for (char& c : url) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  while (!url.empty() && url.back() == '=') url.pop_back();
  ASSERT_NE(url, to_tencent(standard));
  EXPECT_EQ(code_of(verify_usersig(url, kApp, "admin", kKey, kTime)), Code::kSigUndecodable);

  const auto std_r = verify_usersig(standard, kApp, "admin", kKey, kTime);
  EXPECT_EQ(code_of(std_r), Code::kSigUndecodable);
  EXPECT_EQ(info_of(std_r).rfind("UserSig is not valid Tencent base64", 0), 0u) << info_of(std_r);

  // Percent-encoding is the HTTP layer's business; "%2A" must not reach us.
  std::string pct = to_tencent(standard);
  ASSERT_NE(pct.find('*'), std::string::npos);
  pct.replace(pct.find('*'), 1, "%2A");
  EXPECT_EQ(code_of(verify_usersig(pct, kApp, "admin", kKey, kTime)), Code::kSigUndecodable);

  EXPECT_EQ(code_of(verify_usersig("eJ", kApp, "admin", kKey, kTime)), Code::kSigUndecodable);
  EXPECT_EQ(code_of(verify_usersig("eJ_w", kApp, "admin", kKey, kTime)), Code::kSigUndecodable);
  EXPECT_EQ(code_of(verify_usersig("eJx_", kApp, "admin", kKey, kTime)), Code::kSigUndecodable)
      << "non-zero bits before the padding";
}

TEST(UserSig, KeyIsUsedAsText) {
  const std::string sig = sig_of_json(good_payload());
  ASSERT_TRUE(verify_usersig(sig, kApp, "admin", kKey, kTime).has_value());
  std::string decoded;
  for (std::size_t i = 0; i < kKey.size(); i += 2) {
    decoded.push_back(static_cast<char>(std::stoi(std::string(kKey.substr(i, 2)), nullptr, 16)));
  }
  const auto r = verify_usersig(sig, kApp, "admin", decoded, kTime);
  EXPECT_EQ(code_of(r), Code::kSigBadSignature);
  // Not case-folded either.
  std::string upper(kKey);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(code_of(verify_usersig(sig, kApp, "admin", upper, kTime)), Code::kSigBadSignature);
  EXPECT_EQ(info_of(r).find(kKey), std::string::npos);
}

TEST(UserSig, JsonStrictness) {
  const std::string mac = hmac_b64(kKey, signed_text("admin", kApp, kTime, kExpire));
  const auto check = [](const std::string& json, std::string_view info) {
    const auto r = verify_usersig(sig_of_json(json), kApp, "admin", kKey, kTime);
    EXPECT_EQ(code_of(r), Code::kSigUndecodable) << json;
    EXPECT_EQ(info_of(r), info) << json;
  };
  check(payload("admin", kTime, kExpire, mac, R"("TLS.time":1700000000,)"),
        "UserSig JSON has member 'TLS.time' more than once");
  check(payload("admin", kTime, kExpire, mac, R"("TLS.ver":"2.0",)"),
        "UserSig JSON has member 'TLS.ver' more than once");
  check(R"({"TLS.identifier":"admin","TLS.sdkappid":1400000001,"TLS.expire":86400,"TLS.sig":"x"})",
        "UserSig JSON lacks TLS.time");
  check(R"({"TLS.identifier":"admin","TLS.sdkappid":1400000001,"TLS.time":1,"TLS.expire":1})",
        "UserSig JSON lacks TLS.sig");
  check(R"({"TLS.identifier":"admin","TLS.sdkappid":"1400000001","TLS.time":1,"TLS.expire":1,)"
        R"("TLS.sig":"x"})",
        "UserSig JSON member TLS.sdkappid is a string, not an integer");
  check(R"({"TLS.identifier":42,"TLS.sdkappid":1400000001,"TLS.time":1,"TLS.expire":1,)"
        R"("TLS.sig":"x"})",
        "UserSig JSON member TLS.identifier is a number, not a string");
  check(R"({"TLS.identifier":"a","TLS.sdkappid":1400000001,"TLS.time":1.5,"TLS.expire":1,)"
        R"("TLS.sig":"x"})",
        "UserSig JSON member TLS.time is not an integer (fraction, exponent or out of range)");
  check(R"({"TLS.identifier":"a","TLS.sdkappid":4294967296,"TLS.time":1,"TLS.expire":1,)"
        R"("TLS.sig":"x"})",
        "UserSig JSON member TLS.sdkappid 4294967296 does not fit in uint32");
  check(R"({"TLS.identifier":"a","TLS.sdkappid":1,"TLS.time":9223372036854775808,"TLS.expire":1,)"
        R"("TLS.sig":"x"})",
        "UserSig JSON member TLS.time 9223372036854775808 does not fit in int64");
  check(R"({"TLS.identifier":"a","TLS.sdkappid":1,"TLS.time":1,"TLS.expire":1,"TLS.sig":"x",)"
        R"("TLS.userbuf":null})",
        "UserSig JSON member TLS.userbuf is null, not a string");
  check(R"({"TLS.identifier":["a"],"TLS.sdkappid":1,"TLS.time":1,"TLS.expire":1,"TLS.sig":"x"})",
        "UserSig JSON member TLS.identifier is an array, not a string");
  check(R"(["TLS.identifier"])", "UserSig JSON is an array, not an object");
  check(R"("TLS.identifier")", "UserSig JSON is not an object");
  check(good_payload() + "x", "UserSig JSON has extra data after the object (byte 166)");

  std::string no_colon = good_payload();
  no_colon.erase(no_colon.find("\"TLS.time\":") + 10, 1);
  const auto syntax = verify_usersig(sig_of_json(no_colon), kApp, "admin", kKey, kTime);
  EXPECT_EQ(code_of(syntax), Code::kSigUndecodable);
  EXPECT_EQ(info_of(syntax).rfind("UserSig JSON is invalid: ", 0), 0u) << info_of(syntax);

  // Invalid UTF-8, lone surrogates and comments are refused; trailing comma too.
  for (const std::string& bad :
       {payload("ad\xff", kTime, kExpire, mac), payload(R"(\ud800)", kTime, kExpire, mac),
        "/*c*/" + good_payload(), good_payload().insert(1, "\"x\":1,,")}) {
    const auto r = verify_usersig(sig_of_json(bad), kApp, "admin", kKey, kTime);
    EXPECT_EQ(code_of(r), Code::kSigUndecodable) << bad;
  }
}

TEST(UserSig, JsonStyleIsTolerated) {
  const std::string mac = hmac_b64(kKey, signed_text("a/<b>", kApp, kTime, kExpire));
  // Whitespace everywhere, any member order, escapes, unknown members of any type, trailing
  // newline (Go), no TLS.ver.
  const std::string json = "\n { \"TLS.sig\" : \"" + mac + R"(" , "TLS.expire": 86400, )" +
                           R"("x":{"y":[1,{"TLS.time":"nested ignored"}],"y":null}, )" +
                           R"("TLS.time":1700000000,"TLS.sdkappid" :1400000001,)" +
                           R"("TLS.identifier":"a\/\u003cb\u003e"})" + "\n";
  const auto r = verify_usersig(sig_of_json(json), kApp, "a/<b>", kKey, kTime);
  ASSERT_TRUE(r.has_value()) << r.error().info;
  // Negative time or expire is representable; it simply expires.
  const std::string neg_mac = hmac_b64(kKey, signed_text("admin", kApp, kTime, -1));
  EXPECT_EQ(code_of(verify_usersig(sig_of_json(payload("admin", kTime, -1, neg_mac)), kApp, "admin",
                                   kKey, kTime)),
            Code::kSigExpired);
}

TEST(UserSig, EmptyAndDecodeFailuresUseTheirCodes) {
  EXPECT_EQ(code_of(decode_usersig("")), Code::kSigEmpty);
  EXPECT_EQ(info_of(decode_usersig("")), "UserSig length is 0");
  const auto r = decode_usersig("@@@@");
  EXPECT_EQ(code_of(r), Code::kSigUndecodable);
  EXPECT_EQ(info_of(r), "UserSig is not valid Tencent base64: unexpected '@' at offset 0");
}

TEST(UserSig, HmacMismatchInfoNamesTheCheck) {
  const auto r = verify_usersig(sig_of_json(good_payload()), kApp, "admin", kOtherKey, kTime);
  EXPECT_EQ(code_of(r), Code::kSigBadSignature);
  EXPECT_NE(info_of(r).find("HMAC-SHA256"), std::string::npos);
  EXPECT_NE(info_of(r).find("1400000001"), std::string::npos);
  EXPECT_EQ(info_of(r).find(kOtherKey), std::string::npos);
}

// ----- UserSigVerifier -----

TEST(UserSigVerifier, HitIsServedFromCache) {
  UserSigVerifier v;
  const std::string sig = generate_usersig(kApp, kKey, "admin", kExpire, kTime);
  EXPECT_TRUE(v.verify(kApp, "admin", sig, kKey, kTime).has_value());
  EXPECT_EQ(v.size(), 1u);
  EXPECT_TRUE(v.verify(kApp, "admin", sig, kKey, kTime + 5).has_value());
  EXPECT_EQ(v.size(), 1u);
}

TEST(UserSigVerifier, CachedSigStillExpiresOnTime) {
  UserSigVerifier v;
  const std::string sig = generate_usersig(kApp, kKey, "admin", kExpire, kTime);
  ASSERT_TRUE(v.verify(kApp, "admin", sig, kKey, kTime).has_value());
  EXPECT_TRUE(v.verify(kApp, "admin", sig, kKey, kTime + kExpire).has_value());
  const auto r = v.verify(kApp, "admin", sig, kKey, kTime + kExpire + 1);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Code::kSigExpired);
  EXPECT_EQ(r.error().info, "UserSig expired at 1700086400 (now 1700086401)");
  EXPECT_EQ(v.size(), 0u);  // dropped
  EXPECT_EQ(v.verify(kApp, "admin", sig, kKey, kTime + kExpire + 1).error().code,
            Code::kSigExpired);
}

TEST(UserSigVerifier, CachedSigIsBoundToKeyIdentifierAndApp) {
  UserSigVerifier v;
  const std::string sig = generate_usersig(kApp, kKey, "admin", kExpire, kTime);
  ASSERT_TRUE(v.verify(kApp, "admin", sig, kKey, kTime).has_value());
  EXPECT_EQ(v.verify(kApp, "admin", sig, kOtherKey, kTime).error().code, Code::kSigBadSignature);
  EXPECT_EQ(v.verify(kApp, "Admin", sig, kKey, kTime).error().code, Code::kSigIdentifierMismatch);
  EXPECT_EQ(v.verify(kApp + 1, "admin", sig, kKey, kTime).error().code, Code::kSigSdkAppIdMismatch);
  EXPECT_EQ(v.size(), 1u);  // failures are not cached
  EXPECT_TRUE(v.verify(kApp, "admin", sig, kKey, kTime).has_value());
}

TEST(UserSigVerifier, FailuresAreNotCached) {
  UserSigVerifier v;
  const std::string sig = generate_usersig(kApp, kKey, "admin", kExpire, kTime);
  EXPECT_FALSE(v.verify(kApp, "admin", sig, kOtherKey, kTime).has_value());
  EXPECT_FALSE(v.verify(kApp, "admin", "", kKey, kTime).has_value());
  EXPECT_EQ(v.size(), 0u);
}

TEST(UserSigVerifier, SizeIsBounded) {
  UserSigVerifier v(40);
  std::vector<std::string> sigs;
  for (int i = 0; i < 500; ++i) {
    const std::string id = "user" + std::to_string(i);
    sigs.push_back(generate_usersig(kApp, kKey, id, kExpire, kTime));
    ASSERT_TRUE(v.verify(kApp, id, sigs.back(), kKey, kTime).has_value());
    ASSERT_LE(v.size(), 40u);
  }
  EXPECT_GT(v.size(), 0u);
  for (int i = 0; i < 500; ++i) {  // evicted or not, every sig still verifies
    ASSERT_TRUE(v.verify(kApp, "user" + std::to_string(i), sigs[i], kKey, kTime).has_value());
  }

  UserSigVerifier off(0);
  EXPECT_TRUE(off.verify(kApp, "user0", sigs[0], kKey, kTime).has_value());
  EXPECT_EQ(off.size(), 0u);
}

TEST(UserSigVerifier, ConcurrentUse) {
  UserSigVerifier v(64);
  const std::vector<std::string> ids = {"u0", "u1", "u2", "u3", "u4", "u5", "u6", "u7"};
  std::vector<std::string> sigs;
  for (const std::string& id : ids)
    sigs.push_back(generate_usersig(kApp, kKey, id, kExpire, kTime));
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int n = 0; n < 2000; ++n) {
        const int i = (n + t) % 8;
        const bool ok = v.verify(kApp, ids[i], sigs[i], kKey, kTime).has_value();
        const bool wrong = v.verify(kApp, ids[i], sigs[(i + 1) % 8], kKey, kTime).has_value();
        if (!ok || wrong) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(v.size(), 8u);
}

TEST(UserSigVerifier, HitIsMuchCheaperThanFullVerification) {
  UserSigVerifier v;
  const std::string sig = generate_usersig(kApp, kKey, "administrator", kExpire, kTime);
  ASSERT_TRUE(v.verify(kApp, "administrator", sig, kKey, kTime).has_value());
  constexpr int kN = 20000;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < kN; ++i) {
    if (!v.verify(kApp, "administrator", sig, kKey, kTime).has_value()) FAIL();
  }
  const auto t1 = std::chrono::steady_clock::now();
  for (int i = 0; i < kN; ++i) {
    if (!verify_usersig(sig, kApp, "administrator", kKey, kTime).has_value()) FAIL();
  }
  const auto t2 = std::chrono::steady_clock::now();
  const double hit_ns = std::chrono::duration<double, std::nano>(t1 - t0).count() / kN;
  const double full_ns = std::chrono::duration<double, std::nano>(t2 - t1).count() / kN;
  RecordProperty("hit_ns", static_cast<int>(hit_ns));
  RecordProperty("full_ns", static_cast<int>(full_ns));
  EXPECT_LT(hit_ns * 3, full_ns) << "hit " << hit_ns << " ns, full " << full_ns << " ns";
}

}  // namespace
}  // namespace liveroom::auth
