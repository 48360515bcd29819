// Prometheus scrapes /metrics and trusts the numbers, so these tests pin the exposition text byte
// for byte, the arithmetic of histograms (bucket edges, an exact sum), and that counts stay exact
// while a scrape runs concurrently with updates.
#include "metrics/registry.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <limits>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace liveroom::metrics {
namespace {

// The value of the sample line that starts with `series` followed by a space.
std::string sample(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with(series + " ")) return line.substr(series.size() + 1);
  }
  return "<missing " + series + ">";
}

// What makes an exposition valid beyond each line's syntax: each family's # HELP and # TYPE once,
// its samples right after them, and no series twice. What is wrong, or "" for nothing.
std::string exposition_error(const std::string& text) {
  std::set<std::string> helped, typed, series;
  std::string family;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("# HELP ")) {
      family = line.substr(7, line.find(' ', 7) - 7);
      if (!helped.insert(family).second) return "HELP twice: " + family;
    } else if (line.starts_with("# TYPE ")) {
      if (!line.starts_with("# TYPE " + family + " ") || !typed.insert(family).second) {
        return "TYPE out of place: " + line;
      }
    } else {
      const std::string key = line.substr(0, line.rfind(' '));
      const std::string metric = key.substr(0, key.find('{'));
      if (metric != family && metric != family + "_bucket" && metric != family + "_sum" &&
          metric != family + "_count") {
        return "sample outside its family: " + line;
      }
      if (!series.insert(key).second) return "series twice: " + key;
    }
  }
  return "";
}

// How many lines of `text` start with `prefix`.
size_t count_lines(const std::string& text, const std::string& prefix) {
  size_t n = 0;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) n += line.starts_with(prefix);
  return n;
}

TEST(Counter, CountsAndIsSharedByNameAndLabels) {
  Registry r;
  Counter& a = r.counter("liveroom_requests_total", "Requests.", {{"code", "0"}});
  a.inc();
  a.inc(4);
  Counter& again = r.counter("liveroom_requests_total", "Requests.", {{"code", "0"}});
  EXPECT_EQ(&a, &again);
  EXPECT_EQ(again.value(), 5u);

  Counter& other = r.counter("liveroom_requests_total", "Requests.", {{"code", "100004"}});
  EXPECT_NE(&a, &other);
  EXPECT_EQ(other.value(), 0u);
}

TEST(Counter, ReferencesSurviveManyLaterRegistrations) {
  Registry r;
  Counter& first = r.counter("c_total", "C.", {{"n", "0"}});
  first.inc(7);
  for (int i = 1; i < 1000; ++i) r.counter("c_total", "C.", {{"n", std::to_string(i)}}).inc();
  for (int i = 0; i < 100; ++i) r.counter("family_" + std::to_string(i), "F.").inc();
  EXPECT_EQ(first.value(), 7u);
  EXPECT_EQ(&first, &r.counter("c_total", "C.", {{"n", "0"}}));
}

