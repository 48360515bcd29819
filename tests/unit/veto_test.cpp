// "Before" callbacks (spec §5.3) through webhook::Dispatcher::ask_veto, against a real HTTP
// responder on loopback: the backend's ErrorCode decides, and a backend that is late, down or
// answers nonsense is decided by the fail-open switch.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

#include <boost/asio.hpp>

#include "base/clock.h"
#include "store/store.h"
#include "test_support.h"
#include "webhook/dispatcher.h"

namespace liveroom::webhook {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace std::chrono_literals;

// Answers every request with `body` after `delay`, one connection at a time; records requests.
class Responder {
 public:
  Responder(std::string body, std::chrono::milliseconds delay)
      : body_(std::move(body)),
        delay_(delay),
        acceptor_(ioc_, {asio::ip::make_address("127.0.0.1"), 0}) {
    thread_ = std::thread([this] { serve(); });
  }
  ~Responder() {
    stopping_ = true;
    boost::system::error_code ec;
    tcp::socket poke(ioc_);
    poke.connect(acceptor_.local_endpoint(), ec);  // unblock accept()
    thread_.join();
  }
  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) + "/veto";
  }
  std::string last_request() {
    std::lock_guard lock(mu_);
    return last_request_;
  }

 private:
  void serve() {
    while (!stopping_) {
      tcp::socket socket(ioc_);
      boost::system::error_code ec;
      acceptor_.accept(socket, ec);
      if (ec || stopping_) return;
      asio::streambuf buffer;
      asio::read_until(socket, buffer, "\r\n\r\n", ec);
      if (ec) continue;
      {
        std::lock_guard lock(mu_);
        last_request_.assign(asio::buffers_begin(buffer.data()), asio::buffers_end(buffer.data()));
      }
      std::this_thread::sleep_for(delay_);
      std::string reply = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                          std::to_string(body_.size()) + "\r\nConnection: close\r\n\r\n" + body_;
      asio::write(socket, asio::buffer(reply), ec);
    }
  }

  std::string body_;
  std::chrono::milliseconds delay_;
  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::string last_request_;
};

class VetoTest : public ::testing::Test {
 protected:
  VetoTest()
      : store_(store::open_sqlite_store({(dir_.path() / "liveroom.db").string()})),
        dispatcher_(
            *store_, clock_, [](uint32_t) { return std::optional<std::string>("tok"); },
            [](uint32_t) { return int64_t{60'000}; }) {
    dispatcher_.start();
  }
  ~VetoTest() override {
    dispatcher_.stop();
    store_->close();
  }

  VetoAnswer ask(std::vector<std::string> urls, std::chrono::milliseconds timeout, bool fail_open) {
    std::promise<VetoAnswer> answer;
    dispatcher_.ask_veto(1400000001, std::move(urls), "Group.CallbackBeforeSendMsg",
                         R"({"CallbackCommand":"Group.CallbackBeforeSendMsg"})", "10.0.0.1",
                         timeout, fail_open, [&](VetoAnswer a) { answer.set_value(std::move(a)); });
    auto future = answer.get_future();
    EXPECT_EQ(future.wait_for(10s), std::future_status::ready);
    return future.get();
  }

  testing_support::TempDir dir_;
  SystemClock clock_;
  std::unique_ptr<store::Store> store_;
  Dispatcher dispatcher_;
};

TEST_F(VetoTest, ErrorCodeZeroAllowsAndTheCallIsSignedLikeADelivery) {
  Responder backend(R"({"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":""})", 0ms);
  VetoAnswer a = ask({backend.url()}, 2000ms, false);
  EXPECT_TRUE(a.allowed);
  EXPECT_TRUE(a.answered);
  const std::string request = backend.last_request();
  EXPECT_NE(request.find("CallbackCommand=Group.CallbackBeforeSendMsg"), std::string::npos);
  EXPECT_NE(request.find("&Sign="), std::string::npos);
  EXPECT_NE(request.find("ClientIP=10.0.0.1"), std::string::npos);
}

TEST_F(VetoTest, NonZeroErrorCodeBlocksAndIsPassedOn) {
  Responder backend(R"({"ActionStatus":"FAIL","ErrorCode":102150,"ErrorInfo":"no spam"})", 0ms);
  VetoAnswer a = ask({backend.url()}, 2000ms, true);  // fail-open does not override an answer
  EXPECT_FALSE(a.allowed);
  EXPECT_TRUE(a.answered);
  EXPECT_EQ(a.error_code, 102150);
  EXPECT_EQ(a.error_info, "no spam");
}

TEST_F(VetoTest, LateBackendIsDecidedByTheFailOpenSwitch) {
  Responder backend(R"({"ErrorCode":1})", 600ms);
  VetoAnswer open = ask({backend.url()}, 150ms, true);
  EXPECT_TRUE(open.allowed);
  EXPECT_FALSE(open.answered);
  VetoAnswer closed = ask({backend.url()}, 150ms, false);
  EXPECT_FALSE(closed.allowed);
  EXPECT_FALSE(closed.answered);
}

TEST_F(VetoTest, UnreachableOrNonsenseBackendIsDecidedByTheFailOpenSwitch) {
  Responder nonsense("not json", 0ms);
  EXPECT_TRUE(ask({nonsense.url()}, 1000ms, true).allowed);
  EXPECT_FALSE(ask({nonsense.url()}, 1000ms, false).allowed);
  // A port nobody listens on (the responder's, once it is gone).
  std::string dead_url;
  {
    Responder gone("{}", 0ms);
    dead_url = gone.url();
  }
  EXPECT_FALSE(ask({dead_url}, 1000ms, false).allowed);
  EXPECT_TRUE(ask({dead_url}, 1000ms, true).allowed);
}

TEST_F(VetoTest, EveryBackendMustAllow) {
  Responder yes(R"({"ErrorCode":0})", 0ms);
  Responder no(R"({"ErrorCode":7,"ErrorInfo":"blocked"})", 0ms);
  EXPECT_TRUE(ask({yes.url(), yes.url()}, 1000ms, false).allowed);
  VetoAnswer a = ask({yes.url(), no.url()}, 1000ms, true);
  EXPECT_FALSE(a.allowed);
  EXPECT_EQ(a.error_code, 7);
}

}  // namespace
}  // namespace liveroom::webhook
