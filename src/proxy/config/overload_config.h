// The bootstrap's overload_manager as mesh-proxy models it (Envoy's envoy.config.overload.v3):
// which resources are watched, how often, and which protective actions their pressure turns on.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "envoy/config/overload/v3/overload.pb.h"

namespace meshd::proxy::config {

inline constexpr std::string_view kFixedHeapMonitor = "envoy.resource_monitors.fixed_heap";
inline constexpr std::string_view kGlobalConnectionsMonitor =
    "envoy.resource_monitors.global_downstream_max_connections";

inline constexpr std::string_view kStopAcceptingRequests =
    "envoy.overload_actions.stop_accepting_requests";
inline constexpr std::string_view kStopAcceptingConnections =
    "envoy.overload_actions.stop_accepting_connections";
inline constexpr std::string_view kDisableHttpKeepalive =
    "envoy.overload_actions.disable_http_keepalive";

struct OverloadTriggerConfig {
  std::string monitor;
  // Threshold trigger: active at pressure >= threshold. Scaled trigger: scaling from
  // scalingThreshold, saturated (active) at saturationThreshold.
  double threshold = 1.0;
  std::optional<double> scalingThreshold;
};

struct OverloadActionConfig {
  std::string name;
  std::vector<OverloadTriggerConfig> triggers;
};

struct OverloadConfig {
  std::chrono::milliseconds refreshInterval{1000};       // Envoy's default
  std::optional<uint64_t> maxHeapSizeBytes;              // fixed_heap monitor
  std::optional<int64_t> maxActiveDownstreamConnections; // global_downstream_max_connections
  std::vector<OverloadActionConfig> actions;
};

// Validates as Envoy does: known monitor and action names, typed configs of the right type and
// positive limits, triggers naming a configured monitor, thresholds within [0, 1].
absl::StatusOr<OverloadConfig>
buildOverloadConfig(const envoy::config::overload::v3::OverloadManager& proto);

} // namespace meshd::proxy::config
