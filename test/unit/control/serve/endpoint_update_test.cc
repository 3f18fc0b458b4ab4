// Endpoint-only snapshots in MeshResourceProvider: a proxy that sees the changed service gets
// only the ClusterLoadAssignments of that service generated again (its clusters, listeners and
// routes are the same objects), a proxy that does not see it keeps its translation untouched,
// and whenever an endpoint change can reach other output (its own instance, service accounts)
// or the config changed, the translation is full. After every fast path the served resources
// are compared with a full translation of the same snapshot.
#include <memory>
#include <string>
#include <vector>

#include "control/config/object_parser.h"
#include "control/serve/mesh_resource_provider.h"
#include "control/xds/type_urls.h"
#include "gtest/gtest.h"

namespace meshd::control::serve {
namespace {

constexpr const char* kConfig = R"(apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: default}
spec:
  selector: {app: reviews}
  ports: [{name: http, port: 9080}]
---
apiVersion: v1
kind: Service
metadata: {name: ratings, namespace: default}
spec:
  selector: {app: ratings}
  ports: [{name: http, port: 9080}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: default}
spec:
  host: reviews
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews, subset: v1}
---
apiVersion: v1
kind: Service
metadata: {name: frontend, namespace: a}
spec:
  selector: {app: frontend}
  ports: [{name: http, port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: billing, namespace: b}
spec:
  selector: {app: billing}
  ports: [{name: http, port: 8080}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: db, namespace: default}
spec:
  hosts: [db.internal]
  location: MESH_INTERNAL
  resolution: DNS
  ports: [{number: 5432, name: tcp, protocol: TCP}]
  workloadSelector:
    labels: {app: db}
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: a}
spec:
  egress:
  - hosts: ["./*"]
)";

const std::string kClusterType(xds::kClusterType);
const std::string kEndpointType(xds::kClusterLoadAssignmentType);
const std::string kListenerType(xds::kListenerType);
const std::string kRouteType(xds::kRouteConfigurationType);
constexpr const char* kReviews = "outbound|9080||reviews.default.svc.cluster.local";
constexpr const char* kReviewsV2 = "outbound|9080|v2|reviews.default.svc.cluster.local";
constexpr const char* kRatings = "outbound|9080||ratings.default.svc.cluster.local";

registry::WorkloadInstance instance(std::string ns, std::string name, std::string app,
                                    std::string address, std::string version = "") {
  registry::WorkloadInstance out;
  out.ns = std::move(ns);
  out.name = std::move(name);
  out.address = std::move(address);
  out.labels = {{"app", std::move(app)}};
  if (!version.empty()) {
    out.labels["version"] = std::move(version);
  }
  return out;
}

std::vector<registry::WorkloadInstance> baseInstances() {
  return {instance("default", "reviews-v1-0", "reviews", "10.0.0.1", "v1"),
          instance("default", "ratings-0", "ratings", "10.0.0.5"),
          instance("a", "frontend-0", "frontend", "10.2.0.9"),
          instance("b", "billing-0", "billing", "10.3.0.1")};
}

std::shared_ptr<const model::MeshSnapshot> build(std::vector<registry::WorkloadInstance> list) {
  config::ParseResult parsed = config::parseObjects(kConfig, "test.yaml");
  EXPECT_TRUE(parsed.diagnostics.empty());
  std::vector<config::Diagnostic> diagnostics;
  auto out = model::MeshSnapshot::build(parsed.objects, std::move(list), {}, diagnostics);
  EXPECT_TRUE(diagnostics.empty());
  return out;
}

envoy::config::core::v3::Node node(std::string id, std::string ns) {
  envoy::config::core::v3::Node out;
  out.set_id(std::move(id));
  (*out.mutable_metadata()->mutable_fields())["NAMESPACE"].set_string_value(std::move(ns));
  return out;
}

// A sidecar in `default` (no Sidecar: it sees every service) and one in `a` (its Sidecar: only
// services in `a`).
const envoy::config::core::v3::Node kProductpage =
    node("sidecar~10.1.0.1~productpage-0.default~default.svc.cluster.local", "default");
const envoy::config::core::v3::Node kWeb =
    node("sidecar~10.2.0.1~web-0.a~a.svc.cluster.local", "a");

