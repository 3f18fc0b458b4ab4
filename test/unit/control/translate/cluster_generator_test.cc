// Tests for the cluster generator on Bookinfo: names and Istio's defaults, subsets with merged
// policies, port-level settings, connection pools, outlier detection, load balancing, TLS and
// auto-mTLS, DNS and passthrough services, Sidecar scoping, exportTo, inbound and special
// clusters, gateways and proxyless gRPC clients.
#include "cluster_fixture.h"
#include "control/translate/names.h"
#include "envoy/extensions/transport_sockets/tls/v3/tls.pb.h"
#include "envoy/extensions/upstreams/http/v3/http_protocol_options.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace meshd::control::translate {
namespace {

using namespace testing; // NOLINT: the fixture's helpers
using envoy::extensions::transport_sockets::tls::v3::UpstreamTlsContext;
using envoy::extensions::upstreams::http::v3::HttpProtocolOptions;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::Not;

std::string name(uint32_t port, std::string_view subset, std::string_view host) {
  return outboundClusterName(port, subset, host);
}

// The cluster `clusterName` for the productpage sidecar with `yaml` added to Bookinfo.
Cluster clusterWith(const std::string& yaml, const std::string& clusterName,
                    model::MeshConfig mesh = {}) {
  const auto snapshot = bookinfoSnapshot(yaml, mesh);
  const auto clusters = buildClusters(*snapshot, sidecarOf("productpage"));
  const Cluster* found = findCluster(clusters, clusterName);
  EXPECT_NE(found, nullptr) << clusterName;
  return found == nullptr ? Cluster{} : *found;
}

std::string reviewsRule(const std::string& trafficPolicy, const std::string& subsets = "") {
  return "apiVersion: networking.istio.io/v1\nkind: DestinationRule\n"
         "metadata: {name: reviews}\nspec:\n  host: reviews\n" +
         trafficPolicy + subsets;
}

HttpProtocolOptions httpOptions(const Cluster& cluster) {
  HttpProtocolOptions out;
  const auto found = cluster.typed_extension_protocol_options().find(
      "envoy.extensions.upstreams.http.v3.HttpProtocolOptions");
  EXPECT_NE(found, cluster.typed_extension_protocol_options().end());
  if (found != cluster.typed_extension_protocol_options().end()) {
    EXPECT_TRUE(found->second.UnpackTo(&out));
  }
  return out;
}

UpstreamTlsContext tlsOf(const envoy::config::core::v3::TransportSocket& socket) {
  EXPECT_EQ(socket.name(), "envoy.transport_sockets.tls");
  UpstreamTlsContext out;
  EXPECT_TRUE(socket.typed_config().UnpackTo(&out));
  return out;
}

TEST(ClusterGeneratorTest, BookinfoSidecarClustersSortedAndDeterministic) {
  const auto snapshot = bookinfoSnapshot(destinationRuleAll());
  const auto clusters = buildClusters(*snapshot, sidecarOf("productpage"));
  const auto names = clusterNames(clusters);
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  EXPECT_EQ(names.size(), 4 /*services*/ + 10 /*subsets*/ + 3 /*special*/ + 1 /*inbound*/);
  for (const std::string& expected :
       {name(9080, "", kReviews), name(9080, "v1", kReviews), name(9080, "v2", kReviews),
        name(9080, "v3", kReviews), name(9080, "v2-mysql", kRatings),
        std::string("BlackHoleCluster"), std::string("PassthroughCluster"),
        std::string("InboundPassthroughCluster"), std::string("inbound|9080||")}) {
    EXPECT_THAT(names, Contains(expected));
  }
  const auto again = buildClusters(*snapshot, sidecarOf("productpage"));
  ASSERT_EQ(again.size(), clusters.size());
  for (size_t i = 0; i < clusters.size(); ++i) {
    EXPECT_EQ(again[i].SerializeAsString(), clusters[i].SerializeAsString()) << names[i];
  }
}

TEST(ClusterGeneratorTest, IstioDefaultsOnAnEdsCluster) {
  const Cluster cluster = clusterWith("", name(9080, "", kDetails));
  EXPECT_EQ(cluster.type(), Cluster::EDS);
  EXPECT_EQ(toJson(cluster.eds_cluster_config()),
            R"({"eds_config":{"ads":{},"resource_api_version":"V3"},"service_name":")" +
                name(9080, "", kDetails) + R"("})");
  EXPECT_EQ(cluster.lb_policy(), Cluster::LEAST_REQUEST);
  EXPECT_EQ(cluster.connect_timeout().seconds(), 10);
  EXPECT_EQ(toJson(cluster.circuit_breakers()),
            R"({"thresholds":[{"max_connections":4294967295,"max_pending_requests":4294967295,)"
            R"("max_requests":4294967295,"max_retries":4294967295,"track_remaining":true}]})");
  EXPECT_FALSE(cluster.has_outlier_detection());
  EXPECT_TRUE(cluster.typed_extension_protocol_options().empty()) << "HTTP port: HTTP/1.1";
}

