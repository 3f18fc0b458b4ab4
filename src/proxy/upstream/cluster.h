// The concrete layer of the upstream side (DESIGN §3): a cluster's endpoints, its stats, and the
// per-worker state that picks among them. Clusters are immutable and shared across workers; the
// load balancer state is per worker, so picking takes no lock.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "core/stats/store.h"
#include "proxy/config/proxy_config.h"

namespace meshd::proxy::upstream {

struct ClusterStats {
  stats::Counter cxTotal;
  stats::Counter cxConnectFail;
  stats::Counter cxConnectTimeout;
  stats::Counter cxNoneHealthy;
  stats::Counter cxRxBytes;
  stats::Counter cxTxBytes;
  stats::Gauge cxActive;
  stats::Counter rqTotal;
  stats::Gauge rqActive;
  std::array<stats::Counter, 5> rqByClass; // 1xx..5xx
  stats::Counter rqTimeout;
  stats::Histogram rqTime; // milliseconds

  static ClusterStats create(stats::Store& store, const std::string& cluster_name);
};

class Cluster {
public:
  Cluster(config::ClusterConfig config, stats::Store& store)
      : config_(std::move(config)), stats_(ClusterStats::create(store, config_.name)) {}

  const config::ClusterConfig& config() const { return config_; }
  const std::string& name() const { return config_.name; }
  const ClusterStats& stats() const { return stats_; }

private:
  config::ClusterConfig config_;
  ClusterStats stats_;
};

// One worker's load-balancing state for every cluster (weighted policies come later).
class WorkerLoadBalancers {
public:
  // The next endpoint of `cluster` in round-robin order; nullopt when it has none.
  std::optional<config::Endpoint> pick(const Cluster& cluster);

private:
  std::unordered_map<const Cluster*, uint64_t> nextIndex_;
};

} // namespace meshd::proxy::upstream
