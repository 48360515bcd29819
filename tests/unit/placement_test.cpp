// Placement by app (cluster::preferred_node): what docs/cluster.md promises of it. The apps
// spread evenly; a node that leaves moves only the apps it held, each to the node that was its
// next choice; a node that joins takes apps only for itself; every node computes the same.
#include "cluster/placement.h"
#include "domain/room.h"

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
  // An app's scope without a slot is the app's score.
  EXPECT_EQ(placement_score(LeaseScope{1400000001, std::nullopt}, "n1"), 8742934380873217266ull);
}

TEST(Placement, TheSlotsOfOneAppSpreadOverTheNodes) {
  const std::vector<std::string> nodes{"n1", "n2", "n3"};
  std::map<std::string, int> per_node;
  for (uint32_t slot = 0; slot < 3000; ++slot) {
    ++per_node[preferred_node(LeaseScope{kFirstApp, slot}, nodes)];
  }
  ASSERT_EQ(per_node.size(), 3u);
  for (const auto& [node, slots] : per_node) {
    EXPECT_GT(slots, 900) << node;
    EXPECT_LT(slots, 1100) << node;
  }
  // A slot's score is not its app's, nor another slot's.
  EXPECT_NE(placement_score(LeaseScope{kFirstApp, 0}, "n1"), placement_score(kFirstApp, "n1"));
  EXPECT_NE(placement_score(LeaseScope{kFirstApp, 0}, "n1"),
            placement_score(LeaseScope{kFirstApp, 1}, "n1"));
}

TEST(Placement, ARoomsSlotIsTheSameOnEveryBuildAndRoomsSpread) {
  // FNV-1a of the RoomId's bytes: nodes of two versions must agree on every room's host.
  using domain::room_slot;
  EXPECT_EQ(room_slot("", 64), 14695981039346656037ull % 64);
  EXPECT_EQ(room_slot("a", 64), 0xaf63dc4c8601ec8cull % 64);
  EXPECT_EQ(room_slot("room-1", 8), room_slot("room-1", 8));
  EXPECT_EQ(room_slot("anything", 1), 0u);
  std::map<uint32_t, int> per_slot;
  for (int i = 0; i < 8000; ++i) ++per_slot[room_slot("room-" + std::to_string(i), 8)];
  ASSERT_EQ(per_slot.size(), 8u);
  for (const auto& [slot, rooms] : per_slot) {
    EXPECT_GT(rooms, 850) << slot;
    EXPECT_LT(rooms, 1150) << slot;
  }
}

}  // namespace
}  // namespace liveroom::cluster
