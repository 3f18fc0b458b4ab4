// The xDS resource type URLs meshd serves, and the per-type rules of the protocol that depend on
// the type (which types allow wildcard subscriptions, the order pushes go out in).
#pragma once

#include <string_view>

namespace meshd::control::xds {

inline constexpr std::string_view kListenerType =
    "type.googleapis.com/envoy.config.listener.v3.Listener";
inline constexpr std::string_view kRouteConfigurationType =
    "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";
inline constexpr std::string_view kClusterType =
    "type.googleapis.com/envoy.config.cluster.v3.Cluster";
inline constexpr std::string_view kClusterLoadAssignmentType =
    "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";
inline constexpr std::string_view kSecretType =
    "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret";

// The name a client uses to subscribe to every resource of a type explicitly.
inline constexpr std::string_view kWildcardName = "*";

// Listeners and clusters may be subscribed to by wildcard, and a state-of-the-world response for
// them carries the whole subscribed set (so a missing resource means "removed"). The other types
// are asked for by name and a response carries only what changed.
inline bool isFullStateType(std::string_view type_url) {
  return type_url == kListenerType || type_url == kClusterType;
}

// Order in which pending updates of several types go out on one ADS stream: clusters before their
// endpoints, listeners before their routes ("make before break", xDS protocol docs). Lower first.
inline int pushOrder(std::string_view type_url) {
  if (type_url == kClusterType) {
    return 0;
  }
  if (type_url == kClusterLoadAssignmentType) {
    return 1;
  }
  if (type_url == kListenerType) {
    return 2;
  }
  if (type_url == kRouteConfigurationType) {
    return 3;
  }
  if (type_url == kSecretType) {
    return 4;
  }
  return 5;
}

} // namespace meshd::control::xds
