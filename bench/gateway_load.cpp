// liveroom_gateway_load: chat fan-out load generator for the client gateway (bench/gateway).
//
// Connects N members to one room over the WebSocket gateway (docs/client-protocol.md), then has
// a few of them send chat messages while every member counts the Message events it receives.
// Each message's text carries its send time on this machine's steady clock, so a receiver knows
// the fan-out latency of every single delivery without any clock agreement with the server.
//
// Three phases, one after the other on the same connections:
//   latency     paced (--rate messages/s for --latency-duration s): p50/p99/max fan-out latency
//   throughput  closed loop: a new message whenever fewer than --window messages' worth of
//               deliveries are still outstanding, for --throughput-duration s: deliveries/s
//   gift storm  --gift-rate gift sends/s spread over --gift-senders audience members for
//               --gift-duration s, while the room is in a PK battle (scores pushed to every
//               member) and chat goes on at --rate: the gifts' acknowledgement latency, and the
//               chat's fan-out latency next to the latency phase's (storm_chat, storm_gifts)
// It also reads the server's VmRSS before the first connection and once all members are in the
// room and idle (--server-pid), for the server memory per idle member.
//
// Against a cluster (bench/cluster), --ports P1,P2,P3 spreads the members over the nodes:
// member i connects to the i % n-th port (the REST set-up goes to the first), and --server-pid
// takes every node's pid, so memory and CPU are the nodes' sums.
//
// The generator shares two cores with the server, so the hot path (one Message event per member
// per message) avoids a JSON parse: objects are split on '\n', events are told apart by their
// leading `{"event":"Name"` and the send time is found by searching for the text's marker.
//
// Prints a human table and, last, one JSON line. Exit status: 0 done, 1 nobody could enter the
// room or a phase could not run, 2 bad usage or setup failure.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <deque>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <numeric>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>

#include "auth/usersig.h"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
// A socket bound to the io_context's own executor type: no type-erased any_io_executor copies on
// every read completion (they showed in profiles at ~300k frames/s).
using Socket = asio::basic_stream_socket<tcp, asio::io_context::executor_type>;

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

constexpr int64_t kNsPerSec = 1'000'000'000;

// Phases index the per-phase counters; the phase number travels in the message text.
constexpr int kLatency = 0;
constexpr int kThroughput = 1;
constexpr int kStormChat = 2;   // chat during the gift storm
constexpr int kStormGifts = 3;  // the storm's gift sends (acknowledgements only)
constexpr int kPhases = 4;
constexpr std::array<std::string_view, kPhases> kPhaseNames{"latency", "throughput",
                                                            "storm_chat", "storm_gifts"};
// The gift the storm sends, and the battle it scores (set up over REST).
constexpr std::string_view kBenchGift = "lrbench";
std::string g_battle_id;  // written before the workers start

// Chat text: "<marker><phase> <seq> <send ns>". Receivers search for the marker, which cannot
// occur elsewhere in a Message event of this run.
constexpr std::string_view kMarker = "lrbench ";

// Request ids: fixed ones for the set-up steps, so a reply is recognised by its id alone.
constexpr uint64_t kHeartbeatId = 0;
constexpr uint64_t kLoginId = 1;
constexpr uint64_t kEnterId = 2;
constexpr uint64_t kFirstSendId = 3;
constexpr uint64_t kBattleRespondId = uint64_t{1} << 52;  // the room owner accepts the battle
std::atomic<int64_t> g_battle_code{INT64_MIN};             // its reply's code, once it came

struct Options {
  std::string host = "127.0.0.1";
  std::vector<uint16_t> ports;  // member i connects to ports[i % ports.size()]
  uint32_t sdkappid = 1400000001;
  std::string key;
  std::string admin = "administrator";
  std::string room = "gateway-bench";
  std::string user_prefix = "gw";
  int members = 10000;
  int senders = 4;
  int threads = 1;
  int connect_concurrency = 200;
  bool login_op = false;  // false: credentials in the query string of the upgrade
  bool setup = true;      // import the accounts and create the room over REST
  // Memory and CPU are summed over these.
  std::vector<int> server_pids;
  double idle_s = 5;
  double rate = 5;
  double latency_s = 10;
  double throughput_s = 10;
  int window = 8;
  bool flow_on_replies = false;  // the throughput window counts replies instead of deliveries
  double sender_max_rate = 80;   // the server refuses more than 100 requests/s per connection
  int heartbeat_ms = 8000;       // the server's default interval is 10 s, closing after 3 missed
  double drain_s = 10;
  double connect_timeout_s = 300;
  double gift_rate = 1000;  // gift sends/s of the storm
  double gift_s = 10;       // 0: no gift storm
  int gift_senders = 500;   // audience members that send them, in turn
};

[[noreturn]] void usage_error(const std::string& what, int status = 2) {
  std::fprintf(status == 0 ? stdout : stderr,
               "liveroom_gateway_load: %s\n"
               "usage: liveroom_gateway_load --port P|--ports P1,P2,.. --key SECRET [--host H]\n"
               "  [--sdkappid N] [--admin ID] [--room ID] [--user-prefix P] [--members N]\n"
               "  [--senders N] [--threads N] [--connect-concurrency N] [--login query|op]\n"
               "  [--no-setup] [--server-pid PID[,PID..]] [--idle S] [--rate MSG_PER_S]\n"
               "  [--latency-duration S] [--throughput-duration S] [--window MSGS]\n"
               "  [--flow deliveries|replies]"
               " [--sender-max-rate MSG_PER_S] [--heartbeat-ms MS] [--drain S]\n"
               "  [--connect-timeout S] [--gift-rate SENDS_PER_S] [--gift-duration S]\n"
               "  [--gift-senders N]\n",
               what.c_str());
  std::exit(status);
}

template <typename T>
T parse_number(std::string_view name, std::string_view text) {
  T value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) {
    usage_error(fmt::format("{} must be a number, not \"{}\"", name, text));
  }
  return value;
}

// "1,2,3": numbers separated by commas.
template <typename T>
std::vector<T> parse_list(std::string_view name, std::string_view text) {
  std::vector<T> out;
  while (true) {
    const size_t comma = text.find(',');
    out.push_back(parse_number<T>(name, text.substr(0, comma)));
    if (comma == std::string_view::npos) return out;
    text.remove_prefix(comma + 1);
  }
}

