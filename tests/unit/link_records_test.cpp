// The node link's records: what a follower and the leader write is read back whole, in order,
// whatever the payloads hold, and damaged input is refused rather than misread.
#include "cluster/link_records.h"

#include <gtest/gtest.h>

#include "cluster/link_client.h"

namespace liveroom::cluster {
namespace {

std::vector<std::tuple<char, std::string, std::string>> read_all(std::string_view message,
                                                                 bool* ok = nullptr) {
  std::vector<std::tuple<char, std::string, std::string>> out;
  const bool parsed = parse_records(message, [&](const LinkRecord& r) {
    out.emplace_back(r.kind, std::string(r.ids), std::string(r.payload));
  });
  if (ok) *ok = parsed;
  return out;
}

TEST(LinkRecords, RoundTripsPayloadsWithNewlinesDigitsAndSpaces) {
  std::string message;
  append_record(message, 'O', 7, "10.0.0.1\n/gateway?sdkappid=1&identifier=a b");
  append_record(message, 'D', 7, "{\"op\":\"ping\"}\n12 34\n");
  append_record(message, 'C', 18446744073709551615ULL, "");
  bool ok = false;
  auto records = read_all(message, &ok);
  ASSERT_TRUE(ok);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0],
            std::make_tuple('O', std::string("7"),
                            std::string("10.0.0.1\n/gateway?sdkappid=1&identifier=a b")));
  EXPECT_EQ(records[1],
            std::make_tuple('D', std::string("7"), std::string("{\"op\":\"ping\"}\n12 34\n")));
  EXPECT_EQ(records[2], std::make_tuple('C', std::string("18446744073709551615"), std::string()));
}

TEST(LinkRecords, MulticastJoinsTextsAndNamesEveryReceiver) {
  const std::vector<uint64_t> ids{3, 14, 159};
  const std::vector<std::shared_ptr<const std::string>> texts{
      std::make_shared<const std::string>("{\"a\":1}"),
      std::make_shared<const std::string>("{\"b\":2}")};
  std::string message;
  append_record(message, 'B', ids, texts);
  auto records = read_all(message);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(std::get<1>(records[0]), "3,14,159");
  EXPECT_EQ(std::get<2>(records[0]), "{\"a\":1}\n{\"b\":2}");
  EXPECT_EQ(parse_link_ids(std::get<1>(records[0])), ids);
}

TEST(LinkRecords, MessagesJoinedByTheTransportStillSplit) {
  // The transport joins messages queued behind a write with '\n'.
  std::string first, second;
  append_record(first, 'D', 1, "x");
  append_record(second, 'D', 2, "y");
  auto records = read_all(first + "\n" + second);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(std::get<2>(records[1]), "y");
}

TEST(LinkRecords, DamagedInputIsRefused) {
  for (std::string_view bad : {"D 1 5\nabc", "D 1\nabc", "Dx1 3\nabc", "D 1 -3\nabc", "D 1 3",
                               "D 1 99999999999999999999\n", "D  3\nabc"}) {
    bool ok = true;
    read_all(bad, &ok);
    EXPECT_FALSE(ok) << bad;
  }
  EXPECT_EQ(parse_link_ids(""), std::nullopt);
  EXPECT_EQ(parse_link_ids("1,,2"), std::nullopt);
  EXPECT_EQ(parse_link_ids("1,x"), std::nullopt);
  EXPECT_EQ(parse_link_ids("1,"), std::nullopt);
}

TEST(LinkRecords, CallsAndAnswersRoundTripAnyBody) {
  const std::string body = std::string("{\"a\":\"\xff\x00\n R 1 2\n\"}", 17);
  std::string message;
  append_call(message, 41, {"POST", "/v4/x/y?sdkappid=1&random=2", "10.1.2.3", body});
  append_answer(message, 41, {200, "application/json; charset=utf-8", body});
  auto records = read_all(message);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(std::get<0>(records[0]), 'R');
  EXPECT_EQ(std::get<1>(records[0]), "41");
  auto call = parse_call(std::get<2>(records[0]));
  ASSERT_TRUE(call);
  EXPECT_EQ(call->method, "POST");
  EXPECT_EQ(call->target, "/v4/x/y?sdkappid=1&random=2");
  EXPECT_EQ(call->client_address, "10.1.2.3");
  EXPECT_EQ(call->body, body);
  auto answer = parse_answer(std::get<2>(records[1]));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 200u);
  EXPECT_EQ(answer->content_type, "application/json; charset=utf-8");
  EXPECT_EQ(answer->body, body);
}

TEST(LinkRecords, MalformedCallsAndAnswersAreRefused) {
  for (std::string_view bad : {"POST /x", "POST\nbody", " /x 1.2.3.4\n", "POST  1.2.3.4\n"}) {
    EXPECT_FALSE(parse_call(bad)) << bad;
  }
  for (std::string_view bad : {"200", "2x0 a\n", "99 a\n", "600 a\n", "200\n"}) {
    EXPECT_FALSE(parse_answer(bad)) << bad;
  }
}

TEST(LinkRecords, ClosesCarryCodeAndReason) {
  std::string message;
  append_close(message, 9, {1012, "cluster: the leader went away; reconnect"});
  auto records = read_all(message);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(std::get<0>(records[0]), 'C');
  EXPECT_EQ(parse_link_id(std::get<1>(records[0])), 9u);
  const LinkClose close = parse_close(std::get<2>(records[0]));
  EXPECT_EQ(close.code, 1012);
  EXPECT_EQ(close.reason, "cluster: the leader went away; reconnect");
  // Anything else is a server error, its text kept as the reason.
  for (std::string_view bad : {"", "1012", "x reason", "999 low", "5000 high"}) {
    EXPECT_EQ(parse_close(bad).code, 1011) << bad;
  }
  EXPECT_EQ(parse_link_id("12x"), std::nullopt);
}

TEST(LinkRecords, TheSecretMustMatchExactly) {
  EXPECT_TRUE(link_secret_matches("/cluster/link?node=a&secret=abc123", "abc123"));
  EXPECT_TRUE(link_secret_matches("/cluster/link?secret=abc123&node=a", "abc123"));
  EXPECT_FALSE(link_secret_matches("/cluster/link?node=a&secret=abc124", "abc123"));
  EXPECT_FALSE(link_secret_matches("/cluster/link?node=a&secret=abc1234", "abc123"));
  EXPECT_FALSE(link_secret_matches("/cluster/link?node=a&secret=", "abc123"));
  EXPECT_FALSE(link_secret_matches("/cluster/link?node=a", "abc123"));
  EXPECT_FALSE(link_secret_matches("/cluster/link", "abc123"));
  EXPECT_FALSE(link_secret_matches("/cluster/link?secret=", ""));
}

}  // namespace
}  // namespace liveroom::cluster
