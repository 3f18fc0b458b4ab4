// Tests for the kinds the service registry is built on: Kubernetes Service and Namespace,
// LocalWorkload, ServiceEntry, WorkloadEntry and WorkloadGroup.
#include "control/config/kube/service.h"
#include "control/config/local_workload.h"
#include "control/config/networking/service_entry.h"
#include "control/config/networking/workload_entry.h"
#include "test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace meshd::control::config {
namespace {

using testing::diagnosticsOf;
using ::testing::ElementsAre;
using testing::parsedFrom;

constexpr std::string_view kService = R"(apiVersion: v1
kind: Service
metadata:
  name: reviews
  namespace: bookinfo
  labels: {app: reviews, service: reviews}
spec:
  selector: {app: reviews}
  ports:
  - name: http
    port: 9080
  - name: grpc-admin
    port: 9090
    targetPort: admin
    appProtocol: grpc
)";

TEST(KubeServiceTest, ReadsPortsAndSelector) {
  const std::optional<KubeService> service = parsedFrom(kService, parseKubeService);
  ASSERT_TRUE(service.has_value());
  EXPECT_EQ(service->meta.name, "reviews");
  EXPECT_EQ(service->meta.ns, "bookinfo");
  EXPECT_EQ(service->meta.labels.at("service"), "reviews");
  EXPECT_EQ(service->selector, (Labels{{"app", "reviews"}}));
  EXPECT_EQ(service->type, KubeService::Type::kClusterIP);
  ASSERT_EQ(service->ports.size(), 2u);
  EXPECT_EQ(service->ports[0].name, "http");
  EXPECT_EQ(service->ports[0].port, 9080u);
  EXPECT_EQ(service->ports[0].protocol, "TCP");
  EXPECT_EQ(KubeService::numericTargetPort(service->ports[0]), 9080u);
  EXPECT_EQ(service->ports[1].targetPortName, "admin");
  EXPECT_EQ(KubeService::numericTargetPort(service->ports[1]), 0u);
  EXPECT_EQ(service->ports[1].appProtocol, "grpc");
}

TEST(KubeServiceTest, RejectsUnnamedPortsWhenThereAreSeveral) {
  EXPECT_THAT(diagnosticsOf(R"(apiVersion: v1
kind: Service
metadata: {name: s}
spec:
  ports:
  - port: 80
  - {name: b, port: 81}
)",
                            parseKubeService),
              ElementsAre("t.yaml:6: error: Service default/s: spec.ports[0].name: a port name is "
                          "required when a Service has more than one port"));
}

TEST(KubeServiceTest, RejectsPortOutOfRange) {
  EXPECT_THAT(diagnosticsOf("apiVersion: v1\nkind: Service\nmetadata: {name: s}\n"
                            "spec:\n  ports:\n  - port: 70000\n",
                            parseKubeService),
              ElementsAre("t.yaml:6: error: Service default/s: spec.ports[0].port: must be "
                          "between 1 and 65535 (got 70000)"));
}

TEST(KubeServiceTest, RejectsBadServiceType) {
  EXPECT_THAT(diagnosticsOf("apiVersion: v1\nkind: Service\nmetadata: {name: s}\n"
                            "spec:\n  type: Cluster\n",
                            parseKubeService),
              ElementsAre("t.yaml:5: error: Service default/s: spec.type: 'Cluster' is not one of "
                          "ClusterIP, NodePort, LoadBalancer, ExternalName"));
}

TEST(KubeServiceTest, RejectsUnknownFieldWithSuggestion) {
  EXPECT_THAT(diagnosticsOf("apiVersion: v1\nkind: Service\nmetadata: {name: s}\n"
                            "spec:\n  selecter: {app: a}\n",
                            parseKubeService),
              ElementsAre("t.yaml:5: error: Service default/s: spec.selecter: unknown field "
                          "'selecter' (did you mean 'selector'?)"));
}

