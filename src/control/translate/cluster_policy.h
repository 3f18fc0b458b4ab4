// Istio's DestinationRule TrafficPolicy applied to an Envoy cluster (pilot's
// cluster_traffic_policy.go): which policy applies to a port and subset, connection pools →
// circuit breakers, connect timeout, keepalive and upstream HTTP options; outlier detection; load
// balancing; and client TLS, including auto-mTLS (cluster_tls.cc).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "control/config/networking/traffic_policy.h"
#include "control/model/mesh_snapshot.h"
#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/extensions/transport_sockets/tls/v3/tls.pb.h"
#include "envoy/extensions/upstreams/http/v3/http_protocol_options.pb.h"

namespace meshd::control::translate {

// A cluster being built, with its upstream HTTP options kept apart until finish() packs them into
// typed_extension_protocol_options (as Istio's clusterWrapper).
struct ClusterDraft {
  envoy::config::cluster::v3::Cluster cluster;
  std::optional<envoy::extensions::upstreams::http::v3::HttpProtocolOptions> http;

  envoy::extensions::upstreams::http::v3::HttpProtocolOptions& httpOptions();
  envoy::config::cluster::v3::Cluster finish() &&;
};

// The policy for `port`: a portLevelSettings entry replaces the whole policy (nothing is
// inherited from the destination level), as Istio's GetPortLevelTrafficPolicy.
std::optional<config::TrafficPolicy>
portTrafficPolicy(const std::optional<config::TrafficPolicy>& policy, uint32_t port,
                  bool* hasPortLevel = nullptr);
// A subset's policy over the rule's, for `port` (Istio's MergeSubsetTrafficPolicy): each of
// connectionPool, outlierDetection, loadBalancer and tls set by the subset (or all four, when the
// subset has settings for the port) replaces the rule's.
std::optional<config::TrafficPolicy>
mergeSubsetPolicy(const std::optional<config::TrafficPolicy>& rule,
                  const std::optional<config::TrafficPolicy>& subset, uint32_t port);

// What applying a policy needs to know about the cluster.
struct PolicyTarget {
  bool outbound = true;
  bool sidecar = true; // a sidecar proxy (unnamed ports use the downstream protocol)
  config::Protocol protocol = config::Protocol::kUnspecified;
  // Auto-mTLS may apply (mesh enables it, the service is mesh-internal, the proxy is no
  // proxyless gRPC client).
  bool autoMtls = false;
  std::string istioSni;                     // "outbound_.9080_.v1_.reviews.default.svc..."
  std::vector<std::string> serviceAccounts; // SPIFFE identities of the service's endpoints
};

// Istio's defaults (connect timeout, circuit breakers, upstream protocol) and then `policy`.
void applyTrafficPolicy(const std::optional<config::TrafficPolicy>& policy,
                        const model::MeshConfig& mesh, const PolicyTarget& target,
                        ClusterDraft& draft);

// Client TLS (cluster_tls.cc): the UpstreamTlsContext for `tls` (nullopt for DISABLE), with
// ISTIO_MUTUAL's SNI and SANs defaulted from `target`.
std::optional<envoy::extensions::transport_sockets::tls::v3::UpstreamTlsContext>
upstreamTlsContext(const config::ClientTlsSettings& tls, const PolicyTarget& target, bool http2);
// `tls` from the policy, or auto-mTLS: transport_socket, or transport_socket_matches.
void applyClientTls(const std::optional<config::ClientTlsSettings>& tls, const PolicyTarget& target,
                    ClusterDraft& draft);

} // namespace meshd::control::translate
