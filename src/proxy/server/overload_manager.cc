// OverloadManager (overload_manager.h).
#include "proxy/server/overload_manager.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>

#include "fmt/format.h"

namespace meshd::proxy::server {
namespace {

constexpr std::array<std::string_view, static_cast<size_t>(OverloadAction::kCount)> kActionNames = {
    config::kStopAcceptingRequests, config::kStopAcceptingConnections,
    config::kDisableHttpKeepalive};

int64_t percent(double fraction) {
  return std::llround(std::clamp(fraction, 0.0, 1.0) * 100.0);
}

} // namespace

std::optional<uint64_t> residentMemoryBytes() {
  std::ifstream statm("/proc/self/statm");
  uint64_t sizePages = 0;
  uint64_t residentPages = 0;
  if (!(statm >> sizePages >> residentPages)) {
    return std::nullopt;
  }
  return residentPages * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

OverloadManager::OverloadManager(config::OverloadConfig config, stats::Store& store,
                                 HeapMeasure heap)
    : config_(std::move(config)), heap_(std::move(heap)) {
  for (auto& action : config_.actions) {
    const auto found = std::find(kActionNames.begin(), kActionNames.end(), action.name);
    if (found == kActionNames.end()) {
      continue; // rejected by the config already
    }
    ActionState& state = actions_[static_cast<size_t>(found - kActionNames.begin())];
    state.configured = true;
    state.triggers = action.triggers;
    state.activeGauge = store.setGauge(fmt::format("overload.{}.active", action.name), {},
                                       "1 while the overload action is active");
    state.scalePercent = store.setGauge(fmt::format("overload.{}.scale_percent", action.name), {},
                                        "How far the action's triggers are towards saturation");
  }
  if (config_.maxHeapSizeBytes) {
    heapPressure_ = store.setGauge(fmt::format("overload.{}.pressure", config::kFixedHeapMonitor),
                                   {}, "Heap in use as a percent of max_heap_size_bytes");
    heapFailedUpdates_ =
        store.counter(fmt::format("overload.{}.failed_updates", config::kFixedHeapMonitor), {},
                      "Refreshes where the heap in use could not be measured");
  }
  if (config_.maxActiveDownstreamConnections) {
    connectionsPressure_ = store.setGauge(
        fmt::format("overload.{}.pressure", config::kGlobalConnectionsMonitor), {},
        "Open downstream connections as a percent of max_active_downstream_connections");
  }
}

std::optional<double> OverloadManager::pressure(const std::string& monitor) {
  if (monitor == config::kFixedHeapMonitor && config_.maxHeapSizeBytes) {
    const std::optional<uint64_t> used = heap_();
    if (!used) {
      heapFailedUpdates_.inc();
      return std::nullopt;
    }
    return static_cast<double>(*used) / static_cast<double>(*config_.maxHeapSizeBytes);
  }
  if (monitor == config::kGlobalConnectionsMonitor && config_.maxActiveDownstreamConnections) {
    return static_cast<double>(activeConnections()) /
           static_cast<double>(*config_.maxActiveDownstreamConnections);
  }
  return std::nullopt;
}

void OverloadManager::refresh() {
  // Each monitor is measured once per refresh, whatever the number of triggers naming it.
  std::map<std::string, std::optional<double>> measured;
  auto pressureOf = [&](const std::string& monitor) {
    auto [entry, inserted] = measured.try_emplace(monitor);
    if (inserted) {
      entry->second = pressure(monitor);
    }
    return entry->second;
  };
  if (config_.maxHeapSizeBytes) {
    if (const auto heap = pressureOf(std::string(config::kFixedHeapMonitor))) {
      heapPressure_.set(percent(*heap));
    }
  }
  if (config_.maxActiveDownstreamConnections) {
    if (const auto connections = pressureOf(std::string(config::kGlobalConnectionsMonitor))) {
      connectionsPressure_.set(percent(*connections));
    }
  }
  for (size_t i = 0; i < actions_.size(); ++i) {
    ActionState& action = actions_[i];
    if (!action.configured) {
      continue;
    }
    bool anyMeasured = false;
    bool saturated = false;
    double scale = 0.0;
    for (const auto& trigger : action.triggers) {
      const std::optional<double> value = pressureOf(trigger.monitor);
      if (!value) {
        continue;
      }
      anyMeasured = true;
      if (*value >= trigger.threshold) {
        saturated = true;
        scale = 1.0;
      } else if (trigger.scalingThreshold && *value > *trigger.scalingThreshold) {
        scale = std::max(scale, (*value - *trigger.scalingThreshold) /
                                    (trigger.threshold - *trigger.scalingThreshold));
      }
    }
    if (!anyMeasured) {
      continue; // nothing new to go by: the action keeps its state
    }
    action.scalePercent.set(percent(scale));
    action.activeGauge.set(saturated ? 1 : 0);
    const bool was = action.active.exchange(saturated, std::memory_order_relaxed);
    if (was != saturated && onChange_) {
      onChange_(static_cast<OverloadAction>(i), saturated);
    }
  }
}

void OverloadManager::start(core::EventLoop& main) {
  timer_ = main.createTimer([this] {
    refresh();
    timer_->enable(config_.refreshInterval);
  });
  timer_->enable(config_.refreshInterval);
}

std::shared_ptr<void> OverloadManager::tryAcquireConnection() {
  if (!config_.maxActiveDownstreamConnections) {
    return std::make_shared<int>(0); // no limit: a slot that counts nothing
  }
  const int64_t max = *config_.maxActiveDownstreamConnections;
  int64_t current = connections_->load(std::memory_order_relaxed);
  do {
    if (current >= max) {
      return nullptr;
    }
  } while (!connections_->compare_exchange_weak(current, current + 1, std::memory_order_relaxed));
  // The count outlives this manager if a connection does: the slot holds it.
  return std::shared_ptr<void>(new int(0), [count = connections_](void* slot) {
    delete static_cast<int*>(slot);
    count->fetch_sub(1, std::memory_order_relaxed);
  });
}

} // namespace meshd::proxy::server