std::string keyOf(const envoy::config::core::v3::Node& proxy) {
  return proxyCacheKey(translate::ProxyContext::fromNode(proxy));
}

// The served resources equal, name for name and byte for byte, what a full translation of the
// provider's current snapshot makes for `proxy`.
void expectSameAsFullTranslation(MeshResourceProvider& provider,
                                 const envoy::config::core::v3::Node& proxy) {
  const xds::SnapshotPtr served = provider.snapshotFor(proxy);
  const xds::SnapshotPtr full = toResourceSnapshot(
      translate::translate(*provider.snapshot(), translate::ProxyContext::fromNode(proxy)));
  for (const std::string& type : {kClusterType, kEndpointType, kListenerType, kRouteType}) {
    const xds::ResourceMap* got = served->resources(type);
    const xds::ResourceMap* want = full->resources(type);
    ASSERT_EQ(got == nullptr, want == nullptr) << type;
    if (want == nullptr) {
      continue;
    }
    EXPECT_EQ(got->size(), want->size()) << type;
    for (const auto& [name, resource] : *want) {
      const auto it = got->find(name);
      ASSERT_NE(it, got->end()) << type << " " << name;
      EXPECT_EQ(it->second->version, resource->version) << type << " " << name;
      EXPECT_EQ(it->second->body.SerializeAsString(), resource->body.SerializeAsString())
          << type << " " << name;
    }
  }
}

TEST(EndpointUpdate, OnlyTheChangedServicesAssignmentsAreGeneratedAgain) {
  MeshResourceProvider provider;
  provider.setSnapshot(build(baseInstances()));
  const xds::SnapshotPtr before = provider.snapshotFor(kProductpage);
  ASSERT_NE(before->find(kEndpointType, kReviews), nullptr);
  EXPECT_EQ(provider.fullTranslations(), 1u);

  std::vector<registry::WorkloadInstance> more = baseInstances();
  more.push_back(instance("default", "reviews-v2-0", "reviews", "10.0.0.2", "v2"));
  const SnapshotUpdate update = provider.setSnapshot(provider.snapshot()->withInstances(more));
  EXPECT_FALSE(update.full);
  EXPECT_FALSE(update.unchanged.contains(keyOf(kProductpage))) << "it sees reviews";

  const xds::SnapshotPtr after = provider.snapshotFor(kProductpage);
  EXPECT_EQ(provider.fullTranslations(), 1u);
  EXPECT_EQ(provider.endpointTranslations(), 1u);
  // Clusters, listeners and routes: the same objects, not generated again.
  for (const std::string& type : {kClusterType, kListenerType, kRouteType}) {
    ASSERT_NE(before->resourceMap(type), nullptr) << type;
    EXPECT_EQ(before->resourceMap(type), after->resourceMap(type)) << type;
  }
  // Another service's assignment is the same object; reviews' new ones carry the new endpoint.
  EXPECT_EQ(before->find(kEndpointType, kRatings), after->find(kEndpointType, kRatings));
  EXPECT_NE(before->find(kEndpointType, kReviews)->version,
            after->find(kEndpointType, kReviews)->version);
  EXPECT_NE(before->find(kEndpointType, kReviewsV2)->version,
            after->find(kEndpointType, kReviewsV2)->version);
  expectSameAsFullTranslation(provider, kProductpage);
  EXPECT_EQ(provider.translations(), 2u) << "the comparison itself was served from the cache";
}

