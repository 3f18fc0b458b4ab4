// Simulated time for unit tests: a TimeSource and TimerFactory whose clock moves only when the
// test calls advance(), firing due timers in deadline order. No sleeping, no flakes.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>

#include "core/time_source.h"
#include "core/timer.h"

namespace meshd::testing {

class SimulatedTime final : public core::TimeSource, public core::TimerFactory {
public:
  SimulatedTime();
  ~SimulatedTime() override;

  core::MonotonicTime monotonicNow() const override { return monotonic_; }
  core::SystemTime systemNow() const override { return system_; }
  std::unique_ptr<core::Timer> createTimer(core::TimerCallback callback) override;

  // Moves both clocks forward by `duration`, running every timer that falls due, in order, with
  // the clock set to its deadline while it runs (timers armed by callbacks fire too if due).
  void advance(std::chrono::nanoseconds duration);
  size_t armedTimers() const { return queue_.size(); }

private:
  class SimTimer;
  friend class SimTimer;
  using Key = std::pair<core::MonotonicTime, uint64_t>; // deadline, then arming order

  core::MonotonicTime monotonic_;
  core::SystemTime system_;
  uint64_t sequence_ = 0;
  std::map<Key, SimTimer*> queue_;
};

} // namespace meshd::testing
