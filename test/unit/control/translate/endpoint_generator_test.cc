// Tests for the endpoint generator: one assignment per EDS cluster, subsets by labels, health,
// locality, weight, the auto-mTLS metadata, and deterministic order.
#include "cluster_fixture.h"
#include "control/translate/names.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace meshd::control::translate {
namespace {

using namespace testing; // NOLINT: the fixture's helpers

const ClusterLoadAssignment* findAssignment(const std::vector<ClusterLoadAssignment>& all,
                                            const std::string& name) {
  for (const auto& assignment : all) {
    if (assignment.cluster_name() == name) {
      return &assignment;
    }
  }
  return nullptr;
}

std::vector<ClusterLoadAssignment> endpointsFor(const model::MeshSnapshot& snapshot,
                                                const ProxyContext& proxy) {
  return buildEndpoints(snapshot, proxy, buildClusters(snapshot, proxy));
}

TEST(EndpointGeneratorTest, OneAssignmentPerEdsClusterSorted) {
  const auto snapshot = bookinfoSnapshot(destinationRuleAll());
  const auto assignments = endpointsFor(*snapshot, sidecarOf("productpage"));
  EXPECT_EQ(assignments.size(), 4u + 10u) << "services and subsets; no special or inbound ones";
  EXPECT_TRUE(std::is_sorted(assignments.begin(), assignments.end(),
                             [](auto& a, auto& b) { return a.cluster_name() < b.cluster_name(); }));
  const auto again = endpointsFor(*snapshot, sidecarOf("productpage"));
  for (size_t i = 0; i < assignments.size(); ++i) {
    EXPECT_EQ(again[i].SerializeAsString(), assignments[i].SerializeAsString());
  }
}

TEST(EndpointGeneratorTest, SubsetsSelectByLabels) {
  const auto snapshot = bookinfoSnapshot(destinationRuleAll());
  const auto assignments = endpointsFor(*snapshot, sidecarOf("productpage"));
  const auto* all = findAssignment(assignments, outboundClusterName(9080, "", kReviews));
  ASSERT_NE(all, nullptr);
  ASSERT_EQ(all->endpoints_size(), 1);
  EXPECT_EQ(all->endpoints(0).lb_endpoints_size(), 3);
  EXPECT_EQ(all->endpoints(0).load_balancing_weight().value(), 3u);
  const auto* v2 = findAssignment(assignments, outboundClusterName(9080, "v2", kReviews));
  ASSERT_NE(v2, nullptr);
  EXPECT_EQ(
      toJson(*v2),
      R"({"cluster_name":"outbound|9080|v2|reviews.bookinfo.svc.cluster.local",)"
      R"("endpoints":[{"locality":{},"lb_endpoints":[{"endpoint":{"address":{"socket_address":)"
      R"({"address":"127.0.0.13","port_value":9080}}},"health_status":"HEALTHY",)"
      R"("metadata":{"filter_metadata":{"envoy.transport_socket_match":{"tlsMode":"istio"}}},)"
      R"("load_balancing_weight":1}],"load_balancing_weight":1}]})");
  const auto* none = findAssignment(assignments, outboundClusterName(9080, "v2-mysql", kRatings));
  ASSERT_NE(none, nullptr);
  EXPECT_EQ(none->endpoints_size(), 0) << "no instance has version v2-mysql";
}

TEST(EndpointGeneratorTest, HealthLocalityAndWeight) {
  model::MeshConfig mesh;
  mesh.enableAutoMtls = false;
  const auto snapshot = bookinfoSnapshot(destinationRuleAll(), mesh, [](auto& instances) {
    for (registry::WorkloadInstance& instance : instances) {
      if (instance.labels["app"] != "reviews") {
        continue;
      }
      if (instance.labels["version"] == "v1") {
        instance.healthy = false;
        instance.locality = "us-east/zone-a/rack-1";
      } else {
        instance.locality = "us-west/zone-b";
        instance.weight = 5;
      }
    }
  });
  const auto assignments = endpointsFor(*snapshot, sidecarOf("productpage"));
  const auto* reviews = findAssignment(assignments, outboundClusterName(9080, "", kReviews));
  ASSERT_NE(reviews, nullptr);
  ASSERT_EQ(reviews->endpoints_size(), 2);
  EXPECT_EQ(toJson(reviews->endpoints(0).locality()),
            R"({"region":"us-east","zone":"zone-a","sub_zone":"rack-1"})");
  EXPECT_EQ(reviews->endpoints(0).lb_endpoints(0).health_status(),
            envoy::config::core::v3::UNHEALTHY);
  EXPECT_EQ(toJson(reviews->endpoints(1).locality()), R"({"region":"us-west","zone":"zone-b"})");
  EXPECT_EQ(reviews->endpoints(1).lb_endpoints_size(), 2);
  EXPECT_EQ(reviews->endpoints(1).lb_endpoints(0).load_balancing_weight().value(), 5u);
  EXPECT_EQ(reviews->endpoints(1).load_balancing_weight().value(), 10u);
  EXPECT_FALSE(reviews->endpoints(1).lb_endpoints(0).has_metadata())
      << "no auto-mTLS: no transport socket match metadata";
}

TEST(EndpointGeneratorTest, NonEdsClustersHaveNoAssignment) {
  const auto snapshot = bookinfoSnapshot(kHttpbinDnsEntry);
  const auto assignments = endpointsFor(*snapshot, sidecarOf("productpage"));
  EXPECT_EQ(findAssignment(assignments, outboundClusterName(80, "", "httpbin.org")), nullptr);
  EXPECT_EQ(assignments.size(), 4u);
}

} // namespace
} // namespace meshd::control::translate
