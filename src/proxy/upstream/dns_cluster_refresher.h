// Keeps DNS clusters' hosts current: every target name of every STRICT_DNS or LOGICAL_DNS cluster
// is resolved when the cluster arrives (bootstrap or CDS) and then every dns_refresh_rate (or the
// answer's TTL with respect_dns_ttl); when the addresses a cluster resolves to change, the new
// host list is handed to the cluster's owner, which rebuilds the runtime. A failed lookup keeps
// the target's last addresses, as Envoy does. STRICT_DNS: every address is a host. LOGICAL_DNS:
// one host, the first address of the latest answer that had any. A removed or replaced cluster's
// resolver is destroyed with its pending lookups and timer. Runs on the main thread.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "core/event_loop.h"
#include "core/stats/store.h"
#include "proxy/config/proxy_config.h"
#include "proxy/upstream/dns_resolver.h"
#include "proxy/upstream/hosts_changed.h"

namespace meshd::proxy::upstream {

bool isDnsCluster(const config::ClusterConfig& cluster);

class DnsClusterRefresher {
public:
  // `on_change` receives the hosts of the bootstrap's clusters (start()).
  DnsClusterRefresher(core::EventLoop& loop, stats::Store& store, HostsChanged on_change);
  ~DnsClusterRefresher();

  // Starts on every DNS cluster of `config`. `initialized` runs once, after every such cluster's
  // first round of lookups ended (with or without addresses), from the loop.
  absl::Status start(const config::ProxyConfig& config, std::function<void()> initialized);

  // Starts resolving `cluster` (a DNS cluster), first stopping the resolution of a cluster of the
  // same name. `on_change` gets its hosts whenever they change; `resolved` runs once, after the
  // first round of lookups ended (after `on_change` if that round changed the hosts).
  absl::Status add(const config::ClusterConfig& cluster, HostsChanged on_change,
                   std::function<void()> resolved);
  // Stops resolving `name` (nothing when it is not resolved); no callback of it runs afterwards.
  void remove(const std::string& name);
  // Clusters being resolved.
  size_t size() const { return clusters_.size(); }

private:
  struct ClusterState;
  void refresh(ClusterState& cluster);
  void onAnswer(ClusterState& cluster, size_t target, absl::StatusOr<DnsAnswer> answer);
  void roundDone(ClusterState& cluster);
  std::vector<config::HostConfig> hostsOf(const ClusterState& cluster) const;

  core::EventLoop& loop_;
  stats::Store& store_;
  HostsChanged onChange_;
  std::map<std::string, std::unique_ptr<ClusterState>> clusters_;
  uint64_t generations_ = 0;
};

} // namespace meshd::proxy::upstream
