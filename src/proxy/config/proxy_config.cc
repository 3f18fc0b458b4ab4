// Building ProxyConfig from a Bootstrap (proxy_config.h).
#include "proxy/config/proxy_config.h"

#include <set>

#include "core/status.h"
#include "fmt/format.h"
#include "proxy/config/conversions.h"
#include "proxy/config/listener_config.h"

namespace meshd::proxy::config {
namespace {

absl::StatusOr<XdsConfig>
buildXds(const envoy::config::bootstrap::v3::Bootstrap::DynamicResources& dynamic,
         const std::map<std::string, ClusterConfig>& clusters) {
  const std::string where = "dynamic_resources";
  XdsConfig out;
  const auto& ads = dynamic.ads_config();
  using ApiConfigSource = envoy::config::core::v3::ApiConfigSource;
  if (!dynamic.has_ads_config() ||
      (ads.api_type() != ApiConfigSource::GRPC && ads.api_type() != ApiConfigSource::DELTA_GRPC)) {
    return invalid(where + ".ads_config.api_type",
                   "mesh-proxy speaks ADS over GRPC (state of the world) or DELTA_GRPC");
  }
  out.delta = ads.api_type() == ApiConfigSource::DELTA_GRPC;
  if (ads.grpc_services_size() != 1 || !ads.grpc_services(0).has_envoy_grpc()) {
    return invalid(where + ".ads_config.grpc_services",
                   "needs exactly one envoy_grpc service naming a static cluster");
  }
  out.clusterName = ads.grpc_services(0).envoy_grpc().cluster_name();
  const auto cluster = clusters.find(out.clusterName);
  if (cluster == clusters.end() || cluster->second.type != ClusterType::kStatic ||
      cluster->second.hosts.empty()) {
    return invalid(where + ".ads_config.grpc_services[0].envoy_grpc.cluster_name",
                   fmt::format("'{}' is not a STATIC cluster with a host", out.clusterName));
  }
  out.server = cluster->second.hosts.front().address;
  if (dynamic.has_cds_config()) {
    if (!dynamic.cds_config().has_ads()) {
      return invalid(where + ".cds_config", "mesh-proxy takes CDS over ADS (ads: {})");
    }
    out.cds = true;
    if (dynamic.cds_config().has_initial_fetch_timeout()) {
      out.initialFetchTimeout = toMillis(dynamic.cds_config().initial_fetch_timeout());
    }
  }
  if (dynamic.has_lds_config()) {
    RETURN_IF_ERROR(noInitialFetchTimeout(dynamic.lds_config(), where + ".lds_config"));
    if (!dynamic.lds_config().has_ads()) {
      return invalid(where + ".lds_config", "mesh-proxy takes LDS over ADS (ads: {})");
    }
    out.lds = true;
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
  if (bootstrap.has_overload_manager()) {
    ASSIGN_OR_RETURN(out.overload, buildOverloadConfig(bootstrap.overload_manager()));
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
  if (bootstrap.has_dynamic_resources()) {
    ASSIGN_OR_RETURN(out.xds, buildXds(bootstrap.dynamic_resources(), out.clusters));
  }
  for (const auto& [name, cluster] : out.clusters) {
    if (cluster.type == ClusterType::kEds && cluster.edsPath.empty() && !out.xds) {
      return invalid(fmt::format("cluster '{}' eds_config", name),
                     "ads needs dynamic_resources.ads_config");
    }
  }
  const ClusterCatalog catalog{out.clusters, out.xds && out.xds->cds};
  std::set<std::string> listenerNames;
  for (int i = 0; i < resources.listeners_size(); ++i) {
    const std::string where = fmt::format("static_resources.listeners[{}]", i);
    ASSIGN_OR_RETURN(ListenerConfig listener,
                     buildListener(resources.listeners(i), where, catalog));
    if (!listenerNames.insert(listener.name).second) {
      return invalid(where + ".name", fmt::format("duplicate listener name '{}'", listener.name));
    }
    for (const auto& chain : listener.filterChains) {
      if (chain.http && !chain.http->rdsName.empty() && !out.xds) {
        return invalid(where, "rds needs dynamic_resources.ads_config");
      }
    }
    out.listeners.push_back(std::move(listener));
  }
  return out;
}

} // namespace meshd::proxy::config
