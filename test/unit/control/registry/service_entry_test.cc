// Services from ServiceEntries: one per host, resolution and location, inline endpoints and
// their ports, DNS endpoints kept as names, workloadSelector over WorkloadEntries and processes,
// and Kubernetes Services selecting WorkloadEntries.
#include "test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace meshd::control::registry {
namespace {

using testing::addresses;
using ::testing::ElementsAre;
using testing::hostnames;
using ::testing::IsEmpty;
using testing::process;
using testing::registryFrom;

TEST(ServiceEntryTest, StaticEntryWithEndpoints) {
  const Registry registry = registryFrom(R"(apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: mongo, namespace: db}
spec:
  hosts: [mymongodb.somedomain, mongo]
  addresses: [192.192.192.192/24]
  location: MESH_INTERNAL
  resolution: STATIC
  subjectAltNames: ["spiffe://cluster.local/ns/db/sa/mongo"]
  ports:
  - {number: 27018, name: mongo, protocol: TLS}
  - {number: 9000, name: http-metrics, protocol: HTTP, targetPort: 9100}
  endpoints:
  - address: 2.2.2.2
    labels: {version: v1}
    locality: us-east/a
    weight: 3
  - address: 3.3.3.3
    ports: {mongo: 27019}
    network: net-2
    serviceAccount: mongo
)");
  // One service per host; a short host resolves in the entry's namespace.
  EXPECT_THAT(hostnames(registry.services()),
              ElementsAre("mongo.db.svc.cluster.local", "mymongodb.somedomain"));
  const Service* service = registry.service("mymongodb.somedomain");
  ASSERT_NE(service, nullptr);
  EXPECT_EQ(service->owner.toString(), "ServiceEntry db/mongo");
  EXPECT_EQ(service->resolution, Resolution::kClientSideLb);
  EXPECT_EQ(service->location, Location::kMeshInternal);
  EXPECT_THAT(service->addresses, ElementsAre("192.192.192.192/24"));
  EXPECT_THAT(service->subjectAltNames, ElementsAre("spiffe://cluster.local/ns/db/sa/mongo"));
  // Several hosts need ports that tell them apart (HTTP, TLS), as Istio's validation says.
  EXPECT_EQ(service->ports[0].protocol, Protocol::kTls);
  // The endpoint's ports map wins, then the targetPort, then the service port.
  EXPECT_THAT(addresses(registry.endpoints("mymongodb.somedomain", 27018)),
              ElementsAre("2.2.2.2:27018 v1", "3.3.3.3:27019"));
  EXPECT_THAT(addresses(registry.endpoints("mymongodb.somedomain", 9000)),
              ElementsAre("2.2.2.2:9100 v1", "3.3.3.3:9100"));
  const ServiceEndpoint& first = registry.endpoints("mymongodb.somedomain", 27018)[0];
  EXPECT_EQ(first.locality, "us-east/a");
  EXPECT_EQ(first.weight, 3u);
  EXPECT_EQ(first.workloadName, "mongo");
  EXPECT_EQ(first.tlsMode, "disabled");
  const ServiceEndpoint& second = registry.endpoints("mymongodb.somedomain", 27018)[1];
  EXPECT_EQ(second.network, "net-2");
  EXPECT_EQ(second.serviceAccount, "mongo");
  EXPECT_EQ(registry.endpoints("mongo.db.svc.cluster.local").size(), 4u);
}

TEST(ServiceEntryTest, DnsEntryWithoutEndpointsResolvesItsHosts) {
  const Registry registry = registryFrom(R"(apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: google, namespace: egress}
spec:
  hosts: [www.google.com, maps.google.com]
  resolution: DNS
  ports: [{number: 443, name: https, protocol: TLS}]
)");
  const Service* service = registry.service("www.google.com");
  ASSERT_NE(service, nullptr);
  EXPECT_EQ(service->resolution, Resolution::kDns);
  EXPECT_EQ(service->location, Location::kMeshExternal); // the default
  const auto endpoints = registry.endpoints("www.google.com", 443);
  EXPECT_THAT(addresses(endpoints), ElementsAre("www.google.com:443"));
  EXPECT_EQ(endpoints[0].addressKind, AddressKind::kHostName);
  EXPECT_THAT(addresses(registry.endpoints("maps.google.com")), ElementsAre("maps.google.com:443"));
}

TEST(ServiceEntryTest, DnsEntryEndpointsStayNames) {
  const Registry registry = registryFrom(R"(apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: api, namespace: egress}
spec:
  hosts: [api.internal]
  resolution: DNS_ROUND_ROBIN
  ports: [{number: 80, name: http, protocol: HTTP, targetPort: 8080}]
  endpoints: [{address: lb.api.example.com}]
)");
  EXPECT_EQ(registry.service("api.internal")->resolution, Resolution::kDnsRoundRobin);
  const auto endpoints = registry.endpoints("api.internal", 80);
  EXPECT_THAT(addresses(endpoints), ElementsAre("lb.api.example.com:8080"));
  EXPECT_EQ(endpoints[0].addressKind, AddressKind::kHostName);
}

TEST(ServiceEntryTest, NoneResolutionIsPassthroughWithoutEndpoints) {
  const Registry registry = registryFrom(R"(apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: wiki, namespace: egress}
spec:
  hosts: ["*.wikipedia.org"]
  resolution: NONE
  exportTo: ["."]
  ports: [{number: 443, name: tls, protocol: TLS}]
)");
  const Service* service = registry.service("*.wikipedia.org");
  ASSERT_NE(service, nullptr);
  EXPECT_EQ(service->resolution, Resolution::kPassthrough);
  EXPECT_THAT(registry.endpoints("*.wikipedia.org"), IsEmpty());
  EXPECT_THAT(hostnames(registry.servicesVisibleFrom("egress")), ElementsAre("*.wikipedia.org"));
  EXPECT_THAT(registry.servicesVisibleFrom("default"), IsEmpty());
  EXPECT_EQ(registry.resolve("*.wikipedia.org", "default"), nullptr);
}

constexpr std::string_view kSelectedEntry = R"(apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: details-vm, namespace: vms}
spec:
  hosts: [details.vms.example]
  location: MESH_INTERNAL
  resolution: STATIC
  workloadSelector: {labels: {app: details}}
  ports: [{number: 9080, name: http, protocol: HTTP, targetPort: 8000}]
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: details-vm-1, namespace: vms}
spec:
  address: 10.2.0.1
  labels: {app: details, version: v2}
  serviceAccount: details
  locality: eu/west
  weight: 5
  ports: {http: 8001}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: details-vm-2, namespace: vms}
