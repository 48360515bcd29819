// ApiRouter is the whole request path without sockets: query parsing, UserSig, admin check,
// quota, body parsing, field decoding, the engine and the envelope. These tests drive it the way
// the HTTP server does and pin docs/compatibility.md line by line: the order of the pipeline and
// its codes, the envelope's shape, and every field rule at its boundary (with the field named in
// ErrorInfo, and nothing changed when a request fails).
#include "api/router.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <future>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "auth/usersig.h"
#include "test_support.h"
#include "text_shape.h"

// gtest prints JSON values as text instead of bytes (found by ADL).
namespace boost::json {
inline void PrintTo(const value& v, std::ostream* os) {
  *os << serialize(v);
}
inline void PrintTo(const object& o, std::ostream* os) {
  *os << serialize(o);
}
inline void PrintTo(const array& a, std::ostream* os) {
  *os << serialize(a);
}
}  // namespace boost::json

namespace liveroom::api {
namespace {

namespace json = boost::json;
using testing_support::TempDir;

constexpr uint32_t kApp = 1400000001;      // auto_import_accounts = false
constexpr uint32_t kAutoApp = 1400000002;  // auto_import_accounts = true
constexpr std::string_view kKey =
    "e55c7a0a473a21966ab381382c370ccf47285d61463cb0ccd9f68fc6fdefcdc5";
constexpr std::string_view kAutoKey =
    "67ae51b939d3a9b06bf328a3ec08e84cc11abf032415bafe2dfa63d2844d9444";
constexpr std::string_view kAdmin = "administrator";
constexpr int64_t kNow = 1'769'000'000;

constexpr std::string_view kCreate = "live_engine_http_srv/create_room";
constexpr std::string_view kDestroy = "live_engine_http_srv/destroy_room";
constexpr std::string_view kUpdate = "live_engine_http_srv/update_room_info";
constexpr std::string_view kInfo = "live_engine_http_srv/get_room_info";
constexpr std::string_view kList = "live_engine_http_srv/get_room_list";
constexpr std::string_view kStats = "live_engine_http_srv/get_room_stats";
constexpr std::string_view kSetMeta = "live_engine_http_srv/set_room_metadata";
constexpr std::string_view kGetMeta = "live_engine_http_srv/get_room_metadata";
constexpr std::string_view kDelMeta = "live_engine_http_srv/del_room_metadata";
constexpr std::string_view kImport = "im_open_login_svc/account_import";
constexpr std::string_view kMultiImport = "im_open_login_svc/multiaccount_import";
constexpr std::string_view kDeleteAccounts = "im_open_login_svc/account_delete";
constexpr std::string_view kCheck = "im_open_login_svc/account_check";
constexpr std::string_view kPortraitGet = "profile/portrait_get";
constexpr std::string_view kPortraitSet = "profile/portrait_set";

// A JSON string literal for `s` (escapes included).
std::string q(std::string_view s) {
  return json::serialize(json::string_view(s.data(), s.size()));
}

std::string repeat(size_t n, std::string_view unit = "a") {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += unit;
  return out;
}

config::AppConfig app_config(uint32_t sdkappid, std::string_view key, bool auto_import) {
  config::AppConfig app;
  app.sdkappid = sdkappid;
  app.secret_key = std::string(key);
  app.admins = {std::string(kAdmin), "second_admin"};
  app.auto_import_accounts = auto_import;
  app.rate_limits.default_per_second = 0;  // unlimited unless a test is about quotas
  return app;
}

config::Config default_config() {
  config::Config c;
  c.apps = {app_config(kApp, kKey, false), app_config(kAutoApp, kAutoKey, true)};
  return c;
}

class RouterTest : public testing::Test {
 protected:
  RouterTest() : clock_(kNow) { start(default_config()); }
  ~RouterTest() override { stop(); }

  void start(config::Config config) {
    stop();
    config_ = std::move(config);
    store_ = testing_support::open_store(dir_.file("liveroom.db"));
    std::vector<engine::AppOptions> apps;
    for (const auto& app : config_.apps) {
      apps.push_back({app.sdkappid, app.admins, app.auto_import_accounts});
    }
    engine_ = std::make_unique<engine::RoomEngine>(*store_, clock_, std::move(apps));
    engine_->load(store_->load());
    router_ = std::make_unique<ApiRouter>(config_, *engine_, *store_, clock_);
  }

  void stop() {
    router_.reset();
    engine_.reset();
    if (store_) store_->close();
    store_.reset();
  }

  static std::string sig(uint32_t app = kApp, std::string_view identifier = kAdmin,
                         std::string_view key = kKey, int64_t expire = 86400,
                         int64_t issued = kNow) {
    return auth::generate_usersig(app, key, identifier, expire, issued);
  }

  static std::string query(uint32_t app = kApp, std::string_view identifier = kAdmin) {
    return "sdkappid=" + std::to_string(app) + "&identifier=" + std::string(identifier) +
           "&usersig=" + sig(app, identifier, app == kApp ? kKey : kAutoKey) +
           "&random=1&contenttype=json";
  }

  // Sends one request the way the HTTP server does and returns the response once it may be
  // sent: a gated response is held until the store opens the gate (from its writer thread).
  server::HttpResponse send(std::string method, std::string target, std::string body) {
    server::HttpResponse response = router_->handle(server::HttpRequest{
        std::move(method), std::move(target), std::move(body), "127.0.0.1:50000"});
    if (response.gate) {
      auto opened = std::make_shared<std::promise<void>>();
      std::future<void> future = opened->get_future();
      server::Gate gate = std::move(response.gate);
      gate([opened] { opened->set_value(); });
      EXPECT_EQ(future.wait_for(std::chrono::seconds(10)), std::future_status::ready)
          << "the gate never opened";
      // Once open, everything the reply showed is durable.
      EXPECT_EQ(store_->durable_seq(), store_->submitted_seq());
    }
    return response;
  }

  // The parsed envelope of a request, after checking the invariants every reply must keep.
  json::object raw(std::string method, std::string target, std::string body) {
    server::HttpResponse response = send(std::move(method), std::move(target), std::move(body));
    EXPECT_EQ(response.status, 200u);
    EXPECT_EQ(response.content_type, "application/json");
    boost::system::error_code ec;
    json::value v = json::parse(response.body, ec);
    EXPECT_FALSE(ec) << response.body;
    if (ec || !v.is_object()) return {};
    json::object o = v.as_object();
    check_envelope(o, response.body);
    return o;
  }

  json::object post(std::string_view command, std::string_view body, uint32_t app = kApp) {
    return raw("POST", "/v4/" + std::string(command) + "?" + query(app), std::string(body));
  }

  static void check_envelope(const json::object& o, const std::string& text) {
    ASSERT_TRUE(o.contains("ActionStatus") && o.at("ActionStatus").is_string()) << text;
    ASSERT_TRUE(o.contains("ErrorCode") && o.at("ErrorCode").is_int64()) << text;
    ASSERT_TRUE(o.contains("ErrorInfo") && o.at("ErrorInfo").is_string()) << text;
    ASSERT_TRUE(o.contains("RequestId") && o.at("RequestId").is_string()) << text;
    const std::string id(o.at("RequestId").get_string());
    EXPECT_TRUE(testing_support::has_shape(id, "Id-" + std::string(32, '%') + "-O-Seq-#+")) << id;
    const bool ok = o.at("ActionStatus").get_string() == "OK";
    if (ok) {
      EXPECT_EQ(o.at("ErrorCode").get_int64(), 0) << text;
      EXPECT_EQ(o.at("ErrorInfo").get_string(), "") << text;
      if (o.contains("Response")) {
        EXPECT_TRUE(o.at("Response").is_object()) << text;
        EXPECT_FALSE(o.at("Response").get_object().empty()) << "an empty Response is left out";
      }
    } else {
      EXPECT_EQ(o.at("ActionStatus").get_string(), "FAIL") << text;
      EXPECT_NE(o.at("ErrorCode").get_int64(), 0) << text;
      EXPECT_FALSE(o.at("ErrorInfo").get_string().empty()) << text;
      EXPECT_FALSE(o.contains("Response")) << "a failure carries no Response: " << text;
    }
  }

  // Creates a room as the admin (the default body fields plus `extra`).
  void create_room(std::string_view id, std::string_view extra = "", uint32_t app = kApp) {
    std::string body = R"({"RoomInfo":{"RoomId":)" + q(id) + R"(,"RoomType":"Live")";
    if (!extra.empty()) body += "," + std::string(extra);
    body += "}}";
    auto r = post(kCreate, body, app);
    ASSERT_EQ(r.at("ErrorCode").as_int64(), 0) << json::serialize(r);
  }

  // Response.RoomInfo of an existing room.
  json::object room_info(std::string_view id, uint32_t app = kApp) {
    auto r = post(kInfo, R"({"RoomId":)" + q(id) + "}", app);
    if (r.at("ErrorCode").as_int64() != 0) {
      ADD_FAILURE() << "get_room_info " << id << ": " << json::serialize(r);
      return {};
    }
    return r.at("Response").at("RoomInfo").as_object();
  }

  bool room_exists(std::string_view id) {
    return post(kInfo, R"({"RoomId":)" + q(id) + "}").at("ErrorCode").as_int64() == 0;
  }

  void import(std::string_view id, uint32_t app = kApp) {
    auto r = post(kImport, R"({"UserID":)" + q(id) + "}", app);
    ASSERT_EQ(r.at("ErrorCode").as_int64(), 0) << json::serialize(r);
  }

