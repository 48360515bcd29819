// Log shippers drop a line they cannot parse, so every JSON line must be valid JSON whatever the
// message holds (quotes, newlines, control bytes, broken UTF-8 from a client), and the
// request_id must appear exactly while a request is being handled on that thread.
#include "base/log.h"
#include "base/log_throttle.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "text_shape.h"

namespace liveroom {
namespace {

namespace json = boost::json;

// A logger writing through the given format into a string.
class Capture {
 public:
  explicit Capture(LogFormat format)
      : sink_(std::make_shared<spdlog::sinks::ostream_sink_mt>(out_)), logger_("test", sink_) {
    sink_->set_formatter(make_log_formatter(format));
    logger_.set_level(spdlog::level::trace);
  }
  spdlog::logger& logger() { return logger_; }
  std::vector<std::string> lines() const {
    std::vector<std::string> result;
    std::istringstream in(out_.str());
    for (std::string line; std::getline(in, line);) result.push_back(line);
    return result;
  }
  // Every line parsed strictly (no comments, UTF-8 checked), as objects.
  std::vector<json::object> records() const {
    std::vector<json::object> result;
    for (const std::string& line : lines()) {
      json::error_code ec;
      json::value v = json::parse(line, ec);
      EXPECT_FALSE(ec) << ec.message() << " in: " << line;
      if (!ec && v.is_object()) result.push_back(v.as_object());
    }
    return result;
  }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink_;
  spdlog::logger logger_;
};

std::string msg_of(const json::object& record) {
  return std::string(record.at("msg").as_string());
}

TEST(JsonLog, OneObjectPerLineWithTheDocumentedFields) {
  Capture c(LogFormat::kJson);
  c.logger().info("liveroomd listening on {} (port {})", "127.0.0.1:8080", 8080);
  c.logger().warn("second");
  auto records = c.records();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].size(), 3u);  // ts, level, msg; no request_id outside a request
  EXPECT_EQ(records[0].at("level").as_string(), "info");
  EXPECT_EQ(msg_of(records[0]), "liveroomd listening on 127.0.0.1:8080 (port 8080)");
  EXPECT_TRUE(testing_support::has_shape(std::string(records[0].at("ts").as_string()),
                                         "####-##-##T##:##:##.###Z"));
  EXPECT_EQ(records[1].at("level").as_string(), "warning");
  // The line's text begins with the timestamp, as the documented example shows.
  EXPECT_TRUE(c.lines()[0].starts_with(R"({"ts":")"));
}

TEST(JsonLog, TimestampIsUtcWithMilliseconds) {
  using namespace std::chrono;
  auto formatter = make_log_formatter(LogFormat::kJson);
  const sys_days day = year{2026} / November / 26;
  // Two records in one second (the formatter reuses the formatted second), then the next second.
  const std::pair<system_clock::time_point, const char*> cases[] = {
      {day + 2h + 40min + 123ms, "2026-11-26T02:40:00.123Z"},
      {day + 2h + 40min + 7ms, "2026-11-26T02:40:00.007Z"},
      {day + 2h + 40min + 1s + 999ms, "2026-11-26T02:40:01.999Z"},
      {day - 1ms, "2026-11-25T23:59:59.999Z"},
  };
  for (const auto& [time, expected] : cases) {
    spdlog::memory_buf_t buf;
    formatter->format(spdlog::details::log_msg(time, {}, "test", spdlog::level::info, "m"), buf);
    EXPECT_EQ(std::string(buf.data(), buf.size()),
              std::string(R"({"ts":")") + expected + R"(","level":"info","msg":"m"})" + "\n");
  }
}

TEST(JsonLog, EscapesQuotesNewlinesAndControlCharacters) {
  Capture c(LogFormat::kJson);
  const std::string nasty =
      std::string("say \"hi\" \\ back\nslash\r\ttab\b\f") + '\0' + "\x01\x1f\x7f end";
  c.logger().error("{}", nasty);
  ASSERT_EQ(c.lines().size(), 1u);  // the newline inside did not split the record
  EXPECT_NE(c.lines()[0].find(R"("msg":"say \"hi\" \\ back\nslash\r\ttab\b\f\u0000\u0001\u001f)"
                              "\x7f end\"}"),  // DEL needs no escape
            std::string::npos)
      << c.lines()[0];
  auto records = c.records();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(msg_of(records[0]), nasty);  // and it reads back as exactly what was logged
}

TEST(JsonLog, KeepsValidUtf8AndReplacesInvalidBytes) {
  Capture c(LogFormat::kJson);
  const std::string valid = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf";
  c.logger().info("{}", valid);
  const std::pair<std::string, std::string> invalid[] = {
      {"a\xff"
       "b",
       "a\ufffd"
       "b"},                                             // never a UTF-8 byte
      {"\x80", "\ufffd"},                                // a lone continuation byte
      {"\xc0\xaf", "\ufffd\ufffd"},                      // overlong '/'
      {"\xe0\x80\xaf", "\ufffd\ufffd\ufffd"},            // overlong, 3 bytes
      {"\xed\xa0\x80", "\ufffd\ufffd\ufffd"},            // a UTF-16 surrogate
      {"\xf4\x90\x80\x80", "\ufffd\ufffd\ufffd\ufffd"},  // above U+10FFFF
      {"x\xe2\x82", "x\ufffd\ufffd"},                    // cut off at the end
      {"\xe2\x82"
       "A",
       "\ufffd\ufffd"
       "A"},  // cut off before ASCII
  };
  for (const auto& [in, out] : invalid) c.logger().info("{}", in);
  auto records = c.records();
  ASSERT_EQ(records.size(), 1 + std::size(invalid));
  EXPECT_EQ(msg_of(records[0]), valid);
  for (size_t i = 0; i < std::size(invalid); ++i) {
    EXPECT_EQ(msg_of(records[i + 1]), invalid[i].second) << i;
  }
}

TEST(JsonLog, RequestIdOnlyInsideAScope) {
  Capture c(LogFormat::kJson);
  c.logger().info("before");
  {
    ScopedRequestId outer("Id-1-O-Seq-1");
    c.logger().info("inside");
    {
      ScopedRequestId inner("Id-\"odd\"");
      c.logger().info("nested");
    }
    c.logger().info("back in outer");
  }
  c.logger().info("after");

  auto records = c.records();
  ASSERT_EQ(records.size(), 5u);
  EXPECT_FALSE(records[0].contains("request_id"));
  EXPECT_EQ(records[1].at("request_id").as_string(), "Id-1-O-Seq-1");
  EXPECT_EQ(records[2].at("request_id").as_string(), "Id-\"odd\"");
  EXPECT_EQ(records[3].at("request_id").as_string(), "Id-1-O-Seq-1");
  EXPECT_FALSE(records[4].contains("request_id"));
  EXPECT_EQ(current_request_id(), "");
}

TEST(JsonLog, SetAndClearRequestId) {
  Capture c(LogFormat::kJson);
  set_request_id("Id-7");
  c.logger().info("a");
  clear_request_id();
  c.logger().info("b");
  auto records = c.records();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].at("request_id").as_string(), "Id-7");
  EXPECT_FALSE(records[1].contains("request_id"));
}

