// The config is the operator's first contact with liveroomd: these tests pin that every key is
// read, that every default holds, and that each mistake is refused with a message naming the
// key path and the rule rather than being ignored.
#include "config/config.h"

#include <gtest/gtest.h>

#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

namespace liveroom::config {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kApp = R"(
[[apps]]
sdkappid = 1400000001
secret_key = "k"
admins = ["administrator"]
)";

std::string with_app(std::string_view before, std::string_view after = {}) {
  return std::string(before) + "\n" + std::string(kApp) + std::string(after);
}

// Parses `text` expecting a ConfigError whose message contains every one of `parts`.
testing::AssertionResult fails_with(const std::string& text,
                                    std::initializer_list<std::string_view> parts) {
  try {
    parse_config(text, "test.toml");
  } catch (const ConfigError& e) {
    std::string msg = e.what();
    for (std::string_view part : parts) {
      if (msg.find(part) == std::string::npos) {
        return testing::AssertionFailure() << "message \"" << msg << "\" lacks \"" << part << "\"";
      }
    }
    return testing::AssertionSuccess() << msg;
  }
  return testing::AssertionFailure() << "no ConfigError for:\n" << text;
}

// A fresh folder per test for the files that [tls] must find.
class ConfigFiles : public testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        fs::temp_directory_path() / ("liveroom_config_test_" + std::to_string(::getpid()) + "_" +
                                     testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::permissions(dir_ / "unreadable.pem", fs::perms::owner_all, ec);
    fs::remove_all(dir_, ec);
  }
  std::string write(const std::string& name, std::string_view content) {
    fs::path p = dir_ / name;
    std::ofstream(p) << content;
    return p.string();
  }
  fs::path dir_;
};

TEST(Config, MinimalConfigTakesEveryDefault) {
  Config cfg = parse_config(kApp);
  const Config defaults;
  EXPECT_EQ(cfg.listen, "127.0.0.1:8080");
  EXPECT_EQ(cfg.data_dir, "./data");
  EXPECT_FALSE(cfg.tls.has_value());
  EXPECT_EQ(cfg.http.io_threads, 0u);
  EXPECT_EQ(cfg.http.max_header_bytes, 8192u);
  EXPECT_EQ(cfg.http.max_body_bytes, 1048576u);
  EXPECT_EQ(cfg.http.read_timeout_ms, 10000u);
  EXPECT_EQ(cfg.http.idle_timeout_ms, 60000u);
  EXPECT_EQ(cfg.http.max_connections, 50000u);
  EXPECT_EQ(cfg.listen, defaults.listen);
  EXPECT_EQ(cfg.data_dir, defaults.data_dir);
  ASSERT_EQ(cfg.apps.size(), 1u);
  const AppConfig& app = cfg.apps[0];
  EXPECT_EQ(app.sdkappid, 1400000001u);
  EXPECT_EQ(app.secret_key, "k");
  EXPECT_EQ(app.admins, std::vector<std::string>{"administrator"});
  EXPECT_FALSE(app.auto_import_accounts);
  EXPECT_FALSE(app.rate_limits.default_per_second.has_value());
  EXPECT_TRUE(app.rate_limits.per_command.empty());
}

TEST(Config, EmptyTablesKeepDefaults) {
  Config cfg = parse_config(with_app("[http]", "[apps.rate_limits]\n"));
  EXPECT_EQ(cfg.http.max_body_bytes, HttpConfig{}.max_body_bytes);
  EXPECT_FALSE(cfg.apps[0].rate_limits.default_per_second.has_value());
  EXPECT_TRUE(cfg.apps[0].rate_limits.per_command.empty());
}

TEST_F(ConfigFiles, EveryKeyIsRead) {
  std::string cert = write("cert.pem", "cert");
  std::string key = write("key.pem", "key");
  std::string text = R"(
listen = "0.0.0.0:9443"
data_dir = "/var/lib/liveroom"

[tls]
cert_file = ")" + cert +
                     R"("
key_file = ")" + key +
                     R"("

[http]
io_threads = 4
max_header_bytes = 16384
max_body_bytes = 2097152
read_timeout_ms = 5000
idle_timeout_ms = 30000
max_connections = 500

[[apps]]
sdkappid = 1400000001
secret_key = "first"
admins = ["administrator", "ops"]
auto_import_accounts = true

[apps.rate_limits]
default = 300
get_room_list = 0
create_room = 1000000

[[apps]]
sdkappid = 4294967295
secret_key = "second"
admins = ["root"]
)";
  Config cfg = parse_config(text);
  EXPECT_EQ(cfg.listen, "0.0.0.0:9443");
  EXPECT_EQ(cfg.data_dir, "/var/lib/liveroom");
  ASSERT_TRUE(cfg.tls.has_value());
  EXPECT_EQ(cfg.tls->cert_file, cert);
  EXPECT_EQ(cfg.tls->key_file, key);
  EXPECT_EQ(cfg.http.io_threads, 4u);
  EXPECT_EQ(cfg.http.max_header_bytes, 16384u);
  EXPECT_EQ(cfg.http.max_body_bytes, 2097152u);
  EXPECT_EQ(cfg.http.read_timeout_ms, 5000u);
  EXPECT_EQ(cfg.http.idle_timeout_ms, 30000u);
  EXPECT_EQ(cfg.http.max_connections, 500u);
  ASSERT_EQ(cfg.apps.size(), 2u);
  EXPECT_EQ(cfg.apps[0].sdkappid, 1400000001u);
  EXPECT_EQ(cfg.apps[0].secret_key, "first");
  EXPECT_EQ(cfg.apps[0].admins, (std::vector<std::string>{"administrator", "ops"}));
  EXPECT_TRUE(cfg.apps[0].auto_import_accounts);
  EXPECT_EQ(cfg.apps[0].rate_limits.default_per_second, 300u);
  EXPECT_EQ(cfg.apps[0].rate_limits.per_command,
            (std::map<std::string, uint32_t>{{"create_room", 1000000}, {"get_room_list", 0}}));
  EXPECT_EQ(cfg.apps[1].sdkappid, 4294967295u);
  EXPECT_EQ(cfg.apps[1].secret_key, "second");
  EXPECT_EQ(cfg.apps[1].admins, std::vector<std::string>{"root"});
  EXPECT_FALSE(cfg.apps[1].auto_import_accounts);
  EXPECT_TRUE(cfg.apps[1].rate_limits.per_command.empty());
}

