// The listener generator's parts (docs/translation.md, "Listeners"): builders of the Envoy
// messages every listener kind uses (connection managers, tcp_proxy, filter chains, listener
// filters, downstream TLS), the resolution of VirtualService tcp/tls routes to clusters, and one
// function per listener kind (sidecar_listeners.cc, gateway_listeners.cc). buildListeners
// (listener_generator.cc) picks the kinds for a proxy.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "control/config/networking/gateway.h"
#include "control/config/networking/virtual_service.h"
#include "control/model/mesh_snapshot.h"
#include "control/translate/proxy_context.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/config/route/v3/route.pb.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.pb.h"
#include "envoy/extensions/transport_sockets/tls/v3/tls.pb.h"

namespace meshd::control::translate {

using envoy::config::listener::v3::FilterChain;
using envoy::config::listener::v3::Listener;
using envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager;
using envoy::extensions::filters::network::tcp_proxy::v3::TcpProxy;

inline constexpr std::string_view kHttpConnectionManagerFilter =
    "envoy.filters.network.http_connection_manager";
inline constexpr std::string_view kTcpProxyFilter = "envoy.filters.network.tcp_proxy";

// How a port's traffic is handled, from its Istio protocol.
enum class PortKind {
  kHttp,    // HTTP, HTTP2, GRPC, GRPC-Web: a connection manager
  kSniffed, // unspecified: http_inspector decides between HTTP and TCP
  kTcp,     // TCP, Mongo, MySQL, Redis: tcp_proxy
  kTls,     // HTTPS, TLS: tcp_proxy chosen by SNI
  kNone,    // UDP: no listener
};
PortKind portKindOf(config::Protocol protocol);
// Whether a proxyless gRPC client can call a port of this protocol.
bool grpcCapable(config::Protocol protocol);

// --- message builders ---------------------------------------------------------------------
envoy::config::core::v3::Address socketAddress(std::string_view ip, uint32_t port);
// "10.0.0.5" → 10.0.0.5/32, "10.0.0.0/8" → 10.0.0.0/8 (IPv6: /128).
envoy::config::core::v3::CidrRange cidrRange(std::string_view cidr);
// A connection manager whose routes come over RDS (ADS) as `routeName`, with the fault filter
// (empty, so that routes' typed_per_filter_config apply) and the router.
HttpConnectionManager rdsConnectionManager(std::string_view statPrefix, std::string_view routeName);
// The connection manager of a sidecar's inbound port: an inline route configuration
// "inbound|PORT||" sending everything to the cluster "inbound|PORT||".
HttpConnectionManager inboundConnectionManager(uint32_t port);
// tcp_proxy to one cluster.
TcpProxy tcpProxyTo(std::string_view statPrefix, std::string_view cluster);
// A chain whose only filter is `manager` / `proxy`.
FilterChain httpChain(std::string name, const HttpConnectionManager& manager);
FilterChain tcpChain(std::string name, const TcpProxy& proxy);
void addListenerFilter(Listener& listener, std::string_view name,
                       const google::protobuf::Message& config);
// Sorted by name (Envoy's listeners are keyed by name; determinism for xDS versions).
void sortByName(std::vector<Listener>& listeners);

// --- VirtualService tcp/tls routes ---------------------------------------------------------
// Where a tcp/tls route sends connections: a cluster or weighted clusters, as tcp_proxy.
// `servicePort` fills in a destination without a port. `fromNs` resolves short hosts.
// The stat prefix is the (first) cluster's name, as Istio's.
TcpProxy tcpProxyToRoute(const model::MeshSnapshot& snapshot,
                         const std::vector<config::RouteDestination>& route, uint32_t servicePort,
                         std::string_view fromNs);
// Whether an L4/TLS match condition of a VirtualService in `vsNs` applies to `proxy` for
// `gateway` ("mesh" or "ns/name") on `port` (0 in the match: any port).
bool l4MatchApplies(const config::L4MatchAttributes& match, std::string_view vsNs,
                    const ProxyContext& proxy, std::string_view gateway, uint32_t port);
bool tlsMatchApplies(const config::TlsMatchAttributes& match, std::string_view vsNs,
                     const ProxyContext& proxy, std::string_view gateway, uint32_t port);
// Whether a VirtualService (in `vsNs`, with `hosts`) is about `hostname`.
bool virtualServiceCovers(const config::VirtualService& vs, std::string_view vsNs,
                          std::string_view hostname);

// --- downstream TLS -----------------------------------------------------------------------
// The DownstreamTlsContext of a Gateway server's SIMPLE/MUTUAL/ISTIO_MUTUAL/OPTIONAL_MUTUAL
// settings: certificate files, or SDS secrets over ADS named "kubernetes://<credentialName>"
// (and "<credentialName>-cacert" for client validation), protocol versions, cipher suites.
envoy::extensions::transport_sockets::tls::v3::DownstreamTlsContext
downstreamTlsContext(const config::ServerTlsSettings& tls, bool http);

// --- listener kinds -------------------------------------------------------------------------
// Sidecars: virtualOutbound, virtualInbound and, with an explicit proxy port, explicitProxy.
Listener sidecarOutboundListener(const model::MeshSnapshot& snapshot, const ProxyContext& proxy);
Listener sidecarInboundListener(const model::MeshSnapshot& snapshot, const ProxyContext& proxy);
Listener explicitProxyListener(const ProxyContext& proxy);
// Without capture (local mode): one inbound listener per port, "<ip>_<port>" on the proxy's own
// address, with the chains virtualInbound would have for that port.
std::vector<Listener> sidecarInboundPortListeners(const model::MeshSnapshot& snapshot,
                                                  const ProxyContext& proxy);
// Gateways: one listener per server port of the Gateways that select the proxy.
std::vector<Listener> gatewayListeners(const model::MeshSnapshot& snapshot,
                                       const ProxyContext& proxy);
// Proxyless gRPC: one API listener per gRPC-capable port of every visible service.
std::vector<Listener> proxylessGrpcListeners(const model::MeshSnapshot& snapshot,
                                             const ProxyContext& proxy);

} // namespace meshd::control::translate
