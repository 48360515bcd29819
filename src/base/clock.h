// Time comes through this interface so tests and the `usersig verify --now` command can pin it.
#pragma once

#include <chrono>
#include <cstdint>

namespace liveroom {

class Clock {
 public:
  virtual ~Clock() = default;
  // Unix time in whole seconds.
  virtual int64_t unix_seconds() const = 0;
  // Unix time in milliseconds (webhook EventTime).
  virtual int64_t unix_millis() const = 0;
  // A monotonic clock in milliseconds, for intervals (it never jumps with wall-clock changes).
  virtual int64_t steady_millis() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t unix_seconds() const override {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  int64_t unix_millis() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  int64_t steady_millis() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
};

// A clock that moves only when told to; both scales move together.
class FixedClock final : public Clock {
 public:
  explicit FixedClock(int64_t unix_seconds) : millis_(unix_seconds * 1000) {}
  int64_t unix_seconds() const override { return millis_ / 1000; }
  int64_t unix_millis() const override { return millis_; }
  int64_t steady_millis() const override { return millis_; }
  void set(int64_t unix_seconds) { millis_ = unix_seconds * 1000; }
  void advance_millis(int64_t ms) { millis_ += ms; }

 private:
  int64_t millis_;
};

}  // namespace liveroom