TEST(Config, HttpRangeBoundsAreAccepted) {
  Config low = parse_config(with_app(R"([http]
io_threads = 0
max_header_bytes = 1024
max_body_bytes = 1024
read_timeout_ms = 100
idle_timeout_ms = 100
max_connections = 1)"));
  EXPECT_EQ(low.http.io_threads, 0u);
  EXPECT_EQ(low.http.max_connections, 1u);
  Config high = parse_config(with_app(R"([http]
io_threads = 64
max_header_bytes = 1048576
max_body_bytes = 67108864
read_timeout_ms = 3600000
idle_timeout_ms = 3600000
max_connections = 1000000)"));
  EXPECT_EQ(high.http.io_threads, 64u);
  EXPECT_EQ(high.http.max_body_bytes, 67108864u);
  EXPECT_EQ(high.http.idle_timeout_ms, 3600000u);
}

TEST(Config, ListenForms) {
  for (std::string listen : {"127.0.0.1:8080", "localhost:1", "0.0.0.0:0", "example.com:65535",
                             "[::1]:8080", "[::]:443", "[::ffff:127.0.0.1]:80"}) {
    EXPECT_EQ(parse_config(with_app("listen = \"" + listen + "\"")).listen, listen);
  }
}

TEST(Config, BadListen) {
  for (std::string listen : {"", "localhost", ":8080", "host:", "host:65536", "host:99999",
                             "host:http", "host:-1", "host:+80", "::1:8080", "[::1]8080", "[]:80",
                             "[::1]:", "[host]:80", "ho st:80", "host:80 "}) {
    EXPECT_TRUE(fails_with(with_app("listen = \"" + listen + "\""),
                           {"test.toml: listen must be a string \"HOST:PORT\"", "0 and 65535"}))
        << listen;
  }
  EXPECT_TRUE(fails_with(with_app("listen = 8080"), {"test.toml: listen must be a string"}));
}

TEST(Config, DataDir) {
  EXPECT_TRUE(fails_with(with_app("data_dir = \"\""), {"data_dir must be a non-empty string"}));
  EXPECT_TRUE(fails_with(with_app("data_dir = 1"), {"data_dir must be a non-empty string"}));
}

TEST(Config, UnknownKeyAtEveryLevel) {
  EXPECT_TRUE(fails_with(with_app("lisen = \"127.0.0.1:1\""),
                         {"test.toml: lisen is not a known key", "listen", "(line 1)"}));
  EXPECT_TRUE(fails_with(with_app("[tls]\ncert_file = \"a\"\nkey_file = \"b\"\nca_file = \"c\""),
                         {"tls.ca_file is not a known key", "cert_file, key_file"}));
  EXPECT_TRUE(fails_with(with_app("[http]\nio_thread = 2"),
                         {"http.io_thread is not a known key", "io_threads", "(line 2)"}));
  EXPECT_TRUE(fails_with(with_app("", "secretkey = \"x\"\n"),
                         {"apps[0].secretkey is not a known key", "secret_key"}));
  EXPECT_TRUE(fails_with(std::string(kApp) + R"(
[[apps]]
sdkappid = 1400000002
secret_key = "k"
admins = ["administrator"]
admin = "x"
)",
                         {"apps[1].admin is not a known key", "(line 11)"}));
  EXPECT_TRUE(fails_with(with_app("[server]\nport = 1"), {"server is not a known key"}));
  EXPECT_TRUE(fails_with(with_app("\"odd key\" = 1"), {"\"odd key\" is not a known key"}));
}

TEST(Config, RateLimitKeysMustBeCommandNames) {
  EXPECT_TRUE(fails_with(with_app("", "[apps.rate_limits]\nGetRoomList = 5\n"),
                         {"apps[0].rate_limits.GetRoomList is not a command name"}));
  EXPECT_TRUE(fails_with(with_app("", "[apps.rate_limits]\nget-room-list = 5\n"),
                         {"apps[0].rate_limits.get-room-list is not a command name"}));
  EXPECT_TRUE(fails_with(with_app("", "[apps.rate_limits]\n\"get room\" = 5\n"),
                         {"apps[0].rate_limits.\"get room\" is not a command name"}));
  EXPECT_TRUE(fails_with(with_app("", "[apps.rate_limits]\nroom2 = 5\n"),
                         {"apps[0].rate_limits.room2 is not a command name"}));
}

TEST(Config, RateLimitValues) {
  EXPECT_TRUE(fails_with(
      with_app("", "[apps.rate_limits]\ndefault = -1\n"),
      {"test.toml: apps[0].rate_limits.default must be an integer between 0 and 1000000"}));
  EXPECT_TRUE(
      fails_with(with_app("", "[apps.rate_limits]\ncreate_room = 1000001\n"),
                 {"apps[0].rate_limits.create_room must be an integer between 0 and 1000000"}));
  EXPECT_TRUE(fails_with(with_app("", "[apps.rate_limits]\ncreate_room = \"10\"\n"),
                         {"apps[0].rate_limits.create_room must be an integer"}));
  EXPECT_TRUE(fails_with(with_app("", "[apps.rate_limits]\ncreate_room = 1.5\n"),
                         {"apps[0].rate_limits.create_room must be an integer"}));
  EXPECT_TRUE(
      fails_with(with_app("", "rate_limits = 5\n"), {"apps[0].rate_limits must be a table"}));
}

TEST(Config, WrongTypes) {
  EXPECT_TRUE(fails_with(with_app("[http]\nio_threads = \"4\""),
                         {"test.toml: http.io_threads must be an integer between 0 and 64"}));
  EXPECT_TRUE(fails_with(with_app("[http]\nmax_connections = true"),
                         {"http.max_connections must be an integer"}));
  EXPECT_TRUE(fails_with(with_app("http = 5"), {"http must be a table"}));
  EXPECT_TRUE(fails_with(with_app("tls = \"cert.pem\""), {"tls must be a table"}));
  EXPECT_TRUE(fails_with(with_app("", "auto_import_accounts = \"yes\"\n"),
                         {"apps[0].auto_import_accounts must be true or false"}));
  EXPECT_TRUE(fails_with(R"([[apps]]
sdkappid = 1.5
secret_key = "k"
admins = ["a"])",
                         {"apps[0].sdkappid must be an integer between 1 and 4294967295"}));
  EXPECT_TRUE(fails_with(R"([[apps]]
sdkappid = "1400000001"
secret_key = "k"
admins = ["a"])",
                         {"apps[0].sdkappid must be an integer between 1 and 4294967295"}));
  EXPECT_TRUE(fails_with(R"([[apps]]
sdkappid = 1
secret_key = 12
admins = ["a"])",
                         {"apps[0].secret_key must be a non-empty string"}));
  EXPECT_TRUE(fails_with(R"([[apps]]
sdkappid = 1
secret_key = "k"
admins = "administrator")",
                         {"apps[0].admins must be a non-empty array"}));
  EXPECT_TRUE(fails_with(R"([[apps]]
sdkappid = 1
secret_key = "k"
admins = ["a", 5])",
                         {"apps[0].admins[1] must be a string of 1 to 32 bytes"}));
  EXPECT_TRUE(fails_with("apps = 1", {"apps must be an array of tables"}));
  EXPECT_TRUE(fails_with("[apps]\nsdkappid = 1", {"apps must be an array of tables"}));
  EXPECT_TRUE(fails_with("apps = [1]", {"apps[0] must be a table"}));
}

