#include "base/http_target.h"

#include <boost/url/parse.hpp>

namespace liveroom {

std::optional<HttpTarget> parse_http_target(std::string_view url) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) return std::nullopt;
  HttpTarget t;
  t.tls = parsed->scheme() == "https";
  if (!t.tls && parsed->scheme() != "http") return std::nullopt;
  t.host = parsed->host_name().empty() ? std::string(parsed->encoded_host())
                                       : std::string(parsed->host_name());
  if (parsed->host_type() == boost::urls::host_type::ipv6) {
    t.host = std::string(parsed->host_ipv6_address().to_string());
  }
  if (t.host.empty()) return std::nullopt;
  t.port = parsed->has_port() ? std::string(parsed->port()) : (t.tls ? "443" : "80");
  t.path_and_query = parsed->encoded_path().empty() ? "/" : std::string(parsed->encoded_path());
  if (parsed->has_query()) t.path_and_query += "?" + std::string(parsed->encoded_query());
  return t;
}

}  // namespace liveroom
