#include "domain/account.h"

#include <array>
#include <utility>

namespace liveroom::domain {

namespace {
constexpr std::array<std::pair<std::string_view, ProfileTagType>, 12> kStandardTags{{
    {"Tag_Profile_IM_Nick", ProfileTagType::kString},
    {"Tag_Profile_IM_Gender", ProfileTagType::kString},
    {"Tag_Profile_IM_BirthDay", ProfileTagType::kInteger},
    {"Tag_Profile_IM_Location", ProfileTagType::kString},
    {"Tag_Profile_IM_SelfSignature", ProfileTagType::kString},
    {"Tag_Profile_IM_AllowType", ProfileTagType::kString},
    {"Tag_Profile_IM_Language", ProfileTagType::kInteger},
    {"Tag_Profile_IM_Image", ProfileTagType::kString},
    {"Tag_Profile_IM_MsgSettings", ProfileTagType::kInteger},
    {"Tag_Profile_IM_AdminForbidType", ProfileTagType::kString},
    {"Tag_Profile_IM_Level", ProfileTagType::kInteger},
    {"Tag_Profile_IM_Role", ProfileTagType::kInteger},
}};
constexpr std::string_view kCustomPrefix = "Tag_Profile_Custom_";
}  // namespace

std::optional<ProfileTagType> profile_tag_type(std::string_view tag) {
  for (const auto& [name, type] : kStandardTags) {
    if (name == tag) return type;
  }
  if (tag.starts_with(kCustomPrefix) && tag.size() > kCustomPrefix.size()) {
    return ProfileTagType::kString;
  }
  return std::nullopt;
}

ProfileValue empty_profile_value(ProfileTagType type) {
  if (type == ProfileTagType::kInteger) return int64_t{0};
  return std::string();
}

}  // namespace liveroom::domain
