// The client gateway's frame handling (src/gateway/client_session.*): one connection's frames
// through ClientSession::on_text against a real Gateway, engine and SQLite store, with an
// in-process WebSocketPeer instead of a socket. The session lives on the transport's I/O thread
// as in liveroomd: the I/O threads of a started (never listening) HttpServer run it.
//
// Input: one client frame per line (a frame's JSON never needs a raw newline). A first line that
// starts with "/gateway?" is the upgrade's target instead (the query-string login). "$alice",
// "$bob", "$carol" and "$admin" anywhere are replaced by valid UserSigs of those users, so the
// fuzzer gets past login: a UserSig's HMAC is not something it can guess. Room "r1" (owner alice,
// free seats) and "r2" (owner bob, seats on application) exist before every input.
// Beyond not crashing: every frame the server sends must be JSON objects, one per line.
#include <atomic>
#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <future>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fuzz_support.h"
#include "gateway/gateway.h"
#include "server/websocket.h"

namespace {

using liveroom::fuzzing::server;
namespace fz = liveroom::fuzzing;

void check_frame(const std::string& frame) {
  size_t begin = 0;
  for (;;) {
    const size_t end = frame.find('\n', begin);
    const std::string_view object = std::string_view(frame).substr(begin, end - begin);
    boost::system::error_code ec;
    const boost::json::value v = boost::json::parse(object, ec);
    if (ec || !v.is_object()) std::abort();
    if (end == std::string::npos) return;
    begin = end + 1;
  }
}

class FakePeer final : public liveroom::server::WebSocketPeer {
 public:
  explicit FakePeer(liveroom::server::HttpServer& http) : http_(http) {}

  void send(std::shared_ptr<const std::string> text) override { check_frame(*text); }
  void send_here(const std::shared_ptr<const std::string>& text) override { check_frame(*text); }
  void send_here(std::span<const std::shared_ptr<const std::string>> texts) override {
    for (const auto& text : texts) check_frame(*text);
  }
  void close(uint16_t, std::string) override { closed_ = true; }
  void post(std::move_only_function<void()> fn) override { http_.post_to_worker(0, std::move(fn)); }
  size_t worker() const override { return 0; }
  const std::string& remote_address() const override { return address_; }

  bool closed() const { return closed_; }

 private:
  liveroom::server::HttpServer& http_;
  std::atomic<bool> closed_{false};
  const std::string address_ = "127.0.0.1:2";
};

struct GatewayWorld {
  GatewayWorld()
      : http(
            server().config.http, std::nullopt,
            [](liveroom::server::HttpRequest&&) { return liveroom::server::HttpResponse{}; },
            [](unsigned, std::string_view) { return liveroom::server::HttpResponse{}; }),
        gateway(server().config, *server().engine, *server().store, server().clock, http, nullptr) {
    server().engine->set_audience_factory(&gateway,
                                          {int64_t{server().config.gateway.presence_grace_ms}});
    for (const char* user : {"alice", "bob", "carol", "administrator"}) {
      tokens.emplace_back(
          std::string("$") + (user == std::string_view("administrator") ? "admin" : user),
          fz::sign(user));
    }
    http.start();  // not listening: the I/O thread only runs what is posted to it
    gateway.start();
  }

  // Runs `fn` on the I/O thread and waits for it, and so for everything posted before it.
  void on_io_thread(std::move_only_function<void()> fn) {
    std::promise<void> ran;
    std::future<void> done = ran.get_future();
    http.post_to_worker(0, [&fn, &ran] {
      fn();
      ran.set_value();
    });
    done.wait();
  }

  // Every reply a request made is held until the store has made its writes durable, then posted
  // to the I/O thread: wait for both.
  void settle() {
    std::promise<void> durable;
    std::future<void> done = durable.get_future();
    server().store->when_durable(server().store->submitted_seq(),
                                 [&durable] { durable.set_value(); });
    done.wait();
    on_io_thread([] {});
  }

  void ensure_rooms() {
    static constexpr std::string_view kRooms[] = {
        R"({"RoomInfo":{"RoomId":"r1","RoomType":"Live","Owner_Account":"alice","SeatTemplate":"VideoDynamicGrid9Seats","TakeSeatMode":"FreeToTake"}})",
        R"({"RoomInfo":{"RoomId":"r2","RoomType":"Live","Owner_Account":"bob","SeatTemplate":"VideoDynamicGrid9Seats","TakeSeatMode":"ApplyToTake"}})",
    };
    for (std::string_view body : kRooms) {
      (void)server().handle("POST", server().admin_target("live_engine_http_srv/create_room"),
                            std::string(body));
    }
  }

  std::string substitute(std::string_view frame) const {
    std::string out(frame);
    for (const auto& [token, sig] : tokens) {
      for (size_t at = out.find(token); at != std::string::npos; at = out.find(token, at)) {
        out.replace(at, token.size(), sig);
        at += sig.size();
      }
    }
    return out;
  }

  liveroom::server::HttpServer http;
  liveroom::gateway::Gateway gateway;
  std::vector<std::pair<std::string, std::string>> tokens;
};

GatewayWorld& world() {
  static GatewayWorld* instance = new GatewayWorld();
  return *instance;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  GatewayWorld& w = world();
  w.ensure_rooms();

  std::vector<std::string> frames;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  while (!input.empty()) {
    const size_t newline = input.find('\n');
    frames.push_back(w.substitute(input.substr(0, newline)));
    input.remove_prefix(newline == std::string_view::npos ? input.size() : newline + 1);
  }
  std::string upgrade_target = "/gateway";
  if (!frames.empty() && frames.front().starts_with("/gateway?")) {
    upgrade_target = std::move(frames.front());
    frames.erase(frames.begin());
  }

  auto peer = std::make_shared<FakePeer>(w.http);
  std::shared_ptr<liveroom::server::WebSocketSession> session;
  w.on_io_thread([&] {
    session = w.gateway.open_session(
        liveroom::server::HttpRequest{"GET", upgrade_target, "", peer->remote_address()}, peer);
    // The transport delivers nothing more once the connection is closing.
    for (const std::string& frame : frames) {
      if (peer->closed()) break;
      session->on_text(frame);
    }
  });
  w.settle();
  w.on_io_thread([&] { session->on_close(); });
  w.settle();
  return 0;
}
