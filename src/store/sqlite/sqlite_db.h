// Thin RAII wrappers over the SQLite C API, plus the schema (with its migrations) and the
// start-up load. Errors throw StoreError: they happen at start-up, where they stop the server
// with a message, or in the writer thread, where they are fatal (see sqlite_store.cpp).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "store/rows.h"
#include "store/store.h"

namespace liveroom::store {

class Statement {
 public:
  Statement() = default;
  Statement(sqlite3* db, std::string_view sql);
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  ~Statement();

  void bind(int index, int64_t value);
  void bind(int index, std::string_view value);
  void bind_null(int index);
  // Steps once; returns true while a row is available.
  bool step();
  // Runs to completion and resets, ready for the next bind.
  void run();
  void reset();

  int64_t column_int(int index) const;
  std::string_view column_text(int index) const;
  bool column_is_null(int index) const;

 private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

class Database {
 public:
  explicit Database(const std::string& path);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  void exec(std::string_view sql);
  Statement prepare(std::string_view sql) { return Statement(db_, sql); }
  sqlite3* handle() { return db_; }
  void close();

 private:
  sqlite3* db_ = nullptr;
};

// The schema version this binary writes (PRAGMA user_version after migrate()).
int64_t latest_schema_version();

// Brings the schema to the latest version (PRAGMA user_version), one transaction per step.
void migrate(Database& db);

}  // namespace liveroom::store
