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

struct DnsClusterRefresher::ClusterState {
  config::ClusterConfig config; // its DNS settings and targets
  std::unique_ptr<DnsResolver> resolver;
  std::unique_ptr<core::Timer> timer;
  // The last good answer per target (kept across failed lookups), and this round's progress.
  std::vector<std::optional<DnsAnswer>> answers;
  size_t pending = 0;
  bool roundFailed = false;
  bool initialized = false;
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
  initialized_ = std::move(initialized);
  for (const auto& [name, cluster] : config.clusters) {
    if (cluster.type != config::ClusterType::kStrictDns) {
      continue;
    }
    auto state = std::make_unique<ClusterState>();
    state->config = cluster;
    auto resolver = DnsResolver::create(loop_, cluster.dnsResolvers);
    if (!resolver.ok()) {
      return absl::InvalidArgumentError(
          fmt::format("cluster '{}': {}", name, resolver.status().message()));
    }
    state->resolver = std::move(*resolver);
    state->answers.resize(cluster.dnsTargets.size());
    const stats::Tags tags = {{"envoy_cluster_name", name}};
    state->updateAttempt = store_.counter("cluster.update_attempt", tags, "DNS refreshes started");
    state->updateSuccess =
        store_.counter("cluster.update_success", tags, "DNS refreshes that resolved every name");
    state->updateFailure =
        store_.counter("cluster.update_failure", tags, "DNS refreshes with a failed lookup");
    ClusterState& ref = *state;
    state->timer = loop_.createTimer([this, &ref] { refresh(ref); });
    clusters_.emplace(name, std::move(state));
  }
  uninitialized_ = clusters_.size();
  if (uninitialized_ == 0) {
    loop_.post([done = initialized_] { done(); });
    return absl::OkStatus();
  }
  for (auto& [name, state] : clusters_) {
    refresh(*state);
  }
  return absl::OkStatus();
}

void DnsClusterRefresher::refresh(ClusterState& cluster) {
  cluster.updateAttempt.inc();
  cluster.pending = cluster.config.dnsTargets.size();
  cluster.roundFailed = false;
  if (cluster.pending == 0) {
    roundDone(cluster);
    return;
  }
  for (size_t i = 0; i < cluster.config.dnsTargets.size(); ++i) {
    cluster.resolver->resolve(cluster.config.dnsTargets[i].hostname, cluster.config.dnsLookupFamily,
                              [this, &cluster, i](absl::StatusOr<DnsAnswer> answer) {
                                onAnswer(cluster, i, std::move(answer));
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

void DnsClusterRefresher::roundDone(ClusterState& cluster) {
  (cluster.roundFailed ? cluster.updateFailure : cluster.updateSuccess).inc();
  std::vector<config::HostConfig> hosts;
  std::chrono::milliseconds next = cluster.config.dnsRefreshRate;
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
  if (hosts != cluster.hosts) {
    MESHD_LOG(logger(), info, "cluster '{}': DNS gives {} host(s)", cluster.config.name,
              hosts.size());
    cluster.hosts = hosts;
    onChange_(cluster.config.name, std::move(hosts));
  }
  cluster.timer->enable(next);
  if (!cluster.initialized) {
    cluster.initialized = true;
    if (--uninitialized_ == 0 && initialized_) {
      initialized_();
    }
  }
}

} // namespace meshd::proxy::upstream
