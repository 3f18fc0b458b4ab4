// Translation (DESIGN.md §1 "translate"): pure functions from the mesh snapshot and one proxy to
// the Envoy resources it should have. One generator per resource type, each in its own file;
// translate() runs them all. Thread-safe by construction (no state), so meshd may translate for
// many proxies at once.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "control/model/mesh_snapshot.h"
#include "control/translate/proxy_context.h"
#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/config/route/v3/route.pb.h"

namespace meshd::control::translate {

struct ProxyResources {
  std::vector<envoy::config::cluster::v3::Cluster> clusters;
  std::vector<envoy::config::endpoint::v3::ClusterLoadAssignment> endpoints;
  std::vector<envoy::config::listener::v3::Listener> listeners;
  std::vector<envoy::config::route::v3::RouteConfiguration> routes;
};

// An outbound cluster's name, "outbound|9080|v1|reviews.default.svc.cluster.local", in parts.
struct OutboundKey {
  uint32_t port = 0;
  std::string subset;
  std::string host;
};
std::optional<OutboundKey> parseOutboundName(std::string_view name);

ProxyResources translate(const model::MeshSnapshot& snapshot, const ProxyContext& proxy);

// The generators (cluster_generator.cc, endpoint_generator.cc, listener_generator.cc,
// route_generator.cc). Each returns its resources sorted by name.
std::vector<envoy::config::cluster::v3::Cluster> buildClusters(const model::MeshSnapshot& snapshot,
                                                               const ProxyContext& proxy);
// The assignments of the EDS clusters among `clusters`.
std::vector<envoy::config::endpoint::v3::ClusterLoadAssignment>
buildEndpoints(const model::MeshSnapshot& snapshot, const ProxyContext& proxy,
               const std::vector<envoy::config::cluster::v3::Cluster>& clusters);
// The assignment of one EDS cluster (nullopt when its service or subset is unknown): what
// buildEndpoints makes for it, alone (the endpoint-only update, endpoint_update.h).
std::optional<envoy::config::endpoint::v3::ClusterLoadAssignment>
buildEndpoint(const model::MeshSnapshot& snapshot, const ProxyContext& proxy,
              const envoy::config::cluster::v3::Cluster& cluster);
std::vector<envoy::config::listener::v3::Listener>
buildListeners(const model::MeshSnapshot& snapshot, const ProxyContext& proxy);
std::vector<envoy::config::route::v3::RouteConfiguration>
buildRoutes(const model::MeshSnapshot& snapshot, const ProxyContext& proxy);

} // namespace meshd::control::translate
