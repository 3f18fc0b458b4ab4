// DnsClusterRefresher (dns_cluster_refresher.h).
#include "proxy/upstream/dns_cluster_refresher.h"

#include <algorithm>

#include "core/logging.h"
#include "core/status.h"

namespace meshd::proxy::upstream {
namespace {

spdlog::logger& logger() {
  static spdlog::logger& instance = log::get("upstream");
  return instance;
}

} // namespace

bool isDnsCluster(const config::ClusterConfig& cluster) {
  return cluster.type == config::ClusterType::kStrictDns ||
         cluster.type == config::ClusterType::kLogicalDns;
}

struct DnsClusterRefresher::ClusterState {
  config::ClusterConfig config; // its DNS settings and targets
  uint64_t generation = 0;      // tells its answers from those of a removed namesake
  HostsChanged onChange;
  std::function<void()> resolved; // until the first round ended
  std::unique_ptr<DnsResolver> resolver;
  std::unique_ptr<core::Timer> timer;
  // The last good answer per target (kept across failed lookups), and this round's progress.
  std::vector<std::optional<DnsAnswer>> answers;
  size_t pending = 0;
  bool roundFailed = false;
  std::vector<config::HostConfig> hosts; // as last handed over
  stats::Counter updateAttempt;
  stats::Counter updateSuccess;
  stats::Counter updateFailure;
};

DnsClusterRefresher::DnsClusterRefresher(core::EventLoop& loop, stats::Store& store,
                                         HostsChanged on_change)
    : loop_(loop), store_(store), onChange_(std::move(on_change)) {}

DnsClusterRefresher::~DnsClusterRefresher() = default;

absl::Status DnsClusterRefresher::start(const config::ProxyConfig& config,
                                        std::function<void()> initialized) {
  auto uninitialized = std::make_shared<size_t>(0);
  for (const auto& [name, cluster] : config.clusters) {
    *uninitialized += isDnsCluster(cluster) ? 1 : 0;
  }
  if (*uninitialized == 0) {
    loop_.post([done = std::move(initialized)] { done(); });
    return absl::OkStatus();
  }
  auto resolved = [uninitialized, done = std::move(initialized)] {
    if (--*uninitialized == 0) {
      done();
    }
  };
  for (const auto& [name, cluster] : config.clusters) {
    if (isDnsCluster(cluster)) {
      RETURN_IF_ERROR(add(cluster, onChange_, resolved));
    }
  }
  return absl::OkStatus();
}

absl::Status DnsClusterRefresher::add(const config::ClusterConfig& cluster, HostsChanged on_change,
                                      std::function<void()> resolved) {
  remove(cluster.name);
  auto state = std::make_unique<ClusterState>();
  state->config = cluster;
  state->onChange = std::move(on_change);
  state->resolved = std::move(resolved);
  auto resolver = DnsResolver::create(loop_, cluster.dnsResolvers);
  if (!resolver.ok()) {
    return absl::InvalidArgumentError(
        fmt::format("cluster '{}': {}", cluster.name, resolver.status().message()));
  }
  state->resolver = std::move(*resolver);
  state->answers.resize(cluster.dnsTargets.size());
  const stats::Tags tags = {{"envoy_cluster_name", cluster.name}};
  state->updateAttempt = store_.counter("cluster.update_attempt", tags, "DNS refreshes started");
  state->updateSuccess =
      store_.counter("cluster.update_success", tags, "DNS refreshes that resolved every name");
  state->updateFailure =
      store_.counter("cluster.update_failure", tags, "DNS refreshes with a failed lookup");
  state->generation = ++generations_;
  ClusterState& ref = *state;
  state->timer = loop_.createTimer([this, &ref] { refresh(ref); });
  // The first round starts on the next loop turn, so no callback runs before add() returns.
  state->timer->enable(std::chrono::milliseconds(0));
  clusters_[cluster.name] = std::move(state);
  return absl::OkStatus();
}

void DnsClusterRefresher::remove(const std::string& name) {
  // Destroying the resolver ends its lookups without calling back; the timer goes with it.
  clusters_.erase(name);
}

void DnsClusterRefresher::refresh(ClusterState& cluster) {
  cluster.updateAttempt.inc();
  cluster.pending = cluster.config.dnsTargets.size();
  cluster.roundFailed = false;
  if (cluster.pending == 0) {
    roundDone(cluster);
    return;
  }
  // An answer is posted to the loop: it may arrive after the cluster was removed or replaced,
  // so it finds its cluster by name and generation.
  for (size_t i = 0; i < cluster.config.dnsTargets.size(); ++i) {
    cluster.resolver->resolve(cluster.config.dnsTargets[i].hostname, cluster.config.dnsLookupFamily,
                              [this, name = cluster.config.name, generation = cluster.generation,
                               i](absl::StatusOr<DnsAnswer> answer) {
                                const auto found = clusters_.find(name);
                                if (found != clusters_.end() &&
                                    found->second->generation == generation) {
                                  onAnswer(*found->second, i, std::move(answer));
                                }
                              });
  }
}

void DnsClusterRefresher::onAnswer(ClusterState& cluster, size_t target,
                                   absl::StatusOr<DnsAnswer> answer) {
  if (answer.ok()) {
    cluster.answers[target] = std::move(*answer);
  } else {
    cluster.roundFailed = true;
    MESHD_LOG(logger(), debug, "cluster '{}': {}", cluster.config.name, answer.status().message());
    if (answer.status().code() == absl::StatusCode::kNotFound) {
      cluster.answers[target] = DnsAnswer{}; // the name is gone: so are its hosts
    }
  }
  if (--cluster.pending == 0) {
    roundDone(cluster);
  }
}

std::vector<config::HostConfig> DnsClusterRefresher::hostsOf(const ClusterState& cluster) const {
  std::vector<config::HostConfig> hosts;
  for (size_t i = 0; i < cluster.answers.size(); ++i) {
    if (!cluster.answers[i]) {
      continue;
    }
    const config::DnsTarget& target = cluster.config.dnsTargets[i];
    for (const auto& address : cluster.answers[i]->addresses) {
      config::HostConfig host = target.hostTemplate;
      host.address = config::Endpoint(address, target.port);
      host.hostname = target.hostname;
      hosts.push_back(std::move(host));
    }
  }
  if (cluster.config.type == config::ClusterType::kLogicalDns) {
    // One logical host: the first address of the latest answer. An answer without addresses
    // keeps the previous one, as Envoy's LOGICAL_DNS does.
    if (hosts.empty()) {
      return cluster.hosts;
    }
    hosts.resize(1);
  }
  return hosts;
}

void DnsClusterRefresher::roundDone(ClusterState& cluster) {
  (cluster.roundFailed ? cluster.updateFailure : cluster.updateSuccess).inc();
  std::vector<config::HostConfig> hosts = hostsOf(cluster);
  std::chrono::milliseconds next = cluster.config.dnsRefreshRate;
  if (cluster.config.respectDnsTtl) {
    // The TTL decides, but an answer without addresses or TTL falls back to the refresh rate.
    std::chrono::milliseconds ttl{0};
    for (const auto& answer : cluster.answers) {
      if (answer && answer->ttl.count() > 0) {
        ttl =
            ttl.count() == 0 ? answer->ttl : std::min<std::chrono::milliseconds>(ttl, answer->ttl);
      }
    }
    next = ttl.count() > 0 ? ttl : cluster.config.dnsRefreshRate;
  }
  cluster.timer->enable(next);
  // The callbacks come last: they may add or remove clusters, this one included.
  const std::string name = cluster.config.name;
  auto resolved = std::move(cluster.resolved);
  cluster.resolved = nullptr;
  const bool changed = hosts != cluster.hosts;
  HostsChanged onChange = changed ? cluster.onChange : nullptr;
  if (changed) {
    MESHD_LOG(logger(), info, "cluster '{}': DNS gives {} host(s)", name, hosts.size());
    cluster.hosts = hosts;
  }
  if (onChange) {
    onChange(name, std::move(hosts));
  }
  if (resolved) {
    resolved();
  }
}

} // namespace meshd::proxy::upstream