Options parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    std::string_view value;
    bool has_value = false;
    if (auto eq = arg.find('='); eq != std::string_view::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      has_value = true;
    }
    auto next = [&]() -> std::string_view {
      if (has_value) return value;
      if (i + 1 >= argc) usage_error(fmt::format("{} needs a value", arg));
      return argv[++i];
    };
    auto integer = [&](auto& out) { out = parse_number<std::decay_t<decltype(out)>>(arg, next()); };
    if (arg == "--host") {
      o.host = next();
    } else if (arg == "--port") {
      o.ports = {parse_number<uint16_t>(arg, next())};
    } else if (arg == "--ports") {
      o.ports = parse_list<uint16_t>(arg, next());
    } else if (arg == "--sdkappid") {
      integer(o.sdkappid);
    } else if (arg == "--key") {
      o.key = next();
    } else if (arg == "--admin") {
      o.admin = next();
    } else if (arg == "--room") {
      o.room = next();
    } else if (arg == "--user-prefix") {
      o.user_prefix = next();
    } else if (arg == "--members") {
      integer(o.members);
    } else if (arg == "--senders") {
      integer(o.senders);
    } else if (arg == "--threads") {
      integer(o.threads);
    } else if (arg == "--connect-concurrency") {
      integer(o.connect_concurrency);
    } else if (arg == "--login") {
      auto how = next();
      if (how != "query" && how != "op") usage_error("--login is query or op");
      o.login_op = how == "op";
    } else if (arg == "--no-setup") {
      o.setup = false;
    } else if (arg == "--server-pid") {
      o.server_pids = parse_list<int>(arg, next());
    } else if (arg == "--idle") {
      integer(o.idle_s);
    } else if (arg == "--rate") {
      integer(o.rate);
    } else if (arg == "--latency-duration") {
      integer(o.latency_s);
    } else if (arg == "--throughput-duration") {
      integer(o.throughput_s);
    } else if (arg == "--window") {
      integer(o.window);
    } else if (arg == "--flow") {
      auto on = next();
      if (on != "deliveries" && on != "replies") usage_error("--flow is deliveries or replies");
      o.flow_on_replies = on == "replies";
    } else if (arg == "--sender-max-rate") {
      integer(o.sender_max_rate);
    } else if (arg == "--heartbeat-ms") {
      integer(o.heartbeat_ms);
    } else if (arg == "--drain") {
      integer(o.drain_s);
    } else if (arg == "--connect-timeout") {
      integer(o.connect_timeout_s);
    } else if (arg == "--gift-rate") {
      integer(o.gift_rate);
    } else if (arg == "--gift-duration") {
      integer(o.gift_s);
    } else if (arg == "--gift-senders") {
      integer(o.gift_senders);
    } else if (arg == "--help" || arg == "-h") {
      usage_error("chat fan-out load generator for the liveroomd gateway (bench/gateway)", 0);
    } else {
      usage_error(fmt::format("unknown option {}", arg));
    }
  }
  if (o.ports.empty() || std::ranges::count(o.ports, uint16_t{0}) != 0) {
    usage_error("--port or --ports is required (ports 1 to 65535)");
  }
  if (o.key.empty()) usage_error("--key is required (the app's secret key)");
  if (o.members < 1) usage_error("--members must be at least 1");
  o.senders = std::clamp(o.senders, 1, o.members);
  o.threads = std::max(1, o.threads);
  o.connect_concurrency = std::max(1, o.connect_concurrency);
  o.window = std::max(1, o.window);
  if (o.rate <= 0 || o.sender_max_rate <= 0 || o.gift_rate <= 0) {
    usage_error("rates must be positive");
  }
  o.gift_senders = std::clamp(o.gift_senders, 1, std::max(1, o.members - 1));
  return o;
}

// Log-linear histogram of microseconds: 64 buckets per power of two, so a percentile read from
// it is within 1/64 of the true value, in fixed memory whatever the number of samples (a 10 s
// throughput phase can record tens of millions).
class Histogram {
 public:
  void add(uint64_t us) {
    ++counts_[index(us)];
    ++total_;
    max_ = std::max(max_, us);
  }
  void merge(const Histogram& other) {
    for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
    total_ += other.total_;
    max_ = std::max(max_, other.max_);
  }
  uint64_t total() const { return total_; }
  uint64_t max() const { return max_; }
  // The upper bound of the bucket holding the q-quantile: a percentile is never understated.
  uint64_t percentile(double q) const {
    if (total_ == 0) return 0;
    auto rank = static_cast<uint64_t>(q * static_cast<double>(total_));
    rank = std::clamp<uint64_t>(rank, 1, total_);
    uint64_t seen = 0;
    for (size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      if (seen >= rank) return std::min(upper_bound(i), max_);
    }
    return max_;
  }

 private:
  static constexpr int kSubBits = 6;
  static constexpr uint64_t kSub = 1 << kSubBits;

  static size_t index(uint64_t v) {
    if (v < kSub) return v;
    const int shift = std::bit_width(v) - 1 - kSubBits;
    return (shift + 1) * kSub + ((v >> shift) - kSub);
  }
  static uint64_t upper_bound(size_t i) {
    if (i < kSub) return i;
    const size_t shift = i / kSub - 1;
    const uint64_t mantissa = i % kSub + kSub;
    return ((mantissa + 1) << shift) - 1;
  }

  std::array<uint64_t, 60 * kSub> counts_{};
  uint64_t total_ = 0;
  uint64_t max_ = 0;
};

// A counter written by one thread and read by others: a plain load and store (no locked
// read-modify-write) on its own cache line, so the hot path does not pay for the sharing.
struct alignas(64) Counter {
  std::atomic<uint64_t> value{0};
  void add(uint64_t n = 1) {
    value.store(value.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  uint64_t get() const { return value.load(std::memory_order_relaxed); }
};

// When each phase's sending stops; a delivery received by then counts towards the phase's
// sustained rate. Set by the controller before the phase's first message.
std::array<std::atomic<int64_t>, kPhases> g_phase_end_ns{};

std::optional<int64_t> parse_int_after(std::string_view text, std::string_view key) {
  auto at = text.find(key);
  if (at == std::string_view::npos) return std::nullopt;
  const char* first = text.data() + at + key.size();
  int64_t v = 0;
  auto [end, ec] = std::from_chars(first, text.data() + text.size(), v);
  if (ec != std::errc{}) return std::nullopt;
  return v;
}

std::string message_of(std::string_view reply) {
  constexpr std::string_view key = R"("message":")";
  auto at = reply.find(key);
  if (at == std::string_view::npos) return "";
  auto rest = reply.substr(at + key.size());
  return std::string(rest.substr(0, std::min<size_t>(rest.find('"'), 120)));
}

class Member;

// When the first and the last member received one message, relative to its sending (µs). The
// first delivery prices what happens before the fan-out (the send_text request, the store, the
// hand-off to the I/O threads); last minus first is the fan-out's walk over the members.
struct Span {
  uint32_t first_us = UINT32_MAX;
  uint32_t last_us = 0;
};
// Messages per phase whose spans are kept (a 10 s phase sends a few thousand at most).
constexpr uint64_t kMaxSpans = 1 << 20;

// One thread with its own io_context and its share of the members: no locks between threads.
struct Worker {
  explicit Worker(const Options& options) : o(options) {}

  void start_more();
  void tick();

  const Options& o;
  asio::io_context ioc{1};
  asio::steady_timer ticker{ioc};
  std::vector<std::unique_ptr<Member>> members;  // after ioc: destroyed before it
  size_t next_start = 0;
  int starting = 0;

  // Written by this worker's thread, read by the controller while running.
  Counter entered, failed, closed, gift_events, score_events;
  std::array<Counter, kPhases> delivered, acked, rejected;

  // Read once the thread has stopped.
  std::array<Histogram, kPhases> latency, ack_latency;
  std::array<std::vector<Span>, kPhases> spans;  // by message seq
  std::array<uint64_t, kPhases> in_window{};
  uint64_t frames = 0, objects = 0, bytes = 0, other_events = 0, foreign_messages = 0;
  std::map<std::string, uint64_t> errors;  // what went wrong -> how often

