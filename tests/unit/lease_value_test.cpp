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

// A lease handed to one node (rebalancing) names no leader: nobody forwards to "for" or to the
// node it was handed to before that node holds it.
TEST(LeaseValue, AHandedOverLeaseNamesNoLeader) {
  EXPECT_EQ(lease_released_for("n3"), "released for n3");
  EXPECT_EQ(parse_lease_value(lease_released_for("n3")).node_id, "");
  EXPECT_EQ(parse_lease_value(lease_released_for("n3")).advertise_url, "");
  EXPECT_EQ(parse_lease_value(kReleasedLease).advertise_url, "");
}

// Placement by app: one lease per app beside the cluster's key (which stays unused then).
TEST(LeaseKey, EachAppHasItsOwnBesideTheClusters) {
  EXPECT_EQ(lease_key("liveroom"), "liveroom:leader");
  EXPECT_EQ(app_lease_key("liveroom", 1400000001), "liveroom:leader:1400000001");
  EXPECT_EQ(app_lease_key("lr:eu", 4294967295u), "lr:eu:leader:4294967295");
  EXPECT_EQ(slot_lease_key("liveroom", 1400000001, 7), "liveroom:leader:1400000001:7");
  EXPECT_EQ(scope_name({1400000001, 7}), "slot 7 of app 1400000001");
  EXPECT_EQ(scope_name({1400000001, std::nullopt}), "app 1400000001");
}

}  // namespace
}  // namespace liveroom::cluster