TEST(Config, HttpOutOfRange) {
  struct Case {
    const char* key;
    long long value;
    const char* rule;
  };
  for (const Case& c :
       {Case{"io_threads", 65, "between 0 and 64"}, Case{"io_threads", -1, "between 0 and 64"},
        Case{"max_header_bytes", 1023, "between 1024 and 1048576"},
        Case{"max_header_bytes", 1048577, "between 1024 and 1048576"},
        Case{"max_body_bytes", 1023, "between 1024 and 67108864"},
        Case{"max_body_bytes", 67108865, "between 1024 and 67108864"},
        Case{"read_timeout_ms", 99, "between 100 and 3600000"},
        Case{"read_timeout_ms", 3600001, "between 100 and 3600000"},
        Case{"idle_timeout_ms", 0, "between 100 and 3600000"},
        Case{"idle_timeout_ms", 3600001, "between 100 and 3600000"},
        Case{"max_connections", 0, "between 1 and 1000000"},
        Case{"max_connections", 1000001, "between 1 and 1000000"}}) {
    std::string path = std::string("http.") + c.key + " must be an integer " + c.rule;
    EXPECT_TRUE(fails_with(
        with_app("[http]\n" + std::string(c.key) + " = " + std::to_string(c.value)), {path}));
  }
}

