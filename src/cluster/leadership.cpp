#include "cluster/leadership.h"

#include <algorithm>
#include <random>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "base/hex.h"

namespace liveroom::cluster {
namespace {

// Renews the lease if this node holds it (1); takes it again if it lapsed and nobody took it
// (2); otherwise reports another holder (0).
constexpr const char* kRenewScript = R"lua(
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
elseif not v then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 2
end
return 0
)lua";

// A leader that stops leaves the lease marked released rather than absent: followers take a
// released lease at their next look, not after the two looks that guard an absent one.
constexpr const char* kReleaseScript = R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
)lua";

// A follower takes the lease if it is absent or released (in one step: several compete).
constexpr const char* kCompeteScript = R"lua(
local v = redis.call('GET', KEYS[1])
if not v or v == ARGV[2] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
  return 1
end
return 0
)lua";

// While a follower expects the leader to change (its link to the leader broke, or the leader
// said it is stepping down), it looks this often, for 2 × lease_ms.
constexpr auto kFastLook = std::chrono::milliseconds(100);

// One round trip: the entry with its expiry and the node's id in the set of nodes (unless
// ARGV[5] is "read": a node that withdrew only reads), and the ids of the nodes whose entries
// have not expired (ARGV[4] is the entries' key prefix).
constexpr const char* kRegisterScript = R"lua(
if ARGV[5] ~= 'read' then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  redis.call('SADD', KEYS[2], ARGV[3])
end
local live = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  if redis.call('EXISTS', ARGV[4] .. id) == 1 then table.insert(live, id) end
end
return live
)lua";

std::string process_token() {
  std::random_device rd;
  std::string bytes(8, '\0');
  for (char& c : bytes) c = static_cast<char>(rd());
  return to_hex(bytes);
}

int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::string lease_key(const std::string& prefix) {
  return prefix + ":leader";
}

std::string app_lease_key(const std::string& prefix, uint32_t sdkappid) {
  return lease_key(prefix) + ":" + std::to_string(sdkappid);
}

std::string slot_lease_key(const std::string& prefix, uint32_t sdkappid, uint32_t slot) {
  return app_lease_key(prefix, sdkappid) + ":" + std::to_string(slot);
}

std::string scope_name(const LeaseScope& scope) {
  if (scope.slot) return fmt::format("slot {} of app {}", *scope.slot, scope.sdkappid);
  return fmt::format("app {}", scope.sdkappid);
}

std::string registry_entry_key(const std::string& prefix, const std::string& node_id) {
  return prefix + ":node:" + node_id;
}

std::string registry_set_key(const std::string& prefix) {
  return prefix + ":nodes";
}

std::string lease_released_for(std::string_view node_id) {
  return fmt::format("{} for {}", kReleasedLease, node_id);
}

LeaseHolder parse_lease_value(std::string_view value) {
  if (value.starts_with(kReleasedLease)) return {};  // names no leader (nor any, for another)
  const size_t first = value.find(' ');
  const size_t second = first == std::string_view::npos ? first : value.find(' ', first + 1);
  if (second == std::string_view::npos) return {};
  return {std::string(value.substr(0, first)), std::string(value.substr(second + 1))};
}

Leadership::Leadership(const config::ClusterConfig& config, SharedRedisClient& redis,
                       LeaseDriver& driver, Hooks hooks, std::optional<LeaseScope> scope)
    : config_(config),
      hooks_(std::move(hooks)),
      redis_(redis),
      driver_(driver),
      key_(!scope        ? lease_key(config.key_prefix)
           : scope->slot ? slot_lease_key(config.key_prefix, scope->sdkappid, *scope->slot)
                         : app_lease_key(config.key_prefix, scope->sdkappid)),
      scope_(scope ? " for " + scope_name(*scope) : ""),
      value_(config.node_id + " " + process_token() + " " + config.advertise_url) {}

Leadership::~Leadership() {
  stop();
}

void Leadership::check() {
  redis_.command({"PING"});  // connects first, with the reason if it cannot
}

