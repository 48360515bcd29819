// Output stays valid UTF-8 whatever bytes came in (JsonWriter), and the UserID rules.
#include <string>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "base/json_writer.h"
#include "base/utf8.h"
#include "domain/room.h"

namespace liveroom {
namespace {

std::string json_text(std::string_view s) {
  std::string out;
  JsonWriter(out).value(s);
  return out;
}

TEST(JsonWriterUtf8, WellFormedTextIsCopied) {
  EXPECT_EQ(json_text("caf\xc3\xa9 \xe5\x90\x8d \xf0\x9f\x8e\x81"),
            "\"caf\xc3\xa9 \xe5\x90\x8d \xf0\x9f\x8e\x81\"");
  EXPECT_EQ(json_text("a\"b\\c\n\x01"), "\"a\\\"b\\\\c\\n\\u0001\"");
}

TEST(JsonWriterUtf8, EachBadByteBecomesAReplacementCharacter) {
  EXPECT_EQ(json_text("\xff\xfe"), "\"\\ufffd\\ufffd\"");
  EXPECT_EQ(json_text("a\xc0\xafz"), "\"a\\ufffd\\ufffdz\"");         // overlong '/'
  EXPECT_EQ(json_text("\xed\xa0\x80"), "\"\\ufffd\\ufffd\\ufffd\"");  // a UTF-16 surrogate
  EXPECT_EQ(json_text("\xf4\x90\x80\x80"), "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");  // > U+10FFFF
  EXPECT_EQ(json_text("ok\xe5\x90"), "\"ok\\ufffd\\ufffd\"");  // truncated at the end
}

TEST(JsonWriterUtf8, OutputParsesWhateverTheInput) {
  std::string every_byte;
  for (int b = 0; b < 256; ++b) every_byte += static_cast<char>(b);
  const std::string json = json_text(every_byte + every_byte);
  EXPECT_TRUE(is_valid_utf8(json));
  boost::system::error_code ec;
  auto v = boost::json::parse(json, ec);
  ASSERT_FALSE(ec) << json;
  EXPECT_TRUE(is_valid_utf8(v.as_string()));
}

TEST(UserIdRules, AccountIds) {
  EXPECT_TRUE(domain::check_user_id("alice", "UserID"));
  EXPECT_TRUE(domain::check_user_id("名字.bob@x", "UserID"));  // imports may use UTF-8
  EXPECT_TRUE(domain::check_user_id(std::string(32, 'a'), "UserID"));
  EXPECT_FALSE(domain::check_user_id(std::string(33, 'a'), "UserID"));
  EXPECT_FALSE(domain::check_user_id("", "UserID"));
  for (std::string bad : {std::string("a\0b", 3), std::string("a\tb"), std::string("a\x7f"),
                          std::string("a\xc2\x85"), std::string("a\xc2\x9f")}) {
    auto r = domain::check_user_id(bad, "UserID");
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, Code::kInvalidParameter);
    EXPECT_NE(r.error().info.find("UserID contains a control character"), std::string::npos)
        << r.error().info;
  }
  EXPECT_TRUE(domain::check_user_id("a\xc2\xa0", "UserID"));  // U+00A0 is not a control
  auto r = domain::check_user_id("a\xff", "UserID");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().info.find("not well-formed UTF-8"), std::string::npos);
}

TEST(UserIdRules, IdsALoginRegisters) {
  EXPECT_TRUE(domain::check_login_user_id("Alice_01-x", "identifier"));
  for (std::string bad : {"bob.smith", "a b", "名字", "x@y", "a+b"}) {
    auto r = domain::check_login_user_id(bad, "identifier");
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().info.find("letters, digits, '_' and '-'"), std::string::npos);
  }
}

}  // namespace
}  // namespace liveroom