TEST(Registry, RendersSmallRegistryExactly) {
  Registry r;
  // Registered out of order: the text is sorted by family name, then by label values.
  r.gauge("liveroom_rooms", "Rooms in memory.", [] { return 3.0; });
  r.counter("liveroom_requests_total", "Requests answered.",
            {{"service", "live_engine_http_srv"}, {"command", "get_room_info"}, {"code", "0"}})
      .inc(2);
  r.counter("liveroom_requests_total", "Requests answered.",
            {{"service", "live_engine_http_srv"}, {"command", "create_room"}, {"code", "0"}})
      .inc();
  const double bounds[] = {0.001, 0.01, 0.1};
  Histogram& h = r.histogram("liveroom_store_commit_duration_seconds", "Commit time.", bounds);
  h.observe(0.0005);
  h.observe(0.001);  // on the bound: counted in le="0.001"
  h.observe(0.05);
  h.observe(3);

  EXPECT_EQ(r.render(),
            "# HELP liveroom_requests_total Requests answered.\n"
            "# TYPE liveroom_requests_total counter\n"
            "liveroom_requests_total{service=\"live_engine_http_srv\",command=\"create_room\","
            "code=\"0\"} 1\n"
            "liveroom_requests_total{service=\"live_engine_http_srv\",command=\"get_room_info\","
            "code=\"0\"} 2\n"
            "# HELP liveroom_rooms Rooms in memory.\n"
            "# TYPE liveroom_rooms gauge\n"
            "liveroom_rooms 3\n"
            "# HELP liveroom_store_commit_duration_seconds Commit time.\n"
            "# TYPE liveroom_store_commit_duration_seconds histogram\n"
            "liveroom_store_commit_duration_seconds_bucket{le=\"0.001\"} 2\n"
            "liveroom_store_commit_duration_seconds_bucket{le=\"0.01\"} 2\n"
            "liveroom_store_commit_duration_seconds_bucket{le=\"0.1\"} 3\n"
            "liveroom_store_commit_duration_seconds_bucket{le=\"+Inf\"} 4\n"
            "liveroom_store_commit_duration_seconds_sum 3.0515\n"
            "liveroom_store_commit_duration_seconds_count 4\n");
}

TEST(Registry, EmptyRegistryRendersNothing) {
  EXPECT_EQ(Registry().render(), "");
}

TEST(Registry, EscapesLabelValuesAndHelp) {
  Registry r;
  r.counter("c_total", "Help with \\ backslash,\nnewline and \"quotes\".", {{"path", "a\\b\"c\nd"}})
      .inc();
  EXPECT_EQ(r.render(),
            "# HELP c_total Help with \\\\ backslash,\\nnewline and \"quotes\".\n"
            "# TYPE c_total counter\n"
            "c_total{path=\"a\\\\b\\\"c\\nd\"} 1\n");
}

TEST(Registry, HistogramLabelsComeBeforeLe) {
  Registry r;
  const double bounds[] = {1};
  r.histogram("d_seconds", "D.", bounds, {{"command", "x"}}).observe(0.5);
  const std::string text = r.render();
  EXPECT_EQ(sample(text, "d_seconds_bucket{command=\"x\",le=\"1\"}"), "1");
  EXPECT_EQ(sample(text, "d_seconds_bucket{command=\"x\",le=\"+Inf\"}"), "1");
  EXPECT_EQ(sample(text, "d_seconds_sum{command=\"x\"}"), "0.5");
  EXPECT_EQ(sample(text, "d_seconds_count{command=\"x\"}"), "1");
}

TEST(Registry, ConstantLabelsGoFirstOnEverySample) {
  Registry r(Labels{{"app", "1400000001"}, {"node", "n1"}});
  r.counter("c_total", "C.", {{"code", "0"}}).inc(3);
  r.counter("bare_total", "No labels of its own.").inc();
  r.gauge("g", "G.", [] { return 2.5; });
  r.sampled_counter("s_total", "S.", [] { return uint64_t{9}; }, {{"result", "ok"}});
  const double bounds[] = {1};
  r.histogram("d_seconds", "D.", bounds, {{"command", "x"}}).observe(0.5);

  const std::string text = r.render();
  EXPECT_EQ(exposition_error(text), "");
  EXPECT_EQ(sample(text, "c_total{app=\"1400000001\",node=\"n1\",code=\"0\"}"), "3");
  EXPECT_EQ(sample(text, "bare_total{app=\"1400000001\",node=\"n1\"}"), "1");
  EXPECT_EQ(sample(text, "g{app=\"1400000001\",node=\"n1\"}"), "2.5");
  EXPECT_EQ(sample(text, "s_total{app=\"1400000001\",node=\"n1\",result=\"ok\"}"), "9");
  EXPECT_EQ(sample(text, "d_seconds_bucket{app=\"1400000001\",node=\"n1\",command=\"x\",le=\"1\"}"),
            "1");
  EXPECT_EQ(
      sample(text, "d_seconds_bucket{app=\"1400000001\",node=\"n1\",command=\"x\",le=\"+Inf\"}"),
      "1");
  EXPECT_EQ(sample(text, "d_seconds_sum{app=\"1400000001\",node=\"n1\",command=\"x\"}"), "0.5");
  EXPECT_EQ(sample(text, "d_seconds_count{app=\"1400000001\",node=\"n1\",command=\"x\"}"), "1");
}

