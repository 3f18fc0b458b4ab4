// Injectable clocks. Code that needs "now" takes a TimeSource&, so tests can control time
// (test/support/simulated_time.h) instead of sleeping.
#pragma once

#include <chrono>

namespace meshd::core {

using MonotonicTime = std::chrono::steady_clock::time_point;
using SystemTime = std::chrono::system_clock::time_point;

class TimeSource {
public:
  virtual ~TimeSource() = default;
  // For durations, timeouts and rates: never goes backwards.
  virtual MonotonicTime monotonicNow() const = 0;
  // Wall-clock time, for timestamps shown to people (logs, certificates, config dumps).
  virtual SystemTime systemNow() const = 0;
};

class RealTimeSource final : public TimeSource {
public:
  MonotonicTime monotonicNow() const override { return std::chrono::steady_clock::now(); }
  SystemTime systemNow() const override { return std::chrono::system_clock::now(); }

  // The process-wide real clock.
  static RealTimeSource& instance() {
    static RealTimeSource source;
    return source;
  }
};

} // namespace meshd::core
