// The gift catalogs of the apps (spec §2.7): what add_gift and its sibling commands manage, and
// what a sent gift is priced and named by. Each app's catalog has one mutex; a write is applied
// in memory and submitted to the store under it, so the two see changes in the same order, and
// every reply waits for the catalog's last write (ReadFence) as room replies wait for the room's.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/clock.h"
#include "base/error.h"
#include "domain/gift.h"
#include "engine/read_fence.h"
#include "store/store.h"

namespace liveroom::engine {

// A gift's or category's own fields as add/edit set them (not its languages or relations).
struct GiftFields {
  std::string icon_url;
  std::string resource_url;
  int64_t coins = 0;
  int64_t level = 0;
  std::string extension_info;
  std::string default_name;
  std::string default_desc;
};
struct CategoryFields {
  std::string extension_info;
  std::string default_name;
  std::string default_desc;
};

// A language's texts as set_*_language sends them: a field not sent keeps its value.
struct TextPatch {
  std::optional<std::string> name;
  std::optional<std::string> desc;
};

// The whole catalog of an app: gifts by CreateTime then GiftId, categories likewise.
struct GiftListing {
  std::vector<domain::Gift> gifts;
  std::vector<domain::GiftCategory> categories;
};

class GiftCatalog {
 public:
  GiftCatalog(store::Store& store, const Clock& clock, const std::vector<uint32_t>& sdkappids);
  ~GiftCatalog();
  GiftCatalog(const GiftCatalog&) = delete;
  GiftCatalog& operator=(const GiftCatalog&) = delete;

  // Fills the catalogs at start-up; rows of apps no longer configured are skipped.
  void load(const store::Snapshot& snapshot);
  // Placement by room: the app's catalog as another host of the app left it (PostgreSQL's rows
  // now). False, changing nothing, while this catalog has a write of its own not durable yet:
  // the caller reads the rows again later.
  bool follow(uint32_t sdkappid, std::vector<domain::Gift> gifts,
              std::vector<domain::GiftCategory> categories);

  // 100002 when the GiftId exists already, or the catalog is full.
  Result<void> add_gift(uint32_t sdkappid, const std::string& gift_id, GiftFields fields,
                        ReadFence& fence);
  // Replaces every field add_gift sets; keeps the gift's languages, categories and CreateTime.
  Result<void> edit_gift(uint32_t sdkappid, const std::string& gift_id, GiftFields fields,
                         ReadFence& fence);
  // Also takes the gift out of every category that lists it (in the same commit).
  Result<void> delete_gift(uint32_t sdkappid, std::string_view gift_id, ReadFence& fence);
  Result<domain::Gift> gift(uint32_t sdkappid, std::string_view gift_id, ReadFence& fence) const;
  Result<size_t> gift_count(uint32_t sdkappid, ReadFence& fence) const;
  Result<GiftListing> listing(uint32_t sdkappid, ReadFence& fence) const;

  // Name is required the first time a language is set for the gift.
  Result<void> set_gift_language(uint32_t sdkappid, std::string_view gift_id,
                                 const std::string& language, TextPatch texts, ReadFence& fence);
  Result<void> delete_gift_language(uint32_t sdkappid, std::string_view gift_id,
                                    std::string_view language, ReadFence& fence);

  Result<void> add_category(uint32_t sdkappid, const std::string& category_id,
                            CategoryFields fields, ReadFence& fence);
  Result<void> edit_category(uint32_t sdkappid, const std::string& category_id,
                             CategoryFields fields, ReadFence& fence);
  Result<void> delete_category(uint32_t sdkappid, std::string_view category_id, ReadFence& fence);
  Result<domain::GiftCategory> category(uint32_t sdkappid, std::string_view category_id,
                                        ReadFence& fence) const;
  Result<void> set_category_language(uint32_t sdkappid, std::string_view category_id,
                                     const std::string& language, TextPatch texts,
                                     ReadFence& fence);
  Result<void> delete_category_language(uint32_t sdkappid, std::string_view category_id,
                                        std::string_view language, ReadFence& fence);

  // Every gift must exist; a gift already listed stays where it is; a gift may be in at most
  // kMaxCategoriesPerGift categories.
  Result<void> add_relations(uint32_t sdkappid, std::string_view category_id,
                             const std::vector<std::string>& gift_ids, ReadFence& fence);
  // Gifts the category does not list are ignored.
  Result<void> delete_relations(uint32_t sdkappid, std::string_view category_id,
                                const std::vector<std::string>& gift_ids, ReadFence& fence);

 private:
  struct AppCatalog {
    uint32_t sdkappid = 0;
    mutable std::mutex mu;
    std::map<std::string, domain::Gift, std::less<>> gifts;
    std::map<std::string, domain::GiftCategory, std::less<>> categories;
    uint64_t seq = 0;  // store sequence of the catalog's last write
  };

  AppCatalog* app(uint32_t sdkappid) const;
  // Runs `fn(AppCatalog&)` under the app's mutex, after making the fence wait for the catalog's
  // last write (a read, or a refusal, rests on it). 60006 for an app this server lacks.
  template <typename Fn>
  auto with_catalog(uint32_t sdkappid, ReadFence& fence, Fn&& fn) const
      -> decltype(fn(std::declval<AppCatalog&>())) {
    AppCatalog* a = app(sdkappid);
    if (!a) return fail(Code::kSdkAppIdInvalid);
    std::lock_guard lock(a->mu);
    fence.observe(a->seq);
    return fn(*a);
  }
  // Requires the app's mutex: submits `changes` and makes the fence wait for them.
  void commit(AppCatalog& a, std::vector<store::Change> changes, ReadFence& fence);
  // Requires the app's mutex: stores `item` as `change(copy of item)` makes it, then replaces it.
  template <typename Item, typename Change>
  void replace(AppCatalog& a, Item& item, Change&& change, ReadFence& fence);
  // A gift's or a category's texts in one language; `name_field` names the field a first set
  // must carry.
  template <typename Item>
  Result<void> set_language(AppCatalog& a, Item& item, const std::string& language, TextPatch texts,
                            std::string_view name_field, ReadFence& fence);
  template <typename Item>
  void delete_language(AppCatalog& a, Item& item, std::string_view language, ReadFence& fence);
  static Result<domain::Gift*> find_gift(AppCatalog& a, std::string_view gift_id);
  static Result<domain::GiftCategory*> find_category(AppCatalog& a, std::string_view category_id);

  store::Store& store_;
  const Clock& clock_;
  std::unordered_map<uint32_t, std::unique_ptr<AppCatalog>> apps_;
};

}  // namespace liveroom::engine
