#include "engine/gift_catalog.h"

#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace liveroom::engine {

namespace {

// Both listings are ordered as the console shows them: oldest first, ties by id.
template <typename T, typename Id>
void sort_by_creation(std::vector<T>& items, Id id) {
  std::ranges::sort(items, [&](const T& a, const T& b) {
    if (a.create_time != b.create_time) return a.create_time < b.create_time;
    return id(a) < id(b);
  });
}

void apply_text(std::map<std::string, domain::LocalText, std::less<>>& languages,
                const std::string& language, TextPatch texts) {
  domain::LocalText& t = languages[language];
  if (texts.name) t.name = std::move(*texts.name);
  if (texts.desc) t.desc = std::move(*texts.desc);
}

store::Change row_of(uint32_t sdkappid, domain::Gift gift) {
  return store::PutGift{sdkappid, std::move(gift)};
}

store::Change row_of(uint32_t sdkappid, domain::GiftCategory category) {
  return store::PutGiftCategory{sdkappid, std::move(category)};
}

}  // namespace

GiftCatalog::GiftCatalog(store::Store& store, const Clock& clock,
                         const std::vector<uint32_t>& sdkappids)
    : store_(store), clock_(clock) {
  for (uint32_t id : sdkappids) {
    auto a = std::make_unique<AppCatalog>();
    a->sdkappid = id;
    apps_.emplace(id, std::move(a));
  }
}

GiftCatalog::~GiftCatalog() = default;

void GiftCatalog::load(const store::Snapshot& snapshot) {
  size_t skipped = 0;
  for (const auto& [sdkappid, gift] : snapshot.gifts) {
    if (AppCatalog* a = app(sdkappid)) {
      a->gifts.emplace(gift.gift_id, gift);
    } else {
      ++skipped;
    }
  }
  for (const auto& [sdkappid, category] : snapshot.gift_categories) {
    if (AppCatalog* a = app(sdkappid)) {
      a->categories.emplace(category.category_id, category);
    } else {
      ++skipped;
    }
  }
  if (skipped > 0) {
    spdlog::warn("store: skipped {} gift catalog rows of apps no longer configured", skipped);
  }
}

bool GiftCatalog::follow(uint32_t sdkappid, std::vector<domain::Gift> gifts,
                         std::vector<domain::GiftCategory> categories) {
  AppCatalog* a = app(sdkappid);
  if (!a) return true;
  std::lock_guard lock(a->mu);
  if (a->seq > store_.durable_seq()) return false;
  a->gifts.clear();
  for (auto& g : gifts) {
    std::string id = g.gift_id;
    a->gifts.emplace(std::move(id), std::move(g));
  }
  a->categories.clear();
  for (auto& c : categories) {
    std::string id = c.category_id;
    a->categories.emplace(std::move(id), std::move(c));
  }
  return true;
}

GiftCatalog::AppCatalog* GiftCatalog::app(uint32_t sdkappid) const {
  auto it = apps_.find(sdkappid);
  return it == apps_.end() ? nullptr : it->second.get();
}

void GiftCatalog::commit(AppCatalog& a, std::vector<store::Change> changes, ReadFence& fence) {
  a.seq = store_.submit(std::move(changes));
  fence.observe(a.seq);
}

Result<domain::Gift*> GiftCatalog::find_gift(AppCatalog& a, std::string_view gift_id) {
  auto it = a.gifts.find(gift_id);
  if (it == a.gifts.end()) {
    return fail(Code::kInvalidParameter, fmt::format("GiftId '{}' does not exist", gift_id));
  }
  return &it->second;
}

Result<domain::GiftCategory*> GiftCatalog::find_category(AppCatalog& a,
                                                         std::string_view category_id) {
  auto it = a.categories.find(category_id);
  if (it == a.categories.end()) {
    return fail(Code::kInvalidParameter,
                fmt::format("CategoryId '{}' does not exist", category_id));
  }
  return &it->second;
}

