// meshctl proxy-config: one proxy's xDS config as meshd generated it (/debug/config_dump?proxy=),
// as istioctl-style tables: clusters by Istio's cluster names, listeners by filter chain, routes by
// virtual host and route, endpoints by address.
#pragma once

#include <string>
#include <vector>

#include "cli/meshd_client.h"
#include "nlohmann/json.hpp"

namespace meshd::cli {

// "outbound|9080|v1|reviews.default.svc.cluster.local" → outbound, 9080, v1, the FQDN. Names that
// are not Istio's (BlackHoleCluster, PassthroughCluster, ...) give the name as FQDN and "-" for
// the rest.
struct ClusterName {
  std::string fqdn;
  std::string port = "-";
  std::string subset = "-";
  std::string direction = "-";
};
ClusterName parseClusterName(std::string_view name);

std::string renderClusters(const nlohmann::json& clusters);
std::string renderListeners(const nlohmann::json& listeners);
std::string renderRoutes(const nlohmann::json& routes);
std::string renderEndpoints(const nlohmann::json& endpoints);

// The node id `query` names: an exact id, or a prefix of exactly one. Errors are sentences.
absl::StatusOr<std::string> resolveProxy(const std::vector<std::string>& nodes,
                                         const std::string& query);

struct ProxyConfigOptions {
  std::string what; // listeners, routes, clusters or endpoints (singular and short forms too)
  std::string proxy;
};
int runProxyConfig(Context& ctx, const ProxyConfigOptions& options);

} // namespace meshd::cli