TEST(Config, SdkAppIdRange) {
  for (const char* id : {"0", "-1", "4294967296", "9223372036854775807"}) {
    EXPECT_TRUE(fails_with(
        std::string("[[apps]]\nsdkappid = ") + id + "\nsecret_key = \"k\"\nadmins = [\"a\"]",
        {"test.toml: apps[0].sdkappid must be an integer between 1 and "
         "4294967295 (line 2)"}))
        << id;
  }
  EXPECT_EQ(
      parse_config("[[apps]]\nsdkappid = 1\nsecret_key = \"k\"\nadmins = [\"a\"]").apps[0].sdkappid,
      1u);
}

TEST(Config, DuplicateSdkAppId) {
  EXPECT_TRUE(fails_with(std::string(kApp) + std::string(kApp),
                         {"apps[1].sdkappid repeats apps[0].sdkappid 1400000001"}));
}

TEST(Config, Admins) {
  auto app = [](std::string admins) {
    return "[[apps]]\nsdkappid = 1\nsecret_key = \"k\"\nadmins = " + admins;
  };
  EXPECT_TRUE(fails_with(app("[]"), {"apps[0].admins must be a non-empty array of UserIDs"}));
  EXPECT_TRUE(fails_with(app("[\"a\", \"\"]"), {"apps[0].admins[1] must be a string of 1 to 32"}));
  std::string b32(32, 'b');
  EXPECT_EQ(parse_config(app("[\"" + b32 + "\"]")).apps[0].admins[0], b32);
  EXPECT_TRUE(
      fails_with(app("[\"" + b32 + "b\"]"), {"apps[0].admins[0] must be a string of 1 to 32"}));
  EXPECT_TRUE(
      fails_with(app("[\"a\", \"b\", \"a\"]"), {"apps[0].admins[2] repeats apps[0].admins[0]"}));
}

TEST(Config, MissingApps) {
  EXPECT_TRUE(fails_with("", {"test.toml: apps must contain at least one app", "[[apps]]"}));
  EXPECT_TRUE(fails_with("listen = \"127.0.0.1:1\"", {"apps must contain at least one app"}));
  EXPECT_TRUE(fails_with("apps = []", {"apps must contain at least one app"}));
}

TEST(Config, MissingAppKeys) {
  EXPECT_TRUE(fails_with("[[apps]]\nsdkappid = 1\nadmins = [\"a\"]",
                         {"test.toml: apps[0].secret_key is required"}));
  EXPECT_TRUE(fails_with("[[apps]]\nsdkappid = 1\nsecret_key = \"\"\nadmins = [\"a\"]",
                         {"apps[0].secret_key must be a non-empty string"}));
  EXPECT_TRUE(fails_with("[[apps]]\nsecret_key = \"k\"\nadmins = [\"a\"]",
                         {"apps[0].sdkappid is required"}));
  EXPECT_TRUE(
      fails_with("[[apps]]\nsdkappid = 1\nsecret_key = \"k\"", {"apps[0].admins is required"}));
}

TEST_F(ConfigFiles, TlsFilesMustExist) {
  std::string cert = write("cert.pem", "cert");
  std::string key = write("key.pem", "key");
  auto tls = [](const std::string& c, const std::string& k) {
    return with_app("[tls]\ncert_file = \"" + c + "\"\nkey_file = \"" + k + "\"");
  };
  EXPECT_TRUE(parse_config(tls(cert, key)).tls.has_value());
  std::string missing = (dir_ / "missing.pem").string();
  EXPECT_TRUE(fails_with(tls(missing, key), {"tls.cert_file names '" + missing, "does not exist"}));
  EXPECT_TRUE(fails_with(tls(cert, missing), {"tls.key_file names '" + missing, "does not exist"}));
  EXPECT_TRUE(fails_with(tls(dir_.string(), key), {"tls.cert_file", "not a regular file"}));
  EXPECT_TRUE(
      fails_with(with_app("[tls]\ncert_file = \"" + cert + "\""), {"tls.key_file is required"}));
  EXPECT_TRUE(
      fails_with(with_app("[tls]\nkey_file = \"" + key + "\""), {"tls.cert_file is required"}));
  EXPECT_TRUE(fails_with(tls("", key), {"tls.cert_file must be a non-empty string"}));
}

TEST_F(ConfigFiles, TlsFileMustBeReadable) {
  std::string key = write("key.pem", "key");
  std::string unreadable = write("unreadable.pem", "cert");
  fs::permissions(unreadable, fs::perms::none);
  if (std::ifstream(unreadable)) GTEST_SKIP() << "running with privileges that read any file";
  EXPECT_TRUE(
      fails_with(with_app("[tls]\ncert_file = \"" + unreadable + "\"\nkey_file = \"" + key + "\""),
                 {"tls.cert_file", "cannot be read"}));
}

TEST(Config, SyntaxErrorGivesLineAndColumn) {
  EXPECT_TRUE(fails_with("listen = \"127.0.0.1:1\"\n\nhttp = {",
                         {"test.toml: TOML syntax error at line 3"}));
  EXPECT_TRUE(fails_with("a = 1\nb = = 2\n", {"TOML syntax error at line 2, column 5"}));
  EXPECT_TRUE(fails_with("x = \"\xff\"\n", {"TOML syntax error at line 1"}));
}

