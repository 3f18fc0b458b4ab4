// Load balancers (load_balancer.h).
#include "proxy/upstream/load_balancer.h"

#include <algorithm>
#include <cmath>
#include <map>
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

namespace {

// Envoy's default: a level with 1/1.4 of its hosts healthy still takes all its traffic. Below the
// cluster's healthy_panic_threshold (default half) it is in panic and uses all its hosts.
constexpr uint32_t kOverprovisioningPercent = 140;

} // namespace

PriorityLevel::PriorityLevel(const config::ClusterConfig& config,
                             const std::vector<size_t>& members) {
  priority_ = config.hosts[members.front()].priority;
  size_t healthy = 0;
  for (const size_t i : members) {
    healthy += config.hosts[i].usable() ? 1 : 0;
  }
  health_ = static_cast<uint32_t>(
      std::min<uint64_t>(100, kOverprovisioningPercent * healthy / members.size()));
  panic_ = healthy * 100 < config.healthyPanicThresholdPercent * members.size();
  for (const size_t i : members) {
    const auto& host = config.hosts[i];
    if (!host.usable() && !panic_) {
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

HostSelection::HostSelection(const config::ClusterConfig& config) {
  std::map<uint32_t, std::vector<size_t>> byPriority;
  for (size_t i = 0; i < config.hosts.size(); ++i) {
    byPriority[config.hosts[i].priority].push_back(i);
  }
  uint32_t totalHealth = 0;
  for (const auto& [priority, members] : byPriority) {
    levels_.emplace_back(config, members);
    totalHealth += levels_.back().health();
  }
  if (levels_.empty()) {
    return;
  }
  loads_.assign(levels_.size(), 0);
  if (totalHealth == 0) {
    loads_[0] = 100; // nothing healthy anywhere: the first level, in panic, takes everything
    return;
  }
  // Each level takes what its health allows of what is left, health scaled up when the levels
  // together cannot take everything; rounding leftovers go to the first level that takes any.
  const uint32_t normalized = std::min<uint32_t>(100, totalHealth);
  uint32_t remaining = 100;
  for (size_t i = 0; i < levels_.size(); ++i) {
    loads_[i] = std::min(remaining, levels_[i].health() * 100 / normalized);
    remaining -= loads_[i];
  }
  for (size_t i = 0; i < levels_.size() && remaining > 0; ++i) {
    if (loads_[i] > 0) {
      loads_[i] += remaining;
      remaining = 0;
    }
  }
}

size_t HostSelection::chooseLevel(uint64_t point) const {
  uint64_t below = 0;
  for (size_t i = 0; i < loads_.size(); ++i) {
    below += loads_[i];
    if (point % 100 < below) {
      return i;
    }
  }
  return 0;
}

std::optional<std::pair<size_t, size_t>> HostSelection::find(size_t host) const {
  for (size_t l = 0; l < levels_.size(); ++l) {
    const auto& hosts = levels_[l].hosts();
    const auto it = std::find(hosts.begin(), hosts.end(), host);
    if (it != hosts.end()) {
      return std::make_pair(l, static_cast<size_t>(it - hosts.begin()));
    }
  }
  return std::nullopt;
}

void PriorityLevel::buildRing(const config::ClusterConfig& config) {
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

void PriorityLevel::buildMaglev(const config::ClusterConfig& config) {
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

size_t PriorityLevel::ringLookup(uint64_t hash, uint32_t step) const {
  const auto it = std::lower_bound(ring_.begin(), ring_.end(), std::make_pair(hash, uint32_t{0}));
  size_t entry = it == ring_.end() ? 0 : static_cast<size_t>(it - ring_.begin());
  // Each step moves on to the next entry of another host (a host owns many adjacent entries), so
  // a re-pick for a retry host predicate lands elsewhere when the ring has another host.
  for (uint32_t s = 0; s < step; ++s) {
    const uint32_t from = ring_[entry].second;
    for (size_t walked = 0; walked < ring_.size() && ring_[entry].second == from; ++walked) {
      entry = (entry + 1) % ring_.size();
    }
  }
  return ring_[entry].second;
}

size_t PriorityLevel::maglevLookup(uint64_t hash) const {
  return maglev_[hash % maglev_.size()];
}

WorkerLoadBalancers::State& WorkerLoadBalancers::state(const Cluster& cluster) {
  State& s = states_[cluster.name()];
  if (s.clusterId != cluster.id()) {
    // The cluster was rebuilt (new hosts): start over.
    s = State{};
    s.clusterId = cluster.id();
    for (const auto& level : cluster.selection().levels()) {
      s.levels.push_back(LevelState{0, std::vector<int64_t>(level.hosts().size(), 0),
                                    std::vector<uint32_t>(level.hosts().size(), 0)});
    }
  }
  return s;
}

size_t WorkerLoadBalancers::weightedRandom(const PriorityLevel& level) {
  const uint64_t point = random_.uniform(level.totalWeight());
  const auto& cumulative = level.cumulativeWeights();
  return static_cast<size_t>(std::upper_bound(cumulative.begin(), cumulative.end(), point) -
                             cumulative.begin());
}

const std::vector<uint64_t>& WorkerLoadBalancers::slowStartWeights(const Cluster& cluster,
                                                                   const PriorityLevel& level,
                                                                   core::MonotonicTime now) {
  // Fixed point with 1/1000 of a weight unit, so a 10% share of weight 1 still counts.
  constexpr double kScale = 1000.0;
  slowStartWeights_.resize(level.hosts().size());
  for (size_t p = 0; p < level.hosts().size(); ++p) {
    const double factor = cluster.slowStartFactor(level.hosts()[p], now);
    slowStartWeights_[p] =
        std::max<uint64_t>(1, static_cast<uint64_t>(level.weights()[p] * factor * kScale));
  }
  return slowStartWeights_;
}

size_t WorkerLoadBalancers::weightedRandom(const std::vector<uint64_t>& weights) {
  uint64_t total = 0;
  for (const uint64_t weight : weights) {
    total += weight;
  }
  uint64_t point = random_.uniform(total);
  for (size_t p = 0; p < weights.size(); ++p) {
    if (point < weights[p]) {
      return p;
    }
    point -= weights[p];
  }
  return weights.size() - 1;
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
  if (selection.empty()) {
    return std::nullopt;
  }
  const bool hashed = cluster.config().lbPolicy == config::LbPolicy::kRingHash ||
                      cluster.config().lbPolicy == config::LbPolicy::kMaglev;
  const uint64_t hash = hashed ? context.hash.value_or(random_.next()) : 0;
  // A consistent hash also picks the level, so a key stays on its host while loads hold.
  const size_t l = selection.levels().size() == 1
                       ? 0
                       : selection.chooseLevel(hashed ? hash : random_.uniform(100));
  const PriorityLevel& level = selection.levels()[l];
  const size_t n = level.hosts().size();
  if (n == 0) {
    return std::nullopt;
  }
  size_t position = 0;
  const core::MonotonicTime now =
      cluster.config().slowStart ? time_.monotonicNow() : core::MonotonicTime{};
  const bool slowStart = cluster.inSlowStart(now);
  switch (cluster.config().lbPolicy) {
  case config::LbPolicy::kRoundRobin: {
    LevelState& s = state(cluster).levels[l];
    if (slowStart) {
      // Smooth weighted round robin over the weights slow start scales for now.
      const auto& weights = slowStartWeights(cluster, level, now);
      int64_t total = 0;
      for (size_t i = 0; i < n; ++i) {
        s.current[i] += static_cast<int64_t>(weights[i]);
        total += static_cast<int64_t>(weights[i]);
        if (s.current[i] > s.current[position]) {
          position = i;
        }
      }
      s.current[position] -= total;
      break;
    }
    if (level.uniformWeights()) {
      position = s.next++ % n;
      break;
    }
    // Smooth weighted round robin: spreads a heavy host's turns instead of bunching them.
    const auto total = static_cast<int64_t>(level.totalWeight());
    for (size_t i = 0; i < n; ++i) {
      s.current[i] += level.weights()[i];
      if (s.current[i] > s.current[position]) {
        position = i;
      }
    }
    s.current[position] -= total;
    break;
  }
  case config::LbPolicy::kLeastRequest: {
    LevelState& s = state(cluster).levels[l];
    const std::vector<uint64_t>* scaled =
        slowStart ? &slowStartWeights(cluster, level, now) : nullptr;
    auto draw = [&] { return scaled != nullptr ? weightedRandom(*scaled) : weightedRandom(level); };
    position = draw();
    for (uint32_t c = 1; c < cluster.config().leastRequestChoiceCount; ++c) {
      const size_t candidate = draw();
      if (s.active[candidate] < s.active[position]) {
        position = candidate;
      }
    }
    break;
  }
  case config::LbPolicy::kRandom: position = weightedRandom(level); break;
  case config::LbPolicy::kRingHash:
    position = level.ringLookup(hash, context.selectionAttempt);
    break;
  case config::LbPolicy::kMaglev:
    position = level.maglevLookup(
        context.selectionAttempt == 0
            ? hash
            : hash64(std::string_view(reinterpret_cast<const char*>(&context.selectionAttempt),
                                      sizeof(context.selectionAttempt)),
                     hash));
    break;
  case config::LbPolicy::kClusterProvided: break; // only ORIGINAL_DST, handled above
  }
  const size_t index = level.hosts()[position];
  return PickedHost{index, cluster.config().hosts[index].address};
}

void WorkerLoadBalancers::requestStarted(const Cluster& cluster, size_t host) {
  if (const auto found = cluster.selection().find(host)) {
    ++state(cluster).levels[found->first].active[found->second];
  }
}

void WorkerLoadBalancers::requestFinished(const Cluster& cluster, size_t host) {
  if (const auto found = cluster.selection().find(host)) {
    uint32_t& active = state(cluster).levels[found->first].active[found->second];
    if (active > 0) {
      --active;
    }
  }
}

} // namespace meshd::proxy::upstream