TEST(ClusterGeneratorTest, AutoMtlsMatchesSidecarEndpoints) {
  const Cluster cluster = clusterWith(destinationRuleAll(), name(9080, "v2", kReviews));
  EXPECT_FALSE(cluster.has_transport_socket());
  ASSERT_EQ(cluster.transport_socket_matches_size(), 2);
  EXPECT_EQ(cluster.transport_socket_matches(0).name(), "tlsMode-istio");
  EXPECT_EQ(toJson(cluster.transport_socket_matches(0).match()), R"({"tlsMode":"istio"})");
  EXPECT_EQ(toJson(cluster.transport_socket_matches(1)),
            R"({"name":"tlsMode-disabled","match":{},)"
            R"("transport_socket":{"name":"envoy.transport_sockets.raw_buffer"}})");
  const UpstreamTlsContext tls = tlsOf(cluster.transport_socket_matches(0).transport_socket());
  EXPECT_EQ(tls.sni(), "outbound_.9080_.v2_.reviews.bookinfo.svc.cluster.local");
  EXPECT_THAT(tls.common_tls_context().alpn_protocols(),
              ElementsAre("istio-peer-exchange", "istio"));
  EXPECT_EQ(tls.common_tls_context().tls_certificate_sds_secret_configs(0).name(), "default");
  const auto& validation = tls.common_tls_context().combined_validation_context();
  EXPECT_EQ(validation.validation_context_sds_secret_config().name(), "ROOTCA");
  EXPECT_EQ(toJson(validation.default_validation_context()),
            R"({"match_typed_subject_alt_names":[{"san_type":"URI","matcher":)"
            R"({"exact":"spiffe://cluster.local/ns/bookinfo/sa/bookinfo-reviews"}}]})");

  model::MeshConfig noAutoMtls;
  noAutoMtls.enableAutoMtls = false;
  const Cluster plain = clusterWith(destinationRuleAll(), name(9080, "v2", kReviews), noAutoMtls);
  EXPECT_EQ(plain.transport_socket_matches_size(), 0);
  EXPECT_FALSE(plain.has_transport_socket());
}

TEST(ClusterGeneratorTest, SubsetPolicyMergesOverTheRule) {
  const std::string rule = reviewsRule(R"(  trafficPolicy:
    loadBalancer: {simple: ROUND_ROBIN}
    connectionPool: {tcp: {maxConnections: 10}}
)",
                                       R"(  subsets:
  - name: v1
    labels: {version: v1}
  - name: v2
    labels: {version: v2}
    trafficPolicy:
      loadBalancer: {simple: RANDOM}
)");
  const Cluster v1 = clusterWith(rule, name(9080, "v1", kReviews));
  const Cluster v2 = clusterWith(rule, name(9080, "v2", kReviews));
  EXPECT_EQ(v1.lb_policy(), Cluster::ROUND_ROBIN);
  EXPECT_EQ(v2.lb_policy(), Cluster::RANDOM) << "the subset's loadBalancer replaces the rule's";
  EXPECT_EQ(v1.circuit_breakers().thresholds(0).max_connections().value(), 10u);
  EXPECT_EQ(v2.circuit_breakers().thresholds(0).max_connections().value(), 10u)
      << "the rule's connectionPool is kept";
}

TEST(ClusterGeneratorTest, PortLevelSettingsReplaceTheWholePolicy) {
  const std::string rule = reviewsRule(R"(  trafficPolicy:
    loadBalancer: {simple: RANDOM}
    outlierDetection: {consecutive5xxErrors: 3}
    portLevelSettings:
    - port: {number: 9080}
      loadBalancer: {simple: ROUND_ROBIN}
    - port: {number: 9999}
      loadBalancer: {simple: LEAST_REQUEST}
)");
  const Cluster cluster = clusterWith(rule, name(9080, "", kReviews));
  EXPECT_EQ(cluster.lb_policy(), Cluster::ROUND_ROBIN);
  EXPECT_FALSE(cluster.has_outlier_detection()) << "not inherited from the destination level";
}

