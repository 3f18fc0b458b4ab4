// Load balancing over a cluster's hosts (Envoy's lb_policy): ROUND_ROBIN (smooth weighted),
// LEAST_REQUEST (power of N choices on active requests), RANDOM (weighted), RING_HASH and MAGLEV
// (consistent hashing on the route's hash policy). Only the lowest priority level that has hosts
// is used; failover to the next level arrives with health checking.
//
// The hash tables are immutable and built once per cluster (HashTables); the mutable state
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
#include "proxy/config/proxy_config.h"

namespace meshd::proxy::upstream {

class Cluster;

// The hosts of the priority level in use and the consistent-hash tables over them.
class HostSelection {
public:
  explicit HostSelection(const config::ClusterConfig& config);

  // Indexes into config.hosts of the level in use, and their weights.
  const std::vector<size_t>& hosts() const { return hosts_; }
  const std::vector<uint32_t>& weights() const { return weights_; }
  const std::vector<uint64_t>& cumulativeWeights() const { return prefixWeights_; }
  bool uniformWeights() const { return uniformWeights_; }
  uint64_t totalWeight() const { return totalWeight_; }
  // Consistent-hash lookups (for RING_HASH / MAGLEV); position in hosts().
  size_t ringLookup(uint64_t hash) const;
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
};

// 64-bit hashing for hash policies and tables (stable across processes and runs).
uint64_t hash64(std::string_view data, uint64_t seed = 0);

struct PickContext {
  std::optional<uint64_t> hash; // from the route's hash policy
  // For ORIGINAL_DST clusters: where the connection (or x-envoy-original-dst-host) points.
  std::optional<config::Endpoint> originalDestination;
};

struct PickedHost {
  static constexpr size_t kNoIndex = static_cast<size_t>(-1);
  size_t index; // into ClusterConfig::hosts; kNoIndex for ORIGINAL_DST
  config::Endpoint address;
};

// One worker's balancing state for every cluster.
class WorkerLoadBalancers {
public:
  explicit WorkerLoadBalancers(core::RandomGenerator& random) : random_(random) {}

  std::optional<PickedHost> pick(const Cluster& cluster, const PickContext& context = {});
  // LEAST_REQUEST bookkeeping: a request to `host` started / finished on this worker.
  void requestStarted(const Cluster& cluster, size_t host);
  void requestFinished(const Cluster& cluster, size_t host);

private:
  struct State {
    uint64_t clusterId = 0;       // Cluster::id() this state was built for
    uint64_t next = 0;            // rotation for uniform weights
    std::vector<int64_t> current; // smooth weighted round robin
    std::vector<uint32_t> active; // active requests per host position
  };
  State& state(const Cluster& cluster);
  size_t weightedRandom(const HostSelection& selection);

  core::RandomGenerator& random_;
  std::unordered_map<std::string, State> states_; // by cluster name
};

} // namespace meshd::proxy::upstream