template <typename Item, typename Change>
void GiftCatalog::replace(AppCatalog& a, Item& item, Change&& change, ReadFence& fence) {
  Item next = item;
  change(next);
  commit(a, {row_of(a.sdkappid, next)}, fence);
  item = std::move(next);
}

template <typename Item>
Result<void> GiftCatalog::set_language(AppCatalog& a, Item& item, const std::string& language,
                                       TextPatch texts, std::string_view name_field,
                                       ReadFence& fence) {
  if (!item.languages.contains(language) && !texts.name) {
    return fail(
        Code::kInvalidParameter,
        fmt::format("{} is required the first time {} texts are set", name_field, language));
  }
  replace(
      a, item, [&](Item& next) { apply_text(next.languages, language, std::move(texts)); }, fence);
  return {};
}

template <typename Item>
void GiftCatalog::delete_language(AppCatalog& a, Item& item, std::string_view language,
                                  ReadFence& fence) {
  if (!item.languages.contains(language)) return;  // nothing to delete: done already
  replace(
      a, item, [&](Item& next) { next.languages.erase(next.languages.find(language)); }, fence);
}

Result<void> GiftCatalog::add_gift(uint32_t sdkappid, const std::string& gift_id, GiftFields fields,
                                   ReadFence& fence) {
  return with_catalog(sdkappid, fence, [&](AppCatalog& a) -> Result<void> {
    if (a.gifts.contains(gift_id)) {
      return fail(Code::kInvalidParameter,
                  fmt::format("GiftId '{}' exists already; edit_gift changes it", gift_id));
    }
    if (a.gifts.size() >= domain::kMaxGiftsPerApp) {
      return fail(
          Code::kInvalidParameter,
          fmt::format("the catalog holds {} gifts, the most it may", domain::kMaxGiftsPerApp));
    }
    domain::Gift g{gift_id,
                   std::move(fields.icon_url),
                   std::move(fields.resource_url),
                   fields.coins,
                   fields.level,
                   std::move(fields.extension_info),
                   std::move(fields.default_name),
                   std::move(fields.default_desc),
                   clock_.unix_seconds(),
                   {}};
    commit(a, {store::PutGift{sdkappid, g}}, fence);
    a.gifts.emplace(gift_id, std::move(g));
    return {};
  });
}

Result<void> GiftCatalog::edit_gift(uint32_t sdkappid, const std::string& gift_id,
                                    GiftFields fields, ReadFence& fence) {
  return with_catalog(sdkappid, fence, [&](AppCatalog& a) -> Result<void> {
    auto found = find_gift(a, gift_id);
    if (!found) return std::unexpected(found.error());
    replace(
        a, **found,
        [&](domain::Gift& next) {
          next.icon_url = std::move(fields.icon_url);
          next.resource_url = std::move(fields.resource_url);
          next.coins = fields.coins;
          next.level = fields.level;
          next.extension_info = std::move(fields.extension_info);
          next.default_name = std::move(fields.default_name);
          next.default_desc = std::move(fields.default_desc);
        },
        fence);
    return {};
  });
}

Result<void> GiftCatalog::delete_gift(uint32_t sdkappid, std::string_view gift_id,
                                      ReadFence& fence) {
  return with_catalog(sdkappid, fence, [&](AppCatalog& a) -> Result<void> {
    auto found = find_gift(a, gift_id);
    if (!found) return std::unexpected(found.error());
    std::vector<store::Change> changes{store::DeleteGift{sdkappid, std::string(gift_id)}};
    std::vector<domain::GiftCategory*> listing;
    for (auto& [id, category] : a.categories) {
      if (std::ranges::find(category.gift_ids, gift_id) == category.gift_ids.end()) continue;
      domain::GiftCategory next = category;
      std::erase(next.gift_ids, gift_id);
      changes.push_back(store::PutGiftCategory{sdkappid, std::move(next)});
      listing.push_back(&category);
    }
    commit(a, std::move(changes), fence);
    for (domain::GiftCategory* category : listing) std::erase(category->gift_ids, gift_id);
    a.gifts.erase(a.gifts.find(gift_id));
    return {};
  });
}

