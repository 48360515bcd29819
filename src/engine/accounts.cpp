// Accounts: import and delete, the account a login creates, profiles, and the auto-import of
// accounts that other calls name (owners, senders, admins, robots).
#include <algorithm>
#include <variant>

#include <fmt/format.h>

#include "engine/room_engine.h"

namespace liveroom::engine {

namespace {

void set_profile_items(domain::Account& account, const std::vector<ProfileItem>& items) {
  for (const auto& item : items) account.profile.insert_or_assign(item.tag, item.value);
}

}  // namespace

bool RoomEngine::account_known(const AppState& app, std::string_view user_id) {
  return app.admins.contains(user_id) || app.accounts.contains(user_id);
}

Result<void> RoomEngine::require_account(AppState& a, const std::string& user_id,
                                         std::string_view field, ReadFence& fence,
                                         std::vector<std::string>& imports) {
  std::lock_guard lock(a.accounts_mu);
  if (account_known(a, user_id)) {
    if (auto it = a.accounts.find(user_id); it != a.accounts.end()) fence.observe(it->second.seq);
    return {};
  }
  fence.observe(a.accounts_delete_seq);
  if (!a.options.auto_import_accounts) {
    return fail(Code::kAccountNotImported,
                fmt::format("{} '{}' is not an imported account (import it with account_import, "
                            "or set auto_import_accounts)",
                            field, user_id));
  }
  if (auto ok = domain::check_user_id(user_id, field); !ok) return ok;
  if (std::find(imports.begin(), imports.end(), user_id) == imports.end()) {
    imports.push_back(user_id);
  }
  return {};
}

bool RoomEngine::follow_account(uint32_t sdkappid, const std::string& user_id,
                                std::optional<domain::Account> now) {
  AppState* a = app(sdkappid);
  if (!a) return true;
  std::lock_guard lock(a->accounts_mu);
  const uint64_t durable = store_.durable_seq();
  std::erase_if(a->deleting, [&](const auto& d) { return d.second <= durable; });
  auto it = a->accounts.find(user_id);
  const auto deleting = a->deleting.find(user_id);
  if (it != a->accounts.end() ? it->second.seq > durable : deleting != a->deleting.end()) {
    return false;
  }
  if (!now) {
    if (it != a->accounts.end()) a->accounts.erase(it);
  } else if (it != a->accounts.end()) {
    it->second = AccountEntry{std::move(*now), 0};
  } else {
    a->accounts.emplace(user_id, AccountEntry{std::move(*now), 0});
  }
  return true;
}

void RoomEngine::import_pending(uint32_t sdkappid, const std::vector<std::string>& imports,
                                std::vector<store::Change>& changes) {
  for (const auto& user_id : imports) {
    changes.push_back(store::PutAccount{sdkappid, domain::Account{user_id, {}}});
  }
}

void RoomEngine::imported(AppState& a, const std::vector<std::string>& imports, uint64_t seq) {
  if (imports.empty()) return;
  std::lock_guard lock(a.accounts_mu);
  for (const auto& user_id : imports) {
    // emplace: an account_import that raced this commit keeps its profile.
    a.accounts.emplace(user_id, AccountEntry{domain::Account{user_id, {}}, seq});
  }
}

Result<void> RoomEngine::import_account(uint32_t sdkappid, const std::string& user_id,
                                        const std::vector<ProfileItem>& profile, ReadFence& fence) {
  AppState* a = app(sdkappid);
  if (!a) return fail(Code::kSdkAppIdInvalid);
  std::lock_guard lock(a->accounts_mu);
  auto it = a->accounts.find(user_id);
  if (it != a->accounts.end()) {
    fence.observe(it->second.seq);
    if (profile.empty()) return {};  // importing twice is not an error
  }
  domain::Account account =
      it != a->accounts.end() ? it->second.account : domain::Account{user_id, {}};
  set_profile_items(account, profile);
  const uint64_t seq = store_.submit({store::PutAccount{sdkappid, account}});
  fence.observe(seq);
  a->accounts.insert_or_assign(user_id, AccountEntry{std::move(account), seq});
  return {};
}

std::vector<AccountResult> RoomEngine::import_accounts(uint32_t sdkappid,
                                                       const std::vector<std::string>& user_ids,
                                                       ReadFence& fence) {
  std::vector<AccountResult> results;
  AppState* a = app(sdkappid);
  if (!a) return results;
  std::vector<store::Change> changes;
  std::lock_guard lock(a->accounts_mu);
  for (const auto& id : user_ids) {
    if (auto ok = domain::check_user_id(id, "Accounts[]"); !ok) {
      results.push_back({id, ok.error().code, ok.error().info});
      continue;
    }
    if (auto it = a->accounts.find(id); it != a->accounts.end()) {
      fence.observe(it->second.seq);
      results.push_back({id, Code::kOk, ""});
      continue;
    }
    domain::Account account{id, {}};
    changes.push_back(store::PutAccount{sdkappid, account});
    a->accounts.emplace(id, AccountEntry{std::move(account), 0});
    results.push_back({id, Code::kOk, ""});
  }
  if (!changes.empty()) {
    std::vector<std::string> added;
    for (const auto& c : changes) added.push_back(std::get<store::PutAccount>(c).account.user_id);
    const uint64_t seq = store_.submit(std::move(changes));
    fence.observe(seq);
    for (const auto& id : added) a->accounts.find(id)->second.seq = seq;
  }
  return results;
}

std::vector<AccountResult> RoomEngine::delete_accounts(uint32_t sdkappid,
                                                       const std::vector<std::string>& user_ids,
                                                       ReadFence& fence) {
  std::vector<AccountResult> results;
  AppState* a = app(sdkappid);
  if (!a) return results;
  std::vector<store::Change> changes;
  std::lock_guard lock(a->accounts_mu);
  fence.observe(a->accounts_delete_seq);
  for (const auto& id : user_ids) {
    if (a->admins.contains(id)) {
      results.push_back({id, Code::kNotPermitted,
                         fmt::format("'{}' is an App administrator and cannot be deleted", id)});
      continue;
    }
    auto it = a->accounts.find(id);
    if (it == a->accounts.end()) {
      results.push_back(
          {id, Code::kAccountNotImported, fmt::format("account '{}' is not imported", id)});
      continue;
    }
    changes.push_back(store::DeleteAccount{sdkappid, id});
    a->accounts.erase(it);
    results.push_back({id, Code::kOk, ""});
  }
  if (!changes.empty()) {
    const uint64_t seq = store_.submit(std::move(changes));
    fence.observe(seq);
    a->accounts_delete_seq = seq;
    if (room_slots_ > 0) {
      for (const auto& r : results) {
        if (r.code == Code::kOk) a->deleting[r.user_id] = seq;
      }
    }
  }
  return results;
}

Result<void> RoomEngine::register_login(uint32_t sdkappid, const std::string& user_id,
                                        ReadFence& fence) {
  AppState* a = app(sdkappid);
  if (!a) return fail(Code::kSdkAppIdInvalid);
  std::lock_guard lock(a->accounts_mu);
  if (auto it = a->accounts.find(user_id); it != a->accounts.end()) {
    fence.observe(it->second.seq);
    return {};
  }
  if (a->admins.contains(user_id)) return {};
  if (auto ok = domain::check_login_user_id(user_id, "identifier"); !ok) return ok;
  domain::Account account{user_id, {}};
  const uint64_t seq = store_.submit({store::PutAccount{sdkappid, account}});
  fence.observe(seq);
  a->accounts.emplace(user_id, AccountEntry{std::move(account), seq});
  return {};
}

bool RoomEngine::account_exists(uint32_t sdkappid, std::string_view user_id,
                                ReadFence& fence) const {
  return get_account(sdkappid, user_id, fence).has_value();
}

std::optional<domain::Account> RoomEngine::get_account(uint32_t sdkappid, std::string_view user_id,
                                                       ReadFence& fence) const {
  AppState* a = app(sdkappid);
  if (!a) return std::nullopt;
  std::lock_guard lock(a->accounts_mu);
  if (auto it = a->accounts.find(user_id); it != a->accounts.end()) {
    fence.observe(it->second.seq);
    return it->second.account;
  }
  fence.observe(a->accounts_delete_seq);
  if (a->admins.contains(user_id)) return domain::Account{std::string(user_id), {}};
  return std::nullopt;
}

Result<void> RoomEngine::set_profile(uint32_t sdkappid, const std::string& user_id,
                                     const std::vector<ProfileItem>& items, ReadFence& fence) {
  AppState* a = app(sdkappid);
  if (!a) return fail(Code::kSdkAppIdInvalid);
  std::lock_guard lock(a->accounts_mu);
  auto it = a->accounts.find(user_id);
  domain::Account account;
  if (it != a->accounts.end()) {
    account = it->second.account;
  } else if (a->admins.contains(user_id)) {
    account.user_id = user_id;  // admins always exist
  } else if (a->options.auto_import_accounts) {
    if (auto ok = domain::check_user_id(user_id, "From_Account"); !ok) return ok;
    account.user_id = user_id;  // auto-import creates on first use
  } else {
    fence.observe(a->accounts_delete_seq);
    return fail(Code::kAccountNotImported,
                fmt::format("From_Account '{}' is not an imported account", user_id));
  }
  set_profile_items(account, items);
  const uint64_t seq = store_.submit({store::PutAccount{sdkappid, account}});
  fence.observe(seq);
  a->accounts.insert_or_assign(user_id, AccountEntry{std::move(account), seq});
  return {};
}

}  // namespace liveroom::engine
