// Accounts of the shared IM/Live account system (spec §2.9a) and their profile tags.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace liveroom::domain {

// A profile value is a String or an Integer, as each tag is typed (spec §2.9, IM profile tags).
using ProfileValue = std::variant<std::string, int64_t>;

struct Account {
  std::string user_id;
  std::map<std::string, ProfileValue, std::less<>> profile;  // tag → value
};

enum class ProfileTagType : uint8_t { kString, kInteger };

inline constexpr size_t kMaxProfileStringBytes = 500;

// The standard tags' types; custom tags (Tag_Profile_Custom_*) are Strings. nullopt = unknown tag.
std::optional<ProfileTagType> profile_tag_type(std::string_view tag);
// The value a standard tag reads as when it was never set.
ProfileValue empty_profile_value(ProfileTagType type);

inline constexpr std::string_view kTagNick = "Tag_Profile_IM_Nick";
inline constexpr std::string_view kTagImage = "Tag_Profile_IM_Image";

}  // namespace liveroom::domain
