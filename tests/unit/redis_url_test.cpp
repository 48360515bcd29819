#include <gtest/gtest.h>

#include "cluster/redis_client.h"

namespace liveroom::cluster {
namespace {

TEST(RedisUrl, HostPortDbAndPassword) {
  RedisAddress a = parse_redis_url("redis://:s3cret@10.0.0.6:6380/3");
  EXPECT_EQ(a.host, "10.0.0.6");
  EXPECT_EQ(a.port, 6380);
  EXPECT_EQ(a.db, 3);
  EXPECT_EQ(a.user, "");
  EXPECT_EQ(a.password, "s3cret");
}

TEST(RedisUrl, DefaultsAndAclUser) {
  RedisAddress a = parse_redis_url("redis://cache");
  EXPECT_EQ(a.host, "cache");
  EXPECT_EQ(a.port, 6379);
  EXPECT_EQ(a.db, 0);
  a = parse_redis_url("redis://app:p@ss@h:1/");  // the last '@' ends the credentials
  EXPECT_EQ(a.user, "app");
  EXPECT_EQ(a.password, "p@ss");
  EXPECT_EQ(a.host, "h");
  EXPECT_EQ(a.port, 1);
}

TEST(RedisUrl, SentinelsAndTheMastersName) {
  RedisAddress a = parse_redis_url("redis-sentinel://:pw@s1:26380,s2,10.0.0.9:1/mymaster/2");
  ASSERT_EQ(a.sentinels.size(), 3u);
  EXPECT_EQ(a.sentinels[0].host, "s1");
  EXPECT_EQ(a.sentinels[0].port, 26380);
  EXPECT_EQ(a.sentinels[1].host, "s2");
  EXPECT_EQ(a.sentinels[1].port, 26379);  // Sentinel's default
  EXPECT_EQ(a.sentinels[2].host, "10.0.0.9");
  EXPECT_EQ(a.sentinels[2].port, 1);
  EXPECT_EQ(a.master_name, "mymaster");
  EXPECT_EQ(a.db, 2);
  EXPECT_EQ(a.password, "pw");
  EXPECT_EQ(a.host, "");  // until the Sentinels say
  a = parse_redis_url("redis-sentinel://s/m");
  EXPECT_EQ(a.sentinels.size(), 1u);
  EXPECT_EQ(a.master_name, "m");
  EXPECT_EQ(a.db, 0);
  EXPECT_TRUE(parse_redis_url("redis://h").sentinels.empty());
}

TEST(RedisUrl, BadFormsSayWhy) {
  EXPECT_THROW(parse_redis_url("redis-sentinel://s1,s2"), RedisError);  // no master name
  EXPECT_THROW(parse_redis_url("redis-sentinel://s1,s2/"), RedisError);
  EXPECT_THROW(parse_redis_url("redis-sentinel://s1,,s2/m"), RedisError);
  EXPECT_THROW(parse_redis_url("redis-sentinel://s1:0/m"), RedisError);
  EXPECT_THROW(parse_redis_url("redis-sentinel://s/m/x"), RedisError);
  EXPECT_THROW(parse_redis_url("http://h"), RedisError);
  EXPECT_THROW(parse_redis_url("redis://h:0"), RedisError);
  EXPECT_THROW(parse_redis_url("redis://h:70000"), RedisError);
  EXPECT_THROW(parse_redis_url("redis://h:1/x"), RedisError);
  EXPECT_THROW(parse_redis_url("redis://:pw@"), RedisError);
}

}  // namespace
}  // namespace liveroom::cluster
