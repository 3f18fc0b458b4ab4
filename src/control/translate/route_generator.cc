// The route generator (docs/translation.md "Routes"): the RouteConfigurations a proxy fetches over
// RDS, in Istio's shape. Sidecars get one per outbound HTTP port ("9080") with a virtual host per
// visible service and a catch-all; gateways one per HTTP server port ("http.8080") or HTTPS
// server, with virtual hosts for the bound VirtualServices; proxyless gRPC clients one per gRPC
// service port ("host:port"). HTTP route translation itself is in http_routes.cc.
#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "absl/strings/str_cat.h"
#include "control/config/host_names.h"
#include "control/translate/http_routes.h"
#include "control/translate/names.h"
#include "control/translate/sidecar_view.h"
#include "control/translate/translator.h"

namespace meshd::control::translate {
namespace {

namespace route = envoy::config::route::v3;
using VsEntry = model::Entry<config::VirtualService>;

// Istio's outbound, catch-all, gateway and proxyless virtual hosts all ask for
// x-envoy-attempt-count on upstream requests.
route::VirtualHost virtualHost(std::string name, std::vector<std::string> domains,
                               const std::vector<route::Route>& routes) {
  route::VirtualHost out;
  out.set_name(std::move(name));
  out.set_include_request_attempt_count(true);
  for (auto& domain : domains) {
    out.add_domains(std::move(domain));
  }
  for (const auto& r : routes) {
    *out.add_routes() = r;
  }
  return out;
}

// Istio drops a domain already served by an earlier virtual host (Envoy refuses duplicates) and
// a virtual host left without domains; the survivors are sorted by name.
std::vector<route::VirtualHost> dedupeAndSort(std::vector<route::VirtualHost> hosts) {
  std::set<std::string> seen;
  std::vector<route::VirtualHost> out;
  for (route::VirtualHost& host : hosts) {
    std::vector<std::string> kept;
    for (const std::string& domain : host.domains()) {
      if (seen.insert(domain).second) {
        kept.push_back(domain);
      }
    }
    if (kept.empty()) {
      continue;
    }
    host.clear_domains();
    for (auto& domain : kept) {
      host.add_domains(std::move(domain));
    }
    out.push_back(std::move(host));
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const auto& a, const auto& b) { return a.name() < b.name(); });
  return out;
}

// `allow_any` → PassthroughCluster (ALLOW_ANY) or `block_all` → 502 (REGISTRY_ONLY).
route::VirtualHost catchAllVirtualHost(bool allowAny) {
  route::Route r;
  r.set_name(allowAny ? "allow_any" : "block_all");
  r.mutable_match()->set_prefix("/");
  if (allowAny) {
    r.mutable_route()->set_cluster(std::string(kPassthroughCluster));
    r.mutable_route()->mutable_timeout(); // 0s: no timeout
  } else {
    r.mutable_direct_response()->set_status(502);
  }
  return virtualHost(r.name(), {"*"}, {r});
}

route::RouteConfiguration routeConfiguration(std::string name,
                                             std::vector<route::VirtualHost> hosts) {
  route::RouteConfiguration out;
  out.set_name(std::move(name));
  for (auto& host : hosts) {
    *out.add_virtual_hosts() = std::move(host);
  }
  out.mutable_validate_clusters()->set_value(false);
  return out;
}

// --- sidecars -----------------------------------------------------------------------------

route::RouteConfiguration sidecarRouteConfig(const SidecarView& view, uint32_t port) {
  const RouteScope scope{view.snapshot, view.proxy, port, "mesh", false};
  std::vector<route::VirtualHost> hosts;
  std::set<std::string> routed; // services a VirtualService with routes took over
  for (const VsEntry* vs : view.virtualServices) {
    std::vector<route::Route> routes = buildVirtualServiceRoutes(scope, *vs);
    if (routes.empty()) {
      continue;
    }
    const std::vector<const registry::Service*> owned = view.servicesOwnedBy(vs);
    bool onThisPort = false;
    bool anyHttpPort = false;
    for (const registry::Service* service : owned) {
      routed.insert(service->hostname);
      for (const registry::ServicePort& p : service->ports) {
        anyHttpPort = anyHttpPort || isHttpProtocol(p.protocol);
        if (p.number == port && isHttpProtocol(p.protocol)) {
          onThisPort = true;
          hosts.push_back(virtualHost(absl::StrCat(service->hostname, ":", port),
                                      serviceDomains(view, *service, port), routes));
        }
      }
    }
    // Hosts without a service go where the VirtualService's services are, or on port 80.
    if (onThisPort || (!anyHttpPort && port == 80)) {
      for (const std::string& host : view.hostsWithoutService(*vs)) {
        hosts.push_back(virtualHost(absl::StrCat(host, ":", port),
                                    {host, absl::StrCat(host, ":", port)}, routes));
      }
    }
  }
  for (const registry::Service* service : view.services) {
    const registry::ServicePort* p = service->port(port);
    if (routed.contains(service->hostname) || p == nullptr || !isHttpProtocol(p->protocol)) {
      continue;
    }
    hosts.push_back(virtualHost(absl::StrCat(service->hostname, ":", port),
                                serviceDomains(view, *service, port),
                                {defaultServiceRoute(scope, *service, port)}));
  }
  std::vector<route::VirtualHost> out = dedupeAndSort(std::move(hosts));
  out.push_back(catchAllVirtualHost(view.allowAnyOutbound()));
  return routeConfiguration(outboundRouteName(port), std::move(out));
}

// The explicit-proxy listener's routes (local mode: applications use the sidecar as their HTTP
// proxy, so one RouteConfiguration answers for every port): every per-port virtual host, a
// domain served by an earlier port dropped (a bare short name goes to the service's lowest HTTP
// port), then the catch-all.
route::RouteConfiguration
explicitProxyRouteConfig(const SidecarView& view,
                         const std::vector<route::RouteConfiguration>& perPort) {
  std::vector<route::VirtualHost> hosts;
  for (const route::RouteConfiguration& config : perPort) {
    for (const route::VirtualHost& host : config.virtual_hosts()) {
      if (host.domains_size() != 1 || host.domains(0) != "*") {
        hosts.push_back(host);
      }
    }
  }
  std::vector<route::VirtualHost> out = dedupeAndSort(std::move(hosts));
  out.push_back(catchAllVirtualHost(view.allowAnyOutbound()));
  return routeConfiguration(std::string(kExplicitProxyRouteName), std::move(out));
}

std::vector<route::RouteConfiguration> sidecarRoutes(const SidecarView& view) {
  std::set<uint32_t> ports;
  for (const registry::Service* service : view.services) {
    for (const registry::ServicePort& p : service->ports) {
      if (isHttpProtocol(p.protocol)) {
        ports.insert(p.number);
      }
    }
  }
  std::vector<route::RouteConfiguration> out;
  for (uint32_t port : ports) {
    out.push_back(sidecarRouteConfig(view, port));
  }
  if (view.proxy.explicitProxyPort != 0) {
    out.push_back(explicitProxyRouteConfig(view, out));
  }
  return out;
}

// --- proxyless gRPC -----------------------------------------------------------------------

std::vector<route::RouteConfiguration> proxylessGrpcRoutes(const SidecarView& view) {
  std::vector<route::RouteConfiguration> out;
  for (const registry::Service* service : view.services) {
    const VsEntry* owner = view.ownerOf(*service);
    for (const registry::ServicePort& p : service->ports) {
      if (p.protocol != config::Protocol::kGrpc && p.protocol != config::Protocol::kHttp2) {
        continue;
      }
      const RouteScope scope{view.snapshot, view.proxy, p.number, "mesh", false};
      std::vector<route::Route> routes;
      if (owner != nullptr) {
        routes = buildVirtualServiceRoutes(scope, *owner);
      }
      if (routes.empty()) {
        routes.push_back(defaultServiceRoute(scope, *service, p.number));
      }
      const std::string name = absl::StrCat(service->hostname, ":", p.number);
      out.push_back(routeConfiguration(
          name, {virtualHost(name, serviceDomains(view, *service, p.number), routes)}));
    }
  }
  return out;
}

// --- gateways -----------------------------------------------------------------------------

struct BoundServer {
  const config::GatewayServer* server;
  std::string gateway; // "namespace/name"
  std::string gatewayNs;
};

// Istio's buildGatewayVirtualHostDomains: any port for a named host (the client may reach the
// gateway through a load balancer port), the server port for a wildcard.
std::vector<std::string> gatewayDomains(const std::string& host, uint32_t port) {
  if (host == "*") {
    return {host};
  }
  if (host.starts_with('*')) {
    return {host, absl::StrCat(host, ":", port)};
  }
  return {host, host + ":*"};
}

// The VirtualService hosts a server serves: for each pair of hosts where one covers the other,
// the narrower one. Server hosts name the VirtualService namespaces they accept ("ns/host",
// "./host" = the Gateway's namespace, "*/host" or "host" = any).
std::vector<std::string> servedHosts(const BoundServer& bound, const VsEntry& vs) {
  std::vector<std::string> out;
  for (const std::string& written : bound.server->hosts) {
    auto [ns, serverHost] = config::splitNamespacedHost(written);
    if (ns == ".") {
      ns = bound.gatewayNs;
    }
    if (!ns.empty() && ns != "*" && ns != vs.key.ns) {
      continue;
    }
    for (const std::string& vsWritten : vs.spec.hosts) {
      const std::string vsHost = config::resolveShortHost(vsWritten, vs.key.ns);
      std::optional<std::string> common;
      if (config::hostCovers(serverHost, vsHost)) {
        common = vsHost;
      } else if (config::hostCovers(vsHost, serverHost)) {
        common = serverHost;
      }
      if (common && std::find(out.begin(), out.end(), *common) == out.end()) {
        out.push_back(*common);
      }
    }
  }
  return out;
}

route::Route httpsRedirectRoute() {
  route::Route r;
  r.set_name("https_redirect");
  r.mutable_match()->set_prefix("/");
  r.mutable_redirect()->set_https_redirect(true);
  r.mutable_redirect()->set_response_code(route::RedirectAction::MOVED_PERMANENTLY);
  return r;
}

route::RouteConfiguration gatewayRouteConfig(const model::MeshSnapshot& snapshot,
                                             const ProxyContext& proxy, std::string name,
                                             const std::vector<BoundServer>& servers, bool tls) {
  const uint32_t port = servers.front().server->port.number;
  std::vector<std::string> order; // hosts in the order they appeared
  std::map<std::string, route::VirtualHost> byHost;
  auto addRoutes = [&](const std::string& host, const std::vector<route::Route>& routes) {
    auto [it, inserted] = byHost.try_emplace(host);
    if (inserted) {
      order.push_back(host);
      it->second = virtualHost(absl::StrCat(host, ":", port), gatewayDomains(host, port), {});
    }
    for (const auto& r : routes) {
      *it->second.add_routes() = r;
    }
  };
  for (const BoundServer& bound : servers) {
    if (bound.server->tls && bound.server->tls->httpsRedirect) {
      for (const std::string& written : bound.server->hosts) {
        addRoutes(config::splitNamespacedHost(written).second, {httpsRedirectRoute()});
      }
      continue;
    }
    const RouteScope scope{snapshot, proxy, port, bound.gateway, tls};
    for (const VsEntry* vs : snapshot.virtualServicesFor(bound.gateway, proxy.ns)) {
      const std::vector<std::string> hosts = servedHosts(bound, *vs);
      if (hosts.empty()) {
        continue;
      }
      const std::vector<route::Route> routes = buildVirtualServiceRoutes(scope, *vs);
      for (const std::string& host : routes.empty() ? std::vector<std::string>{} : hosts) {
        addRoutes(host, routes); // several VirtualServices for a host: oldest routes first
      }
    }
  }
  std::vector<route::VirtualHost> hosts;
  for (const std::string& host : order) {
    hosts.push_back(std::move(byHost[host]));
  }
  if (hosts.empty()) {
    route::Route notFound;
    notFound.mutable_match()->set_prefix("/");
    notFound.mutable_direct_response()->set_status(404);
    hosts.push_back(virtualHost(absl::StrCat("blackhole:", port), {"*"}, {notFound}));
    hosts.back().clear_include_request_attempt_count(); // Istio's blackhole host has none
  }
  return routeConfiguration(std::move(name), dedupeAndSort(std::move(hosts)));
}

bool isTlsTerminated(const config::GatewayServer& server) {
  using Mode = config::ServerTlsSettings::Mode;
  return server.port.protocol == config::Protocol::kHttps && server.tls &&
         server.tls->mode != Mode::kPassthrough && server.tls->mode != Mode::kAutoPassthrough;
}

std::vector<route::RouteConfiguration> gatewayRoutes(const model::MeshSnapshot& snapshot,
                                                     const ProxyContext& proxy) {
  std::map<uint32_t, std::vector<BoundServer>> plaintext;
  std::vector<std::pair<std::string, BoundServer>> terminated;
  for (const auto* gateway : snapshot.gatewaysFor(proxy.labels)) {
    const std::string name = gateway->key.ns + "/" + gateway->key.name;
    for (const config::GatewayServer& server : gateway->spec.servers) {
      const BoundServer bound{&server, name, gateway->key.ns};
      if (isHttpProtocol(server.port.protocol) &&
          server.port.protocol != config::Protocol::kUnspecified) {
        plaintext[server.port.number].push_back(bound);
      } else if (isTlsTerminated(server)) {
        // Istio: https.<port>.<port name>.<gateway name>.<gateway namespace>
        terminated.emplace_back(absl::StrCat("https.", server.port.number, ".", server.port.name,
                                             ".", gateway->key.name, ".", gateway->key.ns),
                                bound);
      }
    }
  }
  std::vector<route::RouteConfiguration> out;
  for (const auto& [port, servers] : plaintext) {
    out.push_back(gatewayRouteConfig(snapshot, proxy, gatewayRouteName(port), servers, false));
  }
  for (const auto& [name, bound] : terminated) {
    out.push_back(gatewayRouteConfig(snapshot, proxy, name, {bound}, true));
  }
  return out;
}

} // namespace

std::vector<route::RouteConfiguration> buildRoutes(const model::MeshSnapshot& snapshot,
                                                   const ProxyContext& proxy) {
  std::vector<route::RouteConfiguration> out;
  switch (proxy.type) {
  case ProxyContext::Type::kRouter: out = gatewayRoutes(snapshot, proxy); break;
  case ProxyContext::Type::kSidecar: out = sidecarRoutes(SidecarView(snapshot, proxy)); break;
  case ProxyContext::Type::kProxylessGrpc:
    out = proxylessGrpcRoutes(SidecarView(snapshot, proxy));
    break;
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const auto& a, const auto& b) { return a.name() < b.name(); });
  return out;
}

} // namespace meshd::control::translate
