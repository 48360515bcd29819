// UserSig decoding and verification (src/auth/usersig.*): the first thing every REST call and
// every gateway login hands attacker-controlled bytes to. The input is the UserSig itself.
// Beyond not crashing, a sig this code signs for a printable identifier must verify.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "auth/usersig.h"

namespace {

constexpr uint32_t kApp = 1400000001;
constexpr std::string_view kKey =
    "e55c7a0a473a21966ab381382c370ccf47285d61463cb0ccd9f68fc6fdefcdc5";
constexpr int64_t kNow = 1'769'000'000;

bool printable_ascii(std::string_view s) {
  for (char c : s) {
    if (c < 0x20 || c > 0x7E) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace liveroom::auth;
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  (void)decode_usersig(input);
  (void)verify_usersig(input, kApp, "administrator", kKey, kNow);

  // The same bytes as an identifier: signing and verifying must agree with each other.
  if (!input.empty() && input.size() <= 64 && printable_ascii(input)) {
    const std::string sig = generate_usersig(kApp, kKey, input, 3600, kNow, input.substr(0, 8));
    if (!verify_usersig(sig, kApp, input, kKey, kNow)) std::abort();
  }
  return 0;
}
