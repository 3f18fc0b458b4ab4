// Istio's TrafficPolicy on an Envoy cluster (cluster_policy.h): policy selection, connection
// pools, outlier detection and load balancing. Client TLS is in cluster_tls.cc.
#include "control/translate/cluster_policy.h"

#include <limits>

#include "control/translate/cluster_support.h"

namespace meshd::control::translate {
namespace {

using envoy::config::cluster::v3::Cluster;
using envoy::extensions::upstreams::http::v3::HttpProtocolOptions;
using LbSimple = config::LoadBalancerSettings::Simple;

constexpr const char* kHttpProtocolOptionsName =
    "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";
constexpr uint64_t kDefaultMinimumRingSize = 1024; // Envoy's default, which Istio sets explicitly

bool isHttp2(config::Protocol protocol) {
  return protocol == config::Protocol::kHttp2 || protocol == config::Protocol::kGrpc ||
         protocol == config::Protocol::kGrpcWeb;
}

void setHttp2(ClusterDraft& draft) {
  draft.httpOptions().mutable_explicit_http_config()->mutable_http2_protocol_options();
}

void setUseDownstreamProtocol(ClusterDraft& draft) {
  auto* config = draft.httpOptions().mutable_use_downstream_protocol_config();
  config->mutable_http_protocol_options();
  config->mutable_http2_protocol_options();
}

// Istio's getDefaultCircuitBreakerThresholds: effectively no limits, with remaining_* gauges.
envoy::config::cluster::v3::CircuitBreakers::Thresholds defaultThresholds() {
  envoy::config::cluster::v3::CircuitBreakers::Thresholds out;
  constexpr uint32_t kMax = std::numeric_limits<uint32_t>::max();
  out.mutable_max_connections()->set_value(kMax);
  out.mutable_max_pending_requests()->set_value(kMax);
  out.mutable_max_requests()->set_value(kMax);
  out.mutable_max_retries()->set_value(kMax);
  out.set_track_remaining(true);
  return out;
}

void applyTcpKeepalive(const config::ConnectionPoolSettings::Tcp::Keepalive& keepalive,
                       Cluster& cluster) {
  auto* out = cluster.mutable_upstream_connection_options()->mutable_tcp_keepalive();
  if (keepalive.probes) {
    out->mutable_keepalive_probes()->set_value(*keepalive.probes);
  }
  using std::chrono::duration_cast;
  using std::chrono::seconds;
  if (keepalive.time) {
    out->mutable_keepalive_time()->set_value(
        static_cast<uint32_t>(duration_cast<seconds>(*keepalive.time).count()));
  }
  if (keepalive.interval) {
    out->mutable_keepalive_interval()->set_value(
        static_cast<uint32_t>(duration_cast<seconds>(*keepalive.interval).count()));
  }
}

// Istio's applyRetryBudget: the DestinationRule's retryBudget as the thresholds' retry_budget,
// which replaces max_retries in the proxy. Unset fields get the defaults Istio documents (20%, 3);
// Istio's own code writes 0.2 for an unset percent (0.2%, not 20%), which we do not copy.
void applyRetryBudget(const std::optional<config::TrafficPolicy::RetryBudget>& budget,
                      envoy::config::cluster::v3::CircuitBreakers::Thresholds& thresholds) {
  if (!budget) {
    return;
  }
  auto* out = thresholds.mutable_retry_budget();
  out->mutable_budget_percent()->set_value(budget->percent.value_or(20.0));
  out->mutable_min_retry_concurrency()->set_value(
      budget->minRetryConcurrency.value_or(0) > 0 ? *budget->minRetryConcurrency : 3);
}

// Istio's applyConnectionPool; `settings` empty gives the defaults.
void applyConnectionPool(const config::ConnectionPoolSettings& settings,
                         const std::optional<config::TrafficPolicy::RetryBudget>& retry_budget,
                         ClusterDraft& draft) {
  auto thresholds = defaultThresholds();
  std::optional<config::Duration> idleTimeout;
  std::optional<config::Duration> maxConnectionDuration;
  int32_t maxRequestsPerConnection = 0;
  int32_t maxConcurrentStreams = 0;
  if (const auto& http = settings.http) {
    if (http->http2MaxRequests.value_or(0) > 0) {
      thresholds.mutable_max_requests()->set_value(static_cast<uint32_t>(*http->http2MaxRequests));
    }
    if (http->http1MaxPendingRequests.value_or(0) > 0) {
      thresholds.mutable_max_pending_requests()->set_value(
          static_cast<uint32_t>(*http->http1MaxPendingRequests));
    }
    if (http->maxRetries.value_or(0) > 0) {
      thresholds.mutable_max_retries()->set_value(static_cast<uint32_t>(*http->maxRetries));
    }
    idleTimeout = http->idleTimeout;
    maxRequestsPerConnection = http->maxRequestsPerConnection.value_or(0);
    maxConcurrentStreams = http->maxConcurrentStreams.value_or(0);
  }
  if (const auto& tcp = settings.tcp) {
    if (tcp->connectTimeout) {
      *draft.cluster.mutable_connect_timeout() = toProtoDuration(*tcp->connectTimeout);
    }
    if (tcp->maxConnections.value_or(0) > 0) {
      thresholds.mutable_max_connections()->set_value(static_cast<uint32_t>(*tcp->maxConnections));
    }
    maxConnectionDuration = tcp->maxConnectionDuration;
    if (!idleTimeout) {
      idleTimeout = tcp->idleTimeout;
    }
    if (tcp->tcpKeepalive) {
      applyTcpKeepalive(*tcp->tcpKeepalive, draft.cluster);
    }
  }
  applyRetryBudget(retry_budget, thresholds);
  *draft.cluster.mutable_circuit_breakers()->add_thresholds() = thresholds;

  if (idleTimeout || maxConnectionDuration || maxRequestsPerConnection > 0 ||
      maxConcurrentStreams > 0) {
    auto* common = draft.httpOptions().mutable_common_http_protocol_options();
    if (idleTimeout) {
      *common->mutable_idle_timeout() = toProtoDuration(*idleTimeout);
    }
    if (maxRequestsPerConnection > 0) {
      common->mutable_max_requests_per_connection()->set_value(
          static_cast<uint32_t>(maxRequestsPerConnection));
    }
    if (maxConnectionDuration) {
      *common->mutable_max_connection_duration() = toProtoDuration(*maxConnectionDuration);
    }
    HttpProtocolOptions& options = draft.httpOptions();
    if (maxConcurrentStreams > 0 && options.has_explicit_http_config() &&
        options.explicit_http_config().has_http2_protocol_options()) {
      options.mutable_explicit_http_config()
          ->mutable_http2_protocol_options()
          ->mutable_max_concurrent_streams()
          ->set_value(static_cast<uint32_t>(maxConcurrentStreams));
    }
  }
  if (settings.http && settings.http->useClientProtocol) {
    setUseDownstreamProtocol(draft);
  }
}

// Istio's applyOutlierDetection: consecutive-error detectors enforced at 100% (0 disables),
// success-rate detection off, and the panic threshold set to minHealthPercent (0 by default).
void applyOutlierDetection(const config::OutlierDetection& outlier, Cluster& cluster) {
  auto* out = cluster.mutable_outlier_detection();
  out->mutable_enforcing_success_rate()->set_value(0);
  if (outlier.consecutive5xxErrors) {
    out->mutable_consecutive_5xx()->set_value(*outlier.consecutive5xxErrors);
    out->mutable_enforcing_consecutive_5xx()->set_value(*outlier.consecutive5xxErrors > 0 ? 100
                                                                                          : 0);
  }
  if (outlier.consecutiveGatewayErrors) {
    out->mutable_consecutive_gateway_failure()->set_value(*outlier.consecutiveGatewayErrors);
    out->mutable_enforcing_consecutive_gateway_failure()->set_value(
        *outlier.consecutiveGatewayErrors > 0 ? 100 : 0);
  }
  if (outlier.interval) {
    *out->mutable_interval() = toProtoDuration(*outlier.interval);
  }
  if (outlier.baseEjectionTime) {
    *out->mutable_base_ejection_time() = toProtoDuration(*outlier.baseEjectionTime);
  }
  if (outlier.maxEjectionPercent.value_or(0) > 0) {
    out->mutable_max_ejection_percent()->set_value(
        static_cast<uint32_t>(*outlier.maxEjectionPercent));
  }
  if (outlier.splitExternalLocalOriginErrors.value_or(false)) {
    out->set_split_external_local_origin_errors(true);
    if (outlier.consecutiveLocalOriginFailures.value_or(0) > 0) {
      out->mutable_consecutive_local_origin_failure()->set_value(
          *outlier.consecutiveLocalOriginFailures);
      out->mutable_enforcing_consecutive_local_origin_failure()->set_value(100);
    }
    out->mutable_enforcing_local_origin_success_rate()->set_value(0);
  }
  const int32_t minHealthPercent = outlier.minHealthPercent.value_or(0);
  if (minHealthPercent >= 0) {
    cluster.mutable_common_lb_config()->mutable_healthy_panic_threshold()->set_value(
        minHealthPercent);
  }
}

Cluster::SlowStartConfig slowStart(const config::LoadBalancerSettings::Warmup& warmup) {
  Cluster::SlowStartConfig out;
  *out.mutable_slow_start_window() = toProtoDuration(warmup.duration);
  if (warmup.aggression) {
    out.mutable_aggression()->set_default_value(*warmup.aggression);
    out.mutable_aggression()->set_runtime_key("upstream.istio.warmup.aggression");
  }
  if (warmup.minimumPercent) {
    out.mutable_min_weight_percent()->set_value(*warmup.minimumPercent);
  }
  return out;
}

void applyLocality(const config::LocalityLbSetting& locality, Cluster& cluster) {
  if (!locality.enabled.value_or(true)) {
    return;
  }
  // Failover needs outlier detection, or traffic would never fail over (Istio).
  const bool failover = cluster.has_outlier_detection() &&
                        (!locality.failover.empty() || !locality.failoverPriority.empty());
  if (failover || !locality.distribute.empty()) {
    cluster.mutable_common_lb_config()->mutable_locality_weighted_lb_config();
  }
}

void applyConsistentHash(const config::ConsistentHashLb& hash, Cluster& cluster) {
  using Algorithm = config::ConsistentHashLb::Algorithm;
  if (hash.algorithm == Algorithm::kMaglev) {
    cluster.set_lb_policy(Cluster::MAGLEV);
    if (hash.maglevTableSize != 0) {
      cluster.mutable_maglev_lb_config()->mutable_table_size()->set_value(hash.maglevTableSize);
    }
    return;
  }
  cluster.set_lb_policy(Cluster::RING_HASH);
  // ringHash without a size leaves Envoy's default; the deprecated top-level field (and no
  // algorithm at all) always sets it.
  if (hash.algorithm == Algorithm::kDefault || hash.minimumRingSize != 0) {
    cluster.mutable_ring_hash_lb_config()->mutable_minimum_ring_size()->set_value(
        hash.minimumRingSize != 0 ? hash.minimumRingSize : kDefaultMinimumRingSize);
  }
}

// Istio's applyLoadBalancer; the default algorithm is LEAST_REQUEST.
void applyLoadBalancer(const config::LoadBalancerSettings& lb, Cluster& cluster) {
  if (lb.localityLbSetting) {
    applyLocality(*lb.localityLbSetting, cluster);
  }
  if (cluster.type() == Cluster::ORIGINAL_DST) {
    cluster.set_lb_policy(Cluster::CLUSTER_PROVIDED);
    return;
  }
  switch (lb.simple.value_or(LbSimple::kUnspecified)) {
  case LbSimple::kRandom: cluster.set_lb_policy(Cluster::RANDOM); break;
  case LbSimple::kRoundRobin:
    cluster.set_lb_policy(Cluster::ROUND_ROBIN);
    if (lb.warmup) {
      *cluster.mutable_round_robin_lb_config()->mutable_slow_start_config() = slowStart(*lb.warmup);
    }
    break;
  case LbSimple::kPassthrough:
    cluster.set_lb_policy(Cluster::CLUSTER_PROVIDED);
    cluster.set_type(Cluster::ORIGINAL_DST);
    cluster.clear_load_assignment();
    break;
  default: // LEAST_CONN, LEAST_REQUEST, unset
    cluster.set_lb_policy(Cluster::LEAST_REQUEST);
    if (lb.warmup) {
      *cluster.mutable_least_request_lb_config()->mutable_slow_start_config() =
          slowStart(*lb.warmup);
    }
    break;
  }
  if (lb.consistentHash) {
    applyConsistentHash(*lb.consistentHash, cluster);
  }
}

} // namespace

HttpProtocolOptions& ClusterDraft::httpOptions() {
  if (!http) {
    http.emplace();
  }
  return *http;
}

Cluster ClusterDraft::finish() && {
  if (http) {
    if (!http->has_explicit_http_config() && !http->has_use_downstream_protocol_config() &&
        !http->has_auto_config()) {
      http->mutable_explicit_http_config()->mutable_http_protocol_options();
    }
    (*cluster.mutable_typed_extension_protocol_options())[kHttpProtocolOptionsName].PackFrom(*http);
  }
  return std::move(cluster);
}

std::optional<config::TrafficPolicy>
portTrafficPolicy(const std::optional<config::TrafficPolicy>& policy, uint32_t port,
                  bool* hasPortLevel) {
  if (hasPortLevel != nullptr) {
    *hasPortLevel = false;
  }
  if (!policy) {
    return std::nullopt;
  }
  for (const config::PortTrafficPolicy& level : policy->portLevelSettings) {
    if (level.port == port) {
      if (hasPortLevel != nullptr) {
        *hasPortLevel = true;
      }
      config::TrafficPolicy out;
      out.connectionPool = level.connectionPool;
      out.loadBalancer = level.loadBalancer;
      out.outlierDetection = level.outlierDetection;
      out.tls = level.tls;
      out.retryBudget = policy->retryBudget; // not a port-level setting
      return out;
    }
  }
  config::TrafficPolicy out = *policy;
  out.portLevelSettings.clear();
  return out;
}

std::optional<config::TrafficPolicy>
mergeSubsetPolicy(const std::optional<config::TrafficPolicy>& rule,
                  const std::optional<config::TrafficPolicy>& subset, uint32_t port) {
  std::optional<config::TrafficPolicy> merged = portTrafficPolicy(rule, port);
  if (!subset) {
    return merged;
  }
  bool portLevel = false;
  std::optional<config::TrafficPolicy> own = portTrafficPolicy(subset, port, &portLevel);
  if (!merged) {
    return own;
  }
  if (own->connectionPool || portLevel) {
    merged->connectionPool = own->connectionPool;
  }
  if (own->outlierDetection || portLevel) {
    merged->outlierDetection = own->outlierDetection;
  }
  if (own->loadBalancer || portLevel) {
    merged->loadBalancer = own->loadBalancer;
  }
  if (own->tls || portLevel) {
    merged->tls = own->tls;
  }
  if (own->tunnel) {
    merged->tunnel = own->tunnel;
  }
  if (own->proxyProtocol) {
    merged->proxyProtocol = own->proxyProtocol;
  }
  if (own->retryBudget) {
    merged->retryBudget = own->retryBudget;
  }
  return merged;
}

void applyTrafficPolicy(const std::optional<config::TrafficPolicy>& policy,
                        const model::MeshConfig& mesh, const PolicyTarget& target,
                        ClusterDraft& draft) {
  Cluster& cluster = draft.cluster;
  *cluster.mutable_connect_timeout() = toProtoDuration(mesh.connectTimeout);
  // The upstream protocol from the port (Istio's setUpstreamProtocol).
  if (isHttp2(target.protocol)) {
    setHttp2(draft);
  } else if (target.sidecar && target.protocol == config::Protocol::kUnspecified) {
    setUseDownstreamProtocol(draft);
  }
  const config::ConnectionPoolSettings pool =
      policy && policy->connectionPool ? *policy->connectionPool : config::ConnectionPoolSettings{};
  applyConnectionPool(pool, policy ? policy->retryBudget : std::nullopt, draft);
  if (target.outbound) {
    if (pool.http && pool.http->h2UpgradePolicy ==
                         config::ConnectionPoolSettings::Http::H2UpgradePolicy::kUpgrade) {
      setHttp2(draft); // mesh h2UpgradePolicy defaults to DO_NOT_UPGRADE
    }
    if (policy && policy->outlierDetection) {
      applyOutlierDetection(*policy->outlierDetection, cluster);
    }
    applyLoadBalancer(policy && policy->loadBalancer ? *policy->loadBalancer
                                                     : config::LoadBalancerSettings{},
                      cluster);
    applyClientTls(policy ? policy->tls : std::nullopt, target, draft);
  }
  if (cluster.type() == Cluster::ORIGINAL_DST) {
    cluster.set_lb_policy(Cluster::CLUSTER_PROVIDED);
  }
}

} // namespace meshd::control::translate
