// Building ProxyConfig from a Bootstrap (proxy_config.h).
#include "proxy/config/proxy_config.h"

#include <set>

#include "core/status.h"
#include "fmt/format.h"
#include "proxy/config/conversions.h"
#include "proxy/config/listener_config.h"

namespace meshd::proxy::config {
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