TEST(KubeServiceTest, RejectsBadLabelValue) {
  EXPECT_THAT(diagnosticsOf("apiVersion: v1\nkind: Service\nmetadata: {name: s}\n"
                            "spec:\n  selector: {app: -x}\n",
                            parseKubeService),
              ElementsAre("t.yaml:5: error: Service default/s: spec.selector.app: '-x' is not a "
                          "valid label value (letters, digits, '-', '_' and '.', starting and "
                          "ending with a letter or digit, at most 63 characters)"));
}

TEST(KubeNamespaceTest, ReadsLabelsAndRejectsWrongTypes) {
  const std::optional<KubeNamespace> ns =
      parsedFrom("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: bookinfo\n  labels:\n"
                 "    istio-injection: enabled\n",
                 parseKubeNamespace);
  ASSERT_TRUE(ns.has_value());
  EXPECT_EQ(ns->meta.labels, (Labels{{"istio-injection", "enabled"}}));
  EXPECT_THAT(diagnosticsOf("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: n\n"
                            "  labels: [a]\n",
                            parseKubeNamespace),
              ElementsAre("t.yaml:5: error: Namespace n: metadata.labels: must be an object (got "
                          "a list)"));
}

constexpr std::string_view kLocalWorkload = R"(apiVersion: meshd.io/v1alpha1
kind: LocalWorkload
metadata: {name: reviews-v1, namespace: bookinfo}
spec:
  labels: {app: reviews, version: v1}
  serviceAccount: bookinfo-reviews
  ports:
  - {name: http, port: 9080, protocol: HTTP}
  command: [python3, -m, http.server, "9080"]
  env: {LOG_LEVEL: debug}
  replicas: 2
)";

TEST(LocalWorkloadTest, ReadsEveryField) {
  const std::optional<LocalWorkload> workload = parsedFrom(kLocalWorkload, parseLocalWorkload);
  ASSERT_TRUE(workload.has_value());
  EXPECT_EQ(workload->labels, (Labels{{"app", "reviews"}, {"version", "v1"}}));
  EXPECT_EQ(workload->serviceAccount, "bookinfo-reviews");
  ASSERT_EQ(workload->ports.size(), 1u);
  EXPECT_EQ(workload->ports[0].port, 9080u);
  EXPECT_EQ(workload->ports[0].protocol, Protocol::kHttp);
  EXPECT_THAT(workload->command, ElementsAre("python3", "-m", "http.server", "9080"));
  EXPECT_EQ(workload->env.at("LOG_LEVEL"), "debug");
  EXPECT_EQ(workload->replicas, 2u);
}

TEST(LocalWorkloadTest, DefaultsServiceAccountAndReplicas) {
  const std::optional<LocalWorkload> workload =
      parsedFrom("apiVersion: meshd.io/v1alpha1\nkind: LocalWorkload\nmetadata: {name: w}\n"
                 "spec:\n  command: [./app]\n",
                 parseLocalWorkload);
  ASSERT_TRUE(workload.has_value());
  EXPECT_EQ(workload->serviceAccount, "default");
  EXPECT_EQ(workload->replicas, 1u);
}

TEST(LocalWorkloadTest, RequiresCommand) {
  EXPECT_THAT(diagnosticsOf("apiVersion: meshd.io/v1alpha1\nkind: LocalWorkload\n"
                            "metadata: {name: w}\nspec:\n  labels: {app: a}\n",
                            parseLocalWorkload),
              ElementsAre("t.yaml:5: error: LocalWorkload default/w: spec.command: required "
                          "field is missing"));
}

TEST(LocalWorkloadTest, RejectsEmptyCommand) {
  EXPECT_THAT(diagnosticsOf("apiVersion: meshd.io/v1alpha1\nkind: LocalWorkload\n"
                            "metadata: {name: w}\nspec:\n  command: []\n",
                            parseLocalWorkload),
              ElementsAre("t.yaml:5: error: LocalWorkload default/w: spec.command: command must "
                          "name a program (argv[0] is missing or empty)"));
}

