#include "cluster/redis_client.h"

#include <hiredis.h>

#include <charconv>

#include <fmt/format.h>

namespace liveroom::cluster {

RedisAddress parse_redis_url(const std::string& url) {
  constexpr std::string_view kScheme = "redis://";
  if (!url.starts_with(kScheme)) throw RedisError("redis_url must start with redis://");
  std::string_view rest = std::string_view(url).substr(kScheme.size());
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
  std::string_view hostport = rest;
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    hostport = rest.substr(0, slash);
    std::string_view db = rest.substr(slash + 1);
    if (!db.empty()) {
      auto [end, ec] = std::from_chars(db.data(), db.data() + db.size(), a.db);
      if (ec != std::errc() || end != db.data() + db.size() || a.db < 0) {
        throw RedisError("redis_url: the database after '/' must be a number");
      }
    }
  }
  std::string_view host = hostport;
  if (auto colon = hostport.rfind(':'); colon != std::string_view::npos) {
    host = hostport.substr(0, colon);
    std::string_view port = hostport.substr(colon + 1);
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), a.port);
    if (ec != std::errc() || end != port.data() + port.size() || a.port <= 0 || a.port > 65535) {
      throw RedisError("redis_url: the port must be a number between 1 and 65535");
    }
  }
  if (host.empty()) throw RedisError("redis_url: no host");
  a.host = host;
  return a;
}

RedisClient::RedisClient(RedisAddress address, std::chrono::milliseconds timeout)
    : address_(std::move(address)), timeout_(timeout) {}

RedisClient::~RedisClient() {
  disconnect();
}

void RedisClient::disconnect() {
  if (context_) redisFree(context_);
  context_ = nullptr;
}

void RedisClient::connect() {
  disconnect();
  const timeval tv{static_cast<time_t>(timeout_.count() / 1000),
                   static_cast<suseconds_t>((timeout_.count() % 1000) * 1000)};
  context_ = redisConnectWithTimeout(address_.host.c_str(), address_.port, tv);
  if (context_ == nullptr || context_->err) {
    std::string reason = context_ ? context_->errstr : "out of memory";
    disconnect();
    throw RedisError(
        fmt::format("cannot connect to Redis at {}:{}: {}", address_.host, address_.port, reason));
  }
  redisSetTimeout(context_, tv);
  try {
    if (!address_.password.empty()) {
      if (address_.user.empty()) {
        run({"AUTH", address_.password});
      } else {
        run({"AUTH", address_.user, address_.password});
      }
    }
    if (address_.db != 0) run({"SELECT", std::to_string(address_.db)});
  } catch (const RedisError& e) {
    disconnect();
    throw RedisError(fmt::format("Redis at {}:{} refused the login: {}", address_.host,
                                 address_.port, e.what()));
  }
}

RedisReply RedisClient::command(const std::vector<std::string>& args) {
  if (context_ == nullptr) connect();
  return run(args);
}

RedisReply RedisClient::run(const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lengths.push_back(a.size());
  }
  auto* reply = static_cast<redisReply*>(
      redisCommandArgv(context_, static_cast<int>(argv.size()), argv.data(), lengths.data()));
  if (reply == nullptr) {
    std::string reason = context_->errstr;
    disconnect();
    throw RedisError("Redis: " + reason);
  }
  RedisReply out;
  std::string error;
  switch (reply->type) {
    case REDIS_REPLY_INTEGER:
      out = reply->integer;
      break;
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
      out = std::string(reply->str, reply->len);
      break;
    case REDIS_REPLY_ERROR:
      error = std::string(reply->str, reply->len);
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
  if (!error.empty()) throw RedisError("Redis: " + error);
  return out;
}

}  // namespace liveroom::cluster