void Leadership::start() {
  driver_.add(*this);
}

void Leadership::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();  // (a release_to() waiting)
  driver_.remove(*this);
  std::string successor;
  {
    std::lock_guard lock(mu_);
    successor = successor_;
  }
  try {
    if (elected()) {
      redis_.command(
          {"EVAL", kReleaseScript, "1", key_, value_,
           successor.empty() ? std::string(kReleasedLease) : lease_released_for(successor),
           std::to_string(config_.lease_ms)});
    }
    // Stopped, not lost: the registry shows it gone now rather than lease_ms later.
    if (hooks_.describe) {
      redis_.command({"DEL", registry_entry_key(config_.key_prefix, config_.node_id)});
    }
  } catch (const RedisError&) {
    // Both expire by themselves.
  }
}

void Leadership::withdraw() {
  {
    std::lock_guard lock(mu_);
    withdraw_ = true;
  }
  driver_.wake(*this);
}

void Leadership::set_successor(std::string node_id) {
  std::lock_guard lock(mu_);
  successor_ = std::move(node_id);
}

bool Leadership::release_to(const std::string& node_id) {
  std::unique_lock lock(mu_);
  if (stopping_ || !elected()) return false;
  release_to_ = node_id;
  released_.reset();
  lock.unlock();
  driver_.wake(*this);
  lock.lock();
  cv_.wait(lock, [this] { return stopping_ || released_.has_value(); });
  return released_.value_or(false);
}

bool Leadership::release() {
  // Whatever Redis says, this node serves no more: it follows from now on.
  std::string to;
  {
    std::lock_guard lock(mu_);
    to = *release_to_;
  }
  bool ok = false;
  try {
    const RedisReply r = redis_.command({"EVAL", kReleaseScript, "1", key_, value_,
                                         lease_released_for(to), std::to_string(config_.lease_ms)});
    ok = std::holds_alternative<long long>(r) && std::get<long long>(r) == 1;
  } catch (const std::exception& e) {
    log_redis_error(e);
  }
  valid_until_ns_.store(0, std::memory_order_release);
  {
    std::lock_guard lock(mu_);
    elected_.store(false, std::memory_order_release);
    leader_url_.clear();
    // Look often until the node it went to has it (it takes it at its next look).
    fast_until_ =
        std::chrono::steady_clock::now() + 2 * std::chrono::milliseconds(config_.lease_ms);
  }
  free_since_.reset();
  spdlog::info("cluster: node {} handed the leadership lease{} to node {}", config_.node_id, scope_,
               to);
  return ok;
}

bool Leadership::lease_valid() const {
  return elected() && steady_ns() < valid_until_ns_.load(std::memory_order_acquire);
}

std::string Leadership::leader_url() const {
  std::lock_guard lock(mu_);
  return leader_url_;
}

std::vector<std::string> Leadership::live_nodes() const {
  std::lock_guard lock(mu_);
  return live_nodes_;
}

void Leadership::look_soon() {
  {
    std::lock_guard lock(mu_);
    const auto now = std::chrono::steady_clock::now();
    if (now < fast_until_) return;  // already looking often: calls that bounce need no more
    // Long enough for a dead leader's lease to expire (at most lease_ms), be seen free twice
    // and be taken: the calls this node holds meanwhile go to the new leader as soon as it
    // is named, not at the next regular look.
    fast_until_ = now + 2 * std::chrono::milliseconds(config_.lease_ms);
    look_now_ = true;
  }
  driver_.wake(*this);
}

void Leadership::announce() {
  {
    std::lock_guard lock(mu_);
    announce_ = true;
  }
  driver_.wake(*this);
}

