// The concrete layer of the upstream side (DESIGN §3): a cluster's hosts, its stats and its
// balancing tables. Clusters are immutable and shared across workers; the balancers' mutable
// state is per worker (load_balancer.h), so picking takes no lock.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "core/stats/store.h"
#include "core/time_source.h"
#include "proxy/config/proxy_config.h"
#include "proxy/upstream/load_balancer.h"
#include "proxy/upstream/outlier_detector.h"
#include "proxy/upstream/resource_manager.h"

namespace meshd::proxy::upstream {

struct ClusterStats {
  stats::Counter cxTotal;
  stats::Counter cxHttp1Total;
  stats::Counter cxHttp2Total;
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
  stats::Counter rqPerTryTimeout;
  stats::Counter rqRetry;
  stats::Counter rqRetrySuccess;
  stats::Counter rqRetryLimitExceeded;
  // Circuit breakers.
  stats::Counter cxOverflow;
  stats::Counter rqPendingOverflow;
  stats::Counter rqRetryOverflow;
  stats::Counter cxPoolOverflow;
  stats::Counter rqPendingTotal;
  stats::Gauge rqPendingActive;
  stats::Counter rqRxReset; // HTTP/2 streams the upstream reset
  stats::Counter rqTxReset; // HTTP/2 streams we reset
  stats::Histogram rqTime;  // milliseconds

  static ClusterStats create(stats::Store& store, const std::string& cluster_name);
};

class Cluster {
public:
  // What a cluster inherits from its previous version: the circuit breakers (their counts carry
  // on with the new thresholds) and the outlier detector. Null members: made new / none.
  struct Shared {
    std::shared_ptr<ResourceManager> resources;
    std::shared_ptr<OutlierDetector> outlierDetector;
    // Slow start: when each of config.hosts joined the cluster (by index; empty: long ago).
    std::vector<core::MonotonicTime> hostJoinTimes;
  };
  Cluster(config::ClusterConfig config, stats::Store& store, Shared shared = {});

  // Unique per Cluster object: a cluster rebuilt with new hosts under the same name gets a new
  // id, so per-worker state keyed by name knows to start over.
  uint64_t id() const { return id_; }
  // Every Cluster made from now on has an id at least this.
  static uint64_t idWatermark();

  const config::ClusterConfig& config() const { return config_; }
  const std::string& name() const { return config_.name; }
  const ClusterStats& stats() const { return stats_; }
  const HostSelection& selection() const { return selection_; }
  // Mutable through a const cluster: the counts are atomics shared by every worker.
  ResourceManager& resources() const { return *resources_; }
  const std::shared_ptr<ResourceManager>& sharedResources() const { return resources_; }
  // Outlier detection (null without outlier_detection): report outcomes for config().hosts[i].
  OutlierDetector* outlierDetector() const { return outlierDetector_.get(); }
  const std::shared_ptr<OutlierDetector>& sharedOutlierDetector() const { return outlierDetector_; }
  // When config().hosts[host] joined the cluster (slow start); the clock's epoch when unknown.
  core::MonotonicTime joinedAt(size_t host) const {
    return host < joinTimes_.size() ? joinTimes_[host] : core::MonotonicTime{};
  }
  // Slow start: whether some host is still in its window at `now` (the balancers then scale
  // weights per pick; after it, they use the static weights).
  bool inSlowStart(core::MonotonicTime now) const {
    return config_.slowStart && now < slowStartEnds_;
  }
  // The factor in (0, 1] slow start applies to config().hosts[host]'s weight at `now`.
  double slowStartFactor(size_t host, core::MonotonicTime now) const;
  void reportOutcome(size_t host, OutlierDetector::Outcome outcome) const {
    if (outlierDetector_ && host < outlierHosts_.size()) {
      outlierDetector_->report(outlierHosts_[host], config_.hosts[host].address, outcome);
    }
  }

private:
  config::ClusterConfig config_;
  ClusterStats stats_;
  HostSelection selection_;
  uint64_t id_;
  std::shared_ptr<ResourceManager> resources_;
  std::shared_ptr<OutlierDetector> outlierDetector_;
  std::vector<std::shared_ptr<OutlierDetector::Host>> outlierHosts_; // by config_.hosts index
  std::vector<core::MonotonicTime> joinTimes_;                       // by config_.hosts index
  core::MonotonicTime slowStartEnds_{};

  static uint64_t nextId();
};

} // namespace meshd::proxy::upstream
