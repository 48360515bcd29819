// Token counts are integers (nano-tokens) so that refill is exact: a test or a client that waits
// exactly 1/limit seconds always gets its next token, which floating point would not guarantee.
// Buckets of documented commands are created up front in a map that is never modified, so the
// hot path is a shared lock, two hash lookups with std::string_view and one bucket mutex.
#include "quota/quota_table.h"

#include <algorithm>
#include <map>
#include <optional>

namespace liveroom::quota {
namespace {

constexpr int64_t kOneToken = 1'000'000'000;  // nano-tokens per token

// Names a client may send a lot of distinct values of are bounded: past these counts, unknown
// command names of an app share one bucket and unknown sdkappids share one app.
constexpr std::size_t kMaxExtraCommands = 256;
constexpr std::size_t kMaxUnconfiguredApps = 1024;

constexpr uint32_t kSpecDefault = 200;

// Every command of live-api.md §2 and §8 plus the IM calls of §2.9, so their buckets exist
// before the first request.
constexpr std::string_view kKnownCommands[] = {
    // live_engine_http_srv: rooms, members, messages, robots
    "create_room", "destroy_room", "update_room_info", "get_room_info", "get_room_list",
    "get_room_metadata", "set_room_metadata", "del_room_metadata", "get_room_stats",
    "resume_mcu_task", "get_member_list", "get_admin_list", "modify_admin", "ban_member",
    "unban_member", "get_banned_member_list", "mute_member", "get_muted_member_list",
    "send_text_msg", "send_custom_msg", "add_robot", "del_robot", "get_robot",
    // gifts
    "add_gift", "edit_gift", "del_gift", "get_gift", "get_gift_info_list", "get_gift_count",
    "get_gift_language", "set_gift_language", "del_gift_language", "add_gift_category",
    "edit_gift_category", "del_gift_category", "get_gift_category", "get_gift_category_language",
    "set_gift_category_language", "del_gift_category_language", "add_gift_category_relations",
    "del_gift_category_relations", "get_gift_category_relations",
    // live_engine_http_pk
    "create_battle", "get_battle_info", "end_battle",
    // room_engine_http_mic
    "get_seat_list", "pick_user_on_seat", "kick_user_off_seat", "lock_seat", "switch_seat",
    "move_user_to_seat",
    // live_config
    "set_callback", "get_callback", "update_callback", "delete_callback", "set_callback_token",
    "get_callback_token",
    // im_open_login_svc, profile, group_open_http_svc
    "account_import", "multiaccount_import", "account_delete", "account_check", "portrait_get",
    "portrait_set", "send_group_msg"};

std::string_view last_segment(std::string_view command) {
  const auto slash = command.rfind('/');
  return slash == std::string_view::npos ? command : command.substr(slash + 1);
}

}  // namespace

struct QuotaTable::Bucket {
  explicit Bucket(uint32_t per_second) : limit(per_second) {}

  // Refills continuously up to one second's worth, then takes one token if there is one.
  bool take(Clock::time_point now) {
    const int64_t capacity = static_cast<int64_t>(limit) * kOneToken;
    std::lock_guard lock(mu);
    if (!started) {
      started = true;
      nanotokens = capacity;
      last = now;
    } else if (now > last) {
      // After a second the bucket is full whatever the rate, and clamping keeps the product
      // below 2^63 for any uint32 limit.
      const int64_t dt = std::min<int64_t>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(now - last).count(), kOneToken);
      nanotokens = std::min(capacity, nanotokens + dt * static_cast<int64_t>(limit));
      last = now;
    }
    if (nanotokens < kOneToken) return false;
    nanotokens -= kOneToken;
    return true;
  }

  const uint32_t limit;  // 0 = unlimited
  std::mutex mu;
  int64_t nanotokens = 0;
  Clock::time_point last{};
  bool started = false;
};

struct QuotaTable::App {
  App(uint32_t id, bool is_configured, std::optional<uint32_t> default_limit)
      : sdkappid(id),
        configured(is_configured),
        default_per_second(default_limit),
        overflow(default_limit.value_or(kSpecDefault)) {}

  uint32_t limit_of(std::string_view canonical) const {
    if (auto it = per_command.find(canonical); it != per_command.end()) return it->second;
    if (default_per_second) return *default_per_second;
    return spec_default(canonical);
  }

  Bucket& bucket(std::string_view canonical) {
    if (auto it = fixed.find(canonical); it != fixed.end()) return it->second;
    {
      std::shared_lock lock(extra_mu);
      if (auto it = extra.find(canonical); it != extra.end()) return it->second;
    }
    std::unique_lock lock(extra_mu);
    if (auto it = extra.find(canonical); it != extra.end()) return it->second;
    if (extra.size() >= kMaxExtraCommands) return overflow;
    return extra.try_emplace(std::string(canonical), limit_of(canonical)).first->second;
  }

