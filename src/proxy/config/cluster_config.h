// One upstream cluster's config (envoy.config.cluster.v3.Cluster), validated, with Envoy's
// defaults filled in. Built from a bootstrap's static clusters today and from CDS with xDS.
#pragma once

#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "boost/asio/ip/tcp.hpp"
#include "envoy/config/cluster/v3/cluster.pb.h"
#include "proxy/config/health_check_config.h"
#include "proxy/config/http2_options.h"

namespace meshd::proxy::config {

using Endpoint = boost::asio::ip::tcp::endpoint;

// One upstream host of a cluster (an lb_endpoint with what its locality adds).
struct HostConfig {
  Endpoint address;
  uint32_t weight = 1;         // load_balancing_weight
  uint32_t priority = 0;       // of its LocalityLbEndpoints; 0 is used first
  uint32_t localityWeight = 0; // 0: not set
  std::string hostname;        // DNS clusters: the name it was resolved from (auto_host_rewrite)
  // EDS health_status: UNHEALTHY, DRAINING and TIMEOUT hosts take no traffic unless their
  // priority level is in panic.
  bool healthy = true;
  // Ejected by outlier detection (set when the runtime is built, from the cluster's detector):
  // like an unhealthy host, it takes no traffic unless its priority level is in panic.
  bool ejected = false;
  // Failing the cluster's active health check (set when the runtime is built, from its health
  // checker); `pendingActiveHc`: not checked yet, which also counts as failing (as Envoy).
  bool failedActiveHc = false;
  bool pendingActiveHc = false;

