// Istio's translation of VirtualService HTTP routes into Envoy routes (pilot's route.go): match
// conditions, destinations and weights, redirects, direct responses, rewrites, timeouts, retries,
// faults, mirrors, CORS, header operations and consistent-hash policies from DestinationRules.
// Shared by the sidecar, gateway and proxyless gRPC route configurations (route_generator.cc).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "control/model/mesh_snapshot.h"
#include "control/translate/proxy_context.h"
#include "envoy/config/route/v3/route.pb.h"

namespace meshd::control::translate {

// Where the routes are used: the proxy, the port of the route configuration and the gateway the
// VirtualService is applied through ("mesh" for sidecars and proxyless gRPC, "ns/name" for a
// Gateway).
struct RouteScope {
  const model::MeshSnapshot& snapshot;
  const ProxyContext& proxy;
  uint32_t port = 0;
  std::string gateway = "mesh";
  bool tls = false; // the listener terminates TLS (the default scheme of redirects)
};

// One `http[]` entry with the namespace its destination hosts are resolved in (the delegate's
// for routes a delegate VirtualService contributed).
struct ScopedHttpRoute {
  config::HttpRoute route;
  std::string ns;
};

// The VirtualService's HTTP routes with delegates expanded (vs_delegates.cc).
std::vector<ScopedHttpRoute> expandDelegates(const model::MeshSnapshot& snapshot,
                                             const model::Entry<config::VirtualService>& vs);

// Istio's BuildHTTPRoutesForVirtualService: one Envoy route per applicable match of every
// `http[]` entry, in order, stopping after the first catch-all. Empty when nothing applies here.
std::vector<envoy::config::route::v3::Route>
buildVirtualServiceRoutes(const RouteScope& scope, const model::Entry<config::VirtualService>& vs);

// The route of a service without a VirtualService: prefix "/" → outbound|port||host, no timeout,
// the default retry policy and the DestinationRule's consistent hash.
envoy::config::route::v3::Route
defaultServiceRoute(const RouteScope& scope, const registry::Service& service, uint32_t port);

// Whether a route matches every request (prefix "/" or regex ".*", no header or query match).
bool isCatchAllRoute(const envoy::config::route::v3::Route& route);

} // namespace meshd::control::translate