TEST_F(ConfigFiles, LoadConfigFileNamesThePath) {
  std::string good = write("good.toml", kApp);
  EXPECT_EQ(load_config_file(good).apps[0].sdkappid, 1400000001u);

  std::string bad = write("bad.toml", "listen = 5\n" + std::string(kApp));
  try {
    load_config_file(bad);
    ADD_FAILURE() << "no ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              bad +
                  ": listen must be a string \"HOST:PORT\" (IPv6 as "
                  "\"[::1]:PORT\") with a port between 0 and 65535 (line 1)");
  }

  std::string missing = (dir_ / "missing.toml").string();
  try {
    load_config_file(missing);
    ADD_FAILURE() << "no ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(missing + ": cannot open"), std::string::npos) << e.what();
  }
  EXPECT_THROW(load_config_file(dir_.string()), ConfigError);
}

// toml++ 3.3.0 asserts (and, built with NDEBUG under clang, assumes) that a table header's
// name starts with a key character; these inputs broke that and must be plain errors instead.
TEST(Config, TableHeaderNameThatTomlppCannotTakeIsAnError) {
  constexpr std::string_view kRule = "a table header's name must start with a letter";
  EXPECT_TRUE(fails_with("[=]\n", {"test.toml: TOML syntax error at line 1, column 2", kRule}));
  EXPECT_TRUE(fails_with("[[ #]]\n", {"line 1, column 4", kRule}));
  EXPECT_TRUE(fails_with("[.a]\n", {"line 1, column 2", kRule}));
  EXPECT_TRUE(fails_with("x = 1\n[\n", {"line 2, column 2", kRule}));
  EXPECT_TRUE(fails_with("[\xd1\xa2]\n", {"line 1, column 2", kRule}));
  EXPECT_TRUE(fails_with(with_app("", "[[\xd1\xa2]]\n"), {"line 7, column 3", kRule}));
}

// toml++ 3.3.0 reaches __builtin_unreachable() when it asks whether U+00A1-U+0499 or
// U+FBC6-U+FEFE is whitespace, which it does between tokens and in two places in strings.
TEST(Config, NonAsciiWhereTomlppWouldReachUnreachableCodeIsAnError) {
  constexpr std::string_view kRule = "a non-ASCII character is allowed only inside strings and";
  EXPECT_TRUE(fails_with("[[appsttp\xd1\xa2]]\n", {"line 1, column 10", kRule}));
  EXPECT_TRUE(fails_with("[[appsttp\xd1\xa2]]", {"line 1, column 10", kRule}));
  EXPECT_TRUE(fails_with("a = 1\xc3\xa9\n", {"line 1, column 6", kRule}));
  EXPECT_TRUE(fails_with("\xef\xbb\xbe = 1\n", {"line 1, column 1", kRule}));
  EXPECT_TRUE(fails_with("data_dir = \"\"\"\\\xc3\xa9\"\"\"\n",
                         {"line 1, column 16", "a backslash must be followed by an escape"}));
  EXPECT_TRUE(
      fails_with("data_dir = \"\"\"a\\\n  \xc3\xa9\"\"\"\n",
                 {"line 2, column 3", "cannot start the line after a line-ending backslash"}));
  // A quote inside a bad token opens no string for toml++, which reads on to the character
  // (found by fuzz_config).
  EXPECT_TRUE(fails_with("ppid = 1tls0'mauto_iw127.0\xef\xbb\xb9[gateway]\n\n",
                         {"line 1, column 27", kRule}));
  EXPECT_TRUE(fails_with("a = x\"\xc3\xa9\"\n", {"line 1, column 7", kRule}));
  // Nor does a bracket or brace inside such a token open an array or a table, with a string in
  // it (also found by fuzz_config).
  EXPECT_TRUE(fails_with("ppid = 1tls0mau[\"to_r\xd1\xa2]]\n", {"line 1, column 22", kRule}));
  EXPECT_TRUE(fails_with("a = x{\"\xc3\xa9\"}\n", {"line 1, column 8", kRule}));
  // And a '.' joins a key's parts only where a key can be: in a value it is part of a bad token.
  EXPECT_TRUE(
      fails_with("[[apps]]\nsdkappid = 14pt.\"*p\xd1\xa2"
                 "c\"]\n",
                 {"line 2, column 20", kRule}));
  EXPECT_TRUE(fails_with("x = [1.\"\xd1\xa2\"]\n", {"line 1, column 9", kRule}));
  // A value without quotes runs to a blank or a delimiter, '=' and brackets included.
  EXPECT_TRUE(fails_with("ppid =--BB==[\"\"\".p\xd1\xa2]\n", {"line 1, column 19", kRule}));
  // Where they do open one, a string in it may hold any character: these pass the check and
  // toml++, and fail only as unknown keys.
  EXPECT_TRUE(fails_with("x = [[\"\xd1\xa2\"], \"y\"]\n", {"x is not a known key"}));
  EXPECT_TRUE(fails_with("x = [ \"a\",[\"\xd1\xa2\"]]\n", {"x is not a known key"}));
  EXPECT_TRUE(fails_with("x = {a = [\"\xd1\xa2\"]}\n", {"x is not a known key"}));
  EXPECT_TRUE(fails_with("x.\"\xd1\xa2\" = 1\n", {"x is not a known key"}));
  EXPECT_TRUE(fails_with("x = {a.\"\xd1\xa2\" = 1, b.'\xd1\xa2' = 2}\n", {"x is not a known key"}));
  EXPECT_TRUE(fails_with("[x.\"\xd1\xa2\"]\n", {"x is not a known key"}));
  // Inside strings and comments they are fine, also after a line-ending backslash's blanks
  // when something ASCII comes first.
  const Config c = parse_config(
      "# \xc3\xa9t\xc3\xa9\n"
      "data_dir = \"\"\"\xd1\xa2\\\n   x\xc3\xa9\"\"\"\n"
      "listen = \"127.0.0.1:1\" # \xd1\xa2\n"
      "[[apps]]\n"
      "sdkappid = 1\n"
      "secret_key = '\xd1\xa2'\n"
      "admins = [\"\xc3\xa9\", 'x\xc3\xa9',\n  \"y\xc3\xa9\"]\n",
      "test.toml");
  EXPECT_EQ(c.data_dir, "\xd1\xa2x\xc3\xa9");
  EXPECT_EQ(c.apps.at(0).admins.at(0), "\xc3\xa9");
}

