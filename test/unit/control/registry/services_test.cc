// Services from Kubernetes Services: hostnames, ports, selection of instances in the same
// namespace, headless and ExternalName services, exportTo, short names, duplicate hostnames and
// deterministic order.
#include <algorithm>

#include "test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace meshd::control::registry {
namespace {

using testing::addresses;
using ::testing::ElementsAre;
using testing::hostnames;
using ::testing::IsEmpty;
using testing::objectsFrom;
using testing::process;
using testing::registryFrom;
using testing::strings;

constexpr std::string_view kReviews = R"(apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: bookinfo}
spec:
  clusterIP: 10.96.0.20
  selector: {app: reviews}
  ports:
  - {name: http, port: 9080}
)";

TEST(KubeServiceTest, DefinesTheClusterLocalService) {
  const Registry registry = registryFrom(kReviews);
  const Service* service = registry.service("reviews.bookinfo.svc.cluster.local");
  ASSERT_NE(service, nullptr);
  EXPECT_EQ(service->ns, "bookinfo");
  EXPECT_EQ(service->owner.toString(), "Service bookinfo/reviews");
  EXPECT_THAT(service->addresses, ElementsAre("10.96.0.20"));
  EXPECT_EQ(service->resolution, Resolution::kClientSideLb);
  EXPECT_EQ(service->location, Location::kMeshInternal);
  EXPECT_THAT(service->exportTo, ElementsAre("*"));
  ASSERT_EQ(service->ports.size(), 1u);
  EXPECT_EQ(service->ports[0], (ServicePort{"http", 9080, Protocol::kHttp, 9080, ""}));
  EXPECT_EQ(registry.service("reviews"), nullptr);
  EXPECT_EQ(registry.service("reviews.other.svc.cluster.local"), nullptr);
}

TEST(KubeServiceTest, SelectsInstancesInItsNamespaceOnly) {
  const Registry registry = registryFrom(
      kReviews,
      {process("reviews-1", "bookinfo", {{"app", "reviews"}}, "10.0.0.1"),
       process("ratings-1", "bookinfo", {{"app", "ratings"}}, "10.0.0.2"),
       process("reviews-x", "other", {{"app", "reviews"}}, "10.0.0.3"),
       process("reviews-2", "bookinfo", {{"app", "reviews"}, {"version", "v2"}}, "10.0.0.4")});
  EXPECT_THAT(addresses(registry.endpoints("reviews.bookinfo.svc.cluster.local", 9080)),
              ElementsAre("10.0.0.1:9080", "10.0.0.4:9080 v2"));
  const ServiceEndpoint& endpoint = registry.endpoints("reviews.bookinfo.svc.cluster.local")[1];
  EXPECT_EQ(endpoint.servicePort, 9080u);
  EXPECT_EQ(endpoint.servicePortName, "http");
  EXPECT_EQ(endpoint.workloadName, "reviews-2");
  EXPECT_EQ(endpoint.workloadNamespace, "bookinfo");
  EXPECT_EQ(endpoint.serviceAccount, "default");
  EXPECT_EQ(endpoint.tlsMode, "istio");
  EXPECT_EQ(endpoint.addressKind, AddressKind::kIp);
  EXPECT_TRUE(endpoint.healthy);
}

