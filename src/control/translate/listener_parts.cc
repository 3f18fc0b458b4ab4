// Builders shared by the listener kinds (listener_parts.h): connection managers, tcp_proxy,
// filter chains, addresses, VirtualService tcp/tls route resolution.
#include <algorithm>

#include "absl/strings/numbers.h"
#include "control/config/host_names.h"
#include "control/translate/listener_parts.h"
#include "control/translate/names.h"
#include "control/translate/route_policies.h"
#include "envoy/extensions/filters/http/cors/v3/cors.pb.h"
#include "envoy/extensions/filters/http/fault/v3/fault.pb.h"
#include "envoy/extensions/filters/http/router/v3/router.pb.h"
#include "fmt/format.h"

namespace meshd::control::translate {

using config::Protocol;

PortKind portKindOf(Protocol protocol) {
  switch (protocol) {
  case Protocol::kHttp:
  case Protocol::kHttp2:
  case Protocol::kGrpc:
  case Protocol::kGrpcWeb: return PortKind::kHttp;
  case Protocol::kUnspecified: return PortKind::kSniffed;
  case Protocol::kTcp:
  case Protocol::kMongo:
  case Protocol::kMySql:
  case Protocol::kRedis: return PortKind::kTcp;
  case Protocol::kHttps:
  case Protocol::kTls: return PortKind::kTls;
  case Protocol::kUdp: return PortKind::kNone;
  }
  return PortKind::kNone;
}

bool grpcCapable(Protocol protocol) {
  return protocol == Protocol::kGrpc || protocol == Protocol::kHttp2 ||
         protocol == Protocol::kHttp || protocol == Protocol::kUnspecified;
}

envoy::config::core::v3::Address socketAddress(std::string_view ip, uint32_t port) {
  envoy::config::core::v3::Address address;
  auto* socket = address.mutable_socket_address();
  socket->set_address(std::string(ip));
  socket->set_port_value(port);
  return address;
}

envoy::config::core::v3::CidrRange cidrRange(std::string_view cidr) {
  envoy::config::core::v3::CidrRange range;
  const size_t slash = cidr.find('/');
  const std::string_view ip = cidr.substr(0, slash);
  range.set_address_prefix(std::string(ip));
  uint32_t length = ip.find(':') == std::string_view::npos ? 32 : 128;
  if (slash != std::string_view::npos) {
    uint32_t parsed = 0;
    if (absl::SimpleAtoi(std::string(cidr.substr(slash + 1)), &parsed)) {
      length = parsed;
    }
  }
  range.mutable_prefix_len()->set_value(length);
  return range;
}

namespace {

void addHttpFilter(HttpConnectionManager& manager, std::string_view name,
                   const google::protobuf::Message& config) {
  auto* filter = manager.add_http_filters();
  filter->set_name(std::string(name));
  filter->mutable_typed_config()->PackFrom(config);
}

} // namespace

HttpConnectionManager rdsConnectionManager(std::string_view statPrefix,
                                           std::string_view routeName) {
  HttpConnectionManager manager;
  manager.set_stat_prefix(std::string(statPrefix));
  manager.mutable_rds()->set_route_config_name(std::string(routeName));
  manager.mutable_rds()->mutable_config_source()->mutable_ads();
  manager.mutable_rds()->mutable_config_source()->set_resource_api_version(
      envoy::config::core::v3::V3);
  // As Istio: CORS before fault, so that a preflight is answered even when a fault would abort.
  // Its policies are the routes' (VirtualService corsPolicy); without one it does nothing.
  addHttpFilter(manager, kCorsFilterName, envoy::extensions::filters::http::cors::v3::Cors());
  addHttpFilter(manager, "envoy.filters.http.fault",
                envoy::extensions::filters::http::fault::v3::HTTPFault());
  addHttpFilter(manager, "envoy.filters.http.router",
                envoy::extensions::filters::http::router::v3::Router());
  return manager;
}

HttpConnectionManager inboundConnectionManager(uint32_t port) {
  HttpConnectionManager manager;
  manager.set_stat_prefix(fmt::format("inbound_0.0.0.0_{}", port));
  auto* routes = manager.mutable_route_config();
  routes->set_name(inboundClusterName(port));
  // The cluster comes with the same push; Istio does not validate it either.
  routes->mutable_validate_clusters()->set_value(false);
  auto* host = routes->add_virtual_hosts();
  host->set_name(fmt::format("inbound|http|{}", port));
  host->add_domains("*");
  auto* route = host->add_routes();
  route->set_name("default");
  route->mutable_match()->set_prefix("/");
  route->mutable_route()->set_cluster(inboundClusterName(port));
  route->mutable_route()->mutable_timeout()->set_seconds(0); // disabled, as Istio's inbound
  addHttpFilter(manager, "envoy.filters.http.fault",
                envoy::extensions::filters::http::fault::v3::HTTPFault());
  addHttpFilter(manager, "envoy.filters.http.router",
                envoy::extensions::filters::http::router::v3::Router());
  return manager;
}

TcpProxy tcpProxyTo(std::string_view statPrefix, std::string_view cluster) {
  TcpProxy proxy;
  proxy.set_stat_prefix(std::string(statPrefix));
  proxy.set_cluster(std::string(cluster));
  return proxy;
}

namespace {

FilterChain chainWith(std::string name, std::string_view filterName,
                      const google::protobuf::Message& config) {
  FilterChain chain;
  chain.set_name(std::move(name));
  auto* filter = chain.add_filters();
  filter->set_name(std::string(filterName));
  filter->mutable_typed_config()->PackFrom(config);
  return chain;
}

} // namespace

FilterChain httpChain(std::string name, const HttpConnectionManager& manager) {
  return chainWith(std::move(name), kHttpConnectionManagerFilter, manager);
}

FilterChain tcpChain(std::string name, const TcpProxy& proxy) {
  return chainWith(std::move(name), kTcpProxyFilter, proxy);
}

void addListenerFilter(Listener& listener, std::string_view name,
                       const google::protobuf::Message& config) {
  auto* filter = listener.add_listener_filters();
  filter->set_name(std::string(name));
  filter->mutable_typed_config()->PackFrom(config);
}

void sortByName(std::vector<Listener>& listeners) {
  std::sort(listeners.begin(), listeners.end(),
            [](const Listener& a, const Listener& b) { return a.name() < b.name(); });
}

TcpProxy tcpProxyToRoute(const model::MeshSnapshot& snapshot,
                         const std::vector<config::RouteDestination>& route, uint32_t servicePort,
                         std::string_view fromNs) {
  std::vector<std::pair<std::string, uint32_t>> clusters;
  for (const auto& target : route) {
    // A zero weight among several destinations takes no traffic (Envoy wants weights ≥ 1).
    if (target.weight == 0 && route.size() > 1) {
      continue;
    }
    const std::string host = config::resolveShortHost(target.destination.host, fromNs);
    uint32_t port = target.destination.port;
    if (port == 0) {
      // Istio: the destination's only port, else the port the connection came to.
      const auto* service = snapshot.registry().service(host);
      port =
          service != nullptr && service->ports.size() == 1 ? service->ports[0].number : servicePort;
    }
    clusters.emplace_back(outboundClusterName(port, target.destination.subset, host),
                          static_cast<uint32_t>(std::max(target.weight, 0)));
  }
  if (clusters.size() == 1) {
    return tcpProxyTo(clusters[0].first, clusters[0].first);
  }
  TcpProxy proxy;
  proxy.set_stat_prefix(clusters.empty() ? std::string(kBlackHoleCluster) : clusters[0].first);
  if (clusters.empty()) {
    proxy.set_cluster(std::string(kBlackHoleCluster));
  }
  for (const auto& [name, weight] : clusters) {
    auto* entry = proxy.mutable_weighted_clusters()->add_clusters();
    entry->set_name(name);
    entry->set_weight(weight);
  }
  return proxy;
}

namespace {

// The parts L4MatchAttributes and TlsMatchAttributes share.
bool commonMatchApplies(uint32_t matchPort, const config::Labels& sourceLabels,
                        const std::vector<std::string>& gateways, std::string_view sourceNamespace,
                        std::string_view vsNs, const ProxyContext& proxy, std::string_view gateway,
                        uint32_t port) {
  if (matchPort != 0 && matchPort != port) {
    return false;
  }
  if (!model::labelsMatch(sourceLabels, proxy.labels)) {
    return false;
  }
  if (!sourceNamespace.empty() && sourceNamespace != proxy.ns) {
    return false;
  }
  if (gateways.empty()) {
    return true;
  }
  return std::any_of(gateways.begin(), gateways.end(), [&](const std::string& name) {
    const std::string full = name == "mesh" || name.find('/') != std::string::npos
                                 ? name
                                 : fmt::format("{}/{}", vsNs, name);
    return full == gateway;
  });
}

} // namespace

bool l4MatchApplies(const config::L4MatchAttributes& match, std::string_view vsNs,
                    const ProxyContext& proxy, std::string_view gateway, uint32_t port) {
  return commonMatchApplies(match.port, match.sourceLabels, match.gateways, match.sourceNamespace,
                            vsNs, proxy, gateway, port);
}

bool tlsMatchApplies(const config::TlsMatchAttributes& match, std::string_view vsNs,
                     const ProxyContext& proxy, std::string_view gateway, uint32_t port) {
  return commonMatchApplies(match.port, match.sourceLabels, match.gateways, match.sourceNamespace,
                            vsNs, proxy, gateway, port);
}

bool virtualServiceCovers(const config::VirtualService& vs, std::string_view vsNs,
                          std::string_view hostname) {
  return std::any_of(vs.hosts.begin(), vs.hosts.end(), [&](const std::string& host) {
    return config::hostCovers(config::resolveShortHost(host, vsNs), hostname);
  });
}

} // namespace meshd::control::translate