  TempDir dir_;
  FixedClock clock_;
  config::Config config_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<engine::RoomEngine> engine_;
  std::unique_ptr<ApiRouter> router_;
};

// The reply failed with `code` and its ErrorInfo contains every one of `parts`.
testing::AssertionResult fails_with(const json::object& r, int code,
                                    std::initializer_list<std::string_view> parts = {}) {
  const std::string text = json::serialize(r);
  if (!r.contains("ErrorCode") || r.at("ErrorCode").as_int64() != code) {
    return testing::AssertionFailure() << "expected ErrorCode " << code << ", got " << text;
  }
  const std::string info(r.at("ErrorInfo").as_string());
  for (std::string_view part : parts) {
    if (info.find(part) == std::string::npos) {
      return testing::AssertionFailure() << "ErrorInfo lacks \"" << part << "\": " << text;
    }
  }
  return testing::AssertionSuccess();
}

testing::AssertionResult succeeds(const json::object& r) {
  if (r.contains("ErrorCode") && r.at("ErrorCode").as_int64() == 0 &&
      r.at("ActionStatus").as_string() == "OK") {
    return testing::AssertionSuccess();
  }
  return testing::AssertionFailure() << json::serialize(r);
}

// =============================================================================================
// Pipeline order and codes
// =============================================================================================

TEST_F(RouterTest, UnknownPathIs60009NamingThePath) {
  EXPECT_TRUE(fails_with(post("live_engine_http_srv/no_such_command", "{}"), 60009,
                         {"live_engine_http_srv/no_such_command"}));
  EXPECT_TRUE(fails_with(post("nope/create_room", "{}"), 60009, {"nope/create_room"}));
  EXPECT_TRUE(fails_with(post("live_engine_http_srv/create_room/extra", "{}"), 60009));
  EXPECT_TRUE(fails_with(raw("POST", "/v3/live_engine_http_srv/create_room?" + query(), "{}"),
                         60009, {"/v3/live_engine_http_srv/create_room"}));
  EXPECT_TRUE(fails_with(raw("POST", "/v4/?" + query(), "{}"), 60009));
  // Paths are case-sensitive (spec §1.1).
  EXPECT_TRUE(fails_with(post("live_engine_http_srv/Create_Room", "{}"), 60009));
}

// ErrorInfo echoes the path; bytes that are not UTF-8 there once made the reply invalid JSON
// (found by fuzz/fuzz_router). They come back as U+FFFD.
TEST_F(RouterTest, InvalidUtf8EchoedInErrorInfoKeepsTheReplyJson) {
  EXPECT_TRUE(fails_with(post("live_engine_http_srv/get_admin_li\xd1t", "{}"), 60009,
                         {"live_engine_http_srv/get_admin_li\xef\xbf\xbdt"}));
  EXPECT_TRUE(fails_with(raw("POST", "/v4/\xff\xc0\xaf?" + query(), "{}"), 60009,
                         {"unknown API '\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd'"}));
}

TEST_F(RouterTest, OnlyPostIsSupported) {
  for (std::string method : {"GET", "PUT", "DELETE", "HEAD", "post"}) {
    auto r = raw(method, "/v4/live_engine_http_srv/get_room_list?" + query(), "{}");
    EXPECT_TRUE(fails_with(r, 60002, {method})) << method;
  }
  // The method is checked before the command is looked up.
  EXPECT_TRUE(fails_with(raw("GET", "/v4/nope/nope?" + query(), "{}"), 60002));
}

TEST_F(RouterTest, SdkAppIdMissingIs60012) {
  const std::string path = "/v4/live_engine_http_srv/get_room_list?";
  const std::string rest = "identifier=administrator&usersig=" + sig() + "&random=1";
  EXPECT_TRUE(fails_with(raw("POST", path + rest, "{}"), 60012, {"sdkappid"}));
  EXPECT_TRUE(fails_with(raw("POST", path + "sdkappid=&" + rest, "{}"), 60012));
  EXPECT_TRUE(fails_with(raw("POST", path + "sdkappid&" + rest, "{}"), 60012));
  EXPECT_TRUE(fails_with(raw("POST", "/v4/live_engine_http_srv/get_room_list", "{}"), 60012));
  // Parameter names are case-sensitive.
  EXPECT_TRUE(fails_with(raw("POST", path + "SdkAppId=1400000001&" + rest, "{}"), 60012));
}

TEST_F(RouterTest, SdkAppIdInvalidIs60006) {
  const std::string path = "/v4/live_engine_http_srv/get_room_list?";
  const std::string rest = "&identifier=administrator&usersig=" + sig() + "&random=1";
  for (std::string value : {"abc", "1400009999", "1400000001x", " 1400000001", "-1", "+1400000001",
                            "99999999999", "1400000001.0", "01400000001", "001400000001", "00"}) {
    EXPECT_TRUE(fails_with(raw("POST", path + "sdkappid=" + value + rest, "{}"), 60006)) << value;
  }
}

// A parameter given twice would be read differently by a proxy that checks the first one and
// by the server: refused.
TEST_F(RouterTest, RepeatedOrMalformedQueryParametersAre60002) {
  const std::string path = "/v4/live_engine_http_srv/get_room_list?";
  const std::string creds = "sdkappid=1400000001&identifier=administrator&usersig=" + sig();
  const std::vector<std::string> repeats = {
      "&sdkappid=1400000002", "&sdkappid=1400000001", "&identifier=x",
      "&usersig=" + sig(),    "&random=1&random=2",   "&contenttype=json&contenttype=json"};
  for (const std::string& extra : repeats) {
    EXPECT_TRUE(fails_with(raw("POST", path + creds + extra, "{}"), 60002)) << extra;
  }
  // random itself is not interpreted: any one value is served (Java SDKs send negative ones).
  for (std::string random : {"", "0", "4294967295", "-1", "01", "abc"}) {
    EXPECT_TRUE(fails_with(raw("POST", path + creds + "&random=" + random, "{}"), 0)) << random;
  }
  // Parameters Tencent does not define are ignored, repeated or not.
  EXPECT_TRUE(fails_with(raw("POST", path + creds + "&x=1&x=2", "{}"), 0));
}

TEST_F(RouterTest, UserSigChecks) {
  const std::string path = "/v4/live_engine_http_srv/get_room_list?sdkappid=1400000001";
  auto with = [&](std::string identifier, std::string usersig) {
    return raw("POST", path + "&identifier=" + identifier + "&usersig=" + usersig, "{}");
  };
  EXPECT_TRUE(fails_with(raw("POST", path + "&identifier=administrator", "{}"), 70002));
  EXPECT_TRUE(fails_with(with("administrator", ""), 70002));
  EXPECT_TRUE(fails_with(with("administrator", "garbage"), 70003));
  // Signed for the other app, with that app's key.
  EXPECT_TRUE(fails_with(with("administrator", sig(kAutoApp, kAdmin, kAutoKey)), 70014));
  // Signed for someone else; a missing identifier is "someone else" too.
  EXPECT_TRUE(fails_with(with("administrator", sig(kApp, "second_admin")), 70013));
  EXPECT_TRUE(fails_with(raw("POST", path + "&usersig=" + sig(), "{}"), 70013));
  // Expiry: valid up to and including time + expire (FixedClock pins now).
  EXPECT_TRUE(succeeds(with("administrator", sig(kApp, kAdmin, kKey, 100, kNow - 100))));
  EXPECT_TRUE(fails_with(with("administrator", sig(kApp, kAdmin, kKey, 99, kNow - 100)), 70001));
  // Signed with another key.
  EXPECT_TRUE(fails_with(with("administrator", sig(kApp, kAdmin, kAutoKey)), 70009));
}

TEST_F(RouterTest, QueryValuesArePercentDecodedAndRandomIsOptional) {
  std::string encoded;
  for (char c : sig()) {
    if (c == '*')
      encoded += "%2A";
    else if (c == '-')
      encoded += "%2D";
    else if (c == '_')
      encoded += "%5F";
    else
      encoded += c;
  }
  auto r = raw("POST",
               "/v4/live_engine_http_srv/get_room_list?sdkappid=1400000001&identifier=" +
                   std::string("administ%72ator") + "&usersig=" + encoded,
               "{}");
  EXPECT_TRUE(succeeds(r));
}

TEST_F(RouterTest, NonAdminIs60010NamingTheIdentifier) {
  import("anchor");
  auto r = raw("POST",
               "/v4/live_engine_http_srv/get_room_list?sdkappid=1400000001&identifier=" +
                   std::string("anchor") + "&usersig=" + sig(kApp, "anchor"),
               "{}");
  EXPECT_TRUE(fails_with(r, 60010, {"anchor"}));
  // A badly signed non-admin gets the signature error: the sig is checked first.
  auto bad = raw("POST",
                 "/v4/live_engine_http_srv/get_room_list?sdkappid=1400000001&identifier=" +
                     std::string("anchor") + "&usersig=" + sig(kApp, "anchor", kAutoKey),
                 "{}");
  EXPECT_TRUE(fails_with(bad, 70009));
}

TEST_F(RouterTest, PipelineOrder) {
  // Path before everything.
  EXPECT_TRUE(fails_with(raw("POST", "/v4/x/y?sdkappid=abc", ""), 60009));
  // sdkappid before the sig.
  EXPECT_TRUE(
      fails_with(raw("POST", "/v4/live_engine_http_srv/get_room_list?sdkappid=7", ""), 60006));
  // The sig before the admin check and the body.
  EXPECT_TRUE(fails_with(raw("POST",
                             "/v4/live_engine_http_srv/get_room_list?sdkappid=1400000001&"
                             "identifier=anchor&usersig=garbage",
                             "not json"),
                         70003));
  // The admin check before the body.
  EXPECT_TRUE(fails_with(raw("POST",
                             "/v4/live_engine_http_srv/get_room_list?sdkappid=1400000001&"
                             "identifier=anchor&usersig=" +
                                 sig(kApp, "anchor"),
                             ""),
                         60010));
  // The body before the fields.
  EXPECT_TRUE(fails_with(post(kCreate, "[]"), 60003));
}

TEST_F(RouterTest, QuotaIs60007NamingCommandAndLimitBeforeTheBodyIsRead) {
  config::Config c = default_config();
  c.apps[0].rate_limits.per_command["get_room_list"] = 1;
  start(c);

  // A request refused earlier in the pipeline takes no token.
  EXPECT_TRUE(fails_with(
      raw("POST", "/v4/live_engine_http_srv/get_room_list?sdkappid=1400000001", "{}"), 70002));
  EXPECT_TRUE(succeeds(post(kList, "{}")));
  // The bucket is empty now; the body is not even looked at.
  EXPECT_TRUE(fails_with(post(kList, ""), 60007, {"get_room_list", "1"}));
  EXPECT_TRUE(fails_with(post(kList, "{}"), 60007, {"get_room_list"}));
  // Other commands and other apps have their own buckets.
  // (100004 shows the request got past the quota to the engine.)
  EXPECT_TRUE(fails_with(post(kStats, R"({"RoomId":"x"})"), 100004));
  EXPECT_TRUE(succeeds(post(kList, "{}", kAutoApp)));
}

TEST_F(RouterTest, BodyMustBeAJsonObject) {
  EXPECT_TRUE(fails_with(post(kList, ""), 60003, {"empty"}));
  for (std::string body : {"{", "not json", "[]", "[{}]", "\"x\"", "1", "null", "true", "{} {}",
                           "{\"Next\":\"\"", "{'Next':''}"}) {
    EXPECT_TRUE(fails_with(post(kList, body), 60003)) << body;
  }
}

TEST_F(RouterTest, CommentsAndTrailingCommasAreAccepted) {
  const std::string body = R"({
    // Tencent's samples carry comments
    "RoomInfo": {
      "RoomId": "live-room", /* block comment */
      "RoomType": "Live",
      "Category": [1, 2,],
    },
  })";
  EXPECT_TRUE(succeeds(post(kCreate, body)));
  EXPECT_TRUE(succeeds(post(kInfo, R"({"RoomId":"live-room",})")));
  EXPECT_EQ(room_info("live-room").at("Category"), (json::array{1, 2}));
}

