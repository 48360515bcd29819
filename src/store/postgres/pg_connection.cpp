#include "store/postgres/pg_connection.h"

#include <charconv>

#include <fmt/format.h>

#include "base/hex.h"

namespace liveroom::store {

PgResult& PgResult::operator=(PgResult&& other) noexcept {
  if (this != &other) {
    PQclear(result_);
    result_ = std::exchange(other.result_, nullptr);
  }
  return *this;
}

PgResult::~PgResult() {
  PQclear(result_);
}

int PgResult::rows() const {
  return result_ ? PQntuples(result_) : 0;
}

int PgResult::columns() const {
  return result_ ? PQnfields(result_) : 0;
}

bool PgResult::is_null(int row, int column) const {
  return PQgetisnull(result_, row, column) != 0;
}

std::string_view PgResult::text(int row, int column) const {
  return {PQgetvalue(result_, row, column), static_cast<size_t>(PQgetlength(result_, row, column))};
}

bool PgResult::is_bytea(int column) const {
  constexpr Oid kByteaOid = 17;
  return PQftype(result_, column) == kByteaOid;
}

PgConnection::PgConnection(const std::string& url) : conn_(PQconnectdb(url.c_str())) {
  if (conn_ == nullptr) throw PgError("cannot connect to PostgreSQL: out of memory", "", true);
  if (PQstatus(conn_) != CONNECTION_OK) {
    std::string reason = PQerrorMessage(conn_);
    while (!reason.empty() && (reason.back() == '\n' || reason.back() == ' ')) reason.pop_back();
    PQfinish(conn_);
    conn_ = nullptr;
    throw PgError("cannot connect to PostgreSQL: " + reason, "", true);
  }
  // Warnings (NOTICE) would go to stderr by default; the store has nothing to say with them.
  PQsetNoticeProcessor(
      conn_, [](void*, const char*) {}, nullptr);
}

PgConnection::~PgConnection() {
  close();
}

void PgConnection::close() {
  if (conn_) PQfinish(conn_);
  conn_ = nullptr;
}

bool PgConnection::broken() const {
  return conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK;
}

bool PgConnection::idle() const {
  return !broken() && PQtransactionStatus(conn_) == PQTRANS_IDLE;
}

PgResult PgConnection::check(PGresult* raw, std::string_view sql) {
  PgResult result(raw);
  const ExecStatusType status = raw ? PQresultStatus(raw) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return result;
  const char* state = raw ? PQresultErrorField(raw, PG_DIAG_SQLSTATE) : nullptr;
  std::string message = raw ? PQresultErrorMessage(raw) : PQerrorMessage(conn_);
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
    message.pop_back();
  }
  // A broken connection has no SQLSTATE, or one of class 08 (connection exception) or 57P
  // (the server shutting down).
  const std::string sqlstate = state ? state : "";
  const bool lost =
      broken() || sqlstate.empty() || sqlstate.starts_with("08") || sqlstate.starts_with("57P");
  throw PgError(fmt::format("PostgreSQL: {} (in '{}')", message, sql.substr(0, 60)), sqlstate,
                lost);
}

PgResult PgConnection::exec(const std::string& sql) {
  if (conn_ == nullptr) throw PgError("PostgreSQL: not connected", "", true);
  return check(PQexec(conn_, sql.c_str()), sql);
}

PgResult PgConnection::exec_params(const std::string& sql, const std::vector<std::string>& params) {
  if (conn_ == nullptr) throw PgError("PostgreSQL: not connected", "", true);
  std::vector<const char*> values;
  for (const auto& p : params) values.push_back(p.c_str());
  return check(PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr,
                            values.data(), nullptr, nullptr, 0),
               sql);
}

PgStatement::PgStatement(PgConnection* connection, std::string* pending, std::string_view sql)
    : connection_(connection), pending_(pending) {
  std::string piece;
  int highest = 0;
  for (size_t i = 0; i < sql.size(); ++i) {
    if (sql[i] == '$' && i + 1 < sql.size() && sql[i + 1] >= '1' && sql[i + 1] <= '9') {
      int n = 0;
      size_t j = i + 1;
      while (j < sql.size() && sql[j] >= '0' && sql[j] <= '9') n = n * 10 + (sql[j++] - '0');
      pieces_.push_back(std::move(piece));
      piece.clear();
      slots_.push_back(n - 1);
      highest = std::max(highest, n);
      i = j - 1;
    } else {
      piece += sql[i];
    }
  }
  pieces_.push_back(std::move(piece));
  values_.resize(static_cast<size_t>(highest));
}

void PgStatement::bind(int index, int64_t value) {
  values_.at(static_cast<size_t>(index - 1)) = std::to_string(value);
}

void PgStatement::bind(int index, std::string_view value) {
  std::string literal;
  literal.reserve(value.size() * 2 + 4);
  literal += "'\\x";
  literal += to_hex(value);
  literal += '\'';
  values_.at(static_cast<size_t>(index - 1)) = std::move(literal);
}

void PgStatement::bind_null(int index) {
  values_.at(static_cast<size_t>(index - 1)) = "NULL";
}

std::string PgStatement::render() {
  std::string sql = pieces_[0];
  for (size_t i = 0; i < slots_.size(); ++i) {
    const auto& value = values_.at(static_cast<size_t>(slots_[i]));
    if (!value)
      throw StoreError(fmt::format("PgStatement: parameter ${} not bound", slots_[i] + 1));
    sql += *value;
    sql += pieces_[i + 1];
  }
  for (auto& v : values_) v.reset();
  return sql;
}

void PgStatement::run() {
  *pending_ += render();
  *pending_ += ";\n";
}

bool PgStatement::step() {
  if (!result_) {
    result_ = connection_->exec(render());
    row_ = -1;
  }
  // One slot per column, sized once: views handed out for a row stay valid until the next step.
  decoded_.assign(static_cast<size_t>(result_->columns()), std::string());
  return ++row_ < result_->rows();
}

int64_t PgStatement::column_int(int index) const {
  std::string_view text = result_->text(row_, index);
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    throw StoreError(fmt::format("PostgreSQL: column {} is not an integer: '{}'", index, text));
  }
  return value;
}

std::string_view PgStatement::column_text(int index) const {
  std::string_view text = result_->text(row_, index);
  if (!result_->is_bytea(index)) return text;
  // bytea arrives as "\x" followed by hex digits (bytea_output = hex, the default).
  if (!text.starts_with("\\x")) throw StoreError("PostgreSQL: bytea column not in hex format");
  auto bytes = from_hex(text.substr(2));
  if (!bytes) throw StoreError("PostgreSQL: corrupt bytea column");
  decoded_[index] = std::move(*bytes);
  return decoded_[index];
}

bool PgStatement::column_is_null(int index) const {
  return result_->is_null(row_, index);
}

}  // namespace liveroom::store
