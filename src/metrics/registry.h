// A small Prometheus registry: counters, histograms and sampled gauges, rendered in the text
// exposition format 0.0.4 for GET /metrics. Not prometheus-cpp (Debian: prometheus-cpp-dev): its
// pull module brings a second HTTP server (civetweb) beside our transport, and what the server
// needs fits in one file without a new dependency.
//
// The hot path must neither lock nor allocate. So a metric is created once, under the registry's
// mutex, and the caller keeps the returned reference (valid for the registry's life); updating it
// afterwards is one or two relaxed atomic additions. Rendering takes the mutex only to walk the
// families, so a scrape never blocks an update.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace liveroom::metrics {

// Label name → value, in the order they are rendered. Every child of one family must use the
// same label names in the same order (Prometheus does not require it, but a family whose
// children disagree is always a typo, and a fixed order makes "same labels" unambiguous).
using Labels = std::vector<std::pair<std::string, std::string>>;

// The Content-Type of render()'s output.
inline constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

// Request-latency bounds in seconds: 100 µs to 5 s, roughly ×2.5 per step. The server answers in
// well under a millisecond at rest and a few milliseconds at saturation (docs/performance.md),
// so the low end needs the resolution.
inline constexpr std::array<double, 15> kLatencyBounds = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};

// Aligned to a cache line so that two hot counters allocated side by side do not share one
// (false sharing would make every increment on one I/O thread evict the other's line).
class alignas(64) Counter {
 public:
  void inc(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// What a histogram's observations are. It decides how the sum is kept: as an integer in the
// smallest unit that matters, so that it is exact and adding to it is one atomic addition.
//   kSeconds: durations; the sum is kept in nanoseconds (it overflows after 584 years of summed
//             time). observe_ns() records a steady_clock difference without converting.
//   kCount:   whole numbers (batch sizes, bytes); observe() rounds to the nearest integer. A
//             nanosecond sum would overflow after ~10^10 units, days at a busy store's pace.
enum class HistogramUnit { kSeconds, kCount };

class alignas(64) Histogram {
 public:
  // `bounds`: finite, strictly increasing upper bounds; +Inf is implicit. Each must be a whole
  // number of the unit's resolution (1 ns, or 1). Throws std::invalid_argument otherwise.
  Histogram(std::span<const double> bounds, HistogramUnit unit);

  // Records one observation. A negative value counts as 0 (a duration from a steady clock is
  // never negative, so it is a caller's bug, and losing the observation would hide it); NaN is
  // dropped.
  void observe(double value);
  // The same for a duration in nanoseconds (for kCount: nanoseconds of what is counted, rounded).
  void observe_ns(int64_t ns);

  std::span<const double> bounds() const { return bounds_; }
  // Cumulative counts per bound, then +Inf (= count()). Buckets are read one by one, so a reading
  // taken while other threads observe may miss observations in flight (and the sum may disagree
  // with the buckets by those), but its +Inf bucket always equals its count.
  std::vector<uint64_t> cumulative_counts() const;
  uint64_t count() const;
  // The sum in the histogram's unit (seconds or count), and exactly, as decimal text.
  double sum() const;
  std::string sum_text() const;

 private:
  void record(uint64_t fixed);

  std::vector<double> bounds_;
  std::vector<uint64_t> fixed_bounds_;  // bounds_ in the unit's resolution
  uint64_t scale_;                      // resolution steps per unit: 10^decimals_
  int decimals_;
  // Per-bucket (not cumulative) counts, the last one for +Inf: an observation increments one
  // bucket, and count is their total, so _count always equals the +Inf bucket in a render.
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;
  std::atomic<uint64_t> sum_fixed_{0};
};

class Registry {
 public:
  Registry();
  // `constant_labels` go on every sample this registry renders, before the sample's own labels
  // (a histogram's le stays last): when a node hosts several apps, each app's services register
  // the same families in a registry of their own, and e.g. app="1400000001" keeps their series
  // apart in render_all. Throws std::invalid_argument on an invalid or repeated name or le (the
  // bucket's); a metric of this registry may not use these names for its own labels either.
  // Spell one pair of literals Registry(Labels{{"app", "1"}}): ({{"app", "1"}}) is ambiguous with
  // the (deleted) copy constructor.
  explicit Registry(Labels constant_labels);
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Each returns the child of family `name` with these labels, creating the family and the child
  // on first use; the same name and labels return the same object. Throws std::invalid_argument
  // on an invalid metric or label name, a name registered as another type, other help text,
  // other histogram bounds or unit, or label names that differ from the family's first child.
  Counter& counter(std::string_view name, std::string_view help, Labels labels = {});
  Histogram& histogram(std::string_view name, std::string_view help, std::span<const double> bounds,
                       Labels labels = {}, HistogramUnit unit = HistogramUnit::kSeconds);
  // A value read at render time (queue depth, connections, rooms): `read` runs on the scraping
  // thread, under the registry's mutex, so it must be thread-safe, must not call back into this
  // registry, and must stay callable for the registry's life. Registering the same name and
  // labels again replaces the reader.
  void gauge(std::string_view name, std::string_view help, std::function<double()> read,
             Labels labels = {});
  // A counter whose total another component already keeps (e.g. webhook::DispatcherStats), read
  // at render time under the same rules as a gauge's reader; the value must never decrease. A
  // family is either sampled or made of Counter objects, not both.
  void sampled_counter(std::string_view name, std::string_view help, std::function<uint64_t()> read,
                       Labels labels = {});

  // The text exposition format 0.0.4: families sorted by name, children by label values.
  std::string render() const;
  // Several registries as one exposition, since a scrape must see each family's # HELP and # TYPE
  // once: families merged by name and sorted, HELP and TYPE from the first registry that has the
  // family, then each registry's samples in the order given. The registries must differ in their
  // constant labels (and appear once), or the same family repeats series. A family that a later
  // registry registered as another type (as on the # TYPE line) is skipped for that registry, not
  // thrown: one app's mistake must not fail the whole scrape, and within one registry the clash
  // already throws at registration. Each registry is locked in turn, never two at once.
  static std::string render_all(std::span<const Registry* const> registries);

 private:
  struct Family;
  Family& family(std::string_view name, std::string_view help, int type, const Labels& labels);
  // The sample lines of one family of this registry; mutex_ must be held.
  void render_samples(std::string& out, const std::string& name, const Family& f) const;

  const Labels constant_labels_;
  mutable std::mutex mutex_;
  std::map<std::string, std::unique_ptr<Family>, std::less<>> families_;
};

}  // namespace liveroom::metrics
