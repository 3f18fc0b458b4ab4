// MeshResourceProvider: one translation per (snapshot version, proxy identity), safe under
// concurrent callers, and endpoint-only snapshots change the endpoints a proxy gets.
#include "control/serve/mesh_resource_provider.h"

#include <atomic>
#include <thread>
#include <vector>

#include "control/config/object_parser.h"
#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "fmt/format.h"
#include "gtest/gtest.h"

namespace meshd::control::serve {
namespace {

constexpr const char* kConfig = R"(apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: default}
spec:
  selector: {app: reviews}
  ports: [{name: http, port: 9080}]
)";
constexpr const char* kEndpointType =
    "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";
constexpr const char* kReviewsCluster = "outbound|9080||reviews.default.svc.cluster.local";

registry::WorkloadInstance reviews(std::string name, std::string address) {
  registry::WorkloadInstance out;
  out.name = std::move(name);
  out.ns = "default";
  out.address = std::move(address);
  out.labels = {{"app", "reviews"}};
  return out;
}

std::shared_ptr<const model::MeshSnapshot>
snapshotWith(std::vector<registry::WorkloadInstance> instances) {
  config::ParseResult parsed = config::parseObjects(kConfig, "test.yaml");
  EXPECT_TRUE(parsed.diagnostics.empty());
  std::vector<config::Diagnostic> diagnostics;
  auto out = model::MeshSnapshot::build(parsed.objects, std::move(instances), {}, diagnostics);
  EXPECT_TRUE(diagnostics.empty());
  return out;
}

envoy::config::core::v3::Node node(std::string id, std::string ns = "default") {
  envoy::config::core::v3::Node out;
  out.set_id(std::move(id));
  (*out.mutable_metadata()->mutable_fields())["NAMESPACE"].set_string_value(std::move(ns));
  return out;
}

std::vector<std::string> endpointAddresses(const xds::ResourceSnapshot& snapshot) {
  std::vector<std::string> out;
  const xds::ResourcePtr resource = snapshot.find(kEndpointType, kReviewsCluster);
  if (resource == nullptr) {
    return out;
  }
  envoy::config::endpoint::v3::ClusterLoadAssignment assignment;
  EXPECT_TRUE(resource->body.UnpackTo(&assignment));
  for (const auto& locality : assignment.endpoints()) {
    for (const auto& endpoint : locality.lb_endpoints()) {
      out.push_back(endpoint.endpoint().address().socket_address().address());
    }
  }
  return out;
}

TEST(MeshResourceProvider, IdenticalProxiesShareOneTranslationPerVersion) {
  MeshResourceProvider provider;
  provider.setSnapshot(snapshotWith({reviews("r-0", "10.0.0.1")}));
  const xds::SnapshotPtr a = provider.snapshotFor(node("sidecar~10.1.0.1~a.default~x"));
  const xds::SnapshotPtr b = provider.snapshotFor(node("sidecar~10.1.0.1~a.default~x"));
  EXPECT_EQ(a, b) << "the same snapshot object from the cache";
  EXPECT_EQ(provider.translations(), 1u);
  EXPECT_EQ(provider.cacheHits(), 1u);
  EXPECT_NE(a->find(kEndpointType, kReviewsCluster), nullptr);

  const xds::SnapshotPtr other = provider.snapshotFor(node("other", "other-ns"));
  EXPECT_NE(other, a);
  EXPECT_EQ(provider.translations(), 2u) << "another namespace is another translation";

  provider.setSnapshot(snapshotWith({reviews("r-0", "10.0.0.1")}));
  EXPECT_NE(provider.snapshotFor(node("sidecar~10.1.0.1~a.default~x")), a)
      << "a new build is translated again";
  EXPECT_EQ(provider.translations(), 3u);

  // The same instances again: nothing changed for anyone, the translation is kept.
  const xds::SnapshotPtr kept = provider.snapshotFor(node("sidecar~10.1.0.1~a.default~x"));
  const SnapshotUpdate update =
      provider.setSnapshot(provider.snapshot()->withInstances({reviews("r-0", "10.0.0.1")}));
  EXPECT_FALSE(update.full);
  EXPECT_EQ(provider.snapshotFor(node("sidecar~10.1.0.1~a.default~x")), kept);
  EXPECT_EQ(provider.translations(), 3u);
}

TEST(MeshResourceProvider, InstanceOnlyChangeUpdatesEndpoints) {
  MeshResourceProvider provider;
  provider.setSnapshot(snapshotWith({reviews("r-0", "10.0.0.1")}));
  const auto first = provider.snapshot();
  const xds::SnapshotPtr before = provider.snapshotFor(node("p"));
  EXPECT_EQ(endpointAddresses(*before), std::vector<std::string>{"10.0.0.1"});

  provider.setSnapshot(
      first->withInstances({reviews("r-0", "10.0.0.1"), reviews("r-1", "10.0.0.2")}));
  EXPECT_GT(provider.snapshot()->version(), first->version());
  const xds::SnapshotPtr after = provider.snapshotFor(node("p"));
  EXPECT_EQ(endpointAddresses(*after), (std::vector<std::string>{"10.0.0.1", "10.0.0.2"}));
  // Clusters did not change: the same resource versions, so the server sends no CDS update.
  const std::string clusterType = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
  EXPECT_EQ(before->find(clusterType, kReviewsCluster)->version,
            after->find(clusterType, kReviewsCluster)->version);
}

TEST(MeshResourceProvider, ConcurrentCallersAndSnapshotSwaps) {
  MeshResourceProvider provider;
  provider.setSnapshot(snapshotWith({reviews("r-0", "10.0.0.1")}));
  std::vector<std::thread> readers;
  std::atomic<int> empty{0};
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        const xds::SnapshotPtr snapshot = provider.snapshotFor(node(fmt::format("p{}", t % 2)));
        if (snapshot == nullptr || endpointAddresses(*snapshot).empty()) {
          ++empty;
        }
      }
    });
  }
  for (int i = 0; i < 20; ++i) {
    provider.setSnapshot(provider.snapshot()->withInstances(
        {reviews("r-0", "10.0.0.1"), reviews("r-1", fmt::format("10.0.1.{}", i))}));
  }
  for (std::thread& reader : readers) {
    reader.join();
  }
  EXPECT_EQ(empty.load(), 0);
  EXPECT_EQ(provider.translations() + provider.cacheHits(), 200u);
  EXPECT_LE(provider.translations(), 21u) << "at most one per snapshot version and identity";
  EXPECT_EQ(endpointAddresses(*provider.snapshotFor(node("p0"))),
            (std::vector<std::string>{"10.0.0.1", "10.0.1.19"}));
}

} // namespace
} // namespace meshd::control::serve
