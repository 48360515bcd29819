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

// How the commands check the server's certificate when the config has [tls]. The request carries
// an admin UserSig: it goes only to a server that proves its name, unless the operator says
// otherwise with insecure_skip_verify.
struct TlsVerify {
  std::string ca_file;      // trusted CAs (PEM); empty: the system's
  std::string server_name;  // the name the certificate must carry; empty: the listen host
  bool insecure_skip_verify = false;
};

// Prints the app's dead letters; returns the process exit code.
int print_dead_letters(const std::string& config_path, std::optional<uint32_t> sdkappid,
                       const TlsVerify& tls);
// Replays the app's dead letters with these ids (all when empty); returns the exit code.
int replay_dead_letters(const std::string& config_path, std::optional<uint32_t> sdkappid,
                        const std::vector<uint64_t>& ids, const TlsVerify& tls);

}  // namespace liveroom::cli
