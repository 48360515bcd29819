// The gift catalog commands of live_engine_http_srv (spec §2.7, spec/console-client.md §5.13).
// Tencent's gift pages answer a caller that is not an App administrator with 100006 and more
// than one call per second with 100012; the router does both for the commands listed here.
//
// Reply shapes: get_gift_info_list and get_gift_count answer inside Response. The single-item
// getters answer at the top level (GiftInfo, GiftCategoryInfo, CategoryInfo, GiftIdList), as the
// Gen1 pages show, and with a copy inside Response (spec §1.3); the language getters also answer
// inside Response.Language, where the official console reads them.
#include <array>

#include <fmt/format.h>

#include "api/command.h"
#include "api/fields.h"

namespace liveroom::api {

namespace json = boost::json;

namespace {

constexpr int64_t kMaxUint32 = 4'294'967'295;

Result<std::string> id_field(const Fields& f, std::string_view key) {
  auto id = f.required_text(key, domain::kMaxGiftIdBytes);
  if (!id) return std::unexpected(id.error());
  if (auto ok = domain::check_gift_id(*id, f.name(key)); !ok) return std::unexpected(ok.error());
  return std::string(*id);
}

Result<std::string> language_field(const Fields& f) {
  auto language = f.required_text("Language", 16);
  if (!language) return std::unexpected(language.error());
  if (!domain::is_gift_language(*language)) {
    return std::unexpected(f.invalid("Language", "must be one of en, zh-Hans, zh-Hant"));
  }
  return std::string(*language);
}

// The item and language a language command names.
struct LanguageTarget {
  std::string id;
  std::string language;
};

Result<LanguageTarget> language_target(const Fields& f, std::string_view id_key) {
  auto id = id_field(f, id_key);
  if (!id) return std::unexpected(id.error());
  auto language = language_field(f);
  if (!language) return std::unexpected(language.error());
  return LanguageTarget{std::move(*id), std::move(*language)};
}

// An optional text of at most `max_bytes`, "" when not sent.
Result<std::string> text_or_empty(const Fields& f, std::string_view key, size_t max_bytes) {
  auto text = f.text(key, max_bytes);
  if (!text) return std::unexpected(text.error());
  return std::string(text->value_or(""));
}

Result<std::string> extension_field(const Fields& f) {
  auto text = text_or_empty(f, "ExtensionInfo", domain::kMaxGiftExtensionBytes);
  if (!text) return text;
  if (auto ok = domain::check_extension_info(*text, f.name("ExtensionInfo")); !ok) {
    return std::unexpected(ok.error());
  }
  return text;
}

// The body of add_gift and edit_gift: edit replaces every field, so both read the same way.
Result<engine::GiftFields> gift_fields(const Fields& f) {
  engine::GiftFields g;
  // The response table of Tencent's page spells it IconURL: accept that too.
  const std::string_view icon_key = f.find("IconUrl") || !f.find("IconURL") ? "IconUrl" : "IconURL";
  auto icon = text_or_empty(f, icon_key, domain::kMaxGiftUrlBytes);
  if (!icon) return std::unexpected(icon.error());
  g.icon_url = std::move(*icon);
  auto resource = text_or_empty(f, "ResourceUrl", domain::kMaxGiftUrlBytes);
  if (!resource) return std::unexpected(resource.error());
  g.resource_url = std::move(*resource);
  auto coins = f.integer("Coins", 0, kMaxUint32);
  if (!coins) return std::unexpected(coins.error());
  if (!*coins) return std::unexpected(f.invalid("Coins", "is required"));
  g.coins = **coins;
  auto level = f.integer("Level", 0, kMaxUint32);
  if (!level) return std::unexpected(level.error());
  g.level = level->value_or(0);
  auto extension = extension_field(f);
  if (!extension) return std::unexpected(extension.error());
  g.extension_info = std::move(*extension);
  auto name = f.required_text("DefaultName", domain::kMaxGiftNameBytes);
  if (!name) return std::unexpected(name.error());
  g.default_name = std::string(*name);
  auto desc = text_or_empty(f, "DefaultDesc", domain::kMaxGiftDescBytes);
  if (!desc) return std::unexpected(desc.error());
  g.default_desc = std::move(*desc);
  return g;
}

Result<engine::CategoryFields> category_fields(const Fields& f) {
  engine::CategoryFields c;
  auto extension = extension_field(f);
  if (!extension) return std::unexpected(extension.error());
  c.extension_info = std::move(*extension);
  auto name = f.required_text("DefaultName", domain::kMaxCategoryNameBytes);
  if (!name) return std::unexpected(name.error());
  c.default_name = std::string(*name);
  auto desc = text_or_empty(f, "DefaultDesc", domain::kMaxCategoryDescBytes);
  if (!desc) return std::unexpected(desc.error());
  c.default_desc = std::move(*desc);
  return c;
}

// set_gift_language's Name/Desc, set_gift_category_language's CategoryName/CategoryDesc.
Result<engine::TextPatch> text_patch(const Fields& f, std::string_view name_key, size_t name_bytes,
                                     std::string_view desc_key, size_t desc_bytes) {
  engine::TextPatch patch;
  auto name = f.text(name_key, name_bytes);
  if (!name) return std::unexpected(name.error());
  if (*name) patch.name = std::string(**name);
  auto desc = f.text(desc_key, desc_bytes);
  if (!desc) return std::unexpected(desc.error());
  if (*desc) patch.desc = std::string(**desc);
  return patch;
}

Result<std::vector<std::string>> gift_id_list(const Fields& f) {
  auto ids = f.text_array("GiftIdList", domain::kMaxGiftsPerApp, domain::kMaxGiftIdBytes);
  if (!ids) return std::unexpected(ids.error());
  if (!*ids) return std::unexpected(f.invalid("GiftIdList", "is required"));
  if ((*ids)->empty()) return std::unexpected(f.invalid("GiftIdList", "must list a GiftId"));
  for (size_t i = 0; i < (*ids)->size(); ++i) {
    if (auto ok = domain::check_gift_id((**ids)[i], fmt::format("{}[{}]", f.name("GiftIdList"), i));
        !ok) {
      return std::unexpected(ok.error());
    }
  }
  return std::move(**ids);
}

Reply empty_reply(const Call& call) {
  return Reply{json::object(call.storage)};
}

// A getter's result, at the top level as the Gen1 pages show it and in Response as the other
// Live APIs (and the console) have it (spec §1.3).
void put_in_both_places(Reply& reply, std::string_view key, json::value value) {
  reply.beside_response.emplace(key, value);
  reply.fields.emplace(key, std::move(value));
}

json::string text(std::string_view s, const Call& call) {
  return json::string(s, call.storage);
}

// --- gifts -----------------------------------------------------------------------------------

Result<Reply> add_gift(Services& s, Call& call) {
  Fields f(call.body);
  auto id = id_field(f, "GiftId");
  if (!id) return std::unexpected(id.error());
  auto fields = gift_fields(f);
  if (!fields) return std::unexpected(fields.error());
  auto ok = s.engine.gifts().add_gift(call.sdkappid, *id, std::move(*fields), call.fence);
  if (!ok) return std::unexpected(ok.error());
  return empty_reply(call);
}

Result<Reply> edit_gift(Services& s, Call& call) {
  Fields f(call.body);
  auto id = id_field(f, "GiftId");
  if (!id) return std::unexpected(id.error());
  auto fields = gift_fields(f);
  if (!fields) return std::unexpected(fields.error());
  auto ok = s.engine.gifts().edit_gift(call.sdkappid, *id, std::move(*fields), call.fence);
  if (!ok) return std::unexpected(ok.error());
  return empty_reply(call);
}

Result<Reply> del_gift(Services& s, Call& call) {
  Fields f(call.body);
  auto id = id_field(f, "GiftId");
  if (!id) return std::unexpected(id.error());
  auto ok = s.engine.gifts().delete_gift(call.sdkappid, *id, call.fence);
  if (!ok) return std::unexpected(ok.error());
  return empty_reply(call);
}

Result<Reply> get_gift(Services& s, Call& call) {
  Fields f(call.body);
  auto id = id_field(f, "GiftId");
  if (!id) return std::unexpected(id.error());
  auto gift = s.engine.gifts().gift(call.sdkappid, *id, call.fence);
  if (!gift) return std::unexpected(gift.error());
  json::object info(call.storage);
  info["GiftId"] = text(gift->gift_id, call);
  info["IconUrl"] = text(gift->icon_url, call);
  info["IconURL"] = text(gift->icon_url, call);  // the spelling of the page's response table
  info["ResourceUrl"] = text(gift->resource_url, call);
  info["Coins"] = gift->coins;
  info["Level"] = gift->level;
  info["ExtensionInfo"] = text(gift->extension_info, call);
  info["DefaultName"] = text(gift->default_name, call);
  info["DefaultDesc"] = text(gift->default_desc, call);
  info["CreateTime"] = gift->create_time;
  Reply reply = empty_reply(call);
  put_in_both_places(reply, "GiftInfo", std::move(info));
  return reply;
}

Result<Reply> get_gift_count(Services& s, Call& call) {
  auto count = s.engine.gifts().gift_count(call.sdkappid, call.fence);
  if (!count) return std::unexpected(count.error());
  Reply reply = empty_reply(call);
  reply.fields["TotalCount"] = *count;
  return reply;
}

// The texts of `item` in `language` ("" = the default texts), falling back to the defaults.
template <typename Item>
const domain::LocalText* texts_in(const Item& item, std::string_view language) {
  if (language.empty()) return nullptr;
  auto it = item.languages.find(language);
  return it == item.languages.end() ? nullptr : &it->second;
}

Result<Reply> get_gift_info_list(Services& s, Call& call) {
  Fields f(call.body);
  std::string language;
  if (f.find("Language")) {
    auto l = language_field(f);
    if (!l) return std::unexpected(l.error());
    language = std::move(*l);
  }
  auto listing = s.engine.gifts().listing(call.sdkappid, call.fence);
  if (!listing) return std::unexpected(listing.error());

  json::array gifts(call.storage);
  for (const domain::Gift& g : listing->gifts) {
    const domain::LocalText* local = texts_in(g, language);
    json::object o(call.storage);
    o["GiftId"] = text(g.gift_id, call);
    o["Name"] = text(local ? local->name : g.default_name, call);
    o["Desc"] = text(local && !local->desc.empty() ? local->desc : g.default_desc, call);
    o["DefaultName"] = text(g.default_name, call);
    o["DefaultDesc"] = text(g.default_desc, call);
    o["IconUrl"] = text(g.icon_url, call);
    o["ResourceUrl"] = text(g.resource_url, call);
    o["Coins"] = g.coins;
    o["Level"] = g.level;
    o["ExtensionInfo"] = text(g.extension_info, call);
    o["CreateTime"] = g.create_time;
    json::array languages(call.storage);
    for (const auto& [code, t] : g.languages) {
      json::object l(call.storage);
      l["Language"] = text(code, call);
      l["Name"] = text(t.name, call);
      l["Desc"] = text(t.desc, call);
      languages.emplace_back(std::move(l));
    }
    o["LanguageList"] = std::move(languages);
    gifts.emplace_back(std::move(o));
  }
  json::array categories(call.storage);
  for (const domain::GiftCategory& c : listing->categories) {
    const domain::LocalText* local = texts_in(c, language);
    json::object o(call.storage);
    o["CategoryId"] = text(c.category_id, call);
    o["CategoryName"] = text(local ? local->name : c.default_name, call);
    o["CategoryDesc"] = text(local && !local->desc.empty() ? local->desc : c.default_desc, call);
    o["DefaultName"] = text(c.default_name, call);
    o["DefaultDesc"] = text(c.default_desc, call);
    o["ExtensionInfo"] = text(c.extension_info, call);
    o["CreateTime"] = c.create_time;
    json::array ids(call.storage);
    for (const auto& id : c.gift_ids) ids.emplace_back(text(id, call));
    o["GiftIdList"] = std::move(ids);
    json::array languages(call.storage);
    for (const auto& [code, t] : c.languages) {
      json::object l(call.storage);
      l["Language"] = text(code, call);
      l["CategoryName"] = text(t.name, call);
      l["CategoryDesc"] = text(t.desc, call);
      languages.emplace_back(std::move(l));
    }
    o["LanguageList"] = std::move(languages);
    categories.emplace_back(std::move(o));
  }
  Reply reply = empty_reply(call);
  reply.fields["TotalCount"] = gifts.size();
  reply.fields["GiftList"] = std::move(gifts);
  reply.fields["CategoryList"] = std::move(categories);
  return reply;
}

// --- languages -------------------------------------------------------------------------------

Result<Reply> set_gift_language(Services& s, Call& call) {
  Fields f(call.body);
  auto target = language_target(f, "GiftId");
  if (!target) return std::unexpected(target.error());
  auto patch = text_patch(f, "Name", domain::kMaxGiftNameBytes, "Desc", domain::kMaxGiftDescBytes);
  if (!patch) return std::unexpected(patch.error());
  auto ok = s.engine.gifts().set_gift_language(call.sdkappid, target->id, target->language,
                                               std::move(*patch), call.fence);
  if (!ok) return std::unexpected(ok.error());
  return empty_reply(call);
}

Result<Reply> del_gift_language(Services& s, Call& call) {
  Fields f(call.body);
  auto target = language_target(f, "GiftId");
  if (!target) return std::unexpected(target.error());
  auto ok = s.engine.gifts().delete_gift_language(call.sdkappid, target->id, target->language,
                                                  call.fence);
  if (!ok) return std::unexpected(ok.error());
  return empty_reply(call);
}

// A language getter's reply: top level `top_key{name_key, desc_key}` (Tencent's page) and
// Response.Language{...} (what the console reads). A language never set has empty texts.
Reply language_reply(const Call& call, std::string_view language, const domain::LocalText* local,
                     std::string_view top_key, std::string_view name_key,
                     std::string_view desc_key) {
  auto texts = [&] {
    json::object o(call.storage);
    o[name_key] = text(local ? local->name : "", call);
    o[desc_key] = text(local ? local->desc : "", call);
    return o;
  };
  Reply reply = empty_reply(call);
  json::object in_language = texts();
  in_language["Language"] = text(language, call);
  reply.fields["Language"] = std::move(in_language);
  put_in_both_places(reply, top_key, texts());
  return reply;
}

Result<Reply> get_gift_language(Services& s, Call& call) {
  Fields f(call.body);
  auto target = language_target(f, "GiftId");
  if (!target) return std::unexpected(target.error());
  auto gift = s.engine.gifts().gift(call.sdkappid, target->id, call.fence);
  if (!gift) return std::unexpected(gift.error());
  return language_reply(call, target->language, texts_in(*gift, target->language), "GiftInfo",
                        "Name", "Desc");
}

// --- categories ------------------------------------------------------------------------------

Result<Reply> add_gift_category(Services& s, Call& call) {
  Fields f(call.body);
  auto id = id_field(f, "CategoryId");
  if (!id) return std::unexpected(id.error());
  auto fields = category_fields(f);
  if (!fields) return std::unexpected(fields.error());
  auto ok = s.engine.gifts().add_category(call.sdkappid, *id, std::move(*fields), call.fence);
  if (!ok) return std::unexpected(ok.error());
  return empty_reply(call);
}

Result<Reply> edit_gift_category(Services& s, Call& call) {
  Fields f(call.body);
  auto id = id_field(f, "CategoryId");
  if (!id) return std::unexpected(id.error());
  auto fields = category_fields(f);
  if (!fields) return std::unexpected(fields.error());
  auto ok = s.engine.gifts().edit_category(call.sdkappid, *id, std::move(*fields), call.fence);
  if (!ok) return std::unexpected(ok.error());
  return empty_reply(call);
}

Result<Reply> del_gift_category(Services& s, Call& call) {
  Fields f(call.body);
  auto id = id_field(f, "CategoryId");
  if (!id) return std::unexpected(id.error());
  auto ok = s.engine.gifts().delete_category(call.sdkappid, *id, call.fence);
  if (!ok) return std::unexpected(ok.error());
  return empty_reply(call);
}

Result<Reply> get_gift_category(Services& s, Call& call) {
  Fields f(call.body);
  auto id = id_field(f, "CategoryId");
  if (!id) return std::unexpected(id.error());
  auto category = s.engine.gifts().category(call.sdkappid, *id, call.fence);
  if (!category) return std::unexpected(category.error());
  json::object info(call.storage);
  info["CategoryId"] = text(category->category_id, call);
  info["ExtensionInfo"] = text(category->extension_info, call);
  info["DefaultName"] = text(category->default_name, call);
  info["DefaultDesc"] = text(category->default_desc, call);
  info["CreateTime"] = category->create_time;
  Reply reply = empty_reply(call);
  put_in_both_places(reply, "GiftCategoryInfo", std::move(info));
  return reply;
}

Result<Reply> set_gift_category_language(Services& s, Call& call) {
  Fields f(call.body);
  auto target = language_target(f, "CategoryId");
  if (!target) return std::unexpected(target.error());
  auto patch = text_patch(f, "CategoryName", domain::kMaxCategoryNameBytes, "CategoryDesc",
                          domain::kMaxCategoryDescBytes);
  if (!patch) return std::unexpected(patch.error());
  auto ok = s.engine.gifts().set_category_language(call.sdkappid, target->id, target->language,
                                                   std::move(*patch), call.fence);
  if (!ok) return std::unexpected(ok.error());
  return empty_reply(call);
}

Result<Reply> del_gift_category_language(Services& s, Call& call) {
  Fields f(call.body);
  auto target = language_target(f, "CategoryId");
  if (!target) return std::unexpected(target.error());
  auto ok = s.engine.gifts().delete_category_language(call.sdkappid, target->id, target->language,
                                                      call.fence);
  if (!ok) return std::unexpected(ok.error());
  return empty_reply(call);
}

Result<Reply> get_gift_category_language(Services& s, Call& call) {
  Fields f(call.body);
  auto target = language_target(f, "CategoryId");
  if (!target) return std::unexpected(target.error());
  auto category = s.engine.gifts().category(call.sdkappid, target->id, call.fence);
  if (!category) return std::unexpected(category.error());
  return language_reply(call, target->language, texts_in(*category, target->language),
                        "CategoryInfo", "CategoryName", "CategoryDesc");
}

// --- relations -------------------------------------------------------------------------------

Result<Reply> add_gift_category_relations(Services& s, Call& call) {
  Fields f(call.body);
  auto id = id_field(f, "CategoryId");
  if (!id) return std::unexpected(id.error());
  auto gifts = gift_id_list(f);
  if (!gifts) return std::unexpected(gifts.error());
  auto ok = s.engine.gifts().add_relations(call.sdkappid, *id, *gifts, call.fence);
  if (!ok) return std::unexpected(ok.error());
  return empty_reply(call);
}

Result<Reply> del_gift_category_relations(Services& s, Call& call) {
  Fields f(call.body);
  auto id = id_field(f, "CategoryId");
  if (!id) return std::unexpected(id.error());
  auto gifts = gift_id_list(f);
  if (!gifts) return std::unexpected(gifts.error());
  auto ok = s.engine.gifts().delete_relations(call.sdkappid, *id, *gifts, call.fence);
  if (!ok) return std::unexpected(ok.error());
  return empty_reply(call);
}

Result<Reply> get_gift_category_relations(Services& s, Call& call) {
  Fields f(call.body);
  auto id = id_field(f, "CategoryId");
  if (!id) return std::unexpected(id.error());
  auto category = s.engine.gifts().category(call.sdkappid, *id, call.fence);
  if (!category) return std::unexpected(category.error());
  json::array ids(call.storage);
  for (const auto& gift_id : category->gift_ids) ids.emplace_back(text(gift_id, call));
  Reply reply = empty_reply(call);
  put_in_both_places(reply, "CategoryId", text(category->category_id, call));
  put_in_both_places(reply, "GiftIdList", std::move(ids));
  return reply;
}

constexpr CommandSpec gift(std::string_view path, CommandFn fn) {
  return CommandSpec{path, fn, Code::kNotPermitted, Code::kTooFrequent};
}

constexpr std::array kCommands{
    gift("live_engine_http_srv/add_gift", add_gift),
    gift("live_engine_http_srv/edit_gift", edit_gift),
    gift("live_engine_http_srv/del_gift", del_gift),
    gift("live_engine_http_srv/get_gift", get_gift),
    gift("live_engine_http_srv/get_gift_count", get_gift_count),
    gift("live_engine_http_srv/get_gift_info_list", get_gift_info_list),
    gift("live_engine_http_srv/set_gift_language", set_gift_language),
    gift("live_engine_http_srv/get_gift_language", get_gift_language),
    gift("live_engine_http_srv/del_gift_language", del_gift_language),
    gift("live_engine_http_srv/add_gift_category", add_gift_category),
    gift("live_engine_http_srv/edit_gift_category", edit_gift_category),
    gift("live_engine_http_srv/del_gift_category", del_gift_category),
    gift("live_engine_http_srv/get_gift_category", get_gift_category),
    gift("live_engine_http_srv/set_gift_category_language", set_gift_category_language),
    gift("live_engine_http_srv/get_gift_category_language", get_gift_category_language),
    gift("live_engine_http_srv/del_gift_category_language", del_gift_category_language),
    gift("live_engine_http_srv/add_gift_category_relations", add_gift_category_relations),
    gift("live_engine_http_srv/del_gift_category_relations", del_gift_category_relations),
    gift("live_engine_http_srv/get_gift_category_relations", get_gift_category_relations),
};

}  // namespace

std::span<const CommandSpec> gift_commands() {
  return kCommands;
}

}  // namespace liveroom::api
