// Building one ClusterConfig from an Envoy Cluster (cluster_config.h).
#include "proxy/config/cluster_config.h"

#include "core/status.h"
#include "envoy/extensions/network/dns_resolver/cares/v3/cares_dns_resolver.pb.h"
#include "envoy/extensions/upstreams/http/v3/http_protocol_options.pb.h"
#include "fmt/format.h"
#include "proxy/config/conversions.h"

namespace meshd::proxy::config {
namespace {

constexpr std::string_view kHttpProtocolOptions =
    "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";

// typed_extension_protocol_options: the upstream HTTP connection settings.
absl::Status applyProtocolOptions(const envoy::config::cluster::v3::Cluster& cluster,
                                  const std::string& where, ClusterConfig& out) {
  for (const auto& [name, any] : cluster.typed_extension_protocol_options()) {
    const std::string at = fmt::format("{}.typed_extension_protocol_options[{}]", where, name);
    envoy::extensions::upstreams::http::v3::HttpProtocolOptions options;
    if (name != kHttpProtocolOptions || !any.UnpackTo(&options)) {
      return invalid(at, fmt::format("only {} is supported", kHttpProtocolOptions));
    }
    if (options.has_explicit_http_config()) {
      const auto& config = options.explicit_http_config();
      if (config.has_http2_protocol_options()) {
        out.upstreamProtocol = UpstreamProtocol::kHttp2;
        ASSIGN_OR_RETURN(out.http2,
                         buildHttp2Options(config.http2_protocol_options(),
                                           at + ".explicit_http_config.http2_protocol_options"));
      } else if (!config.has_http_protocol_options()) {
        return invalid(at + ".explicit_http_config",
                       "needs http_protocol_options or http2_protocol_options");
      }
    }
    // use_downstream_protocol_config (Istio's passthrough and sniffed clusters): HTTP/2 upstream
    // requests only for HTTP/2 downstream ones, and only when HTTP/2 is configured.
    if (options.has_use_downstream_protocol_config()) {
      const auto& config = options.use_downstream_protocol_config();
      if (!config.has_http_protocol_options()) {
        return invalid(at + ".use_downstream_protocol_config", "needs http_protocol_options");
      }
      if (config.has_http2_protocol_options()) {
        out.upstreamProtocol = UpstreamProtocol::kDownstream;
        ASSIGN_OR_RETURN(
            out.http2,
            buildHttp2Options(config.http2_protocol_options(),
                              at + ".use_downstream_protocol_config.http2_protocol_options"));
      }
    }
    const auto& common = options.common_http_protocol_options();
    if (common.has_max_headers_count()) {
      return invalid(at + ".common_http_protocol_options.max_headers_count",
                     "not supported for upstream connections");
    }
    if (common.has_idle_timeout()) {
      out.idleTimeout = toMillis(common.idle_timeout());
    }
    if (common.has_max_requests_per_connection()) {
      out.maxRequestsPerConnection = common.max_requests_per_connection().value();
    }
    if (common.has_max_connection_duration()) {
      out.maxConnectionDuration = toMillis(common.max_connection_duration());
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<SlowStartConfig>
buildSlowStart(const envoy::config::cluster::v3::Cluster::SlowStartConfig& proto,
               const std::string& where) {
  SlowStartConfig out;
  out.window = toMillis(proto.slow_start_window());
  if (out.window.count() <= 0) {
    return invalid(where + ".slow_start_window", "must be positive");
  }
  if (proto.has_aggression()) {
    out.aggression = proto.aggression().default_value();
    if (!(out.aggression > 0)) {
      return invalid(where + ".aggression", "must be greater than 0");
    }
  }
  if (proto.has_min_weight_percent()) {
    out.minWeightPercent = proto.min_weight_percent().value();
    if (out.minWeightPercent < 0 || out.minWeightPercent > 100) {
      return invalid(where + ".min_weight_percent", "must be between 0 and 100");
    }
  }
  return out;
}

// STRICT_DNS and LOGICAL_DNS: refresh, lookup family and resolvers.
absl::Status applyDnsOptions(const envoy::config::cluster::v3::Cluster& cluster,
                             const std::string& where, ClusterConfig& out) {
  using Cluster = envoy::config::cluster::v3::Cluster;
  if (cluster.has_dns_refresh_rate()) {
    out.dnsRefreshRate = toMillis(cluster.dns_refresh_rate());
    if (out.dnsRefreshRate.count() < 1) {
      return invalid(where + ".dns_refresh_rate", "must be at least 1ms");
    }
  }
  out.respectDnsTtl = cluster.respect_dns_ttl();
  switch (cluster.dns_lookup_family()) {
  case Cluster::V4_ONLY: out.dnsLookupFamily = DnsLookupFamily::kV4Only; break;
  case Cluster::V6_ONLY: out.dnsLookupFamily = DnsLookupFamily::kV6Only; break;
  case Cluster::V4_PREFERRED: out.dnsLookupFamily = DnsLookupFamily::kV4Preferred; break;
  case Cluster::ALL: out.dnsLookupFamily = DnsLookupFamily::kAll; break;
  default: out.dnsLookupFamily = DnsLookupFamily::kAuto; break;
  }
  if (cluster.has_typed_dns_resolver_config()) {
    const std::string at = where + ".typed_dns_resolver_config.typed_config";
    envoy::extensions::network::dns_resolver::cares::v3::CaresDnsResolverConfig cares;
    if (!cluster.typed_dns_resolver_config().typed_config().UnpackTo(&cares)) {
      return invalid(at, "only the c-ares resolver (CaresDnsResolverConfig) is supported");
    }
    for (int i = 0; i < cares.resolvers_size(); ++i) {
      ASSIGN_OR_RETURN(Endpoint resolver,
                       toEndpoint(cares.resolvers(i), fmt::format("{}.resolvers[{}]", at, i)));
      out.dnsResolvers.push_back(resolver);
    }
  }
  return absl::OkStatus();
}

// One lb_endpoint's weight and its locality's priority and weight.
absl::StatusOr<HostConfig>
hostTemplate(const envoy::config::endpoint::v3::LocalityLbEndpoints& locality,
             const envoy::config::endpoint::v3::LbEndpoint& endpoint, const std::string& at) {
  HostConfig host;
  if (endpoint.has_load_balancing_weight()) {
    host.weight = endpoint.load_balancing_weight().value();
    if (host.weight == 0) {
      return invalid(at + ".load_balancing_weight", "must be at least 1");
    }
  }
  host.priority = locality.priority();
  using envoy::config::core::v3::HealthStatus;
  const HealthStatus status = endpoint.health_status();
  host.healthy = status != HealthStatus::UNHEALTHY && status != HealthStatus::DRAINING &&
                 status != HealthStatus::TIMEOUT;
  host.localityWeight =
      locality.has_load_balancing_weight() ? locality.load_balancing_weight().value() : 0;
  return host;
}

// STRICT_DNS and LOGICAL_DNS: names (or IP literals) to resolve; the hosts come from their
// answers.
absl::StatusOr<std::vector<DnsTarget>>
buildDnsTargets(const envoy::config::endpoint::v3::ClusterLoadAssignment& assignment,
                const std::string& where) {
  std::vector<DnsTarget> out;
  for (int l = 0; l < assignment.endpoints_size(); ++l) {
    const auto& locality = assignment.endpoints(l);
    for (int e = 0; e < locality.lb_endpoints_size(); ++e) {
      const auto& lbEndpoint = locality.lb_endpoints(e);
      const std::string at =
          fmt::format("{}.load_assignment.endpoints[{}].lb_endpoints[{}]", where, l, e);
      const auto& address = lbEndpoint.endpoint().address();
      const auto& socket = address.socket_address();
      if (!address.has_socket_address() || socket.address().empty()) {
        return invalid(at + ".endpoint.address", "a DNS cluster's endpoint needs a name");
      }
      if (socket.port_value() == 0 || socket.port_value() > 65535) {
        return invalid(at + ".endpoint.address.socket_address.port_value",
                       fmt::format("{} is not a port", socket.port_value()));
      }
      ASSIGN_OR_RETURN(HostConfig host, hostTemplate(locality, lbEndpoint, at));
      out.push_back({socket.address(), static_cast<uint16_t>(socket.port_value()), host});
    }
  }
  return out;
}

// EDS: where the assignment comes from. mesh-proxy reads it from a file here; ADS arrives with
// the xDS client.
absl::Status applyEdsConfig(const envoy::config::cluster::v3::Cluster& cluster,
                            const std::string& where, ClusterConfig& out) {
  out.type = ClusterType::kEds;
  const auto& eds = cluster.eds_cluster_config();
  out.edsServiceName = eds.service_name().empty() ? cluster.name() : eds.service_name();
  if (cluster.has_load_assignment()) {
    return invalid(where + ".load_assignment", "an EDS cluster gets its endpoints from EDS");
  }
  RETURN_IF_ERROR(
      noInitialFetchTimeout(eds.eds_config(), where + ".eds_cluster_config.eds_config"));
  if (eds.eds_config().has_ads()) {
    return absl::OkStatus(); // over the bootstrap's ADS stream
  }
  if (!eds.eds_config().has_path_config_source()) {
    return invalid(where + ".eds_cluster_config.eds_config", "needs ads or path_config_source");
  }
  out.edsPath = eds.eds_config().path_config_source().path();
  if (out.edsPath.empty()) {
    return invalid(where + ".eds_cluster_config.eds_config.path_config_source.path", "is required");
  }
  return absl::OkStatus();
}

} // namespace

absl::StatusOr<std::vector<HostConfig>>
buildHosts(const envoy::config::endpoint::v3::ClusterLoadAssignment& assignment,
           const std::string& where) {
  std::vector<HostConfig> out;
  for (int l = 0; l < assignment.endpoints_size(); ++l) {
    const auto& locality = assignment.endpoints(l);
    for (int e = 0; e < locality.lb_endpoints_size(); ++e) {
      const auto& lbEndpoint = locality.lb_endpoints(e);
      const std::string at = fmt::format("{}.endpoints[{}].lb_endpoints[{}]", where, l, e);
      ASSIGN_OR_RETURN(HostConfig host, hostTemplate(locality, lbEndpoint, at));
      ASSIGN_OR_RETURN(host.address,
                       toEndpoint(lbEndpoint.endpoint().address(), at + ".endpoint.address"));
      out.push_back(std::move(host));
    }
  }
  return out;
}

namespace {

absl::StatusOr<CircuitBreakerThresholds>
buildCircuitBreakers(const envoy::config::cluster::v3::Cluster& cluster, const std::string& where) {
  CircuitBreakerThresholds out;
  const auto& thresholds = cluster.circuit_breakers().thresholds();
  for (int i = 0; i < thresholds.size(); ++i) {
    const auto& t = thresholds[i];
    const std::string at = fmt::format("{}.circuit_breakers.thresholds[{}]", where, i);
    if (t.priority() != envoy::config::core::v3::DEFAULT) {
      return invalid(at + ".priority", "only the DEFAULT priority is supported");
    }
    if (t.has_max_connections()) {
      out.maxConnections = t.max_connections().value();
    }
    if (t.has_max_pending_requests()) {
      out.maxPendingRequests = t.max_pending_requests().value();
    }
    if (t.has_max_requests()) {
      out.maxRequests = t.max_requests().value();
    }
    if (t.has_max_retries()) {
      out.maxRetries = t.max_retries().value();
    }
    if (t.has_max_connection_pools()) {
      out.maxConnectionPools = t.max_connection_pools().value();
    }
    if (t.has_retry_budget()) {
      RetryBudgetConfig budget;
      if (t.retry_budget().has_budget_percent()) {
        budget.budgetPercent = t.retry_budget().budget_percent().value();
        if (budget.budgetPercent < 0 || budget.budgetPercent > 100) {
          return invalid(at + ".retry_budget.budget_percent", "must be in [0, 100]");
        }
      }
      if (t.retry_budget().has_min_retry_concurrency()) {
        budget.minRetryConcurrency = t.retry_budget().min_retry_concurrency().value();
      }
      out.retryBudget = budget;
    }
    out.trackRemaining = t.track_remaining();
  }
  return out;
}

absl::StatusOr<OutlierDetectionConfig>
buildOutlierDetection(const envoy::config::cluster::v3::OutlierDetection& proto,
                      const std::string& where) {
  OutlierDetectionConfig out;
  auto percent = [&](const google::protobuf::UInt32Value& value, const char* field,
                     uint32_t& target) -> absl::Status {
    if (value.value() > 100) {
      return invalid(fmt::format("{}.{}", where, field), "must be at most 100");
    }
    target = value.value();
    return absl::OkStatus();
  };
  auto duration = [&](const google::protobuf::Duration& value, const char* field,
                      std::chrono::milliseconds& target) -> absl::Status {
    target = toMillis(value);
    if (target.count() <= 0) {
      return invalid(fmt::format("{}.{}", where, field), "must be positive");
    }
    return absl::OkStatus();
  };
  if (proto.has_consecutive_5xx()) {
    out.consecutive5xx = proto.consecutive_5xx().value();
  }
  if (proto.has_enforcing_consecutive_5xx()) {
    RETURN_IF_ERROR(percent(proto.enforcing_consecutive_5xx(), "enforcing_consecutive_5xx",
                            out.enforcingConsecutive5xx));
  }
  if (proto.has_consecutive_gateway_failure()) {
    out.consecutiveGatewayFailure = proto.consecutive_gateway_failure().value();
  }
  if (proto.has_enforcing_consecutive_gateway_failure()) {
    RETURN_IF_ERROR(percent(proto.enforcing_consecutive_gateway_failure(),
                            "enforcing_consecutive_gateway_failure",
                            out.enforcingConsecutiveGatewayFailure));
  }
  out.splitExternalLocalOriginErrors = proto.split_external_local_origin_errors();
  if (proto.has_consecutive_local_origin_failure()) {
    out.consecutiveLocalOriginFailure = proto.consecutive_local_origin_failure().value();
  }
  if (proto.has_enforcing_consecutive_local_origin_failure()) {
    RETURN_IF_ERROR(percent(proto.enforcing_consecutive_local_origin_failure(),
                            "enforcing_consecutive_local_origin_failure",
                            out.enforcingConsecutiveLocalOriginFailure));
  }
  if (proto.has_interval()) {
    RETURN_IF_ERROR(duration(proto.interval(), "interval", out.interval));
  }
  if (proto.has_base_ejection_time()) {
    RETURN_IF_ERROR(
        duration(proto.base_ejection_time(), "base_ejection_time", out.baseEjectionTime));
  }
  if (proto.has_max_ejection_time()) {
    RETURN_IF_ERROR(duration(proto.max_ejection_time(), "max_ejection_time", out.maxEjectionTime));
  }
  if (proto.has_max_ejection_percent()) {
    RETURN_IF_ERROR(
        percent(proto.max_ejection_percent(), "max_ejection_percent", out.maxEjectionPercent));
  }
  if (proto.has_enforcing_success_rate()) {
    RETURN_IF_ERROR(percent(proto.enforcing_success_rate(), "enforcing_success_rate",
                            out.enforcingSuccessRate));
  }
  if (proto.has_success_rate_minimum_hosts()) {
    out.successRateMinimumHosts = proto.success_rate_minimum_hosts().value();
  }
  if (proto.has_success_rate_request_volume()) {
    out.successRateRequestVolume = proto.success_rate_request_volume().value();
  }
  if (proto.has_success_rate_stdev_factor()) {
    out.successRateStdevFactor = proto.success_rate_stdev_factor().value();
  }
  if (proto.has_failure_percentage_threshold()) {
    RETURN_IF_ERROR(percent(proto.failure_percentage_threshold(), "failure_percentage_threshold",
                            out.failurePercentageThreshold));
  }
  if (proto.has_enforcing_failure_percentage()) {
    RETURN_IF_ERROR(percent(proto.enforcing_failure_percentage(), "enforcing_failure_percentage",
                            out.enforcingFailurePercentage));
  }
  if (proto.has_failure_percentage_minimum_hosts()) {
    out.failurePercentageMinimumHosts = proto.failure_percentage_minimum_hosts().value();
  }
  if (proto.has_failure_percentage_request_volume()) {
    out.failurePercentageRequestVolume = proto.failure_percentage_request_volume().value();
  }
  return out;
}

} // namespace

absl::StatusOr<ClusterConfig> buildCluster(const envoy::config::cluster::v3::Cluster& cluster,
                                           const std::string& where) {
  ClusterConfig out;
  out.name = cluster.name();
  if (out.name.empty()) {
    return invalid(where + ".name", "a cluster needs a name");
  }
  if (cluster.has_connect_timeout()) {
    out.connectTimeout = toMillis(cluster.connect_timeout());
    if (out.connectTimeout.count() <= 0) {
      return invalid(where + ".connect_timeout", "must be positive");
    }
  }
  if (cluster.has_per_connection_buffer_limit_bytes()) {
    out.perConnectionBufferLimitBytes = cluster.per_connection_buffer_limit_bytes().value();
  }
  if (cluster.upstream_connection_options().has_tcp_keepalive()) {
    const auto& keepalive = cluster.upstream_connection_options().tcp_keepalive();
    TcpKeepalive& to = out.tcpKeepalive.emplace();
    if (keepalive.has_keepalive_probes()) {
      to.probes = keepalive.keepalive_probes().value();
    }
    if (keepalive.has_keepalive_time()) {
      to.timeSeconds = keepalive.keepalive_time().value();
    }
    if (keepalive.has_keepalive_interval()) {
      to.intervalSeconds = keepalive.keepalive_interval().value();
    }
  }
  ASSIGN_OR_RETURN(out.circuitBreakers, buildCircuitBreakers(cluster, where));
  if (cluster.has_outlier_detection()) {
    ASSIGN_OR_RETURN(out.outlierDetection, buildOutlierDetection(cluster.outlier_detection(),
                                                                 where + ".outlier_detection"));
  }
  if (cluster.health_checks_size() > 1) {
    return invalid(where + ".health_checks", "only one health check is supported (as in Envoy)");
  }
  if (cluster.health_checks_size() == 1) {
    ASSIGN_OR_RETURN(out.healthCheck,
                     buildHealthCheck(cluster.health_checks(0), where + ".health_checks[0]"));
  }
  if (cluster.common_lb_config().has_healthy_panic_threshold()) {
    const double threshold = cluster.common_lb_config().healthy_panic_threshold().value();
    if (threshold < 0 || threshold > 100) {
      return invalid(where + ".common_lb_config.healthy_panic_threshold", "must be in [0, 100]");
    }
    out.healthyPanicThresholdPercent = static_cast<uint32_t>(threshold);
  }
  using Cluster = envoy::config::cluster::v3::Cluster;
  switch (cluster.lb_policy()) {
  case Cluster::ROUND_ROBIN: out.lbPolicy = LbPolicy::kRoundRobin; break;
  case Cluster::LEAST_REQUEST: out.lbPolicy = LbPolicy::kLeastRequest; break;
  case Cluster::RANDOM: out.lbPolicy = LbPolicy::kRandom; break;
  case Cluster::RING_HASH: out.lbPolicy = LbPolicy::kRingHash; break;
  case Cluster::MAGLEV: out.lbPolicy = LbPolicy::kMaglev; break;
  case Cluster::CLUSTER_PROVIDED: out.lbPolicy = LbPolicy::kClusterProvided; break;
  default: return invalid(where + ".lb_policy", "not supported");
  }
  if (cluster.type() == Cluster::ORIGINAL_DST) {
    // Each connection goes where it was originally addressed: no endpoints, no balancing.
    out.type = ClusterType::kOriginalDst;
    if (out.lbPolicy != LbPolicy::kClusterProvided) {
      return invalid(where + ".lb_policy", "an ORIGINAL_DST cluster needs CLUSTER_PROVIDED");
    }
    if (cluster.has_load_assignment()) {
      return invalid(where + ".load_assignment", "an ORIGINAL_DST cluster takes no endpoints");
    }
    out.originalDstUseHttpHeader = cluster.original_dst_lb_config().use_http_header();
  } else if (out.lbPolicy == LbPolicy::kClusterProvided) {
    return invalid(where + ".lb_policy", "CLUSTER_PROVIDED needs an ORIGINAL_DST cluster");
  }
  if (cluster.type() == Cluster::STRICT_DNS || cluster.type() == Cluster::LOGICAL_DNS) {
    out.type =
        cluster.type() == Cluster::STRICT_DNS ? ClusterType::kStrictDns : ClusterType::kLogicalDns;
    RETURN_IF_ERROR(applyDnsOptions(cluster, where, out));
  }
  if (cluster.least_request_lb_config().has_choice_count()) {
    out.leastRequestChoiceCount = cluster.least_request_lb_config().choice_count().value();
    if (out.leastRequestChoiceCount < 2) {
      return invalid(where + ".least_request_lb_config.choice_count", "must be at least 2");
    }
  }
  if (cluster.round_robin_lb_config().has_slow_start_config()) {
    ASSIGN_OR_RETURN(out.slowStart,
                     buildSlowStart(cluster.round_robin_lb_config().slow_start_config(),
                                    where + ".round_robin_lb_config.slow_start_config"));
  } else if (cluster.least_request_lb_config().has_slow_start_config()) {
    ASSIGN_OR_RETURN(out.slowStart,
                     buildSlowStart(cluster.least_request_lb_config().slow_start_config(),
                                    where + ".least_request_lb_config.slow_start_config"));
  }
  if (out.slowStart && out.lbPolicy != LbPolicy::kRoundRobin &&
      out.lbPolicy != LbPolicy::kLeastRequest) {
    return invalid(where + ".lb_policy", "slow start needs ROUND_ROBIN or LEAST_REQUEST");
  }
  if (cluster.ring_hash_lb_config().has_minimum_ring_size()) {
    out.ringHashMinimumSize = cluster.ring_hash_lb_config().minimum_ring_size().value();
  }
  if (cluster.ring_hash_lb_config().has_maximum_ring_size()) {
    out.ringHashMaximumSize = cluster.ring_hash_lb_config().maximum_ring_size().value();
  }
  if (out.ringHashMinimumSize == 0 || out.ringHashMinimumSize > out.ringHashMaximumSize) {
    return invalid(where + ".ring_hash_lb_config",
                   "need 0 < minimum_ring_size <= maximum_ring_size");
  }
  if (cluster.maglev_lb_config().has_table_size()) {
    out.maglevTableSize = cluster.maglev_lb_config().table_size().value();
    if (out.maglevTableSize < 2) {
      return invalid(where + ".maglev_lb_config.table_size", "must be at least 2");
    }
  }
  RETURN_IF_ERROR(applyProtocolOptions(cluster, where, out));
  if (cluster.type() == Cluster::EDS) {
    RETURN_IF_ERROR(applyEdsConfig(cluster, where, out));
  }
  if (out.type == ClusterType::kStrictDns || out.type == ClusterType::kLogicalDns) {
    ASSIGN_OR_RETURN(out.dnsTargets, buildDnsTargets(cluster.load_assignment(), where));
    // As Envoy: a logical DNS cluster is one name.
    if (out.type == ClusterType::kLogicalDns &&
        (cluster.load_assignment().endpoints_size() != 1 || out.dnsTargets.size() != 1)) {
      return invalid(where + ".load_assignment",
                     "a LOGICAL_DNS cluster needs exactly one locality with one lb_endpoint");
    }
  } else {
    ASSIGN_OR_RETURN(out.hosts, buildHosts(cluster.load_assignment(), where + ".load_assignment"));
  }
  return out;
}

} // namespace meshd::proxy::config
