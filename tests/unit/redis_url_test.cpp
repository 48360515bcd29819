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

TEST(RedisUrl, BadFormsSayWhy) {
  EXPECT_THROW(parse_redis_url("http://h"), RedisError);
  EXPECT_THROW(parse_redis_url("redis://h:0"), RedisError);
  EXPECT_THROW(parse_redis_url("redis://h:70000"), RedisError);
  EXPECT_THROW(parse_redis_url("redis://h:1/x"), RedisError);
  EXPECT_THROW(parse_redis_url("redis://:pw@"), RedisError);
}

}  // namespace
}  // namespace liveroom::cluster