TEST_F(RouterTest, HealthEndpoints) {
  server::HttpResponse health = send("GET", "/healthz", "");
  EXPECT_EQ(health.status, 200u);
  EXPECT_EQ(health.body, R"({"status":"ok"})");
  server::HttpResponse ready = send("GET", "/readyz", "");
  EXPECT_EQ(ready.status, 200u);
  EXPECT_EQ(ready.body, R"({"status":"ready"})");
}

// After SIGTERM the server is still healthy but no longer ready for new work.
TEST_F(RouterTest, ReadinessGoesAwayWhileDraining) {
  router_->set_draining();
  EXPECT_EQ(send("GET", "/readyz", "").status, 503u);
  EXPECT_EQ(send("GET", "/healthz", "").status, 200u);
}

// =============================================================================================
// Envelope
// =============================================================================================

TEST_F(RouterTest, RequestIdsAreUnique) {
  std::set<std::string> ids;
  for (int i = 0; i < 50; ++i) {
    ids.insert(std::string(post(kList, "{}").at("RequestId").as_string()));
    ids.insert(std::string(post(kList, "[]").at("RequestId").as_string()));
  }
  EXPECT_EQ(ids.size(), 100u);
}

TEST_F(RouterTest, ResponseOnlyOnSuccessWithData) {
  auto created = post(kCreate, R"({"RoomInfo":{"RoomId":"r1","RoomType":"Live"}})");
  ASSERT_TRUE(succeeds(created));
  EXPECT_EQ(created.at("Response"), (json::object{{"RoomId", "r1"}}));

  auto updated = post(kUpdate, R"({"RoomInfo":{"RoomId":"r1","Notice":"n"}})");
  ASSERT_TRUE(succeeds(updated));
  EXPECT_FALSE(updated.contains("Response"));

  // IM-style calls answer at top level.
  auto checked = post(kCheck, R"({"CheckItem":[{"UserID":"administrator"}]})");
  ASSERT_TRUE(succeeds(checked));
  EXPECT_FALSE(checked.contains("Response"));
  EXPECT_TRUE(checked.contains("ResultItem"));

  auto failed = post(kInfo, R"({"RoomId":"missing"})");
  EXPECT_TRUE(fails_with(failed, 100004, {"missing"}));
}

// A write is answered only once durable, and a read only once what it saw is durable.
TEST_F(RouterTest, RepliesWaitForDurability) {
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(succeeds(post(
        kCreate, R"({"RoomInfo":{"RoomId":"r)" + std::to_string(i) + R"(","RoomType":"Live"}})")));
    // send() checks durable_seq == submitted_seq whenever a gate was needed; without a gate
    // the write must already be durable.
    EXPECT_EQ(store_->durable_seq(), store_->submitted_seq());
  }
}

// =============================================================================================
// create_room / update_room_info fields
// =============================================================================================

// One invalid field: its JSON, the code and what ErrorInfo must name.
struct BadField {
  std::string json;
  int code;
  std::string names;
};

// The RoomInfo fields create_room and update_room_info share (decoded by one function).
std::vector<BadField> bad_room_fields() {
  std::vector<BadField> cases = {
      {R"("RoomName":)" + q(repeat(101)), 100002, "RoomInfo.RoomName"},
      {R"("RoomName":)" + q(repeat(34, "\xe6\x99\x9a")), 100002, "RoomInfo.RoomName"},  // 102 B
      {R"("RoomName":5)", 100002, "RoomInfo.RoomName"},
      {R"("RoomName":["a"])", 100002, "RoomInfo.RoomName"},
      {R"("SeatTemplate":"Nope")", 100002, "RoomInfo.SeatTemplate"},
      {R"("SeatTemplate":"videodynamicgrid9seats")", 100002, "RoomInfo.SeatTemplate"},
      {R"("SeatTemplate":999)", 100002, "RoomInfo.SeatTemplate"},
      {R"("SeatTemplate":true)", 100002, "RoomInfo.SeatTemplate"},
      {R"("SeatTemplate":6.0)", 100002, "RoomInfo.SeatTemplate"},
      {R"("SeatLayoutTemplate":"Nope")", 100002, "RoomInfo.SeatLayoutTemplate"},
      {R"("SeatLayoutTemplate":123)", 100002, "RoomInfo.SeatLayoutTemplate"},
      {R"("MaxSeatCount":0)", 100002, "RoomInfo.MaxSeatCount"},
      {R"("MaxSeatCount":17)", 100002, "RoomInfo.MaxSeatCount"},
      {R"("MaxSeatCount":-1)", 100002, "RoomInfo.MaxSeatCount"},
      {R"("MaxSeatCount":"8")", 100002, "RoomInfo.MaxSeatCount"},
      {R"("MaxSeatCount":8.5)", 100002, "RoomInfo.MaxSeatCount"},
      {R"("IsSeatEnabled":1)", 100002, "RoomInfo.IsSeatEnabled"},
      {R"("IsSeatEnabled":"true")", 100002, "RoomInfo.IsSeatEnabled"},
      {R"("TakeSeatMode":"Free")", 100002, "RoomInfo.TakeSeatMode"},
      {R"("TakeSeatMode":"applytotake")", 100002, "RoomInfo.TakeSeatMode"},
      {R"("TakeSeatMode":2)", 100002, "RoomInfo.TakeSeatMode"},
      {R"("TakeSeatMode":-1)", 100002, "RoomInfo.TakeSeatMode"},
      {R"("TakeSeatMode":true)", 100002, "RoomInfo.TakeSeatMode"},
      {R"("TakeSeatMode":1.0)", 100002, "RoomInfo.TakeSeatMode"},
      {R"("MaxMemberCount":0)", 100002, "RoomInfo.MaxMemberCount"},
      {R"("MaxMemberCount":1000001)", 100002, "RoomInfo.MaxMemberCount"},
      {R"("MaxMemberCount":-5)", 100002, "RoomInfo.MaxMemberCount"},
      {R"("MaxMemberCount":"300")", 100002, "RoomInfo.MaxMemberCount"},
      {R"("MaxMemberCount":300.5)", 100002, "RoomInfo.MaxMemberCount"},
      {R"("MaxMemberCount":18446744073709551615)", 100002, "RoomInfo.MaxMemberCount"},
      {R"("IsMessageDisabled":"yes")", 100002, "RoomInfo.IsMessageDisabled"},
      {R"("IsMessageDisabled":"True")", 100002, "RoomInfo.IsMessageDisabled"},
      {R"("IsMessageDisabled":1)", 100002, "RoomInfo.IsMessageDisabled"},
      {R"("CoverURL":)" + q(repeat(201)), 100002, "RoomInfo.CoverURL"},
      {R"("CoverURL":1)", 100002, "RoomInfo.CoverURL"},
      {R"("BackgroundURL":)" + q(repeat(201)), 100002, "RoomInfo.BackgroundURL"},
      {R"("BackgroundURL":false)", 100002, "RoomInfo.BackgroundURL"},
      {R"("Notice":)" + q(repeat(101)), 100002, "RoomInfo.Notice"},
      {R"("Notice":{})", 100002, "RoomInfo.Notice"},
      {R"("CustomInfo":)" + q(repeat(2049)), 100002, "RoomInfo.CustomInfo"},
      {R"("CustomInfo":{"a":1})", 100002, "RoomInfo.CustomInfo"},
      {R"("Category":[1,2,3,4])", 100002, "RoomInfo.Category"},
      {R"("Category":["1"])", 100002, "RoomInfo.Category"},
      {R"("Category":[1.5])", 100002, "RoomInfo.Category"},
      {R"("Category":1)", 100002, "RoomInfo.Category"},
      {R"("Category":"1,2")", 100002, "RoomInfo.Category"},
      {R"("ActivityStatus":"1")", 100002, "RoomInfo.ActivityStatus"},
      {R"("ActivityStatus":1.5)", 100002, "RoomInfo.ActivityStatus"},
      {R"("ActivityStatus":true)", 100002, "RoomInfo.ActivityStatus"},
      {R"("ActivityStatus":18446744073709551615)", 100002, "RoomInfo.ActivityStatus"},
  };
  for (std::string field : {"IsPublicVisible", "IsLikeEnabled", "IsGiftEnabled",
                            "IsUnlimitedRoomEnabled", "KeepOwnerOnSeat"}) {
    cases.push_back({q(field) + ":1", 100002, "RoomInfo." + field});
    cases.push_back({q(field) + R"(:"true")", 100002, "RoomInfo." + field});
    cases.push_back({q(field) + ":[]", 100002, "RoomInfo." + field});
  }
  return cases;
}

// `bad` between valid fields (leaving out those with the same key: JSON duplicates would
// override it), so a test sees whether any of the good ones leaks through.
std::string among_good_fields(const std::string& bad) {
  const std::vector<std::string> before = {R"("RoomName":"good")", R"("Notice":"good")"};
  const std::vector<std::string> after = {R"("CoverURL":"https://good")", R"("MaxMemberCount":5)",
                                          R"("ActivityStatus":7)"};
  auto same_key = [&](const std::string& field) {
    return bad.starts_with(field.substr(0, field.find(':') + 1));
  };
  std::string out;
  for (const auto& f : before) {
    if (!same_key(f)) out += f + ",";
  }
  out += bad;
  for (const auto& f : after) {
    if (!same_key(f)) out += "," + f;
  }
  return out;
}

TEST_F(RouterTest, CreateRejectsEveryInvalidRoomField) {
  int i = 0;
  for (const BadField& c : bad_room_fields()) {
    const std::string id = "bad-" + std::to_string(i++);
    // The bad field sits among good ones; the room must not come into existence.
    const std::string body = R"({"RoomInfo":{"RoomId":)" + q(id) + R"(,"RoomType":"Live",)" +
                             among_good_fields(c.json) + "}}";
    SCOPED_TRACE(c.json.substr(0, 80));
    EXPECT_TRUE(fails_with(post(kCreate, body), c.code, {c.names}));
    EXPECT_FALSE(room_exists(id));
  }
}

TEST_F(RouterTest, UpdateRejectsEveryInvalidRoomFieldAndChangesNothing) {
  create_room("r1", R"("RoomName":"before","Notice":"old")");
  const json::object before = room_info("r1");
  for (const BadField& c : bad_room_fields()) {
    // Good fields around it: none of them may be applied.
    const std::string body = R"({"RoomInfo":{"RoomId":"r1",)" + among_good_fields(c.json) + "}}";
    SCOPED_TRACE(c.json.substr(0, 80));
    EXPECT_TRUE(fails_with(post(kUpdate, body), c.code, {c.names}));
    EXPECT_EQ(room_info("r1"), before);
  }
}