// toml++ asserts on some malformed dates (found by fuzz_config), and no key takes a date.
TEST(Config, ADateOrTimeIsAnError) {
  constexpr std::string_view kRule = "a date or time: no key of this configuration takes one";
  EXPECT_TRUE(fails_with("zap0=  3724-06-55 1#ka\n", {"line 1, column 8", kRule}));
  EXPECT_TRUE(fails_with("listen = 1979-05-27T07:32:00Z\n", {"line 1, column 10", kRule}));
  EXPECT_TRUE(fails_with("x = [07:32:00]\n", {"line 1, column 6", kRule}));
  // Numbers are not dates.
  EXPECT_TRUE(fails_with("x = 1979\n", {"x is not a known key"}));
  EXPECT_TRUE(fails_with("x = -12\n", {"x is not a known key"}));
}

// A closer of the other kind: toml++ asserts on `x = [}` (found by fuzz_config).
TEST(Config, AnArrayOrInlineTableClosedByTheOtherBracketIsAnError) {
  EXPECT_TRUE(fails_with("x = [}\n", {"line 1, column 6", "'}' inside an array"}));
  EXPECT_TRUE(fails_with("x = [1, {a = 1]\n", {"line 1, column 15", "']' inside an inline table"}));
  // Brackets in strings and comments, and headers, are not counted.
  EXPECT_TRUE(fails_with("x = [\"}\", '{', # ]\n  [1]]\n", {"x is not a known key"}));
}

TEST(Config, ControlCharactersAreErrorsWithTheirLine) {
  constexpr std::string_view kRule = "is not allowed in TOML (only tab, and CR directly before LF)";
  EXPECT_TRUE(fails_with(std::string("[\0", 2), {"line 1, column 2", "0x00", kRule}));
  EXPECT_TRUE(fails_with(std::string("[\0abc]\n", 7), {"line 1, column 2", "0x00", kRule}));
  EXPECT_TRUE(fails_with(std::string("a = 1\nb = \"x\0\"\n", 14), {"line 2, column 7", kRule}));
  EXPECT_TRUE(fails_with("# a comment\x01\n", {"line 1, column 12", "0x01", kRule}));
  EXPECT_TRUE(fails_with("x = 1\r\ny = 2\r", {"line 2, column 6", "0x0d", kRule}));
  EXPECT_TRUE(fails_with("x = \"\x7f\"\n", {"line 1, column 6", "0x7f", kRule}));
}

TEST(Config, InvalidUtf8IsAnErrorWithItsLine) {
  EXPECT_TRUE(fails_with("a = 1\n# \xc0\xaf\n", {"line 2, column 3", "0xc0 is not UTF-8"}));
  EXPECT_TRUE(fails_with("# \xed\xa0\x80\n", {"line 1, column 3", "0xed is not UTF-8"}));
  EXPECT_TRUE(fails_with("# \xf4\x90\x80\x80\n", {"line 1, column 3", "0xf4 is not UTF-8"}));
  EXPECT_TRUE(fails_with("# \xe2\x82", {"line 1, column 3", "0xe2 is not UTF-8"}));
}

// The pre-check must know arrays, strings and comments: none of these `[` is a table header.
TEST(Config, BracketsOutsideTableHeadersAreNotChecked) {
  const Config c = parse_config(
      "# [=] in a comment\r\n"
      "data_dir = \"[=]\" # [.x]\n"
      "[[apps]]\n"
      "sdkappid = 1400000001\n"
      "secret_key = \"\"\"\n"
      "[=]\n"
      "\\\"\"\"\"\"\n"
      "admins = [\n"
      "  \"administrator\", # [\n"
      "  'x]y',\n"
      "]\n"
      "[[apps.callbacks]]\n"
      "url = 'http://127.0.0.1:9/\xd1\xa2'\n"
      "commands = [\n"
      "  'Live.CallbackAfterCreateRoom']\n"
      "[ apps.rate_limits ]\n"
      "default = 1\n",
      "test.toml");
  EXPECT_EQ(c.data_dir, "[=]");
  ASSERT_EQ(c.apps.size(), 1u);
  EXPECT_EQ(c.apps[0].secret_key, "[=]\n\"\"");
  EXPECT_EQ(c.apps[0].admins, (std::vector<std::string>{"administrator", "x]y"}));
  ASSERT_EQ(c.apps[0].callbacks.size(), 1u);
  EXPECT_EQ(c.apps[0].rate_limits.default_per_second, 1u);
}

