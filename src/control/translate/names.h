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

std::string outboundClusterName(uint32_t port, std::string_view subset, std::string_view host);
std::string inboundClusterName(uint32_t port);
// Sidecar outbound HTTP routes per port: "9080". Gateway servers: "http.8080".
std::string outboundRouteName(uint32_t port);
std::string gatewayRouteName(uint32_t port);
// "0.0.0.0_9080" (per-port outbound filter chains and gateway listeners).
std::string wildcardListenerName(uint32_t port);

} // namespace meshd::control::translate
