#include "metrics/registry.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

namespace liveroom::metrics {
namespace {

enum FamilyType { kCounterType, kSampledCounterType, kHistogramType, kGaugeType };

// As written on the # TYPE line.
constexpr std::string_view type_name(int type) {
  switch (type) {
    case kCounterType:
    case kSampledCounterType:
      return "counter";
    case kHistogramType:
      return "histogram";
    default:
      return "gauge";
  }
}

// As named in an error message.
constexpr std::string_view kind_name(int type) {
  return type == kSampledCounterType ? "sampled counter" : type_name(type);
}

// Large enough for any sum a server reaches (146 years of nanoseconds), small enough that adding
// one more clamped observation cannot wrap the uint64_t sum.
constexpr uint64_t kMaxFixed = uint64_t{1} << 62;

bool valid_metric_name(std::string_view name) {
  auto first = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
  };
  if (name.empty() || !first(name[0])) return false;
  return std::all_of(name.begin() + 1, name.end(),
                     [&](char c) { return first(c) || (c >= '0' && c <= '9'); });
}

// Names starting with "__" are reserved for Prometheus itself.
bool valid_label_name(std::string_view name) {
  auto first = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (name.empty() || !first(name[0]) || name.starts_with("__")) return false;
  return std::all_of(name.begin() + 1, name.end(),
                     [&](char c) { return first(c) || (c >= '0' && c <= '9'); });
}

[[noreturn]] void invalid(std::string_view name, std::string_view why) {
  throw std::invalid_argument("metric " + std::string(name) + ": " + std::string(why));
}

// Shortest text that parses back to the same double, as Prometheus (Go's ParseFloat) reads it.
void append_double(std::string& out, double value) {
  if (std::isnan(value)) {
    out += "NaN";
  } else if (std::isinf(value)) {
    out += value > 0 ? "+Inf" : "-Inf";
  } else {
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);
    out.append(buf, end);
  }
}

void append_uint(std::string& out, uint64_t value) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);
  out.append(buf, end);
}

// HELP text escapes backslash and newline; label values also escape the double quote.
void append_escaped(std::string& out, std::string_view text, bool quote) {
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quote) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

// `{a="x",b="y"}`: the registry's constant labels, the child's, then `le` for a histogram bucket;
// nothing for no labels at all.
void append_labels(std::string& out, const Labels& constant, const Labels& labels,
                   std::string_view le = {}) {
  if (constant.empty() && labels.empty() && le.empty()) return;
  out += '{';
  bool first = true;
  for (const Labels* set : {&constant, &labels}) {
    for (const auto& [name, value] : *set) {
      if (!first) out += ',';
      first = false;
      out += name;
      out += "=\"";
      append_escaped(out, value, true);
      out += '"';
    }
  }
  if (!le.empty()) {
    if (!first) out += ',';
    out += "le=\"";
    out += le;
    out += '"';
  }
  out += '}';
}

}  // namespace

// ---- Histogram ----

Histogram::Histogram(std::span<const double> bounds, HistogramUnit unit)
    : bounds_(bounds.begin(), bounds.end()),
      scale_(unit == HistogramUnit::kSeconds ? 1'000'000'000 : 1),
      decimals_(unit == HistogramUnit::kSeconds ? 9 : 0),
      buckets_(std::make_unique<std::atomic<uint64_t>[]>(bounds.size() + 1)) {
  fixed_bounds_.reserve(bounds_.size());
  for (double bound : bounds_) {
    const double scaled = bound * static_cast<double>(scale_);
    const double rounded = std::round(scaled);
    if (!std::isfinite(bound) || bound < 0 || rounded > static_cast<double>(kMaxFixed)) {
      throw std::invalid_argument("histogram bound out of range");
    }
    // 0.00025 s is 250000.00000000003 ns in binary; a bound between two resolution steps is not.
    if (std::abs(scaled - rounded) > 1e-6 * std::max(1.0, scaled)) {
      throw std::invalid_argument("histogram bound finer than the unit's resolution");
    }
    const auto fixed = static_cast<uint64_t>(rounded);
    if (!fixed_bounds_.empty() && fixed <= fixed_bounds_.back()) {
      throw std::invalid_argument("histogram bounds must increase strictly");
    }
    fixed_bounds_.push_back(fixed);
  }
}

void Histogram::observe(double value) {
  if (std::isnan(value)) return;
  const double scaled = std::round(value * static_cast<double>(scale_));
  uint64_t fixed = 0;
  if (scaled >= static_cast<double>(kMaxFixed)) {
    fixed = kMaxFixed;
  } else if (scaled > 0) {
    fixed = static_cast<uint64_t>(scaled);
  }
  record(fixed);
}

void Histogram::observe_ns(int64_t ns) {
  if (decimals_ != 9) {
    observe(static_cast<double>(ns) / 1e9);
    return;
  }
  record(std::min(static_cast<uint64_t>(std::max<int64_t>(ns, 0)), kMaxFixed));
}

void Histogram::record(uint64_t fixed) {
  // The first bound ≥ the value: Prometheus buckets are "less than or equal".
  const auto index = static_cast<size_t>(
      std::lower_bound(fixed_bounds_.begin(), fixed_bounds_.end(), fixed) - fixed_bounds_.begin());
  buckets_[index].fetch_add(1, std::memory_order_relaxed);
  sum_fixed_.fetch_add(fixed, std::memory_order_relaxed);
}

std::vector<uint64_t> Histogram::cumulative_counts() const {
  std::vector<uint64_t> counts(bounds_.size() + 1);
  uint64_t total = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    total += buckets_[i].load(std::memory_order_relaxed);
    counts[i] = total;
  }
  return counts;
}

