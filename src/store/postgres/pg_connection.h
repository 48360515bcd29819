// Thin RAII wrappers over libpq for the PostgreSQL store, shaped like the SQLite ones
// (store/rows.h's statement interface) so both stores share their row code.
//
// Writes are not sent one by one: PgStatement::run() renders the statement with its values as
// literals and appends it to the connection's pending transaction, which commit sends in one
// round trip (a Query message with many statements). Text goes in as bytea hex literals, so any
// byte (NUL, invalid UTF-8) round-trips and nothing in a value can alter the SQL around it.
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/rows.h"

namespace liveroom::store {

// A failed PostgreSQL call. `sqlstate` is empty when the server sent none (connection errors).
struct PgError : StoreError {
  PgError(const std::string& message, std::string state, bool lost)
      : StoreError(message), sqlstate(std::move(state)), connection_lost(lost) {}
  std::string sqlstate;
  bool connection_lost;
};

// The SQLSTATE liveroom_check_epoch() raises when a commit comes from a node that no longer
// leads the cluster (and liveroom_check_app_epoch() when it no longer hosts the app).
inline constexpr std::string_view kFencedSqlstate = "LR001";

class PgResult {
 public:
  explicit PgResult(PGresult* result = nullptr) : result_(result) {}
  PgResult(PgResult&& other) noexcept : result_(std::exchange(other.result_, nullptr)) {}
  PgResult& operator=(PgResult&& other) noexcept;
  ~PgResult();
  int rows() const;
  int columns() const;
  bool is_null(int row, int column) const;
  std::string_view text(int row, int column) const;  // as sent (bytea: \x hex)
  bool is_bytea(int column) const;

 private:
  PGresult* result_;
};

class PgConnection {
 public:
  // Connects, or throws PgError with libpq's reason (refused, wrong password, no database...).
  explicit PgConnection(const std::string& url);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // Runs SQL (one or more statements, no parameters); throws PgError.
  PgResult exec(const std::string& sql);
  // One statement with text parameters ($1, $2, ...); throws PgError.
  PgResult exec_params(const std::string& sql, const std::vector<std::string>& params);
  bool broken() const;
  // Connected, and in no transaction: fit to lend again (PgPool).
  bool idle() const;
  void close();

 private:
  PgResult check(PGresult* result, std::string_view sql);
  PGconn* conn_ = nullptr;
};

// A statement template with $1..$N placeholders (see the file comment).
class PgStatement {
 public:
  PgStatement() = default;
  PgStatement(PgConnection* connection, std::string* pending, std::string_view sql);

  void bind(int index, int64_t value);
  void bind(int index, std::string_view value);
  void bind_null(int index);
  // Appends the bound statement to the pending transaction.
  void run();
  // Runs the bound statement now (first call) and steps through its rows.
  bool step();
  int64_t column_int(int index) const;
  std::string_view column_text(int index) const;
  bool column_is_null(int index) const;

 private:
  std::string render();

  PgConnection* connection_ = nullptr;
  std::string* pending_ = nullptr;
  std::vector<std::string> pieces_;  // the SQL between placeholders
  std::vector<int> slots_;           // which parameter goes after each piece (0-based)
  std::vector<std::optional<std::string>> values_;  // rendered literals; nullopt = NULL
  std::optional<PgResult> result_;
  int row_ = -1;
  mutable std::vector<std::string> decoded_;  // bytea columns of the current row
};

// Runs the versioned migrations (serialised across nodes by an advisory lock); throws PgError,
// or StoreError when the database's schema is newer than this binary knows.
void migrate_postgres(PgConnection& db);
// The schema version this binary writes.
int64_t latest_postgres_schema_version();

}  // namespace liveroom::store
