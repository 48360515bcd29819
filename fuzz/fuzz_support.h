// What the fuzz targets that drive the server in-process share: one real SQLite store, engine and
// REST router per process, in a temporary directory, with a fixed clock so that the UserSigs
// signed once at start-up stay valid for the whole run. libFuzzer calls each target millions of
// times; building this per input would measure SQLite's open, not our code.
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <spdlog/spdlog.h>

#include "api/router.h"
#include "auth/usersig.h"
#include "base/clock.h"
#include "config/config.h"
#include "engine/room_engine.h"
#include "server/http_server.h"
#include "store/store.h"

namespace liveroom::fuzzing {

inline constexpr uint32_t kApp = 1400000001;
inline constexpr std::string_view kKey =
    "e55c7a0a473a21966ab381382c370ccf47285d61463cb0ccd9f68fc6fdefcdc5";
inline constexpr std::string_view kAdmin = "administrator";
inline constexpr int64_t kNow = 1'769'000'000;
inline constexpr int64_t kSigLifetime = 86'400 * 365;

inline std::string sign(std::string_view identifier) {
  return auth::generate_usersig(kApp, kKey, identifier, kSigLifetime, kNow);
}

// A directory for this process's database, removed when the process exits normally. tmpfs when
// the machine has one: every acknowledged write is fsynced, and on a disk that would make the
// fsync, not the code, the cost of an input.
inline std::filesystem::path make_temp_dir() {
  std::filesystem::path base = "/dev/shm";
  if (::access(base.c_str(), W_OK) != 0) base = std::filesystem::temp_directory_path();
  std::string pattern = (base / "liveroom_fuzz_XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) std::abort();
  static std::filesystem::path dir;
  dir = pattern;
  std::atexit([] {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  });
  return dir;
}

inline config::Config fuzz_config() {
  config::Config c;
  config::AppConfig app;
  app.sdkappid = kApp;
  app.secret_key = std::string(kKey);
  app.admins = {std::string(kAdmin)};
  // Unknown accounts are imported on first use, so that fuzzed names reach the handlers.
  app.auto_import_accounts = true;
  app.rate_limits.default_per_second = 0;
  c.apps = {app};
  c.http.io_threads = 1;
  return c;
}

// The whole server but its sockets. Created once and never destroyed: libFuzzer ends the process
// with exit(), and tearing down threads then would only add a way to fail that no input caused.
struct Server {
  Server() : config(fuzz_config()), clock(kNow) {
    // Failed requests are logged; millions of them would bury libFuzzer's own report.
    spdlog::set_level(spdlog::level::off);
    const std::filesystem::path dir = make_temp_dir();
    store = store::open_sqlite_store({(dir / "liveroom.db").string()});
    std::vector<engine::AppOptions> apps;
    for (const auto& app : config.apps) {
      apps.push_back({app.sdkappid, app.admins, app.auto_import_accounts});
    }
    engine = std::make_unique<engine::RoomEngine>(*store, clock, std::move(apps));
    engine->load(store->load());
    router = std::make_unique<api::ApiRouter>(config, *engine, *store, clock);
  }

  // A request the way the HTTP server sends it; returns once the reply may leave (a write's
  // reply waits for the store's fsync, on the store's thread).
  server::HttpResponse handle(std::string method, std::string target, std::string body) {
    server::HttpResponse response = router->handle(
        server::HttpRequest{std::move(method), std::move(target), std::move(body), "127.0.0.1:1"});
    if (response.gate) {
      std::promise<void> opened;
      std::future<void> done = opened.get_future();
      server::Gate gate = std::move(response.gate);
      gate([&opened] { opened.set_value(); });
      // A gate that never opens is a hung request: a bug to report, not to wait out.
      if (done.wait_for(std::chrono::seconds(30)) != std::future_status::ready) std::abort();
    }
    return response;
  }

  // The REST target of `path` ("<service>/<command>") signed as the App administrator.
  std::string admin_target(std::string_view path, std::string_view extra_query = {}) const {
    std::string target = "/v4/" + std::string(path) + "?sdkappid=" + std::to_string(kApp) +
                         "&identifier=" + std::string(kAdmin) + "&usersig=" + admin_sig +
                         "&random=1&contenttype=json";
    if (!extra_query.empty()) target += "&" + std::string(extra_query);
    return target;
  }

  config::Config config;
  FixedClock clock;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<engine::RoomEngine> engine;
  std::unique_ptr<api::ApiRouter> router;
  const std::string admin_sig = sign(kAdmin);
};

inline Server& server() {
  static Server* instance = new Server();
  return *instance;
}

}  // namespace liveroom::fuzzing