TEST_F(RouterTest, RoomIdRules) {
  struct Case {
    std::string room_id_json;
    std::string rule;
  };
  const std::vector<Case> bad = {
      {q(repeat(49)), "48"},
      {R"("")", "empty"},
      {R"("room\u001f")", "printable"},
      {R"("room\u007f")", "printable"},
      {R"("room\n")", "printable"},
      {R"("caf\u00e9")", "printable"},
      {"5", "String"},
      {"null", "required"},  // null reads as not sent
  };
  for (const Case& c : bad) {
    SCOPED_TRACE(c.room_id_json);
    EXPECT_TRUE(fails_with(
        post(kCreate, R"({"RoomInfo":{"RoomType":"Live","RoomId":)" + c.room_id_json + "}}"),
        100002, {"RoomInfo.RoomId", c.rule}));
    EXPECT_TRUE(fails_with(post(kUpdate, R"({"RoomInfo":{"RoomId":)" + c.room_id_json + "}}"),
                           100002, {"RoomInfo.RoomId"}));
    for (std::string_view cmd : {kDestroy, kInfo, kStats, kSetMeta, kGetMeta, kDelMeta}) {
      EXPECT_TRUE(
          fails_with(post(cmd, R"({"RoomId":)" + c.room_id_json + R"(,"Metadata":[],"Keys":[]})"),
                     100002, {"RoomId"}))
          << cmd;
    }
  }
  EXPECT_TRUE(fails_with(post(kCreate, R"({"RoomInfo":{"RoomType":"Live"}})"), 100002,
                         {"RoomInfo.RoomId", "required"}));
  for (std::string_view cmd : {kDestroy, kInfo, kStats, kSetMeta, kGetMeta, kDelMeta}) {
    EXPECT_TRUE(fails_with(post(cmd, "{}"), 100002, {"RoomId"})) << cmd;
  }

  // 48 bytes and every printable character, space included, are fine.
  const std::string longest = repeat(48, "r");
  create_room(longest);
  EXPECT_EQ(room_info(longest).at("RoomId"), longest.c_str());
  create_room(" ~!#$%&'()*+,-./:;<=>?@[\\]^_`{|}");
  EXPECT_TRUE(room_exists(" ~!#$%&'()*+,-./:;<=>?@[\\]^_`{|}"));
}

TEST_F(RouterTest, CreateRequiresRoomInfoAndALiveRoomType) {
  EXPECT_TRUE(fails_with(post(kCreate, "{}"), 100002, {"RoomInfo", "required"}));
  EXPECT_TRUE(fails_with(post(kCreate, R"({"RoomInfo":"r1"})"), 100002, {"RoomInfo"}));
  EXPECT_TRUE(fails_with(post(kCreate, R"({"RoomInfo":[]})"), 100002, {"RoomInfo"}));
  EXPECT_TRUE(
      fails_with(post(kCreate, R"({"RoomId":"r1","RoomType":"Live"})"), 100002, {"RoomInfo"}));
  EXPECT_TRUE(fails_with(post(kCreate, R"({"RoomInfo":{"RoomId":"r1"}})"), 100002,
                         {"RoomInfo.RoomType", "required"}));
  EXPECT_TRUE(fails_with(post(kCreate, R"({"RoomInfo":{"RoomId":"r1","RoomType":1}})"), 100002,
                         {"RoomInfo.RoomType"}));
  for (std::string type : {"live", "Voice", "Conference", ""}) {
    EXPECT_TRUE(
        fails_with(post(kCreate, R"({"RoomInfo":{"RoomId":"r1","RoomType":)" + q(type) + "}}"),
                   100006, {"RoomType"}))
        << type;
  }
  EXPECT_FALSE(room_exists("r1"));
  EXPECT_TRUE(fails_with(post(kUpdate, "{}"), 100002, {"RoomInfo", "required"}));
  EXPECT_TRUE(fails_with(post(kUpdate, R"({"RoomInfo":5})"), 100002, {"RoomInfo"}));
}

TEST_F(RouterTest, CreateOwnerAccount) {
  // Not a String: 60015, the gateway's account-type code.
  for (std::string owner : {"7", "[\"a\"]", "{}", "true"}) {
    EXPECT_TRUE(fails_with(
        post(kCreate,
             R"({"RoomInfo":{"RoomId":"r1","RoomType":"Live","Owner_Account":)" + owner + "}}"),
        60015, {"RoomInfo.Owner_Account"}))
        << owner;
  }
  // Not imported: 70107 (unless auto-import).
  EXPECT_TRUE(fails_with(
      post(kCreate, R"({"RoomInfo":{"RoomId":"r1","RoomType":"Live","Owner_Account":"anchor"}})"),
      70107, {"anchor"}));
  EXPECT_FALSE(room_exists("r1"));
  import("anchor");
  create_room("r1", R"("Owner_Account":"anchor")");
  EXPECT_EQ(room_info("r1").at("Owner_Account"), "anchor");
  // Absent or "" means the caller; another admin is always a valid owner.
  create_room("r2", R"("Owner_Account":"")");
  EXPECT_EQ(room_info("r2").at("Owner_Account"), "administrator");
  create_room("r3", R"("Owner_Account":"second_admin")");
  EXPECT_EQ(room_info("r3").at("Owner_Account"), "second_admin");

  // Same RoomId: 100010 for the same owner, 100003 for another.
  EXPECT_TRUE(fails_with(
      post(kCreate, R"({"RoomInfo":{"RoomId":"r1","RoomType":"Live","Owner_Account":"anchor"}})"),
      100010));
  EXPECT_TRUE(
      fails_with(post(kCreate, R"({"RoomInfo":{"RoomId":"r1","RoomType":"Live"}})"), 100003));
}

// compatibility.md's pipeline table checks "fields" (100002) before "account fields" (60015).
// docs/compatibility.md: fields are checked in the order the command reads them and the first
// failing one answers, whichever code it carries (60015 for accounts, 100002 for the rest).
TEST_F(RouterTest, FirstFailingFieldAnswersInReadingOrder) {
  EXPECT_TRUE(fails_with(post(kCreate, R"({"RoomInfo":{"RoomId":"r1","RoomType":"Live",)"
                                       R"("Owner_Account":5,"RoomName":5}})"),
                         60015, {"RoomInfo.Owner_Account"}));
  EXPECT_TRUE(fails_with(post(kCreate, R"({"RoomInfo":{"RoomId":7,"RoomType":"Live",)"
                                       R"("Owner_Account":5}})"),
                         100002, {"RoomInfo.RoomId"}));
  EXPECT_TRUE(fails_with(post(kPortraitSet, R"({"From_Account":5,"ProfileItem":[]})"), 60015,
                         {"From_Account"}));
  EXPECT_TRUE(
      fails_with(post(kPortraitGet, R"({"To_Account":["a"],"TagList":[5]})"), 100002, {"TagList"}));
}

TEST_F(RouterTest, CreateOwnerAutoImport) {
  create_room("r1", R"("Owner_Account":"fresh_anchor")", kAutoApp);
  auto checked = post(kCheck, R"({"CheckItem":[{"UserID":"fresh_anchor"}]})", kAutoApp);
  EXPECT_EQ(checked.at("ResultItem").at(0).at("AccountStatus"), "Imported");
  // Auto-import still applies the 32-byte rule.
  const std::string owner33 = repeat(33, "o");
  EXPECT_TRUE(fails_with(
      post(kCreate,
           R"({"RoomInfo":{"RoomId":"r2","RoomType":"Live","Owner_Account":)" + q(owner33) + "}}",
           kAutoApp),
      100002, {"RoomInfo.Owner_Account"}));
  create_room("r3", R"("Owner_Account":)" + q(repeat(32, "o")), kAutoApp);
}

TEST_F(RouterTest, CreateDefaultsAndGetRoomInfoListsEveryField) {
  create_room("r1");
  json::object info = room_info("r1");
  const json::object expected{
      {"RoomId", "r1"},
      {"RoomName", "r1"},
      {"RoomType", "Live"},
      {"Owner_Account", "administrator"},
      {"CreateTime", kNow},
      {"IsSeatEnabled", false},
      {"SeatTemplate", ""},
      {"TakeSeatMode", "FreeToTake"},
      {"MaxSeatCount", 0},
      {"MaxMemberCount", 100000},
      {"IsMessageDisabled", false},
      {"IsPublicVisible", true},
      {"IsLikeEnabled", true},
      {"IsGiftEnabled", true},
      {"IsUnlimitedRoomEnabled", false},
      {"KeepOwnerOnSeat", false},
      {"CoverURL", ""},
      {"BackgroundURL", ""},
      {"Notice", ""},
      {"CustomInfo", ""},
      {"Category", json::array{}},
      {"ActivityStatus", 0},
      {"ViewCount", 0},
      {"MemberCount", 0},
      {"OnlineCount", 0},
  };
  EXPECT_EQ(info, expected) << json::serialize(info);
}

