// One-shot timers behind an interface, so the same code runs on a real event loop
// (core/event_loop.h) or on simulated time in tests (test/support/simulated_time.h).
#pragma once

#include <chrono>
#include <functional>
#include <memory>

namespace meshd::core {

// A one-shot timer owned by the object that created it; destroying it cancels it. All calls and
// the callback happen on the thread whose loop created the timer.
class Timer {
public:
  virtual ~Timer() = default;
  // (Re)arms the timer; a pending expiry is replaced.
  virtual void enable(std::chrono::nanoseconds delay) = 0;
  virtual void disable() = 0;
  virtual bool enabled() const = 0;
};

using TimerCallback = std::function<void()>;

class TimerFactory {
public:
  virtual ~TimerFactory() = default;
  virtual std::unique_ptr<Timer> createTimer(TimerCallback callback) = 0;
};

} // namespace meshd::core
