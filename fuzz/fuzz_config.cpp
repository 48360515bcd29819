// The configuration parser (src/config/config.*): TOML text to a validated Config. A config file
// is operator input, so every input must end in a Config or a ConfigError, never anything else.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    (void)liveroom::config::parse_config(text, "fuzz.toml");
  } catch (const liveroom::config::ConfigError&) {
    // The expected answer to a bad file; anything else escapes and is reported as a crash.
  }
  return 0;
}
