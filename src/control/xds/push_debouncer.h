// PushDebouncer: merges push requests that come close together (quiet period) into one push, but
// never holds a push back longer than a maximum delay after the first request it merged
// (DESIGN.md §2 step 2). Single-threaded: call it and run its timer on one thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "core/time_source.h"
#include "core/timer.h"

namespace meshd::control::xds {

// The nodes a push is for: all of them, or a set of node ids.
struct PushTargets {
  bool all = false;
  absl::flat_hash_set<std::string> nodeIds;
  // Set by the debouncer on a flush: when the first request it merged was made (the start of
  // the config propagation the server measures).
  core::MonotonicTime requestedAt{};

  static PushTargets everyone() { return PushTargets{true, {}}; }
  void merge(const PushTargets& other);
  bool includes(const std::string& node_id) const { return all || nodeIds.contains(node_id); }
  bool empty() const { return !all && nodeIds.empty(); }
};

class PushDebouncer {
public:
  using FlushCallback = std::function<void(PushTargets)>;

  PushDebouncer(std::chrono::nanoseconds quiet_period, std::chrono::nanoseconds max_delay,
                const core::TimeSource& time, core::TimerFactory& timers, FlushCallback flush);

  void request(const PushTargets& targets);
  // Pushes what is pending now (shutdown, tests).
  void flushNow();
  bool pending() const { return !pending_.empty(); }
  uint64_t flushes() const { return flushes_; }
  uint64_t requests() const { return requests_; }

private:
  std::chrono::nanoseconds quietPeriod_;
  std::chrono::nanoseconds maxDelay_;
  const core::TimeSource& time_;
  FlushCallback flush_;
  std::unique_ptr<core::Timer> timer_;
  PushTargets pending_;
  core::MonotonicTime firstRequest_;
  uint64_t flushes_ = 0;
  uint64_t requests_ = 0;
};

} // namespace meshd::control::xds
