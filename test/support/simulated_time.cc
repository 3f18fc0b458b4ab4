// SimulatedTime (simulated_time.h).
#include "test/support/simulated_time.h"

#include <utility>

namespace meshd::testing {

class SimulatedTime::SimTimer final : public core::Timer {
public:
  SimTimer(SimulatedTime& time, core::TimerCallback callback)
      : time_(time), callback_(std::move(callback)) {}
  ~SimTimer() override { disable(); }

  void enable(std::chrono::nanoseconds delay) override {
    disable();
    key_ = {time_.monotonic_ + delay, time_.sequence_++};
    time_.queue_.emplace(key_, this);
    armed_ = true;
  }
  void disable() override {
    if (armed_) {
      time_.queue_.erase(key_);
      armed_ = false;
    }
  }
  bool enabled() const override { return armed_; }

  void fire() {
    armed_ = false;
    callback_();
  }

private:
  SimulatedTime& time_;
  core::TimerCallback callback_;
  Key key_;
  bool armed_ = false;
};

// Start far from the epoch so code that subtracts durations from "now" stays positive.
SimulatedTime::SimulatedTime()
    : monotonic_(std::chrono::hours(1000)),
      system_(std::chrono::sys_days(std::chrono::year(2026) / 1 / 1)) {}

SimulatedTime::~SimulatedTime() = default;

std::unique_ptr<core::Timer> SimulatedTime::createTimer(core::TimerCallback callback) {
  return std::make_unique<SimTimer>(*this, std::move(callback));
}

void SimulatedTime::advance(std::chrono::nanoseconds duration) {
  const core::MonotonicTime target = monotonic_ + duration;
  while (!queue_.empty() && queue_.begin()->first.first <= target) {
    auto [key, timer] = *queue_.begin();
    queue_.erase(queue_.begin());
    system_ += key.first - monotonic_;
    monotonic_ = key.first;
    timer->fire();
  }
  system_ += target - monotonic_;
  monotonic_ = target;
}

} // namespace meshd::testing
