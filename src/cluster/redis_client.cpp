#include "cluster/redis_client.h"

#include <hiredis.h>

#include <charconv>

#include <fmt/format.h>

namespace liveroom::cluster {

namespace {

// "host[:port]"
RedisAddress::Endpoint parse_endpoint(std::string_view hostport, int default_port) {
  RedisAddress::Endpoint e{std::string(hostport), default_port};
  if (auto colon = hostport.rfind(':'); colon != std::string_view::npos) {
    e.host = hostport.substr(0, colon);
    std::string_view port = hostport.substr(colon + 1);
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), e.port);
    if (ec != std::errc() || end != port.data() + port.size() || e.port <= 0 || e.port > 65535) {
      throw RedisError("redis_url: the port must be a number between 1 and 65535");
    }
  }
  if (e.host.empty()) throw RedisError("redis_url: no host");
  return e;
}

int parse_db(std::string_view db) {
  int n = 0;
  if (db.empty()) return 0;
  auto [end, ec] = std::from_chars(db.data(), db.data() + db.size(), n);
  if (ec != std::errc() || end != db.data() + db.size() || n < 0) {
    throw RedisError("redis_url: the database after '/' must be a number");
  }
  return n;
}

}  // namespace

RedisAddress parse_redis_url(const std::string& url) {
  constexpr std::string_view kScheme = "redis://";
  constexpr std::string_view kSentinelScheme = "redis-sentinel://";
  const bool sentinel = url.starts_with(kSentinelScheme);
  if (!sentinel && !url.starts_with(kScheme)) {
    throw RedisError("redis_url must start with redis:// (or redis-sentinel://)");
  }
  std::string_view rest =
      std::string_view(url).substr(sentinel ? kSentinelScheme.size() : kScheme.size());
  RedisAddress a;
  if (auto at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view credentials = rest.substr(0, at);
    rest = rest.substr(at + 1);
    if (auto colon = credentials.find(':'); colon != std::string_view::npos) {
      a.user = credentials.substr(0, colon);
      a.password = credentials.substr(colon + 1);
    } else {
      a.password = credentials;
    }
  }
  const size_t slash = rest.find('/');
  const std::string_view hosts = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
  if (!sentinel) {
    a.db = parse_db(path);
    auto e = parse_endpoint(hosts, 6379);
    a.host = std::move(e.host);
    a.port = e.port;
    return a;
  }
  for (size_t start = 0; start <= hosts.size();) {
    const size_t comma = std::min(hosts.find(',', start), hosts.size());
    a.sentinels.push_back(parse_endpoint(hosts.substr(start, comma - start), 26379));
    start = comma + 1;
  }
  const size_t next = path.find('/');
  a.master_name = path.substr(0, next);
  if (a.master_name.empty()) {
    throw RedisError(
        "redis_url: a redis-sentinel:// URL names the master after the Sentinels: "
        "redis-sentinel://host:26379,host:26379/mymaster");
  }
  a.db = parse_db(next == std::string_view::npos ? "" : path.substr(next + 1));
  return a;
}

RedisClient::RedisClient(RedisAddress address, std::chrono::milliseconds timeout,
                         std::string client_name)
    : address_(std::move(address)), timeout_(timeout), client_name_(std::move(client_name)) {}

RedisClient::~RedisClient() {
  disconnect();
}

void RedisClient::disconnect() {
  if (context_) redisFree(context_);
  context_ = nullptr;
}

void RedisClient::open(const std::string& host, int port) {
  disconnect();
  const timeval tv{static_cast<time_t>(timeout_.count() / 1000),
                   static_cast<suseconds_t>((timeout_.count() % 1000) * 1000)};
  context_ = redisConnectWithTimeout(host.c_str(), port, tv);
  if (context_ == nullptr || context_->err) {
    std::string reason = context_ ? context_->errstr : "out of memory";
    disconnect();
    throw RedisError(fmt::format("cannot connect to Redis at {}:{}: {}", host, port, reason));
  }
  redisSetTimeout(context_, tv);
}

void RedisClient::log_in() {
  if (address_.password.empty()) return;
  if (address_.user.empty()) {
    run({"AUTH", address_.password});
  } else {
    run({"AUTH", address_.user, address_.password});
  }
}

void RedisClient::find_master() {
  std::string failures;
  for (const auto& s : address_.sentinels) {
    try {
      open(s.host, s.port);
      const std::vector<std::string> ask{"SENTINEL", "get-master-addr-by-name",
                                         address_.master_name};
      RedisReply reply;
      try {
        reply = run(ask);
      } catch (const RedisError& e) {
        if (std::string_view(e.what()).find("NOAUTH") == std::string_view::npos) throw;
        log_in();  // a Sentinel with a password: the master's
        reply = run(ask);
      }
      disconnect();
      const auto* where = std::get_if<std::vector<std::string>>(&reply);
      int port = 0;
      if (where && where->size() == 2) {
        const std::string& text = (*where)[1];
        std::from_chars(text.data(), text.data() + text.size(), port);
      }
      if (port > 0) {
        address_.host = (*where)[0];
        address_.port = port;
        return;
      }
      failures +=
          fmt::format("; {}:{} knows no master named '{}'", s.host, s.port, address_.master_name);
    } catch (const RedisError& e) {
      disconnect();
      failures += fmt::format("; {}:{}: {}", s.host, s.port, e.what());
    }
  }
  throw RedisError("no Sentinel named the Redis master" + failures);
}

