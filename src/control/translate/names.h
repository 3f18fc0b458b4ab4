// Istio's names for generated resources (istio-features.md §5), so what users know from
// `istioctl proxy-config` carries over: clusters
// "outbound|9080|v1|reviews.default.svc.cluster.local" and "inbound|9080||", listeners
// "virtualOutbound", "virtualInbound", "0.0.0.0_9080", route configurations named by port ("9080")
// or, on gateways, "http.8080".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace meshd::control::translate {

inline constexpr std::string_view kBlackHoleCluster = "BlackHoleCluster";
inline constexpr std::string_view kPassthroughCluster = "PassthroughCluster";
inline constexpr std::string_view kInboundPassthroughCluster = "InboundPassthroughCluster";
inline constexpr std::string_view kVirtualOutboundListener = "virtualOutbound";
inline constexpr std::string_view kVirtualInboundListener = "virtualInbound";
// The explicit-proxy listener (applications with http_proxy=127.0.0.1:PORT) and its routes: every
// HTTP service, domains "host:port" (docs/translation.md, "Listeners").
inline constexpr std::string_view kExplicitProxyListener = "explicitProxy";
inline constexpr std::string_view kExplicitProxyRouteName = "explicit_proxy";

std::string outboundClusterName(uint32_t port, std::string_view subset, std::string_view host);
std::string inboundClusterName(uint32_t port);
// Sidecar outbound HTTP routes per port: "9080". Gateway servers: "http.8080".
std::string outboundRouteName(uint32_t port);
std::string gatewayRouteName(uint32_t port);
// A Gateway's HTTPS server (TLS terminated, one route configuration per server):
// "https.443.https.mygateway.istio-system".
std::string gatewayHttpsRouteName(uint32_t port, std::string_view portName,
                                  std::string_view gateway, std::string_view ns);
// Proxyless gRPC listeners and their route configurations:
// "reviews.default.svc.cluster.local:9080".
std::string grpcListenerName(std::string_view host, uint32_t port);
// "0.0.0.0_9080" (per-port outbound filter chains and gateway listeners).
std::string wildcardListenerName(uint32_t port);

} // namespace meshd::control::translate