spec:
  address: 10.2.0.2
  labels: {app: details, security.istio.io/tlsMode: istio}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: details-elsewhere, namespace: other}
spec:
  address: 10.2.0.3
  labels: {app: details}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: ratings-vm, namespace: vms}
spec:
  address: 10.2.0.4
  labels: {app: ratings}
)";

TEST(ServiceEntryTest, WorkloadSelectorSelectsEntriesAndProcessesInItsNamespace) {
  const Registry registry = registryFrom(
      kSelectedEntry, {process("details-p", "vms", {{"app", "details"}}, "10.3.0.1"),
                       process("details-q", "other", {{"app", "details"}}, "10.3.0.2")});
  const auto endpoints = registry.endpoints("details.vms.example", 9080);
  EXPECT_THAT(addresses(endpoints),
              ElementsAre("10.2.0.1:8001 v2", "10.2.0.2:8000", "10.3.0.1:8000"));
  EXPECT_EQ(endpoints[0].serviceAccount, "details");
  EXPECT_EQ(endpoints[0].locality, "eu/west");
  EXPECT_EQ(endpoints[0].weight, 5u);
  EXPECT_EQ(endpoints[0].workloadName, "details-vm-1");
  EXPECT_EQ(endpoints[0].tlsMode, "disabled");
  EXPECT_EQ(endpoints[1].tlsMode, "istio"); // the WorkloadEntry says it runs a sidecar
  EXPECT_EQ(endpoints[2].tlsMode, "istio"); // processes always do
  std::vector<std::string> selected;
  for (const WorkloadInstance* instance : registry.instancesFor("details.vms.example")) {
    selected.push_back(instance->source);
  }
  EXPECT_THAT(selected, ElementsAre("process vms/details-p", "WorkloadEntry vms/details-vm-1",
                                    "WorkloadEntry vms/details-vm-2"));
}

TEST(ServiceEntryTest, KubernetesServiceSelectsWorkloadEntries) {
  const Registry registry = registryFrom(std::string(kSelectedEntry) + R"(---
apiVersion: v1
kind: Service
metadata: {name: details, namespace: vms}
spec:
  selector: {app: details}
  ports:
  - {name: http, port: 9080}
  - {name: tcp-admin, port: 9090, targetPort: 9091}
)");
  // A WorkloadEntry's ports map is by service port name; the others use the targetPort.
  EXPECT_THAT(addresses(registry.endpoints("details.vms.svc.cluster.local", 9080)),
              ElementsAre("10.2.0.1:8001 v2", "10.2.0.2:9080"));
  EXPECT_THAT(addresses(registry.endpoints("details.vms.svc.cluster.local", 9090)),
              ElementsAre("10.2.0.1:9091 v2", "10.2.0.2:9091"));
}

} // namespace
} // namespace meshd::control::registry