TEST(KubeServiceTest, MapsPortsToTargetPortsByNumberAndByName) {
  const Registry registry = registryFrom(
      R"(apiVersion: v1
kind: Service
metadata: {name: web, namespace: ns}
spec:
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: 8080}
  - {name: grpc-admin, port: 9090, targetPort: admin}
)",
      {process("web-a", "ns", {{"app", "web"}}, "10.0.0.1", {{"admin", 9901}}),
       process("web-b", "ns", {{"app", "web"}}, "10.0.0.2", {{"http", 8081}})});
  const std::string host = "web.ns.svc.cluster.local";
  EXPECT_THAT(addresses(registry.endpoints(host, 80)),
              ElementsAre("10.0.0.1:8080", "10.0.0.2:8080"));
  // web-b has no port named "admin": Kubernetes leaves it out of that port's endpoints.
  EXPECT_THAT(addresses(registry.endpoints(host, 9090)), ElementsAre("10.0.0.1:9901"));
  EXPECT_THAT(addresses(registry.endpoints(host, 7777)), IsEmpty());
  EXPECT_EQ(registry.endpoints(host).size(), 3u);
  const Service* service = registry.service(host);
  ASSERT_NE(service, nullptr);
  EXPECT_EQ(service->port(9090)->targetPortName, "admin");
  EXPECT_EQ(service->port(9090)->protocol, Protocol::kGrpc);
  EXPECT_EQ(service->portNamed("http")->targetPort, 8080u);
  // No clusterIP given: meshd allocates none, the service is still load balanced.
  EXPECT_THAT(service->addresses, IsEmpty());
  EXPECT_EQ(service->resolution, Resolution::kClientSideLb);
}

TEST(KubeServiceTest, EmptySelectorSelectsNothing) {
  const Registry registry = registryFrom("apiVersion: v1\nkind: Service\n"
                                         "metadata: {name: manual, namespace: ns}\n"
                                         "spec:\n  ports:\n  - {name: http, port: 80}\n",
                                         {process("any", "ns", {{"app", "any"}}, "10.0.0.1")});
  EXPECT_THAT(registry.endpoints("manual.ns.svc.cluster.local"), IsEmpty());
  EXPECT_THAT(registry.instancesFor("manual.ns.svc.cluster.local"), IsEmpty());
}

TEST(KubeServiceTest, HeadlessServiceIsPassthroughWithEndpoints) {
  const Registry registry = registryFrom(R"(apiVersion: v1
kind: Service
metadata: {name: db, namespace: ns}
spec:
  clusterIP: None
  selector: {app: db}
  ports:
  - {name: tcp-db, port: 5432}
)",
                                         {process("db-0", "ns", {{"app", "db"}}, "10.0.0.7")});
  const Service* service = registry.service("db.ns.svc.cluster.local");
  ASSERT_NE(service, nullptr);
  EXPECT_EQ(service->resolution, Resolution::kPassthrough);
  EXPECT_THAT(service->addresses, IsEmpty());
  EXPECT_EQ(service->ports[0].protocol, Protocol::kTcp);
  EXPECT_THAT(addresses(registry.endpoints("db.ns.svc.cluster.local")),
              ElementsAre("10.0.0.7:5432"));
}

TEST(KubeServiceTest, ExternalNameIsDnsToTheExternalName) {
  const Registry registry = registryFrom(R"(apiVersion: v1
kind: Service
metadata: {name: books, namespace: ns}
spec:
  type: ExternalName
  externalName: www.googleapis.com
  ports:
  - {name: https, port: 443}
)");
  const Service* service = registry.service("books.ns.svc.cluster.local");
  ASSERT_NE(service, nullptr);
  EXPECT_EQ(service->resolution, Resolution::kDns);
  EXPECT_EQ(service->location, Location::kMeshExternal);
  EXPECT_EQ(service->externalName, "www.googleapis.com");
  const auto endpoints = registry.endpoints("books.ns.svc.cluster.local");
  EXPECT_THAT(addresses(endpoints), ElementsAre("www.googleapis.com:443"));
  EXPECT_EQ(endpoints[0].addressKind, AddressKind::kHostName);
  EXPECT_EQ(endpoints[0].tlsMode, "disabled");
}

constexpr std::string_view kThreeServices = R"(apiVersion: v1
kind: Service
metadata:
  name: private
  namespace: a
  annotations: {networking.istio.io/exportTo: "."}
spec:
  ports: [{name: http, port: 80}]
---
apiVersion: v1
kind: Service
metadata:
  name: shared
  namespace: a
  annotations: {networking.istio.io/exportTo: "b, c"}
spec:
  ports: [{name: http, port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: public, namespace: a}
spec:
  ports: [{name: http, port: 80}]
)";

