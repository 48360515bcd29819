// A small synchronous Redis client over hiredis, for the leadership lease and the node registry:
// one connection, short timeouts, reconnect on demand. Each one is used from one thread (the
// sender of a node's SharedRedisClient, or `liveroomd cluster status`), never on the request
// path.
#pragma once

#include <chrono>
#include <expected>
#include <optional>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

struct redisContext;

namespace liveroom::cluster {

struct RedisError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// redis://[[user]:password@]host[:port][/db], or, for a Redis run by Sentinel,
// redis-sentinel://[[user]:password@]host[:port][,host[:port]...]/master-name[/db]: the Sentinels
// (port 26379 by default) are asked where the master named `master_name` is, and the credentials
// are the master's (a Sentinel that asks for a password gets the same ones).
struct RedisAddress {
  std::string host;
  int port = 6379;
  int db = 0;
  std::string user;
  std::string password;
  struct Endpoint {
    std::string host;
    int port = 26379;
  };
  std::vector<Endpoint> sentinels;  // empty: `host` and `port` are the server's
  std::string master_name;
};
// Throws RedisError naming what is wrong with the URL.
RedisAddress parse_redis_url(const std::string& url);

// What a command returned: nil, an integer, a string (bulk or status), or an array of strings
// (a nil element reads as ""; SMEMBERS, MGET).
using RedisReply = std::variant<std::monostate, long long, std::string, std::vector<std::string>>;
// One command of a pipeline: its reply, or the error Redis answered it with ("Redis: ...").
using RedisOutcome = std::expected<RedisReply, std::string>;

class RedisClient {
 public:
  // `client_name`, if any, is given to each connection (CLIENT SETNAME), so that Redis's CLIENT
  // LIST tells which node a connection is.
  RedisClient(RedisAddress address, std::chrono::milliseconds timeout,
              std::string client_name = {});
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // Connects (and AUTH / SELECT) now; throws RedisError with the reason (refused, wrong
  // password...). Through Sentinels: to the master they name, once it says it is one (a
  // demoted master refuses writes, and the next command after that asks the Sentinels again).
  void connect();
  // Runs one command; connects first if needed. Throws RedisError on any failure, after which
  // the next call reconnects.
  RedisReply command(const std::vector<std::string>& args);
  // Sends every command, then reads every reply: one round trip for all of them (connects first
  // if needed). An error reply fails only its own command; a failed connection throws
  // RedisError, and then any of them may or may not have run, as with command().
  std::vector<RedisOutcome> pipeline(const std::vector<std::vector<std::string>>& commands);

 private:
  RedisReply run(const std::vector<std::string>& args);
  void append(const std::vector<std::string>& args);  // one command to the output buffer
  RedisOutcome read_reply();  // the next reply; throws RedisError if the connection failed
  void open(const std::string& host, int port);  // context_, or RedisError
  void log_in();                                 // AUTH with the address's credentials
  void name_connection();                        // CLIENT SETNAME client_name_, if any
  void find_master();  // sets address_.host and port from the first Sentinel that knows
  void disconnect();

  RedisAddress address_;
  std::chrono::milliseconds timeout_;
  std::string client_name_;
  redisContext* context_ = nullptr;
};

}  // namespace liveroom::cluster
