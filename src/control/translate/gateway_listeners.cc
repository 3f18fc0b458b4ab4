// A gateway's listeners (listener_parts.h): one bound listener "0.0.0.0_<port>" per server port
// of the Gateways that select the proxy ("<bind>_<port>" for servers with a bind IP). Plaintext
// HTTP servers share the route configuration "http.<port>"; HTTPS servers terminate TLS
// (DownstreamTlsContext) in a chain per server chosen by SNI, with routes
// "https.<port>.<portName>.<gateway>.<ns>"; TLS PASSTHROUGH servers pick tcp_proxy chains by SNI
// from the bound VirtualServices' tls routes; TCP servers follow their tcp routes.
#include <algorithm>
#include <map>

#include "control/config/common.h"
#include "control/config/host_names.h"
#include "control/translate/listener_parts.h"
#include "control/translate/names.h"
#include "envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector.pb.h"
#include "fmt/format.h"

namespace meshd::control::translate {
namespace {

using config::GatewayServer;
using config::Protocol;
using config::ServerTlsSettings;

struct BoundServer {
  const model::Entry<config::Gateway>* gateway;
  const GatewayServer* server;
  std::string gatewayName() const { return gateway->key.ns + "/" + gateway->key.name; }
};

// Whether a server host ("ns/host", "./host", "*/host" or "host") admits a VirtualService host
// from namespace `vsNs`, for a Gateway in `gatewayNs`.
bool serverHostAdmits(const std::string& serverHost, std::string_view gatewayNs,
                      std::string_view vsNs, std::string_view vsHost) {
  const auto [ns, host] = config::splitNamespacedHost(serverHost);
  const bool nsOk = ns.empty() || ns == "*" || (ns == "." && vsNs == gatewayNs) || ns == vsNs;
  return nsOk && config::hostsOverlap(host, config::resolveShortHost(vsHost, vsNs));
}

bool serverAdmits(const BoundServer& bound, std::string_view vsNs, std::string_view vsHost) {
  return std::any_of(bound.server->hosts.begin(), bound.server->hosts.end(),
                     [&](const std::string& host) {
                       return serverHostAdmits(host, bound.gateway->key.ns, vsNs, vsHost);
                     });
}

// The SNI names of an HTTPS server (none when it serves any host).
std::vector<std::string> serverNames(const GatewayServer& server) {
  std::vector<std::string> names;
  for (const auto& host : server.hosts) {
    const std::string name = config::splitNamespacedHost(host).second;
    if (name == "*") {
      return {};
    }
    names.push_back(name);
  }
  return names;
}

void setTransportSocket(FilterChain& chain, const ServerTlsSettings& tls, bool http) {
  auto* socket = chain.mutable_transport_socket();
  socket->set_name("envoy.transport_sockets.tls");
  socket->mutable_typed_config()->PackFrom(downstreamTlsContext(tls, http));
}

void matchSni(FilterChain& chain, uint32_t port, const std::vector<std::string>& names) {
  auto* match = chain.mutable_filter_chain_match();
  match->mutable_destination_port()->set_value(port);
  for (const auto& name : names) {
    match->add_server_names(name);
  }
  if (!names.empty()) {
    match->set_transport_protocol("tls");
  }
}

bool terminatesTls(const ServerTlsSettings& tls) {
  return tls.mode != ServerTlsSettings::Mode::kPassthrough &&
         tls.mode != ServerTlsSettings::Mode::kAutoPassthrough;
}

// The first tcp route of a bound VirtualService that applies to the server's port.
std::optional<TcpProxy> tcpRouteFor(const model::MeshSnapshot& snapshot, const ProxyContext& proxy,
                                    const BoundServer& bound) {
  const uint32_t port = bound.server->port.number;
  for (const auto* vs : snapshot.virtualServicesFor(bound.gatewayName(), proxy.ns)) {
    if (!std::any_of(vs->spec.hosts.begin(), vs->spec.hosts.end(), [&](const std::string& host) {
          return serverAdmits(bound, vs->key.ns, host);
        })) {
      continue;
    }
    for (const auto& route : vs->spec.tcp) {
      const bool applies =
          route.match.empty() ||
          std::any_of(route.match.begin(), route.match.end(), [&](const auto& match) {
            return l4MatchApplies(match, vs->key.ns, proxy, bound.gatewayName(), port);
          });
      if (applies) {
        return tcpProxyToRoute(snapshot, route.route, port, vs->key.ns);
      }
    }
  }
  return std::nullopt;
}

// PASSTHROUGH: one chain per applicable tls route match, chosen by its sniHosts.
void addPassthroughChains(const model::MeshSnapshot& snapshot, const ProxyContext& proxy,
                          const BoundServer& bound, std::vector<FilterChain>& chains) {
  const uint32_t port = bound.server->port.number;
  for (const auto* vs : snapshot.virtualServicesFor(bound.gatewayName(), proxy.ns)) {
    for (const auto& route : vs->spec.tls) {
      for (const auto& match : route.match) {
        const bool admitted =
            std::any_of(match.sniHosts.begin(), match.sniHosts.end(), [&](const std::string& sni) {
              return serverAdmits(bound, vs->key.ns, sni);
            });
        if (!admitted || match.sniHosts.empty() ||
            !tlsMatchApplies(match, vs->key.ns, proxy, bound.gatewayName(), port)) {
          continue;
        }
        FilterChain chain = tcpChain(fmt::format("{}_{}", match.sniHosts.at(0), port),
                                     tcpProxyToRoute(snapshot, route.route, port, vs->key.ns));
        matchSni(chain, port, match.sniHosts);
        chains.push_back(std::move(chain));
      }
    }
  }
}

bool isHttp(Protocol protocol) {
  return protocol == Protocol::kHttp || protocol == Protocol::kHttp2 ||
         protocol == Protocol::kGrpc || protocol == Protocol::kGrpcWeb;
}

HttpConnectionManager gatewayConnectionManager(uint32_t port, std::string_view routeName) {
  HttpConnectionManager manager =
      rdsConnectionManager(fmt::format("outbound_0.0.0.0_{}", port), routeName);
  manager.mutable_use_remote_address()->set_value(true); // the gateway is the edge
  return manager;
}

// The chains of one server; `plainHttp` tells whether the port's shared HTTP chain exists.
void addServerChains(const model::MeshSnapshot& snapshot, const ProxyContext& proxy,
                     const BoundServer& bound, bool& plainHttp, std::vector<FilterChain>& chains) {
  const GatewayServer& server = *bound.server;
  const uint32_t port = server.port.number;
  const Protocol protocol = server.port.protocol;
  const bool terminated = server.tls && terminatesTls(*server.tls);
  if (isHttp(protocol) && !terminated) {
    if (!plainHttp) {
      plainHttp = true;
      FilterChain chain = httpChain(wildcardListenerName(port),
                                    gatewayConnectionManager(port, gatewayRouteName(port)));
      matchSni(chain, port, {});
      chains.push_back(std::move(chain));
    }
  } else if ((protocol == Protocol::kHttps || isHttp(protocol)) && terminated) {
    const std::string route = gatewayHttpsRouteName(port, server.port.name, bound.gateway->key.name,
                                                    bound.gateway->key.ns);
    FilterChain chain = httpChain(route, gatewayConnectionManager(port, route));
    matchSni(chain, port, serverNames(server));
    setTransportSocket(chain, *server.tls, true);
    chains.push_back(std::move(chain));
  } else if (server.tls && server.tls->mode == ServerTlsSettings::Mode::kPassthrough) {
    addPassthroughChains(snapshot, proxy, bound, chains);
  } else if (portKindOf(protocol) == PortKind::kTcp || (protocol == Protocol::kTls && terminated)) {
    if (auto target = tcpRouteFor(snapshot, proxy, bound)) {
      FilterChain chain = tcpChain(fmt::format("{}_{}", server.port.name, port), *target);
      matchSni(chain, port, terminated ? serverNames(server) : std::vector<std::string>{});
      if (terminated) {
        setTransportSocket(chain, *server.tls, false);
      }
      chains.push_back(std::move(chain));
    }
  }
  // AUTO_PASSTHROUGH (multi-network SNI routing) is not generated (docs/translation.md).
}

} // namespace

std::vector<Listener> gatewayListeners(const model::MeshSnapshot& snapshot,
                                       const ProxyContext& proxy) {
  // By (address, port): a server's `bind` IP makes its own listener "<ip>_<port>".
  std::map<std::pair<std::string, uint32_t>, std::vector<BoundServer>> byAddress;
  for (const auto* gateway : snapshot.gatewaysFor(proxy.labels)) {
    for (const auto& server : gateway->spec.servers) {
      const bool ip = config::isIpAddress(server.bind);
      byAddress[{ip ? server.bind : proxy.bindAddress(), server.port.number}].push_back(
          {gateway, &server});
    }
  }
  std::vector<Listener> out;
  for (const auto& [address, servers] : byAddress) {
    const auto& [ip, port] = address;
    std::vector<FilterChain> chains;
    bool plainHttp = false;
    for (const auto& bound : servers) {
      addServerChains(snapshot, proxy, bound, plainHttp, chains);
    }
    if (chains.empty()) {
      continue; // nothing routable on this port (e.g. a TCP server without a tcp route)
    }
    Listener listener;
    listener.set_name(fmt::format("{}_{}", ip, port));
    *listener.mutable_address() = socketAddress(ip, port);
    listener.set_traffic_direction(envoy::config::core::v3::OUTBOUND);
    const bool sni = std::any_of(chains.begin(), chains.end(), [](const FilterChain& chain) {
      return !chain.filter_chain_match().server_names().empty() || chain.has_transport_socket();
    });
    if (sni) {
      addListenerFilter(listener, "envoy.filters.listener.tls_inspector",
                        envoy::extensions::filters::listener::tls_inspector::v3::TlsInspector());
    }
    for (auto& chain : chains) {
      *listener.add_filter_chains() = std::move(chain);
    }
    out.push_back(std::move(listener));
  }
  return out;
}

} // namespace meshd::control::translate
