// Cluster stats and round-robin picking (cluster.h).
#include "proxy/upstream/cluster.h"

namespace meshd::proxy::upstream {

ClusterStats ClusterStats::create(stats::Store& store, const std::string& cluster_name) {
  const stats::Tags tags = {{"envoy_cluster_name", cluster_name}};
  return ClusterStats{
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
  };
}

std::optional<config::Endpoint> WorkerLoadBalancers::pick(const Cluster& cluster) {
  const auto& endpoints = cluster.config().endpoints;
  if (endpoints.empty()) {
    return std::nullopt;
  }
  uint64_t& next = nextIndex_[&cluster];
  return endpoints[next++ % endpoints.size()];
}

} // namespace meshd::proxy::upstream
