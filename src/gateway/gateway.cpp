#include "gateway/gateway.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "domain/room.h"
#include "gateway/client_session.h"
#include "gateway/room_channel.h"

namespace liveroom::gateway {

Gateway::Gateway(const config::Config& config, engine::RoomEngine& engine, store::Store& store,
                 const Clock& clock, server::HttpServer& server, webhook::Dispatcher* dispatcher)
    : options_(config.gateway),
      engine_(engine),
      store_(store),
      clock_(clock),
      server_(server),
      dispatcher_(dispatcher) {
  for (const auto& app : config.apps) {
    apps_.emplace(app.sdkappid,
                  AppSettings{app.secret_key, std::chrono::milliseconds(app.veto_timeout_ms),
                              app.veto_fail_open, app.gift_veto_fail_open});
  }
  engine_.set_timed_work_hook([this] { wake_housekeeper(); });
}

Gateway::~Gateway() {
  stop();
}

std::shared_ptr<server::WebSocketSession> Gateway::open_session(
    const server::HttpRequest& upgrade, std::shared_ptr<server::WebSocketPeer> peer) {
  auto session = std::make_shared<ClientSession>(*this, std::move(peer));
  {
    std::lock_guard lock(open_mu_);
    open_.emplace(session.get(), session);
  }
  {
    std::lock_guard lock(login_deadlines_mu_);
    login_deadlines_.emplace_back(clock_.steady_millis() + options_.login_timeout_ms, session);
  }
  wake_housekeeper();
  session->login_from_query(upgrade.target);
  return session;
}

void Gateway::close_sessions(uint16_t code, const std::string& reason) {
  std::vector<std::shared_ptr<ClientSession>> open;
  {
    std::lock_guard lock(open_mu_);
    for (const auto& [_, weak] : open_) {
      if (auto session = weak.lock()) open.push_back(std::move(session));
    }
  }
  for (const auto& session : open) session->close(code, reason);
}

void Gateway::expire_logins(int64_t now_ms) {
  std::vector<std::shared_ptr<ClientSession>> expired;
  {
    std::lock_guard lock(login_deadlines_mu_);
    while (!login_deadlines_.empty() && login_deadlines_.front().first <= now_ms) {
      if (auto session = login_deadlines_.front().second.lock()) {
        expired.push_back(std::move(session));
      }
      login_deadlines_.pop_front();
    }
  }
  for (const auto& session : expired) session->login_deadline();
}

std::shared_ptr<engine::RoomAudience> Gateway::open(uint32_t sdkappid, std::string_view room_id) {
  return std::make_shared<RoomChannel>(*this, sdkappid, std::string(room_id));
}

Result<void> Gateway::login(const std::shared_ptr<ClientSession>& session, uint32_t sdkappid,
                            const std::string& user, std::string_view usersig,
                            engine::ReadFence& fence) {
  auto app = apps_.find(sdkappid);
  if (app == apps_.end()) {
    return fail(Code::kSdkAppIdInvalid, fmt::format("no app with SDKAppID {}", sdkappid));
  }
  if (auto ok = domain::check_user_id(user, "identifier"); !ok) return ok;
  if (auto ok =
          verifier_.verify(sdkappid, user, usersig, app->second.secret_key, clock_.unix_seconds());
      !ok) {
    return ok;
  }
  // After the UserSig: only a signed login may create an account.
  if (auto ok = engine_.register_login(sdkappid, user, fence); !ok) return ok;
  std::shared_ptr<ClientSession> older;
  {
    std::lock_guard lock(logins_mu_);
    auto& slot = logins_[fmt::format("{}/{}", sdkappid, user)];
    older = slot.lock();
    slot = session;
  }
  if (older && older != session) older->replaced();
  return {};
}

void Gateway::logout(const ClientSession* session, uint32_t sdkappid, const std::string& user) {
  std::lock_guard lock(logins_mu_);
  auto it = logins_.find(fmt::format("{}/{}", sdkappid, user));
  if (it == logins_.end()) return;
  auto current = it->second.lock();
  if (!current || current.get() == session) logins_.erase(it);
}

void Gateway::mark_batch(std::weak_ptr<RoomChannel> channel) {
  {
    std::lock_guard lock(batch_mu_);
    batched_.push_back(std::move(channel));
  }
  wake_housekeeper();
}

bool Gateway::has_timed_work() {
  {
    std::lock_guard lock(batch_mu_);
    if (!batched_.empty()) return true;
  }
  {
    std::lock_guard lock(login_deadlines_mu_);
    if (!login_deadlines_.empty()) return true;
  }
  return engine_.has_timed_work();
}

void Gateway::wake_housekeeper() {
  // Sequentially consistent with the housekeeper's store before it looks for work: either it
  // sees this caller's work, or this caller sees it sleeping and wakes it.
  if (!sleeping_.load()) return;
  {
    std::lock_guard lock(stop_mu_);
    woken_ = true;
  }
  stop_cv_.notify_one();
}

void Gateway::start() {
  housekeeper_ = std::thread([this] { housekeeping(); });
}

void Gateway::stop() {
  {
    std::lock_guard lock(stop_mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (housekeeper_.joinable()) housekeeper_.join();
  engine_.set_timed_work_hook({});
}

void Gateway::housekeeping() {
  const auto period =
      std::chrono::milliseconds(std::clamp<uint32_t>(options_.member_batch_ms / 2, 10, 50));
  // Asleep with nothing to do, it still looks this often: a bound on any wake-up missed.
  constexpr auto kIdleLook = std::chrono::seconds(1);
  std::unique_lock lock(stop_mu_);
  for (;;) {
    lock.unlock();
    // Marked asleep before looking (see wake_housekeeper), and looked without stop_mu_: the
    // engine's locks are taken before the hook's, never after.
    sleeping_.store(true);
    const bool idle = !has_timed_work();
    if (!idle) sleeping_.store(false);
    lock.lock();
    if (idle) {
      stop_cv_.wait_for(lock, kIdleLook, [this] { return stopping_ || woken_; });
    } else {
      stop_cv_.wait_for(lock, period, [this] { return stopping_; });
    }
    sleeping_.store(false);
    woken_ = false;
    if (stopping_) break;
    lock.unlock();
    try {
      engine_.tick();
      std::vector<std::weak_ptr<RoomChannel>> batched;
      {
        std::lock_guard batch_lock(batch_mu_);
        batched.swap(batched_);
      }
      const int64_t now = clock_.steady_millis();
      expire_logins(now);
      std::vector<std::weak_ptr<RoomChannel>> waiting;
      for (auto& weak : batched) {
        if (auto channel = weak.lock(); channel && channel->flush_batch(now)) {
          waiting.push_back(std::move(weak));
        }
      }
      if (!waiting.empty()) {
        std::lock_guard batch_lock(batch_mu_);
        batched_.insert(batched_.end(), waiting.begin(), waiting.end());
      }
    } catch (const std::exception& e) {
      spdlog::error("gateway housekeeping failed: {}", e.what());
    }
    lock.lock();
  }
}

}  // namespace liveroom::gateway
