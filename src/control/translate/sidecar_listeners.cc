// A sidecar's listeners (listener_parts.h): virtualOutbound with one filter chain per outbound
// port (Istio's per-port listeners, as chains because mesh-proxy does not hand connections from
// one listener to another), virtualInbound with one chain per port of the proxy's own workload,
// and the explicit-proxy listener for applications that use the sidecar as their HTTP proxy.
#include <algorithm>
#include <map>
#include <set>

#include "control/config/host_names.h"
#include "control/translate/listener_parts.h"
#include "control/translate/names.h"
#include "envoy/extensions/filters/listener/http_inspector/v3/http_inspector.pb.h"
#include "envoy/extensions/filters/listener/original_dst/v3/original_dst.pb.h"
#include "envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector.pb.h"
#include "fmt/format.h"

namespace meshd::control::translate {
namespace {

using registry::Service;
using registry::ServicePort;

// What http_inspector reports for plaintext HTTP (a sniffed port's HTTP chain matches these).
const std::vector<std::string> kSniffedHttpProtocols = {"http/1.0", "http/1.1", "h2c"};

// One port of one service the sidecar sends traffic to.
struct OutboundPort {
  const Service* service;
  ServicePort port;
};

// Whether a Sidecar egress host ("namespace/dnsName") selects `service` for a proxy in `ns`.
bool egressHostSelects(const std::string& host, const Service& service, std::string_view ns) {
  const auto [hostNs, dnsName] = config::splitNamespacedHost(host);
  if (hostNs == "~") {
    return false;
  }
  const bool nsOk = hostNs.empty() || hostNs == "*" || (hostNs == "." && service.ns == ns) ||
                    hostNs == service.ns;
  return nsOk && config::hostCovers(dnsName, service.hostname);
}

const std::vector<config::SidecarEgressListener> kNoEgress;

// Every visible service port, narrowed by the Sidecar's egress listeners when there is one.
std::vector<OutboundPort> outboundPorts(const model::MeshSnapshot& snapshot,
                                        const ProxyContext& proxy,
                                        const model::Entry<config::Sidecar>* sidecar) {
  std::vector<OutboundPort> out;
  for (const Service* service : snapshot.registry().servicesVisibleFrom(proxy.ns)) {
    for (const ServicePort& port : service->ports) {
      bool selected = sidecar == nullptr;
      for (const auto& egress : sidecar != nullptr ? sidecar->spec.egress : kNoEgress) {
        const bool portOk = !egress.port || egress.port->number == port.number;
        selected =
            selected || (portOk && std::any_of(egress.hosts.begin(), egress.hosts.end(),
                                               [&](const std::string& host) {
                                                 return egressHostSelects(host, *service, proxy.ns);
                                               }));
      }
      if (selected && portKindOf(port.protocol) != PortKind::kNone) {
        out.push_back({service, port});
      }
    }
  }
  return out;
}

FilterChain withMatch(FilterChain chain, uint32_t port, const std::vector<std::string>& cidrs,
                      const std::vector<std::string>& serverNames = {},
                      const std::vector<std::string>& applicationProtocols = {}) {
  auto* match = chain.mutable_filter_chain_match();
  match->mutable_destination_port()->set_value(port);
  for (const auto& cidr : cidrs) {
    *match->add_prefix_ranges() = cidrRange(cidr);
  }
  for (const auto& name : serverNames) {
    match->add_server_names(name);
  }
  if (!serverNames.empty()) {
    match->set_transport_protocol("tls");
  }
  for (const auto& protocol : applicationProtocols) {
    match->add_application_protocols(protocol);
  }
  return chain;
}

// The chains of a TCP service port: the mesh VirtualServices' tcp routes for the host (first
// applicable rule wins; rules matching destinationSubnets get their own chains), else the
// service's own cluster.
void addTcpChains(const model::MeshSnapshot& snapshot, const ProxyContext& proxy,
                  const OutboundPort& target, std::vector<FilterChain>& chains) {
  const uint32_t port = target.port.number;
  const auto& vips = target.service->addresses;
  const std::string name = fmt::format("{}_{}", vips.empty() ? "0.0.0.0" : vips.front(), port);
  for (const auto* vs : snapshot.virtualServicesFor("mesh", proxy.ns)) {
    if (!virtualServiceCovers(vs->spec, vs->key.ns, target.service->hostname)) {
      continue;
    }
    for (const auto& route : vs->spec.tcp) {
      const config::L4MatchAttributes* applied = nullptr;
      static const config::L4MatchAttributes kAny;
      for (const auto& match : route.match) {
        if (l4MatchApplies(match, vs->key.ns, proxy, "mesh", port)) {
          applied = &match;
          break;
        }
      }
      if (route.match.empty()) {
        applied = &kAny;
      }
      if (applied == nullptr) {
        continue;
      }
      const TcpProxy proxyConfig = tcpProxyToRoute(snapshot, route.route, port, vs->key.ns);
      if (!applied->destinationSubnets.empty()) {
        chains.push_back(withMatch(
            tcpChain(fmt::format("{}_{}", applied->destinationSubnets[0], port), proxyConfig), port,
            applied->destinationSubnets));
        continue;
      }
      chains.push_back(withMatch(tcpChain(name, proxyConfig), port, vips));
      return;
    }
  }
  const std::string cluster = outboundClusterName(port, "", target.service->hostname);
  chains.push_back(withMatch(tcpChain(name, tcpProxyTo(cluster, cluster)), port, vips));
}

// The chains of a TLS (or HTTPS) service port, chosen by SNI: the tls routes' sniHosts, then the
// service's own host name.
void addTlsChains(const model::MeshSnapshot& snapshot, const ProxyContext& proxy,
                  const OutboundPort& target, std::vector<FilterChain>& chains) {
  const uint32_t port = target.port.number;
  const auto& vips = target.service->addresses;
  for (const auto* vs : snapshot.virtualServicesFor("mesh", proxy.ns)) {
    if (!virtualServiceCovers(vs->spec, vs->key.ns, target.service->hostname)) {
      continue;
    }
    for (const auto& route : vs->spec.tls) {
      for (const auto& match : route.match) {
        if (match.sniHosts.empty() || !tlsMatchApplies(match, vs->key.ns, proxy, "mesh", port)) {
          continue;
        }
        const auto& cidrs = match.destinationSubnets.empty() ? vips : match.destinationSubnets;
        chains.push_back(
            withMatch(tcpChain(fmt::format("{}_{}", match.sniHosts.at(0), port),
                               tcpProxyToRoute(snapshot, route.route, port, vs->key.ns)),
                      port, cidrs, match.sniHosts));
      }
    }
  }
  const std::string cluster = outboundClusterName(port, "", target.service->hostname);
  chains.push_back(withMatch(
      tcpChain(fmt::format("{}_{}", target.service->hostname, port), tcpProxyTo(cluster, cluster)),
      port, vips, {target.service->hostname}));
}

// Envoy wants unique chain names; the second of a name gets "#2", and so on.
void uniqueNames(std::vector<FilterChain>& chains) {
  std::map<std::string, int> seen;
  for (auto& chain : chains) {
    const int count = ++seen[chain.name()];
    if (count > 1) {
      chain.set_name(fmt::format("{}#{}", chain.name(), count));
    }
  }
}

FilterChain outboundHttpChain(uint32_t port, const std::vector<std::string>& cidrs,
                              const std::vector<std::string>& protocols, std::string name) {
  return withMatch(
      httpChain(std::move(name), rdsConnectionManager(fmt::format("outbound_0.0.0.0_{}", port),
                                                      outboundRouteName(port))),
      port, cidrs, {}, protocols);
}

// The chains of one outbound port, from the services that have it.
void addPortChains(const model::MeshSnapshot& snapshot, const ProxyContext& proxy, uint32_t port,
                   const std::vector<OutboundPort>& targets, std::vector<FilterChain>& chains) {
  const bool http = std::any_of(targets.begin(), targets.end(), [](const OutboundPort& t) {
    return portKindOf(t.port.protocol) == PortKind::kHttp;
  });
  const bool sniffed = std::any_of(targets.begin(), targets.end(), [](const OutboundPort& t) {
    return portKindOf(t.port.protocol) == PortKind::kSniffed;
  });
  bool portWideTcp = false; // a VIP-less TCP service already owns the port
  for (const auto& target : targets) {
    const PortKind kind = portKindOf(target.port.protocol);
    const auto& vips = target.service->addresses;
    if (kind == PortKind::kTls) {
      addTlsChains(snapshot, proxy, target, chains);
    } else if (kind == PortKind::kTcp && (!vips.empty() || (!http && !sniffed && !portWideTcp))) {
      portWideTcp = portWideTcp || vips.empty();
      addTcpChains(snapshot, proxy, target, chains);
    } else if (kind == PortKind::kSniffed && !vips.empty()) {
      // The VIP's chain wins over the port's (destination IP is matched before protocols), so
      // the VIP needs its own HTTP chain besides its TCP fallback.
      chains.push_back(outboundHttpChain(port, vips, kSniffedHttpProtocols,
                                         fmt::format("{}_{}-http", vips.front(), port)));
      addTcpChains(snapshot, proxy, target, chains);
    } else if (kind == PortKind::kSniffed && !http && !portWideTcp) {
      portWideTcp = true;
      std::vector<FilterChain> tcp;
      addTcpChains(snapshot, proxy, target, tcp);
      for (auto& chain : tcp) {
        chain.set_name(chain.name() + "-tcp");
        chains.push_back(std::move(chain));
      }
    }
  }
  if (http || sniffed) {
    chains.push_back(outboundHttpChain(port, {},
                                       http ? std::vector<std::string>{} : kSniffedHttpProtocols,
                                       wildcardListenerName(port)));
  }
}

bool anyPortOfKind(const std::vector<OutboundPort>& ports, PortKind kind) {
  return std::any_of(ports.begin(), ports.end(),
                     [&](const OutboundPort& t) { return portKindOf(t.port.protocol) == kind; });
}

// Inspectors only where a chain needs what they find: they wait for the client's first bytes,
// which server-first protocols (MySQL) never send, hence the timeout that continues.
void addInspectors(Listener& listener, bool tls, bool http) {
  if (tls) {
    addListenerFilter(listener, "envoy.filters.listener.tls_inspector",
                      envoy::extensions::filters::listener::tls_inspector::v3::TlsInspector());
  }
  if (http) {
    addListenerFilter(listener, "envoy.filters.listener.http_inspector",
                      envoy::extensions::filters::listener::http_inspector::v3::HttpInspector());
  }
  if (tls || http) {
    listener.mutable_listener_filters_timeout()->set_nanos(100'000'000);
    listener.set_continue_on_listener_filters_timeout(true);
  }
}

} // namespace

Listener sidecarOutboundListener(const model::MeshSnapshot& snapshot, const ProxyContext& proxy) {
  const auto* sidecar = snapshot.sidecarFor(proxy.ns, proxy.labels);
  const std::vector<OutboundPort> ports = outboundPorts(snapshot, proxy, sidecar);
  std::map<uint32_t, std::vector<OutboundPort>> byPort;
  for (const auto& port : ports) {
    byPort[port.port.number].push_back(port);
  }
  Listener listener;
  listener.set_name(std::string(kVirtualOutboundListener));
  *listener.mutable_address() = socketAddress("0.0.0.0", snapshot.mesh().outboundListenerPort);
  listener.mutable_use_original_dst()->set_value(true);
  listener.set_traffic_direction(envoy::config::core::v3::OUTBOUND);
  addInspectors(listener, anyPortOfKind(ports, PortKind::kTls),
                anyPortOfKind(ports, PortKind::kSniffed));
  std::vector<FilterChain> chains;
  for (const auto& [port, targets] : byPort) {
    addPortChains(snapshot, proxy, port, targets, chains);
  }
  uniqueNames(chains);
  for (auto& chain : chains) {
    *listener.add_filter_chains() = std::move(chain);
  }
  bool registryOnly = snapshot.mesh().outboundTrafficPolicy ==
                      model::MeshConfig::OutboundTrafficPolicy::kRegistryOnly;
  if (sidecar != nullptr && sidecar->spec.outboundMode) {
    registryOnly = *sidecar->spec.outboundMode == config::Sidecar::OutboundMode::kRegistryOnly;
  }
  const std::string_view fallback = registryOnly ? kBlackHoleCluster : kPassthroughCluster;
  *listener.mutable_default_filter_chain() =
      tcpChain("PassthroughFilterChain", tcpProxyTo(fallback, fallback));
  return listener;
}

namespace {

// The proxy's own instance: by pod name, else by address, else the first of its workload.
const registry::WorkloadInstance* ownInstance(const model::MeshSnapshot& snapshot,
                                              const ProxyContext& proxy) {
  const registry::WorkloadInstance* byIp = nullptr;
  const registry::WorkloadInstance* byWorkload = nullptr;
  for (const auto& [id, instance] : snapshot.registry().instances()) {
    if (instance.ns != proxy.ns) {
      continue;
    }
    if (!proxy.podName.empty() && instance.name == proxy.podName) {
      return &instance;
    }
    if (byIp == nullptr &&
        std::find(proxy.ips.begin(), proxy.ips.end(), instance.address) != proxy.ips.end()) {
      byIp = &instance;
    }
    if (byWorkload == nullptr && !proxy.workloadName.empty() &&
        instance.name.starts_with(proxy.workloadName + "-")) {
      byWorkload = &instance;
    }
  }
  return byIp != nullptr ? byIp : byWorkload;
}

// The inbound ports: the workload's port behind each service port (targetPort, a named port,
// or the service port), with the protocol of the first service (by host name) that has it; or
// the Sidecar's ingress listeners when it declares them.
std::map<uint32_t, config::Protocol> inboundPorts(const model::MeshSnapshot& snapshot,
                                                  const ProxyContext& proxy) {
  std::map<uint32_t, config::Protocol> out;
  if (const auto* sidecar = snapshot.sidecarFor(proxy.ns, proxy.labels);
      sidecar != nullptr && !sidecar->spec.ingress.empty()) {
    for (const auto& ingress : sidecar->spec.ingress) {
      out.emplace(ingress.port.number, ingress.port.protocol);
    }
    return out;
  }
  const auto* instance = ownInstance(snapshot, proxy);
  if (instance == nullptr) {
    return out;
  }
  for (const Service* service : snapshot.registry().servicesOf(*instance)) {
    for (const ServicePort& port : service->ports) {
      uint32_t target = port.targetPort != 0 ? port.targetPort : port.number;
      if (!port.targetPortName.empty()) {
        const auto named = instance->namedPorts.find(port.targetPortName);
        if (named == instance->namedPorts.end()) {
          continue; // the instance does not have that port: not an endpoint of it
        }
        target = named->second;
      }
      out.emplace(target, port.protocol);
    }
  }
  return out;
}

// The chains of one inbound port: HTTP to a connection manager, TCP to tcp_proxy, both when
// the protocol is sniffed; each to `inbound|<port>||`.
void addInboundChains(Listener& listener, uint32_t port, config::Protocol protocol) {
  const PortKind kind = portKindOf(protocol);
  const std::string name = wildcardListenerName(port);
  const std::string cluster = inboundClusterName(port);
  if (kind == PortKind::kHttp || kind == PortKind::kSniffed) {
    *listener.add_filter_chains() =
        withMatch(httpChain(name, inboundConnectionManager(port)), port, {}, {},
                  kind == PortKind::kSniffed ? kSniffedHttpProtocols : std::vector<std::string>{});
  }
  if (kind != PortKind::kHttp && kind != PortKind::kNone) {
    *listener.add_filter_chains() = withMatch(
        tcpChain(kind == PortKind::kSniffed ? name + "-tcp" : name, tcpProxyTo(cluster, cluster)),
        port, {});
  }
}

} // namespace

std::vector<Listener> sidecarInboundPortListeners(const model::MeshSnapshot& snapshot,
                                                  const ProxyContext& proxy) {
  std::vector<Listener> out;
  const std::string address = proxy.bindAddress();
  for (const auto& [port, protocol] : inboundPorts(snapshot, proxy)) {
    Listener listener;
    listener.set_name(fmt::format("{}_{}", address, port));
    *listener.mutable_address() = socketAddress(address, port);
    listener.set_traffic_direction(envoy::config::core::v3::INBOUND);
    addInspectors(listener, false, portKindOf(protocol) == PortKind::kSniffed);
    addInboundChains(listener, port, protocol);
    out.push_back(std::move(listener));
  }
  return out;
}

Listener sidecarInboundListener(const model::MeshSnapshot& snapshot, const ProxyContext& proxy) {
  Listener listener;
  listener.set_name(std::string(kVirtualInboundListener));
  *listener.mutable_address() = socketAddress("0.0.0.0", snapshot.mesh().inboundListenerPort);
  listener.set_traffic_direction(envoy::config::core::v3::INBOUND);
  addListenerFilter(listener, "envoy.filters.listener.original_dst",
                    envoy::extensions::filters::listener::original_dst::v3::OriginalDst());
  const auto ports = inboundPorts(snapshot, proxy);
  const bool sniffed = std::any_of(ports.begin(), ports.end(), [](const auto& entry) {
    return portKindOf(entry.second) == PortKind::kSniffed;
  });
  addInspectors(listener, false, sniffed);
  for (const auto& [port, protocol] : ports) {
    addInboundChains(listener, port, protocol);
  }
  *listener.mutable_default_filter_chain() =
      tcpChain(std::string(kVirtualInboundListener),
               tcpProxyTo(kInboundPassthroughCluster, kInboundPassthroughCluster));
  return listener;
}

Listener explicitProxyListener(const ProxyContext& proxy) {
  Listener listener;
  listener.set_name(std::string(kExplicitProxyListener));
  *listener.mutable_address() =
      socketAddress(proxy.captured ? "127.0.0.1" : proxy.bindAddress(), proxy.explicitProxyPort);
  listener.set_traffic_direction(envoy::config::core::v3::OUTBOUND);
  *listener.add_filter_chains() =
      httpChain(std::string(kExplicitProxyListener),
                rdsConnectionManager("explicit_proxy", kExplicitProxyRouteName));
  return listener;
}

} // namespace meshd::control::translate
