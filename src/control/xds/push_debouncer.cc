// PushDebouncer (see push_debouncer.h).
#include "control/xds/push_debouncer.h"

#include <algorithm>

namespace meshd::control::xds {

void PushTargets::merge(const PushTargets& other) {
  all = all || other.all;
  if (all) {
    nodeIds.clear();
    return;
  }
  nodeIds.insert(other.nodeIds.begin(), other.nodeIds.end());
}

PushDebouncer::PushDebouncer(std::chrono::nanoseconds quiet_period,
                             std::chrono::nanoseconds max_delay, const core::TimeSource& time,
                             core::TimerFactory& timers, FlushCallback flush)
    : quietPeriod_(quiet_period), maxDelay_(std::max(max_delay, quiet_period)), time_(time),
      flush_(std::move(flush)), timer_(timers.createTimer([this] { flushNow(); })) {}

void PushDebouncer::request(const PushTargets& targets) {
  if (targets.empty()) {
    return;
  }
  ++requests_;
  core::MonotonicTime now = time_.monotonicNow();
  if (pending_.empty()) {
    firstRequest_ = now;
  }
  pending_.merge(targets);
  if (quietPeriod_.count() == 0) {
    flushNow();
    return;
  }
  core::MonotonicTime deadline = std::min(now + quietPeriod_, firstRequest_ + maxDelay_);
  timer_->enable(std::max(std::chrono::nanoseconds(0), deadline - now));
}

void PushDebouncer::flushNow() {
  timer_->disable();
  if (pending_.empty()) {
    return;
  }
  PushTargets targets = std::move(pending_);
  targets.requestedAt = firstRequest_;
  pending_ = PushTargets{};
  ++flushes_;
  flush_(std::move(targets));
}

} // namespace meshd::control::xds