  const uint32_t sdkappid;
  const bool configured;
  const std::optional<uint32_t> default_per_second;
  std::map<std::string, uint32_t, std::less<>> per_command;  // canonical names
  BucketMap fixed;  // filled by make_app, read-only afterwards
  std::shared_mutex extra_mu;
  BucketMap extra;  // other names, created on first use
  Bucket overflow;  // shared by names past kMaxExtraCommands
};

QuotaTable::QuotaTable() : unconfigured_overflow_(make_app(0, nullptr)) {}

QuotaTable::QuotaTable(const std::vector<config::AppConfig>& apps) : QuotaTable() {
  for (const config::AppConfig& app : apps) configure_app(app.sdkappid, app.rate_limits);
}

QuotaTable::~QuotaTable() = default;

std::string_view QuotaTable::canonical_command(std::string_view command) {
  const std::string_view name = last_segment(command);
  if (name == "get_room_statistic") return "get_room_stats";
  return name;
}

uint32_t QuotaTable::spec_default(std::string_view command) {
  const std::string_view name = canonical_command(command);
  if (name.find("gift") != std::string_view::npos) return 1;
  if (name == "get_room_list") return 10;
  if (name == "resume_mcu_task") return 20;
  if (name == "add_robot" || name == "del_robot" || name == "get_robot" ||
      name == "get_room_stats" || name == "account_check") {
    return 100;
  }
  return kSpecDefault;
}

std::unique_ptr<QuotaTable::App> QuotaTable::make_app(uint32_t sdkappid,
                                                      const config::RateLimits* limits) {
  auto app = std::make_unique<App>(sdkappid, limits != nullptr,
                                   limits != nullptr ? limits->default_per_second : std::nullopt);
  if (limits != nullptr) {
    // An alias only counts when its canonical name is not listed too.
    for (const auto& [name, limit] : limits->per_command) {
      app->per_command.try_emplace(std::string(canonical_command(name)), limit);
    }
    for (const auto& [name, limit] : limits->per_command) {
      if (canonical_command(name) == name) app->per_command[name] = limit;
    }
  }
  for (std::string_view name : kKnownCommands) {
    app->fixed.try_emplace(std::string(name), app->limit_of(name));
  }
  for (const auto& [name, limit] : app->per_command) app->fixed.try_emplace(name, limit);
  return app;
}

void QuotaTable::configure_app(uint32_t sdkappid, const config::RateLimits& limits) {
  auto app = make_app(sdkappid, &limits);
  std::unique_lock lock(mu_);
  auto& slot = apps_[sdkappid];
  if (slot && !slot->configured) --unconfigured_apps_;
  slot = std::move(app);
}

QuotaTable::App* QuotaTable::find_or_create_app(uint32_t sdkappid,
                                                std::shared_lock<std::shared_mutex>& lock) {
  if (auto it = apps_.find(sdkappid); it != apps_.end()) return it->second.get();
  lock.unlock();
  {
    std::unique_lock write(mu_);
    if (!apps_.contains(sdkappid) && unconfigured_apps_ < kMaxUnconfiguredApps) {
      apps_.emplace(sdkappid, make_app(sdkappid, nullptr));
      ++unconfigured_apps_;
    }
  }
  lock.lock();
  if (auto it = apps_.find(sdkappid); it != apps_.end()) return it->second.get();
  return unconfigured_overflow_.get();
}

Result<void> QuotaTable::try_acquire(uint32_t sdkappid, std::string_view command,
                                     Clock::time_point now) {
  const std::string_view canonical = canonical_command(command);
  std::shared_lock lock(mu_);  // held so configure_app cannot free the app under us
  App* app = find_or_create_app(sdkappid, lock);
  Bucket& bucket = app->bucket(canonical);
  if (bucket.limit == 0 || bucket.take(now)) return {};
  const uint32_t limit = bucket.limit;
  lock.unlock();
  return std::unexpected(over_limit(sdkappid, command, limit));
}

Error QuotaTable::over_limit(uint32_t sdkappid, std::string_view command, uint32_t limit) {
  return Error{Code::kRateLimited, std::string(last_segment(command)) + " exceeds its limit of " +
                                       std::to_string(limit) +
                                       (limit == 1 ? " request" : " requests") +
                                       " per second for sdkappid " + std::to_string(sdkappid)};
}

uint32_t QuotaTable::limit_for(uint32_t sdkappid, std::string_view command) const {
  const std::string_view canonical = canonical_command(command);
  std::shared_lock lock(mu_);
  if (auto it = apps_.find(sdkappid); it != apps_.end()) return it->second->limit_of(canonical);
  return spec_default(canonical);
}

}  // namespace liveroom::quota