TEST(Registry, RejectsBadConstantLabels) {
  EXPECT_THROW(Registry(Labels{{"", "1"}}), std::invalid_argument);
  EXPECT_THROW(Registry(Labels{{"__app", "1"}}), std::invalid_argument);
  EXPECT_THROW(Registry(Labels{{"a-b", "1"}}), std::invalid_argument);
  EXPECT_THROW(Registry(Labels{{"le", "1"}}), std::invalid_argument);  // the bucket's
  EXPECT_THROW(Registry(Labels{{"app", "1"}, {"app", "2"}}), std::invalid_argument);

  // A metric may not repeat a constant label among its own.
  Registry r(Labels{{"app", "1"}});
  EXPECT_THROW(r.counter("c_total", "C.", {{"app", "2"}}), std::invalid_argument);
  EXPECT_EQ(r.render(), "");
}

TEST(Registry, RenderAllMergesFamiliesOfSeveralRegistries) {
  Registry a(Labels{{"app", "1400000001"}});
  Registry b(Labels{{"app", "1400000002"}});
  const double bounds[] = {0.01};
  for (Registry* r : {&a, &b}) {
    r->counter("liveroom_requests_total", "Requests answered.", {{"code", "0"}}).inc();
    r->gauge("liveroom_rooms", "Rooms in memory.", [r, &a] { return r == &a ? 3.0 : 4.0; });
    r->histogram("liveroom_request_duration_seconds", "Latency.", bounds).observe(0.001);
  }
  a.counter("liveroom_requests_total", "Requests answered.", {{"code", "100004"}}).inc(5);
  // A family only the second registry has.
  b.sampled_counter("liveroom_webhook_deliveries_total", "Deliveries.", [] { return uint64_t{7}; });

  const Registry* both[] = {&a, &b};
  const std::string text = Registry::render_all(both);
  EXPECT_EQ(exposition_error(text), "");
  for (const char* family :
       {"liveroom_requests_total", "liveroom_rooms", "liveroom_request_duration_seconds",
        "liveroom_webhook_deliveries_total"}) {
    EXPECT_EQ(count_lines(text, std::string("# HELP ") + family + " "), 1u) << family;
    EXPECT_EQ(count_lines(text, std::string("# TYPE ") + family + " "), 1u) << family;
  }
  EXPECT_EQ(sample(text, "liveroom_requests_total{app=\"1400000001\",code=\"0\"}"), "1");
  EXPECT_EQ(sample(text, "liveroom_requests_total{app=\"1400000001\",code=\"100004\"}"), "5");
  EXPECT_EQ(sample(text, "liveroom_requests_total{app=\"1400000002\",code=\"0\"}"), "1");
  EXPECT_EQ(sample(text, "liveroom_rooms{app=\"1400000001\"}"), "3");
  EXPECT_EQ(sample(text, "liveroom_rooms{app=\"1400000002\"}"), "4");
  EXPECT_EQ(
      sample(text, "liveroom_request_duration_seconds_bucket{app=\"1400000001\",le=\"0.01\"}"),
      "1");
  EXPECT_EQ(sample(text, "liveroom_request_duration_seconds_count{app=\"1400000002\"}"), "1");
  EXPECT_EQ(sample(text, "liveroom_webhook_deliveries_total{app=\"1400000002\"}"), "7");
  EXPECT_EQ(count_lines(text, "liveroom_webhook_deliveries_total"), 1u);
  // Families sorted by name across the registries, as render() sorts one registry's.
  EXPECT_LT(text.find("# HELP liveroom_request_duration_seconds "),
            text.find("# HELP liveroom_requests_total "));
  EXPECT_LT(text.find("# HELP liveroom_rooms "),
            text.find("# HELP liveroom_webhook_deliveries_total "));
}