TEST(KubeServiceTest, ExportToAnnotationLimitsVisibility) {
  const Registry registry = registryFrom(kThreeServices);
  EXPECT_THAT(hostnames(registry.servicesVisibleFrom("a")),
              ElementsAre("private.a.svc.cluster.local", "public.a.svc.cluster.local"));
  EXPECT_THAT(hostnames(registry.servicesVisibleFrom("b")),
              ElementsAre("public.a.svc.cluster.local", "shared.a.svc.cluster.local"));
  EXPECT_THAT(hostnames(registry.servicesVisibleFrom("z")),
              ElementsAre("public.a.svc.cluster.local"));
  EXPECT_THAT(registry.service("shared.a.svc.cluster.local")->exportTo, ElementsAre("b", "c"));
}

TEST(KubeServiceTest, ResolvesShortNamesInTheReadersNamespace) {
  const Registry registry = registryFrom(kThreeServices);
  ASSERT_NE(registry.resolve("private", "a"), nullptr);
  EXPECT_EQ(registry.resolve("private", "a")->hostname, "private.a.svc.cluster.local");
  EXPECT_EQ(registry.resolve("public", "b"), nullptr); // public.b.svc.cluster.local
  EXPECT_EQ(registry.resolve("public.a.svc.cluster.local", "b")->hostname,
            "public.a.svc.cluster.local");
  // Exists, but not exported to b.
  EXPECT_EQ(registry.resolve("private.a.svc.cluster.local", "b"), nullptr);
  EXPECT_THAT(hostnames(registry.servicesCoveredBy("*.a.svc.cluster.local", "b")),
              ElementsAre("public.a.svc.cluster.local", "shared.a.svc.cluster.local"));
  EXPECT_THAT(hostnames(registry.servicesCoveredBy("public", "a")),
              ElementsAre("public.a.svc.cluster.local"));
}

