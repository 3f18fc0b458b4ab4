// Load balancers (load_balancer.h).
#include "proxy/upstream/load_balancer.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "fmt/format.h"
#include "proxy/upstream/cluster.h"

namespace meshd::proxy::upstream {

uint64_t hash64(std::string_view data, uint64_t seed) {
  // FNV-1a followed by a strong finaliser (splitmix64) for good avalanche on short keys.
  uint64_t h = 0xcbf29ce484222325ULL ^ seed;
  for (unsigned char c : data) {
    h = (h ^ c) * 0x100000001b3ULL;
  }
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  return h ^ (h >> 31);
}

HostSelection::HostSelection(const config::ClusterConfig& config) {
  if (config.hosts.empty()) {
    return;
  }
  uint32_t level = UINT32_MAX;
  for (const auto& host : config.hosts) {
    level = std::min(level, host.priority);
  }
  for (size_t i = 0; i < config.hosts.size(); ++i) {
    const auto& host = config.hosts[i];
    if (host.priority != level) {
      continue;
    }
    // With locality weights, a host's share is its locality's weight split among its hosts.
    const uint32_t weight = host.weight * std::max<uint32_t>(host.localityWeight, 1);
    hosts_.push_back(i);
    weights_.push_back(weight);
    totalWeight_ += weight;
    prefixWeights_.push_back(totalWeight_);
    uniformWeights_ = uniformWeights_ && weight == weights_.front();
  }
  if (config.lbPolicy == config::LbPolicy::kRingHash) {
    buildRing(config);
  } else if (config.lbPolicy == config::LbPolicy::kMaglev) {
    buildMaglev(config);
  }
}

void HostSelection::buildRing(const config::ClusterConfig& config) {
  // Each host gets entries in proportion to its weight, scaled so the ring has at least the
  // minimum size and at most the maximum.
  const double minWeight = *std::min_element(weights_.begin(), weights_.end());
  const double scale = std::min(std::ceil(std::max(static_cast<double>(config.ringHashMinimumSize) /
                                                       static_cast<double>(totalWeight_),
                                                   1.0 / minWeight) *
                                          static_cast<double>(totalWeight_)),
                                static_cast<double>(config.ringHashMaximumSize)) /
                       static_cast<double>(totalWeight_);
  for (size_t position = 0; position < hosts_.size(); ++position) {
    const auto& address = config.hosts[hosts_[position]].address;
    const std::string key = fmt::format("{}:{}", address.address().to_string(), address.port());
    const auto entries =
        std::max<uint64_t>(1, static_cast<uint64_t>(std::floor(weights_[position] * scale)));
    for (uint64_t i = 0; i < entries; ++i) {
      ring_.emplace_back(hash64(fmt::format("{}_{}", key, i)), static_cast<uint32_t>(position));
    }
  }
  std::sort(ring_.begin(), ring_.end());
}

void HostSelection::buildMaglev(const config::ClusterConfig& config) {
  // Maglev (Eisenbud et al., NSDI 2016) with weights: each turn, a host fills as many slots as
  // its weight relative to the largest weight allows, from its own permutation of the table.
  const uint64_t size = config.maglevTableSize;
  const size_t n = hosts_.size();
  std::vector<uint64_t> offset(n);
  std::vector<uint64_t> skip(n);
  std::vector<uint64_t> next(n, 0);
  std::vector<double> credit(n, 0);
  const double maxWeight = *std::max_element(weights_.begin(), weights_.end());
  for (size_t p = 0; p < n; ++p) {
    const auto& address = config.hosts[hosts_[p]].address;
    const std::string key = fmt::format("{}:{}", address.address().to_string(), address.port());
    offset[p] = hash64(key, 1) % size;
    skip[p] = hash64(key, 2) % (size - 1) + 1;
  }
  maglev_.assign(size, UINT32_MAX);
  uint64_t filled = 0;
  while (filled < size) {
    for (size_t p = 0; p < n && filled < size; ++p) {
      credit[p] += weights_[p] / maxWeight;
      while (credit[p] >= 1.0 && filled < size) {
        credit[p] -= 1.0;
        uint64_t slot = (offset[p] + next[p] * skip[p]) % size;
        while (maglev_[slot] != UINT32_MAX) {
          ++next[p];
          slot = (offset[p] + next[p] * skip[p]) % size;
        }
        maglev_[slot] = static_cast<uint32_t>(p);
        ++next[p];
        ++filled;
      }
    }
  }
}

size_t HostSelection::ringLookup(uint64_t hash) const {
  auto it = std::lower_bound(ring_.begin(), ring_.end(), std::make_pair(hash, uint32_t{0}));
  if (it == ring_.end()) {
    it = ring_.begin();
  }
  return it->second;
}

size_t HostSelection::maglevLookup(uint64_t hash) const {
  return maglev_[hash % maglev_.size()];
}

WorkerLoadBalancers::State& WorkerLoadBalancers::state(const Cluster& cluster) {
  State& s = states_[cluster.name()];
  if (s.clusterId != cluster.id()) {
    s = State{}; // the cluster was rebuilt (new hosts): start over
    s.clusterId = cluster.id();
  }
  const size_t n = cluster.selection().hosts().size();
  if (s.active.size() != n) {
    s.active.assign(n, 0);
    s.current.assign(n, 0);
  }
  return s;
}

size_t WorkerLoadBalancers::weightedRandom(const HostSelection& selection) {
  const uint64_t point = random_.uniform(selection.totalWeight());
  const auto& cumulative = selection.cumulativeWeights();
  return static_cast<size_t>(std::upper_bound(cumulative.begin(), cumulative.end(), point) -
                             cumulative.begin());
}

std::optional<PickedHost> WorkerLoadBalancers::pick(const Cluster& cluster,
                                                    const PickContext& context) {
  if (cluster.config().type == config::ClusterType::kOriginalDst) {
    if (!context.originalDestination) {
      return std::nullopt;
    }
    return PickedHost{PickedHost::kNoIndex, *context.originalDestination};
  }
  const HostSelection& selection = cluster.selection();
  const size_t n = selection.hosts().size();
  if (n == 0) {
    return std::nullopt;
  }
  size_t position = 0;
  switch (cluster.config().lbPolicy) {
  case config::LbPolicy::kRoundRobin: {
    State& s = state(cluster);
    if (selection.uniformWeights()) {
      position = s.next++ % n;
      break;
    }
    // Smooth weighted round robin: spreads a heavy host's turns instead of bunching them.
    const auto total = static_cast<int64_t>(selection.totalWeight());
    for (size_t i = 0; i < n; ++i) {
      s.current[i] += selection.weights()[i];
      if (s.current[i] > s.current[position]) {
        position = i;
      }
    }
    s.current[position] -= total;
    break;
  }
  case config::LbPolicy::kLeastRequest: {
    State& s = state(cluster);
    position = weightedRandom(selection);
    for (uint32_t c = 1; c < cluster.config().leastRequestChoiceCount; ++c) {
      const size_t candidate = weightedRandom(selection);
      if (s.active[candidate] < s.active[position]) {
        position = candidate;
      }
    }
    break;
  }
  case config::LbPolicy::kRandom: position = weightedRandom(selection); break;
  case config::LbPolicy::kRingHash:
    position = selection.ringLookup(context.hash.value_or(random_.next()));
    break;
  case config::LbPolicy::kMaglev:
    position = selection.maglevLookup(context.hash.value_or(random_.next()));
    break;
  case config::LbPolicy::kClusterProvided: break; // only ORIGINAL_DST, handled above
  }
  const size_t index = selection.hosts()[position];
  return PickedHost{index, cluster.config().hosts[index].address};
}

void WorkerLoadBalancers::requestStarted(const Cluster& cluster, size_t host) {
  State& s = state(cluster);
  const auto& hosts = cluster.selection().hosts();
  const auto it = std::find(hosts.begin(), hosts.end(), host);
  if (it != hosts.end()) {
    ++s.active[static_cast<size_t>(it - hosts.begin())];
  }
}

void WorkerLoadBalancers::requestFinished(const Cluster& cluster, size_t host) {
  State& s = state(cluster);
  const auto& hosts = cluster.selection().hosts();
  const auto it = std::find(hosts.begin(), hosts.end(), host);
  if (it != hosts.end() && s.active[static_cast<size_t>(it - hosts.begin())] > 0) {
    --s.active[static_cast<size_t>(it - hosts.begin())];
  }
}

} // namespace meshd::proxy::upstream
