// DestinationRule, Gateway and Sidecar: typed values and one test per rejection.
#include "control/config/networking/destination_rule.h"
#include "control/config/networking/gateway.h"
#include "control/config/networking/sidecar.h"
#include "fmt/format.h"
#include "test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace meshd::control::config {
namespace {

using std::chrono::seconds;
using testing::diagnosticsOf;
using ::testing::ElementsAre;
using testing::parsedFrom;

// Each spec starts on line 5.
std::string objectWith(std::string_view kind, std::string_view specLines) {
  return fmt::format("apiVersion: networking.istio.io/v1\nkind: {}\nmetadata: {{name: x}}\n"
                     "spec:\n{}",
                     kind, specLines);
}

std::vector<std::string> drErrors(std::string_view spec) {
  return diagnosticsOf(objectWith("DestinationRule", spec), parseDestinationRule);
}
std::vector<std::string> gatewayErrors(std::string_view spec) {
  return diagnosticsOf(objectWith("Gateway", spec), parseGateway);
}
std::vector<std::string> sidecarErrors(std::string_view spec) {
  return diagnosticsOf(objectWith("Sidecar", spec), parseSidecar);
}

TEST(DestinationRuleTest, ReadsTrafficPolicy) {
  const std::optional<DestinationRule> rule =
      parsedFrom(objectWith("DestinationRule", R"(  host: reviews.prod.svc.cluster.local
  trafficPolicy:
    loadBalancer:
      consistentHash:
        httpCookie: {name: user, ttl: 0s}
        ringHash: {minimumRingSize: 2048}
    connectionPool:
      tcp: {maxConnections: 100, connectTimeout: 30ms}
      http: {http1MaxPendingRequests: 1, maxRequestsPerConnection: 1, h2UpgradePolicy: UPGRADE}
    outlierDetection:
      consecutive5xxErrors: 7
      interval: 5m
      baseEjectionTime: 15m
      maxEjectionPercent: 50
    tls: {mode: ISTIO_MUTUAL}
    portLevelSettings:
    - port: {number: 80}
      loadBalancer: {simple: ROUND_ROBIN}
  subsets:
  - name: testversion
    labels: {version: v3}
    trafficPolicy:
      loadBalancer: {simple: RANDOM}
  exportTo: ["*"]
)"),
                 parseDestinationRule);
  ASSERT_TRUE(rule.has_value());
  const TrafficPolicy& policy = *rule->trafficPolicy;
  EXPECT_EQ(policy.loadBalancer->consistentHash->key, ConsistentHashLb::Key::kHttpCookie);
  EXPECT_EQ(policy.loadBalancer->consistentHash->name, "user");
  EXPECT_EQ(policy.loadBalancer->consistentHash->cookieTtl, Duration(0));
  EXPECT_EQ(policy.loadBalancer->consistentHash->algorithm, ConsistentHashLb::Algorithm::kRingHash);
  EXPECT_EQ(policy.loadBalancer->consistentHash->minimumRingSize, 2048u);
  EXPECT_EQ(policy.connectionPool->tcp->maxConnections, 100);
  EXPECT_EQ(policy.connectionPool->tcp->connectTimeout, Duration(std::chrono::milliseconds(30)));
  EXPECT_EQ(policy.connectionPool->http->http1MaxPendingRequests, 1);
  EXPECT_EQ(policy.connectionPool->http->h2UpgradePolicy,
            ConnectionPoolSettings::Http::H2UpgradePolicy::kUpgrade);
  EXPECT_EQ(policy.outlierDetection->consecutive5xxErrors, 7u);
  EXPECT_EQ(policy.outlierDetection->interval, Duration(seconds(300)));
  EXPECT_EQ(policy.outlierDetection->maxEjectionPercent, 50);
  EXPECT_EQ(policy.tls->mode, ClientTlsSettings::Mode::kIstioMutual);
  ASSERT_EQ(policy.portLevelSettings.size(), 1u);
  EXPECT_EQ(policy.portLevelSettings[0].port, 80u);
  EXPECT_EQ(policy.portLevelSettings[0].loadBalancer->simple,
            LoadBalancerSettings::Simple::kRoundRobin);
  ASSERT_EQ(rule->subsets.size(), 1u);
  EXPECT_EQ(rule->subsets[0].trafficPolicy->loadBalancer->simple,
            LoadBalancerSettings::Simple::kRandom);
}

TEST(DestinationRuleTest, RequiresHost) {
  EXPECT_THAT(drErrors("  subsets: [{name: v1}]\n"),
              ElementsAre("t.yaml:5: error: DestinationRule default/x: spec.host: required field "
                          "is missing"));
}

TEST(DestinationRuleTest, RejectsDuplicateAndBadSubsetNames) {
  EXPECT_THAT(drErrors("  host: r\n  subsets:\n  - name: v1\n  - name: v1\n  - name: V_2\n"),
              ElementsAre("t.yaml:9: error: DestinationRule default/x: spec.subsets[2].name: "
                          "'V_2' is not a valid subset name (a DNS label: lowercase letters, "
                          "digits and '-', at most 63 characters)",
                          "t.yaml:8: error: DestinationRule default/x: spec.subsets[1].name: "
                          "duplicate subset name 'v1'"));
}

TEST(DestinationRuleTest, RejectsBadLoadBalancer) {
  EXPECT_THAT(drErrors("  host: r\n  trafficPolicy:\n    loadBalancer: {simple: FASTEST}\n"),
              ElementsAre("t.yaml:7: error: DestinationRule default/x: spec.trafficPolicy."
                          "loadBalancer.simple: 'FASTEST' is not one of UNSPECIFIED, LEAST_CONN, "
                          "RANDOM, PASSTHROUGH, ROUND_ROBIN, LEAST_REQUEST"));
}

TEST(DestinationRuleTest, WarnsAboutLeastConn) {
  EXPECT_THAT(drErrors("  host: r\n  trafficPolicy:\n    loadBalancer: {simple: LEAST_CONN}\n"),
              ElementsAre("t.yaml:7: warning: DestinationRule default/x: spec.trafficPolicy."
                          "loadBalancer.simple: LEAST_CONN is deprecated; use LEAST_REQUEST"));
}

TEST(DestinationRuleTest, RejectsSimpleWithConsistentHash) {
  EXPECT_THAT(drErrors("  host: r\n  trafficPolicy:\n    loadBalancer:\n      simple: RANDOM\n"
                       "      consistentHash: {useSourceIp: true}\n"),
              ElementsAre("t.yaml:9: error: DestinationRule default/x: spec.trafficPolicy."
                          "loadBalancer.consistentHash: only one of 'simple', 'consistentHash' "
                          "may be set (found 'simple', 'consistentHash')"));
}

TEST(DestinationRuleTest, RejectsMutualTlsWithoutCertificates) {
  EXPECT_THAT(drErrors("  host: r\n  trafficPolicy:\n    tls: {mode: MUTUAL}\n"),
              ElementsAre("t.yaml:7: error: DestinationRule default/x: spec.trafficPolicy.tls."
                          "clientCertificate: client certificate required for mutual tls",
                          "t.yaml:7: error: DestinationRule default/x: spec.trafficPolicy.tls."
                          "privateKey: private key required for mutual tls"));
}

TEST(DestinationRuleTest, RejectsIstioMutualWithCertificates) {
  EXPECT_THAT(drErrors("  host: r\n  trafficPolicy:\n    tls:\n      mode: ISTIO_MUTUAL\n"
                       "      privateKey: /k.pem\n"),
              ElementsAre("t.yaml:8: error: DestinationRule default/x: spec.trafficPolicy.tls."
                          "mode: ISTIO_MUTUAL uses the mesh's certificates: remove "
                          "clientCertificate, privateKey, caCertificates, caCrl and "
                          "credentialName"));
}

TEST(DestinationRuleTest, RejectsOutlierPercentAndNegativeConnections) {
  EXPECT_THAT(drErrors("  host: r\n  trafficPolicy:\n    outlierDetection: {maxEjectionPercent: "
                       "120}\n    connectionPool: {tcp: {maxConnections: -1}}\n"),
              ElementsAre("t.yaml:8: error: DestinationRule default/x: spec.trafficPolicy."
                          "connectionPool.tcp.maxConnections: must be between 0 and 2147483647 "
                          "(got -1)",
                          "t.yaml:7: error: DestinationRule default/x: spec.trafficPolicy."
                          "outlierDetection.maxEjectionPercent: must be between 0 and 100 (got "
                          "120)"));
}

TEST(DestinationRuleTest, RejectsLocalityDistributeNotAddingUpTo100) {
  EXPECT_THAT(drErrors(R"(  host: r
  trafficPolicy:
    loadBalancer:
      localityLbSetting:
        distribute:
        - from: us-west/zone1/*
          to: {"us-west/zone1/*": 60, "us-west/zone2/*": 30}
)"),
              ElementsAre("t.yaml:11: error: DestinationRule default/x: spec.trafficPolicy."
                          "loadBalancer.localityLbSetting.distribute[0].to: the weights must add "
                          "up to 100 (they add up to 90)"));
}

TEST(DestinationRuleTest, RejectsNonPrimeMaglevTableAndEmptyPool) {
  EXPECT_THAT(drErrors("  host: r\n  trafficPolicy:\n    loadBalancer:\n      consistentHash: "
                       "{useSourceIp: true, maglev: {tableSize: 1000}}\n    connectionPool: {}\n"),
              ElementsAre("t.yaml:8: error: DestinationRule default/x: spec.trafficPolicy."
                          "loadBalancer.consistentHash.maglev.tableSize: 1000 is not a prime "
                          "number (Maglev needs a prime table size)",
                          "t.yaml:9: error: DestinationRule default/x: spec.trafficPolicy."
                          "connectionPool: a connection pool needs tcp or http settings"));
}

TEST(DestinationRuleTest, RejectsClientProtocolWithUpgrade) {
  EXPECT_THAT(drErrors("  host: r\n  trafficPolicy:\n    connectionPool:\n      http: "
                       "{h2UpgradePolicy: UPGRADE, useClientProtocol: true}\n"),
              ElementsAre("t.yaml:8: error: DestinationRule default/x: spec.trafficPolicy."
                          "connectionPool.http.useClientProtocol: useClientProtocol cannot be true "
                          "when h2UpgradePolicy is UPGRADE"));
}

TEST(DestinationRuleTest, RejectsPortLevelSettingWithoutPort) {
  EXPECT_THAT(drErrors("  host: r\n  trafficPolicy:\n    portLevelSettings:\n"
                       "    - loadBalancer: {simple: RANDOM}\n"),
              ElementsAre("t.yaml:8: error: DestinationRule default/x: spec.trafficPolicy."
                          "portLevelSettings[0].port: required field is missing"));
}

TEST(GatewayTest, ReadsHttpsServer) {
  const std::optional<Gateway> gateway = parsedFrom(objectWith("Gateway", R"(  selector: {app: gw}
  servers:
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: [bookinfo/reviews.example.com, "*.example.com"]
    tls: {mode: SIMPLE, credentialName: example-cert, minProtocolVersion: TLSV1_2}
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*"]
    tls: {httpsRedirect: true}
)"),
                                                    parseGateway);
  ASSERT_TRUE(gateway.has_value());
  ASSERT_EQ(gateway->servers.size(), 2u);
  const ServerTlsSettings& tls = *gateway->servers[0].tls;
  EXPECT_EQ(tls.mode, ServerTlsSettings::Mode::kSimple);
  EXPECT_THAT(tls.credentialNames, ElementsAre("example-cert"));
  EXPECT_EQ(tls.minProtocolVersion, ServerTlsSettings::Version::kV1_2);
  EXPECT_EQ(splitNamespacedHost(gateway->servers[0].hosts[0]),
            (std::pair<std::string, std::string>("bookinfo", "reviews.example.com")));
  EXPECT_TRUE(gateway->servers[1].tls->httpsRedirect);
}

TEST(GatewayTest, RequiresServers) {
  EXPECT_THAT(gatewayErrors("  selector: {app: gw}\n"),
              ElementsAre("t.yaml:5: error: Gateway default/x: spec.servers: required field is "
                          "missing"));
}

TEST(GatewayTest, RejectsHttpsWithoutTls) {
  EXPECT_THAT(gatewayErrors("  servers:\n  - port: {number: 443, name: https, protocol: HTTPS}\n"
                            "    hosts: ['*']\n"),
              ElementsAre("t.yaml:6: error: Gateway default/x: spec.servers[0].tls: a server on a "
                          "HTTPS port must have TLS settings"));
}

TEST(GatewayTest, RejectsTlsOnPlainHttp) {
  EXPECT_THAT(gatewayErrors("  servers:\n  - port: {number: 80, name: http, protocol: HTTP}\n"
                            "    hosts: ['*']\n    tls: {mode: SIMPLE, credentialName: c}\n"),
              ElementsAre("t.yaml:8: error: Gateway default/x: spec.servers[0].tls: a server on a "
                          "plain-text HTTP port cannot have TLS settings (other than "
                          "httpsRedirect)"));
}

TEST(GatewayTest, RejectsSimpleTlsWithoutCertificate) {
  EXPECT_THAT(gatewayErrors("  servers:\n  - port: {number: 443, name: https, protocol: HTTPS}\n"
                            "    hosts: ['*']\n    tls: {mode: SIMPLE}\n"),
              ElementsAre("t.yaml:8: error: Gateway default/x: spec.servers[0].tls."
                          "serverCertificate: SIMPLE TLS requires a server certificate",
                          "t.yaml:8: error: Gateway default/x: spec.servers[0].tls.privateKey: "
                          "SIMPLE TLS requires a private key"));
}

TEST(GatewayTest, RejectsBadHostNamespaceAndPortProtocol) {
  EXPECT_THAT(gatewayErrors("  servers:\n  - port: {number: 80, name: http, protocol: HTTPX}\n"
                            "    hosts: [Bad_NS/a.com]\n"),
              ElementsAre("t.yaml:6: error: Gateway default/x: spec.servers[0].port.protocol: "
                          "'HTTPX' is not a valid protocol (one of HTTP, HTTPS, HTTP2, GRPC, "
                          "GRPC-Web, TCP, TLS, Mongo, MySQL, Redis, UDP)",
                          "t.yaml:7: error: Gateway default/x: spec.servers[0].hosts[0]: "
                          "'Bad_NS/a.com': the namespace must be '*', '.' or a namespace name"));
}

TEST(GatewayTest, RejectsDuplicatePortNames) {
  EXPECT_THAT(gatewayErrors("  servers:\n  - port: {number: 80, name: http, protocol: HTTP}\n"
                            "    hosts: [a.com]\n"
                            "  - port: {number: 81, name: http, protocol: HTTP}\n"
                            "    hosts: [b.com]\n"),
              ElementsAre("t.yaml:8: error: Gateway default/x: spec.servers[1].port.name: port "
                          "names in servers must be unique: duplicate name 'http'"));
}

TEST(GatewayTest, RejectsMissingPortName) {
  EXPECT_THAT(gatewayErrors("  servers:\n  - port: {number: 80, protocol: HTTP}\n"
                            "    hosts: [a.com]\n"),
              ElementsAre("t.yaml:6: error: Gateway default/x: spec.servers[0].port.name: "
                          "required field is missing"));
}

TEST(GatewayTest, RejectsTlsOnTcpPortAndTargetPort) {
  EXPECT_THAT(gatewayErrors("  servers:\n  - port: {number: 31400, name: tcp, protocol: TCP, "
                            "targetPort: 8443}\n    hosts: ['*']\n"
                            "    tls: {mode: SIMPLE, credentialName: c}\n"),
              ElementsAre("t.yaml:6: error: Gateway default/x: spec.servers[0].port.targetPort: "
                          "targetPort has no effect on Gateways",
                          "t.yaml:8: error: Gateway default/x: spec.servers[0].tls: a server on a "
                          "port that is not HTTPS or TLS cannot have TLS settings"));
}

TEST(GatewayTest, WarnsAboutHttpsRedirectOnHttpsPort) {
  EXPECT_THAT(gatewayErrors("  servers:\n  - port: {number: 443, name: https, protocol: HTTPS}\n"
                            "    hosts: ['*']\n"
                            "    tls: {httpsRedirect: true, mode: SIMPLE, credentialName: c}\n"),
              ElementsAre("t.yaml:8: warning: Gateway default/x: spec.servers[0].tls."
                          "httpsRedirect: httpsRedirect should only be used with HTTP servers"));
}

TEST(GatewayTest, RejectsCrlWithSimpleTlsAndTwoCertificateSources) {
  EXPECT_THAT(gatewayErrors(R"(  servers:
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: ['*']
    tls:
      mode: SIMPLE
      serverCertificate: /c.pem
      privateKey: /k.pem
      caCrl: /crl.pem
      tlsCertificates: [{serverCertificate: /c2.pem}]
)"),
              ElementsAre("t.yaml:10: error: Gateway default/x: spec.servers[0].tls."
                          "serverCertificate: only one of credentialName, credentialNames, "
                          "serverCertificate/privateKey and tlsCertificates may be set",
                          "t.yaml:12: error: Gateway default/x: spec.servers[0].tls.caCrl: caCrl "
                          "is not supported with SIMPLE TLS",
                          "t.yaml:13: error: Gateway default/x: spec.servers[0].tls."
                          "tlsCertificates[0].privateKey: SIMPLE TLS requires a private key"));
}

TEST(SidecarTest, RejectsEmptySidecarAndWarnsAboutLabellessSelector) {
  EXPECT_THAT(sidecarErrors("  workloadSelector: {labels: {}}\n"),
              ElementsAre("t.yaml:5: warning: Sidecar default/x: spec.workloadSelector: "
                          "workloadSelector has no labels: the Sidecar applies to every workload "
                          "in the namespace",
                          "t.yaml:5: error: Sidecar default/x: spec: a Sidecar needs at least one "
                          "of 'ingress', 'egress', 'outboundTrafficPolicy' or "
                          "'inboundConnectionPool'"));
}

TEST(SidecarTest, RejectsUnsupportedIngressTls) {
  EXPECT_THAT(sidecarErrors("  ingress:\n  - port: {number: 8443, protocol: HTTP}\n"
                            "    tls: {mode: ISTIO_MUTUAL, subjectAltNames: [a]}\n"),
              ElementsAre("t.yaml:7: error: Sidecar default/x: spec.ingress[0].tls: "
                          "subjectAltNames is not supported in sidecar ingress TLS",
                          "t.yaml:7: error: Sidecar default/x: spec.ingress[0].tls: sidecar "
                          "ingress TLS cannot use mode ISTIO_MUTUAL or AUTO_PASSTHROUGH",
                          "t.yaml:7: error: Sidecar default/x: spec.ingress[0].tls: TLS settings "
                          "need an HTTPS or TLS port"));
}

TEST(DestinationRuleTest, RejectsSelectorRuleExportedBeyondItsNamespace) {
  EXPECT_THAT(drErrors("  host: r\n  workloadSelector: {matchLabels: {app: a}}\n"
                       "  exportTo: ['*']\n"),
              ElementsAre("t.yaml:7: error: DestinationRule default/x: spec.exportTo: a "
                          "DestinationRule with a workloadSelector can only be exported to its "
                          "own namespace"));
}

TEST(SidecarTest, ReadsListenersAndPolicy) {
  const std::optional<Sidecar> sidecar = parsedFrom(objectWith("Sidecar", R"(  workloadSelector:
    labels: {app: ratings}
  ingress:
  - port: {number: 9080, protocol: HTTP, name: http}
    defaultEndpoint: 127.0.0.1:8080
  egress:
  - port: {number: 3306, protocol: MYSQL, name: mysql}
    hosts: [db/mysql.db.svc.cluster.local]
  - hosts: ["./*", "istio-system/*"]
  outboundTrafficPolicy: {mode: REGISTRY_ONLY}
)"),
                                                    parseSidecar);
  ASSERT_TRUE(sidecar.has_value());
  EXPECT_EQ(sidecar->workloadSelector, (Labels{{"app", "ratings"}}));
  EXPECT_EQ(sidecar->ingress[0].port.number, 9080u);
  EXPECT_EQ(sidecar->ingress[0].defaultEndpoint, "127.0.0.1:8080");
  EXPECT_EQ(sidecar->egress[0].port->protocol, Protocol::kMySql);
  EXPECT_FALSE(sidecar->egress[1].port.has_value());
  EXPECT_THAT(sidecar->egress[1].hosts, ElementsAre("./*", "istio-system/*"));
  EXPECT_EQ(sidecar->outboundMode, Sidecar::OutboundMode::kRegistryOnly);
}

TEST(SidecarTest, RejectsEgressHostWithoutNamespace) {
  EXPECT_THAT(sidecarErrors("  egress:\n  - hosts: [reviews]\n"),
              ElementsAre("t.yaml:6: error: Sidecar default/x: spec.egress[0].hosts[0]: 'reviews' "
                          "must be written as namespace/dnsName (\"*/\", \"./\" or \"~/\" for any, "
                          "this or no namespace)"));
}

TEST(SidecarTest, RejectsPortlessEgressBeforeTheLast) {
  EXPECT_THAT(sidecarErrors("  egress:\n  - hosts: ['*/*']\n"
                            "  - port: {number: 80}\n    hosts: ['./*']\n"),
              ElementsAre("t.yaml:6: error: Sidecar default/x: spec.egress[0]: only the last "
                          "egress listener may leave out the port"));
}

TEST(SidecarTest, RejectsBadDefaultEndpoint) {
  EXPECT_THAT(
      sidecarErrors("  ingress:\n  - port: {number: 80}\n    defaultEndpoint: 10.0.0.1:80\n"),
      ElementsAre("t.yaml:7: error: Sidecar default/x: spec.ingress[0].defaultEndpoint: "
                  "'10.0.0.1:80' is not 127.0.0.1:PORT, 0.0.0.0:PORT, [::1]:PORT, "
                  "[::]:PORT, :PORT or unix:///path"));
}

TEST(SidecarTest, RejectsEgressProxyWithRegistryOnly) {
  EXPECT_THAT(sidecarErrors("  outboundTrafficPolicy:\n    mode: REGISTRY_ONLY\n"
                            "    egressProxy: {host: proxy, port: {number: 3128}}\n"),
              ElementsAre("t.yaml:7: error: Sidecar default/x: spec.outboundTrafficPolicy."
                          "egressProxy: egressProxy may only be set with mode ALLOW_ANY"));
}

TEST(SidecarTest, RejectsDuplicateIngressPort) {
  EXPECT_THAT(sidecarErrors("  ingress:\n  - port: {number: 80}\n  - port: {number: 80}\n"),
              ElementsAre("t.yaml:7: error: Sidecar default/x: spec.ingress[1].port.number: "
                          "ingress port 80 is used by an earlier listener"));
}

} // namespace
} // namespace meshd::control::config
