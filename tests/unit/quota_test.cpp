// Clients are tuned to Tencent's documented per-API limits, so these tests pin the defaults, the
// operator's ways to change them, and the refill arithmetic, with injected time points so that
// nothing depends on how fast the test machine is.
#include "quota/quota_table.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace liveroom::quota {
namespace {

using namespace std::chrono_literals;
using TimePoint = QuotaTable::Clock::time_point;

constexpr uint32_t kApp = 1400000001;
const TimePoint kT0 = TimePoint(1000s);

// Acquires until the first failure (or `max` successes); returns the number of successes.
int drain(QuotaTable& q, uint32_t app, std::string_view cmd, TimePoint now, int max = 100000) {
  int n = 0;
  while (n < max && q.try_acquire(app, cmd, now).has_value()) ++n;
  return n;
}

TEST(QuotaTable, SpecDefaults) {
  QuotaTable q;
  q.configure_app(kApp, {});
  for (uint32_t app : {kApp, 1400000999u}) {  // configured with no limits, and unconfigured
    SCOPED_TRACE(app);
    EXPECT_EQ(q.limit_for(app, "create_room"), 200u);
    EXPECT_EQ(q.limit_for(app, "get_muted_member_list"), 200u);
    EXPECT_EQ(q.limit_for(app, "send_custom_msg"), 200u);
    EXPECT_EQ(q.limit_for(app, "add_robot"), 100u);
    EXPECT_EQ(q.limit_for(app, "del_robot"), 100u);
    EXPECT_EQ(q.limit_for(app, "get_robot"), 100u);
    EXPECT_EQ(q.limit_for(app, "get_room_stats"), 100u);
    EXPECT_EQ(q.limit_for(app, "get_room_statistic"), 100u);
    EXPECT_EQ(q.limit_for(app, "resume_mcu_task"), 20u);
    EXPECT_EQ(q.limit_for(app, "get_room_list"), 10u);
    for (const char* gift : {"add_gift", "edit_gift", "del_gift", "get_gift", "get_gift_info_list",
                             "get_gift_count", "set_gift_language", "del_gift_category_language",
                             "add_gift_category_relations", "get_gift_category_relations"}) {
      EXPECT_EQ(q.limit_for(app, gift), 1u) << gift;
    }
    EXPECT_EQ(q.limit_for(app, "account_check"), 100u);
    for (const char* other :
         {"account_import", "multiaccount_import", "account_delete", "portrait_get", "portrait_set",
          "send_group_msg", "get_seat_list", "move_user_to_seat", "create_battle",
          "get_battle_info", "set_callback", "get_callback_token", "some_future_command"}) {
      EXPECT_EQ(q.limit_for(app, other), 200u) << other;
    }
    EXPECT_EQ(q.limit_for(app, "live_engine_http_srv/get_room_list"), 10u);
    EXPECT_EQ(q.limit_for(app, "v4/live_engine_http_srv/add_gift"), 1u);
  }
}

TEST(QuotaTable, PerCommandOverridesAndDefault) {
  QuotaTable q;
  config::RateLimits limits;
  limits.per_command = {{"get_room_list", 50}, {"create_room", 0}, {"get_room_statistic", 7}};
  q.configure_app(kApp, limits);
  EXPECT_EQ(q.limit_for(kApp, "get_room_list"), 50u);
  EXPECT_EQ(q.limit_for(kApp, "create_room"), 0u);
  EXPECT_EQ(q.limit_for(kApp, "get_room_stats"), 7u);  // alias configures the shared bucket
  EXPECT_EQ(q.limit_for(kApp, "get_room_statistic"), 7u);
  EXPECT_EQ(q.limit_for(kApp, "add_gift"), 1u);  // untouched spec default
  EXPECT_EQ(q.limit_for(kApp, "destroy_room"), 200u);
  EXPECT_EQ(drain(q, kApp, "get_room_list", kT0), 50);
  EXPECT_EQ(drain(q, kApp, "create_room", kT0, 5000), 5000);  // 0 = unlimited
  EXPECT_EQ(drain(q, kApp, "get_room_stats", kT0), 7);

  // `default` replaces the spec default of every command not listed, gifts included.
  config::RateLimits with_default;
  with_default.default_per_second = 500;
  with_default.per_command = {{"get_room_list", 3}};
  q.configure_app(kApp, with_default);
  EXPECT_EQ(q.limit_for(kApp, "add_gift"), 500u);
  EXPECT_EQ(q.limit_for(kApp, "create_room"), 500u);
  EXPECT_EQ(q.limit_for(kApp, "unknown_command"), 500u);
  EXPECT_EQ(q.limit_for(kApp, "get_room_list"), 3u);
  EXPECT_EQ(drain(q, kApp, "add_gift", kT0), 500);
  EXPECT_EQ(drain(q, kApp, "get_room_list", kT0), 3);  // reconfiguring gave fresh buckets

  // Canonical name wins over its alias when both are listed.
  config::RateLimits both;
  both.per_command = {{"get_room_statistic", 7}, {"get_room_stats", 9}};
  q.configure_app(kApp, both);
  EXPECT_EQ(q.limit_for(kApp, "get_room_statistic"), 9u);
}

TEST(QuotaTable, DefaultZeroDisablesEveryLimit) {
  QuotaTable q;
  config::RateLimits off;
  off.default_per_second = 0;
  q.configure_app(kApp, off);
  for (const char* cmd : {"add_gift", "get_room_list", "create_room", "account_check", "x"}) {
    EXPECT_EQ(q.limit_for(kApp, cmd), 0u) << cmd;
    EXPECT_EQ(drain(q, kApp, cmd, kT0, 3000), 3000) << cmd;
  }
  // A listed command keeps its own limit.
  off.per_command = {{"get_room_list", 2}};
  q.configure_app(kApp, off);
  EXPECT_EQ(drain(q, kApp, "get_room_list", kT0), 2);
}

TEST(QuotaTable, RefillsContinuouslyUpToOneSecondsWorth) {
  QuotaTable q;
  EXPECT_EQ(drain(q, kApp, "get_room_list", kT0), 10);
  EXPECT_FALSE(q.try_acquire(kApp, "get_room_list", kT0 + 99ms).has_value());
  EXPECT_TRUE(q.try_acquire(kApp, "get_room_list", kT0 + 100ms).has_value());
  EXPECT_FALSE(q.try_acquire(kApp, "get_room_list", kT0 + 100ms).has_value());
  EXPECT_EQ(drain(q, kApp, "get_room_list", kT0 + 350ms), 2);  // 0.25 s -> 2.5 tokens
  EXPECT_EQ(drain(q, kApp, "get_room_list", kT0 + 400ms), 1);  // the half token + 0.5
  // A long pause refills to capacity, never beyond.
  EXPECT_EQ(drain(q, kApp, "get_room_list", kT0 + 1h), 10);

  // 1/s gift: exactly one per second.
  EXPECT_TRUE(q.try_acquire(kApp, "add_gift", kT0).has_value());
  EXPECT_FALSE(q.try_acquire(kApp, "add_gift", kT0 + 999ms).has_value());
  EXPECT_TRUE(q.try_acquire(kApp, "add_gift", kT0 + 1000ms).has_value());
  EXPECT_FALSE(q.try_acquire(kApp, "add_gift", kT0 + 1000ms).has_value());

  // A time point earlier than the last one neither refills nor breaks the bucket.
  EXPECT_FALSE(q.try_acquire(kApp, "add_gift", kT0).has_value());
  EXPECT_TRUE(q.try_acquire(kApp, "add_gift", kT0 + 2000ms).has_value());

  // Steady rate: 20/s for resume_mcu_task, one request every 50 ms forever.
  EXPECT_EQ(drain(q, kApp, "resume_mcu_task", kT0), 20);
  for (int i = 1; i <= 100; ++i) {
    ASSERT_TRUE(q.try_acquire(kApp, "resume_mcu_task", kT0 + i * 50ms).has_value()) << i;
    ASSERT_FALSE(q.try_acquire(kApp, "resume_mcu_task", kT0 + i * 50ms).has_value()) << i;
  }
}

TEST(QuotaTable, BucketsArePerAppAndCommand) {
  QuotaTable q;
  EXPECT_EQ(drain(q, kApp, "get_room_list", kT0), 10);
  EXPECT_EQ(drain(q, kApp + 1, "get_room_list", kT0), 10);
  EXPECT_EQ(drain(q, kApp, "add_robot", kT0), 100);
  EXPECT_EQ(drain(q, kApp, "add_gift", kT0), 1);
  EXPECT_EQ(drain(q, kApp, "edit_gift", kT0), 1);  // each gift API has its own bucket
}

TEST(QuotaTable, StatisticAliasSharesTheBucket) {
  QuotaTable q;
  EXPECT_EQ(drain(q, kApp, "get_room_stats", kT0, 60), 60);
  EXPECT_EQ(drain(q, kApp, "get_room_statistic", kT0), 40);
  EXPECT_FALSE(q.try_acquire(kApp, "get_room_stats", kT0).has_value());
  EXPECT_TRUE(q.try_acquire(kApp, "live_engine_http_srv/get_room_statistic", kT0 + 10ms));
}

TEST(QuotaTable, ErrorInfoNamesCommandAndLimit) {
  QuotaTable q;
  drain(q, kApp, "get_room_list", kT0);
  auto r = q.try_acquire(kApp, "get_room_list", kT0);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Code::kRateLimited);
  EXPECT_EQ(wire_code(r.error().code), 60007);
  EXPECT_EQ(r.error().info,
            "get_room_list exceeds its limit of 10 requests per second for sdkappid 1400000001");

