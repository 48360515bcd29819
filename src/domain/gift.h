// The gift catalog of an app (spec §2.7): gifts, gift categories, the texts of each in the
// supported languages, and which gifts each category lists. Values only; the engine keeps them.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace liveroom::domain {

// Limits of Tencent's gift pages (trtc.io 72845, 72848, 72854).
inline constexpr size_t kMaxGiftIdBytes = 20;  // GiftId and CategoryId
inline constexpr size_t kMaxGiftUrlBytes = 200;
inline constexpr size_t kMaxGiftExtensionBytes = 100;
inline constexpr size_t kMaxGiftNameBytes = 20;
inline constexpr size_t kMaxGiftDescBytes = 20;
inline constexpr size_t kMaxCategoryNameBytes = 20;
inline constexpr size_t kMaxCategoryDescBytes = 60;
inline constexpr size_t kMaxCategoriesPerGift = 3;  // "up to 3 gift categories" per gift
// Not Tencent's (its pages name package limits we do not have): bounds that keep one
// get_gift_info_list reply and the catalog in memory small (docs/compatibility.md).
inline constexpr size_t kMaxGiftsPerApp = 1000;
inline constexpr size_t kMaxCategoriesPerApp = 100;

inline constexpr std::array<std::string_view, 3> kGiftLanguages{"en", "zh-Hans", "zh-Hant"};
bool is_gift_language(std::string_view language);

// A gift's or a category's name and description in one language.
struct LocalText {
  std::string name;
  std::string desc;
  bool operator==(const LocalText&) const = default;
};

struct Gift {
  std::string gift_id;
  std::string icon_url;
  std::string resource_url;  // the effect: mp4, svga ...
  int64_t coins = 0;         // the price in the app's virtual currency
  int64_t level = 0;
  std::string extension_info;  // "" or a JSON text
  std::string default_name;
  std::string default_desc;
  int64_t create_time = 0;                                  // Unix seconds
  std::map<std::string, LocalText, std::less<>> languages;  // language → texts
  bool operator==(const Gift&) const = default;
};

struct GiftCategory {
  std::string category_id;
  std::string extension_info;
  std::string default_name;
  std::string default_desc;
  int64_t create_time = 0;
  std::map<std::string, LocalText, std::less<>> languages;
  std::vector<std::string> gift_ids;  // the gifts it lists, in the order they were added
  bool operator==(const GiftCategory&) const = default;
};

// GiftId / CategoryId: 1..20 bytes of printable ASCII. `field` names it in the error.
Result<void> check_gift_id(std::string_view id, std::string_view field);
// ExtensionInfo: "" or a JSON text (Tencent: "must be a string in JSON format").
Result<void> check_extension_info(std::string_view text, std::string_view field);

}  // namespace liveroom::domain
