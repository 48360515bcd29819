// Logging set-up for liveroomd: spdlog's default logger, writing one line per record to stderr,
// either as text for a terminal or as JSON lines for a log shipper:
//
//   {"ts":"2026-11-26T02:40:00.123Z","level":"info","msg":"...","request_id":"Id-…"}
//
// stderr because under systemd it goes to the journal, and a container runtime collects it too;
// the process never owns log files or their rotation.
//
// A request's log lines carry its RequestId (the one in the reply envelope), so an operator can
// go from a client's complaint to the server's lines. The id lives in a thread-local: the router
// opens a ScopedRequestId around its synchronous work on the I/O thread, and everything logged
// inside, at any depth, is tagged without passing the id down. Work that moves to another thread
// (the store's writer, the webhook dispatcher) must open its own scope if it wants the tag.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <spdlog/common.h>
#include <spdlog/formatter.h>

namespace liveroom {

enum class LogFormat { kText, kJson };

// Replaces spdlog's default logger with one writing to stderr in `format`, at `level`.
// Call once at start-up, before other threads log.
void init_logging(LogFormat format, spdlog::level::level_enum level);

// The formatter init_logging installs, for attaching to other sinks (tests use an ostream sink).
// Timestamps are UTC in both formats, so text and JSON lines of one run compare directly.
std::unique_ptr<spdlog::formatter> make_log_formatter(LogFormat format);

// Command-line values: "text" | "json"; and spdlog's level names ("trace", "debug", "info",
// "warn"/"warning", "error"/"err", "critical", "off"). nullopt for anything else.
std::optional<LogFormat> parse_log_format(std::string_view text);
std::optional<spdlog::level::level_enum> parse_log_level(std::string_view text);

// The calling thread's current request id; empty when none is set.
void set_request_id(std::string_view id);
void clear_request_id();
std::string_view current_request_id();

// Sets the request id for the lifetime of the object and then restores what was there before,
// so scopes nest and an early return cannot leak an id onto the thread's next request.
class ScopedRequestId {
 public:
  explicit ScopedRequestId(std::string_view id);
  ~ScopedRequestId();
  ScopedRequestId(const ScopedRequestId&) = delete;
  ScopedRequestId& operator=(const ScopedRequestId&) = delete;

 private:
  std::string previous_;
};

}  // namespace liveroom
