#include "domain/gift_json.h"

namespace liveroom::domain {

void write_gift(JsonWriter& w, const Gift& g) {
  w.begin_object()
      .field("GiftId", g.gift_id)
      .field("Name", g.default_name)
      .field("Desc", g.default_desc)
      .field("IconUrl", g.icon_url)
      .field("ResourceUrl", g.resource_url)
      .field("Coins", g.coins)
      .field("Level", g.level)
      .field("ExtensionInfo", g.extension_info)
      .key("LanguageList");
  write_language_list(w, g.languages);
  w.end_object();
}

void write_language_list(JsonWriter& w,
                         const std::map<std::string, LocalText, std::less<>>& languages) {
  w.begin_array();
  for (const auto& [language, text] : languages) {
    w.begin_object()
        .field("Language", language)
        .field("Name", text.name)
        .field("Desc", text.desc)
        .end_object();
  }
  w.end_array();
}

}  // namespace liveroom::domain
