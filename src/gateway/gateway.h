// The client gateway (docs/client-protocol.md): members' WebSocket connections, their requests
// turned into engine calls, and the engine's room events fanned out to them.
//
// Threads: a connection (ClientSession) lives on one I/O thread and is touched only there. A
// room's fan-out (RoomChannel) keeps, for each I/O thread, the list of that thread's members in
// the room; a broadcast is one post per I/O thread, which then writes to its own connections. So
// a message to 10,000 members costs the engine two posts, and no thread ever waits for a client.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "auth/verified_sig_cache.h"
#include "base/clock.h"
#include "config/config.h"
#include "engine/room_engine.h"
#include "server/http_server.h"
#include "store/store.h"

namespace liveroom::webhook {
class Dispatcher;
}
namespace liveroom::metrics {
class Histogram;
}

namespace liveroom::gateway {

class ClientSession;
class RoomChannel;

class Gateway final : public engine::AudienceFactory {
 public:
  // `dispatcher` asks Group.CallbackBeforeSendMsg about members' chat (null: no veto).
  Gateway(const config::Config& config, engine::RoomEngine& engine, store::Store& store,
          const Clock& clock, server::HttpServer& server, webhook::Dispatcher* dispatcher);
  ~Gateway() override;
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  // The transport's WebSocketOpener.
  std::shared_ptr<server::WebSocketSession> open_session(
      const server::HttpRequest& upgrade, std::shared_ptr<server::WebSocketPeer> peer);
  // engine::AudienceFactory: the fan-out of a room whose first member enters.
  std::shared_ptr<engine::RoomAudience> open(uint32_t sdkappid, std::string_view room_id) override;

  // Starts the housekeeping thread: engine deadlines (grace periods, seat requests, lifecycle)
  // and the batched member/like events.
  void start();
  void stop();

  size_t sessions() const {
    std::lock_guard lock(open_mu_);
    return open_.size();
  }
  // Closes every open connection with `code` (a cluster node whose app moved to another node
  // sends its clients there); new ones are still opened.
  void close_sessions(uint16_t code, const std::string& reason);
  // Where each broadcast's walk over an I/O thread's members of a room is timed (the server's
  // share of a large room's fan-out latency). Set before the first session opens.
  void observe_walks(metrics::Histogram* walk_duration) { walk_duration_ = walk_duration; }

  // Cluster mode: why this node may not serve requests right now (nullopt: it may), asked
  // before each request but heartbeats; requests get 100001 with the reason meanwhile. Set before
  // the first session opens.
  void set_availability(std::function<std::optional<std::string>()> unavailable) {
    unavailable_ = std::move(unavailable);
  }
  // Placement by room: runs before each request that changes something or reads the gift list
  // (not heartbeats, logins or the other reads), as the REST router's before-call: brings the
  // app-wide state up to date with the app's other hosts; an error answers the request. Set
  // before the first session opens.
  void set_before_request(std::function<Result<void>()> before) {
    before_request_ = std::move(before);
  }

 private:
  friend class ClientSession;
  friend class RoomChannel;

  std::function<std::optional<std::string>()> unavailable_;
  std::function<Result<void>()> before_request_;
  metrics::Histogram* walk_duration_ = nullptr;

  // Verifies a login; on success the session is the user's only one (an older one is told and
  // closed). The user's account is created if it is new; the reply waits on `fence`.
  Result<void> login(const std::shared_ptr<ClientSession>& session, uint32_t sdkappid,
                     const std::string& user, std::string_view usersig, engine::ReadFence& fence);
  void logout(const ClientSession* session, uint32_t sdkappid, const std::string& user);
  void mark_batch(std::weak_ptr<RoomChannel> channel);
  void housekeeping();
  // Tells the connections whose login deadline has passed (they close unless logged in).
  void expire_logins(int64_t now_ms);

  const config::GatewayConfig options_;
  engine::RoomEngine& engine_;
  store::Store& store_;
  const Clock& clock_;
  server::HttpServer& server_;
  webhook::Dispatcher* dispatcher_;
  struct AppSettings {
    std::string secret_key;
    std::chrono::milliseconds veto_timeout;
    bool veto_fail_open;
    bool gift_veto_fail_open;
  };
  std::unordered_map<uint32_t, AppSettings> apps_;
  auth::UserSigVerifier verifier_;

  // Every connection open (from open_session to its on_close): counted, and closed all at once
  // (close_sessions).
  mutable std::mutex open_mu_;
  std::unordered_map<const ClientSession*, std::weak_ptr<ClientSession>> open_;

  std::mutex logins_mu_;
  std::unordered_map<std::string, std::weak_ptr<ClientSession>> logins_;  // "<app>/<user>"

  // Every connection opened, with its login deadline, in deadline order (one timeout for all).
  std::mutex login_deadlines_mu_;
  std::deque<std::pair<int64_t, std::weak_ptr<ClientSession>>> login_deadlines_;

  std::mutex batch_mu_;
  std::vector<std::weak_ptr<RoomChannel>> batched_;

  // Whether the housekeeper has anything to do now or later (a batch, a login deadline, the
  // engine's timed work): without, it sleeps until woken.
  bool has_timed_work();
  // Work appeared: a sleeping housekeeper wakes (cheap when it is not sleeping).
  void wake_housekeeper();

  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  bool woken_ = false;                 // (stop_mu_) wake_housekeeper() came
  std::atomic<bool> sleeping_{false};  // the housekeeper is about to sleep, or sleeps
  std::thread housekeeper_;
};

}  // namespace liveroom::gateway
