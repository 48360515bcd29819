// The whole REST request path in-process (src/api/router.*): query parsing, UserSig, admin
// check, quota, body parsing, every command handler, the engine and a real SQLite store.
//
// Input: the first line is the target, the rest the body (POST). A target that starts with '/'
// is sent as it is (the pipeline's own checks get fuzzed); any other is "<service>/<command>"
// with an optional "?extra=query", sent to /v4/ signed as the App administrator, so that most
// inputs reach the handlers. "GET " before the target makes it a GET.
// Beyond not crashing: every JSON reply must be one valid JSON document.
#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using liveroom::fuzzing::server;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t newline = input.find('\n');
  std::string_view target_line = input.substr(0, newline);
  const std::string_view body =
      newline == std::string_view::npos ? std::string_view{} : input.substr(newline + 1);

  std::string method = "POST";
  if (target_line.starts_with("GET ")) {
    method = "GET";
    target_line.remove_prefix(4);
  }
  std::string target;
  if (target_line.starts_with('/')) {
    target = std::string(target_line);
  } else {
    const size_t question = target_line.find('?');
    target = server().admin_target(
        target_line.substr(0, question),
        question == std::string_view::npos ? std::string_view{} : target_line.substr(question + 1));
  }

  const auto response = server().handle(std::move(method), std::move(target), std::string(body));
  if (response.content_type == "application/json") {
    boost::system::error_code ec;
    (void)boost::json::parse(response.body, ec);
    if (ec) std::abort();
  }
  return 0;
}