TEST(ClusterGeneratorTest, SubsetPortLevelSettingsReplaceTheRulesParts) {
  const std::string rule = reviewsRule(R"(  trafficPolicy:
    outlierDetection: {consecutive5xxErrors: 3}
)",
                                       R"(  subsets:
  - name: v1
    labels: {version: v1}
    trafficPolicy:
      portLevelSettings:
      - port: {number: 9080}
        loadBalancer: {simple: RANDOM}
)");
  const Cluster v1 = clusterWith(rule, name(9080, "v1", kReviews));
  EXPECT_EQ(v1.lb_policy(), Cluster::RANDOM);
  EXPECT_FALSE(v1.has_outlier_detection());
  EXPECT_TRUE(clusterWith(rule, name(9080, "", kReviews)).has_outlier_detection());
}

TEST(ClusterGeneratorTest, ConnectionPoolFields) {
  const Cluster cluster = clusterWith(reviewsRule(R"(  trafficPolicy:
    connectionPool:
      tcp:
        maxConnections: 7
        connectTimeout: 250ms
        tcpKeepalive: {probes: 3, time: 600s, interval: 75s}
        maxConnectionDuration: 1h
      http:
        http1MaxPendingRequests: 11
        http2MaxRequests: 12
        maxRequestsPerConnection: 13
        maxRetries: 14
        idleTimeout: 30s
)"),
                                      name(9080, "", kReviews));
  EXPECT_EQ(toJson(cluster.circuit_breakers()),
            R"({"thresholds":[{"max_connections":7,"max_pending_requests":11,)"
            R"("max_requests":12,"max_retries":14,"track_remaining":true}]})");
  EXPECT_EQ(toJson(cluster.connect_timeout()), R"("0.250s")");
  EXPECT_EQ(toJson(cluster.upstream_connection_options()),
            R"({"tcp_keepalive":{"keepalive_probes":3,"keepalive_time":600,)"
            R"("keepalive_interval":75}})");
  EXPECT_EQ(toJson(httpOptions(cluster)),
            R"({"common_http_protocol_options":{"idle_timeout":"30s",)"
            R"("max_connection_duration":"3600s","max_requests_per_connection":13},)"
            R"("explicit_http_config":{"http_protocol_options":{}}})");
}

TEST(ClusterGeneratorTest, RetryBudgetBecomesTheThresholdsRetryBudget) {
  const Cluster cluster = clusterWith(reviewsRule(R"(  trafficPolicy:
    retryBudget: {percent: 25, minRetryConcurrency: 7}
)"),
                                      name(9080, "", kReviews));
  EXPECT_EQ(toJson(cluster.circuit_breakers().thresholds(0).retry_budget()),
            R"({"budget_percent":{"value":25},"min_retry_concurrency":7})");
  // Unset fields: the defaults Istio documents (20%, 3).
  const Cluster defaults = clusterWith(reviewsRule(R"(  trafficPolicy:
    retryBudget: {}
)"),
                                       name(9080, "", kReviews));
  EXPECT_EQ(toJson(defaults.circuit_breakers().thresholds(0).retry_budget()),
            R"({"budget_percent":{"value":20},"min_retry_concurrency":3})");
  const Cluster none = clusterWith(reviewsRule(""), name(9080, "", kReviews));
  EXPECT_FALSE(none.circuit_breakers().thresholds(0).has_retry_budget());
}

TEST(ClusterGeneratorTest, TcpIdleTimeoutAppliesWithoutAnHttpOne) {
  const Cluster cluster = clusterWith(reviewsRule(R"(  trafficPolicy:
    connectionPool: {tcp: {idleTimeout: 5s}}
)"),
                                      name(9080, "", kReviews));
  EXPECT_EQ(httpOptions(cluster).common_http_protocol_options().idle_timeout().seconds(), 5);
}

