// The records of a node link (src/cluster/link_records.*): a leader reads what a follower sends
// and a follower what the leader sends, and a malformed record must close the link, never crash
// a node. The input is one WebSocket message of a link. Beyond not crashing: what parses as a
// call, an answer or a close reads back the same once written again.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "cluster/link_records.h"

namespace {

using namespace liveroom::cluster;

// `written` holds one record of `kind` that `parse` reads back into what `same` accepts.
template <class Parse, class Same>
void check_reads_back(const std::string& written, char kind, Parse parse, Same same) {
  bool seen = false;
  const bool ok = parse_records(written, [&](const LinkRecord& r) {
    const auto again = parse(r.payload);
    if (seen || r.kind != kind || !again || !same(*again)) std::abort();
    seen = true;
  });
  if (!ok || !seen) std::abort();
}

void check_call(uint64_t id, const LinkCall& call) {
  std::string out;
  append_call(out, id, call);
  check_reads_back(out, 'R', parse_call, [&](const LinkCall& again) {
    return again.method == call.method && again.target == call.target &&
           again.client_address == call.client_address && again.body == call.body;
  });
}

void check_answer(uint64_t id, const LinkAnswer& answer) {
  std::string out;
  append_answer(out, id, answer);
  check_reads_back(out, 'A', parse_answer, [&](const LinkAnswer& again) {
    return again.status == answer.status && again.content_type == answer.content_type &&
           again.body == answer.body;
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view message(reinterpret_cast<const char*>(data), size);
  (void)parse_records(message, [](const LinkRecord& r) {
    (void)parse_link_ids(r.ids);
    const auto id = parse_link_id(r.ids);
    (void)parse_close(r.payload);
    if (const auto call = parse_call(r.payload)) check_call(id.value_or(0), *call);
    if (const auto answer = parse_answer(r.payload)) check_answer(id.value_or(0), *answer);
  });
  return 0;
}