uint64_t Histogram::count() const {
  return cumulative_counts().back();
}

double Histogram::sum() const {
  return static_cast<double>(sum_fixed_.load(std::memory_order_relaxed)) /
         static_cast<double>(scale_);
}

std::string Histogram::sum_text() const {
  // Decimal from the integer, not from a double: a sum of 0.1 s observations reads 0.3, not
  // 0.30000000000000004.
  const uint64_t fixed = sum_fixed_.load(std::memory_order_relaxed);
  std::string out;
  append_uint(out, fixed / scale_);
  if (uint64_t fraction = fixed % scale_; fraction != 0) {
    std::string digits;
    append_uint(digits, fraction);
    digits.insert(0, static_cast<size_t>(decimals_) - digits.size(), '0');
    digits.erase(digits.find_last_not_of('0') + 1);
    out += '.';
    out += digits;
  }
  return out;
}

// ---- Registry ----

struct Registry::Family {
  int type = kCounterType;
  std::string help;
  std::vector<std::string> label_names;  // of the first child; every later child must match
  std::vector<double> bounds;            // histograms
  HistogramUnit unit = HistogramUnit::kSeconds;
  // std::map: node-based, so a child's address never changes, and iteration is the render order.
  std::map<Labels, std::unique_ptr<Counter>> counters;
  std::map<Labels, std::unique_ptr<Histogram>> histograms;
  std::map<Labels, std::function<double()>> gauges;
  std::map<Labels, std::function<uint64_t()>> sampled_counters;
};

Registry::Registry() = default;
Registry::~Registry() = default;

Registry::Registry(Labels constant_labels) : constant_labels_(std::move(constant_labels)) {
  for (auto it = constant_labels_.begin(); it != constant_labels_.end(); ++it) {
    const std::string& label = it->first;
    // le would clash with the bucket's on every histogram of the registry.
    if (!valid_label_name(label) || label == "le") {
      throw std::invalid_argument("constant label " + label + ": invalid name");
    }
    if (std::any_of(constant_labels_.begin(), it,
                    [&](const auto& c) { return c.first == label; })) {
      throw std::invalid_argument("constant label " + label + ": given twice");
    }
  }
}

Registry::Family& Registry::family(std::string_view name, std::string_view help, int type,
                                   const Labels& labels) {
  if (!valid_metric_name(name)) invalid(name, "invalid metric name");
  std::vector<std::string> label_names;
  for (const auto& [label, value] : labels) {
    if (!valid_label_name(label)) invalid(name, "invalid label name " + label);
    if (type == kHistogramType && label == "le") invalid(name, "label le is the bucket's");
    if (std::find(label_names.begin(), label_names.end(), label) != label_names.end()) {
      invalid(name, "label " + label + " given twice");
    }
    if (std::any_of(constant_labels_.begin(), constant_labels_.end(),
                    [&](const auto& c) { return c.first == label; })) {
      invalid(name, "label " + label + " is a constant label of the registry");
    }
    label_names.push_back(label);
  }

  auto it = families_.find(name);
  if (it == families_.end()) {
    auto created = std::make_unique<Family>();
    created->type = type;
    created->help = help;
    created->label_names = label_names;
    it = families_.emplace(std::string(name), std::move(created)).first;
  }
  Family& f = *it->second;
  if (f.type != type) invalid(name, "already registered as a " + std::string(kind_name(f.type)));
  if (f.help != help) invalid(name, "registered before with other help text");
  if (f.label_names != label_names) invalid(name, "label names differ from the family's");
  return f;
}

