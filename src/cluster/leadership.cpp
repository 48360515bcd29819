#include "cluster/leadership.h"

#include <random>

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

constexpr const char* kReleaseScript = R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
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

Leadership::Leadership(const config::ClusterConfig& config, Hooks hooks)
    : config_(config),
      hooks_(std::move(hooks)),
      redis_(parse_redis_url(config.redis_url),
             std::chrono::milliseconds(std::max<uint32_t>(200, config.lease_ms / 4))),
      key_(config.key_prefix + ":leader"),
      value_(config.node_id + " " + process_token() + " " + config.advertise_url) {}

Leadership::~Leadership() {
  stop();
}

void Leadership::check() {
  redis_.connect();
  redis_.command({"PING"});
}

void Leadership::start() {
  thread_ = std::thread([this] { run(); });
}

void Leadership::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (elected()) {
    try {
      redis_.command({"EVAL", kReleaseScript, "1", key_, value_});
    } catch (const RedisError&) {
      // It expires by itself.
    }
  }
}

bool Leadership::wait_until_elected() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [this] { return stopping_ || interrupted_ || elected(); });
  return !stopping_ && !interrupted_;
}

void Leadership::interrupt_wait() {
  {
    std::lock_guard lock(mu_);
    interrupted_ = true;
  }
  cv_.notify_all();
}

bool Leadership::lease_valid() const {
  return elected() && steady_ns() < valid_until_ns_.load(std::memory_order_acquire);
}

std::string Leadership::leader_url() const {
  std::lock_guard lock(mu_);
  return leader_url_;
}

void Leadership::run() {
  const auto interval = std::chrono::milliseconds(config_.lease_ms / 3);
  std::unique_lock lock(mu_);
  while (!stopping_) {
    lock.unlock();
    tick();
    lock.lock();
    cv_.wait_for(lock, interval, [this] { return stopping_; });
  }
}

void Leadership::tick() {
  const int64_t sent = steady_ns();
  const std::string lease_ms = std::to_string(config_.lease_ms);
  const int64_t valid_until = sent + int64_t{config_.lease_ms} * 1'000'000;
  try {
    if (!elected()) {
      RedisReply r = redis_.command({"SET", key_, value_, "NX", "PX", lease_ms});
      if (std::holds_alternative<std::string>(r)) {
        valid_until_ns_.store(valid_until, std::memory_order_release);
        {
          std::lock_guard lock(mu_);
          leader_url_.clear();
          elected_.store(true, std::memory_order_release);
        }
        cv_.notify_all();
        spdlog::info("cluster: node {} holds the leadership lease", config_.node_id);
        return;
      }
      RedisReply holder = redis_.command({"GET", key_});
      std::string url;
      if (const auto* v = std::get_if<std::string>(&holder)) {
        // "<node_id> <token> <url>"; a previous life of this very node is not a leader to use.
        const size_t first = v->find(' ');
        const size_t second = first == std::string::npos ? first : v->find(' ', first + 1);
        if (second != std::string::npos) url = v->substr(second + 1);
        if (url == config_.advertise_url) url.clear();
      }
      std::lock_guard lock(mu_);
      leader_url_ = std::move(url);
      return;
    }
    RedisReply r = redis_.command({"EVAL", kRenewScript, "1", key_, value_, lease_ms});
    const long long outcome = std::holds_alternative<long long>(r) ? std::get<long long>(r) : 0;
    if (outcome == 0) return lose("another node holds the leadership lease");
    if (outcome == 2) {
      // The lease lapsed while Redis was away and nobody took it since: still ours only if no
      // other node raised the epoch meanwhile.
      const uint64_t current = hooks_.current_epoch();
      if (current != epoch_.load()) {
        return lose("the leadership epoch moved on to " + std::to_string(current));
      }
      spdlog::warn("cluster: leadership lease regained after an outage (epoch {} unchanged)",
                   current);
    }
    valid_until_ns_.store(valid_until, std::memory_order_release);
    if (lease_lapsed_logged_) {
      spdlog::info("cluster: leadership lease renewed; serving again");
      lease_lapsed_logged_ = false;
    }
  } catch (const std::exception& e) {
    const auto now = std::chrono::steady_clock::now();
    if (now - last_error_log_ > std::chrono::seconds(5)) {
      spdlog::error("cluster: {}", e.what());
      last_error_log_ = now;
    }
    if (elected() && !lease_valid() && !lease_lapsed_logged_) {
      spdlog::error(
          "cluster: the leadership lease lapsed (Redis unreachable); refusing requests "
          "until it is renewed");
      lease_lapsed_logged_ = true;
    }
  }
}

void Leadership::lose(const std::string& why) {
  valid_until_ns_.store(0, std::memory_order_release);
  spdlog::critical("cluster: node {} lost leadership: {}", config_.node_id, why);
  hooks_.lost(why);
}

}  // namespace liveroom::cluster