TEST(Config, ExampleFileParses) {
  fs::path root = fs::path(__FILE__).parent_path().parent_path().parent_path();
  Config cfg = load_config_file((root / "liveroom.example.toml").string());
  EXPECT_EQ(cfg.listen, "127.0.0.1:8080");
  EXPECT_EQ(cfg.data_dir, "./data");
  EXPECT_FALSE(cfg.tls.has_value());
  // The example shows the defaults, so it must agree with the structs.
  const HttpConfig defaults;
  EXPECT_EQ(cfg.http.io_threads, defaults.io_threads);
  EXPECT_EQ(cfg.http.max_header_bytes, defaults.max_header_bytes);
  EXPECT_EQ(cfg.http.max_body_bytes, defaults.max_body_bytes);
  EXPECT_EQ(cfg.http.read_timeout_ms, defaults.read_timeout_ms);
  EXPECT_EQ(cfg.http.idle_timeout_ms, defaults.idle_timeout_ms);
  EXPECT_EQ(cfg.http.max_connections, defaults.max_connections);
  ASSERT_EQ(cfg.apps.size(), 1u);
  EXPECT_EQ(cfg.apps[0].sdkappid, 1400000001u);
  EXPECT_EQ(cfg.apps[0].secret_key.size(), 64u);
  EXPECT_EQ(cfg.apps[0].admins, std::vector<std::string>{"administrator"});
  EXPECT_FALSE(cfg.apps[0].auto_import_accounts);
  const WebhooksConfig webhook_defaults;
  EXPECT_EQ(cfg.webhooks.connections_per_url, webhook_defaults.connections_per_url);
  EXPECT_EQ(cfg.webhooks.pipeline_depth, webhook_defaults.pipeline_depth);
  EXPECT_EQ(cfg.webhooks.request_timeout_ms, webhook_defaults.request_timeout_ms);
}

TEST(Config, Webhooks) {
  Config cfg = parse_config(with_app(
      "[webhooks]\nconnections_per_url = 4\npipeline_depth = 1\nrequest_timeout_ms = 250"));
  EXPECT_EQ(cfg.webhooks.connections_per_url, 4u);
  EXPECT_EQ(cfg.webhooks.pipeline_depth, 1u);
  EXPECT_EQ(cfg.webhooks.request_timeout_ms, 250u);
  EXPECT_EQ(parse_config(kApp).webhooks.pipeline_depth, 32u);
  EXPECT_TRUE(fails_with(with_app("[webhooks]\npipeline_depth = 0"),
                         {"webhooks.pipeline_depth must be an integer between 1 and 256"}));
  EXPECT_TRUE(fails_with(with_app("[webhooks]\nconnections_per_url = 1025"),
                         {"webhooks.connections_per_url must be an integer between 1 and 1024"}));
  EXPECT_TRUE(fails_with(with_app("[webhooks]\nrequest_timeout_ms = 99"),
                         {"webhooks.request_timeout_ms must be an integer between 100 and 60000"}));
  EXPECT_TRUE(fails_with(with_app("[webhooks]\nretries = 3"), {"webhooks", "retries"}));
}

TEST(Config, GiftVetoIsFailClosedUnlessTheAppSaysOtherwise) {
  const AppConfig defaults = parse_config(kApp).apps[0];
  EXPECT_FALSE(defaults.gift_veto_fail_open);
  EXPECT_TRUE(defaults.veto_fail_open);  // messages: IM's fail-open default
  EXPECT_TRUE(parse_config(with_app("", "gift_veto_fail_open = true")).apps[0].gift_veto_fail_open);
  EXPECT_TRUE(fails_with(with_app("", "gift_veto_fail_open = 1"), {"gift_veto_fail_open"}));
}

constexpr std::string_view kCluster = R"(
[cluster]
node_id = "node-1"
advertise_url = "http://10.0.0.11:8080/"
postgres_url = "postgresql://liveroom:pw@10.0.0.5:5432/liveroom"
redis_url = "redis://:pw@10.0.0.6:6379/2"
)";

std::string cluster_with(std::string_view extra) {
  return with_app(std::string(kCluster) + std::string(extra));
}

TEST(ClusterConfig, AbsentMeansOneNode) {
  EXPECT_FALSE(parse_config(with_app("")).cluster.has_value());
}

