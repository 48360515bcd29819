// GiftCatalog keeps each app's gifts and categories in memory in step with the store. These tests
// drive it over a real SQLite store: the rules the REST layer cannot see (duplicates, a gift in
// at most three categories, a deleted gift leaving its categories in the same commit), the
// ReadFence every reply waits for, and a reload that gives back exactly what was acknowledged.
#include "engine/gift_catalog.h"

#include <gtest/gtest.h>

#include "base/clock.h"
#include "test_support.h"

namespace liveroom::engine {
namespace {

using testing_support::open_store;
using testing_support::TempDir;
using testing_support::wait_all_durable;

constexpr uint32_t kApp = 1400000001;
constexpr uint32_t kOtherApp = 1400000002;
constexpr uint32_t kUnknownApp = 1400009999;

GiftFields priced(int64_t coins) {
  GiftFields f;
  f.coins = coins;
  f.default_name = "Gift";
  return f;
}

CategoryFields named(std::string name) {
  CategoryFields f;
  f.default_name = std::move(name);
  return f;
}

class GiftCatalogTest : public testing::Test {
 protected:
  GiftCatalogTest() : clock_(1'769'000'000) { reopen(); }
  ~GiftCatalogTest() override {
    catalog_.reset();
    if (store_) store_->close();
  }

  void reopen() {
    catalog_.reset();
    if (store_) store_->close();
    store_ = open_store(dir_.file("liveroom.db"));
    catalog_ =
        std::make_unique<GiftCatalog>(*store_, clock_, std::vector<uint32_t>{kApp, kOtherApp});
    catalog_->load(store_->load());
  }

  GiftCatalog& c() { return *catalog_; }

  TempDir dir_;
  FixedClock clock_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<GiftCatalog> catalog_;
  ReadFence fence_;
};

TEST_F(GiftCatalogTest, WritesRaiseTheFenceAndReadsWaitForTheLastWrite) {
  ReadFence write;
  ASSERT_TRUE(c().add_gift(kApp, "rose", priced(10), write));
  EXPECT_EQ(write.seq, store_->submitted_seq());
  ReadFence read;
  ASSERT_TRUE(c().gift(kApp, "rose", read));
  EXPECT_EQ(read.seq, write.seq);
  ReadFence refused;  // a refusal rests on the catalog too
  EXPECT_FALSE(c().add_gift(kApp, "rose", priced(1), refused));
  EXPECT_EQ(refused.seq, write.seq);
  ReadFence other;  // another app's catalog is not waited for
  ASSERT_TRUE(c().gift_count(kOtherApp, other));
  EXPECT_EQ(other.seq, 0u);
}

TEST_F(GiftCatalogTest, DuplicatesAndUnknownIdsAre100002AndChangeNothing) {
  ASSERT_TRUE(c().add_gift(kApp, "rose", priced(10), fence_));
  const uint64_t before = store_->submitted_seq();
  auto dup = c().add_gift(kApp, "rose", priced(99), fence_);
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, Code::kInvalidParameter);
  EXPECT_EQ(c().edit_gift(kApp, "nope", priced(1), fence_).error().code, Code::kInvalidParameter);
  EXPECT_EQ(c().delete_category(kApp, "nope", fence_).error().code, Code::kInvalidParameter);
  EXPECT_EQ(c().add_gift(kUnknownApp, "rose", priced(1), fence_).error().code,
            Code::kSdkAppIdInvalid);
  EXPECT_EQ(store_->submitted_seq(), before);
  EXPECT_EQ(c().gift(kApp, "rose", fence_)->coins, 10);
}

TEST_F(GiftCatalogTest, EditKeepsLanguagesAndCreateTime) {
  ASSERT_TRUE(c().add_gift(kApp, "rose", priced(10), fence_));
  ASSERT_TRUE(c().set_gift_language(kApp, "rose", "en", {"Rose", "red"}, fence_));
  clock_.advance_millis(30'000);
  ASSERT_TRUE(c().edit_gift(kApp, "rose", priced(12), fence_));
  auto g = c().gift(kApp, "rose", fence_);
  EXPECT_EQ(g->coins, 12);
  EXPECT_EQ(g->create_time, 1'769'000'000);
  EXPECT_EQ(g->languages.at("en"), (domain::LocalText{"Rose", "red"}));
  // a later set only changes what it names
  ASSERT_TRUE(c().set_gift_language(kApp, "rose", "en", {std::nullopt, "crimson"}, fence_));
  EXPECT_EQ(c().gift(kApp, "rose", fence_)->languages.at("en"),
            (domain::LocalText{"Rose", "crimson"}));
}

TEST_F(GiftCatalogTest, AGiftIsInAtMostThreeCategories) {
  ASSERT_TRUE(c().add_gift(kApp, "rose", priced(10), fence_));
  for (std::string id : {"a", "b", "c", "d"})
    ASSERT_TRUE(c().add_category(kApp, id, named(id), fence_));
  for (std::string id : {"a", "b", "c"}) ASSERT_TRUE(c().add_relations(kApp, id, {"rose"}, fence_));
  auto fourth = c().add_relations(kApp, "d", {"rose"}, fence_);
  ASSERT_FALSE(fourth);
  EXPECT_NE(fourth.error().info.find("3 categories"), std::string::npos);
  // listing it again where it is already listed is not a fourth category
  EXPECT_TRUE(c().add_relations(kApp, "a", {"rose"}, fence_));
}

TEST_F(GiftCatalogTest, ADeletedGiftLeavesItsCategoriesInTheSameCommit) {
  ASSERT_TRUE(c().add_gift(kApp, "rose", priced(10), fence_));
  ASSERT_TRUE(c().add_gift(kApp, "lily", priced(5), fence_));
  ASSERT_TRUE(c().add_category(kApp, "popular", named("Popular"), fence_));
  ASSERT_TRUE(c().add_relations(kApp, "popular", {"rose", "lily"}, fence_));
  const uint64_t before = store_->submitted_seq();
  ASSERT_TRUE(c().delete_gift(kApp, "rose", fence_));
  EXPECT_EQ(store_->submitted_seq(), before + 1);  // one submission: the row and the category
  EXPECT_EQ(c().category(kApp, "popular", fence_)->gift_ids, (std::vector<std::string>{"lily"}));
  ASSERT_TRUE(wait_all_durable(*store_));
  reopen();
  auto listing = c().listing(kApp, fence_);
  ASSERT_EQ(listing->gifts.size(), 1u);
  EXPECT_EQ(listing->gifts[0].gift_id, "lily");
  EXPECT_EQ(listing->categories[0].gift_ids, (std::vector<std::string>{"lily"}));
}

TEST_F(GiftCatalogTest, AReloadGivesBackTheCatalogInCreationOrder) {
  ASSERT_TRUE(c().add_gift(kApp, "zeta", priced(1), fence_));
  clock_.advance_millis(1'000);
  ASSERT_TRUE(c().add_gift(kApp, "alpha", priced(2), fence_));
  ASSERT_TRUE(c().add_gift(kApp, "beta", priced(3), fence_));
  ASSERT_TRUE(c().add_gift(kOtherApp, "other", priced(4), fence_));
  ASSERT_TRUE(wait_all_durable(*store_));
  const GiftListing before = *c().listing(kApp, fence_);
  reopen();
  const GiftListing after = *c().listing(kApp, fence_);
  std::vector<std::string> ids;
  for (const auto& g : after.gifts) ids.push_back(g.gift_id);
  EXPECT_EQ(ids, (std::vector<std::string>{"zeta", "alpha", "beta"}));
  EXPECT_EQ(after.gifts, before.gifts);
  EXPECT_EQ(*c().gift_count(kOtherApp, fence_), 1u);
}

}  // namespace
}  // namespace liveroom::engine
