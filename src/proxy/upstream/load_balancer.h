// Load balancing over a cluster's hosts (Envoy's lb_policy): ROUND_ROBIN (smooth weighted),
// LEAST_REQUEST (power of N choices on active requests), RANDOM (weighted), RING_HASH and MAGLEV
// (consistent hashing on the route's hash policy), within priority levels: a request first picks
// a level by the levels' loads (Envoy's priority load with overprovisioning factor 1.4, so a level
// with too few healthy hosts spills traffic to the next), then a host of that level.
//
// The levels and their hash tables are immutable and built once per cluster; the mutable state
// (rotation, active request counts) lives in each worker's WorkerLoadBalancers, lock-free.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/random.h"
#include "core/time_source.h"
#include "proxy/config/proxy_config.h"

namespace meshd::proxy::upstream {

class Cluster;

// One priority level: the hosts requests may go to (its healthy hosts, or all of them when too
// few are healthy: Envoy's panic mode) and the consistent-hash tables over them.
class PriorityLevel {
public:
  // `members`: indexes into config.hosts of the hosts of this priority.
  PriorityLevel(const config::ClusterConfig& config, const std::vector<size_t>& members);

  uint32_t priority() const { return priority_; }
  // Percent of the level's hosts that are healthy, times the overprovisioning factor, capped at
  // 100: how much of the traffic the level can take.
  uint32_t health() const { return health_; }
  bool panic() const { return panic_; }

  // Indexes into config.hosts of the hosts to pick from, and their weights.
  const std::vector<size_t>& hosts() const { return hosts_; }
  const std::vector<uint32_t>& weights() const { return weights_; }
  const std::vector<uint64_t>& cumulativeWeights() const { return prefixWeights_; }
  bool uniformWeights() const { return uniformWeights_; }
  uint64_t totalWeight() const { return totalWeight_; }
  // Consistent-hash lookups (for RING_HASH / MAGLEV); position in hosts(). `step`: how many times
  // to move on along the ring to the next entry of another host (re-picks for a retry).
  size_t ringLookup(uint64_t hash, uint32_t step = 0) const;
  size_t maglevLookup(uint64_t hash) const;

private:
  void buildRing(const config::ClusterConfig& config);
  void buildMaglev(const config::ClusterConfig& config);

  std::vector<size_t> hosts_;
  std::vector<uint32_t> weights_;
  std::vector<uint64_t> prefixWeights_;
  bool uniformWeights_ = true;
  uint64_t totalWeight_ = 0;
  std::vector<std::pair<uint64_t, uint32_t>> ring_; // (hash, position), sorted
  std::vector<uint32_t> maglev_;
  uint32_t priority_ = 0;
  uint32_t health_ = 0;
  bool panic_ = false;
};

// A cluster's priority levels (lowest priority value first) and the share of requests each gets.
class HostSelection {
public:
  explicit HostSelection(const config::ClusterConfig& config);

  bool empty() const { return levels_.empty(); }
  const std::vector<PriorityLevel>& levels() const { return levels_; }
  // Percent of requests per level (sums to 100 when there are levels).
  const std::vector<uint32_t>& loads() const { return loads_; }
  // The level for a request, from a uniform point in [0, 100).
  size_t chooseLevel(uint64_t point) const;
  // The level holding config.hosts[host] among its pickable hosts, and its position there.
  std::optional<std::pair<size_t, size_t>> find(size_t host) const;

private:
  std::vector<PriorityLevel> levels_;
  std::vector<uint32_t> loads_;
};

// 64-bit hashing for hash policies and tables (stable across processes and runs).
uint64_t hash64(std::string_view data, uint64_t seed = 0);

struct PickContext {
  std::optional<uint64_t> hash; // from the route's hash policy
  // For ORIGINAL_DST clusters: where the connection (or x-envoy-original-dst-host) points.
  std::optional<config::Endpoint> originalDestination;
  // Re-picks for a retry host predicate (0: the first pick). RING_HASH walks on to the next
  // host along the ring this many times and MAGLEV rehashes, so a re-pick can land on another host;
  // the other policies draw again anyway.
  uint32_t selectionAttempt = 0;
};

struct PickedHost {
  static constexpr size_t kNoIndex = static_cast<size_t>(-1);
  size_t index; // into ClusterConfig::hosts; kNoIndex for ORIGINAL_DST
  config::Endpoint address;
};

// One worker's balancing state for every cluster.
class WorkerLoadBalancers {
public:
  explicit WorkerLoadBalancers(core::RandomGenerator& random,
                               const core::TimeSource& time = core::RealTimeSource::instance())
      : random_(random), time_(time) {}

  std::optional<PickedHost> pick(const Cluster& cluster, const PickContext& context = {});
  // LEAST_REQUEST bookkeeping: a request to `host` started / finished on this worker.
  void requestStarted(const Cluster& cluster, size_t host);
  void requestFinished(const Cluster& cluster, size_t host);

private:
  struct LevelState {
    uint64_t next = 0;            // rotation for uniform weights
    std::vector<int64_t> current; // smooth weighted round robin
    std::vector<uint32_t> active; // active requests per host position
  };
  struct State {
    uint64_t clusterId = 0; // Cluster::id() this state was built for
    std::vector<LevelState> levels;
  };
  State& state(const Cluster& cluster);
  size_t weightedRandom(const PriorityLevel& level);
  // Slow start: the level's weights scaled for `now`, into slowStartWeights_.
  const std::vector<uint64_t>& slowStartWeights(const Cluster& cluster, const PriorityLevel& level,
                                                core::MonotonicTime now);
  size_t weightedRandom(const std::vector<uint64_t>& weights);

  core::RandomGenerator& random_;
  const core::TimeSource& time_;
  std::vector<uint64_t> slowStartWeights_;        // scratch, reused across picks
  std::unordered_map<std::string, State> states_; // by cluster name
};

} // namespace meshd::proxy::upstream
