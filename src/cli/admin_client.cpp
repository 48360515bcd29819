#include "cli/admin_client.h"

#include <iostream>

#include <fmt/format.h>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json.hpp>

#include "auth/usersig.h"
#include "base/clock.h"
#include "config/config.h"

namespace liveroom::cli {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;

namespace {

struct Caller {
  config::Config cfg;
  const config::AppConfig* app = nullptr;
  TlsVerify tls;
};

Caller load_caller(const std::string& config_path, std::optional<uint32_t> sdkappid,
                   const TlsVerify& tls) {
  Caller c{config::load_config_file(config_path), nullptr, tls};
  for (const auto& app : c.cfg.apps) {
    if (!sdkappid || app.sdkappid == *sdkappid) {
      c.app = &app;
      break;
    }
  }
  if (!c.app) throw std::runtime_error(fmt::format("no app {} in {}", *sdkappid, config_path));
  return c;
}

// POSTs one REST call to the server the config describes and returns the parsed reply.
json::value call(const Caller& c, std::string_view path, const json::object& body) {
  auto colon = c.cfg.listen.rfind(':');
  std::string host = c.cfg.listen.substr(0, colon);
  const std::string port = c.cfg.listen.substr(colon + 1);
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  if (host == "0.0.0.0") host = "127.0.0.1";  // listening everywhere: talk to ourselves locally
  if (host == "::") host = "::1";

  const std::string& admin = c.app->admins.front();
  const std::string sig = auth::generate_usersig(c.app->sdkappid, c.app->secret_key, admin, 300,
                                                 SystemClock{}.unix_seconds());
  http::request<http::string_body> req{
      http::verb::post,
      fmt::format("/v4/{}?sdkappid={}&identifier={}&usersig={}&random=1&contenttype=json", path,
                  c.app->sdkappid, admin, sig),
      11};
  req.set(http::field::host, host);
  req.set(http::field::content_type, "application/json");
  req.body() = json::serialize(body);
  req.prepare_payload();

  asio::io_context ioc;
  tcp::resolver resolver(ioc);
  auto endpoints = resolver.resolve(host, port);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  if (c.cfg.tls) {
    asio::ssl::context ctx(asio::ssl::context::tls_client);
    const std::string name = c.tls.server_name.empty() ? host : c.tls.server_name;
    if (c.tls.insecure_skip_verify) {
      std::cerr << "warning: --insecure-skip-verify: the server's certificate is not checked\n";
      ctx.set_verify_mode(asio::ssl::verify_none);
    } else {
      ctx.set_verify_mode(asio::ssl::verify_peer);
      if (c.tls.ca_file.empty()) {
        ctx.set_default_verify_paths();
      } else {
        ctx.load_verify_file(c.tls.ca_file);
      }
    }
    beast::ssl_stream<beast::tcp_stream> stream(ioc, ctx);
    if (!c.tls.insecure_skip_verify) {
      stream.set_verify_callback(asio::ssl::host_name_verification(name));
    }
    boost::system::error_code not_ip;
    asio::ip::make_address(name, not_ip);
    if (not_ip) SSL_set_tlsext_host_name(stream.native_handle(), name.c_str());  // SNI
    beast::get_lowest_layer(stream).connect(endpoints);
    boost::system::error_code ec;
    stream.handshake(asio::ssl::stream_base::client, ec);
    if (ec) {
      throw std::runtime_error(fmt::format(
          "TLS handshake with {} failed: {} (verify against your CA with --ca-file, name the "
          "certificate's host with --tls-name, or skip the check with --insecure-skip-verify)",
          name, ec.message()));
    }
    http::write(stream, req);
    http::read(stream, buffer, res);
  } else {
    beast::tcp_stream stream(ioc);
    stream.connect(endpoints);
    http::write(stream, req);
    http::read(stream, buffer, res);
  }
  json::value reply = json::parse(res.body());
  if (reply.at("ErrorCode").to_number<int64_t>() != 0) {
    throw std::runtime_error(fmt::format("{} failed: {} {}", path,
                                         reply.at("ErrorCode").to_number<int64_t>(),
                                         json::value_to<std::string>(reply.at("ErrorInfo"))));
  }
  return reply;
}

}  // namespace

int print_dead_letters(const std::string& config_path, std::optional<uint32_t> sdkappid,
                       const TlsVerify& tls) {
  try {
    Caller c = load_caller(config_path, sdkappid, tls);
    json::value reply = call(c, "liveroom_webhooks/get_dead_letters", {});
    const auto& list = reply.at("Response").at("DeadLetters").as_array();
    std::cout << list.size() << " dead letter(s) for sdkappid " << c.app->sdkappid << "\n";
    for (const auto& v : list) {
      const auto& d = v.as_object();
      std::cout << fmt::format(
          "{}\t{}\t{}\troom {} seq {}\t{} attempts\t{}\n", d.at("Id").to_number<int64_t>(),
          json::value_to<std::string>(d.at("CallbackCommand")),
          json::value_to<std::string>(d.at("Url")), json::value_to<std::string>(d.at("RoomId")),
          d.at("RoomSeq").to_number<int64_t>(), d.at("Attempts").to_number<int64_t>(),
          json::value_to<std::string>(d.at("LastError")));
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "liveroomd webhooks dead-letters: " << e.what() << "\n";
    return 1;
  }
}

int replay_dead_letters(const std::string& config_path, std::optional<uint32_t> sdkappid,
                        const std::vector<uint64_t>& ids, const TlsVerify& tls) {
  try {
    Caller c = load_caller(config_path, sdkappid, tls);
    json::object body;
    if (!ids.empty()) {
      json::array list;
      for (uint64_t id : ids) list.emplace_back(id);
      body["Ids"] = std::move(list);
    }
    json::value reply = call(c, "liveroom_webhooks/replay_dead_letters", body);
    std::cout << "replayed " << reply.at("Response").at("Replayed").to_number<int64_t>()
              << " dead letter(s)\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "liveroomd webhooks replay: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace liveroom::cli