  drain(q, kApp, "add_gift_category", kT0);
  r = q.try_acquire(kApp, "add_gift_category", kT0);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().info,
            "add_gift_category exceeds its limit of 1 request per second for sdkappid 1400000001");

  drain(q, kApp, "get_room_statistic", kT0);
  r = q.try_acquire(kApp, "v4/live_engine_http_srv/get_room_statistic", kT0);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(
      r.error().info,
      "get_room_statistic exceeds its limit of 100 requests per second for sdkappid 1400000001");
}

TEST(QuotaTable, ConstructorTakesConfiguredApps) {
  config::AppConfig a;
  a.sdkappid = kApp;
  a.rate_limits.per_command = {{"create_room", 2}};
  QuotaTable q({a});
  EXPECT_EQ(q.limit_for(kApp, "create_room"), 2u);
  EXPECT_EQ(drain(q, kApp, "create_room", kT0), 2);
}

TEST(QuotaTable, ManyUnknownCommandsAndAppsStayLimited) {
  QuotaTable q;
  for (int i = 0; i < 400; ++i) {
    const std::string cmd = "unknown_" + std::to_string(i);
    ASSERT_TRUE(q.try_acquire(kApp, cmd, kT0).has_value()) << cmd;
  }
  // Past the per-app bound (256 names) unknown names share one 200/s bucket, which 144 names
  // have used; earlier names keep their own bucket.
  EXPECT_EQ(drain(q, kApp, "unknown_399", kT0), 200 - (400 - 256));
  EXPECT_EQ(drain(q, kApp, "unknown_0", kT0), 199);
  // kApp is the first unconfigured app; 1023 more get their own buckets...
  for (uint32_t app = 1; app <= 1023; ++app) {
    ASSERT_TRUE(q.try_acquire(app, "get_room_list", kT0).has_value()) << app;
  }
  // ...and any further unknown sdkappid shares one set of buckets (10/s for get_room_list).
  int granted = 0;
  for (uint32_t app = 5000; app < 5100; ++app) {
    granted += q.try_acquire(app, "get_room_list", kT0).has_value() ? 1 : 0;
  }
  EXPECT_EQ(granted, 10);
  // Configuring an app always gives it its own buckets.
  q.configure_app(6000, {});
  EXPECT_EQ(drain(q, 6000, "get_room_list", kT0), 10);
  EXPECT_EQ(drain(q, 7, "get_room_list", kT0), 9);
}

TEST(QuotaTable, ConcurrentAcquireGrantsExactlyTheLimit) {
  QuotaTable q;
  config::RateLimits limits;
  limits.per_command = {{"create_room", 1000}};
  q.configure_app(kApp, limits);
  std::atomic<int> granted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 1000; ++i) {
        if (q.try_acquire(kApp, "create_room", kT0).has_value()) ++granted;
        if (i % 100 == 0) {  // concurrent reconfiguration of another app is safe
          q.configure_app(kApp + 1 + static_cast<uint32_t>(t), limits);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(granted.load(), 1000);
}

}  // namespace
}  // namespace liveroom::quota