// Every field at the edge of what it accepts, read back through get_room_info.
TEST_F(RouterTest, CreateAcceptsBoundaryValuesAndReadsThemBack) {
  const std::string name99 = repeat(33, "\xe6\x99\x9a");  // 99 bytes of UTF-8
  create_room(
      "r1", R"("RoomName":)" + q(repeat(100)) + R"(,"MaxMemberCount":1000000,)" + R"("CoverURL":)" +
                q(repeat(200, "c")) + R"(,"BackgroundURL":)" + q(repeat(200, "b")) +
                R"(,"Notice":)" + q(repeat(100, "n")) + R"(,"CustomInfo":)" + q(repeat(2048, "x")) +
                R"(,"Category":[1,2,3],"ActivityStatus":9223372036854775807,)" +
                R"("IsMessageDisabled":true,"IsPublicVisible":false,"IsLikeEnabled":false,)" +
                R"("IsGiftEnabled":false,"IsUnlimitedRoomEnabled":true,)" +
                R"("KeepOwnerOnSeat":true,"TakeSeatMode":"ApplyToTake")");
  json::object info = room_info("r1");
  EXPECT_EQ(info.at("RoomName"), repeat(100).c_str());
  EXPECT_EQ(info.at("MaxMemberCount"), 1000000);
  EXPECT_EQ(info.at("CoverURL").as_string().size(), 200u);
  EXPECT_EQ(info.at("BackgroundURL").as_string().size(), 200u);
  EXPECT_EQ(info.at("Notice").as_string().size(), 100u);
  EXPECT_EQ(info.at("CustomInfo").as_string().size(), 2048u);
  EXPECT_EQ(info.at("Category"), (json::array{1, 2, 3}));
  EXPECT_EQ(info.at("ActivityStatus"), INT64_MAX);
  EXPECT_EQ(info.at("IsMessageDisabled"), true);
  EXPECT_EQ(info.at("IsPublicVisible"), false);
  EXPECT_EQ(info.at("IsLikeEnabled"), false);
  EXPECT_EQ(info.at("IsGiftEnabled"), false);
  EXPECT_EQ(info.at("IsUnlimitedRoomEnabled"), true);
  EXPECT_EQ(info.at("KeepOwnerOnSeat"), true);
  EXPECT_EQ(info.at("TakeSeatMode"), "ApplyToTake");

  create_room("r2",
              R"("RoomName":)" + q(name99) +
                  R"(,"MaxMemberCount":1,"ActivityStatus":-9223372036854775808,"Category":[])");
  info = room_info("r2");
  EXPECT_EQ(info.at("RoomName"), name99.c_str());
  EXPECT_EQ(info.at("MaxMemberCount"), 1);
  EXPECT_EQ(info.at("ActivityStatus"), INT64_MIN);
  EXPECT_EQ(info.at("Category"), json::array{});

  // Empty strings are valid for every optional text field; RoomName "" means RoomId.
  create_room("r3", R"("RoomName":"","CoverURL":"","Notice":"","CustomInfo":"")");
  EXPECT_EQ(room_info("r3").at("RoomName"), "r3");
  // null reads as "not sent".
  create_room("r4", R"("RoomName":null,"MaxMemberCount":null,"IsPublicVisible":null)");
  EXPECT_EQ(room_info("r4").at("RoomName"), "r4");
  EXPECT_EQ(room_info("r4").at("IsPublicVisible"), true);
  // Unknown keys are ignored.
  create_room("r5", R"("NoSuchField":{"x":[1]},"OwnerName":"x")");
}

TEST_F(RouterTest, IsMessageDisabledAcceptsBoolStrings) {
  create_room("r1", R"("IsMessageDisabled":"true")");
  EXPECT_EQ(room_info("r1").at("IsMessageDisabled"), true);  // emitted as a Bool
  create_room("r2", R"("IsMessageDisabled":"false")");
  EXPECT_EQ(room_info("r2").at("IsMessageDisabled"), false);
  ASSERT_TRUE(succeeds(post(kUpdate, R"({"RoomInfo":{"RoomId":"r2","IsMessageDisabled":true}})")));
  EXPECT_EQ(room_info("r2").at("IsMessageDisabled"), true);
}

TEST_F(RouterTest, TakeSeatModeStringsAndSdkIntegers) {
  create_room("r0", R"("TakeSeatMode":0)");
  EXPECT_EQ(room_info("r0").at("TakeSeatMode"), "FreeToTake");
  create_room("r1", R"("TakeSeatMode":1)");
  EXPECT_EQ(room_info("r1").at("TakeSeatMode"), "ApplyToTake");
  create_room("r2", R"("TakeSeatMode":"FreeToTake")");
  EXPECT_EQ(room_info("r2").at("TakeSeatMode"), "FreeToTake");
  ASSERT_TRUE(succeeds(post(kUpdate, R"({"RoomInfo":{"RoomId":"r2","TakeSeatMode":1}})")));
  EXPECT_EQ(room_info("r2").at("TakeSeatMode"), "ApplyToTake");
}

TEST_F(RouterTest, SeatTemplates) {
  struct Case {
    std::string fields;
    std::string template_name;
    int seats;
  };
  const std::vector<Case> cases = {
      {R"("SeatTemplate":"VideoDynamicGrid9Seats")", "VideoDynamicGrid9Seats", 9},
      {R"("SeatTemplate":"VideoFixedGrid9Seats")", "VideoFixedGrid9Seats", 9},
      {R"("SeatTemplate":"VideoLeftFocus9Seats")", "VideoLeftFocus9Seats", 9},
      {R"("SeatTemplate":"VideoUniformGrid9Seats")", "VideoUniformGrid9Seats", 9},
      {R"("SeatTemplate":"VideoDynamicFloat7Seats")", "VideoDynamicFloat7Seats", 7},
      {R"("SeatTemplate":"VideoFixedFloat7Seats")", "VideoFixedFloat7Seats", 7},
      {R"("SeatTemplate":"VideoLandscape4Seats")", "VideoLandscape4Seats", 4},
      {R"("SeatTemplate":"VideoLandscape4Seat")", "VideoLandscape4Seats", 4},
      {R"("SeatTemplate":"AudioSalon")", "AudioSalon", 8},
      {R"("SeatTemplate":"Karaoke","MaxSeatCount":16)", "Karaoke", 16},
      {R"("SeatTemplate":"AudioSalon","MaxSeatCount":1)", "AudioSalon", 1},
      {R"("SeatTemplate":"VideoDynamicGrid9Seats","MaxSeatCount":3)", "VideoDynamicGrid9Seats", 9},
      {R"("SeatTemplate":600)", "VideoDynamicGrid9Seats", 9},
      {R"("SeatTemplate":601)", "VideoDynamicFloat7Seats", 7},
      {R"("SeatTemplate":800)", "VideoFixedGrid9Seats", 9},
      {R"("SeatTemplate":801)", "VideoFixedFloat7Seats", 7},
      {R"("SeatLayoutTemplate":200)", "VideoLandscape4Seats", 4},
      {R"("SeatLayoutTemplate":"Karaoke")", "Karaoke", 8},
      // Gen1: IsSeatEnabled with MaxSeatCount (default 8); otherwise no seats.
      {R"("IsSeatEnabled":true)", "", 8},
      {R"("IsSeatEnabled":true,"MaxSeatCount":3)", "", 3},
      {R"("IsSeatEnabled":false,"MaxSeatCount":3)", "", 0},
      {R"("MaxSeatCount":3)", "", 0},
      {R"("SeatTemplate":"")", "", 0},
      {"", "", 0},
  };
  int i = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.fields);
    const std::string id = "seat-" + std::to_string(i++);
    create_room(id, c.fields);
    json::object info = room_info(id);
    EXPECT_EQ(info.at("SeatTemplate"), c.template_name.c_str());
    EXPECT_EQ(info.at("MaxSeatCount"), c.seats);
    EXPECT_EQ(info.at("IsSeatEnabled"), c.seats > 0);
  }
}

// -1 is the template table's "no SDK id" marker, not an id a client may send.
TEST_F(RouterTest, SeatTemplateMinusOneIsRejected) {
  EXPECT_TRUE(fails_with(
      post(kCreate, R"({"RoomInfo":{"RoomId":"r1","RoomType":"Live","SeatTemplate":-1}})"), 100002,
      {"RoomInfo.SeatTemplate"}));
}

// Both template keys are checked even when SeatTemplate is valid: compatibility.md says "A
// request with any invalid field changes nothing".
TEST_F(RouterTest, InvalidSeatLayoutTemplateBesideAValidSeatTemplateIsRejected) {
  EXPECT_TRUE(
      fails_with(post(kCreate, R"({"RoomInfo":{"RoomId":"r1","RoomType":"Live",)"
                               R"("SeatTemplate":"AudioSalon","SeatLayoutTemplate":"Nope"}})"),
                 100002, {"RoomInfo.SeatLayoutTemplate"}));
  EXPECT_FALSE(room_exists("r1"));
}

// Clients re-send the whole model: an update naming the room's own voice template without
// MaxSeatCount must not reset the count (compatibility.md: "only the keys sent change").
TEST_F(RouterTest, UpdateResendingTheSameVoiceTemplateKeepsTheSeatCount) {
  create_room("r1", R"("SeatTemplate":"Karaoke","MaxSeatCount":12)");
  ASSERT_TRUE(succeeds(post(kUpdate, R"({"RoomInfo":{"RoomId":"r1","SeatTemplate":"Karaoke"}})")));
  EXPECT_EQ(room_info("r1").at("MaxSeatCount"), 12);
}

