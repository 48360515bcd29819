#include "node/app_state_feed.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "store/store.h"

namespace liveroom::node {

AppStateFeed::AppStateFeed(store::PgPool& postgres, engine::RoomEngine& engine, uint32_t sdkappid,
                           uint64_t version, bool trims,
                           std::function<void(const std::string&)> lost)
    : postgres_(postgres),
      engine_(engine),
      sdkappid_(sdkappid),
      trims_(trims),
      lost_(std::move(lost)),
      version_(version) {
  thread_ = std::thread([this] { run(); });
}

AppStateFeed::~AppStateFeed() {
  stop();
}

void AppStateFeed::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Result<void> AppStateFeed::catch_up() {
  std::unique_lock lock(mu_);
  // A read already begun may have begun before this call: the one after it is this call's.
  const uint64_t mine = started_ + 1;
  if (wanted_ < mine) {
    wanted_ = mine;
    cv_.notify_all();
  }
  if (!cv_.wait_for(lock, kWaitLimit, [&] { return finished_ >= mine || stopping_; }) ||
      finished_ < mine) {
    return fail(Code::kInternal,
                "cluster: the app's accounts, callbacks and gifts could not be read from "
                "PostgreSQL in time; retry");
  }
  // (A later read may have ended too; any read ending after this call began will do, but the
  // last one's outcome is the one known.)
  if (!last_ok_) {
    return fail(Code::kInternal,
                fmt::format("cluster: cannot read the app's accounts, callbacks and gifts from "
                            "PostgreSQL ({}); retry",
                            last_error_));
  }
  return {};
}

void AppStateFeed::run() {
  auto last_trim = std::chrono::steady_clock::now();
  std::unique_lock lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, kIdleRead, [this] { return stopping_ || wanted_ > started_; });
    if (stopping_) break;
    const uint64_t round = ++started_;
    lock.unlock();
    bool ok = true;
    std::string error;
    try {
      read_once();
      if (trims_ && std::chrono::steady_clock::now() - last_trim > std::chrono::minutes(1)) {
        last_trim = std::chrono::steady_clock::now();
        store::trim_app_state_changes(postgres_, sdkappid_, kChangesKeptFor);
      }
    } catch (const std::exception& e) {
      ok = false;
      error = e.what();
    }
    lock.lock();
    finished_ = round;
    last_ok_ = ok;
    last_error_ = std::move(error);
    cv_.notify_all();
  }
}

void AppStateFeed::read_once() {
  store::AppStateChanges changes = store::read_app_state_changes(
      postgres_, sdkappid_, version_, recheck_, recheck_callbacks_, recheck_catalog_);
  if (changes.gap) {
    lost_(
        fmt::format("app {}: changes to its accounts after feed position {} were trimmed "
                    "before this host read them",
                    sdkappid_, version_));
    return;
  }
  version_ = changes.version;
  recheck_.clear();
  recheck_callbacks_ = false;
  recheck_catalog_ = false;
  for (auto& [user_id, now] : changes.accounts) {
    if (!engine_.follow_account(sdkappid_, user_id, std::move(now))) recheck_.push_back(user_id);
  }
  if (changes.callbacks && !engine_.follow_callbacks(sdkappid_, std::move(*changes.callbacks))) {
    recheck_callbacks_ = true;
  }
  if (changes.catalog && !engine_.gifts().follow(sdkappid_, std::move(changes.catalog->gifts),
                                                 std::move(changes.catalog->categories))) {
    recheck_catalog_ = true;
  }
}

}  // namespace liveroom::node
