// Building OverloadConfig from the bootstrap's overload_manager (overload_config.h).
#include "proxy/config/overload_config.h"

#include <set>

#include "envoy/extensions/resource_monitors/downstream_connections/v3/downstream_connections.pb.h"
#include "envoy/extensions/resource_monitors/fixed_heap/v3/fixed_heap.pb.h"
#include "fmt/format.h"
#include "proxy/config/conversions.h"

namespace meshd::proxy::config {
namespace {

bool isFraction(double value) {
  return value >= 0.0 && value <= 1.0;
}

} // namespace

absl::StatusOr<OverloadConfig>
buildOverloadConfig(const envoy::config::overload::v3::OverloadManager& proto) {
  OverloadConfig out;
  if (proto.has_refresh_interval()) {
    out.refreshInterval = toMillis(proto.refresh_interval());
    if (out.refreshInterval.count() <= 0) {
      return invalid("overload_manager.refresh_interval", "must be at least 1ms");
    }
  }
  std::set<std::string> monitors;
  for (int i = 0; i < proto.resource_monitors_size(); ++i) {
    const auto& monitor = proto.resource_monitors(i);
    const std::string where = fmt::format("overload_manager.resource_monitors[{}]", i);
    if (!monitors.insert(monitor.name()).second) {
      return invalid(where + ".name",
                     fmt::format("duplicate resource monitor '{}'", monitor.name()));
    }
    if (monitor.name() == kFixedHeapMonitor) {
      envoy::extensions::resource_monitors::fixed_heap::v3::FixedHeapConfig heap;
      if (!monitor.typed_config().UnpackTo(&heap)) {
        return invalid(where + ".typed_config", "needs a FixedHeapConfig");
      }
      if (heap.max_heap_size_bytes() == 0) {
        return invalid(where + ".typed_config.max_heap_size_bytes", "must be greater than 0");
      }
      out.maxHeapSizeBytes = heap.max_heap_size_bytes();
    } else if (monitor.name() == kGlobalConnectionsMonitor) {
      envoy::extensions::resource_monitors::downstream_connections::v3::DownstreamConnectionsConfig
          connections;
      if (!monitor.typed_config().UnpackTo(&connections)) {
        return invalid(where + ".typed_config", "needs a DownstreamConnectionsConfig");
      }
      if (connections.max_active_downstream_connections() <= 0) {
        return invalid(where + ".typed_config.max_active_downstream_connections",
                       "must be greater than 0");
      }
      out.maxActiveDownstreamConnections = connections.max_active_downstream_connections();
    } else {
      return invalid(where + ".name",
                     fmt::format("resource monitor '{}' is not supported by mesh-proxy (only {} "
                                 "and {})",
                                 monitor.name(), kFixedHeapMonitor, kGlobalConnectionsMonitor));
    }
  }
  std::set<std::string> actions;
  for (int i = 0; i < proto.actions_size(); ++i) {
    const auto& action = proto.actions(i);
    const std::string where = fmt::format("overload_manager.actions[{}]", i);
    if (action.name() != kStopAcceptingRequests && action.name() != kStopAcceptingConnections &&
        action.name() != kDisableHttpKeepalive) {
      return invalid(where + ".name", fmt::format("overload action '{}' is not supported by "
                                                  "mesh-proxy",
                                                  action.name()));
    }
    if (!actions.insert(action.name()).second) {
      return invalid(where + ".name", fmt::format("duplicate overload action '{}'", action.name()));
    }
    if (action.triggers_size() == 0) {
      return invalid(where + ".triggers", "needs at least one trigger");
    }
    OverloadActionConfig parsed{action.name(), {}};
    std::set<std::string> triggered;
    for (int j = 0; j < action.triggers_size(); ++j) {
      const auto& trigger = action.triggers(j);
      const std::string at = fmt::format("{}.triggers[{}]", where, j);
      if (!monitors.contains(trigger.name())) {
        return invalid(at + ".name", fmt::format("unknown resource monitor '{}'", trigger.name()));
      }
      if (!triggered.insert(trigger.name()).second) {
        return invalid(at + ".name", fmt::format("duplicate trigger for '{}'", trigger.name()));
      }
      OverloadTriggerConfig out_trigger{trigger.name()};
      if (trigger.has_threshold()) {
        out_trigger.threshold = trigger.threshold().value();
        if (!isFraction(out_trigger.threshold)) {
          return invalid(at + ".threshold.value", "must be within [0, 1]");
        }
      } else if (trigger.has_scaled()) {
        const double scaling = trigger.scaled().scaling_threshold();
        const double saturation = trigger.scaled().saturation_threshold();
        if (!isFraction(scaling) || !isFraction(saturation) || scaling >= saturation) {
          return invalid(at + ".scaled",
                         "needs 0 <= scaling_threshold < saturation_threshold <= 1");
        }
        out_trigger.scalingThreshold = scaling;
        out_trigger.threshold = saturation;
      } else {
        return invalid(at, "needs a threshold or a scaled trigger");
      }
      parsed.triggers.push_back(std::move(out_trigger));
    }
    out.actions.push_back(std::move(parsed));
  }
  return out;
}

} // namespace meshd::proxy::config
