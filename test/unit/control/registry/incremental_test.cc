// Instance changes recompute only the endpoints of the services that select the changed
// instance; changedServices() names what differs between two registries.
#include "bookinfo_fixture.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace meshd::control::registry {
namespace {

using testing::addresses;
using testing::bookinfoInstances;
using testing::bookinfoYaml;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using testing::objectsFrom;
using testing::process;

constexpr std::string_view kReviews = "reviews.bookinfo.svc.cluster.local";
constexpr std::string_view kRatings = "ratings.bookinfo.svc.cluster.local";
constexpr std::string_view kDetails = "details.bookinfo.svc.cluster.local";

class IncrementalTest : public ::testing::Test {
protected:
  IncrementalTest()
      : objects_(objectsFrom(bookinfoYaml())),
        registry_(Registry::build(objects_, bookinfoInstances(objects_), diagnostics_)) {}

  std::vector<config::ConfigObject> objects_;
  std::vector<config::Diagnostic> diagnostics_;
  Registry registry_;
};

TEST_F(IncrementalTest, StartingAnInstanceChangesOnlyTheServicesThatSelectIt) {
  const Registry next = registry_.withInstance(
      process("reviews-v2-1", "bookinfo", {{"app", "reviews"}, {"version", "v2"}}, "127.0.0.30"));
  EXPECT_THAT(addresses(next.endpoints(kReviews)),
              ElementsAre("127.0.0.12:9080 v1", "127.0.0.13:9080 v2", "127.0.0.14:9080 v3",
                          "127.0.0.30:9080 v2"));
  const RegistryChanges changes = changedServices(registry_, next);
  EXPECT_THAT(changes.services, IsEmpty());
  EXPECT_THAT(changes.endpoints, ElementsAre(kReviews));
  EXPECT_NE(next.endpointsVersion(kReviews), registry_.endpointsVersion(kReviews));
  // Untouched services share their endpoint lists with the old registry: nothing was rebuilt.
  EXPECT_EQ(next.endpoints(kRatings).data(), registry_.endpoints(kRatings).data());
  EXPECT_EQ(next.endpointsVersion(kRatings), registry_.endpointsVersion(kRatings));
  EXPECT_EQ(next.services(), registry_.services());
  // The old registry is unchanged.
  EXPECT_EQ(registry_.endpoints(kReviews).size(), 3u);
}

TEST_F(IncrementalTest, HealthChangeIsAnEndpointChange) {
  WorkloadInstance ratings = registry_.instances().at({"bookinfo", "ratings-v1-0"});
  ratings.healthy = false;
  const Registry next = registry_.withInstance(ratings);
  ASSERT_EQ(next.endpoints(kRatings).size(), 1u);
  EXPECT_FALSE(next.endpoints(kRatings)[0].healthy);
  EXPECT_THAT(changedServices(registry_, next).endpoints, ElementsAre(kRatings));
  // And back: the same endpoints as before, the same version.
  ratings.healthy = true;
  const Registry healed = next.withInstance(ratings);
  EXPECT_EQ(healed.endpointsVersion(kRatings), registry_.endpointsVersion(kRatings));
  EXPECT_TRUE(changedServices(registry_, healed).empty());
}

TEST_F(IncrementalTest, StoppingAnInstanceRemovesItsEndpoints) {
  const Registry next = registry_.withoutInstance("bookinfo", "reviews-v1-0");
  EXPECT_THAT(addresses(next.endpoints(kReviews)),
              ElementsAre("127.0.0.13:9080 v2", "127.0.0.14:9080 v3"));
  EXPECT_THAT(changedServices(registry_, next).endpoints, ElementsAre(kReviews));
  EXPECT_FALSE(next.instances().contains({"bookinfo", "reviews-v1-0"}));
}

TEST_F(IncrementalTest, RelabelledInstanceMovesBetweenServices) {
  WorkloadInstance details = registry_.instances().at({"bookinfo", "details-v1-0"});
  details.labels["app"] = "ratings";
  const Registry next = registry_.withInstance(details);
  EXPECT_THAT(next.endpoints(kDetails), IsEmpty());
  EXPECT_EQ(next.endpoints(kRatings).size(), 2u);
  EXPECT_THAT(changedServices(registry_, next).endpoints, ElementsAre(kDetails, kRatings));
}

TEST_F(IncrementalTest, SameInstancesChangeNothing) {
  std::vector<WorkloadInstance> same;
  for (const auto& entry : registry_.instances()) {
    same.push_back(entry.second);
  }
  const Registry next = registry_.withInstances(same);
  EXPECT_TRUE(changedServices(registry_, next).empty());
  EXPECT_EQ(next.endpoints(kReviews).data(), registry_.endpoints(kReviews).data());
  // An instance no service selects changes no service either.
  const Registry stray =
      registry_.withInstance(process("sleep-0", "bookinfo", {{"app", "sleep"}}, "127.0.0.99"));
  EXPECT_TRUE(changedServices(registry_, stray).empty());
  EXPECT_EQ(stray.instances().size(), registry_.instances().size() + 1);
}

TEST_F(IncrementalTest, ConfigChangesNameTheServices) {
  std::vector<WorkloadInstance> instances;
  for (const auto& entry : registry_.instances()) {
    instances.push_back(entry.second);
  }
  // ratings gets a second port, details goes away, a ServiceEntry arrives.
  std::string yaml = bookinfoYaml();
  const size_t ratingsPorts = yaml.find("- {name: http, port: 9080}", yaml.find("name: ratings"));
  yaml.insert(ratingsPorts, "- {name: tcp-admin, port: 9091}\n  ");
  yaml += R"(---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: books, namespace: bookinfo}
spec:
  hosts: [www.googleapis.com]
  resolution: DNS
  ports: [{number: 443, name: https, protocol: TLS}]
)";
  std::vector<config::ConfigObject> objects = objectsFrom(yaml);
  std::erase_if(objects, [](const config::ConfigObject& object) {
    return object.key.kind == "Service" && object.key.name == "details";
  });
  std::vector<config::Diagnostic> diagnostics;
  const Registry next = Registry::build(objects, instances, diagnostics);
  EXPECT_THAT(diagnostics, IsEmpty());
  const RegistryChanges changes = changedServices(registry_, next);
  EXPECT_THAT(changes.services, ElementsAre(kDetails, kRatings, "www.googleapis.com"));
  EXPECT_THAT(changes.endpoints, ElementsAre(kDetails, kRatings, "www.googleapis.com"));
  EXPECT_EQ(next.endpoints(kRatings, 9091).size(), 1u);
}

} // namespace
} // namespace meshd::control::registry
