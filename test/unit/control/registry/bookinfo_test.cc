// Bookinfo end to end through the registry: Services plus LocalWorkload instances give every
// service its endpoints, reviews one per version.
#include "bookinfo_fixture.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace meshd::control::registry {
namespace {

using testing::addresses;
using testing::bookinfoInstances;
using testing::bookinfoYaml;
using ::testing::ElementsAre;
using testing::hostnames;
using testing::objectsFrom;

TEST(BookinfoTest, ReviewsHasOneEndpointPerVersion) {
  const std::vector<config::ConfigObject> objects = objectsFrom(bookinfoYaml());
  std::vector<config::Diagnostic> diagnostics;
  const Registry registry = Registry::build(objects, bookinfoInstances(objects), diagnostics);
  EXPECT_TRUE(diagnostics.empty());

  EXPECT_THAT(hostnames(registry.services()), ElementsAre("details.bookinfo.svc.cluster.local",
                                                          "productpage.bookinfo.svc.cluster.local",
                                                          "ratings.bookinfo.svc.cluster.local",
                                                          "reviews.bookinfo.svc.cluster.local"));
  for (const Service* service : registry.services()) {
    ASSERT_EQ(service->ports.size(), 1u);
    EXPECT_EQ(service->ports[0].protocol, Protocol::kHttp) << service->hostname;
  }
  const std::string reviews = "reviews.bookinfo.svc.cluster.local";
  const auto endpoints = registry.endpoints(reviews, 9080);
  EXPECT_THAT(addresses(endpoints),
              ElementsAre("127.0.0.12:9080 v1", "127.0.0.13:9080 v2", "127.0.0.14:9080 v3"));
  for (const ServiceEndpoint& endpoint : endpoints) {
    EXPECT_EQ(endpoint.serviceAccount, "bookinfo-reviews");
    EXPECT_EQ(endpoint.labels.at("app"), "reviews");
    EXPECT_EQ(endpoint.tlsMode, "istio");
  }
  EXPECT_EQ(endpoints[1].workloadName, "reviews-v2-0");
  EXPECT_THAT(addresses(registry.endpoints("productpage.bookinfo.svc.cluster.local")),
              ElementsAre("127.0.0.10:9080 v1"));
  EXPECT_THAT(addresses(registry.endpoints("ratings.bookinfo.svc.cluster.local")),
              ElementsAre("127.0.0.15:9080 v1"));

  const WorkloadInstance& reviewsV2 = registry.instances().at({"bookinfo", "reviews-v2-0"});
  EXPECT_EQ(reviewsV2.source, "LocalWorkload bookinfo/reviews-v2 #0");
  EXPECT_EQ(reviewsV2.namedPorts.at("http"), 9080u);
  EXPECT_THAT(hostnames(registry.servicesOf(reviewsV2)), ElementsAre(reviews));
  EXPECT_EQ(registry.resolve("reviews", "bookinfo"), registry.service(reviews));
}

TEST(BookinfoTest, EveryReplicaIsAnInstance) {
  config::LocalWorkload workload;
  workload.meta.name = "reviews-v1";
  workload.meta.ns = "bookinfo";
  workload.labels = {{"app", "reviews"}, {"version", "v1"}};
  workload.serviceAccount = "bookinfo-reviews";
  workload.ports = {{"http", 9080, Protocol::kHttp}, {"admin", 9901, Protocol::kHttp}};
  workload.replicas = 2;
  const std::vector<std::string> addressList = {"10.0.0.1", "10.0.0.2"};
  const std::vector<WorkloadInstance> instances = instancesOf(workload, addressList);
  ASSERT_EQ(instances.size(), 2u);
  EXPECT_EQ(instances[1].name, "reviews-v1-1");
  EXPECT_EQ(instances[1].ns, "bookinfo");
  EXPECT_EQ(instances[1].address, "10.0.0.2");
  EXPECT_EQ(instances[1].labels, workload.labels);
  EXPECT_EQ(instances[1].serviceAccount, "bookinfo-reviews");
  EXPECT_EQ(instances[1].namedPorts,
            (std::map<std::string, uint32_t>{{"admin", 9901}, {"http", 9080}}));
  EXPECT_EQ(instances[1].kind, InstanceKind::kProcess);
  EXPECT_EQ(instances[1].source, "LocalWorkload bookinfo/reviews-v1 #1");
  EXPECT_TRUE(instances[1].healthy);
}

} // namespace
} // namespace meshd::control::registry
