// IdleTimers (idle_timers.h).
#include "proxy/http/idle_timers.h"

namespace meshd::proxy::http {

IdleTimers::IdleTimers(core::TimerFactory& timers, const core::TimeSource& time,
                       Callbacks& callbacks, std::chrono::milliseconds connection_idle_timeout)
    : time_(time), callbacks_(callbacks), timer_(timers.createTimer([this] { onTimer(); })),
      connectionIdleTimeout_(connection_idle_timeout) {}

void IdleTimers::connectionIdle() {
  streamActive_ = false;
  lastActivity_ = time_.monotonicNow();
  rearm();
}

void IdleTimers::streamStarted(std::chrono::milliseconds stream_idle_timeout) {
  streamActive_ = true;
  streamIdleTimeout_ = stream_idle_timeout;
  lastActivity_ = time_.monotonicNow();
  rearm();
}

void IdleTimers::setStreamIdleTimeout(std::chrono::milliseconds timeout) {
  streamIdleTimeout_ = timeout;
  rearm();
}

void IdleTimers::stop() {
  stopped_ = true;
  timer_->disable();
}

core::MonotonicTime IdleTimers::deadline() const {
  const auto timeout = streamActive_ ? streamIdleTimeout_ : connectionIdleTimeout_;
  return timeout.count() == 0 ? core::MonotonicTime::max() : lastActivity_ + timeout;
}

void IdleTimers::rearm() {
  if (stopped_) {
    return;
  }
  const core::MonotonicTime due = deadline();
  if (due == core::MonotonicTime::max()) {
    return; // no timeout applies now; a pending expiry finds nothing due and stops
  }
  // An armed timer that fires no later than `due` re-checks then: leave it.
  if (timer_->enabled() && armedFor_ <= due) {
    return;
  }
  armedFor_ = due;
  timer_->enable(std::max(Duration::zero(), due - time_.monotonicNow()));
}

void IdleTimers::onTimer() {
  const core::MonotonicTime due = deadline();
  if (due == core::MonotonicTime::max()) {
    return;
  }
  const core::MonotonicTime now = time_.monotonicNow();
  if (now < due) {
    armedFor_ = due;
    timer_->enable(due - now);
    return;
  }
  stopped_ = true;
  if (streamActive_) {
    callbacks_.onStreamIdleTimeout();
  } else {
    callbacks_.onConnectionIdleTimeout();
  }
}

} // namespace meshd::proxy::http