TEST_F(RouterTest, UpdateIsPartial) {
  create_room("r1", R"("RoomName":"Evening","Notice":"n","Category":[4],"SeatTemplate":"Karaoke",)"
                    R"("MaxSeatCount":12,"CustomInfo":"{}")");
  const json::object before = room_info("r1");
  ASSERT_TRUE(succeeds(post(kUpdate, R"({"RoomInfo":{"RoomId":"r1","CoverURL":"https://c"}})")));
  json::object after = room_info("r1");
  json::object expected = before;
  expected["CoverURL"] = "https://c";
  EXPECT_EQ(after, expected);

  // A voice room takes a new MaxSeatCount alone.
  ASSERT_TRUE(succeeds(post(kUpdate, R"({"RoomInfo":{"RoomId":"r1","MaxSeatCount":6}})")));
  EXPECT_EQ(room_info("r1").at("MaxSeatCount"), 6);

  // "" resets RoomName to the RoomId.
  ASSERT_TRUE(succeeds(post(kUpdate, R"({"RoomInfo":{"RoomId":"r1","RoomName":""}})")));
  EXPECT_EQ(room_info("r1").at("RoomName"), "r1");

  // An update that changes nothing is still a success.
  ASSERT_TRUE(succeeds(post(kUpdate, R"({"RoomInfo":{"RoomId":"r1"}})")));
}

TEST_F(RouterTest, UpdateIgnoresOwnerTypeCreateTimeAndViewCount) {
  import("anchor");
  create_room("r1");
  const json::object before = room_info("r1");
  ASSERT_TRUE(succeeds(post(kUpdate, R"({"RoomInfo":{"RoomId":"r1","Owner_Account":"anchor",)"
                                     R"("RoomType":"Voice","CreateTime":5,"ViewCount":999}})")));
  EXPECT_EQ(room_info("r1"), before);
}

TEST_F(RouterTest, UpdateUnknownRoomIs100004) {
  EXPECT_TRUE(fails_with(post(kUpdate, R"({"RoomInfo":{"RoomId":"nope","Notice":"x"}})"), 100004,
                         {"nope"}));
}

TEST_F(RouterTest, TencentUpdateSampleSucceedsAndReadsBack) {
  create_room("live-room");
  const std::string sample =
      R"({"RoomInfo":{"RoomId":"live-room","RoomName":"rname-123","MaxMemberCount":300,"IsMessageDisabled":false,"CoverURL":"https://xxxx.png","Category":[1,2,3],"ActivityStatus":1,"IsPublicVisible":false,"TakeSeatMode":"ApplyToTake"}})";
  auto r = post(kUpdate, sample);
  ASSERT_TRUE(succeeds(r));
  EXPECT_FALSE(r.contains("Response"));
  json::object info = room_info("live-room");
  EXPECT_EQ(info.at("RoomName"), "rname-123");
  EXPECT_EQ(info.at("MaxMemberCount"), 300);
  EXPECT_EQ(info.at("IsMessageDisabled"), false);
  EXPECT_EQ(info.at("CoverURL"), "https://xxxx.png");
  EXPECT_EQ(info.at("Category"), (json::array{1, 2, 3}));
  EXPECT_EQ(info.at("ActivityStatus"), 1);
  EXPECT_EQ(info.at("IsPublicVisible"), false);
  EXPECT_EQ(info.at("TakeSeatMode"), "ApplyToTake");
  // IsPublicVisible false takes it off the list.
  EXPECT_EQ(post(kList, "{}").at("Response").at("RoomList"), json::array{});
}

TEST_F(RouterTest, DestroyAnswersStatisticAndDeletesMetadata) {
  create_room("r1");
  ASSERT_TRUE(succeeds(post(kSetMeta, R"({"RoomId":"r1","Metadata":[{"Key":"k","Value":"v"}]})")));
  auto r = post(kDestroy, R"({"RoomId":"r1"})");
  ASSERT_TRUE(succeeds(r));
  const json::object expected{{"TotalViewers", 0},       {"TotalGiftsSent", 0},
                              {"TotalGiftCoins", 0},     {"TotalUniqueGiftSenders", 0},
                              {"TotalLikesReceived", 0}, {"TotalMsgCount", 0}};
  EXPECT_EQ(r.at("Response").at("Statistic"), expected);
  EXPECT_TRUE(fails_with(post(kDestroy, R"({"RoomId":"r1"})"), 100004));
  EXPECT_TRUE(fails_with(post(kGetMeta, R"({"RoomId":"r1"})"), 100004));
  // Recreating at once is 100012 (one creation per RoomId per second).
  EXPECT_TRUE(
      fails_with(post(kCreate, R"({"RoomInfo":{"RoomId":"r1","RoomType":"Live"}})"), 100012));
}

TEST_F(RouterTest, RoomStatsUnderBothNames) {
  create_room("r1");
  for (std::string_view cmd :
       {kStats, std::string_view("live_engine_http_srv/get_room_statistic")}) {
    auto r = post(cmd, R"({"RoomId":"r1"})");
    ASSERT_TRUE(succeeds(r));
    EXPECT_EQ(r.at("Response").at("TotalViewers"), 0);
    EXPECT_TRUE(r.at("Response").as_object().contains("TotalMsgCount"));
  }
}

// =============================================================================================
// get_room_list
// =============================================================================================

TEST_F(RouterTest, ListFieldRules) {
  EXPECT_TRUE(fails_with(post(kList, R"({"Next":5})"), 100002, {"Next"}));
  EXPECT_TRUE(fails_with(post(kList, R"({"Next":)" + q(repeat(257, "1")) + "}"), 100002, {"Next"}));
  EXPECT_TRUE(fails_with(post(kList, R"({"Next":"garbage"})"), 100002, {"Next"}));
  EXPECT_TRUE(fails_with(post(kList, R"({"Next":"5-zz"})"), 100002, {"Next"}));
  for (std::string count : {"0", "-1", "\"5\"", "1.5", "true"}) {
    EXPECT_TRUE(fails_with(post(kList, R"({"Count":)" + count + "}"), 100002, {"Count"})) << count;
  }
  // The Manager's first call and SortDirection are accepted.
  EXPECT_TRUE(succeeds(post(kList, R"({"Next":"0","Count":20,"SortDirection":"desc"})")));
  EXPECT_TRUE(succeeds(post(kList, R"({"Next":"","Count":1})")));
  EXPECT_TRUE(succeeds(post(kList, R"({"Count":9223372036854775807})")));
}

TEST_F(RouterTest, ListPagesAndCountCap) {
  for (int i = 0; i < 25; ++i) {
    char id[8];
    std::snprintf(id, sizeof(id), "r%02d", i);
    create_room(id);
  }
  create_room("hidden", R"("IsPublicVisible":false)");

  auto first = post(kList, "{}");  // Count defaults to 20
  ASSERT_TRUE(succeeds(first));
  const auto& page = first.at("Response").as_object();
  ASSERT_EQ(page.at("RoomList").as_array().size(), 20u);
  EXPECT_EQ(page.at("RoomList").at(0).at("RoomId"), "r00");
  EXPECT_EQ(page.at("RoomList").at(0).as_object(), (json::object{{"RoomId", "r00"},
                                                                 {"RoomName", "r00"},
                                                                 {"Owner_Account", "administrator"},
                                                                 {"CoverURL", ""},
                                                                 {"Category", json::array{}},
                                                                 {"CreateTime", kNow},
                                                                 {"ActivityStatus", 0},
                                                                 {"ViewCount", 0}}));
  const std::string next(page.at("Next").as_string());
  ASSERT_FALSE(next.empty());

  auto capped = post(kList, R"({"Count":50})");  // the SDK allows 50; served as 20
  EXPECT_EQ(capped.at("Response").at("RoomList").as_array().size(), 20u);

  auto rest = post(kList, R"({"Next":)" + q(next) + R"(,"Count":20})");
  ASSERT_TRUE(succeeds(rest));
  const auto& list = rest.at("Response").at("RoomList").as_array();
  ASSERT_EQ(list.size(), 5u);
  EXPECT_EQ(list[0].at("RoomId"), "r20");
  EXPECT_EQ(list[4].at("RoomId"), "r24");
  EXPECT_EQ(rest.at("Response").at("Next"), "");
}

// =============================================================================================
// Metadata
// =============================================================================================

std::string metadata_body(std::string_view room,
                          const std::vector<std::pair<std::string, std::string>>& kv) {
  std::string body = R"({"RoomId":)" + q(room) + R"(,"Metadata":[)";
  for (size_t i = 0; i < kv.size(); ++i) {
    if (i) body += ",";
    body += R"({"Key":)" + q(kv[i].first) + R"(,"Value":)" + q(kv[i].second) + "}";
  }
  return body + "]}";
}

std::vector<std::pair<std::string, std::string>> numbered(int n, size_t value_bytes = 1) {
  std::vector<std::pair<std::string, std::string>> kv;
  for (int i = 0; i < n; ++i) kv.emplace_back("k" + std::to_string(i), repeat(value_bytes, "v"));
  return kv;
}

TEST_F(RouterTest, MetadataSetFieldRules) {
  create_room("r1");
  const std::vector<BadField> bad = {
      {R"({"RoomId":"r1"})", 100002, "Metadata"},
      {R"({"RoomId":"r1","Metadata":{}})", 100002, "Metadata"},
      {R"({"RoomId":"r1","Metadata":"k=v"})", 100002, "Metadata"},
      {R"({"RoomId":"r1","Metadata":[1]})", 100002, "Metadata"},
      {R"({"RoomId":"r1","Metadata":[{"Value":"v"}]})", 100002, "Metadata[0].Key"},
      {R"({"RoomId":"r1","Metadata":[{"Key":"k"}]})", 100002, "Metadata[0].Value"},
      {R"({"RoomId":"r1","Metadata":[{"Key":1,"Value":"v"}]})", 100002, "Metadata[0].Key"},
      {R"({"RoomId":"r1","Metadata":[{"Key":"k","Value":1}]})", 100002, "Metadata[0].Value"},
      {R"({"RoomId":"r1","Metadata":[{"Key":"a","Value":"1"},{"Key":"b","Value":{}}]})", 100002,
       "Metadata[1].Value"},
      {metadata_body("r1", {{"", "v"}}), 100002, "Key"},
      {metadata_body("r1", {{repeat(51, "k"), "v"}}), 100002, "Key"},
      {metadata_body("r1", {{"k", repeat(2049, "v")}}), 100002, "Value"},
      {metadata_body("r1", numbered(11)), 100002, "Metadata"},
      {metadata_body("r1", numbered(9, 2048)), 100002, "16384"},
      {metadata_body("r1", numbered(101)), 100002, "Metadata"},
  };
  for (const BadField& c : bad) {
    SCOPED_TRACE(c.json.substr(0, 100));
    EXPECT_TRUE(fails_with(post(kSetMeta, c.json), c.code, {c.names}));
  }
  // None of the failed calls stored anything.
  EXPECT_EQ(post(kGetMeta, R"({"RoomId":"r1","Keys":[]})").at("Response").at("Metadata"),
            json::array{});
  EXPECT_TRUE(fails_with(post(kSetMeta, metadata_body("nope", {{"k", "v"}})), 100004));
}

TEST_F(RouterTest, MetadataLimitsAtTheBoundary) {
  create_room("r1");
  // 8 values of 2048 bytes = 16384 in total, with a 50-byte key: all exactly at the limit.
  auto kv = numbered(7, 2048);
  kv.emplace_back(repeat(50, "k"), repeat(2048, "v"));
  ASSERT_TRUE(succeeds(post(kSetMeta, metadata_body("r1", kv))));
  // One more byte anywhere is over, and changes nothing.
  EXPECT_TRUE(fails_with(post(kSetMeta, metadata_body("r1", {{"extra", "x"}})), 100002));
  // Two more keys with empty values reach 10 keys.
  ASSERT_TRUE(succeeds(post(kSetMeta, metadata_body("r1", {{"e1", ""}, {"e2", ""}}))));
  EXPECT_TRUE(fails_with(post(kSetMeta, metadata_body("r1", {{"e3", ""}})), 100002, {"10"}));
  auto all = post(kGetMeta, R"({"RoomId":"r1"})").at("Response").at("Metadata").as_array();
  EXPECT_EQ(all.size(), 10u);
}

TEST_F(RouterTest, MetadataUpsertOrderAndKeys) {
  create_room("r1");
  ASSERT_TRUE(succeeds(post(kSetMeta, metadata_body("r1", {{"b", "1"}, {"a", "2"}, {"c", "3"}}))));
  // Upsert in place; the last of duplicate keys wins; an empty Metadata array is a no-op.
  ASSERT_TRUE(succeeds(post(kSetMeta, metadata_body("r1", {{"a", "x"}, {"a", "y"}, {"d", "4"}}))));
  ASSERT_TRUE(succeeds(post(kSetMeta, R"({"RoomId":"r1","Metadata":[]})")));
  const json::array all{
      json::object{{"Key", "b"}, {"Value", "1"}}, json::object{{"Key", "a"}, {"Value", "y"}},
      json::object{{"Key", "c"}, {"Value", "3"}}, json::object{{"Key", "d"}, {"Value", "4"}}};
  EXPECT_EQ(post(kGetMeta, R"({"RoomId":"r1","Keys":[]})").at("Response").at("Metadata"), all);
  EXPECT_EQ(post(kGetMeta, R"({"RoomId":"r1"})").at("Response").at("Metadata"), all);
  // Selected keys come back in insertion order; unknown keys are left out.
  EXPECT_EQ(
      post(kGetMeta, R"({"RoomId":"r1","Keys":["c","nope","b"]})").at("Response").at("Metadata"),
      (json::array{json::object{{"Key", "b"}, {"Value", "1"}},
                   json::object{{"Key", "c"}, {"Value", "3"}}}));

  // Deleting ignores keys that are not there.
  ASSERT_TRUE(succeeds(post(kDelMeta, R"({"RoomId":"r1","Keys":["a","nope"]})")));
  ASSERT_TRUE(succeeds(post(kDelMeta, R"({"RoomId":"r1","Keys":[]})")));
  EXPECT_EQ(post(kGetMeta, R"({"RoomId":"r1"})").at("Response").at("Metadata").as_array().size(),
            3u);
}

TEST_F(RouterTest, MetadataGetAndDelFieldRules) {
  create_room("r1");
  for (std::string_view cmd : {kGetMeta, kDelMeta}) {
    EXPECT_TRUE(fails_with(post(cmd, R"({"RoomId":"r1","Keys":"k"})"), 100002, {"Keys"})) << cmd;
    EXPECT_TRUE(fails_with(post(cmd, R"({"RoomId":"r1","Keys":[1]})"), 100002, {"Keys"})) << cmd;
    EXPECT_TRUE(fails_with(post(cmd, R"({"RoomId":"nope","Keys":[]})"), 100004)) << cmd;
  }
  EXPECT_TRUE(fails_with(post(kDelMeta, R"({"RoomId":"r1"})"), 100002, {"Keys", "required"}));
}

// =============================================================================================
// Accounts
// =============================================================================================

TEST_F(RouterTest, AccountImportFieldRules) {
  const std::vector<BadField> bad = {
      {R"({})", 100002, "UserID"},
      {R"({"UserID":""})", 100002, "UserID"},
      {R"({"UserID":)" + q(repeat(33, "u")) + "}", 100002, "UserID"},
      {R"({"UserID":5})", 60015, "UserID"},
      {R"({"UserID":["u"]})", 60015, "UserID"},
      {R"({"Identifier":5})", 60015, "Identifier"},
      {R"({"UserID":"u1","Nick":)" + q(repeat(501)) + "}", 100002, "Nick"},
      {R"({"UserID":"u1","Nick":5})", 100002, "Nick"},
      {R"({"UserID":"u1","FaceUrl":)" + q(repeat(501)) + "}", 100002, "FaceUrl"},
  };
  for (const BadField& c : bad) {
    SCOPED_TRACE(c.json.substr(0, 80));
    EXPECT_TRUE(fails_with(post(kImport, c.json), c.code, {c.names}));
  }
  auto check = post(kCheck, R"({"CheckItem":[{"UserID":"u1"}]})");
  EXPECT_EQ(check.at("ResultItem").at(0).at("AccountStatus"), "NotImported");
}

TEST_F(RouterTest, AccountImportAcceptsBothNamesAndImportingTwice) {
  const std::string id32 = repeat(32, "u");
  auto r = post(kImport, R"({"UserID":)" + q(id32) + R"(,"Nick":)" + q(repeat(500)) +
                             R"(,"FaceUrl":"https://f.png"})");
  ASSERT_TRUE(succeeds(r));
  EXPECT_FALSE(r.contains("Response"));
  ASSERT_TRUE(succeeds(post(kImport, R"({"UserID":)" + q(id32) + "}")));  // twice: success
  ASSERT_TRUE(succeeds(post(kImport, R"({"Identifier":"legacy"})")));

  auto check =
      post(kCheck, R"({"CheckItem":[{"UserID":)" + q(id32) +
                       R"(},{"UserID":"legacy"},{"UserID":"administrator"},{"UserID":"nobody"}]})");
  ASSERT_TRUE(succeeds(check));
  const auto& items = check.at("ResultItem").as_array();
  ASSERT_EQ(items.size(), 4u);
  EXPECT_EQ(
      items[0].as_object(),
      (json::object{
          {"UserID", id32}, {"ResultCode", 0}, {"ResultInfo", ""}, {"AccountStatus", "Imported"}}));
  EXPECT_EQ(items[1].at("AccountStatus"), "Imported");
  EXPECT_EQ(items[2].at("AccountStatus"), "Imported");  // admins always exist
  EXPECT_EQ(items[3].at("AccountStatus"), "NotImported");

  // Nick and FaceUrl became the standard profile tags (kept across the second import).
  auto profile =
      post(kPortraitGet, R"({"To_Account":[)" + q(id32) +
                             R"(],"TagList":["Tag_Profile_IM_Nick","Tag_Profile_IM_Image"]})");
  ASSERT_TRUE(succeeds(profile));
  const auto& tags = profile.at("UserProfileItem").at(0).at("ProfileItem").as_array();
  ASSERT_EQ(tags.size(), 2u);
  EXPECT_EQ(tags[0].at("Value"), repeat(500).c_str());
  EXPECT_EQ(tags[1].at("Value"), "https://f.png");
}

TEST_F(RouterTest, MultiAccountImport) {
  EXPECT_TRUE(fails_with(post(kMultiImport, "{}"), 100002, {"Accounts", "required"}));
  EXPECT_TRUE(fails_with(post(kMultiImport, R"({"Accounts":"u1"})"), 100002, {"Accounts"}));
  EXPECT_TRUE(fails_with(post(kMultiImport, R"({"Accounts":["u1",2]})"), 60015, {"Accounts[1]"}));
  std::string many = R"({"Accounts":[)";
  for (int i = 0; i < 101; ++i) many += (i ? ",\"m" : "\"m") + std::to_string(i) + "\"";
  EXPECT_TRUE(fails_with(post(kMultiImport, many + "]}"), 100002, {"Accounts"}));
  // Nothing of the refused calls was imported.
  EXPECT_EQ(
      post(kCheck, R"({"CheckItem":[{"UserID":"u1"}]})").at("ResultItem").at(0).at("AccountStatus"),
      "NotImported");

  const std::string id33 = repeat(33, "x");
  auto r = post(kMultiImport, R"({"Accounts":["u1","u2",)" + q(id33) + R"(,""]})");
  ASSERT_TRUE(succeeds(r));
  EXPECT_FALSE(r.contains("Response"));
  EXPECT_EQ(r.at("FailAccounts"), (json::array{json::string(id33), ""}));

  std::string hundred = R"({"Accounts":[)";
  for (int i = 0; i < 100; ++i) hundred += (i ? ",\"m" : "\"m") + std::to_string(i) + "\"";
  EXPECT_TRUE(succeeds(post(kMultiImport, hundred + "]}")));
}

TEST_F(RouterTest, AccountDelete) {
  EXPECT_TRUE(fails_with(post(kDeleteAccounts, "{}"), 100002, {"DeleteItem", "required"}));
  EXPECT_TRUE(
      fails_with(post(kDeleteAccounts, R"({"DeleteItem":["u1"]})"), 100002, {"DeleteItem"}));
  EXPECT_TRUE(fails_with(post(kDeleteAccounts, R"({"DeleteItem":[{}]})"), 100002,
                         {"DeleteItem[0].UserID"}));
  EXPECT_TRUE(fails_with(post(kDeleteAccounts, R"({"DeleteItem":[{"UserID":1}]})"), 60015,
                         {"DeleteItem[0].UserID"}));
  import("u1");
  auto r =
      post(kDeleteAccounts,
           R"({"DeleteItem":[{"UserID":"u1"},{"UserID":"administrator"},{"UserID":"never"}]})");
  ASSERT_TRUE(succeeds(r));
  const auto& items = r.at("ResultItem").as_array();
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[0].as_object(),
            (json::object{{"ResultCode", 0}, {"ResultInfo", ""}, {"UserID", "u1"}}));
  EXPECT_EQ(items[1].at("ResultCode"), 100006);
  EXPECT_EQ(items[2].at("ResultCode"), 70107);
  EXPECT_EQ(post(kCheck, R"({"CheckItem":[{"UserID":"u1"},{"UserID":"administrator"}]})")
                .at("ResultItem"),
            (json::array{json::object{{"UserID", "u1"},
                                      {"ResultCode", 0},
                                      {"ResultInfo", ""},
                                      {"AccountStatus", "NotImported"}},
                         json::object{{"UserID", "administrator"},
                                      {"ResultCode", 0},
                                      {"ResultInfo", ""},
                                      {"AccountStatus", "Imported"}}}));
}

TEST_F(RouterTest, AccountCheckFieldRules) {
  EXPECT_TRUE(fails_with(post(kCheck, "{}"), 100002, {"CheckItem"}));
  EXPECT_TRUE(
      fails_with(post(kCheck, R"({"CheckItem":[{"UserID":7}]})"), 60015, {"CheckItem[0].UserID"}));
  std::string many = R"({"CheckItem":[)";
  for (int i = 0; i < 101; ++i) many += std::string(i ? "," : "") + R"({"UserID":"u"})";
  EXPECT_TRUE(fails_with(post(kCheck, many + "]}"), 100002, {"CheckItem"}));
}

// =============================================================================================
// Profiles
// =============================================================================================

std::string portrait_set_body(std::string_view from, std::string_view items) {
  return R"({"From_Account":)" + q(from) + R"(,"ProfileItem":[)" + std::string(items) + "]}";
}

TEST_F(RouterTest, PortraitSetFieldRules) {
  import("u1");
  const std::string ok_item = R"({"Tag":"Tag_Profile_IM_Nick","Value":"fine"})";
  const std::vector<BadField> bad = {
      {R"({"ProfileItem":[)" + ok_item + "]}", 100002, "From_Account"},
      {R"({"From_Account":5,"ProfileItem":[)" + ok_item + "]}", 60015, "From_Account"},
      {R"({"From_Account":"u1"})", 100002, "ProfileItem"},
      {R"({"From_Account":"u1","ProfileItem":[]})", 100002, "ProfileItem"},
      {R"({"From_Account":"u1","ProfileItem":{}})", 100002, "ProfileItem"},
      {portrait_set_body("u1", R"("x")"), 100002, "ProfileItem"},
      {portrait_set_body("u1", R"({"Value":"x"})"), 100002, "ProfileItem[0].Tag"},
      {portrait_set_body("u1", R"({"Tag":5,"Value":"x"})"), 100002, "ProfileItem[0].Tag"},
      {portrait_set_body("u1", R"({"Tag":"Tag_Profile_IM_Unknown","Value":"x"})"), 100002,
       "ProfileItem[0].Tag"},
      {portrait_set_body("u1", R"({"Tag":"Tag_Profile_Custom_","Value":"x"})"), 100002,
       "ProfileItem[0].Tag"},
      {portrait_set_body("u1", R"({"Tag":"Tag_Profile_IM_Nick"})"), 100002, "ProfileItem[0].Value"},
      {portrait_set_body("u1", R"({"Tag":"Tag_Profile_IM_Nick","Value":5})"), 100002,
       "ProfileItem[0].Value"},
      {portrait_set_body("u1", R"({"Tag":"Tag_Profile_IM_Nick","Value":)" + q(repeat(501)) + "}"),
       100002, "ProfileItem[0].Value"},
      {portrait_set_body("u1", R"({"Tag":"Tag_Profile_Custom_x","Value":)" + q(repeat(501)) + "}"),
       100002, "ProfileItem[0].Value"},
      {portrait_set_body("u1", R"({"Tag":"Tag_Profile_IM_Role","Value":"1"})"), 100002,
       "ProfileItem[0].Value"},
      {portrait_set_body("u1", R"({"Tag":"Tag_Profile_IM_Role"})"), 100002, "ProfileItem[0].Value"},
      {portrait_set_body("u1", R"({"Tag":"Tag_Profile_IM_Level","Value":-1})"), 100002,
       "ProfileItem[0].Value"},
      {portrait_set_body("u1", R"({"Tag":"Tag_Profile_IM_Level","Value":4294967296})"), 100002,
       "ProfileItem[0].Value"},
      {portrait_set_body("u1", R"({"Tag":"Tag_Profile_IM_BirthDay","Value":1.5})"), 100002,
       "ProfileItem[0].Value"},
      {portrait_set_body("u1", R"({"Tag":"Tag_Profile_IM_Gender","Value":"male"})"), 100002,
       "ProfileItem[0].Value"},
      {portrait_set_body("u1", R"({"Tag":"Tag_Profile_IM_AllowType","Value":"AllowAny"})"), 100002,
       "ProfileItem[0].Value"},
      // One bad item among good ones: ErrorInfo names its index.
      {portrait_set_body("u1", ok_item + R"(,{"Tag":"Tag_Profile_IM_Role","Value":"x"})"), 100002,
       "ProfileItem[1].Value"},
  };
  for (const BadField& c : bad) {
    SCOPED_TRACE(c.json.substr(0, 100));
    EXPECT_TRUE(fails_with(post(kPortraitSet, c.json), c.code, {c.names}));
  }
  std::string many;
  for (int i = 0; i < 101; ++i) many += std::string(i ? "," : "") + ok_item;
  EXPECT_TRUE(
      fails_with(post(kPortraitSet, portrait_set_body("u1", many)), 100002, {"ProfileItem"}));

  // No failed call changed the profile.
  auto got = post(kPortraitGet, R"({"To_Account":["u1"],"TagList":["Tag_Profile_IM_Nick"]})");
  EXPECT_EQ(got.at("UserProfileItem").at(0).at("ProfileItem").at(0).at("Value"), "");
}

TEST_F(RouterTest, PortraitSetTypesEachTagAndRoundTrips) {
  import("u1");
  const std::string items =
      R"({"Tag":"Tag_Profile_IM_Nick","Value":)" + q(repeat(500, "n")) +
      R"(},{"Tag":"Tag_Profile_IM_Gender","Value":"Gender_Type_Female"},)"
      R"({"Tag":"Tag_Profile_IM_AllowType","Value":"AllowType_Type_DenyAny"},)"
      R"({"Tag":"Tag_Profile_IM_Role","Value":1},)"
      R"({"Tag":"Tag_Profile_IM_Level","Value":4294967295},)"
      R"({"Tag":"Tag_Profile_IM_Language","Value":0},)"
      R"({"Tag":"Tag_Profile_Custom_Team","Value":"red"})";
  auto r = post(kPortraitSet, portrait_set_body("u1", items));
  ASSERT_TRUE(succeeds(r));
  EXPECT_FALSE(r.contains("Response"));

  auto got =
      post(kPortraitGet,
           R"({"To_Account":["u1"],"TagList":["Tag_Profile_IM_Nick","Tag_Profile_IM_Gender",)"
           R"("Tag_Profile_IM_AllowType","Tag_Profile_IM_Role","Tag_Profile_IM_Level",)"
           R"("Tag_Profile_IM_Language","Tag_Profile_Custom_Team"]})");
  ASSERT_TRUE(succeeds(got));
  const auto& values = got.at("UserProfileItem").at(0).at("ProfileItem").as_array();
  ASSERT_EQ(values.size(), 7u);
  EXPECT_EQ(values[0].at("Value").as_string().size(), 500u);
  EXPECT_EQ(values[1].at("Value"), "Gender_Type_Female");
  EXPECT_EQ(values[2].at("Value"), "AllowType_Type_DenyAny");
  EXPECT_EQ(values[3].at("Value"), 1);
  EXPECT_EQ(values[4].at("Value"), 4294967295);
  EXPECT_EQ(values[5].at("Value"), 0);
  EXPECT_EQ(values[6].at("Value"), "red");
}

TEST_F(RouterTest, PortraitSetAccountMustExist) {
  EXPECT_TRUE(
      fails_with(post(kPortraitSet,
                      portrait_set_body("nobody", R"({"Tag":"Tag_Profile_IM_Nick","Value":"x"})")),
                 70107, {"nobody"}));
  // Admins always exist; auto-import apps create the account.
  EXPECT_TRUE(succeeds(
      post(kPortraitSet,
           portrait_set_body("administrator", R"({"Tag":"Tag_Profile_IM_Role","Value":1})"))));
  EXPECT_TRUE(succeeds(
      post(kPortraitSet,
           portrait_set_body("nobody", R"({"Tag":"Tag_Profile_IM_Nick","Value":"x"})"), kAutoApp)));
  EXPECT_EQ(post(kCheck, R"({"CheckItem":[{"UserID":"nobody"}]})", kAutoApp)
                .at("ResultItem")
                .at(0)
                .at("AccountStatus"),
            "Imported");
}

// Auto-import creates accounts on the spot, but only ones an import call could create
// (compatibility.md: "on the spot (≤ 32 bytes)").
TEST_F(RouterTest, PortraitSetAutoImportKeepsTheUserIdRules) {
  const std::string item = R"({"Tag":"Tag_Profile_IM_Nick","Value":"x"})";
  EXPECT_TRUE(fails_with(post(kPortraitSet, portrait_set_body(repeat(33, "u"), item), kAutoApp),
                         100002, {"From_Account"}));
  EXPECT_TRUE(fails_with(post(kPortraitSet, portrait_set_body("", item), kAutoApp), 100002,
                         {"From_Account"}));
  EXPECT_EQ(post(kCheck, R"({"CheckItem":[{"UserID":)" + q(repeat(33, "u")) + "}]}", kAutoApp)
                .at("ResultItem")
                .at(0)
                .at("AccountStatus"),
            "NotImported");
}

TEST_F(RouterTest, PortraitGetFieldRules) {
  const std::vector<BadField> bad = {
      {R"({"TagList":["Tag_Profile_IM_Nick"]})", 100002, "To_Account"},
      {R"({"To_Account":[],"TagList":["Tag_Profile_IM_Nick"]})", 100002, "To_Account"},
      {R"({"To_Account":"u1","TagList":["Tag_Profile_IM_Nick"]})", 100002, "To_Account"},
      {R"({"To_Account":["u1",5],"TagList":["Tag_Profile_IM_Nick"]})", 60015, "To_Account[1]"},
      {R"({"To_Account":["u1"]})", 100002, "TagList"},
      {R"({"To_Account":["u1"],"TagList":[]})", 100002, "TagList"},
      {R"({"To_Account":["u1"],"TagList":[5]})", 100002, "TagList"},
      {R"({"To_Account":["u1"],"TagList":["Tag_Profile_IM_Nick","Nick"]})", 100002, "TagList"},
  };
  for (const BadField& c : bad) {
    SCOPED_TRACE(c.json);
    EXPECT_TRUE(fails_with(post(kPortraitGet, c.json), c.code, {c.names}));
  }
  std::string to101 = R"({"TagList":["Tag_Profile_IM_Nick"],"To_Account":[)";
  for (int i = 0; i < 101; ++i) to101 += std::string(i ? "," : "") + "\"u\"";
  EXPECT_TRUE(fails_with(post(kPortraitGet, to101 + "]}"), 100002, {"To_Account"}));
  std::string to100 = R"({"TagList":["Tag_Profile_IM_Nick"],"To_Account":[)";
  for (int i = 0; i < 100; ++i) to100 += std::string(i ? "," : "") + "\"u\"";
  EXPECT_TRUE(succeeds(post(kPortraitGet, to100 + "]}")));
}

TEST_F(RouterTest, PortraitGetDefaultsAndUnknownAccounts) {
  import("u1");
  auto r = post(kPortraitGet,
                R"({"To_Account":["u1","ghost","administrator"],"TagList":["Tag_Profile_IM_Nick",)"
                R"("Tag_Profile_IM_Role","Tag_Profile_IM_Level","Tag_Profile_IM_BirthDay",)"
                R"("Tag_Profile_IM_Language","Tag_Profile_IM_MsgSettings","Tag_Profile_IM_Gender",)"
                R"("Tag_Profile_Custom_x"]})");
  ASSERT_TRUE(succeeds(r));
  EXPECT_FALSE(r.contains("Response"));
  const auto& items = r.at("UserProfileItem").as_array();
  ASSERT_EQ(items.size(), 3u);
  const json::array empty_profile{
      json::object{{"Tag", "Tag_Profile_IM_Nick"}, {"Value", ""}},
      json::object{{"Tag", "Tag_Profile_IM_Role"}, {"Value", 0}},
      json::object{{"Tag", "Tag_Profile_IM_Level"}, {"Value", 0}},
      json::object{{"Tag", "Tag_Profile_IM_BirthDay"}, {"Value", 0}},
      json::object{{"Tag", "Tag_Profile_IM_Language"}, {"Value", 0}},
      json::object{{"Tag", "Tag_Profile_IM_MsgSettings"}, {"Value", 0}},
      json::object{{"Tag", "Tag_Profile_IM_Gender"}, {"Value", ""}},
      json::object{{"Tag", "Tag_Profile_Custom_x"}, {"Value", ""}},
  };
  EXPECT_EQ(items[0].at("To_Account"), "u1");
  EXPECT_EQ(items[0].at("ResultCode"), 0);
  EXPECT_EQ(items[0].at("ProfileItem"), empty_profile);
  EXPECT_EQ(items[1].at("To_Account"), "ghost");
  EXPECT_EQ(items[1].at("ResultCode"), 70107);
  EXPECT_EQ(items[1].at("ProfileItem"), json::array{});
  EXPECT_EQ(items[2].at("ResultCode"), 0);  // admins always exist
  EXPECT_EQ(items[2].at("ProfileItem"), empty_profile);
}

}  // namespace
}  // namespace liveroom::api