  std::thread thread;
};

class Member {
 public:
  enum class State { kIdle, kConnecting, kLogin, kEntering, kInRoom, kClosed };

  Member(Worker& worker, std::string user, tcp::endpoint server)
      : w_(worker), user_(std::move(user)), server_(server), ws_(worker.ioc) {}

  const std::string& user() const { return user_; }
  bool in_room() const { return in_room_.load(std::memory_order_relaxed); }
  uint64_t received(int phase) const { return got_[phase]; }
  State state() const { return state_; }

  void start() {
    state_ = State::kConnecting;
    ws_.next_layer().async_connect(server_, [this](beast::error_code ec) { on_connect(ec); });
  }

  // Called on the worker's thread (posted by the controller).
  void send_text(int phase, uint64_t seq) {
    if (state_ != State::kInRoom) {
      // Never sent, so counted as refused: the controller's window must not wait for it.
      w_.rejected[phase].add();
      ++w_.errors["send_text on a connection not in the room"];
      return;
    }
    const uint64_t id = next_id_++;
    const int64_t t = now_ns();
    pending_.push_back({id, t, phase});
    send(fmt::format(R"({{"id":{},"op":"send_text","RoomId":"{}","Text":"{}{} {} {}"}})", id,
                     w_.o.room, kMarker, phase, seq, t));
  }

