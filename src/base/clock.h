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
};

class FixedClock final : public Clock {
 public:
  explicit FixedClock(int64_t unix_seconds) : seconds_(unix_seconds) {}
  int64_t unix_seconds() const override { return seconds_; }
  int64_t unix_millis() const override { return seconds_ * 1000; }
  void set(int64_t unix_seconds) { seconds_ = unix_seconds; }

 private:
  int64_t seconds_;
};

}  // namespace liveroom