TEST(ClusterGeneratorTest, OutlierDetectionAsIstio) {
  const Cluster cluster = clusterWith(reviewsRule(R"(  trafficPolicy:
    outlierDetection:
      consecutive5xxErrors: 0
      consecutiveGatewayErrors: 4
      consecutiveLocalOriginFailures: 6
      splitExternalLocalOriginErrors: true
      interval: 5s
      baseEjectionTime: 1m
      maxEjectionPercent: 50
      minHealthPercent: 20
)"),
                                      name(9080, "", kReviews));
  EXPECT_EQ(toJson(cluster.outlier_detection()),
            R"({"consecutive_5xx":0,"interval":"5s","base_ejection_time":"60s",)"
            R"("max_ejection_percent":50,"enforcing_consecutive_5xx":0,)"
            R"("enforcing_success_rate":0,"consecutive_gateway_failure":4,)"
            R"("enforcing_consecutive_gateway_failure":100,)"
            R"("split_external_local_origin_errors":true,"consecutive_local_origin_failure":6,)"
            R"("enforcing_consecutive_local_origin_failure":100,)"
            R"("enforcing_local_origin_success_rate":0})");
  EXPECT_EQ(cluster.common_lb_config().healthy_panic_threshold().value(), 20);

  const Cluster minimal = clusterWith(reviewsRule(R"(  trafficPolicy:
    outlierDetection: {consecutive5xxErrors: 5}
)"),
                                      name(9080, "", kReviews));
  EXPECT_EQ(toJson(minimal.outlier_detection()),
            R"({"consecutive_5xx":5,"enforcing_consecutive_5xx":100,"enforcing_success_rate":0})");
  EXPECT_TRUE(minimal.common_lb_config().has_healthy_panic_threshold())
      << "Istio disables the panic threshold (0%)";
}

