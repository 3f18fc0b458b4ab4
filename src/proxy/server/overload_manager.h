// Envoy's overload manager for mesh-proxy: every refresh_interval the main thread measures the
// configured resource monitors (pressure = use / limit), turns the overload actions whose
// triggers fire on or off, and publishes each action's state as an atomic that workers read on
// their data path without locking. The global downstream connection limit is enforced at accept
// with an atomic count shared by every listener and worker.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "core/event_loop.h"
#include "core/stats/store.h"
#include "proxy/config/overload_config.h"

namespace meshd::proxy::server {

enum class OverloadAction : size_t {
  kStopAcceptingRequests,
  kStopAcceptingConnections,
  kDisableHttpKeepalive,
  kCount
};

// The heap in use, in bytes, as the fixed_heap monitor sees it; nullopt when it cannot be read.
using HeapMeasure = std::function<std::optional<uint64_t>()>;
// mesh-proxy's measurement: the resident set of the process (/proc/self/statm, second field,
// times the page size). It bounds the heap from above and, unlike mallinfo2(), reads the same
// with or without a sanitizer's allocator.
std::optional<uint64_t> residentMemoryBytes();

class OverloadManager {
public:
  OverloadManager(config::OverloadConfig config, stats::Store& store,
                  HeapMeasure heap = residentMemoryBytes);

  // Measures every monitor and updates the actions (main thread). Called once at start, so the
  // first connection already sees the state, then every refresh_interval by start().
  void refresh();
  void start(core::EventLoop& main);
  // `on_change(action, active)` is called on the main thread when an action turns on or off.
  void onActionChange(std::function<void(OverloadAction, bool)> on_change) {
    onChange_ = std::move(on_change);
  }

  // Any thread: whether the action is on.
  bool active(OverloadAction action) const {
    return actions_[static_cast<size_t>(action)].active.load(std::memory_order_relaxed);
  }
  // Any thread: one of the global downstream connections, held by the connection for its
  // lifetime; null when the global limit is reached. Always granted without that monitor.
  std::shared_ptr<void> tryAcquireConnection();
  int64_t activeConnections() const { return connections_->load(std::memory_order_relaxed); }

private:
  struct ActionState {
    std::atomic<bool> active{false};
    std::vector<config::OverloadTriggerConfig> triggers;
    bool configured = false;
    stats::SetGauge activeGauge;
    stats::SetGauge scalePercent;
  };
  // Pressure of a monitor by name (nullopt: not measurable this time).
  std::optional<double> pressure(const std::string& monitor);

  config::OverloadConfig config_;
  HeapMeasure heap_;
  std::array<ActionState, static_cast<size_t>(OverloadAction::kCount)> actions_;
  std::shared_ptr<std::atomic<int64_t>> connections_ = std::make_shared<std::atomic<int64_t>>(0);
  stats::SetGauge heapPressure_;
  stats::SetGauge connectionsPressure_;
  stats::Counter heapFailedUpdates_;
  std::function<void(OverloadAction, bool)> onChange_;
  std::unique_ptr<core::Timer> timer_;
};

} // namespace meshd::proxy::server
