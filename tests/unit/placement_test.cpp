// Placement by app (cluster::preferred_node): what docs/cluster.md promises of it. The apps
// spread evenly; a node that leaves moves only the apps it held, each to the node that was its
// next choice; a node that joins takes apps only for itself; every node computes the same.
#include "cluster/placement.h"

#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace liveroom::cluster {
namespace {

constexpr uint32_t kFirstApp = 1400000001;
constexpr uint32_t kApps = 3000;

std::map<uint32_t, std::string> place(const std::vector<std::string>& nodes) {
  std::map<uint32_t, std::string> host;
  for (uint32_t app = kFirstApp; app < kFirstApp + kApps; ++app) {
    host[app] = preferred_node(app, nodes);
  }
  return host;
}

TEST(Placement, AppsSpreadEvenlyOverTheNodes) {
  const std::vector<std::string> nodes{"n1", "n2", "n3"};
  std::map<std::string, int> per_node;
  for (const auto& [app, node] : place(nodes)) ++per_node[node];
  ASSERT_EQ(per_node.size(), 3u);
  for (const auto& [node, apps] : per_node) {
    EXPECT_GT(apps, 900) << node;  // a third is 1,000
    EXPECT_LT(apps, 1100) << node;
  }
}

TEST(Placement, TheOrderOfTheListDoesNotMatter) {
  const auto a = place({"n1", "n2", "n3"});
  const auto b = place({"n3", "n1", "n2"});
  EXPECT_EQ(a, b);
}

TEST(Placement, ANodeThatLeavesMovesOnlyTheAppsItHeld) {
  const auto before = place({"n1", "n2", "n3"});
  const auto after = place({"n1", "n3"});
  int moved = 0;
  for (const auto& [app, node] : before) {
    if (node == "n2") {
      ++moved;
      EXPECT_NE(after.at(app), "n2");
    } else {
      EXPECT_EQ(after.at(app), node) << "app " << app << " moved though its node stayed";
    }
  }
  EXPECT_GT(moved, 0);
}

TEST(Placement, ANodeThatJoinsTakesAppsOnlyForItself) {
  const auto before = place({"n1", "n2", "n3"});
  const auto after = place({"n1", "n2", "n3", "n4"});
  int taken = 0;
  for (const auto& [app, node] : before) {
    if (after.at(app) == "n4") {
      ++taken;
    } else {
      EXPECT_EQ(after.at(app), node) << "app " << app << " moved between nodes that stayed";
    }
  }
  EXPECT_GT(taken, 600);  // about a quarter of 3,000
  EXPECT_LT(taken, 900);
}

TEST(Placement, ScoresAreTheSameOnEveryBuild) {
  // Nodes of one cluster must agree: a change to the hash would split a cluster of two
  // versions. These values are the hash as first shipped.
  EXPECT_EQ(placement_score(1400000001, "n1"), 8742934380873217266ull);
  EXPECT_EQ(placement_score(1400000001, "n2"), 13537766254925107103ull);
  EXPECT_EQ(placement_score(1400000002, "node-a"), 1932463652286120292ull);
}

}  // namespace
}  // namespace liveroom::cluster
