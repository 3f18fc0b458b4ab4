// Cluster stats and round-robin picking (cluster.h).
#include "proxy/upstream/cluster.h"

#include <atomic>

#include "fmt/format.h"

namespace meshd::proxy::upstream {

ClusterStats ClusterStats::create(stats::Store& store, const std::string& cluster_name) {
  const stats::Tags tags = {{"envoy_cluster_name", cluster_name}};
  ClusterStats out{
      .cxTotal = store.counter("cluster.upstream_cx_total", tags, "Upstream connections opened"),
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
      .rqTotal = store.counter("cluster.upstream_rq_total", tags, "Requests sent upstream"),
      .rqActive = store.gauge("cluster.upstream_rq_active", tags, "Upstream requests in progress"),
      .rqByClass = {},
      .rqTimeout = store.counter("cluster.upstream_rq_timeout", tags,
                                 "Requests whose route timeout expired upstream"),
      .rqRetry = store.counter("cluster.upstream_rq_retry", tags, "Request retries"),
      .rqRetrySuccess = store.counter("cluster.upstream_rq_retry_success", tags,
                                      "Requests that succeeded after a retry"),
      .rqRetryLimitExceeded = store.counter("cluster.upstream_rq_retry_limit_exceeded", tags,
                                            "Requests whose retries ran out"),
      .rqTime = store.histogram("cluster.upstream_rq_time", tags, stats::defaultDurationBucketsMs(),
                                "Upstream request time in milliseconds"),
  };
  for (int i = 0; i < 5; ++i) {
    out.rqByClass[i] = store.counter(fmt::format("cluster.upstream_rq_{}xx", i + 1), tags,
                                     fmt::format("Upstream responses with a {}xx status", i + 1));
  }
  return out;
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