TEST(Registry, RenderAllOfOneRegistryIsItsRender) {
  Registry plain;
  Registry labelled(Labels{{"app", "1400000001"}});
  const double bounds[] = {0.001, 0.01};
  for (Registry* r : {&plain, &labelled}) {
    r->counter("c_total", "C.", {{"code", "0"}}).inc(2);
    r->gauge("g", "G.", [] { return 1.5; });
    r->histogram("h_seconds", "H.", bounds, {{"command", "x"}}).observe(0.005);
    const Registry* one[] = {r};
    EXPECT_EQ(Registry::render_all(one), r->render());
  }
  EXPECT_EQ(Registry::render_all({}), "");
}

TEST(Registry, RenderAllSkipsAFamilyOfAnotherType) {
  Registry a(Labels{{"app", "1"}});
  Registry b(Labels{{"app", "2"}});
  a.gauge("x", "X.", [] { return 1.0; });
  b.counter("x", "X.").inc();  // a mistake in b: the scrape keeps a's x and b's other families
  b.counter("y_total", "Y.").inc();
  // Counter objects and a sampled counter are both counters on the # TYPE line: they merge.
  a.counter("z_total", "Z.").inc(2);
  b.sampled_counter("z_total", "Other help.", [] { return uint64_t{3}; });

  const Registry* both[] = {&a, &b};
  const std::string text = Registry::render_all(both);
  EXPECT_EQ(exposition_error(text), "");
  EXPECT_EQ(count_lines(text, "# TYPE x gauge"), 1u);
  EXPECT_EQ(sample(text, "x{app=\"1\"}"), "1");
  EXPECT_EQ(sample(text, "x{app=\"2\"}"), "<missing x{app=\"2\"}>");
  EXPECT_EQ(sample(text, "y_total{app=\"2\"}"), "1");
  EXPECT_EQ(count_lines(text, "# HELP z_total Z."), 1u);  // the first registry's help
  EXPECT_EQ(sample(text, "z_total{app=\"1\"}"), "2");
  EXPECT_EQ(sample(text, "z_total{app=\"2\"}"), "3");
}

TEST(Histogram, BucketEdgesAreInclusiveAndCumulative) {
  Histogram h(kLatencyBounds, HistogramUnit::kSeconds);
  for (double bound : kLatencyBounds) h.observe(bound);  // one exactly on each bound
  h.observe(0);
  h.observe(5.000000001);  // 1 ns past the last bound
  const std::vector<uint64_t> counts = h.cumulative_counts();
  ASSERT_EQ(counts.size(), kLatencyBounds.size() + 1);
  EXPECT_EQ(counts[0], 2u);  // 0 and 0.0001
  for (size_t i = 1; i < kLatencyBounds.size(); ++i) EXPECT_EQ(counts[i], i + 2) << i;
  EXPECT_EQ(counts.back(), kLatencyBounds.size() + 2);
  EXPECT_EQ(h.count(), kLatencyBounds.size() + 2);
}

TEST(Histogram, SumIsExactInNanoseconds) {
  Histogram h(kLatencyBounds, HistogramUnit::kSeconds);
  for (int i = 0; i < 3; ++i) h.observe(0.1);  // 0.1 + 0.1 + 0.1 != 0.3 in doubles
  EXPECT_EQ(h.sum_text(), "0.3");
  h.observe_ns(1);
  EXPECT_EQ(h.sum_text(), "0.300000001");
  h.observe_ns(700'000'000 - 1);
  EXPECT_EQ(h.sum_text(), "1");
  EXPECT_DOUBLE_EQ(h.sum(), 1.0);
  EXPECT_EQ(h.count(), 5u);

  Histogram empty(kLatencyBounds, HistogramUnit::kSeconds);
  EXPECT_EQ(empty.sum_text(), "0");
}