TEST(LocalWorkloadTest, RejectsDuplicatePortsAndBadProtocol) {
  EXPECT_THAT(diagnosticsOf(R"(apiVersion: meshd.io/v1alpha1
kind: LocalWorkload
metadata: {name: w}
spec:
  command: [./app]
  ports:
  - {name: http, port: 80, protocol: HTTP}
  - {name: http, port: 80, protocol: HTTP3}
)",
                            parseLocalWorkload),
              ElementsAre("t.yaml:8: error: LocalWorkload default/w: spec.ports[1].protocol: "
                          "'HTTP3' is not a valid protocol (one of HTTP, HTTPS, HTTP2, GRPC, "
                          "GRPC-Web, TCP, TLS, Mongo, MySQL, Redis, UDP)",
                          "t.yaml:8: error: LocalWorkload default/w: spec.ports[1].name: "
                          "duplicate port name 'http'",
                          "t.yaml:8: error: LocalWorkload default/w: spec.ports[1].port: "
                          "duplicate port 80"));
}

TEST(LocalWorkloadTest, RejectsBadEnvNameAndReplicas) {
  EXPECT_THAT(diagnosticsOf(R"(apiVersion: meshd.io/v1alpha1
kind: LocalWorkload
metadata: {name: w}
spec:
  command: [./app]
  env: {1X: a}
  replicas: 0
)",
                            parseLocalWorkload),
              ElementsAre("t.yaml:6: error: LocalWorkload default/w: spec.env.1X: '1X' is not a "
                          "valid environment variable name (letters, digits and '_', not "
                          "starting with a digit)",
                          "t.yaml:7: error: LocalWorkload default/w: spec.replicas: must be "
                          "between 1 and 64 (got 0)"));
}

constexpr std::string_view kServiceEntry = R"(apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: external-api}
spec:
  hosts: [api.example.com]
  addresses: [240.0.0.10]
  ports:
  - {number: 443, name: https, protocol: TLS}
  - {number: 80, name: http, protocol: http, targetPort: 8080}
  location: MESH_EXTERNAL
  resolution: DNS
  endpoints:
  - address: us.api.example.com
    ports: {https: 8443}
    labels: {region: us}
    locality: us-east1/a
    weight: 3
  exportTo: ["."]
)";

TEST(ServiceEntryTest, ReadsEveryField) {
  const std::optional<ServiceEntry> entry = parsedFrom(kServiceEntry, parseServiceEntry);
  ASSERT_TRUE(entry.has_value());
  EXPECT_THAT(entry->hosts, ElementsAre("api.example.com"));
  EXPECT_THAT(entry->addresses, ElementsAre("240.0.0.10"));
  ASSERT_EQ(entry->ports.size(), 2u);
  EXPECT_EQ(entry->ports[0].protocol, Protocol::kTls);
  EXPECT_EQ(entry->ports[1].protocol, Protocol::kHttp);
  EXPECT_EQ(entry->ports[1].targetPort, 8080u);
  EXPECT_EQ(entry->resolution, ServiceEntry::Resolution::kDns);
  EXPECT_EQ(entry->location, ServiceEntry::Location::kMeshExternal);
  ASSERT_EQ(entry->endpoints.size(), 1u);
  EXPECT_EQ(entry->endpoints[0].address, "us.api.example.com");
  EXPECT_EQ(entry->endpoints[0].ports.at("https"), 8443u);
  EXPECT_EQ(entry->endpoints[0].weight, 3u);
  EXPECT_EQ(entry->endpoints[0].locality, "us-east1/a");
  EXPECT_THAT(entry->exportTo, ElementsAre("."));
}

std::string serviceEntryWith(std::string_view specLines) {
  return "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: se}\nspec:\n" +
         std::string(specLines);
}

TEST(ServiceEntryTest, RequiresHosts) {
  EXPECT_THAT(diagnosticsOf(serviceEntryWith("  resolution: DNS\n"), parseServiceEntry),
              ElementsAre("t.yaml:5: error: ServiceEntry default/se: spec.hosts: required field "
                          "is missing"));
}

