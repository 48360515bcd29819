#include "base/log.h"

#include <chrono>
#include <ctime>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "base/utf8.h"

namespace liveroom {
namespace {

// The formatters run on the logging thread (the default logger is synchronous), so they see the
// thread-local of the code that logged. An async logger would lose it: do not switch to one
// without carrying the id in the record.
thread_local std::string t_request_id;

void append(spdlog::memory_buf_t& dest, std::string_view text) {
  dest.append(text.data(), text.data() + text.size());
}

// A JSON string body. Messages can carry client input (a path, a field value), so besides the
// escapes JSON requires, bytes that are not valid UTF-8 become U+FFFD: every line must stay
// parseable by a strict reader, and one bad byte must not cost the whole record.
void append_json_escaped(spdlog::memory_buf_t& dest, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  while (p < end) {
    const unsigned char c = *p;
    if (c < 0x80) {
      switch (c) {
        case '"':
          append(dest, "\\\"");
          break;
        case '\\':
          append(dest, "\\\\");
          break;
        case '\n':
          append(dest, "\\n");
          break;
        case '\r':
          append(dest, "\\r");
          break;
        case '\t':
          append(dest, "\\t");
          break;
        case '\b':
          append(dest, "\\b");
          break;
        case '\f':
          append(dest, "\\f");
          break;
        default:
          if (c < 0x20) {
            const char escaped[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xf]};
            dest.append(escaped, escaped + sizeof(escaped));
          } else {
            dest.push_back(static_cast<char>(c));
          }
      }
      ++p;
      continue;
    }
    const size_t length = utf8_sequence_length(p, end);
    if (length != 0) {
      dest.append(reinterpret_cast<const char*>(p), reinterpret_cast<const char*>(p + length));
      p += length;
    } else {
      append(dest, "\\ufffd");
      ++p;
    }
  }
}

class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    using namespace std::chrono;
    const auto seconds = floor<std::chrono::seconds>(msg.time);
    if (seconds != cached_second_) {
      // gmtime_r and strftime per record would dominate a short message; a second is reused.
      cached_second_ = seconds;
      const std::time_t t = system_clock::to_time_t(seconds);
      std::tm tm{};
      gmtime_r(&t, &tm);
      cached_length_ = std::strftime(cached_, sizeof(cached_), "%Y-%m-%dT%H:%M:%S", &tm);
    }
    const auto ms = static_cast<int>(duration_cast<milliseconds>(msg.time - seconds).count());
    const char millis[] = {'.', static_cast<char>('0' + ms / 100),
                           static_cast<char>('0' + ms / 10 % 10), static_cast<char>('0' + ms % 10),
                           'Z'};

    append(dest, R"({"ts":")");
    dest.append(cached_, cached_ + cached_length_);
    dest.append(millis, millis + sizeof(millis));
    append(dest, R"(","level":")");
    const auto level = spdlog::level::to_string_view(msg.level);
    dest.append(level.data(), level.data() + level.size());
    append(dest, R"(","msg":")");
    append_json_escaped(dest, std::string_view(msg.payload.data(), msg.payload.size()));
    dest.push_back('"');
    if (!t_request_id.empty()) {
      append(dest, R"(,"request_id":")");
      append_json_escaped(dest, t_request_id);
      dest.push_back('"');
    }
    append(dest, "}\n");
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }

 private:
  std::chrono::sys_seconds cached_second_{};
  char cached_[32] = {};
  size_t cached_length_ = 0;
};

// The %* flag of the text pattern: " request_id=<id>" inside a request, nothing outside.
class RequestIdFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg&, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    if (t_request_id.empty()) return;
    append(dest, " request_id=");
    append(dest, t_request_id);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<RequestIdFlag>();
  }
};

}  // namespace

std::unique_ptr<spdlog::formatter> make_log_formatter(LogFormat format) {
  if (format == LogFormat::kJson) return std::make_unique<JsonFormatter>();
  auto text = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc, "\n");
  text->add_flag<RequestIdFlag>('*').set_pattern("%Y-%m-%dT%H:%M:%S.%eZ [%^%l%$] %v%*");
  return text;
}

void init_logging(LogFormat format, spdlog::level::level_enum level) {
  // Colours only for text; the colour sink leaves them out anyway when stderr is not a terminal.
  spdlog::sink_ptr sink;
  if (format == LogFormat::kJson) {
    sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  } else {
    sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  }
  sink->set_formatter(make_log_formatter(format));
  auto logger = std::make_shared<spdlog::logger>("liveroomd", std::move(sink));
  logger->set_level(level);
  spdlog::set_default_logger(std::move(logger));
}

std::optional<LogFormat> parse_log_format(std::string_view text) {
  if (text == "text") return LogFormat::kText;
  if (text == "json") return LogFormat::kJson;
  return std::nullopt;
}

std::optional<spdlog::level::level_enum> parse_log_level(std::string_view text) {
  // from_str answers `off` for any name it does not know.
  const auto level = spdlog::level::from_str(std::string(text));
  if (level == spdlog::level::off && text != "off") return std::nullopt;
  return level;
}

void set_request_id(std::string_view id) {
  t_request_id.assign(id);
}

void clear_request_id() {
  t_request_id.clear();
}

std::string_view current_request_id() {
  return t_request_id;
}

ScopedRequestId::ScopedRequestId(std::string_view id) : previous_(t_request_id) {
  t_request_id.assign(id);
}

ScopedRequestId::~ScopedRequestId() {
  t_request_id.assign(previous_);
}

}  // namespace liveroom