  bool operator==(const HostConfig&) const = default;
  // Usable when neither EDS health, outlier detection nor active health checking excludes it.
  bool usable() const { return healthy && !ejected && !failedActiveHc; }
};

// A STRICT_DNS endpoint before resolution: every address the name resolves to becomes a host
// with the endpoint's port, weight and locality.
struct DnsTarget {
  std::string hostname;
  uint16_t port = 0;
  HostConfig hostTemplate; // weight, priority and locality weight of the hosts it yields
};

enum class LbPolicy { kRoundRobin, kLeastRequest, kRandom, kRingHash, kMaglev, kClusterProvided };
// kLogicalDns: one host, the first address the name resolved to last (dns_cluster_refresher.h).
enum class ClusterType { kStatic, kStrictDns, kLogicalDns, kEds, kOriginalDst };
// dns_lookup_family. kAuto: IPv6 addresses when the name has any, else IPv4 (Envoy's AUTO).
enum class DnsLookupFamily { kAuto, kV4Only, kV6Only, kV4Preferred, kAll };
// The protocol of upstream requests (HttpProtocolOptions): explicit_http_config's HTTP/1.1 or
// HTTP/2 (cleartext, prior knowledge), or use_downstream_protocol_config's "as the downstream
// request came" (HTTP/2 only when both protocols are configured).
enum class UpstreamProtocol { kHttp1, kHttp2, kDownstream };

// upstream_connection_options.tcp_keepalive: SO_KEEPALIVE on upstream connections; unset fields
// keep the system's values.
struct TcpKeepalive {
  std::optional<uint32_t> probes;
  std::optional<uint32_t> timeSeconds;     // idle time before the first probe
  std::optional<uint32_t> intervalSeconds; // between probes
  bool operator==(const TcpKeepalive&) const = default;
};

// slow_start_config of ROUND_ROBIN / LEAST_REQUEST: a host that joined the cluster less than
// `window` ago gets weight * max(minWeightPercent/100, (max(age_s, 1) / window_s)^(1/aggression)).
struct SlowStartConfig {
  std::chrono::milliseconds window{0};
  double aggression = 1.0;        // Envoy's default
  double minWeightPercent = 10.0; // Envoy's default
  bool operator==(const SlowStartConfig&) const = default;
};

// circuit_breakers.thresholds[].retry_budget: concurrent retries limited to a share of the
// cluster's active requests instead of the fixed max_retries. Envoy's defaults.
struct RetryBudgetConfig {
  double budgetPercent = 20.0;
  uint32_t minRetryConcurrency = 3;
  bool operator==(const RetryBudgetConfig&) const = default;
};

// circuit_breakers.thresholds (priority DEFAULT); Envoy's defaults.
struct CircuitBreakerThresholds {
  uint32_t maxConnections = 1024;
  uint32_t maxPendingRequests = 1024;
  uint32_t maxRequests = 1024;
  uint32_t maxRetries = 3;
  // Connection pools (one per endpoint and worker here) open at once; Envoy's default: no limit.
  uint32_t maxConnectionPools = std::numeric_limits<uint32_t>::max();
  // When set, it replaces maxRetries (as in Envoy, a retry_budget message enables it even empty).
  std::optional<RetryBudgetConfig> retryBudget;
  bool trackRemaining = false; // the circuit_breakers.default.remaining_* gauges
  bool operator==(const CircuitBreakerThresholds&) const = default;
};

// Envoy's OutlierDetection (the fields mesh-proxy honours), with Envoy's defaults.
struct OutlierDetectionConfig {
  uint32_t consecutive5xx = 5;
  uint32_t enforcingConsecutive5xx = 100; // percent of detections that eject
  uint32_t consecutiveGatewayFailure = 5;
  uint32_t enforcingConsecutiveGatewayFailure = 0;
  bool splitExternalLocalOriginErrors = false;
  uint32_t consecutiveLocalOriginFailure = 5;
  uint32_t enforcingConsecutiveLocalOriginFailure = 100;
  std::chrono::milliseconds interval{10000};
  std::chrono::milliseconds baseEjectionTime{30000};
  std::chrono::milliseconds maxEjectionTime{300000};
  uint32_t maxEjectionPercent = 10;
  // Success rate: hosts with at least `successRateRequestVolume` requests in an interval, when at
  // least `successRateMinimumHosts` have, are ejected below mean - stdev * factor / 1000.
  uint32_t enforcingSuccessRate = 100;
  uint32_t successRateMinimumHosts = 5;
  uint32_t successRateRequestVolume = 100;
  uint32_t successRateStdevFactor = 1900;
  // Failure percentage: hosts failing at least this percent of their requests.
  uint32_t failurePercentageThreshold = 85;
  uint32_t enforcingFailurePercentage = 0;
  uint32_t failurePercentageMinimumHosts = 5;
  uint32_t failurePercentageRequestVolume = 50;
  bool operator==(const OutlierDetectionConfig&) const = default;
};

struct ClusterConfig {
  std::string name;
  std::chrono::milliseconds connectTimeout{5000};   // Envoy's default
  uint32_t perConnectionBufferLimitBytes = 1 << 20; // Envoy's default (1 MiB)
  std::optional<TcpKeepalive> tcpKeepalive;
  ClusterType type = ClusterType::kStatic;
  LbPolicy lbPolicy = LbPolicy::kRoundRobin;
  // ORIGINAL_DST: take the destination from x-envoy-original-dst-host (use_http_header).
  bool originalDstUseHttpHeader = false;
  uint32_t leastRequestChoiceCount = 2;
  std::optional<SlowStartConfig> slowStart;
  uint64_t ringHashMinimumSize = 1024;
  uint64_t ringHashMaximumSize = 8 * 1024 * 1024;
  uint64_t maglevTableSize = 65537;
  // Upstream connections (HttpProtocolOptions.common_http_protocol_options): an idle pooled
  // connection is closed after `idleTimeout` (Envoy's default: one hour; zero: never), and a
  // connection carries at most `maxRequestsPerConnection` requests (zero: no limit).
  std::chrono::milliseconds idleTimeout{std::chrono::hours(1)};
  uint32_t maxRequestsPerConnection = 0;
  // common_http_protocol_options.max_connection_duration: a connection older than this takes no
  // new request and closes once idle (zero: no limit).
  std::chrono::milliseconds maxConnectionDuration{0};
  UpstreamProtocol upstreamProtocol = UpstreamProtocol::kHttp1;
  Http2Options http2; // the HTTP/2 settings of upstream connections, when they speak HTTP/2
  std::vector<HostConfig> hosts; // DNS clusters: empty until the names resolve
  // STRICT_DNS and LOGICAL_DNS.
  std::vector<DnsTarget> dnsTargets;
  std::chrono::milliseconds dnsRefreshRate{5000}; // Envoy's default
  bool respectDnsTtl = false;                     // refresh when the answer's TTL says so instead
  DnsLookupFamily dnsLookupFamily = DnsLookupFamily::kAuto;
  std::vector<Endpoint> dnsResolvers; // c-ares resolvers; empty: the system's (resolv.conf)
  // EDS: the ClusterLoadAssignment named `edsServiceName` (eds_cluster_config.service_name, else
  // the cluster's name), from the file `edsPath` (eds_config.path_config_source).
  std::string edsServiceName;
  std::string edsPath; // empty: over ADS (eds_config: { ads: {} })
  CircuitBreakerThresholds circuitBreakers;
  std::optional<OutlierDetectionConfig> outlierDetection;
  // health_checks (Envoy supports one).
  std::optional<HealthCheckConfig> healthCheck;
  // common_lb_config.healthy_panic_threshold: below this percent of usable hosts a priority level
  // uses all its hosts (Envoy's default 50; 0 disables panic).
  uint32_t healthyPanicThresholdPercent = 50;
};

// Validates one Cluster; errors name the field under `where` (e.g. "static_resources.clusters[0]").
absl::StatusOr<ClusterConfig> buildCluster(const envoy::config::cluster::v3::Cluster& cluster,
                                           const std::string& where);

// The hosts of a ClusterLoadAssignment whose addresses are IPs (STATIC, EDS).
absl::StatusOr<std::vector<HostConfig>>
buildHosts(const envoy::config::endpoint::v3::ClusterLoadAssignment& assignment,
           const std::string& where);

} // namespace meshd::proxy::config