TEST(EndpointUpdate, AProxyThatDoesNotSeeTheServiceKeepsItsTranslation) {
  MeshResourceProvider provider;
  provider.setSnapshot(build(baseInstances()));
  const xds::SnapshotPtr web = provider.snapshotFor(kWeb);
  const xds::SnapshotPtr productpage = provider.snapshotFor(kProductpage);
  EXPECT_EQ(provider.fullTranslations(), 2u);
  EXPECT_EQ(web->find(kClusterType, "outbound|8080||billing.b.svc.cluster.local"), nullptr)
      << "the Sidecar in `a` hides billing";

  // billing (namespace b) changes: web does not see it, productpage does.
  std::vector<registry::WorkloadInstance> moved = baseInstances();
  moved[3].address = "10.3.0.2";
  const SnapshotUpdate update = provider.setSnapshot(provider.snapshot()->withInstances(moved));
  EXPECT_TRUE(update.unchanged.contains(keyOf(kWeb)));
  EXPECT_FALSE(update.unchanged.contains(keyOf(kProductpage)));
  EXPECT_EQ(provider.keptTranslations(), 1u);
  EXPECT_EQ(provider.snapshotFor(kWeb), web) << "the very snapshot it had: same versions";
  EXPECT_EQ(provider.translations(), 2u) << "web was not translated";
  EXPECT_NE(provider.snapshotFor(kProductpage), productpage);
  EXPECT_EQ(provider.endpointTranslations(), 1u);
  expectSameAsFullTranslation(provider, kWeb);
  expectSameAsFullTranslation(provider, kProductpage);

  // frontend (namespace a, exported everywhere) changes: both see it.
  moved[2].healthy = false;
  const SnapshotUpdate second = provider.setSnapshot(provider.snapshot()->withInstances(moved));
  EXPECT_TRUE(second.unchanged.empty());
  EXPECT_NE(provider.snapshotFor(kWeb), web);
  EXPECT_EQ(provider.endpointTranslations(), 2u);
  expectSameAsFullTranslation(provider, kWeb);
}

TEST(EndpointUpdate, AConfigChangeTranslatesEveryProxyFully) {
  MeshResourceProvider provider;
  provider.setSnapshot(build(baseInstances()));
  const xds::SnapshotPtr before = provider.snapshotFor(kProductpage);
  // The same instances, but a rebuilt config (what a VirtualService write does).
  const SnapshotUpdate update = provider.setSnapshot(build(baseInstances()));
  EXPECT_TRUE(update.full);
  EXPECT_TRUE(update.unchanged.empty());
  const xds::SnapshotPtr after = provider.snapshotFor(kProductpage);
  EXPECT_EQ(provider.fullTranslations(), 2u);
  EXPECT_EQ(provider.endpointTranslations(), 0u);
  EXPECT_NE(before->resourceMap(kClusterType), after->resourceMap(kClusterType))
      << "clusters generated again";
}

TEST(EndpointUpdate, ItsOwnInstanceOrNewServiceAccountsNeedAFullTranslation) {
  const envoy::config::core::v3::Node reviewsSidecar =
      node("sidecar~10.0.0.1~reviews-v1-0.default~default.svc.cluster.local", "default");
  MeshResourceProvider provider;
  provider.setSnapshot(build(baseInstances()));
  provider.snapshotFor(reviewsSidecar);
  provider.snapshotFor(kProductpage);
  provider.snapshotFor(kWeb);
  ASSERT_EQ(provider.fullTranslations(), 3u);

  // reviews-v1-0 is the reviews sidecar's own instance (its inbound side follows it).
  std::vector<registry::WorkloadInstance> list = baseInstances();
  list[0].healthy = false;
  provider.setSnapshot(provider.snapshot()->withInstances(list));
  provider.snapshotFor(reviewsSidecar);
  EXPECT_EQ(provider.fullTranslations(), 4u);
  provider.snapshotFor(kProductpage);
  EXPECT_EQ(provider.endpointTranslations(), 1u);
  expectSameAsFullTranslation(provider, reviewsSidecar);
  expectSameAsFullTranslation(provider, kProductpage);

  // A reviews endpoint with a service account: the clusters' SANs change, so clusters too.
  list.push_back(instance("default", "reviews-v2-0", "reviews", "10.0.0.2", "v2"));
  list.back().serviceAccount = "bookinfo-reviews";
  const SnapshotUpdate update = provider.setSnapshot(provider.snapshot()->withInstances(list));
  EXPECT_TRUE(update.unchanged.contains(keyOf(kWeb)));
  provider.snapshotFor(kProductpage);
  EXPECT_EQ(provider.fullTranslations(), 5u);
  EXPECT_EQ(provider.endpointTranslations(), 1u);
  expectSameAsFullTranslation(provider, kProductpage);
  expectSameAsFullTranslation(provider, kWeb);
}

