// A cluster's active health check (envoy.config.core.v3.HealthCheck), validated, with Envoy's
// defaults filled in. mesh-proxy runs HTTP/1.1 and TCP checks (upstream/health_checker.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "envoy/config/core/v3/health_check.pb.h"

namespace meshd::proxy::config {

struct HealthCheckConfig {
  // http_health_check: a GET of `path`; the host is healthy when the status is in one of the
  // [start, end) ranges of expected_statuses (default [200, 300)).
  struct Http {
    std::string path;
    std::string host; // empty: the cluster's name, as Envoy
    std::vector<std::pair<int64_t, int64_t>> expectedStatuses{{200, 300}};
    // Unexpected statuses in these ranges count towards unhealthy_threshold; any other unexpected
    // status makes the host unhealthy at once (Envoy's ACTIVE failure).
    std::vector<std::pair<int64_t, int64_t>> retriableStatuses;
    std::vector<std::pair<std::string, std::string>> requestHeadersToAdd;
    bool operator==(const Http&) const = default;
  };
  // tcp_health_check: a connection succeeds; with `send`, those bytes are written; with
  // `receive`, each block must then arrive in order (not necessarily adjacent), as Envoy.
  struct Tcp {
    std::string send;
    std::vector<std::string> receive;
    bool operator==(const Tcp&) const = default;
  };

  std::chrono::milliseconds timeout{0};
  std::chrono::milliseconds interval{0};
  std::chrono::milliseconds initialJitter{0};
  std::chrono::milliseconds intervalJitter{0};
  uint32_t intervalJitterPercent = 0;
  uint32_t unhealthyThreshold = 1;
  uint32_t healthyThreshold = 1;
  bool alwaysLogFailures = false;
  std::optional<Http> http;
  std::optional<Tcp> tcp;
  bool operator==(const HealthCheckConfig&) const = default;
};

// Validates one HealthCheck; errors name the field under `where`.
absl::StatusOr<HealthCheckConfig>
buildHealthCheck(const envoy::config::core::v3::HealthCheck& proto, const std::string& where);

} // namespace meshd::proxy::config
