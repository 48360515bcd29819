// The node's one Redis connection (cluster::SharedRedisClient) against a real Redis: many
// threads' commands share one connection and one round trip, yet each caller gets its own reply;
// an urgent command (a leader's renewal) goes ahead of those queued before it; an error reply
// fails only its own command; a lost connection fails the round trip it was in and
// the next command connects again; and an unreachable Redis fails every command with the reason.
//
// They need a server: LIVEROOM_TEST_REDIS_URL names it. `make test` starts one and runs them
// (tests/e2e/test_shared_redis_client.py); without it they skip.
#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "cluster/redis_client.h"
#include "cluster/shared_redis_client.h"

namespace liveroom::cluster {
namespace {

constexpr auto kTimeout = std::chrono::milliseconds(2000);

class SharedRedis : public testing::Test {
 protected:
  void SetUp() override {
    const char* url = std::getenv("LIVEROOM_TEST_REDIS_URL");
    if (url == nullptr || *url == '\0') GTEST_SKIP() << "LIVEROOM_TEST_REDIS_URL is not set";
    address_ = parse_redis_url(url);
    static std::atomic<int> counter{0};
    name_ = "liveroom-unit-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  }

  // The lines of CLIENT LIST that name this test's client.
  std::vector<std::string> connections_named(const std::string& name) {
    RedisClient admin(address_, kTimeout);
    const RedisReply list = admin.command({"CLIENT", "LIST"});
    std::vector<std::string> lines;
    const std::string& text = std::get<std::string>(list);
    for (size_t start = 0; start < text.size();) {
      size_t end = text.find('\n', start);
      if (end == std::string::npos) end = text.size();
      std::string line = text.substr(start, end - start);
      if (line.find(" name=" + name + " ") != std::string::npos) lines.push_back(line);
      start = end + 1;
    }
    return lines;
  }

  RedisAddress address_;
  std::string name_;
};

TEST_F(SharedRedis, ManyThreadsShareOneConnectionAndEachGetsItsOwnReply) {
  SharedRedisClient redis(address_, kTimeout, name_);
  constexpr int kThreads = 16;
  constexpr int kEach = 300;
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        const std::string text = name_ + "-" + std::to_string(t) + "-" + std::to_string(i);
        const RedisReply r = redis.command({"ECHO", text});
        const auto* got = std::get_if<std::string>(&r);
        if (got == nullptr || *got != text) wrong.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(redis.commands(), uint64_t{kThreads * kEach});
  // Sixteen callers at once: round trips carried several commands each.
  EXPECT_LT(redis.round_trips(), redis.commands() / 2);
  EXPECT_EQ(connections_named(name_).size(), 1U);
}

TEST_F(SharedRedis, AnErrorReplyFailsOnlyItsOwnCommand) {
  SharedRedisClient redis(address_, kTimeout, name_);
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        if ((t + i) % 3 == 0) {
          try {
            redis.command({"NO-SUCH-COMMAND", std::to_string(i)});
            wrong.fetch_add(1);
          } catch (const RedisError& e) {
            if (std::string(e.what()).find("unknown command") == std::string::npos) {
              wrong.fetch_add(1);
            }
          }
        } else {
          const std::string text = std::to_string(t) + ":" + std::to_string(i);
          const RedisReply r = redis.command({"ECHO", text});
          if (std::get_if<std::string>(&r) == nullptr || std::get<std::string>(r) != text) {
            wrong.fetch_add(1);
          }
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
  // The error replies left the connection as it was: still the one.
  EXPECT_EQ(connections_named(name_).size(), 1U);
}

TEST_F(SharedRedis, AnUrgentCommandGoesAheadOfTheQueue) {
  // A blocking command holds the connection while more commands queue up than one round trip
  // carries; an urgent one (a leader's renewal) queued last still goes in the next round trip.
  SharedRedisClient redis(address_, kTimeout, name_);
  std::thread blocker([&] { redis.command({"BLPOP", name_ + "-nothing", "1"}); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // BLPOP is in flight
  // Each command increments one counter: its reply is its place in Redis's order.
  const std::string counter = name_ + "-order";
  constexpr int kQueued = 400;  // more than a round trip's 256
  std::vector<std::thread> threads;
  for (int i = 0; i < kQueued; ++i) {
    threads.emplace_back([&] { redis.command({"INCR", counter}); });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // all of them queued
  const RedisReply place = redis.command({"INCR", counter}, /*urgent=*/true);
  for (auto& t : threads) t.join();
  blocker.join();
  // First of all 401 (without the priority, last: after two full round trips).
  EXPECT_EQ(std::get<long long>(place), 1);
  RedisClient(address_, kTimeout).command({"DEL", counter});
}

TEST_F(SharedRedis, ALostConnectionFailsItsRoundTripAndTheNextConnectsAgain) {
  SharedRedisClient redis(address_, kTimeout, name_);
  ASSERT_EQ(std::get<std::string>(redis.command({"ECHO", "before"})), "before");
  // Redis drops the connection (as a restart or a network failure would).
  const auto lines = connections_named(name_);
  ASSERT_EQ(lines.size(), 1U);
  const size_t at = lines[0].find("id=") + 3;
  const std::string id = lines[0].substr(at, lines[0].find(' ', at) - at);
  RedisClient admin(address_, kTimeout);
  ASSERT_EQ(std::get<long long>(admin.command({"CLIENT", "KILL", "ID", id})), 1);
  EXPECT_THROW(redis.command({"ECHO", "lost"}), RedisError);
  EXPECT_EQ(std::get<std::string>(redis.command({"ECHO", "after"})), "after");
  EXPECT_EQ(connections_named(name_).size(), 1U);
}

TEST_F(SharedRedis, AnUnreachableRedisFailsEveryCommandWithTheReason) {
  RedisAddress nowhere = address_;
  nowhere.host = "127.0.0.1";
  nowhere.port = 1;  // nothing listens on port 1 here
  SharedRedisClient redis(nowhere, kTimeout, name_);
  std::atomic<int> failed_with_reason{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      try {
        redis.command({"PING"});
      } catch (const RedisError& e) {
        if (std::string(e.what()).find("cannot connect to Redis at 127.0.0.1:1") !=
            std::string::npos) {
          failed_with_reason.fetch_add(1);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failed_with_reason.load(), 4);
}

}  // namespace
}  // namespace liveroom::cluster
