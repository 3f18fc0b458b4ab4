// What the cluster and endpoint generators share: the services a proxy learns (exportTo and its
// Sidecar's egress hosts), DestinationRule subsets, and Envoy endpoint lists built from registry
// endpoints (grouped by locality, with health, weight and the auto-mTLS match metadata).
#pragma once

#include <chrono>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "control/model/mesh_snapshot.h"
#include "control/translate/proxy_context.h"
#include "envoy/config/endpoint/v3/endpoint_components.pb.h"
#include "google/protobuf/duration.pb.h"

namespace meshd::control::translate {

// The metadata key Envoy matches transport_socket_matches against, and the value Istio gives
// endpoints that accept Istio mutual TLS.
inline constexpr std::string_view kTransportSocketMatchKey = "envoy.transport_socket_match";
inline constexpr std::string_view kTlsModeKey = "tlsMode";

// The services `proxy` has outbound clusters for: those visible from its namespace (exportTo),
// narrowed for sidecars by the egress hosts of the Sidecar that scopes it. Sorted by hostname.
std::vector<const registry::Service*> outboundServices(const model::MeshSnapshot& snapshot,
                                                       const ProxyContext& proxy);

// Whether a Sidecar egress host ("ns/dnsName": ns "*", "." or a name; "~" matches nothing)
// selects `service` for a proxy in `proxyNs`.
bool egressHostSelects(std::string_view egressHost, std::string_view proxyNs,
                       const registry::Service& service);

// The DestinationRule that applies to `service` for `proxy` (null when none).
const config::DestinationRule* destinationRuleFor(const model::MeshSnapshot& snapshot,
                                                  const ProxyContext& proxy,
                                                  const registry::Service& service);
const config::Subset* findSubset(const config::DestinationRule* rule, std::string_view name);

// The SPIFFE identities of a service's endpoints and a ServiceEntry's subjectAltNames, sorted
// (the SANs an outbound cluster verifies). They follow the endpoints, so an endpoint change can
// change a cluster (endpoint_update.h).
std::vector<std::string> serviceAccounts(const model::MeshSnapshot& snapshot,
                                         const registry::Service& service);

// Envoy endpoints for `endpoints` whose labels include `subsetLabels` (all when null), one
// LocalityLbEndpoints per locality (sorted; the locality's weight is the sum of its endpoints'),
// each endpoint HEALTHY or UNHEALTHY with its weight (1 when unset). Host-name endpoints keep
// their names (STRICT_DNS). `tlsModeMetadata`: endpoints with a sidecar carry
// {envoy.transport_socket_match: {tlsMode: istio}} for auto-mTLS.
std::vector<envoy::config::endpoint::v3::LocalityLbEndpoints>
localityLbEndpoints(std::span<const registry::ServiceEndpoint> endpoints,
                    const config::Labels* subsetLabels, bool tlsModeMetadata);

google::protobuf::Duration toProtoDuration(std::chrono::nanoseconds duration);

} // namespace meshd::control::translate
