// Where an http(s) URL points: scheme, host, port and the path with its query. Parsed with
// Boost.URL (percent-encoding, IPv6 literals, default ports), for every place that connects to a
// URL it was given: webhook receivers and the cluster's leader.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace liveroom {

struct HttpTarget {
  bool tls = false;
  std::string host;            // IPv6 without brackets
  std::string port;            // "80" / "443" when the URL names none
  std::string path_and_query;  // "/" at least
  std::string endpoint_key() const { return (tls ? "https://" : "http://") + host + ":" + port; }
};

// nullopt unless `url` is an absolute http:// or https:// URL with a host.
std::optional<HttpTarget> parse_http_target(std::string_view url);

}  // namespace liveroom
