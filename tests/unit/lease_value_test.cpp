#include <gtest/gtest.h>

#include "cluster/leadership.h"

namespace liveroom::cluster {
namespace {

TEST(LeaseValue, NamesTheHolderAndWhereItIsReached) {
  const LeaseHolder h = parse_lease_value("n2 0a1b2c3d4e5f6a7b http://10.0.0.12:8080");
  EXPECT_EQ(h.node_id, "n2");
  EXPECT_EQ(h.advertise_url, "http://10.0.0.12:8080");
  EXPECT_EQ(parse_lease_value("n2 token").advertise_url, "");  // malformed: nobody
  EXPECT_EQ(parse_lease_value("").node_id, "");
}

}  // namespace
}  // namespace liveroom::cluster