LeaseDriver::Clock::time_point Leadership::step() {
  const auto interval = look_interval();
  // A leader that could not renew retries at once and often: when Redis returns (perhaps empty)
  // it must renew before a follower takes the lease, or the cluster loses its leader for nothing.
  constexpr auto kLeaderRetry = std::chrono::milliseconds(100);
  std::unique_lock lock(mu_);
  if (stopping_) return std::chrono::steady_clock::now() + std::chrono::hours(1);  // (removed)
  if (std::exchange(look_now_, false)) next_look_ = std::chrono::steady_clock::now();
  // One of these per step, as they come: each may take a round trip, and the driver's threads
  // are shared with the node's other leases.
  if (std::exchange(withdraw_, false) && hooks_.describe) {
    lock.unlock();
    try {
      redis_.command({"DEL", registry_entry_key(config_.key_prefix, config_.node_id)});
    } catch (const std::exception& e) {
      log_redis_error(e);  // (it expires by itself within lease_ms)
    }
    withdrawn_ = true;
    lock.lock();
  } else if (release_to_) {
    lock.unlock();
    const bool ok = release();
    lock.lock();
    release_to_.reset();
    released_ = ok;
    cv_.notify_all();
    next_look_ = std::chrono::steady_clock::now() + kFastLook;
  } else if (std::chrono::steady_clock::now() >= next_look_) {
    lock.unlock();
    const bool was_elected = elected();
    const bool ok = tick();
    if (!was_elected && elected() && hooks_.elected) hooks_.elected();
    if (ok) publish();
    lock.lock();
    const auto now = std::chrono::steady_clock::now();
    const bool fast = !elected() && now < fast_until_;
    next_look_ = now + (!ok && elected() ? kLeaderRetry : fast ? kFastLook : interval);
  } else if (std::exchange(announce_, false)) {
    // Only the entry: an early look at the lease would shorten a follower's wait before it
    // competes (it must see the lease free on two looks `interval` apart).
    lock.unlock();
    publish();
    lock.lock();
  }
  if (announce_ || look_now_ || release_to_ || withdraw_) return std::chrono::steady_clock::now();
  return next_look_;
}

bool Leadership::tick() {
  const int64_t sent = steady_ns();
  const std::string lease_ms = std::to_string(config_.lease_ms);
  const int64_t valid_until = sent + int64_t{config_.lease_ms} * 1'000'000;
  try {
    if (!elected()) {
      // A follower competes for an absent lease only once it has been absent for a lease
      // interval (two looks apart): a leader cut off from Redis for a moment renews first. A
      // released lease was given up by a leader that stopped, and the lease of a cluster that
      // never had a leader is nobody's: both are taken at once.
      RedisReply holder = redis_.command({"GET", key_});
      const auto* held = std::get_if<std::string>(&holder);
      // Released to this node by its previous leader: taken at once, as a released lease is.
      const bool released_here = held && *held == lease_released_for(config_.node_id);
      const bool released = held && (*held == kReleasedLease || released_here);
      const auto now = std::chrono::steady_clock::now();
      if (held) {
        free_since_.reset();
      } else if (!free_since_) {
        free_since_ = now;
      }
      // A node other than the preferred one (placement by app) waits two looks longer, so
      // that the preferred one takes the lease unless it is gone too.
      const bool preferred = !hooks_.preferred || hooks_.preferred();
      const auto wait = preferred ? look_interval() : 3 * look_interval();
      // The preferred node of an app that another node hosts is about to be handed it (its
      // host moves it here once this node has been live for a lease): it looks often, so that
      // it takes the lease within kFastLook of its release and the app's calls wait no longer.
      if (hooks_.preferred && preferred && held && !held->starts_with(kReleasedLease)) {
        look_soon();
      }
      const bool compete = (!hooks_.may_take || hooks_.may_take()) &&
                           (released || (free_since_ && now - *free_since_ >= wait) ||
                            (!held && preferred && nobody_ever_led()));
      RedisReply r;
      if (compete) {
        r = redis_.command({"EVAL", kCompeteScript, "1", key_, value_,
                            released_here ? *held : std::string(kReleasedLease), lease_ms});
      }
      if (std::holds_alternative<long long>(r) && std::get<long long>(r) == 1) {
        free_since_.reset();
        valid_until_ns_.store(valid_until, std::memory_order_release);
        {
          std::lock_guard lock(mu_);
          leader_url_.clear();
          elected_.store(true, std::memory_order_release);
        }
        spdlog::info("cluster: node {} holds the leadership lease{}", config_.node_id, scope_);
        saw_leader(config_.advertise_url);
        return true;
      }
      std::string url;
      if (held && !released) {
        url = parse_lease_value(*held).advertise_url;
        if (!url.empty()) saw_leader(url);
        // A previous life of this very node is not a leader to use.
        if (url == config_.advertise_url) url.clear();
      }
      std::lock_guard lock(mu_);
      leader_url_ = std::move(url);
      return true;
    }
    // Urgent: ahead of the followers' looks in the node's next round trip to Redis.
    RedisReply r =
        redis_.command({"EVAL", kRenewScript, "1", key_, value_, lease_ms}, /*urgent=*/true);
    const long long outcome = std::holds_alternative<long long>(r) ? std::get<long long>(r) : 0;
    if (outcome == 0) {
      lose("another node holds the leadership lease");
      return true;
    }
    if (outcome == 2) {
      // The lease lapsed while Redis was away and nobody took it since: still ours only if no
      // other node raised the epoch meanwhile.
      const uint64_t current = hooks_.current_epoch();
      if (current != epoch_.load()) {
        lose("the leadership epoch moved on to " + std::to_string(current));
        return true;
      }
      spdlog::warn("cluster: leadership lease regained after an outage (epoch {} unchanged)",
                   current);
    }
    valid_until_ns_.store(valid_until, std::memory_order_release);
    if (lease_lapsed_logged_) {
      spdlog::info("cluster: leadership lease renewed; serving again");
      lease_lapsed_logged_ = false;
    }
    return true;
  } catch (const std::exception& e) {
    log_redis_error(e);
    if (elected() && !lease_valid() && !lease_lapsed_logged_) {
      spdlog::error(
          "cluster: the leadership lease lapsed (Redis unreachable); refusing requests "
          "until it is renewed");
      lease_lapsed_logged_ = true;
    }
    return false;
  }
}