Result<domain::Gift> GiftCatalog::gift(uint32_t sdkappid, std::string_view gift_id,
                                       ReadFence& fence) const {
  return with_catalog(sdkappid, fence, [&](AppCatalog& a) -> Result<domain::Gift> {
    auto found = find_gift(a, gift_id);
    if (!found) return std::unexpected(found.error());
    return **found;
  });
}

Result<size_t> GiftCatalog::gift_count(uint32_t sdkappid, ReadFence& fence) const {
  return with_catalog(sdkappid, fence,
                      [&](AppCatalog& a) -> Result<size_t> { return a.gifts.size(); });
}

Result<GiftListing> GiftCatalog::listing(uint32_t sdkappid, ReadFence& fence) const {
  return with_catalog(sdkappid, fence, [&](AppCatalog& a) -> Result<GiftListing> {
    GiftListing out;
    out.gifts.reserve(a.gifts.size());
    for (const auto& [id, g] : a.gifts) out.gifts.push_back(g);
    out.categories.reserve(a.categories.size());
    for (const auto& [id, c] : a.categories) out.categories.push_back(c);
    sort_by_creation(out.gifts,
                     [](const domain::Gift& g) -> const std::string& { return g.gift_id; });
    sort_by_creation(out.categories, [](const domain::GiftCategory& c) -> const std::string& {
      return c.category_id;
    });
    return out;
  });
}

Result<void> GiftCatalog::set_gift_language(uint32_t sdkappid, std::string_view gift_id,
                                            const std::string& language, TextPatch texts,
                                            ReadFence& fence) {
  return with_catalog(sdkappid, fence, [&](AppCatalog& a) -> Result<void> {
    auto found = find_gift(a, gift_id);
    if (!found) return std::unexpected(found.error());
    return set_language(a, **found, language, std::move(texts), "Name", fence);
  });
}

Result<void> GiftCatalog::delete_gift_language(uint32_t sdkappid, std::string_view gift_id,
                                               std::string_view language, ReadFence& fence) {
  return with_catalog(sdkappid, fence, [&](AppCatalog& a) -> Result<void> {
    auto found = find_gift(a, gift_id);
    if (!found) return std::unexpected(found.error());
    delete_language(a, **found, language, fence);
    return {};
  });
}

Result<void> GiftCatalog::add_category(uint32_t sdkappid, const std::string& category_id,
                                       CategoryFields fields, ReadFence& fence) {
  return with_catalog(sdkappid, fence, [&](AppCatalog& a) -> Result<void> {
    if (a.categories.contains(category_id)) {
      return fail(Code::kInvalidParameter,
                  fmt::format("CategoryId '{}' exists already; edit_gift_category changes it",
                              category_id));
    }
    if (a.categories.size() >= domain::kMaxCategoriesPerApp) {
      return fail(Code::kInvalidParameter,
                  fmt::format("the catalog holds {} categories, the most it may",
                              domain::kMaxCategoriesPerApp));
    }
    domain::GiftCategory c{category_id,
                           std::move(fields.extension_info),
                           std::move(fields.default_name),
                           std::move(fields.default_desc),
                           clock_.unix_seconds(),
                           {},
                           {}};
    commit(a, {store::PutGiftCategory{sdkappid, c}}, fence);
    a.categories.emplace(category_id, std::move(c));
    return {};
  });
}

Result<void> GiftCatalog::edit_category(uint32_t sdkappid, const std::string& category_id,
                                        CategoryFields fields, ReadFence& fence) {
  return with_catalog(sdkappid, fence, [&](AppCatalog& a) -> Result<void> {
    auto found = find_category(a, category_id);
    if (!found) return std::unexpected(found.error());
    replace(
        a, **found,
        [&](domain::GiftCategory& next) {
          next.extension_info = std::move(fields.extension_info);
          next.default_name = std::move(fields.default_name);
          next.default_desc = std::move(fields.default_desc);
        },
        fence);
    return {};
  });
}