TEST(ServiceEntryTest, RejectsStarHost) {
  EXPECT_THAT(diagnosticsOf(serviceEntryWith("  hosts: ['*']\n"), parseServiceEntry),
              ElementsAre("t.yaml:5: error: ServiceEntry default/se: spec.hosts[0]: '*' is not "
                          "allowed as a service entry host"));
}

TEST(ServiceEntryTest, RejectsStaticEndpointWithHostName) {
  EXPECT_THAT(diagnosticsOf(serviceEntryWith("  hosts: [a.example.com]\n  resolution: STATIC\n"
                                             "  endpoints:\n  - address: b.example.com\n"),
                            parseServiceEntry),
              ElementsAre("t.yaml:8: error: ServiceEntry default/se: spec.endpoints[0].address: "
                          "'b.example.com' is not an IP address or unix:///path (resolution "
                          "STATIC takes addresses, not host names)"));
}

TEST(ServiceEntryTest, WarnsThatMeshProxyCannotReachAUnixSocketEndpoint) {
  EXPECT_THAT(diagnosticsOf(serviceEntryWith("  hosts: [a.example.com]\n  resolution: STATIC\n"
                                             "  endpoints:\n  - address: unix:///run/a.sock\n"),
                            parseServiceEntry),
              ElementsAre("t.yaml:8: warning: ServiceEntry default/se: spec.endpoints[0].address: "
                          "mesh-proxy does not connect to unix sockets yet: proxies that see this "
                          "endpoint reject the endpoint update that carries it (NACK)"));
}

TEST(ServiceEntryTest, RejectsEndpointsWithResolutionNone) {
  EXPECT_THAT(diagnosticsOf(serviceEntryWith("  hosts: [a.example.com]\n"
                                             "  endpoints:\n  - address: 1.2.3.4\n"),
                            parseServiceEntry),
              ElementsAre("t.yaml:7: error: ServiceEntry default/se: spec.endpoints: endpoints "
                          "are not allowed with resolution NONE"));
}

TEST(ServiceEntryTest, RejectsWildcardHostWithDnsAndNoEndpoints) {
  EXPECT_THAT(diagnosticsOf(serviceEntryWith("  hosts: ['*.example.com']\n  resolution: DNS\n"),
                            parseServiceEntry),
              ElementsAre("t.yaml:5: error: ServiceEntry default/se: spec.hosts[0]: wildcard host "
                          "'*.example.com' needs endpoints with DNS resolution"));
}

TEST(ServiceEntryTest, RejectsDuplicatePortAndUnknownEndpointPort) {
  EXPECT_THAT(
      diagnosticsOf(serviceEntryWith(R"(  hosts: [a.example.com]
  resolution: STATIC
  ports:
  - {number: 80, name: http}
  - {number: 80, name: http2}
  endpoints:
  - {address: 1.2.3.4, ports: {grpc: 90}}
)"),
                    parseServiceEntry),
      ElementsAre("t.yaml:9: error: ServiceEntry default/se: spec.ports[1].number: port "
                  "80 is already defined",
                  "t.yaml:11: error: ServiceEntry default/se: spec.endpoints[0].ports.grpc: "
                  "endpoint port 'grpc' is not a port of the service entry"));
}

TEST(ServiceEntryTest, RejectsBadAddressAndExportTo) {
  EXPECT_THAT(diagnosticsOf(serviceEntryWith("  hosts: [a.example.com]\n"
                                             "  addresses: [10.0.0.0/33]\n"
                                             "  exportTo: ['*', '.']\n"),
                            parseServiceEntry),
              ElementsAre("t.yaml:6: error: ServiceEntry default/se: spec.addresses[0]: "
                          "'10.0.0.0/33' is not a valid CIDR block (prefix length 0-32)",
                          "t.yaml:7: error: ServiceEntry default/se: spec.exportTo[0]: '*' cannot "
                          "be combined with other exportTo values"));
}

