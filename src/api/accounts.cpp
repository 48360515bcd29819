// Account commands of im_open_login_svc (spec §2.9a). Live and Chat share one account system:
// owners, admins, robots and members must be imported accounts. Results sit at the top level of
// the envelope, as in Chat's REST API.
#include <array>

#include <fmt/format.h>

#include "api/command.h"
#include "api/fields.h"

namespace liveroom::api {

namespace json = boost::json;

namespace {

constexpr size_t kMaxAccountsPerCall = 100;

Result<Reply> account_import(Services& s, Call& call) {
  Fields f(call.body);
  // Older clients send Identifier instead of UserID.
  auto user = f.account("UserID");
  if (!user) return std::unexpected(user.error());
  if (!*user) {
    user = f.account("Identifier");
    if (!user) return std::unexpected(user.error());
  }
  if (!*user) return std::unexpected(f.invalid("UserID", "is required"));
  if (auto ok = domain::check_user_id(**user, "UserID"); !ok) return std::unexpected(ok.error());
  std::vector<engine::ProfileItem> profile;
  for (auto [key, tag] : {std::pair{"Nick", domain::kTagNick}, {"FaceUrl", domain::kTagImage}}) {
    auto value = f.text(key, domain::kMaxProfileStringBytes);
    if (!value) return std::unexpected(value.error());
    if (*value) profile.push_back({std::string(tag), std::string(**value)});
  }
  auto ok = s.engine.import_account(call.sdkappid, std::string(**user), profile, call.fence);
  if (!ok) return std::unexpected(ok.error());
  return Reply{json::object(call.storage), true};
}

Result<Reply> multiaccount_import(Services& s, Call& call) {
  Fields f(call.body);
  auto accounts = f.account_array("Accounts", kMaxAccountsPerCall);
  if (!accounts) return std::unexpected(accounts.error());
  if (!*accounts) return std::unexpected(f.invalid("Accounts", "is required"));
  json::array failed(call.storage);
  for (const auto& r : s.engine.import_accounts(call.sdkappid, **accounts, call.fence)) {
    if (r.code != Code::kOk) failed.emplace_back(json::string(r.user_id, call.storage));
  }
  Reply reply{json::object(call.storage), true};
  reply.fields["FailAccounts"] = std::move(failed);
  return reply;
}

// DeleteItem / CheckItem: [{"UserID":"u1"}, ...]
Result<std::vector<std::string>> user_items(const Fields& f, std::string_view key) {
  auto items = f.object_array(key, kMaxAccountsPerCall);
  if (!items) return std::unexpected(items.error());
  if (!*items) return std::unexpected(f.invalid(key, "is required"));
  std::vector<std::string> ids;
  for (const Fields& item : **items) {
    auto id = item.required_account("UserID");
    if (!id) return std::unexpected(id.error());
    ids.emplace_back(*id);
  }
  return ids;
}

Result<Reply> account_delete(Services& s, Call& call) {
  auto ids = user_items(Fields(call.body), "DeleteItem");
  if (!ids) return std::unexpected(ids.error());
  json::array results(call.storage);
  for (const auto& r : s.engine.delete_accounts(call.sdkappid, *ids, call.fence)) {
    json::object item(call.storage);
    item["ResultCode"] = wire_code(r.code);
    item["ResultInfo"] = r.info;
    item["UserID"] = r.user_id;
    results.emplace_back(std::move(item));
  }
  Reply reply{json::object(call.storage), true};
  reply.fields["ResultItem"] = std::move(results);
  return reply;
}

Result<Reply> account_check(Services& s, Call& call) {
  auto ids = user_items(Fields(call.body), "CheckItem");
  if (!ids) return std::unexpected(ids.error());
  json::array results(call.storage);
  for (const auto& id : *ids) {
    json::object item(call.storage);
    item["UserID"] = id;
    item["ResultCode"] = 0;
    item["ResultInfo"] = "";
    item["AccountStatus"] =
        s.engine.account_exists(call.sdkappid, id, call.fence) ? "Imported" : "NotImported";
    results.emplace_back(std::move(item));
  }
  Reply reply{json::object(call.storage), true};
  reply.fields["ResultItem"] = std::move(results);
  return reply;
}

constexpr std::array<CommandSpec, 4> kCommands{{
    {"im_open_login_svc/account_import", account_import},
    {"im_open_login_svc/multiaccount_import", multiaccount_import},
    {"im_open_login_svc/account_delete", account_delete},
    {"im_open_login_svc/account_check", account_check},
}};

}  // namespace

std::span<const CommandSpec> account_commands() {
  return kCommands;
}

}  // namespace liveroom::api