  // One gift from this member to the room's owner, in the storm phase.
  void send_gift(uint64_t seq) {
    if (state_ != State::kInRoom) {
      w_.rejected[kStormGifts].add();
      ++w_.errors["send_gift on a connection not in the room"];
      return;
    }
    const uint64_t id = next_id_++;
    pending_.push_back({id, now_ns(), kStormGifts});
    send(fmt::format(R"({{"id":{},"op":"send_gift","RoomId":"{}","GiftId":"{}","Random":{}}})",
                     id, w_.o.room, kBenchGift, seq % 4'294'967'295));
  }

  // The room's owner accepts the battle the set-up created.
  void accept_battle() {
    send(fmt::format(R"({{"id":{},"op":"battle_respond","RoomId":"{}","BattleId":"{}",)"
                     R"("Accept":true}})",
                     kBattleRespondId, w_.o.room, g_battle_id));
  }

  void heartbeat_if_due(int64_t now) {
    if (state_ == State::kIdle || state_ == State::kConnecting || state_ == State::kClosed) return;
    if (now - last_send_ns_ >= int64_t{w_.o.heartbeat_ms} * 1'000'000) {
      send(R"({"id":0,"op":"heartbeat"})");
    }
  }

 private:
  struct Pending {
    uint64_t id;
    int64_t sent_ns;
    int phase;
  };

  void on_connect(beast::error_code ec) {
    if (ec) return fail("connect: " + ec.message());
    ws_.next_layer().set_option(tcp::no_delay(true));
    // Client frames are masked; a predictable mask is fine for a benchmark and cheaper.
    ws_.secure_prng(false);
    ws_.auto_fragment(false);
    ws_.read_message_max(64 << 20);
    ws_.text(true);
    std::string target = "/gateway";
    if (!w_.o.login_op) target += query();
    const std::string host = fmt::format("{}:{}", w_.o.host, server_.port());
    // The upgrade's response is kept only so a refusal can say which HTTP status it got.
    upgrade_ = std::make_unique<websocket::response_type>();
    ws_.async_handshake(*upgrade_, host, target,
                        [this](beast::error_code ec) { on_handshake(ec); });
  }

  std::string query() const {
    const auto sig = liveroom::auth::generate_usersig(w_.o.sdkappid, w_.o.key, user_, 86400,
                                                      static_cast<int64_t>(std::time(nullptr)));
    return fmt::format("?sdkappid={}&identifier={}&usersig={}", w_.o.sdkappid, user_, sig);
  }

  void on_handshake(beast::error_code ec) {
    const auto status = upgrade_->result_int();
    upgrade_.reset();
    if (ec == websocket::error::upgrade_declined) {
      return fail(fmt::format("upgrade declined: HTTP {}", status));
    }
    if (ec) return fail("handshake: " + ec.message());
    read();
    if (w_.o.login_op) {
      state_ = State::kLogin;
      const auto sig = liveroom::auth::generate_usersig(w_.o.sdkappid, w_.o.key, user_, 86400,
                                                        static_cast<int64_t>(std::time(nullptr)));
      send(fmt::format(R"({{"id":{},"op":"login","sdkappid":{},"identifier":"{}","usersig":"{}"}})",
                       kLoginId, w_.o.sdkappid, user_, sig));
    } else {
      enter();
    }
  }

  void enter() {
    state_ = State::kEntering;
    send(fmt::format(R"({{"id":{},"op":"enter","RoomId":"{}"}})", kEnterId, w_.o.room));
  }

  void read() {
    ws_.async_read(in_, [this](beast::error_code ec, size_t) { on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec) {
      if (ec == websocket::error::closed) {
        const auto& why = ws_.reason();
        return fail(fmt::format("closed by the server: {} {}", static_cast<int>(why.code),
                                std::string_view(why.reason.data(), why.reason.size())));
      }
      return fail("read: " + ec.message());
    }
    const auto data = in_.cdata();
    on_frame({static_cast<const char*>(data.data()), data.size()});
    in_.consume(in_.size());
    // The enter reply and the member-list events of a big room can be large; a member that
    // then only receives small chat frames need not keep that much buffer.
    if (in_.capacity() > 64 * 1024) in_.shrink_to_fit();
    if (state_ != State::kClosed) read();
  }

  // A frame holds one or more JSON objects separated by '\n'.
  void on_frame(std::string_view frame) {
    const int64_t now = now_ns();
    ++w_.frames;
    w_.bytes += frame.size();
    size_t pos = 0;
    while (pos < frame.size()) {
      size_t nl = frame.find('\n', pos);
      if (nl == std::string_view::npos) nl = frame.size();
      const auto object = frame.substr(pos, nl - pos);
      pos = nl + 1;
      if (object.empty()) continue;
      ++w_.objects;
      on_object(object, now);
    }
  }

  void on_object(std::string_view object, int64_t now) {
    constexpr std::string_view kEventFirst = R"({"event":")";
    constexpr std::string_view kReplyFirst = R"({"id":)";
    if (object.starts_with(kEventFirst)) return on_event(object.substr(kEventFirst.size()), now);
    if (object.starts_with(kReplyFirst)) return on_reply(object);
    // Keys in another order than the server writes them today: the slow path.
    constexpr std::string_view kEventKey = R"("event":")";
    if (auto at = object.find(kEventKey); at != std::string_view::npos) {
      return on_event(object.substr(at + kEventKey.size()), now);
    }
    on_reply(object);
  }

  // `rest` starts with the event's name.
  void on_event(std::string_view rest, int64_t now) {
    if (rest.starts_with(R"(Message")")) return on_message(rest, now);
    if (rest.starts_with(R"(Gift)")) return w_.gift_events.add();  // Gift and GiftSummary
    if (rest.starts_with(R"(BattleScore")")) return w_.score_events.add();
    if (rest.starts_with(R"(Kicked")") || rest.starts_with(R"(RoomDismissed")")) {
      ++w_.errors[fmt::format("event {}", rest.substr(0, rest.find('"')))];
      leave_room();
      return;
    }
    ++w_.other_events;
  }

  void on_message(std::string_view event, int64_t now) {
    const auto at = event.find(kMarker);
    if (at == std::string_view::npos) {
      ++w_.foreign_messages;
      return;
    }
    const char* p = event.data() + at + kMarker.size();
    const char* end = event.data() + event.size();
    int phase = -1;
    uint64_t seq = 0;
    int64_t sent = 0;
    auto r1 = std::from_chars(p, end, phase);
    auto r2 = std::from_chars(r1.ptr + 1, end, seq);
    auto r3 = std::from_chars(r2.ptr + 1, end, sent);
    if (r1.ec != std::errc{} || r2.ec != std::errc{} || r3.ec != std::errc{} || phase < 0 ||
        phase >= kPhases) {
      ++w_.foreign_messages;
      return;
    }
    const uint64_t us = static_cast<uint64_t>(std::max<int64_t>(0, now - sent)) / 1000;
    w_.latency[phase].add(us);
    auto& spans = w_.spans[phase];
    if (seq >= spans.size() && seq < kMaxSpans) spans.resize(seq + 1);
    if (seq < spans.size()) {
      const auto us32 = static_cast<uint32_t>(std::min<uint64_t>(us, UINT32_MAX - 1));
      spans[seq].first_us = std::min(spans[seq].first_us, us32);
      spans[seq].last_us = std::max(spans[seq].last_us, us32);
    }
    w_.delivered[phase].add();
    ++got_[phase];
    if (now <= g_phase_end_ns[phase].load(std::memory_order_relaxed)) ++w_.in_window[phase];
  }

  void on_reply(std::string_view reply) {
    const auto id = parse_int_after(reply, R"("id":)");
    const auto code = parse_int_after(reply, R"("code":)");
    if (!id || !code) {
      ++w_.errors["unparsed server object"];
      return;
    }
    if (*id == static_cast<int64_t>(kBattleRespondId)) {
      g_battle_code.store(*code);
      if (*code != 0) ++w_.errors[fmt::format("battle_respond: {}", message_of(reply))];
    } else if (*id == static_cast<int64_t>(kHeartbeatId)) {
      if (*code != 0) ++w_.errors[fmt::format("heartbeat: code {}", *code)];
    } else if (*id == static_cast<int64_t>(kLoginId) && state_ == State::kLogin) {
      if (*code != 0) return fail(fmt::format("login: code {} {}", *code, message_of(reply)));
      enter();
    } else if (*id == static_cast<int64_t>(kEnterId) && state_ == State::kEntering) {
      if (*code != 0) return fail(fmt::format("enter: code {} {}", *code, message_of(reply)));
      state_ = State::kInRoom;
      in_room_.store(true, std::memory_order_relaxed);
      w_.entered.add();
      --w_.starting;
      w_.start_more();
    } else if (*id >= static_cast<int64_t>(kFirstSendId)) {
      on_send_reply(static_cast<uint64_t>(*id), *code, reply);
    }
  }

  void on_send_reply(uint64_t id, int64_t code, std::string_view reply) {
    // Replies come back in order; search only if one went missing.
    auto it = pending_.begin();
    while (it != pending_.end() && it->id != id) ++it;
    if (it == pending_.end()) {
      ++w_.errors["reply to an unknown send_text"];
      return;
    }
    const Pending p = *it;
    pending_.erase(it);
    w_.ack_latency[p.phase].add(static_cast<uint64_t>(now_ns() - p.sent_ns) / 1000);
    if (code == 0) {
      w_.acked[p.phase].add();
    } else {
      w_.rejected[p.phase].add();
      ++w_.errors[fmt::format("send_text: code {} {}", code, message_of(reply))];
    }
  }

  void send(std::string frame) {
    last_send_ns_ = now_ns();
    out_.push_back(std::move(frame));
    if (out_.size() == 1) write();
  }

  // Beast allows one write at a time per stream: the queue's front is the one in flight.
  void write() {
    ws_.async_write(asio::buffer(out_.front()), [this](beast::error_code ec, size_t) {
      if (ec) return fail("write: " + ec.message());
      out_.pop_front();
      if (!out_.empty()) write();
    });
  }

  void leave_room() {
    if (in_room_.exchange(false, std::memory_order_relaxed)) w_.closed.add();
  }

  void fail(std::string what) {
    if (state_ == State::kClosed) return;
    ++w_.errors[std::move(what)];
    if (state_ == State::kInRoom) {
      leave_room();
    } else {
      w_.failed.add();
      --w_.starting;
      w_.start_more();
    }
    state_ = State::kClosed;
    // Sends still waiting for a reply will never get one: the controller must not wait on them.
    for (const auto& p : pending_) w_.rejected[p.phase].add();
    pending_.clear();
    beast::error_code ignored;
    ws_.next_layer().close(ignored);
  }

  Worker& w_;
  const std::string user_;
  const tcp::endpoint server_;
  websocket::stream<Socket> ws_;
  beast::flat_buffer in_;
  std::unique_ptr<websocket::response_type> upgrade_;
  std::deque<std::string> out_;
  std::deque<Pending> pending_;
  State state_ = State::kIdle;
  std::atomic<bool> in_room_{false};
  int64_t last_send_ns_ = 0;
  uint64_t next_id_ = kFirstSendId;
  std::array<uint64_t, kPhases> got_{};
};

void Worker::start_more() {
  // Each worker keeps its share of the connection attempts in flight: an unbounded burst of
  // 10,000 SYNs overflows the listen backlog and turns into 1 s and 3 s retransmissions.
  const int limit = std::max(1, o.connect_concurrency / o.threads);
  while (starting < limit && next_start < members.size()) {
    ++starting;
    members[next_start++]->start();
  }
}

void Worker::tick() {
  const int64_t now = now_ns();
  for (auto& m : members) m->heartbeat_if_due(now);
  ticker.expires_after(std::chrono::seconds(1));
  ticker.async_wait([this](beast::error_code ec) {
    if (!ec) tick();
  });
}

// ---------------------------------------------------------------------------------------------
// REST set-up: plain HTTP/1.1 keep-alive requests signed as the App administrator.

class Rest {
 public:
  explicit Rest(const Options& o) : o_(o), stream_(ioc_) {
    stream_.connect(tcp::endpoint(asio::ip::make_address(o.host), o.ports.front()));
    sig_ = liveroom::auth::generate_usersig(o.sdkappid, o.key, o.admin, 86400,
                                            static_cast<int64_t>(std::time(nullptr)));
  }

  // Returns the ErrorCode of the Tencent envelope; throws on a transport or HTTP failure.
  int64_t post(std::string_view command, std::string body, std::string* info = nullptr) {
    const auto target = fmt::format(
        "/v4/{}?sdkappid={}&identifier={}&usersig={}&random={}"
        "&contenttype=json",
        command, o_.sdkappid, o_.admin, sig_, ++random_);
    http::request<http::string_body> req{http::verb::post, target, 11};
    req.set(http::field::host, o_.host);
    req.set(http::field::content_type, "application/json");
    req.keep_alive(true);
    req.body() = std::move(body);
    req.prepare_payload();
    http::write(stream_, req);
    http::response<http::string_body> res;
    http::read(stream_, buffer_, res);
    if (res.result() != http::status::ok) {
      throw std::runtime_error(
          fmt::format("{}: HTTP {}: {}", command, res.result_int(), res.body().substr(0, 300)));
    }
    const auto reply = boost::json::parse(res.body()).as_object();
    if (info) *info = res.body().substr(0, 300);
    return reply.at("ErrorCode").to_number<int64_t>();
  }

 private:
  const Options& o_;
  asio::io_context ioc_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::string sig_;
  uint64_t random_ = 0;
};

std::string user_id(const Options& o, int i) {
  return fmt::format("{}{:06}", o.user_prefix, i);
}

void setup_over_rest(const Options& o) {
  Rest rest(o);
  // Members must be imported accounts; the REST API takes at most 100 per call.
  for (int first = 0; first < o.members; first += 100) {
    std::string body = R"({"Accounts":[)";
    for (int i = first; i < std::min(o.members, first + 100); ++i) {
      if (i != first) body += ',';
      body += '"' + user_id(o, i) + '"';
    }
    body += "]}";
    std::string info;
    if (rest.post("im_open_login_svc/multiaccount_import", std::move(body), &info) != 0) {
      throw std::runtime_error("multiaccount_import failed: " + info);
    }
  }
  // The first member owns the room: it accepts the gift storm's battle.
  const auto body =
      fmt::format(R"({{"RoomInfo":{{"RoomId":"{}","RoomType":"Live","RoomName":"gateway bench",)"
                  R"("MaxMemberCount":{},"Owner_Account":"{}"}}}})",
                  o.room, std::max(o.members + 100, 1000), user_id(o, 0));
  std::string info;
  const int64_t code = rest.post("live_engine_http_srv/create_room", body, &info);
  constexpr int64_t kRoomExistsSameOwner = 100010;  // a rerun against the same server
  if (code != 0 && code != kRoomExistsSameOwner) {
    throw std::runtime_error("create_room failed: " + info);
  }
  if (o.gift_s <= 0) return;
  // The gift storm: a 1-coin gift, and a rival room whose battle with ours outlasts the run.
  rest.post("live_engine_http_srv/add_gift",
            fmt::format(R"({{"GiftId":"{}","DefaultName":"Bench","Coins":1}})", kBenchGift));
  const std::string rival = o.room + "-rival";
  if (rest.post("live_engine_http_srv/create_room",
                fmt::format(R"({{"RoomInfo":{{"RoomId":"{}","RoomType":"Live"}}}})", rival),
                &info) != 0 &&
      info.find("100010") == std::string::npos) {
    throw std::runtime_error("create_room (rival) failed: " + info);
  }
}

// The storm's battle: the rival room invites ours (its invitation lapses in 10 s, so this runs
// right before the storm) for longer than the storm lasts.
void create_battle_over_rest(const Options& o) {
  Rest rest(o);
  std::string out;
  if (rest.post("live_engine_http_pk/create_battle",
                fmt::format(R"({{"FromRoomId":"{}-rival","ToRoomIdList":["{}"],"Duration":{}}})",
                            o.room, o.room, static_cast<int64_t>(o.gift_s * 1000) + 60'000),
                &out) != 0) {
    throw std::runtime_error("create_battle failed: " + out);
  }
  const auto reply = boost::json::parse(out).as_object();
  g_battle_id = std::string(reply.at("Response").at("BattleId").as_string());
}

// ---------------------------------------------------------------------------------------------
// Measurements of the processes.

void raise_nofile_limit(int members) {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return;
  lim.rlim_cur = lim.rlim_max;
  setrlimit(RLIMIT_NOFILE, &lim);
  getrlimit(RLIMIT_NOFILE, &lim);
  if (lim.rlim_cur < static_cast<rlim_t>(members) + 64) {
    std::fprintf(stderr, "gateway_load: warning: only %llu file descriptors for %d members\n",
                 static_cast<unsigned long long>(lim.rlim_cur), members);
  }
}

// VmRSS of the server processes in KiB, summed, or -1 if there are none or one cannot be read.
int64_t rss_kb(const std::vector<int>& pids) {
  int64_t total = 0;
  for (const int pid : pids) {
    if (pid <= 0) return -1;
    std::ifstream f(fmt::format("/proc/{}/status", pid));
    std::string line;
    int64_t kb = -1;
    while (kb < 0 && std::getline(f, line)) {
      if (line.starts_with("VmRSS:")) kb = std::strtoll(line.c_str() + 6, nullptr, 10);
    }
    if (kb < 0) return -1;
    total += kb;
  }
  return pids.empty() ? -1 : total;
}

// CPU seconds (user + system) used so far by a process; this one when pid is 0.
double cpu_seconds(int pid) {
  if (pid == 0) {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
  }
  std::ifstream f(fmt::format("/proc/{}/stat", pid));
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  // Fields after the command name, which is in parentheses and may contain spaces.
  const auto close = text.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream rest(text.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// CPU seconds used so far by the server processes, summed.
double cpu_seconds(const std::vector<int>& pids) {
  double total = 0;
  for (const int pid : pids) total += pid > 0 ? std::max(0.0, cpu_seconds(pid)) : 0;
  return total;
}

// CPU seconds the whole machine spent busy so far (every state of /proc/stat's "cpu" line but
// idle and iowait), summed over its cores. Minus the server's and this generator's, it is what
// the rest of the machine took: other processes, and kernel work charged to no process (part of
// loopback's TCP receive path runs in ksoftirqd). On a shared machine, the number that says
// whether a run can be believed. (Interrupt time cannot be split off: the kernel charges part
// of it to the process it interrupted as well.)
double machine_busy_seconds() {
  std::ifstream f("/proc/stat");
  std::string cpu;
  f >> cpu;
  std::array<unsigned long long, 8> v{};  // user nice system idle iowait irq softirq steal
  for (auto& x : v) f >> x;
  return static_cast<double>(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) /
         static_cast<double>(sysconf(_SC_CLK_TCK));
}

// ---------------------------------------------------------------------------------------------
// The run.

struct PhaseResult {
  int phase = 0;
  std::string name;
  double duration_s = 0;
  uint64_t posted = 0, ok = 0, refused = 0;
  uint64_t members = 0;  // in the room when the phase started
  uint64_t expected = 0, received = 0, in_window = 0;
  int64_t lost = 0;
  uint64_t members_missing = 0;  // members in the room at the end that missed a message
  double deliveries_per_s = 0;
  double send_rate = 0;
  uint64_t blocked_by_window = 0, blocked_by_sender_rate = 0;
  Histogram latency, ack;
  Histogram first, last, spread;  // per message: first member's latency, last's, last - first
  // Shares of one core over the phase: this generator, liveroomd, the rest of the machine.
  double client_cpu = 0, server_cpu = 0, other_cpu = 0;
};

class Controller {
 public:
  Controller(const Options& o, std::vector<std::unique_ptr<Worker>>& workers)
      : o_(o), workers_(workers) {}

  uint64_t sum(Counter Worker::*c) const {
    uint64_t n = 0;
    for (auto& w : workers_) n += ((*w).*c).get();
    return n;
  }
  uint64_t sum(std::array<Counter, kPhases> Worker::*c, int phase) const {
    uint64_t n = 0;
    for (auto& w : workers_) n += ((*w).*c)[phase].get();
    return n;
  }
  uint64_t in_room() const { return sum(&Worker::entered) - sum(&Worker::closed); }

  void choose_senders() {
    for (auto& w : workers_) {
      for (auto& m : w->members) {
        if (senders_.size() < static_cast<size_t>(o_.senders) && m->in_room()) {
          senders_.push_back({m.get(), w.get(), 0});
        }
      }
    }
  }
  size_t senders() const { return senders_.size(); }

  // How often the throughput phase's loop looks at the counters when it cannot send: a
  // millisecond is short next to a fan-out, and rare enough not to take CPU from the I/O.
  static constexpr auto kPollInterval = std::chrono::milliseconds(1);

  // The gift storm: --gift-rate gifts/s from the gift senders (members 1 .. --gift-senders, in
  // turn) and, beside them, chat at --rate from the chat senders, for --gift-duration s. Answers
  // the chat's result (storm_chat) and the gifts' (storm_gifts: acknowledgements).
  std::pair<PhaseResult, PhaseResult> run_storm() {
    std::vector<Sender> givers;
    for (auto& w : workers_) {
      for (auto& m : w->members) {
        if (m.get() == owner_ || !m->in_room()) continue;
        if (givers.size() < static_cast<size_t>(o_.gift_senders)) {
          givers.push_back({m.get(), w.get(), 0});
        }
      }
    }
    PhaseResult chat = start(kStormChat, o_.gift_s);
    PhaseResult gifts = start(kStormGifts, o_.gift_s);
    const int64_t begin = now_ns();
    const int64_t end = begin + static_cast<int64_t>(o_.gift_s * kNsPerSec);
    g_phase_end_ns[kStormChat].store(end, std::memory_order_relaxed);
    const auto chat_gap = static_cast<int64_t>(kNsPerSec / o_.rate);
    const auto gift_gap = static_cast<int64_t>(kNsPerSec / o_.gift_rate);
    int64_t next_chat = begin, next_gift = begin;
    uint64_t chats = 0, sent_gifts = 0;
    while (true) {
      const int64_t next = std::min(next_chat, next_gift);
      if (next >= end) break;
      std::this_thread::sleep_for(std::chrono::nanoseconds(next - now_ns()));
      if (next_chat <= next_gift) {
        post(senders_[chats % senders_.size()], kStormChat, chats);
        ++chats;
        next_chat += chat_gap;
      } else {
        Sender& s = givers[sent_gifts % givers.size()];
        asio::post(s.worker->ioc, [m = s.member, seq = sent_gifts] { m->send_gift(seq); });
        ++sent_gifts;
        next_gift += gift_gap;
      }
    }
    finish(chat, chats, begin);
    finish(gifts, sent_gifts, begin);
    return {std::move(chat), std::move(gifts)};
  }

  // The room's owner (the first member) accepts the battle the set-up created.
  bool start_battle() {
    for (auto& w : workers_) {
      for (auto& m : w->members) {
        if (m->user() != user_id(o_, 0) || !m->in_room()) continue;
        owner_ = m.get();
        asio::post(w->ioc, [m = m.get()] { m->accept_battle(); });
      }
    }
    const int64_t give_up = now_ns() + 10 * kNsPerSec;
    while (g_battle_code.load() == INT64_MIN && now_ns() < give_up) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return g_battle_code.load() == 0;
  }

  PhaseResult run(int phase, double duration_s, bool paced) {
    PhaseResult r = start(phase, duration_s);
    const int64_t began = now_ns();
    const int64_t end = began + static_cast<int64_t>(duration_s * kNsPerSec);
    g_phase_end_ns[phase].store(end, std::memory_order_relaxed);
    const int64_t min_gap = static_cast<int64_t>(kNsPerSec / o_.sender_max_rate);
    size_t next_sender = 0;
    uint64_t posted = 0;
    if (paced) {
      const auto gap = static_cast<int64_t>(kNsPerSec / o_.rate);
      for (int64_t t = began; t < end; t += gap) {
        std::this_thread::sleep_for(std::chrono::nanoseconds(t - now_ns()));
        post(senders_[next_sender++ % senders_.size()], phase, posted++);
      }
    } else {
      // By default the loop is closed on deliveries, not on replies: a send_text reply only
      // says the message was accepted, while its fan-out to every member may still be queued in
      // the server, so a window of replies measures how fast the server accepts messages and
      // lets its queues grow until members are dropped as slow consumers.
      const uint64_t members = std::max<uint64_t>(1, r.members);
      const auto window = static_cast<uint64_t>(o_.window);
      auto window_full = [&] {
        const uint64_t refused = sum(&Worker::rejected, phase);
        if (o_.flow_on_replies) return posted - refused - sum(&Worker::acked, phase) >= window;
        const uint64_t owed = (posted - refused) * members;
        return owed >= sum(&Worker::delivered, phase) + window * members;
      };
      for (int64_t now = now_ns(); now < end; now = now_ns()) {
        if (window_full()) {
          ++r.blocked_by_window;
          std::this_thread::sleep_for(kPollInterval);
          continue;
        }
        Sender* chosen = nullptr;
        for (size_t k = 0; k < senders_.size() && !chosen; ++k) {
          Sender& s = senders_[(next_sender + k) % senders_.size()];
          if (now - s.last_post_ns >= min_gap) chosen = &s;
        }
        if (!chosen) {
          ++r.blocked_by_sender_rate;
          std::this_thread::sleep_for(kPollInterval);
          continue;
        }
        ++next_sender;
        chosen->last_post_ns = now;
        post(*chosen, phase, posted++);
      }
    }
    finish(r, posted, began);
    return r;
  }

 private:
  struct Sender {
    Member* member;
    Worker* worker;
    int64_t last_post_ns;
  };

  static void post(Sender& s, int phase, uint64_t seq) {
    asio::post(s.worker->ioc, [m = s.member, phase, seq] { m->send_text(phase, seq); });
  }

  // What a phase notes before it sends (the CPU counters are read into the CPU fields, which
  // finish() turns into shares).
  PhaseResult start(int phase, double duration_s) {
    PhaseResult r;
    r.phase = phase;
    r.name = std::string(kPhaseNames[phase]);
    r.duration_s = duration_s;
    r.members = in_room();
    r.client_cpu = cpu_seconds(0);
    r.server_cpu = cpu_seconds(o_.server_pids);
    r.other_cpu = machine_busy_seconds();
    return r;
  }

  // Waits for the phase's replies and, for chat, its deliveries (or for progress to stop), then
  // notes its figures.
  void finish(PhaseResult& r, uint64_t posted, int64_t begin) {
    const int phase = r.phase;
    r.posted = posted;
    r.send_rate = static_cast<double>(posted) / (static_cast<double>(now_ns() - begin) / kNsPerSec);
    const int64_t give_up = now_ns() + static_cast<int64_t>(o_.drain_s * kNsPerSec);
    while (sum(&Worker::acked, phase) + sum(&Worker::rejected, phase) < posted &&
           now_ns() < give_up) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    r.ok = sum(&Worker::acked, phase);
    r.refused = sum(&Worker::rejected, phase);
    if (phase != kStormGifts) {  // chat: wait for its deliveries too
      r.expected = r.ok * r.members;
      uint64_t last = sum(&Worker::delivered, phase);
      int64_t last_progress = now_ns();
      while (last < r.expected && now_ns() < give_up && now_ns() - last_progress < 2 * kNsPerSec) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        if (auto got = sum(&Worker::delivered, phase); got != last) {
          last = got;
          last_progress = now_ns();
        }
      }
      r.received = last;
      r.lost = static_cast<int64_t>(r.expected) - static_cast<int64_t>(r.received);
    }
    const double wall = static_cast<double>(now_ns() - begin) / kNsPerSec;
    const double client0 = r.client_cpu, server0 = r.server_cpu, machine0 = r.other_cpu;
    r.client_cpu = (cpu_seconds(0) - client0) / wall;
    r.server_cpu = (cpu_seconds(o_.server_pids) - server0) / wall;
    r.other_cpu =
        std::max(0.0, (machine_busy_seconds() - machine0) / wall - r.client_cpu - r.server_cpu);
  }

  const Options& o_;
  std::vector<std::unique_ptr<Worker>>& workers_;
  std::vector<Sender> senders_;
  Member* owner_ = nullptr;  // the room's owner: it sends no gifts
};

double ms(uint64_t us) {
  return static_cast<double>(us) / 1000.0;
}

int run(const Options& o) {
  raise_nofile_limit(o.members);
  const auto address = asio::ip::make_address(o.host);

  if (o.setup) {
    const int64_t t = now_ns();
    setup_over_rest(o);
    std::fprintf(stderr, "gateway_load: imported %d accounts, room %s ready (%.1f s)\n", o.members,
                 o.room.c_str(), static_cast<double>(now_ns() - t) / kNsPerSec);
    // Let the store's writer settle, so the baseline does not catch allocations in flight.
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  const int64_t rss_before = rss_kb(o.server_pids);

  std::vector<std::unique_ptr<Worker>> workers;
  for (int t = 0; t < o.threads; ++t) workers.push_back(std::make_unique<Worker>(o));
  for (int i = 0; i < o.members; ++i) {
    Worker& w = *workers[i % o.threads];
    const tcp::endpoint server(address, o.ports[static_cast<size_t>(i) % o.ports.size()]);
    w.members.push_back(std::make_unique<Member>(w, user_id(o, i), server));
  }

  Controller ctl(o, workers);
  const int64_t connect_start = now_ns();
  for (auto& w : workers) {
    w->thread = std::thread([&w = *w] {
      auto guard = asio::make_work_guard(w.ioc);
      w.start_more();
      w.tick();
      w.ioc.run();
    });
  }

  // Connect and enter.
  const int64_t connect_deadline = connect_start + static_cast<int64_t>(o.connect_timeout_s * 1e9);
  int64_t next_progress = connect_start + kNsPerSec;
  while (ctl.sum(&Worker::entered) + ctl.sum(&Worker::failed) < static_cast<uint64_t>(o.members) &&
         now_ns() < connect_deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (now_ns() >= next_progress) {
      std::fprintf(stderr, "gateway_load: %llu entered, %llu failed\n",
                   static_cast<unsigned long long>(ctl.sum(&Worker::entered)),
                   static_cast<unsigned long long>(ctl.sum(&Worker::failed)));
      next_progress += 5 * kNsPerSec;
    }
  }
  const double connect_s = static_cast<double>(now_ns() - connect_start) / kNsPerSec;
  const uint64_t entered = ctl.sum(&Worker::entered);
  const uint64_t failed = ctl.sum(&Worker::failed);
  std::fprintf(stderr, "gateway_load: %llu of %d entered in %.1f s (%llu failed)\n",
               static_cast<unsigned long long>(entered), o.members, connect_s,
               static_cast<unsigned long long>(failed));

  // Idle: the server's member-list batches drain, then its memory is read.
  std::this_thread::sleep_for(std::chrono::duration<double>(o.idle_s));
  const int64_t rss_idle = rss_kb(o.server_pids);
  const uint64_t idle_members = ctl.in_room();

  std::vector<PhaseResult> results;
  bool storm_failed = false;  // the storm was asked for and could not run
  ctl.choose_senders();
  if (ctl.senders() > 0) {
    std::fprintf(stderr, "gateway_load: latency phase: %.0f messages/s for %.0f s\n", o.rate,
                 o.latency_s);
    if (o.latency_s > 0) results.push_back(ctl.run(kLatency, o.latency_s, true));
    std::fprintf(stderr, "gateway_load: throughput phase: window %d messages for %.0f s\n",
                 o.window, o.throughput_s);
    if (o.throughput_s > 0) results.push_back(ctl.run(kThroughput, o.throughput_s, false));
    bool battle_created = true;
    if (o.gift_s > 0 && o.setup) {
      // The workers run: a failure here must stop them (below) rather than leave run() by an
      // exception with their threads still joinable.
      try {
        create_battle_over_rest(o);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "gateway_load: error: %s; no gift storm\n", e.what());
        battle_created = false;
      }
    }
    if (o.gift_s > 0 && !battle_created) {
      storm_failed = true;
    } else if (o.gift_s > 0 && !ctl.start_battle()) {
      storm_failed = true;
      std::fprintf(stderr, "gateway_load: the room's owner could not accept the battle\n");
    } else if (o.gift_s > 0) {
      std::fprintf(stderr,
                   "gateway_load: gift storm: %.0f gifts/s from %d members, %.0f messages/s of "
                   "chat, for %.0f s, in a battle\n",
                   o.gift_rate, o.gift_senders, o.rate, o.gift_s);
      auto [chat, gifts] = ctl.run_storm();
      results.push_back(std::move(chat));
      results.push_back(std::move(gifts));
    }
  }

  for (auto& w : workers) w->ioc.stop();
  for (auto& w : workers) w->thread.join();

  // Everything below reads what the (stopped) workers recorded.
  std::map<std::string, uint64_t> errors;
  uint64_t frames = 0, objects = 0, bytes = 0;
  for (auto& w : workers) {
    for (auto& [what, n] : w->errors) errors[what] += n;
    frames += w->frames;
    objects += w->objects;
    bytes += w->bytes;
  }
  uint64_t gift_events = 0, score_events = 0;
  for (auto& w : workers) {
    gift_events += w->gift_events.get();
    score_events += w->score_events.get();
  }
  for (auto& r : results) {
    const int phase = r.phase;
    for (auto& w : workers) {
      r.latency.merge(w->latency[phase]);
      r.ack.merge(w->ack_latency[phase]);
      r.in_window += w->in_window[phase];
      for (auto& m : w->members) {
        if (phase != kStormGifts && m->in_room() && m->received(phase) < r.ok) {
          ++r.members_missing;
        }
      }
    }
    r.deliveries_per_s = static_cast<double>(r.in_window) / r.duration_s;
    std::vector<Span> spans;
    for (auto& w : workers) {
      const auto& mine = w->spans[phase];
      if (mine.size() > spans.size()) spans.resize(mine.size());
      for (size_t i = 0; i < mine.size(); ++i) {
        spans[i].first_us = std::min(spans[i].first_us, mine[i].first_us);
        spans[i].last_us = std::max(spans[i].last_us, mine[i].last_us);
      }
    }
    for (const auto& span : spans) {
      if (span.first_us == UINT32_MAX) continue;  // never delivered
      r.first.add(span.first_us);
      r.last.add(span.last_us);
      r.spread.add(span.last_us - span.first_us);
    }
  }

  const double per_member_kb =
      rss_before >= 0 && rss_idle >= 0 && idle_members > 0
          ? static_cast<double>(rss_idle - rss_before) / static_cast<double>(idle_members)
          : -1;

  // The human table.
  std::printf("\nliveroom gateway fan-out: %d members, %zu senders, %d client thread(s)\n\n",
              o.members, ctl.senders(), o.threads);
  std::printf("members in the room   %llu of %d (%llu failed); connect + enter %.1f s (%.0f/s)\n",
              static_cast<unsigned long long>(entered), o.members,
              static_cast<unsigned long long>(failed), connect_s,
              static_cast<double>(entered) / connect_s);
  if (rss_before >= 0) {
    std::printf(
        "server RSS            %.1f MB before, %.1f MB with %llu idle members: %.1f KB "
        "per member\n",
        static_cast<double>(rss_before) / 1024, static_cast<double>(rss_idle) / 1024,
        static_cast<unsigned long long>(idle_members), per_member_kb);
  }
  std::printf(
      "\n| phase | msgs sent | ok | deliveries | expected | lost | deliveries/s | p50 | "
      "p99 | max | send_text reply p99 | CPU: generator | liveroomd | rest of machine |\n");
  std::printf(
      "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
      "| ---: | ---: |\n");
  for (auto& r : results) {
    std::printf(
        "| %s (%.1f msg/s) | %llu | %llu | %llu | %llu | %lld | %.0f | %.1f ms | %.1f ms "
        "| %.1f ms | %.1f ms | %.0f%% | %.0f%% | %.0f%% |\n",
        r.name.c_str(), r.send_rate, static_cast<unsigned long long>(r.posted),
        static_cast<unsigned long long>(r.ok), static_cast<unsigned long long>(r.received),
        static_cast<unsigned long long>(r.expected), static_cast<long long>(r.lost),
        r.deliveries_per_s, ms(r.latency.percentile(0.5)), ms(r.latency.percentile(0.99)),
        ms(r.latency.max()), ms(r.ack.percentile(0.99)), r.client_cpu * 100, r.server_cpu * 100,
        r.other_cpu * 100);
  }
  std::printf(
      "\nWhere the latency goes, per message: its first delivery (send_text request, store, "
      "hand-off to the I/O threads), its last, and the walk over the members in between.\n\n"
      "| phase | messages | first member p50 / p99 | last member p50 / p99 | walk (last - first) "
      "p50 / p99 |\n| --- | ---: | ---: | ---: | ---: |\n");
  for (auto& r : results) {
    std::printf("| %s | %llu | %.1f / %.1f ms | %.1f / %.1f ms | %.1f / %.1f ms |\n",
                r.name.c_str(), static_cast<unsigned long long>(r.first.total()),
                ms(r.first.percentile(0.5)), ms(r.first.percentile(0.99)),
                ms(r.last.percentile(0.5)), ms(r.last.percentile(0.99)),
                ms(r.spread.percentile(0.5)), ms(r.spread.percentile(0.99)));
  }
  std::printf("\n");
  for (auto& r : results) {
    if (r.members_missing) {
      std::printf("%s: %llu members missed at least one message\n", r.name.c_str(),
                  static_cast<unsigned long long>(r.members_missing));
    }
    if (r.name == kPhaseNames[kThroughput]) {
      std::printf(
          "throughput: the controller waited %llu times on the window (%d messages' %s), %llu "
          "times on the senders' rate cap (%.0f/s each)\n",
          static_cast<unsigned long long>(r.blocked_by_window), o.window,
          o.flow_on_replies ? "replies" : "deliveries",
          static_cast<unsigned long long>(r.blocked_by_sender_rate), o.sender_max_rate);
    }
  }
  if (o.gift_s > 0) {
    std::printf("gift storm: members received %llu gift events (Gift, GiftSummary) and %llu "
                "BattleScore events\n",
                static_cast<unsigned long long>(gift_events),
                static_cast<unsigned long long>(score_events));
  }
  std::printf("client received %llu frames, %llu objects, %.1f MB\n",
              static_cast<unsigned long long>(frames), static_cast<unsigned long long>(objects),
              static_cast<double>(bytes) / 1e6);
  for (auto& [what, n] : errors) {
    std::printf("error x%llu: %s\n", static_cast<unsigned long long>(n), what.c_str());
  }

  // The machine-readable line, last.
  std::string json =
      fmt::format(R"({{"bench":"gateway","members":{},"entered":{},"failed":{},"connect_s":{:.3f},)"
                  R"("rss_before_kb":{},"rss_idle_kb":{},"idle_members":{},"kb_per_member":{:.2f},)"
                  R"("senders":{},"threads":{})",
                  o.members, entered, failed, connect_s, rss_before, rss_idle, idle_members,
                  per_member_kb, ctl.senders(), o.threads);
  for (auto& r : results) {
    json += fmt::format(
        R"(,"{}":{{"duration_s":{},"send_rate":{:.2f},"sent":{},"ok":{},"refused":{},)"
        R"("members":{},"expected":{},"received":{},"lost":{},"members_missing":{},)"
        R"("deliveries_per_s":{:.0f},"p50_ms":{:.3f},"p99_ms":{:.3f},"max_ms":{:.3f},)"
        R"("reply_p99_ms":{:.3f},"first_p50_ms":{:.3f},"first_p99_ms":{:.3f},)"
        R"("last_p50_ms":{:.3f},"last_p99_ms":{:.3f},"walk_p50_ms":{:.3f},"walk_p99_ms":{:.3f},)"
        R"("client_cpu":{:.3f},"server_cpu":{:.3f},"other_cpu":{:.3f}}})",
        r.name, r.duration_s, r.send_rate, r.posted, r.ok, r.refused, r.members, r.expected,
        r.received, r.lost, r.members_missing, r.deliveries_per_s, ms(r.latency.percentile(0.5)),
        ms(r.latency.percentile(0.99)), ms(r.latency.max()), ms(r.ack.percentile(0.99)),
        ms(r.first.percentile(0.5)), ms(r.first.percentile(0.99)), ms(r.last.percentile(0.5)),
        ms(r.last.percentile(0.99)), ms(r.spread.percentile(0.5)), ms(r.spread.percentile(0.99)),
        r.client_cpu, r.server_cpu, r.other_cpu);
  }
  json += fmt::format(R"(,"gift_events":{},"score_events":{})", gift_events, score_events);
  json += fmt::format(R"(,"errors":{}}})",
                      std::accumulate(errors.begin(), errors.end(), uint64_t{0},
                                      [](uint64_t n, const auto& e) { return n + e.second; }));
  std::printf("%s\n", json.c_str());
  std::fflush(stdout);

  if (entered == 0 || results.empty() || storm_failed) return 1;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse_options(argc, argv);
  try {
    return run(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gateway_load: error: %s\n", e.what());
    return 2;
  }
}
