// Keeps STRICT_DNS clusters' hosts current: every target name of every such cluster is resolved
// at start and then every dns_refresh_rate (or the answer's TTL with respect_dns_ttl); when the
// addresses a cluster resolves to change, the new host list is handed to the owner, which
// rebuilds the runtime. A failed lookup keeps the target's last addresses, as Envoy does.
// Runs on the main thread.
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

class DnsClusterRefresher {
public:
  DnsClusterRefresher(core::EventLoop& loop, stats::Store& store, HostsChanged on_change);
  ~DnsClusterRefresher();

  // Starts on every STRICT_DNS cluster of `config`. `initialized` runs once, after every such
  // cluster's first round of lookups ended (with or without addresses), from the loop.
  absl::Status start(const config::ProxyConfig& config, std::function<void()> initialized);

private:
  struct ClusterState;
  void refresh(ClusterState& cluster);
  void onAnswer(ClusterState& cluster, size_t target, absl::StatusOr<DnsAnswer> answer);
  void roundDone(ClusterState& cluster);

  core::EventLoop& loop_;
  stats::Store& store_;
  HostsChanged onChange_;
  std::map<std::string, std::unique_ptr<ClusterState>> clusters_;
  size_t uninitialized_ = 0;
  std::function<void()> initialized_;
};

} // namespace meshd::proxy::upstream