TEST(EndpointUpdate, ADnsServicesEndpointsAreInItsClusterSoItNeedsAFullTranslation) {
  MeshResourceProvider provider;
  provider.setSnapshot(build(baseInstances()));
  const xds::SnapshotPtr before = provider.snapshotFor(kProductpage);
  std::vector<registry::WorkloadInstance> list = baseInstances();
  list.push_back(instance("default", "db-0", "db", "10.0.0.30"));
  provider.setSnapshot(provider.snapshot()->withInstances(list));
  const xds::SnapshotPtr after = provider.snapshotFor(kProductpage);
  EXPECT_EQ(provider.fullTranslations(), 2u);
  EXPECT_EQ(provider.endpointTranslations(), 0u);
  EXPECT_EQ(before->find(kClusterType, "outbound|5432||db.internal"), nullptr)
      << "a DNS service without endpoints has no cluster";
  EXPECT_NE(after->find(kClusterType, "outbound|5432||db.internal"), nullptr)
      << "its first endpoint adds the STRICT_DNS cluster";
  expectSameAsFullTranslation(provider, kProductpage);
}

TEST(EndpointUpdate, AGatewaySeesEveryServiceExportedToIt) {
  // A Sidecar does not scope gateways: this one in `a` sees billing (namespace b).
  const envoy::config::core::v3::Node gateway =
      node("router~10.9.0.1~gw-0.a~a.svc.cluster.local", "a");
  MeshResourceProvider provider;
  provider.setSnapshot(build(baseInstances()));
  provider.snapshotFor(gateway);
  provider.snapshotFor(kWeb);
  std::vector<registry::WorkloadInstance> moved = baseInstances();
  moved[3].address = "10.3.0.2";
  const SnapshotUpdate update = provider.setSnapshot(provider.snapshot()->withInstances(moved));
  EXPECT_FALSE(update.unchanged.contains(keyOf(gateway)));
  EXPECT_TRUE(update.unchanged.contains(keyOf(kWeb)));
  provider.snapshotFor(gateway);
  EXPECT_EQ(provider.endpointTranslations(), 1u);
  expectSameAsFullTranslation(provider, gateway);
}

TEST(EndpointUpdate, ChangesAccumulateUntilTheProxyIsTranslated) {
  MeshResourceProvider provider;
  provider.setSnapshot(build(baseInstances()));
  const xds::SnapshotPtr before = provider.snapshotFor(kProductpage);
  std::vector<registry::WorkloadInstance> list = baseInstances();
  list[0].address = "10.0.0.11"; // reviews
  provider.setSnapshot(provider.snapshot()->withInstances(list));
  list[1].address = "10.0.0.15"; // ratings
  provider.setSnapshot(provider.snapshot()->withInstances(list));
  list[3].address = "10.3.0.7"; // billing
  provider.setSnapshot(provider.snapshot()->withInstances(list));

  const xds::SnapshotPtr after = provider.snapshotFor(kProductpage);
  EXPECT_EQ(provider.fullTranslations(), 1u);
  EXPECT_EQ(provider.endpointTranslations(), 1u) << "one update for three snapshots";
  EXPECT_EQ(before->resourceMap(kClusterType), after->resourceMap(kClusterType));
  EXPECT_NE(before->find(kEndpointType, kRatings)->version,
            after->find(kEndpointType, kRatings)->version);
  expectSameAsFullTranslation(provider, kProductpage);
}

TEST(EndpointUpdate, ATranslationNotAskedForOverManyChangesIsDropped) {
  // Changes pending for a proxy nobody asks about (gone) are not kept forever.
  MeshResourceProvider provider;
  provider.setSnapshot(build(baseInstances()));
  provider.snapshotFor(kProductpage);
  std::vector<registry::WorkloadInstance> list = baseInstances();
  for (int i = 0; i < 20; ++i) {
    list[0].address = "10.0.1." + std::to_string(i);
    provider.setSnapshot(provider.snapshot()->withInstances(list));
  }
  provider.snapshotFor(kProductpage);
  EXPECT_EQ(provider.fullTranslations(), 2u);
  EXPECT_EQ(provider.endpointTranslations(), 0u);
  expectSameAsFullTranslation(provider, kProductpage);
}

} // namespace
} // namespace meshd::control::serve