TEST(KubeServiceTest, OldestDefinitionOfAHostnameWins) {
  std::vector<config::Diagnostic> diagnostics;
  const Registry registry = Registry::build(objectsFrom(R"(apiVersion: v1
kind: Service
metadata:
  name: reviews
  namespace: bookinfo
  creationTimestamp: "2024-05-02T10:00:00Z"
spec:
  ports: [{name: http, port: 9080}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: reviews-vm
  namespace: vms
  creationTimestamp: "2024-05-01T10:00:00Z"
spec:
  hosts: [reviews.bookinfo.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{name: http, number: 9080, protocol: HTTP}]
  endpoints: [{address: 10.1.0.1}]
)"),
                                            {}, diagnostics);
  EXPECT_THAT(strings(diagnostics),
              ElementsAre("t.yaml:4: warning: Service bookinfo/reviews: metadata.name: host "
                          "'reviews.bookinfo.svc.cluster.local' is also defined by ServiceEntry "
                          "vms/reviews-vm, which takes precedence (created earlier); this "
                          "definition is ignored"));
  EXPECT_EQ(registry.service("reviews.bookinfo.svc.cluster.local")->owner.toString(),
            "ServiceEntry vms/reviews-vm");
  EXPECT_EQ(registry.services().size(), 1u);
}

TEST(KubeServiceTest, WithoutCreationTimesNamespaceAndNameDecide) {
  std::vector<config::Diagnostic> diagnostics;
  const Registry registry = Registry::build(objectsFrom(R"(apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: z-api, namespace: b}
spec:
  hosts: [api.example.com]
  resolution: DNS
  ports: [{name: https, number: 443, protocol: TLS}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: a-api, namespace: b}
spec:
  hosts: [api.example.com]
  resolution: DNS
  ports: [{name: https, number: 443, protocol: TLS}]
)"),
                                            {}, diagnostics);
  EXPECT_THAT(strings(diagnostics),
              ElementsAre("t.yaml:5: warning: ServiceEntry b/z-api: spec.hosts[0]: host "
                          "'api.example.com' is also defined by ServiceEntry b/a-api, which takes "
                          "precedence (first by namespace and name); this definition is ignored"));
  EXPECT_EQ(registry.service("api.example.com")->owner.name, "a-api");
}

TEST(KubeServiceTest, SkipsObjectsThatFailToParse) {
  std::vector<config::Diagnostic> diagnostics;
  const Registry registry = Registry::build(objectsFrom(std::string(kReviews) + R"(---
apiVersion: v1
kind: Service
metadata: {name: broken, namespace: bookinfo}
spec:
  ports: [{name: http, port: 70000}]
)"),
                                            {}, diagnostics);
  EXPECT_THAT(strings(diagnostics),
              ElementsAre("t.yaml:14: error: Service bookinfo/broken: spec.ports[0].port: must be "
                          "between 1 and 65535 (got 70000)"));
  EXPECT_THAT(hostnames(registry.services()), ElementsAre("reviews.bookinfo.svc.cluster.local"));
}

TEST(KubeServiceTest, OrderDoesNotDependOnInputOrder) {
  std::vector<config::ConfigObject> objects =
      objectsFrom(std::string(kThreeServices) + "---\n" + std::string(kReviews));
  std::vector<WorkloadInstance> instances = {
      process("r-2", "bookinfo", {{"app", "reviews"}}, "10.0.0.9"),
      process("r-1", "bookinfo", {{"app", "reviews"}}, "10.0.0.10"),
      process("r-3", "bookinfo", {{"app", "reviews"}}, "10.0.0.1")};
  std::vector<config::Diagnostic> diagnostics;
  const Registry forward = Registry::build(objects, instances, diagnostics);
  std::reverse(objects.begin(), objects.end());
  std::reverse(instances.begin(), instances.end());
  const Registry backward = Registry::build(objects, instances, diagnostics);
  EXPECT_THAT(diagnostics, IsEmpty());
  EXPECT_THAT(hostnames(forward.services()),
              ElementsAre("private.a.svc.cluster.local", "public.a.svc.cluster.local",
                          "reviews.bookinfo.svc.cluster.local", "shared.a.svc.cluster.local"));
  EXPECT_EQ(hostnames(forward.services()), hostnames(backward.services()));
  const std::string host = "reviews.bookinfo.svc.cluster.local";
  // Sorted as strings: 10.0.0.1, 10.0.0.10, 10.0.0.9.
  EXPECT_THAT(addresses(forward.endpoints(host)),
              ElementsAre("10.0.0.1:9080", "10.0.0.10:9080", "10.0.0.9:9080"));
  EXPECT_TRUE(std::ranges::equal(forward.endpoints(host), backward.endpoints(host)));
  EXPECT_EQ(forward.endpointsVersion(host), backward.endpointsVersion(host));
  EXPECT_TRUE(changedServices(forward, backward).empty());
}

TEST(KubeServiceTest, TellsWhichServicesSelectAnInstance) {
  const WorkloadInstance reviews =
      process("reviews-1", "bookinfo", {{"app", "reviews"}}, "10.0.0.1");
  const WorkloadInstance stray = process("reviews-x", "other", {{"app", "reviews"}}, "10.0.0.3");
  const Registry registry = registryFrom(std::string(kReviews) + R"(---
apiVersion: v1
kind: Service
metadata: {name: everything, namespace: bookinfo}
spec:
  selector: {app: reviews}
  ports: [{name: tcp, port: 7000}]
)",
                                         {reviews, stray});
  EXPECT_THAT(
      hostnames(registry.servicesOf(reviews)),
      ElementsAre("everything.bookinfo.svc.cluster.local", "reviews.bookinfo.svc.cluster.local"));
  EXPECT_THAT(registry.servicesOf(stray), IsEmpty());
  const auto selected = registry.instancesFor("reviews.bookinfo.svc.cluster.local");
  ASSERT_EQ(selected.size(), 1u);
  EXPECT_EQ(selected[0]->name, "reviews-1");
}

} // namespace
} // namespace meshd::control::registry