bool Leadership::nobody_ever_led() {
  if (someone_led_ || !hooks_.current_epoch) return false;
  try {
    someone_led_ = hooks_.current_epoch() != 0;
  } catch (const std::exception& e) {
    spdlog::warn(
        "cluster: cannot read the leadership epoch ({}); competing for the lease "
        "after two looks",
        e.what());
    return false;
  }
  return !someone_led_;
}

void Leadership::publish() {
  if (!hooks_.describe) return;
  try {
    RedisReply live = redis_.command(
        {"EVAL", kRegisterScript, "2", registry_entry_key(config_.key_prefix, config_.node_id),
         registry_set_key(config_.key_prefix), withdrawn_ ? std::string() : hooks_.describe(),
         std::to_string(config_.lease_ms), config_.node_id,
         registry_entry_key(config_.key_prefix, ""), withdrawn_ ? "read" : "write"});
    if (auto* ids = std::get_if<std::vector<std::string>>(&live)) {
      std::sort(ids->begin(), ids->end());
      bool changed = false;
      {
        std::lock_guard lock(mu_);
        changed = *ids != live_nodes_;
        live_nodes_ = std::move(*ids);
      }
      if (changed && hooks_.live_changed) hooks_.live_changed();
    }
  } catch (const std::exception& e) {
    log_redis_error(e);
  }
}

void Leadership::log_redis_error(const std::exception& e) {
  if (const auto held_back = redis_errors_.allow()) {
    spdlog::error("cluster: {} ({} more Redis errors since the last report)", e.what(), *held_back);
  }
}

void Leadership::saw_leader(const std::string& url) {
  if (!last_leader_url_.empty() && url != last_leader_url_ && hooks_.moved) {
    hooks_.moved(last_leader_url_);
  }
  last_leader_url_ = url;
}

void Leadership::lose(const std::string& why) {
  valid_until_ns_.store(0, std::memory_order_release);
  spdlog::critical("cluster: node {} lost leadership{}: {}", config_.node_id, scope_, why);
  hooks_.lost(why);
}

}  // namespace liveroom::cluster