TEST(ClusterGeneratorTest, LoadBalancerPolicies) {
  const auto lbOf = [](const std::string& loadBalancer) {
    return clusterWith(reviewsRule("  trafficPolicy:\n    loadBalancer: " + loadBalancer + "\n"),
                       name(9080, "", kReviews));
  };
  EXPECT_EQ(lbOf("{simple: ROUND_ROBIN}").lb_policy(), Cluster::ROUND_ROBIN);
  EXPECT_EQ(lbOf("{simple: LEAST_REQUEST}").lb_policy(), Cluster::LEAST_REQUEST);
  EXPECT_EQ(lbOf("{simple: RANDOM}").lb_policy(), Cluster::RANDOM);
  const Cluster passthrough = lbOf("{simple: PASSTHROUGH}");
  EXPECT_EQ(passthrough.type(), Cluster::ORIGINAL_DST);
  EXPECT_EQ(passthrough.lb_policy(), Cluster::CLUSTER_PROVIDED);
  EXPECT_FALSE(passthrough.has_eds_cluster_config());

  const Cluster ring =
      lbOf("{consistentHash: {httpHeaderName: x-user, ringHash: {minimumRingSize: 64}}}");
  EXPECT_EQ(ring.lb_policy(), Cluster::RING_HASH);
  EXPECT_EQ(ring.ring_hash_lb_config().minimum_ring_size().value(), 64u);
  const Cluster legacy = lbOf("{consistentHash: {useSourceIp: true}}");
  EXPECT_EQ(legacy.lb_policy(), Cluster::RING_HASH);
  EXPECT_EQ(legacy.ring_hash_lb_config().minimum_ring_size().value(), 1024u);
  const Cluster maglev =
      lbOf("{consistentHash: {httpCookie: {name: s, ttl: 0s}, maglev: {tableSize: 1009}}}");
  EXPECT_EQ(maglev.lb_policy(), Cluster::MAGLEV);
  EXPECT_EQ(maglev.maglev_lb_config().table_size().value(), 1009u);

  const Cluster warm = lbOf("{simple: ROUND_ROBIN, warmup: {duration: 30s, minimumPercent: 20}}");
  EXPECT_EQ(
      toJson(warm.round_robin_lb_config()),
      R"({"slow_start_config":{"slow_start_window":"30s","min_weight_percent":{"value":20}}})");
  const Cluster warmDefault = lbOf("{warmupDurationSecs: 10s}");
  EXPECT_EQ(warmDefault.least_request_lb_config().slow_start_config().slow_start_window().seconds(),
            10);

  const Cluster distributed =
      lbOf(R"({localityLbSetting: {distribute: [{from: "r1/*", to: {"r1/*": 80, "r2/*": 20}}]}})");
  EXPECT_TRUE(distributed.common_lb_config().has_locality_weighted_lb_config());
  const Cluster failoverNoOutlier =
      lbOf(R"({localityLbSetting: {failover: [{from: r1, to: r2}]}})");
  EXPECT_FALSE(failoverNoOutlier.has_common_lb_config())
      << "failover needs outlier detection (Istio)";
}

TEST(ClusterGeneratorTest, ExplicitTlsModes) {
  const auto tlsOfRule = [](const std::string& tls) {
    return clusterWith(reviewsRule("  trafficPolicy:\n    tls: " + tls + "\n"),
                       name(9080, "", kReviews));
  };
  const Cluster disabled = tlsOfRule("{mode: DISABLE}");
  EXPECT_FALSE(disabled.has_transport_socket());
  EXPECT_EQ(disabled.transport_socket_matches_size(), 0) << "no auto-mTLS when DR sets tls";

  const Cluster istio = tlsOfRule("{mode: ISTIO_MUTUAL}");
  EXPECT_EQ(istio.transport_socket_matches_size(), 0);
  EXPECT_EQ(tlsOf(istio.transport_socket()).sni(),
            "outbound_.9080_._.reviews.bookinfo.svc.cluster.local");

  const UpstreamTlsContext simple =
      tlsOf(tlsOfRule("{mode: SIMPLE, sni: reviews.example.com, caCertificates: /etc/ca.pem}")
                .transport_socket());
  EXPECT_EQ(simple.sni(), "reviews.example.com");
  EXPECT_EQ(simple.common_tls_context().tls_certificate_sds_secret_configs_size(), 0);
  EXPECT_EQ(simple.common_tls_context()
                .combined_validation_context()
                .validation_context_sds_secret_config()
                .name(),
            "file-root:/etc/ca.pem");

  const Cluster mutualCluster =
      tlsOfRule("{mode: MUTUAL, clientCertificate: /c.pem, privateKey: /k.pem}");
  const UpstreamTlsContext mutual = tlsOf(mutualCluster.transport_socket());
  EXPECT_EQ(mutual.common_tls_context().tls_certificate_sds_secret_configs(0).name(),
            "file-cert:/c.pem~/k.pem");
  EXPECT_EQ(mutual.common_tls_context()
                .combined_validation_context()
                .validation_context_sds_secret_config()
                .name(),
            "file-root:system");
  EXPECT_TRUE(httpOptions(mutualCluster).upstream_http_protocol_options().auto_sni());
}

TEST(ClusterGeneratorTest, DnsAndPassthroughServices) {
  const std::string entries = kHttpbinDnsEntry + R"(---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: round-robin}
spec:
  hosts: [rr.example.com]
  ports: [{number: 443, name: tls, protocol: TLS}]
  resolution: DNS_ROUND_ROBIN
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: any}
spec:
  hosts: [any.example.com]
  ports: [{number: 8000, name: tcp, protocol: TCP}]
  resolution: NONE
)";
  const Cluster dns = clusterWith(entries, name(80, "", "httpbin.org"));
  EXPECT_EQ(dns.type(), Cluster::STRICT_DNS);
  EXPECT_EQ(dns.dns_lookup_family(), Cluster::V4_ONLY);
  EXPECT_EQ(dns.dns_refresh_rate().seconds(), 60);
  EXPECT_TRUE(dns.respect_dns_ttl());
  EXPECT_EQ(dns.lb_policy(), Cluster::LEAST_REQUEST);
  ASSERT_EQ(dns.load_assignment().endpoints_size(), 1);
  EXPECT_EQ(toJson(dns.load_assignment().endpoints(0).lb_endpoints(0).endpoint()),
            R"({"address":{"socket_address":{"address":"httpbin.org","port_value":80}}})");
  EXPECT_EQ(dns.transport_socket_matches_size(), 0) << "mesh-external: no auto-mTLS";
  EXPECT_EQ(clusterWith(entries, name(443, "", "rr.example.com")).type(), Cluster::LOGICAL_DNS);
  const Cluster original = clusterWith(entries, name(8000, "", "any.example.com"));
  EXPECT_EQ(original.type(), Cluster::ORIGINAL_DST);
  EXPECT_EQ(original.lb_policy(), Cluster::CLUSTER_PROVIDED);
  EXPECT_FALSE(original.has_load_assignment());
}

TEST(ClusterGeneratorTest, SidecarEgressHostsNarrowTheServices) {
  const std::string other = R"(apiVersion: v1
kind: Service
metadata: {name: billing, namespace: payments}
spec: {selector: {app: billing}, ports: [{name: http, port: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: audit, namespace: payments}
spec: {selector: {app: audit}, ports: [{name: http, port: 8080}]}
)";
  const auto namesWith = [&](const std::string& sidecar) {
    const auto snapshot = bookinfoSnapshot(other + "---\n" + sidecar);
    return clusterNames(buildClusters(*snapshot, sidecarOf("productpage")));
  };
  const std::string billing = name(8080, "", "billing.payments.svc.cluster.local");
  const std::string audit = name(8080, "", "audit.payments.svc.cluster.local");
  const auto all = namesWith("");
  EXPECT_THAT(all, Contains(billing));
  const auto own = namesWith(R"(apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default}
spec: {egress: [{hosts: ["./*"]}]}
)");
  EXPECT_THAT(own, Not(Contains(billing)));
  EXPECT_THAT(own, Contains(name(9080, "", kReviews)));
  const auto one = namesWith(R"(apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default}
spec: {egress: [{hosts: ["payments/billing.payments.svc.cluster.local"]}]}
)");
  EXPECT_THAT(one, Contains(billing));
  EXPECT_THAT(one, Not(Contains(audit)));
  EXPECT_THAT(one, Not(Contains(name(9080, "", kReviews))));
  EXPECT_THAT(one, Contains("BlackHoleCluster"));
}

TEST(ClusterGeneratorTest, ExportToHidesServices) {
  const auto snapshot = bookinfoSnapshot(R"(apiVersion: v1
kind: Service
metadata:
  name: private
  namespace: payments
  annotations: {networking.istio.io/exportTo: "."}
spec: {selector: {app: private}, ports: [{name: http, port: 8080}]}
)");
  const auto names = clusterNames(buildClusters(*snapshot, sidecarOf("productpage")));
  EXPECT_THAT(names, Not(Contains(name(8080, "", "private.payments.svc.cluster.local"))));
  ProxyContext inPayments;
  inPayments.ns = "payments";
  EXPECT_THAT(clusterNames(buildClusters(*snapshot, inPayments)),
              Contains(name(8080, "", "private.payments.svc.cluster.local")));
}

TEST(ClusterGeneratorTest, InboundClusterForTheProxysWorkload) {
  const auto snapshot = bookinfoSnapshot(destinationRuleAll());
  const auto clusters = buildClusters(*snapshot, sidecarOf("reviews", "v2"));
  const Cluster* inbound = findCluster(clusters, "inbound|9080||");
  ASSERT_NE(inbound, nullptr);
  EXPECT_EQ(inbound->type(), Cluster::STATIC);
  EXPECT_EQ(toJson(inbound->load_assignment()),
            R"({"cluster_name":"inbound|9080||","endpoints":[{"lb_endpoints":[{"endpoint":)"
            R"({"address":{"socket_address":{"address":"127.0.0.13","port_value":9080}}}}]}]})")
      << "reviews-v2 is the fourth instance: 127.0.0.13";
  EXPECT_FALSE(inbound->has_transport_socket());
  EXPECT_EQ(inbound->connect_timeout().seconds(), 10);
  ProxyContext stranger = sidecarOf("unknown");
  EXPECT_EQ(findCluster(buildClusters(*snapshot, stranger), "inbound|9080||"), nullptr);
  // Local mode: the sidecar holds the instance address and the app listens elsewhere.
  ProxyContext fronting = sidecarOf("reviews", "v2");
  fronting.appAddress = "127.78.1.4";
  const auto frontingClusters = buildClusters(*snapshot, fronting);
  const Cluster* toApp = findCluster(frontingClusters, "inbound|9080||");
  ASSERT_NE(toApp, nullptr);
  EXPECT_EQ(toApp->load_assignment()
                .endpoints(0)
                .lb_endpoints(0)
                .endpoint()
                .address()
                .socket_address()
                .address(),
            "127.78.1.4");
}

TEST(ClusterGeneratorTest, SidecarIngressOverridesInboundClusters) {
  const auto snapshot = bookinfoSnapshot(R"(apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: productpage}
spec:
  workloadSelector: {labels: {app: productpage}}
  inboundConnectionPool: {tcp: {maxConnections: 5}}
  ingress:
  - port: {number: 9080, protocol: HTTP, name: http}
    defaultEndpoint: 127.0.0.1:8080
  - port: {number: 9443, protocol: HTTP, name: admin}
    defaultEndpoint: 0.0.0.0:9443
    connectionPool: {http: {http1MaxPendingRequests: 3}}
)");
  const auto clusters = buildClusters(*snapshot, sidecarOf("productpage"));
  const Cluster* main = findCluster(clusters, "inbound|9080||");
  ASSERT_NE(main, nullptr);
  EXPECT_EQ(main->load_assignment()
                .endpoints(0)
                .lb_endpoints(0)
                .endpoint()
                .address()
                .socket_address()
                .port_value(),
            8080u);
  EXPECT_EQ(main->circuit_breakers().thresholds(0).max_connections().value(), 5u);
  const Cluster* admin = findCluster(clusters, "inbound|9443||");
  ASSERT_NE(admin, nullptr);
  EXPECT_EQ(toJson(admin->load_assignment().endpoints(0).lb_endpoints(0).endpoint()),
            R"({"address":{"socket_address":{"address":"127.0.0.10","port_value":9443}}})");
  EXPECT_EQ(admin->circuit_breakers().thresholds(0).max_pending_requests().value(), 3u);
  EXPECT_EQ(admin->circuit_breakers().thresholds(0).max_connections().value(), 4294967295u)
      << "the listener's pool replaces the Sidecar-wide one";
}

TEST(ClusterGeneratorTest, SpecialClusters) {
  const auto snapshot = bookinfoSnapshot("");
  const auto clusters = buildClusters(*snapshot, sidecarOf("productpage"));
  const Cluster* blackHole = findCluster(clusters, "BlackHoleCluster");
  ASSERT_NE(blackHole, nullptr);
  EXPECT_EQ(toJson(*blackHole),
            R"({"name":"BlackHoleCluster","type":"STATIC","connect_timeout":"10s"})");
  for (std::string_view passthrough : {"PassthroughCluster", "InboundPassthroughCluster"}) {
    const Cluster* cluster = findCluster(clusters, passthrough);
    ASSERT_NE(cluster, nullptr);
    EXPECT_EQ(cluster->type(), Cluster::ORIGINAL_DST);
    EXPECT_EQ(cluster->lb_policy(), Cluster::CLUSTER_PROVIDED);
    EXPECT_EQ(toJson(httpOptions(*cluster)),
              R"({"common_http_protocol_options":{"idle_timeout":"300s"},)"
              R"("use_downstream_protocol_config":{"http_protocol_options":{},)"
              R"("http2_protocol_options":{}}})");
  }
}

TEST(ClusterGeneratorTest, GatewaysGetNoInboundClusters) {
  const auto snapshot = bookinfoSnapshot(destinationRuleAll());
  ProxyContext gateway;
  gateway.type = ProxyContext::Type::kRouter;
  gateway.ns = "istio-system";
  gateway.labels = {{"istio", "ingressgateway"}};
  const auto names = clusterNames(buildClusters(*snapshot, gateway));
  EXPECT_THAT(names, Contains(name(9080, "v1", kReviews)));
  EXPECT_THAT(names, Contains("PassthroughCluster"));
  EXPECT_THAT(names, Not(Contains("InboundPassthroughCluster")));
  EXPECT_THAT(names, Not(Contains("inbound|9080||")));
}

TEST(ClusterGeneratorTest, ProxylessGrpcGetsEdsClustersForGrpcPorts) {
  const auto snapshot = bookinfoSnapshot(R"(apiVersion: v1
kind: Service
metadata: {name: echo}
spec: {selector: {app: echo}, ports: [{name: grpc, port: 7070}, {name: http, port: 8080}]}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: echo}
spec:
  host: echo
  subsets: [{name: v1, labels: {version: v1}}]
)");
  ProxyContext client;
  client.type = ProxyContext::Type::kProxylessGrpc;
  client.ns = "bookinfo";
  const auto clusters = buildClusters(*snapshot, client);
  EXPECT_THAT(clusterNames(clusters),
              ElementsAre(name(7070, "v1", "echo.bookinfo.svc.cluster.local"),
                          name(7070, "", "echo.bookinfo.svc.cluster.local")))
      << "sorted by name: 'v' sorts before '|'";
  for (const Cluster& cluster : clusters) {
    EXPECT_EQ(cluster.type(), Cluster::EDS);
    EXPECT_FALSE(cluster.has_transport_socket());
    EXPECT_EQ(cluster.transport_socket_matches_size(), 0);
  }
}

} // namespace
} // namespace meshd::control::translate