TEST(ServiceEntryTest, RejectsCidrWithDnsAndSeveralHostsOnTcp) {
  EXPECT_THAT(diagnosticsOf(serviceEntryWith(R"(  hosts: [a.example.com, b.example.com]
  addresses: [10.0.0.0/24]
  ports: [{number: 5432, name: tcp-db, protocol: TCP}]
  resolution: DNS
)"),
                            parseServiceEntry),
              ElementsAre("t.yaml:6: error: ServiceEntry default/se: spec.addresses: CIDR "
                          "addresses are allowed only with resolution NONE or STATIC",
                          "t.yaml:7: error: ServiceEntry default/se: spec.ports[0].protocol: "
                          "several hosts need HTTP or TLS ports (a plain TCP port cannot tell the "
                          "hosts apart)"));
}

TEST(ServiceEntryTest, RejectsDynamicDns) {
  EXPECT_THAT(diagnosticsOf(serviceEntryWith("  hosts: [a.example.com]\n"
                                             "  resolution: DYNAMIC_DNS\n"),
                            parseServiceEntry),
              ElementsAre("t.yaml:6: error: ServiceEntry default/se: spec.resolution: resolution "
                          "DYNAMIC_DNS is not supported"));
}

TEST(ServiceEntryTest, MayBeExportedToNobody) {
  EXPECT_THAT(diagnosticsOf(serviceEntryWith("  hosts: [a.example.com]\n  exportTo: ['~']\n"),
                            parseServiceEntry),
              ElementsAre());
}

TEST(ServiceEntryTest, RejectsEndpointsWithWorkloadSelector) {
  EXPECT_THAT(diagnosticsOf(serviceEntryWith("  hosts: [a.example.com]\n  resolution: STATIC\n"
                                             "  workloadSelector: {labels: {app: a}}\n"
                                             "  endpoints: [{address: 1.2.3.4}]\n"),
                            parseServiceEntry),
              ElementsAre("t.yaml:7: error: ServiceEntry default/se: spec.workloadSelector: only "
                          "one of 'endpoints' and 'workloadSelector' may be set"));
}

TEST(WorkloadEntryTest, ReadsEntryAndRequiresAddress) {
  const std::optional<WorkloadEntryObject> entry = parsedFrom(R"(apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: vm-1}
spec:
  address: 10.0.0.5
  labels: {app: ratings}
  serviceAccount: ratings
  ports: {http: 9080}
)",
                                                              parseWorkloadEntry);
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->spec.address, "10.0.0.5");
  EXPECT_EQ(entry->spec.ports.at("http"), 9080u);
  EXPECT_EQ(entry->spec.serviceAccount, "ratings");
  EXPECT_THAT(diagnosticsOf("apiVersion: networking.istio.io/v1\nkind: WorkloadEntry\n"
                            "metadata: {name: vm}\nspec:\n  labels: {app: a}\n",
                            parseWorkloadEntry),
              ElementsAre("t.yaml:5: error: WorkloadEntry default/vm: spec.address: address is "
                          "required (unless network is set)"));
}

TEST(WorkloadEntryTest, RejectsBadPortValueAndUnknownField) {
  EXPECT_THAT(diagnosticsOf("apiVersion: networking.istio.io/v1\nkind: WorkloadEntry\n"
                            "metadata: {name: vm}\nspec:\n  address: 1.2.3.4\n"
                            "  ports: {http: 0}\n  lables: {}\n",
                            parseWorkloadEntry),
              ElementsAre("t.yaml:7: error: WorkloadEntry default/vm: spec.lables: unknown field "
                          "'lables' (did you mean 'labels'?)",
                          "t.yaml:6: error: WorkloadEntry default/vm: spec.ports.http: must be a "
                          "port number between 1 and 65535 (got 0)"));
}

