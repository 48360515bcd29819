// Operator commands that act on a running liveroomd through its own REST API, signed as an App
// administrator with the key from the same config file: `liveroomd webhooks dead-letters|replay`.
// Going through the server (not the database file) keeps the running dispatcher's view and the
// store in step.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace liveroom::cli {

// Prints the app's dead letters; returns the process exit code.
int print_dead_letters(const std::string& config_path, std::optional<uint32_t> sdkappid);
// Replays the app's dead letters with these ids (all when empty); returns the exit code.
int replay_dead_letters(const std::string& config_path, std::optional<uint32_t> sdkappid,
                        const std::vector<uint64_t>& ids);

}  // namespace liveroom::cli
