#include "cluster/link_records.h"

#include <charconv>

#include <fmt/format.h>

namespace liveroom::cluster {

namespace {

bool parse_number(std::string_view text, uint64_t& value) {
  if (text.empty()) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc{} && end == text.data() + text.size();
}

}  // namespace

void append_record(std::string& out, char kind, uint64_t id, std::string_view payload) {
  fmt::format_to(std::back_inserter(out), "{} {} {}\n", kind, id, payload.size());
  out.append(payload);
}

void append_record(std::string& out, char kind, std::span<const uint64_t> ids,
                   std::span<const std::shared_ptr<const std::string>> texts) {
  size_t length = texts.empty() ? 0 : texts.size() - 1;
  for (const auto& text : texts) length += text->size();
  fmt::format_to(std::back_inserter(out), "{} {} {}\n", kind, fmt::join(ids, ","), length);
  for (size_t i = 0; i < texts.size(); ++i) {
    if (i > 0) out.push_back('\n');
    out.append(*texts[i]);
  }
}

void append_close(std::string& out, uint64_t id, const LinkClose& close) {
  fmt::format_to(std::back_inserter(out), "C {} {}\n{} ", id,
                 std::to_string(close.code).size() + 1 + close.reason.size(), close.code);
  out.append(close.reason);
}

LinkClose parse_close(std::string_view payload) {
  const size_t space = payload.find(' ');
  uint64_t code = 0;
  if (space == std::string_view::npos || !parse_number(payload.substr(0, space), code) ||
      code < 1000 || code > 4999) {
    return {1011, payload};
  }
  return {static_cast<uint16_t>(code), payload.substr(space + 1)};
}

void append_call(std::string& out, uint64_t id, const LinkCall& call) {
  fmt::format_to(
      std::back_inserter(out), "R {} {}\n{} {} {}\n", id,
      call.method.size() + call.target.size() + call.client_address.size() + 3 + call.body.size(),
      call.method, call.target, call.client_address);
  out.append(call.body);
}

void append_answer(std::string& out, uint64_t id, const LinkAnswer& answer) {
  const std::string head = fmt::format("{} {}\n", answer.status, answer.content_type);
  fmt::format_to(std::back_inserter(out), "A {} {}\n", id, head.size() + answer.body.size());
  out.append(head);
  out.append(answer.body);
}

std::optional<LinkCall> parse_call(std::string_view payload) {
  const size_t eol = payload.find('\n');
  if (eol == std::string_view::npos) return std::nullopt;
  const std::string_view head = payload.substr(0, eol);
  const size_t sp1 = head.find(' ');
  if (sp1 == std::string_view::npos || sp1 == 0) return std::nullopt;
  const size_t sp2 = head.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || sp2 == sp1 + 1) return std::nullopt;
  return LinkCall{head.substr(0, sp1), head.substr(sp1 + 1, sp2 - sp1 - 1), head.substr(sp2 + 1),
                  payload.substr(eol + 1)};
}

std::optional<LinkAnswer> parse_answer(std::string_view payload) {
  const size_t eol = payload.find('\n');
  if (eol == std::string_view::npos) return std::nullopt;
  const std::string_view head = payload.substr(0, eol);
  const size_t space = head.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  LinkAnswer answer;
  uint64_t status = 0;
  if (!parse_number(head.substr(0, space), status) || status < 100 || status > 599) {
    return std::nullopt;
  }
  answer.status = static_cast<unsigned>(status);
  answer.content_type = head.substr(space + 1);
  answer.body = payload.substr(eol + 1);
  return answer;
}

bool parse_records(std::string_view message, const std::function<void(const LinkRecord&)>& visit) {
  while (!message.empty()) {
    if (message.front() == '\n') {
      message.remove_prefix(1);
      continue;
    }
    const size_t eol = message.find('\n');
    if (eol == std::string_view::npos || eol < 5) return false;
    const std::string_view head = message.substr(0, eol);
    if (head[1] != ' ') return false;
    const size_t space = head.find(' ', 2);
    if (space == std::string_view::npos) return false;
    uint64_t length = 0;
    if (!parse_number(head.substr(space + 1), length)) return false;
    if (length > message.size() - eol - 1) return false;
    visit(LinkRecord{head[0], head.substr(2, space - 2), message.substr(eol + 1, length)});
    message.remove_prefix(eol + 1 + length);
  }
  return true;
}

std::optional<uint64_t> parse_link_id(std::string_view id) {
  uint64_t value = 0;
  if (!parse_number(id, value)) return std::nullopt;
  return value;
}

std::optional<std::vector<uint64_t>> parse_link_ids(std::string_view ids) {
  std::vector<uint64_t> out;
  for (;;) {
    const size_t comma = ids.find(',');
    uint64_t id = 0;
    if (!parse_number(ids.substr(0, comma), id)) return std::nullopt;
    out.push_back(id);
    if (comma == std::string_view::npos) return out;
    ids.remove_prefix(comma + 1);
  }
}

}  // namespace liveroom::cluster
