// The tests that check timestamps and request ids with has_shape pass vacuously if it accepts
// too much, so its rejections are checked here.
#include "text_shape.h"

#include <gtest/gtest.h>

namespace liveroom::testing_support {
namespace {

TEST(TextShape, DigitsHexAndLiterals) {
  EXPECT_TRUE(has_shape("2024-01-31T23:59:07.123Z", "####-##-##T##:##:##.###Z"));
  EXPECT_FALSE(has_shape("2024-01-31T23:59:07.12Z", "####-##-##T##:##:##.###Z"));
  EXPECT_FALSE(has_shape("2024-01-31T23:59:07.1234Z", "####-##-##T##:##:##.###Z"));
  EXPECT_FALSE(has_shape("2024-01-31 23:59:07.123Z", "####-##-##T##:##:##.###Z"));
  EXPECT_FALSE(has_shape("2024-0a-31T23:59:07.123Z", "####-##-##T##:##:##.###Z"));
  EXPECT_TRUE(has_shape("Id-0f9a", "Id-%%%%"));
  EXPECT_FALSE(has_shape("Id-0F9a", "Id-%%%%"));
  EXPECT_FALSE(has_shape("Id-0g9a", "Id-%%%%"));
  EXPECT_FALSE(has_shape("", "#"));
  EXPECT_TRUE(has_shape("", ""));
}

TEST(TextShape, OneOrMore) {
  EXPECT_TRUE(has_shape("Seq-7", "Seq-#+"));
  EXPECT_TRUE(has_shape("Seq-1234567890", "Seq-#+"));
  EXPECT_FALSE(has_shape("Seq-", "Seq-#+"));
  EXPECT_FALSE(has_shape("Seq-12x", "Seq-#+"));
  EXPECT_TRUE(has_shape("a12b", "a#+b"));
  EXPECT_FALSE(has_shape("ab", "a#+b"));
}

}  // namespace
}  // namespace liveroom::testing_support
