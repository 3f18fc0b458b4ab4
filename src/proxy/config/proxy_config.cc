// Building ProxyConfig from a Bootstrap (proxy_config.h).
#include "proxy/config/proxy_config.h"

#include <set>

#include "core/status.h"
#include "fmt/format.h"
#include "proxy/config/conversions.h"
#include "proxy/config/listener_config.h"

namespace meshd::proxy::config {
namespace {

absl::StatusOr<ClusterConfig> buildCluster(const envoy::config::cluster::v3::Cluster& cluster,
                                           const std::string& where) {
  ClusterConfig out;
  out.name = cluster.name();
  if (out.name.empty()) {
    return invalid(where + ".name", "a cluster needs a name");
  }
  if (cluster.has_connect_timeout()) {
    out.connectTimeout = toMillis(cluster.connect_timeout());
    if (out.connectTimeout.count() <= 0) {
      return invalid(where + ".connect_timeout", "must be positive");
    }
  }
  if (cluster.has_per_connection_buffer_limit_bytes()) {
    out.perConnectionBufferLimitBytes = cluster.per_connection_buffer_limit_bytes().value();
  }
  using Cluster = envoy::config::cluster::v3::Cluster;
  switch (cluster.lb_policy()) {
  case Cluster::ROUND_ROBIN: out.lbPolicy = LbPolicy::kRoundRobin; break;
  case Cluster::LEAST_REQUEST: out.lbPolicy = LbPolicy::kLeastRequest; break;
  case Cluster::RANDOM: out.lbPolicy = LbPolicy::kRandom; break;
  case Cluster::RING_HASH: out.lbPolicy = LbPolicy::kRingHash; break;
  case Cluster::MAGLEV: out.lbPolicy = LbPolicy::kMaglev; break;
  case Cluster::CLUSTER_PROVIDED: out.lbPolicy = LbPolicy::kClusterProvided; break;
  default: return invalid(where + ".lb_policy", "not supported");
  }
  if (cluster.type() == Cluster::ORIGINAL_DST) {
    // Each connection goes where it was originally addressed: no endpoints, no balancing.
    out.type = ClusterType::kOriginalDst;
    if (out.lbPolicy != LbPolicy::kClusterProvided) {
      return invalid(where + ".lb_policy", "an ORIGINAL_DST cluster needs CLUSTER_PROVIDED");
    }
    if (cluster.has_load_assignment()) {
      return invalid(where + ".load_assignment", "an ORIGINAL_DST cluster takes no endpoints");
    }
    out.originalDstUseHttpHeader = cluster.original_dst_lb_config().use_http_header();
  } else if (out.lbPolicy == LbPolicy::kClusterProvided) {
    return invalid(where + ".lb_policy", "CLUSTER_PROVIDED needs an ORIGINAL_DST cluster");
  }
  if (cluster.least_request_lb_config().has_choice_count()) {
    out.leastRequestChoiceCount = cluster.least_request_lb_config().choice_count().value();
    if (out.leastRequestChoiceCount < 2) {
      return invalid(where + ".least_request_lb_config.choice_count", "must be at least 2");
    }
  }
  if (cluster.ring_hash_lb_config().has_minimum_ring_size()) {
    out.ringHashMinimumSize = cluster.ring_hash_lb_config().minimum_ring_size().value();
  }
  if (cluster.ring_hash_lb_config().has_maximum_ring_size()) {
    out.ringHashMaximumSize = cluster.ring_hash_lb_config().maximum_ring_size().value();
  }
  if (out.ringHashMinimumSize == 0 || out.ringHashMinimumSize > out.ringHashMaximumSize) {
    return invalid(where + ".ring_hash_lb_config",
                   "need 0 < minimum_ring_size <= maximum_ring_size");
  }
  if (cluster.maglev_lb_config().has_table_size()) {
    out.maglevTableSize = cluster.maglev_lb_config().table_size().value();
    if (out.maglevTableSize < 2) {
      return invalid(where + ".maglev_lb_config.table_size", "must be at least 2");
    }
  }
  const auto& assignment = cluster.load_assignment();
  for (int l = 0; l < assignment.endpoints_size(); ++l) {
    const auto& locality = assignment.endpoints(l);
    for (int e = 0; e < locality.lb_endpoints_size(); ++e) {
      const auto& lbEndpoint = locality.lb_endpoints(e);
      const std::string at =
          fmt::format("{}.load_assignment.endpoints[{}].lb_endpoints[{}]", where, l, e);
      HostConfig host;
      ASSIGN_OR_RETURN(host.address,
                       toEndpoint(lbEndpoint.endpoint().address(), at + ".endpoint.address"));
      if (lbEndpoint.has_load_balancing_weight()) {
        host.weight = lbEndpoint.load_balancing_weight().value();
        if (host.weight == 0) {
          return invalid(at + ".load_balancing_weight", "must be at least 1");
        }
      }
      host.priority = locality.priority();
      host.localityWeight =
          locality.has_load_balancing_weight() ? locality.load_balancing_weight().value() : 0;
      out.hosts.push_back(std::move(host));
    }
  }
  return out;
}

} // namespace

absl::StatusOr<ProxyConfig> buildProxyConfig(const Bootstrap& bootstrap) {
  ProxyConfig out;
  out.bootstrap = bootstrap;
  out.nodeId = bootstrap.node().id();
  out.nodeCluster = bootstrap.node().cluster();
  if (bootstrap.has_admin()) {
    ASSIGN_OR_RETURN(out.adminAddress, toEndpoint(bootstrap.admin().address(), "admin.address"));
  }
  const auto& resources = bootstrap.static_resources();
  for (int i = 0; i < resources.clusters_size(); ++i) {
    const std::string where = fmt::format("static_resources.clusters[{}]", i);
    ASSIGN_OR_RETURN(ClusterConfig cluster, buildCluster(resources.clusters(i), where));
    if (out.clusters.contains(cluster.name)) {
      return invalid(where + ".name", fmt::format("duplicate cluster name '{}'", cluster.name));
    }
    out.clusters.emplace(cluster.name, std::move(cluster));
  }
  std::set<std::string> listenerNames;
  for (int i = 0; i < resources.listeners_size(); ++i) {
    const std::string where = fmt::format("static_resources.listeners[{}]", i);
    ASSIGN_OR_RETURN(ListenerConfig listener,
                     buildListener(resources.listeners(i), where, out.clusters));
    if (!listenerNames.insert(listener.name).second) {
      return invalid(where + ".name", fmt::format("duplicate listener name '{}'", listener.name));
    }
    out.listeners.push_back(std::move(listener));
  }
  return out;
}

} // namespace meshd::proxy::config
