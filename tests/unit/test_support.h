// Helpers shared by the unit tests that need real state: a fresh temporary directory per test,
// a real SQLite store inside it, waiting for durability, and direct SQLite access for checks
// that must look at the file rather than trust the code under test.
#pragma once

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include "store/store.h"

namespace liveroom::testing_support {

namespace fs = std::filesystem;

// A directory that exists for the lifetime of the object and is removed with everything in it.
// The name carries the pid, the test name and a counter so parallel runs never share one.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = "liveroom_unit_" + std::to_string(::getpid()) + "_" +
                       (info ? std::string(info->test_suite_name()) + "_" + info->name() : "x") +
                       "_" + std::to_string(counter.fetch_add(1));
    for (char& c : name) {
      if (c == '/') c = '_';  // parameterized test names contain '/'
    }
    path_ = fs::temp_directory_path() / name;
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const fs::path& path() const { return path_; }
  std::string file(std::string_view name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

inline std::unique_ptr<store::Store> open_store(const std::string& db_path) {
  return store::open_sqlite_store(store::SqliteOptions{db_path});
}

// Blocks until every submission up to `seq` is durable; false on timeout (a hung writer must
// fail the test, not hang the suite).
inline bool wait_durable(store::Store& store, uint64_t seq,
                         std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  auto done = std::make_shared<std::promise<void>>();
  std::future<void> future = done->get_future();
  store.when_durable(seq, [done] { done->set_value(); });
  return future.wait_for(timeout) == std::future_status::ready;
}

// Waits for everything submitted so far.
inline bool wait_all_durable(store::Store& store) {
  return wait_durable(store, store.submitted_seq());
}

// A direct connection to a database file, independent of the store's own connection.
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
        SQLITE_OK) {
      std::string message = db_ ? sqlite3_errmsg(db_) : "out of memory";
      sqlite3_close(db_);
      throw std::runtime_error("cannot open " + path + ": " + message);
    }
    sqlite3_busy_timeout(db_, 5000);
  }
  ~RawDb() { sqlite3_close(db_); }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;

  void exec(const std::string& sql) {
    char* error = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
      std::string message = error ? error : "unknown error";
      sqlite3_free(error);
      throw std::runtime_error(sql + ": " + message);
    }
  }

  // The first column of the first row as an integer (0 when there is no row).
  int64_t scalar(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
      throw std::runtime_error(sql + ": " + sqlite3_errmsg(db_));
    }
    int64_t value = 0;
    if (sqlite3_step(stmt) == SQLITE_ROW) value = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return value;
  }

 private:
  sqlite3* db_ = nullptr;
};

}  // namespace liveroom::testing_support