TEST(Histogram, ObserveNsAndObserveAgreeOnBuckets) {
  const double bounds[] = {0.00025, 0.001};
  Histogram by_ns(bounds, HistogramUnit::kSeconds);
  Histogram by_seconds(bounds, HistogramUnit::kSeconds);
  for (int64_t ns : {249'999, 250'000, 250'001, 1'000'000, 1'000'001}) {
    by_ns.observe_ns(ns);
    by_seconds.observe(static_cast<double>(ns) / 1e9);
  }
  EXPECT_EQ(by_ns.cumulative_counts(), (std::vector<uint64_t>{2, 4, 5}));
  EXPECT_EQ(by_seconds.cumulative_counts(), by_ns.cumulative_counts());
  EXPECT_EQ(by_seconds.sum_text(), by_ns.sum_text());
}

TEST(Histogram, OddValuesAreContained) {
  const double bounds[] = {1};
  Histogram h(bounds, HistogramUnit::kSeconds);
  h.observe(std::numeric_limits<double>::quiet_NaN());  // dropped
  EXPECT_EQ(h.count(), 0u);
  h.observe(-1);  // a caller's bug: counted as 0, not lost
  h.observe_ns(-5);
  EXPECT_EQ(h.cumulative_counts(), (std::vector<uint64_t>{2, 2}));
  EXPECT_EQ(h.sum_text(), "0");
  h.observe(std::numeric_limits<double>::infinity());  // clamped, the sum does not wrap
  h.observe(1e300);
  EXPECT_EQ(h.cumulative_counts(), (std::vector<uint64_t>{2, 4}));
  EXPECT_GT(h.sum(), 1e9);
}

TEST(Histogram, CountUnitKeepsWholeNumbers) {
  Registry r;
  const double bounds[] = {1, 2, 4, 8, 16, 32, 64, 128, 256};
  Histogram& h = r.histogram("liveroom_store_commit_batch_size", "Changes per commit.", bounds, {},
                             HistogramUnit::kCount);
  // A nanosecond sum would overflow after ~1.8e10 units; this one holds 1.8e19.
  for (int i = 0; i < 1000; ++i) h.observe(20);
  h.observe(1);
  h.observe(2.4);  // rounds to 2
  EXPECT_EQ(h.sum_text(), "20003");
  EXPECT_EQ(h.cumulative_counts().front(), 1u);
  EXPECT_EQ(h.cumulative_counts()[1], 2u);
  h.observe(1e15);
  EXPECT_EQ(h.sum_text(), "1000000000020003");
  const std::string text = r.render();
  EXPECT_EQ(sample(text, "liveroom_store_commit_batch_size_bucket{le=\"32\"}"), "1002");
  EXPECT_EQ(sample(text, "liveroom_store_commit_batch_size_count"), "1003");
}

TEST(Gauge, IsSampledAtEachRender) {
  Registry r;
  std::atomic<int> depth = 0;
  r.gauge("liveroom_webhook_queue_depth", "Queued.", [&] { return double(depth.load()); });
  EXPECT_EQ(sample(r.render(), "liveroom_webhook_queue_depth"), "0");
  depth = 42;
  EXPECT_EQ(sample(r.render(), "liveroom_webhook_queue_depth"), "42");

  // Registering the same series again replaces its reader.
  r.gauge("liveroom_webhook_queue_depth", "Queued.", [] { return 7.0; });
  EXPECT_EQ(sample(r.render(), "liveroom_webhook_queue_depth"), "7");
}

TEST(SampledCounter, ReadsAnotherComponentsTotalsAsACounter) {
  Registry r;
  std::atomic<uint64_t> delivered = 5, dead = 1;
  const char* help = "Webhook delivery attempts by result.";
  r.sampled_counter("liveroom_webhook_deliveries_total", help, [&] { return delivered.load(); },
                    {{"result", "ok"}});
  r.sampled_counter("liveroom_webhook_deliveries_total", help, [&] { return dead.load(); },
                    {{"result", "dead"}});
  delivered = 6;
  EXPECT_EQ(r.render(),
            "# HELP liveroom_webhook_deliveries_total Webhook delivery attempts by result.\n"
            "# TYPE liveroom_webhook_deliveries_total counter\n"
            "liveroom_webhook_deliveries_total{result=\"dead\"} 1\n"
            "liveroom_webhook_deliveries_total{result=\"ok\"} 6\n");
  // A family is sampled or made of Counter objects, never both.
  EXPECT_THROW(r.counter("liveroom_webhook_deliveries_total", help, {{"result", "retry"}}),
               std::invalid_argument);
}

TEST(Gauge, FormatsValuesAsPrometheusReadsThem) {
  Registry r;
  const std::pair<double, const char*> cases[] = {
      {0.1, "0.1"},
      {-2.5, "-2.5"},
      {1e21, "1e+21"},
      {123456789, "123456789"},
      {std::numeric_limits<double>::quiet_NaN(), "NaN"},
      {std::numeric_limits<double>::infinity(), "+Inf"},
      {-std::numeric_limits<double>::infinity(), "-Inf"},
  };
  for (size_t i = 0; i < std::size(cases); ++i) {
    const double value = cases[i].first;
    r.gauge("g", "G.", [value] { return value; }, {{"i", std::to_string(i)}});
  }
  const std::string text = r.render();
  for (size_t i = 0; i < std::size(cases); ++i) {
    EXPECT_EQ(sample(text, "g{i=\"" + std::to_string(i) + "\"}"), cases[i].second) << i;
  }
}

TEST(Registry, RejectsMisuse) {
  Registry r;
  const double bounds[] = {1, 2};
  r.counter("c_total", "C.", {{"code", "0"}});
  EXPECT_THROW(r.counter("c_total", "Other help.", {{"code", "0"}}), std::invalid_argument);
  EXPECT_THROW(r.counter("c_total", "C.", {{"cmd", "0"}}), std::invalid_argument);
  EXPECT_THROW(r.counter("c_total", "C.", {}), std::invalid_argument);
  EXPECT_THROW(r.histogram("c_total", "C.", bounds, {{"code", "0"}}), std::invalid_argument);
  EXPECT_THROW(r.gauge("c_total", "C.", [] { return 0.0; }, {{"code", "0"}}),
               std::invalid_argument);

  EXPECT_THROW(r.counter("", "x"), std::invalid_argument);
  EXPECT_THROW(r.counter("9lives", "x"), std::invalid_argument);
  EXPECT_THROW(r.counter("has-dash", "x"), std::invalid_argument);
  EXPECT_THROW(r.counter("x", "x", {{"__reserved", "v"}}), std::invalid_argument);
  EXPECT_THROW(r.counter("x", "x", {{"a:b", "v"}}), std::invalid_argument);
  EXPECT_THROW(r.counter("x", "x", {{"a", "1"}, {"a", "2"}}), std::invalid_argument);
  EXPECT_THROW(r.histogram("h", "x", bounds, {{"le", "1"}}), std::invalid_argument);

  r.histogram("h_seconds", "H.", bounds);
  const double other[] = {1, 3};
  EXPECT_THROW(r.histogram("h_seconds", "H.", other), std::invalid_argument);
  EXPECT_THROW(r.histogram("h_seconds", "H.", bounds, {}, HistogramUnit::kCount),
               std::invalid_argument);

  // None of the refused calls left a family behind.
  const std::string text = r.render();
  EXPECT_EQ(text.find("# TYPE x "), std::string::npos);
  EXPECT_EQ(text.find("# TYPE h "), std::string::npos);
}

TEST(Histogram, RejectsBadBounds) {
  Registry r;
  const double unsorted[] = {1, 0.5};
  const double repeated[] = {1, 1};
  const double infinite[] = {1, std::numeric_limits<double>::infinity()};
  const double negative[] = {-1, 1};
  const double too_fine[] = {1e-10};     // below one nanosecond
  const double fractional[] = {1, 2.5};  // not a whole count
  EXPECT_THROW(r.histogram("a", "x", unsorted), std::invalid_argument);
  EXPECT_THROW(r.histogram("a", "x", repeated), std::invalid_argument);
  EXPECT_THROW(r.histogram("a", "x", infinite), std::invalid_argument);
  EXPECT_THROW(r.histogram("a", "x", negative), std::invalid_argument);
  EXPECT_THROW(r.histogram("a", "x", too_fine), std::invalid_argument);
  EXPECT_THROW(r.histogram("a", "x", fractional, {}, HistogramUnit::kCount), std::invalid_argument);
  // A failed registration does not fix the family's bounds: a correct one still succeeds.
  const double good[] = {0.5, 1};
  EXPECT_NO_THROW(r.histogram("a", "x", good));
  EXPECT_NO_THROW(Histogram(std::span<const double>(), HistogramUnit::kSeconds));  // +Inf only
}

TEST(Registry, UpdatesDuringRenderStayExact) {
  Registry r;
  constexpr int kThreads = 4;
  constexpr int kPerThread = 100'000;
  Counter& counter = r.counter("c_total", "C.");
  Histogram& histogram = r.histogram("h_seconds", "H.", kLatencyBounds);
  std::atomic<bool> done = false;
  std::atomic<int> renders = 0;

  // The scraper checks what every render must satisfy even mid-update: the counter never goes
  // back, and _count equals the +Inf bucket.
  std::thread scraper([&] {
    uint64_t last = 0;
    while (!done.load()) {
      const std::string text = r.render();
      const uint64_t now = std::stoull(sample(text, "c_total"));
      EXPECT_GE(now, last);
      last = now;
      EXPECT_EQ(sample(text, "h_seconds_bucket{le=\"+Inf\"}"), sample(text, "h_seconds_count"));
      renders.fetch_add(1);
    }
  });
  std::vector<std::thread> workers;
  for (int t = 0; t < kThreads; ++t) {
    workers.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        counter.inc();
        histogram.observe_ns(t * kPerThread + i);  // 0 to 0.4 ms, each value once
      }
    });
  }
  for (auto& w : workers) w.join();
  done = true;
  scraper.join();

  EXPECT_GT(renders.load(), 0);
  EXPECT_EQ(counter.value(), uint64_t{kThreads} * kPerThread);
  EXPECT_EQ(histogram.count(), uint64_t{kThreads} * kPerThread);
  // Every value 0 … 399,999 ns once: 399,999 × 400,000 / 2 ns.
  EXPECT_EQ(histogram.sum_text(), "79.9998");
  const std::string text = r.render();
  EXPECT_EQ(sample(text, "c_total"), "400000");
  EXPECT_EQ(sample(text, "h_seconds_count"), "400000");
}

TEST(Registry, ConcurrentRegistrationReturnsOneChild) {
  Registry r;
  std::vector<Counter*> seen(8);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < seen.size(); ++t) {
    threads.emplace_back([&, t] {
      Counter& c = r.counter("c_total", "C.", {{"code", "0"}});
      c.inc();
      seen[t] = &c;
    });
  }
  for (auto& t : threads) t.join();
  for (Counter* c : seen) EXPECT_EQ(c, seen.front());
  EXPECT_EQ(seen.front()->value(), seen.size());
}

}  // namespace
}  // namespace liveroom::metrics