TEST(JsonLog, RequestIdBelongsToItsThread) {
  Capture c(LogFormat::kJson);
  ScopedRequestId here("Id-main");
  std::thread([&] { c.logger().info("other thread"); }).join();
  c.logger().info("this thread");
  auto records = c.records();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_FALSE(records[0].contains("request_id"));
  EXPECT_EQ(records[1].at("request_id").as_string(), "Id-main");
}

TEST(TextLog, AppendsRequestIdInsideAScope) {
  Capture c(LogFormat::kText);
  c.logger().info("plain");
  {
    ScopedRequestId id("Id-9");
    c.logger().warn("tagged");
  }
  auto lines = c.lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_TRUE(testing_support::has_shape(lines[0], "####-##-##T##:##:##.###Z [info] plain"))
      << lines[0];
  EXPECT_TRUE(lines[1].ends_with("[warning] tagged request_id=Id-9")) << lines[1];
}

TEST(Logging, ParsesCommandLineValues) {
  EXPECT_EQ(parse_log_format("text"), LogFormat::kText);
  EXPECT_EQ(parse_log_format("json"), LogFormat::kJson);
  EXPECT_EQ(parse_log_format("JSON"), std::nullopt);
  EXPECT_EQ(parse_log_format(""), std::nullopt);

  EXPECT_EQ(parse_log_level("trace"), spdlog::level::trace);
  EXPECT_EQ(parse_log_level("debug"), spdlog::level::debug);
  EXPECT_EQ(parse_log_level("info"), spdlog::level::info);
  EXPECT_EQ(parse_log_level("warn"), spdlog::level::warn);
  EXPECT_EQ(parse_log_level("warning"), spdlog::level::warn);
  EXPECT_EQ(parse_log_level("error"), spdlog::level::err);
  EXPECT_EQ(parse_log_level("critical"), spdlog::level::critical);
  EXPECT_EQ(parse_log_level("off"), spdlog::level::off);
  EXPECT_EQ(parse_log_level("verbose"), std::nullopt);
}

TEST(Logging, InitInstallsTheDefaultLogger) {
  auto previous = spdlog::default_logger();
  init_logging(LogFormat::kJson, spdlog::level::warn);
  EXPECT_EQ(spdlog::default_logger()->name(), "liveroomd");
  EXPECT_EQ(spdlog::default_logger()->level(), spdlog::level::warn);
  EXPECT_FALSE(spdlog::default_logger()->should_log(spdlog::level::info));
  spdlog::drop("liveroomd");
  spdlog::set_default_logger(previous);
}

TEST(LogThrottle, LetsOneThroughPerIntervalAndCountsTheRest) {
  using namespace std::chrono_literals;
  LogThrottle throttle(10s);
  const auto t0 = std::chrono::steady_clock::time_point(100s);
  EXPECT_EQ(throttle.allow(t0), 0u);  // the first is logged at once
  EXPECT_FALSE(throttle.allow(t0 + 1s));
  EXPECT_FALSE(throttle.allow(t0 + 9s));
  EXPECT_EQ(throttle.allow(t0 + 10s), 2u);  // with the two held back
  EXPECT_FALSE(throttle.allow(t0 + 19s));
  EXPECT_EQ(throttle.allow(t0 + 60s), 1u);
}

TEST(LogThrottle, LetsExactlyOneThroughAmongThreads) {
  LogThrottle throttle(std::chrono::hours(1));
  std::atomic<int> logged{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        if (throttle.allow()) logged.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(logged.load(), 1);
}

}  // namespace
}  // namespace liveroom