Result<void> GiftCatalog::delete_category(uint32_t sdkappid, std::string_view category_id,
                                          ReadFence& fence) {
  return with_catalog(sdkappid, fence, [&](AppCatalog& a) -> Result<void> {
    auto found = find_category(a, category_id);
    if (!found) return std::unexpected(found.error());
    commit(a, {store::DeleteGiftCategory{sdkappid, std::string(category_id)}}, fence);
    a.categories.erase(a.categories.find(category_id));
    return {};
  });
}

Result<domain::GiftCategory> GiftCatalog::category(uint32_t sdkappid, std::string_view category_id,
                                                   ReadFence& fence) const {
  return with_catalog(sdkappid, fence, [&](AppCatalog& a) -> Result<domain::GiftCategory> {
    auto found = find_category(a, category_id);
    if (!found) return std::unexpected(found.error());
    return **found;
  });
}

Result<void> GiftCatalog::set_category_language(uint32_t sdkappid, std::string_view category_id,
                                                const std::string& language, TextPatch texts,
                                                ReadFence& fence) {
  return with_catalog(sdkappid, fence, [&](AppCatalog& a) -> Result<void> {
    auto found = find_category(a, category_id);
    if (!found) return std::unexpected(found.error());
    return set_language(a, **found, language, std::move(texts), "CategoryName", fence);
  });
}

Result<void> GiftCatalog::delete_category_language(uint32_t sdkappid, std::string_view category_id,
                                                   std::string_view language, ReadFence& fence) {
  return with_catalog(sdkappid, fence, [&](AppCatalog& a) -> Result<void> {
    auto found = find_category(a, category_id);
    if (!found) return std::unexpected(found.error());
    delete_language(a, **found, language, fence);
    return {};
  });
}

Result<void> GiftCatalog::add_relations(uint32_t sdkappid, std::string_view category_id,
                                        const std::vector<std::string>& gift_ids,
                                        ReadFence& fence) {
  return with_catalog(sdkappid, fence, [&](AppCatalog& a) -> Result<void> {
    auto found = find_category(a, category_id);
    if (!found) return std::unexpected(found.error());
    domain::GiftCategory next = **found;
    for (size_t i = 0; i < gift_ids.size(); ++i) {
      const std::string& id = gift_ids[i];
      if (!a.gifts.contains(id)) {
        return fail(Code::kInvalidParameter,
                    fmt::format("GiftIdList[{}]: GiftId '{}' does not exist", i, id));
      }
      if (std::ranges::find(next.gift_ids, id) != next.gift_ids.end()) continue;
      const auto listed_in = std::ranges::count_if(a.categories, [&](const auto& entry) {
        const auto& ids = entry.second.gift_ids;
        return std::ranges::find(ids, id) != ids.end();
      });
      if (static_cast<size_t>(listed_in) >= domain::kMaxCategoriesPerGift) {
        return fail(Code::kInvalidParameter,
                    fmt::format("GiftIdList[{}]: GiftId '{}' is in {} categories already, the most "
                                "a gift may be in",
                                i, id, domain::kMaxCategoriesPerGift));
      }
      next.gift_ids.push_back(id);
    }
    if (next.gift_ids == (*found)->gift_ids) return {};
    replace(
        a, **found, [&](domain::GiftCategory& item) { item = std::move(next); }, fence);
    return {};
  });
}

Result<void> GiftCatalog::delete_relations(uint32_t sdkappid, std::string_view category_id,
                                           const std::vector<std::string>& gift_ids,
                                           ReadFence& fence) {
  return with_catalog(sdkappid, fence, [&](AppCatalog& a) -> Result<void> {
    auto found = find_category(a, category_id);
    if (!found) return std::unexpected(found.error());
    domain::GiftCategory next = **found;
    std::erase_if(next.gift_ids, [&](const std::string& id) {
      return std::ranges::find(gift_ids, id) != gift_ids.end();
    });
    if (next.gift_ids == (*found)->gift_ids) return {};
    replace(
        a, **found, [&](domain::GiftCategory& item) { item = std::move(next); }, fence);
    return {};
  });
}

}  // namespace liveroom::engine
