// Profile commands of the IM profile service (spec §2.9): portrait_get and portrait_set for the
// standard tags (Tag_Profile_IM_*) and custom tags (Tag_Profile_Custom_*). The console sets
// Tag_Profile_IM_Role as the Integer 1, so each tag is typed String or Integer.
#include <array>

#include <fmt/format.h>

#include "api/command.h"
#include "api/fields.h"

namespace liveroom::api {

namespace json = boost::json;

namespace {

constexpr size_t kMaxAccountsPerCall = 100;
constexpr size_t kMaxTagsPerCall = 100;

// Enumerated String tags accept only their documented values.
Result<void> check_enum_tag(std::string_view tag, std::string_view value, const Fields& item) {
  static constexpr std::array<std::string_view, 3> kGender{
      "Gender_Type_Unknown", "Gender_Type_Female", "Gender_Type_Male"};
  static constexpr std::array<std::string_view, 3> kAllow{
      "AllowType_Type_NeedConfirm", "AllowType_Type_AllowAny", "AllowType_Type_DenyAny"};
  auto allowed = [&](const auto& values) {
    return std::find(values.begin(), values.end(), value) != values.end();
  };
  if (tag == "Tag_Profile_IM_Gender" && !allowed(kGender)) {
    return std::unexpected(item.invalid("Value",
                                        "of Tag_Profile_IM_Gender must be "
                                        "Gender_Type_Unknown, Gender_Type_Female or "
                                        "Gender_Type_Male"));
  }
  if (tag == "Tag_Profile_IM_AllowType" && !allowed(kAllow)) {
    return std::unexpected(item.invalid("Value",
                                        "of Tag_Profile_IM_AllowType must be "
                                        "AllowType_Type_NeedConfirm, "
                                        "AllowType_Type_AllowAny or "
                                        "AllowType_Type_DenyAny"));
  }
  return {};
}

Result<engine::ProfileItem> decode_item(const Fields& item) {
  auto tag = item.required_text("Tag", 128);
  if (!tag) return std::unexpected(tag.error());
  auto type = domain::profile_tag_type(*tag);
  if (!type) {
    return std::unexpected(item.invalid(
        "Tag", fmt::format("'{}' is not a standard or Tag_Profile_Custom_ tag", *tag)));
  }
  if (*type == domain::ProfileTagType::kInteger) {
    auto value = item.integer("Value", 0, UINT32_MAX);
    if (!value) return std::unexpected(value.error());
    if (!*value) return std::unexpected(item.invalid("Value", "is required"));
    return engine::ProfileItem{std::string(*tag), **value};
  }
  auto value = item.required_text("Value", domain::kMaxProfileStringBytes);
  if (!value) return std::unexpected(value.error());
  if (auto ok = check_enum_tag(*tag, *value, item); !ok) return std::unexpected(ok.error());
  return engine::ProfileItem{std::string(*tag), std::string(*value)};
}

Result<Reply> portrait_set(Services& s, Call& call) {
  Fields f(call.body);
  auto from = f.required_account("From_Account");
  if (!from) return std::unexpected(from.error());
  auto items = f.object_array("ProfileItem", kMaxTagsPerCall);
  if (!items) return std::unexpected(items.error());
  if (!*items || (*items)->empty()) {
    return std::unexpected(f.invalid("ProfileItem", "must list at least one {Tag, Value}"));
  }
  std::vector<engine::ProfileItem> decoded;
  for (const Fields& item : **items) {
    auto d = decode_item(item);
    if (!d) return std::unexpected(d.error());
    decoded.push_back(std::move(*d));
  }
  auto ok = s.engine.set_profile(call.sdkappid, std::string(*from), decoded, call.fence);
  if (!ok) return std::unexpected(ok.error());
  return Reply{json::object(call.storage), true};
}

json::value profile_value_json(const domain::ProfileValue& v, json::storage_ptr sp) {
  if (const auto* s = std::get_if<std::string>(&v)) return json::string(*s, sp);
  return json::value(std::get<int64_t>(v), sp);
}

Result<Reply> portrait_get(Services& s, Call& call) {
  Fields f(call.body);
  auto accounts = f.account_array("To_Account", kMaxAccountsPerCall);
  if (!accounts) return std::unexpected(accounts.error());
  if (!*accounts || (*accounts)->empty()) {
    return std::unexpected(f.invalid("To_Account", "must list 1 to 100 accounts"));
  }
  auto tags = f.text_array("TagList", kMaxTagsPerCall, 128);
  if (!tags) return std::unexpected(tags.error());
  if (!*tags || (*tags)->empty()) {
    return std::unexpected(f.invalid("TagList", "must list at least one tag"));
  }
  std::vector<domain::ProfileTagType> types;
  for (size_t i = 0; i < (*tags)->size(); ++i) {
    auto type = domain::profile_tag_type((**tags)[i]);
    if (!type) {
      return std::unexpected(f.invalid(
          "TagList",
          fmt::format("[{}] '{}' is not a standard or Tag_Profile_Custom_ tag", i, (**tags)[i])));
    }
    types.push_back(*type);
  }

  json::array items(call.storage);
  for (const auto& id : **accounts) {
    json::object item(call.storage);
    item["To_Account"] = id;
    json::array profile(call.storage);
    auto account = s.engine.get_account(call.sdkappid, id, call.fence);
    if (account) {
      for (size_t i = 0; i < types.size(); ++i) {
        const std::string& tag = (**tags)[i];
        auto it = account->profile.find(tag);
        json::object entry(call.storage);
        entry["Tag"] = tag;
        entry["Value"] = profile_value_json(
            it != account->profile.end() ? it->second : domain::empty_profile_value(types[i]),
            call.storage);
        profile.emplace_back(std::move(entry));
      }
    }
    item["ProfileItem"] = std::move(profile);
    item["ResultCode"] = account ? 0 : wire_code(Code::kAccountNotImported);
    item["ResultInfo"] = account ? "" : fmt::format("account '{}' is not imported", id);
    items.emplace_back(std::move(item));
  }
  Reply reply{json::object(call.storage), true};
  reply.fields["UserProfileItem"] = std::move(items);
  return reply;
}

constexpr std::array<CommandSpec, 2> kCommands{{
    {"profile/portrait_get", portrait_get},
    {"profile/portrait_set", portrait_set},
}};

}  // namespace

std::span<const CommandSpec> profile_commands() {
  return kCommands;
}

}  // namespace liveroom::api
