#include "api/envelope.h"

#include <atomic>
#include <random>

#include <fmt/format.h>

#include "base/json_writer.h"

namespace liveroom::api {

namespace json = boost::json;

namespace {

// splitmix64: fast, good enough to make ids unguessable-ish and unique with the sequence.
struct IdRandom {
  uint64_t state;
  IdRandom()
      : state((static_cast<uint64_t>(std::random_device{}()) << 32) ^ std::random_device{}()) {}
  uint64_t next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
};

std::atomic<uint64_t> g_sequence{0};

// Through JsonWriter: ErrorInfo can echo percent-decoded query values, which need not be UTF-8.
void append_escaped(std::string& out, std::string_view text) {
  JsonWriter(out).value(text);
}

}  // namespace

std::string next_request_id() {
  thread_local IdRandom random;
  const uint64_t seq = g_sequence.fetch_add(1, std::memory_order_relaxed) + 1;
  return fmt::format("Id-{:016x}{:016x}-O-Seq-{}", random.next(), random.next(), seq);
}

std::string encode_success(const std::string& request_id, const Reply& reply) {
  std::string out;
  out.reserve(256 + reply.raw_members.size());
  out += kSuccessPrefix;
  out += request_id;
  out += '"';
  if (!reply.raw_members.empty()) {
    out += reply.top_level ? "," : R"(,"Response":{)";
    out += reply.raw_members;
    if (!reply.top_level) out += '}';
  } else if (reply.top_level) {
    for (const auto& field : reply.fields) {
      out += ',';
      append_escaped(out, field.key());
      out += ':';
      out += json::serialize(field.value());
    }
  } else if (!reply.fields.empty()) {
    out += R"(,"Response":)";
    out += json::serialize(reply.fields);
  }
  for (const auto& field : reply.beside_response) {
    out += ',';
    append_escaped(out, field.key());
    out += ':';
    out += json::serialize(field.value());
  }
  out += '}';
  return out;
}

std::string encode_failure(const std::string& request_id, const Error& error) {
  std::string out;
  out.reserve(160 + error.info.size());
  out += R"({"ActionStatus":"FAIL","ErrorCode":)";
  out += std::to_string(wire_code(error.code));
  out += R"(,"ErrorInfo":)";
  append_escaped(out, error.info);
  out += R"(,"RequestId":")";
  out += request_id;
  out += "\"}";
  return out;
}

}  // namespace liveroom::api