Counter& Registry::counter(std::string_view name, std::string_view help, Labels labels) {
  std::lock_guard lock(mutex_);
  Family& f = family(name, help, kCounterType, labels);
  auto& child = f.counters[std::move(labels)];
  if (!child) child = std::make_unique<Counter>();
  return *child;
}

Histogram& Registry::histogram(std::string_view name, std::string_view help,
                               std::span<const double> bounds, Labels labels, HistogramUnit unit) {
  // Built first so that bad bounds throw before the family is registered with them.
  auto fresh = std::make_unique<Histogram>(bounds, unit);
  std::lock_guard lock(mutex_);
  const bool existed = families_.contains(name);
  Family& f = family(name, help, kHistogramType, labels);
  if (!existed) {
    f.bounds.assign(bounds.begin(), bounds.end());
    f.unit = unit;
  } else if (!std::ranges::equal(f.bounds, bounds) || f.unit != unit) {
    invalid(name, "registered before with other bounds or unit");
  }
  auto& child = f.histograms[std::move(labels)];
  if (!child) child = std::move(fresh);
  return *child;
}

void Registry::gauge(std::string_view name, std::string_view help, std::function<double()> read,
                     Labels labels) {
  std::lock_guard lock(mutex_);
  Family& f = family(name, help, kGaugeType, labels);
  f.gauges[std::move(labels)] = std::move(read);
}

void Registry::sampled_counter(std::string_view name, std::string_view help,
                               std::function<uint64_t()> read, Labels labels) {
  std::lock_guard lock(mutex_);
  Family& f = family(name, help, kSampledCounterType, labels);
  f.sampled_counters[std::move(labels)] = std::move(read);
}

std::string Registry::render() const {
  const Registry* self = this;
  return render_all(std::span(&self, 1));
}

std::string Registry::render_all(std::span<const Registry* const> registries) {
  // Per family name, the Family whose HELP and TYPE are rendered and the samples of every
  // registry. A family is never removed, nor are its name, help or type changed, so `first` and
  // the name stay valid and readable after their registry's mutex is released.
  struct Merged {
    const Family* first;
    std::string samples;
  };
  std::map<std::string_view, Merged> merged;
  for (const Registry* registry : registries) {
    std::lock_guard lock(registry->mutex_);
    for (const auto& [name, f] : registry->families_) {
      auto it = merged.try_emplace(name, Merged{f.get(), {}}).first;
      // Counter and sampled counter are both "counter" to Prometheus, so they merge.
      if (type_name(it->second.first->type) != type_name(f->type)) continue;
      registry->render_samples(it->second.samples, name, *f);
    }
  }
  std::string out;
  out.reserve(4096);
  for (const auto& [name, m] : merged) {
    out += "# HELP ";
    out += name;
    out += ' ';
    append_escaped(out, m.first->help, false);
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += type_name(m.first->type);
    out += '\n';
    out += m.samples;
  }
  return out;
}

void Registry::render_samples(std::string& out, const std::string& name, const Family& f) const {
  const Labels& constant = constant_labels_;
  for (const auto& [labels, counter] : f.counters) {
    out += name;
    append_labels(out, constant, labels);
    out += ' ';
    append_uint(out, counter->value());
    out += '\n';
  }
  for (const auto& [labels, read] : f.sampled_counters) {
    out += name;
    append_labels(out, constant, labels);
    out += ' ';
    append_uint(out, read ? read() : 0);
    out += '\n';
  }
  for (const auto& [labels, read] : f.gauges) {
    out += name;
    append_labels(out, constant, labels);
    out += ' ';
    append_double(out, read ? read() : 0.0);
    out += '\n';
  }
  std::string le;
  for (const auto& [labels, histogram] : f.histograms) {
    const std::vector<uint64_t> counts = histogram->cumulative_counts();
    for (size_t i = 0; i < counts.size(); ++i) {
      le.clear();
      if (i < f.bounds.size()) {
        append_double(le, f.bounds[i]);
      } else {
        le = "+Inf";
      }
      out += name;
      out += "_bucket";
      append_labels(out, constant, labels, le);
      out += ' ';
      append_uint(out, counts[i]);
      out += '\n';
    }
    out += name;
    out += "_sum";
    append_labels(out, constant, labels);
    out += ' ';
    out += histogram->sum_text();
    out += '\n';
    out += name;
    out += "_count";
    append_labels(out, constant, labels);
    out += ' ';
    append_uint(out, counts.back());
    out += '\n';
  }
}

}  // namespace liveroom::metrics