TEST(WorkloadEntryTest, QuotesInvalidUtf8InMessagesWithoutThrowing) {
  // Found by config_fuzz: nlohmann's dump() throws on invalid UTF-8.
  EXPECT_THAT(diagnosticsOf("apiVersion: networking.istio.io/v1\nkind: WorkloadEntry\n"
                            "metadata: {name: vm}\nspec:\n  address: 1.2.3.4\n"
                            "  ports: {http: \"a\xff\"}\n",
                            parseWorkloadEntry),
              ElementsAre("t.yaml:6: error: WorkloadEntry default/vm: spec.ports.http: must be a "
                          "port number between 1 and 65535 (got \"a\xEF\xBF\xBD\")"));
}

TEST(WorkloadEntryTest, RejectsUnixSocketWithPortsAndWarnsAboutNetworkOnly) {
  EXPECT_THAT(diagnosticsOf("apiVersion: networking.istio.io/v1\nkind: WorkloadEntry\n"
                            "metadata: {name: vm}\nspec:\n  address: unix:///run/app.sock\n"
                            "  ports: {http: 80}\n",
                            parseWorkloadEntry),
              ElementsAre("t.yaml:5: warning: WorkloadEntry default/vm: spec.address: mesh-proxy "
                          "does not connect to unix sockets yet: proxies that see this endpoint "
                          "reject the endpoint update that carries it (NACK)",
                          "t.yaml:6: error: WorkloadEntry default/vm: spec.ports: a unix socket "
                          "endpoint has no ports"));
  EXPECT_THAT(diagnosticsOf("apiVersion: networking.istio.io/v1\nkind: WorkloadEntry\n"
                            "metadata: {name: vm}\nspec:\n  network: vm-net\n",
                            parseWorkloadEntry),
              ElementsAre("t.yaml:5: warning: WorkloadEntry default/vm: spec.network: address is "
                          "unset with network 'vm-net' (reached through the network's gateway)"));
}

TEST(WorkloadGroupTest, ReadsTemplateAndProbe) {
  const std::optional<WorkloadGroup> group = parsedFrom(R"(apiVersion: networking.istio.io/v1
kind: WorkloadGroup
metadata: {name: ratings-vm}
spec:
  metadata:
    labels: {app: ratings}
  template:
    serviceAccount: ratings
    network: vm-net
  probe:
    periodSeconds: 5
    httpGet: {path: /ready, port: 9080}
)",
                                                        parseWorkloadGroup);
  ASSERT_TRUE(group.has_value());
  EXPECT_EQ(group->templateLabels.at("app"), "ratings");
  EXPECT_EQ(group->entryTemplate.serviceAccount, "ratings");
  ASSERT_TRUE(group->probe.has_value());
  EXPECT_EQ(group->probe->periodSeconds, 5);
  ASSERT_TRUE(std::holds_alternative<HttpHealthCheck>(group->probe->check));
  EXPECT_EQ(std::get<HttpHealthCheck>(group->probe->check).path, "/ready");
}

TEST(WorkloadGroupTest, RejectsTemplateAddressAndTwoProbeKinds) {
  EXPECT_THAT(diagnosticsOf(R"(apiVersion: networking.istio.io/v1
kind: WorkloadGroup
metadata: {name: g}
spec:
  template: {address: 1.2.3.4}
  probe:
    tcpSocket: {port: 80}
    exec: {command: ["true"]}
)",
                            parseWorkloadGroup),
              ElementsAre("t.yaml:5: error: WorkloadGroup default/g: spec.template.address: "
                          "address is not allowed in a WorkloadGroup template",
                          "t.yaml:8: error: WorkloadGroup default/g: spec.probe.exec: only one of "
                          "'httpGet', 'tcpSocket', 'exec', 'grpc' may be set (found 'tcpSocket', "
                          "'exec')"));
}

TEST(WorkloadGroupTest, RequiresTemplate) {
  EXPECT_THAT(diagnosticsOf("apiVersion: networking.istio.io/v1\nkind: WorkloadGroup\n"
                            "metadata: {name: g}\nspec: {}\n",
                            parseWorkloadGroup),
              ElementsAre("t.yaml:4: error: WorkloadGroup default/g: spec.template: required "
                          "field is missing"));
}

} // namespace
} // namespace meshd::control::config
