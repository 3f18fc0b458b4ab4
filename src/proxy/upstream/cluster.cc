// Cluster stats and round-robin picking (cluster.h).
#include "proxy/upstream/cluster.h"

#include <algorithm>
#include <atomic>
#include <cmath>

#include "fmt/format.h"

namespace meshd::proxy::upstream {

ClusterStats ClusterStats::create(stats::Store& store, const std::string& cluster_name) {
  const stats::Tags tags = {{"envoy_cluster_name", cluster_name}};
  ClusterStats out{
      .cxTotal = store.counter("cluster.upstream_cx_total", tags, "Upstream connections opened"),
      .cxHttp1Total = store.counter("cluster.upstream_cx_http1_total", tags,
                                    "Upstream HTTP/1.1 connections opened"),
      .cxHttp2Total = store.counter("cluster.upstream_cx_http2_total", tags,
                                    "Upstream HTTP/2 connections opened"),
      .cxConnectFail =
          store.counter("cluster.upstream_cx_connect_fail", tags, "Upstream connection failures"),
      .cxConnectTimeout = store.counter("cluster.upstream_cx_connect_timeout", tags,
                                        "Upstream connection attempts that timed out"),
      .cxNoneHealthy = store.counter("cluster.upstream_cx_none_healthy", tags,
                                     "Connections refused because the cluster had no endpoint"),
      .cxRxBytes =
          store.counter("cluster.upstream_cx_rx_bytes_total", tags, "Bytes received from upstream"),
      .cxTxBytes = store.counter("cluster.upstream_cx_tx_bytes_total", tags, "Bytes sent upstream"),
      .cxActive = store.gauge("cluster.upstream_cx_active", tags, "Open upstream connections"),
      .rqTotal =
          store.counter("cluster.upstream_rq_total", tags, "Requests sent upstream (each attempt)"),
      .rqActive = store.gauge("cluster.upstream_rq_active", tags, "Upstream requests in progress"),
      .rqByClass = {},
      .rqTimeout = store.counter("cluster.upstream_rq_timeout", tags,
                                 "Requests whose route timeout expired upstream"),
      .rqPerTryTimeout = store.counter("cluster.upstream_rq_per_try_timeout", tags,
                                       "Attempts ended by the retry policy's per_try_timeout"),
      .rqRetry = store.counter("cluster.upstream_rq_retry", tags, "Request retries"),
      .rqRetrySuccess = store.counter("cluster.upstream_rq_retry_success", tags,
                                      "Requests that succeeded after a retry"),
      .rqRetryLimitExceeded = store.counter("cluster.upstream_rq_retry_limit_exceeded", tags,
                                            "Requests whose retries ran out"),
      .cxOverflow = store.counter("cluster.upstream_cx_overflow", tags,
                                  "Times the max_connections circuit breaker was hit"),
      .rqPendingOverflow =
          store.counter("cluster.upstream_rq_pending_overflow", tags,
                        "Requests failed by the max_pending_requests or max_requests breaker"),
      .rqRetryOverflow = store.counter("cluster.upstream_rq_retry_overflow", tags,
                                       "Retries not made because of the max_retries breaker"),
      .cxPoolOverflow =
          store.counter("cluster.upstream_cx_pool_overflow", tags,
                        "Requests failed because the max_connection_pools breaker was hit"),
      .rqPendingTotal = store.counter("cluster.upstream_rq_pending_total", tags,
                                      "Requests that waited for a connection"),
      .rqPendingActive = store.gauge("cluster.upstream_rq_pending_active", tags,
                                     "Requests waiting for a connection"),
      .rqRxReset = store.counter("cluster.upstream_rq_rx_reset", tags,
                                 "HTTP/2 upstream streams reset by the upstream"),
      .rqTxReset = store.counter("cluster.upstream_rq_tx_reset", tags,
                                 "HTTP/2 upstream streams reset by mesh-proxy"),
      .rqTime = store.histogram("cluster.upstream_rq_time", tags, stats::defaultDurationBucketsMs(),
                                "Upstream request time in milliseconds"),
  };
  for (int i = 0; i < 5; ++i) {
    out.rqByClass[i] = store.counter(fmt::format("cluster.upstream_rq_{}xx", i + 1), tags,
                                     fmt::format("Upstream responses with a {}xx status", i + 1));
  }
  return out;
}

Cluster::Cluster(config::ClusterConfig config, stats::Store& store, Shared shared)
    : config_(std::move(config)), stats_(ClusterStats::create(store, config_.name)),
      selection_(config_), id_(nextId()), resources_(std::move(shared.resources)),
      outlierDetector_(std::move(shared.outlierDetector)),
      joinTimes_(std::move(shared.hostJoinTimes)) {
  if (config_.slowStart) {
    for (const auto joined : joinTimes_) {
      slowStartEnds_ = std::max(slowStartEnds_, joined + config_.slowStart->window);
    }
  }
  if (outlierDetector_) {
    outlierHosts_ = outlierDetector_->hostsFor(config_.hosts);
  }
  if (resources_) {
    resources_->setThresholds(config_.circuitBreakers);
  } else {
    resources_ = ResourceManager::create(store, config_.name, config_.circuitBreakers);
  }
}

double Cluster::slowStartFactor(size_t host, core::MonotonicTime now) const {
  if (!config_.slowStart) {
    return 1.0;
  }
  const auto& slowStart = *config_.slowStart;
  const double age = std::chrono::duration<double>(now - joinedAt(host)).count();
  const double window = std::chrono::duration<double>(slowStart.window).count();
  if (age >= window) {
    return 1.0;
  }
  const double timeFactor = std::max(age, 1.0) / window;
  return std::clamp(std::max(slowStart.minWeightPercent / 100.0,
                             std::pow(timeFactor, 1.0 / slowStart.aggression)),
                    1e-6, 1.0);
}

namespace {
std::atomic<uint64_t> nextClusterId{1};
} // namespace

uint64_t Cluster::nextId() {
  return nextClusterId.fetch_add(1, std::memory_order_relaxed);
}

uint64_t Cluster::idWatermark() {
  return nextClusterId.load(std::memory_order_relaxed);
}

} // namespace meshd::proxy::upstream
