// Tests for the client side of delta xDS: requests for subscription changes and reconnects, and
// the state of the world each delta response leads to.
#include "proxy/xds/delta_subscription.h"

#include "envoy/config/cluster/v3/cluster.pb.h"
#include "gtest/gtest.h"

namespace meshd::proxy::xds {
namespace {

const std::string kCds = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
const std::string kEds = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";

std::vector<std::string> list(const google::protobuf::RepeatedPtrField<std::string>& names) {
  return {names.begin(), names.end()};
}

void addCluster(DeltaDiscoveryResponse& response, const std::string& name,
                const std::string& version) {
  envoy::config::cluster::v3::Cluster cluster;
  cluster.set_name(name);
  auto* resource = response.add_resources();
  resource->set_name(name);
  resource->set_version(version);
  resource->mutable_resource()->PackFrom(cluster);
}

std::vector<std::string> clusterNames(const DiscoveryResponse& response) {
  std::vector<std::string> names;
  for (const auto& any : response.resources()) {
    envoy::config::cluster::v3::Cluster cluster;
    EXPECT_TRUE(any.UnpackTo(&cluster));
    names.push_back(cluster.name());
  }
  return names;
}

TEST(DeltaSubscriptionTest, SubscriptionChangesAreSentAsIncrements) {
  DeltaSubscription eds(kEds);
  auto first = eds.resubscribe({"a", "b"}, false);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->type_url(), kEds);
  EXPECT_EQ(list(first->resource_names_subscribe()), (std::vector<std::string>{"a", "b"}));
  EXPECT_FALSE(eds.resubscribe({"a", "b"}, false).has_value()) << "nothing changed";
  auto change = eds.resubscribe({"b", "c"}, false);
  ASSERT_TRUE(change.has_value());
  EXPECT_EQ(list(change->resource_names_subscribe()), std::vector<std::string>{"c"});
  EXPECT_EQ(list(change->resource_names_unsubscribe()), std::vector<std::string>{"a"});
}

TEST(DeltaSubscriptionTest, WildcardIsAnEmptyFirstRequest) {
  DeltaSubscription cds(kCds);
  auto first = cds.resubscribe({}, true);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(list(first->resource_names_subscribe()), std::vector<std::string>{"*"});
  EXPECT_EQ(cds.initialRequest().resource_names_subscribe_size(), 0)
      << "a new stream's wildcard request names nothing";
}

TEST(DeltaSubscriptionTest, ResponsesMergeIntoTheStateOfTheWorldOnlyOnceAccepted) {
  DeltaSubscription cds(kCds);
  cds.resubscribe({}, true);
  DeltaDiscoveryResponse first;
  first.set_system_version_info("v1");
  first.set_nonce("n1");
  addCluster(first, "a", "1");
  addCluster(first, "b", "1");
  const DiscoveryResponse merged = cds.merged(first);
  EXPECT_EQ(merged.type_url(), kCds);
  EXPECT_EQ(merged.version_info(), "v1");
  EXPECT_EQ(clusterNames(merged), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(cds.heldCount(), 0u) << "not held until the handler accepts";
  cds.commit(first);

  DeltaDiscoveryResponse second;
  second.set_nonce("n2"); // no system version: the nonce stands in
  addCluster(second, "c", "1");
  second.add_removed_resources("a");
  const DiscoveryResponse next = cds.merged(second);
  EXPECT_EQ(next.version_info(), "n2");
  EXPECT_EQ(clusterNames(next), (std::vector<std::string>{"b", "c"}));

  // Rejected: the held set stays as it was, so the next response merges onto the old state.
  DeltaDiscoveryResponse third;
  third.set_nonce("n3");
  addCluster(third, "d", "1");
  EXPECT_EQ(clusterNames(cds.merged(third)), (std::vector<std::string>{"a", "b", "d"}));
}

TEST(DeltaSubscriptionTest, ReconnectSendsTheVersionsHeldAndUnwantedOnesAreForgotten) {
  DeltaSubscription eds(kEds);
  eds.resubscribe({"x", "y"}, false);
  DeltaDiscoveryResponse response;
  response.set_nonce("n1");
  addCluster(response, "x", "7");
  addCluster(response, "y", "8");
  addCluster(response, "z", "9"); // not asked for: ignored
  eds.commit(response);
  EXPECT_EQ(eds.heldCount(), 2u);
  DeltaDiscoveryRequest initial = eds.initialRequest();
  EXPECT_EQ(list(initial.resource_names_subscribe()), (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(initial.initial_resource_versions().at("x"), "7");
  EXPECT_EQ(initial.initial_resource_versions().at("y"), "8");
  eds.resubscribe({"y"}, false);
  EXPECT_EQ(eds.heldCount(), 1u);
  EXPECT_FALSE(eds.initialRequest().initial_resource_versions().contains("x"));
}

} // namespace
} // namespace meshd::proxy::xds
