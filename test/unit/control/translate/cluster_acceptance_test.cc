// Whether mesh-proxy accepts what the cluster and endpoint generators produce: each generated
// cluster and assignment goes through mesh-proxy's own checks (checkSupportedFields, then
// buildCluster / buildHosts). Clusters that use a feature mesh-proxy lacks (the list in
// docs/translation.md) are left out, and the test checks they are rejected for that reason, so
// the list stays true as mesh-proxy grows.
#include "cluster_fixture.h"
#include "envoy/extensions/upstreams/http/v3/http_protocol_options.pb.h"
#include "proxy/config/cluster_config.h"
#include "proxy/config/supported_fields.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace meshd::control::translate {
namespace {

using namespace testing; // NOLINT: the fixture's helpers

// Why mesh-proxy cannot take `cluster` yet ("" when it should).
std::string knownUnsupported(const Cluster& cluster) {
  if (cluster.has_transport_socket() || cluster.transport_socket_matches_size() > 0) {
    return "transport_socket";
  }
  for (const auto& [name, any] : cluster.typed_extension_protocol_options()) {
    envoy::extensions::upstreams::http::v3::HttpProtocolOptions options;
    if (any.UnpackTo(&options) && options.has_upstream_http_protocol_options()) {
      return "HttpProtocolOptions";
    }
  }
  return "";
}

// DestinationRules using what mesh-proxy supports (reviews, details) and what it does not
// (ratings), and DNS and DNS_ROUND_ROBIN ServiceEntries.
std::string policies() {
  return R"(apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: bookinfo}
spec:
  host: reviews
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
  - {name: v3, labels: {version: v3}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: details, namespace: bookinfo}
spec:
  host: details
  trafficPolicy:
    loadBalancer: {consistentHash: {httpHeaderName: x-user, maglev: {tableSize: 1009}}}
    connectionPool:
      tcp: {maxConnections: 10, connectTimeout: 1s}
      http: {http1MaxPendingRequests: 5, maxRequestsPerConnection: 100, idleTimeout: 30s, maxRetries: 2}
  subsets:
  - name: v1
    labels: {version: v1}
    trafficPolicy: {loadBalancer: {simple: RANDOM}}
  - name: v2
    labels: {version: v2}
    trafficPolicy: {loadBalancer: {consistentHash: {httpHeaderName: x-user, ringHash: {minimumRingSize: 128}}}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ratings, namespace: bookinfo}
spec:
  host: ratings
  trafficPolicy:
    loadBalancer: {simple: ROUND_ROBIN, warmup: {duration: 10s}}
    outlierDetection: {consecutive5xxErrors: 3}
    tls: {mode: ISTIO_MUTUAL}
    connectionPool: {tcp: {tcpKeepalive: {time: 60s}}}
  subsets:
  - name: v1
    labels: {version: v1}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: httpbin, namespace: bookinfo}
spec:
  hosts: [httpbin.org]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: DNS
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: round-robin, namespace: bookinfo}
spec:
  hosts: [rr.example.com]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: DNS_ROUND_ROBIN
)";
}

TEST(ClusterAcceptanceTest, MeshProxyAcceptsGeneratedClustersAndAssignments) {
  model::MeshConfig mesh;
  mesh.enableAutoMtls = false; // TLS transport sockets: not in mesh-proxy yet
  const auto snapshot = bookinfoSnapshot(policies(), mesh);
  const auto clusters = buildClusters(*snapshot, sidecarOf("productpage"));
  int accepted = 0;
  std::set<std::string> excludedFor;
  for (const Cluster& cluster : clusters) {
    const absl::Status fields = proxy::config::checkSupportedFields(cluster, cluster.name());
    const std::string reason = knownUnsupported(cluster);
    if (!reason.empty()) {
      excludedFor.insert(reason);
      EXPECT_FALSE(fields.ok()) << cluster.name() << " (" << reason
                                << ") is accepted now: shorten the list";
      continue;
    }
    EXPECT_TRUE(fields.ok()) << fields;
    const auto built = proxy::config::buildCluster(cluster, cluster.name());
    EXPECT_TRUE(built.ok()) << built.status();
    ++accepted;
  }
  EXPECT_EQ(accepted, 3 + 5 + 2 + 2 + 2)
      << "services but ratings, subsets but ratings', BlackHole, inbound, the two passthrough "
         "clusters, the STRICT_DNS and LOGICAL_DNS ServiceEntries";
  EXPECT_TRUE(excludedFor.contains("transport_socket")) << "ratings: ISTIO_MUTUAL";

  const auto assignments = buildEndpoints(*snapshot, sidecarOf("productpage"), clusters);
  EXPECT_FALSE(assignments.empty());
  for (const ClusterLoadAssignment& assignment : assignments) {
    const absl::Status fields =
        proxy::config::checkSupportedFields(assignment, assignment.cluster_name());
    EXPECT_TRUE(fields.ok()) << fields;
    const auto hosts = proxy::config::buildHosts(assignment, assignment.cluster_name());
    EXPECT_TRUE(hosts.ok()) << hosts.status();
  }
}

TEST(ClusterAcceptanceTest, AutoMtlsMetadataIsTheOnlyEndpointFieldMeshProxyLacks) {
  const auto snapshot = bookinfoSnapshot(destinationRuleAll());
  const auto clusters = buildClusters(*snapshot, sidecarOf("productpage"));
  for (const ClusterLoadAssignment& assignment :
       buildEndpoints(*snapshot, sidecarOf("productpage"), clusters)) {
    ClusterLoadAssignment stripped = assignment;
    for (auto& locality : *stripped.mutable_endpoints()) {
      for (auto& endpoint : *locality.mutable_lb_endpoints()) {
        endpoint.clear_metadata();
      }
    }
    EXPECT_TRUE(proxy::config::checkSupportedFields(stripped).ok()) << assignment.cluster_name();
    EXPECT_TRUE(proxy::config::buildHosts(assignment, assignment.cluster_name()).ok());
  }
}

} // namespace
} // namespace meshd::control::translate