void RedisClient::connect() {
  if (!address_.sentinels.empty()) find_master();
  open(address_.host, address_.port);
  try {
    log_in();
    if (address_.db != 0) run({"SELECT", std::to_string(address_.db)});
  } catch (const RedisError& e) {
    disconnect();
    throw RedisError(fmt::format("Redis at {}:{} refused the login: {}", address_.host,
                                 address_.port, e.what()));
  }
  // The lease is written here, and a replica refuses every write: say so now rather than as a
  // lease no node ever takes. (The Sentinels' view can also be a moment behind a failover.)
  RedisReply role;
  try {
    role = run({"ROLE"});
  } catch (const RedisError&) {
    // ROLE renamed away, or not granted to this user: without Sentinels to ask, the connection
    // (which an error reply leaves usable) is taken as it is.
    if (address_.sentinels.empty() && context_ != nullptr) {
      name_connection();
      return;
    }
    disconnect();
    throw;
  }
  const auto* fields = std::get_if<std::vector<std::string>>(&role);
  if (fields && !fields->empty() && fields->front() == "master") {
    name_connection();
    return;
  }
  const std::string was = fields && !fields->empty() ? fields->front() : "unknown";
  disconnect();
  if (!address_.sentinels.empty()) {
    throw RedisError(fmt::format("the Sentinels name {}:{} as master '{}', but it is a {}",
                                 address_.host, address_.port, address_.master_name, was));
  }
  throw RedisError(fmt::format(
      "Redis at {}:{} is a {}, not a master: it refuses the writes of the leadership lease; point "
      "redis_url at the master, or at the Sentinels (redis-sentinel://)",
      address_.host, address_.port, was));
}

void RedisClient::name_connection() {
  if (client_name_.empty()) return;
  try {
    run({"CLIENT", "SETNAME", client_name_});
  } catch (const RedisError&) {
    // Only a label for operators (CLIENT may not be granted to this user): used without it.
    if (context_ == nullptr) throw;
  }
}

RedisReply RedisClient::command(const std::vector<std::string>& args) {
  if (context_ == nullptr) connect();
  return run(args);
}

void RedisClient::append(const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  argv.reserve(args.size());
  lengths.reserve(args.size());
  for (const auto& a : args) {
    argv.push_back(a.data());
    lengths.push_back(a.size());
  }
  if (redisAppendCommandArgv(context_, static_cast<int>(argv.size()), argv.data(),
                             lengths.data()) != REDIS_OK) {
    std::string reason = context_->errstr;
    disconnect();
    throw RedisError("Redis: " + reason);
  }
}

RedisOutcome RedisClient::read_reply() {
  void* raw = nullptr;
  if (redisGetReply(context_, &raw) != REDIS_OK || raw == nullptr) {
    std::string reason = context_->errstr;
    disconnect();
    throw RedisError("Redis: " + reason);
  }
  auto* reply = static_cast<redisReply*>(raw);
  RedisOutcome out;
  switch (reply->type) {
    case REDIS_REPLY_INTEGER:
      out = reply->integer;
      break;
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
      out = std::string(reply->str, reply->len);
      break;
    case REDIS_REPLY_ERROR:
      out = std::unexpected("Redis: " + std::string(reply->str, reply->len));
      break;
    case REDIS_REPLY_ARRAY: {
      std::vector<std::string> items;
      items.reserve(reply->elements);
      for (size_t i = 0; i < reply->elements; ++i) {
        const redisReply* item = reply->element[i];
        const bool text = item->type == REDIS_REPLY_STRING || item->type == REDIS_REPLY_STATUS;
        items.emplace_back(text ? std::string(item->str, item->len) : std::string());
      }
      out = std::move(items);
      break;
    }
    default:
      break;  // nil
  }
  freeReplyObject(reply);
  return out;
}

namespace {

// A master demoted by a failover (the address or the Sentinels now lead elsewhere) answers
// writes with READONLY: the next command connects afresh.
bool demoted(const RedisOutcome& outcome) {
  return !outcome && outcome.error().starts_with("Redis: READONLY");
}

}  // namespace

RedisReply RedisClient::run(const std::vector<std::string>& args) {
  append(args);
  RedisOutcome out = read_reply();
  if (!out) {
    if (demoted(out)) disconnect();
    throw RedisError(out.error());
  }
  return std::move(*out);
}

std::vector<RedisOutcome> RedisClient::pipeline(
    const std::vector<std::vector<std::string>>& commands) {
  if (context_ == nullptr) connect();
  for (const auto& args : commands) append(args);
  std::vector<RedisOutcome> out;
  out.reserve(commands.size());
  bool was_demoted = false;
  for (size_t i = 0; i < commands.size(); ++i) {
    out.push_back(read_reply());
    was_demoted = was_demoted || demoted(out.back());
  }
  if (was_demoted) disconnect();
  return out;
}

}  // namespace liveroom::cluster