TEST(ClusterConfig, ReadsEveryKeyWithDefaults) {
  Config cfg = parse_config(cluster_with(""));
  ASSERT_TRUE(cfg.cluster.has_value());
  EXPECT_EQ(cfg.cluster->node_id, "node-1");
  EXPECT_EQ(cfg.cluster->advertise_url, "http://10.0.0.11:8080");  // trailing '/' dropped
  EXPECT_EQ(cfg.cluster->postgres_url, "postgresql://liveroom:pw@10.0.0.5:5432/liveroom");
  EXPECT_EQ(cfg.cluster->redis_url, "redis://:pw@10.0.0.6:6379/2");
  EXPECT_EQ(cfg.cluster->lease_ms, 5000u);
  EXPECT_EQ(cfg.cluster->key_prefix, "liveroom");
  EXPECT_EQ(cfg.cluster->failover_wait_ms, 10000u);
  EXPECT_TRUE(cfg.cluster->follower_reads);
  EXPECT_EQ(cfg.cluster->placement, ClusterConfig::Placement::kCluster);
  EXPECT_EQ(cfg.cluster->postgres_connections, 8u);
  cfg = parse_config(cluster_with(
      "lease_ms = 1000\nkey_prefix = \"blue\"\nfailover_wait_ms = 0\nfollower_reads = false\n"
      "placement = \"app\"\npostgres_connections = 2\n"));
  EXPECT_EQ(cfg.cluster->placement, ClusterConfig::Placement::kApp);
  EXPECT_EQ(cfg.cluster->postgres_connections, 2u);
  EXPECT_EQ(cfg.cluster->lease_ms, 1000u);
  EXPECT_EQ(cfg.cluster->key_prefix, "blue");
  EXPECT_EQ(cfg.cluster->failover_wait_ms, 0u);
  EXPECT_FALSE(cfg.cluster->follower_reads);
  cfg = parse_config(cluster_with("placement = \"room\"\n"));
  EXPECT_EQ(cfg.cluster->placement, ClusterConfig::Placement::kRoom);
  EXPECT_EQ(cfg.cluster->room_slots, 64u);
  cfg = parse_config(cluster_with("placement = \"room\"\nroom_slots = 8\n"));
  EXPECT_EQ(cfg.cluster->room_slots, 8u);
}

TEST(ClusterConfig, BadValuesNameTheKey) {
  EXPECT_TRUE(fails_with(with_app("[cluster]\nadvertise_url = \"http://a:1\"\n"),
                         {"cluster.node_id", "required"}));
  EXPECT_TRUE(fails_with(cluster_with("lease_ms = 999\n"), {"cluster.lease_ms", "1000"}));
  EXPECT_TRUE(fails_with(cluster_with("failover_wait_ms = 60001\n"),
                         {"cluster.failover_wait_ms", "60000"}));
  EXPECT_TRUE(fails_with(cluster_with("colour = 1\n"), {"cluster.colour", "not a known key"}));
  EXPECT_TRUE(fails_with(cluster_with("postgres_connections = 0\n"),
                         {"cluster.postgres_connections", "1000"}));
  EXPECT_TRUE(fails_with(cluster_with("follower_reads = 1\n"), {"cluster.follower_reads"}));
  EXPECT_TRUE(
      fails_with(cluster_with("placement = \"rooms\"\n"), {"cluster.placement", "\"room\""}));
  EXPECT_TRUE(fails_with(cluster_with("placement = \"room\"\nroom_slots = 0\n"),
                         {"cluster.room_slots", "1024"}));
  EXPECT_TRUE(fails_with(cluster_with("placement = \"room\"\nroom_slots = 1025\n"),
                         {"cluster.room_slots", "1024"}));
  EXPECT_TRUE(fails_with(cluster_with("placement = \"app\"\nroom_slots = 8\n"),
                         {"cluster.room_slots", "only with placement = \"room\""}));
  std::string text = with_app(
      "[cluster]\nnode_id = \"a b\"\nadvertise_url = \"http://a:1\"\npostgres_url = "
      "\"postgresql://x\"\nredis_url = \"redis://x\"\n");
  EXPECT_TRUE(fails_with(text, {"cluster.node_id", "letters, digits"}));
  text = with_app(
      "[cluster]\nnode_id = \"a\"\nadvertise_url = \"https://a:1\"\npostgres_url = "
      "\"postgresql://x\"\nredis_url = \"redis://x\"\n");
  EXPECT_TRUE(fails_with(text, {"cluster.advertise_url", "http://host:port"}));
  text = with_app(
      "[cluster]\nnode_id = \"a\"\nadvertise_url = \"http://a:1\"\npostgres_url = "
      "\"mysql://x\"\nredis_url = \"redis://x\"\n");
  EXPECT_TRUE(fails_with(text, {"cluster.postgres_url", "postgresql://"}));
  text = with_app(
      "[cluster]\nnode_id = \"a\"\nadvertise_url = \"http://a:1\"\npostgres_url = "
      "\"postgresql://x\"\nredis_url = \"http://x\"\n");
  EXPECT_TRUE(fails_with(text, {"cluster.redis_url", "redis://"}));
}

TEST(ClusterConfig, TlsEndsAtTheLoadBalancer) {
  EXPECT_TRUE(
      fails_with(with_app("[tls]\ncert_file = \"c\"\nkey_file = \"k\"\n" + std::string(kCluster)),
                 {"tls", "load balancer"}));
}

}  // namespace
}  // namespace liveroom::config
