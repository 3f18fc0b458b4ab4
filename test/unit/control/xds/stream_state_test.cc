// Protocol logic of one xDS stream without gRPC: subscriptions, versions and nonces, ACK/NACK,
// removal, resources sent only when they changed, delta and reconnection with known versions.
#include "control/xds/stream_state.h"

#include <set>

#include "control/xds/type_urls.h"
#include "test/support/simulated_time.h"
#include "test/unit/control/xds/test_resources.h"
#include "gtest/gtest.h"

namespace meshd::control::xds {
namespace {

using envoy::service::discovery::v3::DeltaDiscoveryRequest;
using envoy::service::discovery::v3::DeltaDiscoveryResponse;
using envoy::service::discovery::v3::DiscoveryRequest;
using envoy::service::discovery::v3::DiscoveryResponse;
using testing::addResource;
using testing::edsCluster;
using testing::loadAssignment;

const std::string kCds(kClusterType);
const std::string kEds(kClusterLoadAssignmentType);
const std::string kLds(kListenerType);

DiscoveryRequest sotwRequest(const std::string& type, std::vector<std::string> names,
                             const std::string& version = "", const std::string& nonce = "",
                             const std::string& error = "") {
  DiscoveryRequest request;
  request.set_type_url(type);
  for (auto& name : names) {
    request.add_resource_names(name);
  }
  request.set_version_info(version);
  request.set_response_nonce(nonce);
  if (!error.empty()) {
    request.mutable_error_detail()->set_code(3);
    request.mutable_error_detail()->set_message(error);
  }
  return request;
}

// Names of the resources in a SotW response (decoded by their type).
std::set<std::string> namesIn(const DiscoveryResponse& response) {
  std::set<std::string> names;
  for (const auto& any : response.resources()) {
    envoy::config::cluster::v3::Cluster cluster;
    envoy::config::endpoint::v3::ClusterLoadAssignment assignment;
    envoy::config::listener::v3::Listener listener;
    if (any.UnpackTo(&cluster)) {
      names.insert(cluster.name());
    } else if (any.UnpackTo(&assignment)) {
      names.insert(assignment.cluster_name());
    } else if (any.UnpackTo(&listener)) {
      names.insert(listener.name());
    }
  }
  return names;
}

std::set<std::string> namesIn(const DeltaDiscoveryResponse& response) {
  std::set<std::string> names;
  for (const auto& resource : response.resources()) {
    names.insert(resource.name());
  }
  return names;
}

// Clusters and endpoints for `ports.size()` clusters c0, c1, ...; the port distinguishes versions.
SnapshotPtr clusters(const std::vector<uint16_t>& ports) {
  ResourceSnapshotBuilder builder;
  for (size_t i = 0; i < ports.size(); ++i) {
    std::string name = "c" + std::to_string(i);
    addResource(builder, edsCluster(name));
    addResource(builder, loadAssignment(name, ports[i]));
  }
  addResource(builder, testing::apiListener("l0", "r0"));
  return builder.build();
}

std::optional<TypeInfo> typeInfo(const StreamInfo& info, const std::string& type) {
  for (const auto& entry : info.types) {
    if (entry.typeUrl == type) {
      return entry;
    }
  }
  return std::nullopt;
}

class SotwStreamTest : public ::testing::Test {
protected:
  RequestOutcome request(const DiscoveryRequest& request) {
    auto outcome = state_.onSotwRequest(request, "");
    EXPECT_TRUE(outcome.ok()) << outcome.status();
    return outcome.ok() ? *outcome : RequestOutcome{};
  }
  // The next response, asserting there is one.
  DiscoveryResponse next() {
    DiscoveryResponse response;
    EXPECT_TRUE(state_.nextSotwResponse(&response));
    return response;
  }
  bool hasNext() {
    DiscoveryResponse response;
    return state_.nextSotwResponse(&response);
  }
  // ACKs the response.
  void ack(const DiscoveryResponse& response, std::vector<std::string> names) {
    EXPECT_EQ(request(sotwRequest(response.type_url(), std::move(names), response.version_info(),
                                  response.nonce()))
                  .kind,
              RequestKind::kAck);
  }

  meshd::testing::SimulatedTime time_;
  StreamState state_{1, false, time_};
};

TEST_F(SotwStreamTest, WildcardClustersThenAckRecordsVersion) {
  state_.setSnapshot(clusters({1, 2, 3}));
  EXPECT_EQ(request(sotwRequest(kCds, {})).kind, RequestKind::kSubscribe);
  DiscoveryResponse response = next();
  EXPECT_EQ(response.type_url(), kCds);
  EXPECT_EQ(namesIn(response), (std::set<std::string>{"c0", "c1", "c2"}));
  EXPECT_FALSE(response.nonce().empty());
  EXPECT_FALSE(response.version_info().empty());
  EXPECT_FALSE(hasNext());

  ack(response, {});
  std::optional<TypeInfo> info = typeInfo(state_.debugInfo(), kCds);
  ASSERT_TRUE(info.has_value());
  EXPECT_TRUE(info->wildcard);
  EXPECT_EQ(info->lastAckedVersion, response.version_info());
  EXPECT_EQ(info->lastNonceSent, response.nonce());
  EXPECT_EQ(info->acks, 1u);
  // The ACK repeats the empty list: still the wildcard, nothing new to send.
  EXPECT_FALSE(hasNext());
}

TEST_F(SotwStreamTest, NoncesDifferAndVersionsFollowContent) {
  state_.setSnapshot(clusters({1, 2}));
  request(sotwRequest(kCds, {}));
  DiscoveryResponse first = next();
  ack(first, {});
  state_.setSnapshot(clusters({1, 3}));
  EXPECT_FALSE(hasNext()) << "clusters did not change, only endpoints";
  state_.setSnapshot(clusters({1, 3, 4}));
  DiscoveryResponse second = next();
  EXPECT_NE(second.nonce(), first.nonce());
  EXPECT_NE(second.version_info(), first.version_info());
}

TEST_F(SotwStreamTest, NackKeepsLastGoodVersionAndShowsTheError) {
  state_.setSnapshot(clusters({1}));
  request(sotwRequest(kEds, {"c0"}));
  DiscoveryResponse good = next();
  ack(good, {"c0"});
  time_.advance(std::chrono::seconds(5));
  state_.setSnapshot(clusters({2}));
  DiscoveryResponse bad = next();
  EXPECT_EQ(
      request(sotwRequest(kEds, {"c0"}, good.version_info(), bad.nonce(), "port 2 is bad")).kind,
      RequestKind::kNack);

  std::optional<TypeInfo> info = typeInfo(state_.debugInfo(), kEds);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->lastAckedVersion, good.version_info());
  EXPECT_EQ(info->lastVersionSent, bad.version_info());
  ASSERT_TRUE(info->lastNack.has_value());
  EXPECT_EQ(info->lastNack->message, "port 2 is bad");
  EXPECT_EQ(info->lastNack->nonce, bad.nonce());
  EXPECT_EQ(info->lastNack->version, good.version_info());
  EXPECT_EQ(info->lastNack->time, time_.systemNow());
  EXPECT_EQ(info->nacks, 1u);
  // The rejected resource is not sent again until it changes.
  EXPECT_FALSE(hasNext());
  state_.setSnapshot(clusters({3}));
  EXPECT_EQ(namesIn(next()), std::set<std::string>{"c0"});
}

TEST_F(SotwStreamTest, AckOfAPushedChangeMeasuresItsPropagation) {
  state_.setSnapshot(clusters({1}));
  request(sotwRequest(kEds, {"c0"}));
  DiscoveryResponse initial = next();
  EXPECT_FALSE(request(sotwRequest(kEds, {"c0"}, initial.version_info(), initial.nonce()))
                   .propagation.has_value())
      << "the initial response carried no pushed change";

  core::MonotonicTime pushed_at = time_.monotonicNow();
  time_.advance(std::chrono::milliseconds(30));
  state_.setSnapshot(clusters({2}), pushed_at);
  DiscoveryResponse update = next();
  time_.advance(std::chrono::milliseconds(20));
  RequestOutcome ack = request(sotwRequest(kEds, {"c0"}, update.version_info(), update.nonce()));
  ASSERT_EQ(ack.kind, RequestKind::kAck);
  ASSERT_TRUE(ack.propagation.has_value());
  EXPECT_EQ(*ack.propagation, std::chrono::milliseconds(50));
}

TEST_F(SotwStreamTest, StaleNonceIsIgnored) {
  state_.setSnapshot(clusters({1, 2}));
  request(sotwRequest(kEds, {"c0"}));
  DiscoveryResponse first = next();
  state_.setSnapshot(clusters({5, 2}));
  DiscoveryResponse second = next();
  // An answer to the first response, asking for another name: ignored, a newer one is in flight.
  EXPECT_EQ(request(sotwRequest(kEds, {"c0", "c1"}, first.version_info(), first.nonce())).kind,
            RequestKind::kStale);
  EXPECT_FALSE(hasNext());
  EXPECT_EQ(typeInfo(state_.debugInfo(), kEds)->names, std::vector<std::string>{"c0"});
  // The answer to the latest response carries the new list and is honoured.
  EXPECT_EQ(request(sotwRequest(kEds, {"c0", "c1"}, second.version_info(), second.nonce())).kind,
            RequestKind::kAck);
  EXPECT_EQ(namesIn(next()), std::set<std::string>{"c1"});
}

TEST_F(SotwStreamTest, EndpointsAreServedOnDemandAndOnlyWhatChanged) {
  state_.setSnapshot(clusters({1, 2, 3}));
  request(sotwRequest(kEds, {"c0"}));
  DiscoveryResponse first = next();
  EXPECT_EQ(namesIn(first), std::set<std::string>{"c0"});
  request(sotwRequest(kEds, {"c0", "c1"}, first.version_info(), first.nonce()));
  DiscoveryResponse second = next();
  EXPECT_EQ(namesIn(second), std::set<std::string>{"c1"});
  ack(second, {"c0", "c1"});
  // Same content rebuilt from scratch (new objects, same hashes): nothing to send.
  state_.setSnapshot(clusters({1, 2, 3}));
  EXPECT_FALSE(hasNext());
  state_.setSnapshot(clusters({1, 9, 3}));
  EXPECT_EQ(namesIn(next()), std::set<std::string>{"c1"});
}

TEST_F(SotwStreamTest, UnknownEndpointNameGetsNothingUntilItExists) {
  state_.setSnapshot(clusters({1}));
  request(sotwRequest(kEds, {"c7"}));
  EXPECT_FALSE(hasNext());
  std::vector<uint16_t> eight(8, 1);
  state_.setSnapshot(clusters(eight));
  EXPECT_EQ(namesIn(next()), std::set<std::string>{"c7"});
}

TEST_F(SotwStreamTest, EmptyListAfterNamesUnsubscribesEndpoints) {
  state_.setSnapshot(clusters({1, 2}));
  request(sotwRequest(kEds, {"c0"}));
  DiscoveryResponse first = next();
  request(sotwRequest(kEds, {}, first.version_info(), first.nonce()));
  EXPECT_FALSE(hasNext());
  std::optional<TypeInfo> info = typeInfo(state_.debugInfo(), kEds);
  EXPECT_FALSE(info->wildcard);
  EXPECT_TRUE(info->names.empty());
  EXPECT_EQ(info->resourcesHeld, 0u);
  state_.setSnapshot(clusters({3, 4}));
  EXPECT_FALSE(hasNext());
}

TEST_F(SotwStreamTest, EmptyListAfterNamesIsNotWildcardForClustersEither) {
  state_.setSnapshot(clusters({1, 2}));
  request(sotwRequest(kCds, {"c0"}));
  DiscoveryResponse first = next();
  EXPECT_EQ(namesIn(first), std::set<std::string>{"c0"});
  request(sotwRequest(kCds, {}, first.version_info(), first.nonce()));
  EXPECT_FALSE(typeInfo(state_.debugInfo(), kCds)->wildcard);
}

TEST_F(SotwStreamTest, RemovedClusterIsLeftOutOfTheFullSet) {
  state_.setSnapshot(clusters({1, 2, 3}));
  request(sotwRequest(kCds, {}));
  ack(next(), {});
  state_.setSnapshot(clusters({1, 2}));
  DiscoveryResponse response = next();
  EXPECT_EQ(namesIn(response), (std::set<std::string>{"c0", "c1"}));
}

TEST_F(SotwStreamTest, RemovedEndpointsAreSimplyNotSent) {
  state_.setSnapshot(clusters({1, 2}));
  request(sotwRequest(kEds, {"c0", "c1"}));
  ack(next(), {"c0", "c1"});
  state_.setSnapshot(clusters({1}));
  EXPECT_FALSE(hasNext());
  EXPECT_EQ(typeInfo(state_.debugInfo(), kEds)->resourcesHeld, 1u);
  // It comes back: sent again.
  state_.setSnapshot(clusters({1, 2}));
  EXPECT_EQ(namesIn(next()), std::set<std::string>{"c1"});
}

TEST_F(SotwStreamTest, ExplicitWildcardAlongsideNames) {
  state_.setSnapshot(clusters({1, 2}));
  request(sotwRequest(kLds, {"*", "other"}));
  std::optional<TypeInfo> info = typeInfo(state_.debugInfo(), kLds);
  EXPECT_TRUE(info->wildcard);
  EXPECT_EQ(info->names, std::vector<std::string>{"other"});
  EXPECT_EQ(namesIn(next()), std::set<std::string>{"l0"});
}

TEST_F(SotwStreamTest, MissingListenerGetsAnEmptyFullSet) {
  state_.setSnapshot(clusters({1}));
  request(sotwRequest(kLds, {"nope"}));
  DiscoveryResponse response = next();
  EXPECT_EQ(response.resources_size(), 0);
}

TEST_F(SotwStreamTest, ClustersGoOutBeforeEndpoints) {
  state_.setSnapshot(clusters({1}));
  request(sotwRequest(kEds, {"c0"}));
  request(sotwRequest(kCds, {}));
  EXPECT_EQ(next().type_url(), kCds);
  EXPECT_EQ(next().type_url(), kEds);
}

TEST(StreamStateTypeTest, PerTypeServicesFillInAndCheckTheType) {
  meshd::testing::SimulatedTime time;
  StreamState state(1, false, time);
  state.setSnapshot(clusters({1}));
  auto outcome = state.onSotwRequest(sotwRequest("", {}), kCds);
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->typeUrl, kCds);
  EXPECT_EQ(state.onSotwRequest(sotwRequest(kEds, {}), kCds).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(state.onSotwRequest(sotwRequest("", {}), "").status().code(),
            absl::StatusCode::kInvalidArgument);
}

// Snapshots built from their predecessor record what changed, and a stream then compares only
// those names. The result must be what a full comparison gives.
class IncrementalSnapshotTest : public SotwStreamTest {
protected:
  // A snapshot from `base` with c<index>'s endpoint port changed to `port`.
  static SnapshotPtr withPort(const SnapshotPtr& base, int index, uint16_t port) {
    ResourceSnapshotBuilder builder(*base);
    addResource(builder, loadAssignment("c" + std::to_string(index), port));
    return builder.build();
  }
  // The version a fresh stream with the same subscription would be sent for `snapshot`.
  static std::string fullCompareVersion(const SnapshotPtr& snapshot,
                                        const DiscoveryRequest& subscription) {
    meshd::testing::SimulatedTime time;
    StreamState fresh(9, false, time);
    fresh.setSnapshot(snapshot);
    EXPECT_TRUE(fresh.onSotwRequest(subscription, "").ok());
    DiscoveryResponse response;
    EXPECT_TRUE(fresh.nextSotwResponse(&response));
    return response.version_info();
  }
};

TEST_F(IncrementalSnapshotTest, ChangedEndpointIsSentWithTheSameVersionAFullCompareGives) {
  SnapshotPtr base = clusters({1, 2, 3});
  DiscoveryRequest subscription = sotwRequest(kEds, {"c0", "c1"});
  state_.setSnapshot(base);
  request(subscription);
  ack(next(), {"c0", "c1"});

  SnapshotPtr changed = withPort(base, 1, 9);
  ASSERT_NE(changed->changes(kEds), nullptr);
  state_.setSnapshot(changed);
  DiscoveryResponse response = next();
  EXPECT_EQ(namesIn(response), std::set<std::string>{"c1"});
  EXPECT_EQ(response.version_info(), fullCompareVersion(changed, subscription));

  // A change to an endpoint nobody here subscribed to: nothing to send.
  state_.setSnapshot(withPort(changed, 2, 9));
  EXPECT_FALSE(hasNext());
}

TEST_F(IncrementalSnapshotTest, RemovalThroughTheBuilderIsSeen) {
  SnapshotPtr base = clusters({1, 2, 3});
  state_.setSnapshot(base);
  request(sotwRequest(kCds, {}));
  ack(next(), {});
  ResourceSnapshotBuilder builder(*base);
  ASSERT_TRUE(builder.remove(kCds, "c2"));
  SnapshotPtr removed = builder.build();
  state_.setSnapshot(removed);
  DiscoveryResponse response = next();
  EXPECT_EQ(namesIn(response), (std::set<std::string>{"c0", "c1"}));
  EXPECT_EQ(response.version_info(), fullCompareVersion(removed, sotwRequest(kCds, {})));
}

TEST_F(IncrementalSnapshotTest, SkippedSnapshotFallsBackToAFullCompare) {
  SnapshotPtr base = clusters({1, 2});
  state_.setSnapshot(base);
  request(sotwRequest(kEds, {"c0", "c1"}));
  ack(next(), {"c0", "c1"});
  SnapshotPtr second = withPort(base, 0, 7);
  SnapshotPtr third = withPort(second, 1, 8); // changes relative to `second`, never seen here
  state_.setSnapshot(third);
  DiscoveryResponse response = next();
  EXPECT_EQ(namesIn(response), (std::set<std::string>{"c0", "c1"}));
  EXPECT_EQ(response.version_info(), fullCompareVersion(third, sotwRequest(kEds, {"c0", "c1"})));
}

class DeltaStreamTest : public ::testing::Test {
protected:
  RequestOutcome request(const std::string& type, std::vector<std::string> subscribe,
                         std::vector<std::string> unsubscribe = {}, const std::string& nonce = "",
                         const std::string& error = "") {
    DeltaDiscoveryRequest request;
    request.set_type_url(type);
    for (auto& name : subscribe) {
      request.add_resource_names_subscribe(name);
    }
    for (auto& name : unsubscribe) {
      request.add_resource_names_unsubscribe(name);
    }
    request.set_response_nonce(nonce);
    if (!error.empty()) {
      request.mutable_error_detail()->set_message(error);
    }
    auto outcome = state_.onDeltaRequest(request, "");
    EXPECT_TRUE(outcome.ok()) << outcome.status();
    return outcome.ok() ? *outcome : RequestOutcome{};
  }
  DeltaDiscoveryResponse next() {
    DeltaDiscoveryResponse response;
    EXPECT_TRUE(state_.nextDeltaResponse(&response));
    return response;
  }
  bool hasNext() {
    DeltaDiscoveryResponse response;
    return state_.nextDeltaResponse(&response);
  }

  meshd::testing::SimulatedTime time_;
  StreamState state_{2, true, time_};
};

TEST_F(DeltaStreamTest, SubscribeSendsResourcesWithVersionsAndRemovalIsExplicit) {
  state_.setSnapshot(clusters({1, 2, 3}));
  request(kEds, {"c0", "c1"});
  DeltaDiscoveryResponse first = next();
  EXPECT_EQ(namesIn(first), (std::set<std::string>{"c0", "c1"}));
  for (const auto& resource : first.resources()) {
    EXPECT_EQ(resource.version(), state_.snapshot()->find(kEds, resource.name())->version);
  }
  EXPECT_EQ(request(kEds, {}, {}, first.nonce()).kind, RequestKind::kAck);
  EXPECT_EQ(typeInfo(state_.debugInfo(), kEds)->lastAckedVersion, first.system_version_info());

  state_.setSnapshot(clusters({1}));
  DeltaDiscoveryResponse removal = next();
  EXPECT_EQ(removal.resources_size(), 0);
  ASSERT_EQ(removal.removed_resources_size(), 1);
  EXPECT_EQ(removal.removed_resources(0), "c1");
}

TEST_F(DeltaStreamTest, IncrementalSnapshotRemovalIsReported) {
  SnapshotPtr base = clusters({1, 2});
  state_.setSnapshot(base);
  request(kEds, {"c0", "c1"});
  next();
  ResourceSnapshotBuilder builder(*base);
  ASSERT_TRUE(builder.remove(kEds, "c1"));
  addResource(builder, loadAssignment("c0", 5));
  state_.setSnapshot(builder.build());
  DeltaDiscoveryResponse response = next();
  EXPECT_EQ(namesIn(response), std::set<std::string>{"c0"});
  ASSERT_EQ(response.removed_resources_size(), 1);
  EXPECT_EQ(response.removed_resources(0), "c1");
}

TEST_F(DeltaStreamTest, AddingANameSendsOnlyThatOne) {
  state_.setSnapshot(clusters({1, 2, 3}));
  request(kEds, {"c0"});
  DeltaDiscoveryResponse first = next();
  request(kEds, {"c2"}, {}, first.nonce());
  EXPECT_EQ(namesIn(next()), std::set<std::string>{"c2"});
}

TEST_F(DeltaStreamTest, UnsubscribedResourcesAreNotReportedRemoved) {
  state_.setSnapshot(clusters({1, 2}));
  request(kEds, {"c0", "c1"});
  DeltaDiscoveryResponse first = next();
  request(kEds, {}, {"c1"}, first.nonce());
  EXPECT_FALSE(hasNext());
  state_.setSnapshot(clusters({1, 5}));
  EXPECT_FALSE(hasNext()) << "c1 changed but is no longer subscribed";
}

TEST_F(DeltaStreamTest, WildcardAndItsRemoval) {
  state_.setSnapshot(clusters({1, 2}));
  request(kCds, {});
  EXPECT_EQ(namesIn(next()), (std::set<std::string>{"c0", "c1"}));
  EXPECT_TRUE(typeInfo(state_.debugInfo(), kCds)->wildcard);
  request(kCds, {"c0"}, {"*"});
  EXPECT_FALSE(typeInfo(state_.debugInfo(), kCds)->wildcard);
  EXPECT_FALSE(hasNext()) << "c1 was dropped by the client itself";
}

TEST_F(DeltaStreamTest, FirstWildcardRequestIsAnsweredEvenWhenThereIsNothing) {
  state_.setSnapshot(ResourceSnapshotBuilder().build());
  request(kLds, {});
  DeltaDiscoveryResponse empty = next();
  EXPECT_EQ(empty.resources_size(), 0);
  EXPECT_EQ(empty.removed_resources_size(), 0);
  EXPECT_FALSE(empty.nonce().empty());
  request(kLds, {}, {}, empty.nonce());
  EXPECT_FALSE(hasNext()) << "only the first request is answered with nothing";
  request(kEds, {"missing"});
  EXPECT_FALSE(hasNext()) << "named resources that do not exist get no answer";
}

TEST_F(DeltaStreamTest, StaleNonceStillChangesTheSubscription) {
  state_.setSnapshot(clusters({1, 2}));
  request(kEds, {"c0"});
  DeltaDiscoveryResponse first = next();
  state_.setSnapshot(clusters({7, 2}));
  next();
  EXPECT_EQ(request(kEds, {"c1"}, {}, first.nonce()).kind, RequestKind::kStale);
  EXPECT_EQ(namesIn(next()), std::set<std::string>{"c1"});
}

TEST_F(DeltaStreamTest, NackIsRecorded) {
  state_.setSnapshot(clusters({1}));
  request(kEds, {"c0"});
  DeltaDiscoveryResponse first = next();
  EXPECT_EQ(request(kEds, {}, {}, first.nonce(), "no").kind, RequestKind::kNack);
  std::optional<TypeInfo> info = typeInfo(state_.debugInfo(), kEds);
  ASSERT_TRUE(info->lastNack.has_value());
  EXPECT_EQ(info->lastNack->message, "no");
  EXPECT_TRUE(info->lastAckedVersion.empty());
}

TEST_F(DeltaStreamTest, ReconnectWithKnownVersionsGetsOnlyTheDifference) {
  SnapshotPtr snapshot = clusters({1, 2});
  state_.setSnapshot(snapshot);
  DeltaDiscoveryRequest request;
  request.set_type_url(kEds);
  request.add_resource_names_subscribe("c0");
  request.add_resource_names_subscribe("c1");
  request.add_resource_names_subscribe("c2");
  (*request.mutable_initial_resource_versions())["c0"] = snapshot->find(kEds, "c0")->version;
  (*request.mutable_initial_resource_versions())["c1"] = "an-older-version";
  (*request.mutable_initial_resource_versions())["c2"] = "gone-since";
  ASSERT_TRUE(state_.onDeltaRequest(request, "").ok());
  DeltaDiscoveryResponse response = next();
  EXPECT_EQ(namesIn(response), std::set<std::string>{"c1"});
  ASSERT_EQ(response.removed_resources_size(), 1);
  EXPECT_EQ(response.removed_resources(0), "c2");
  EXPECT_FALSE(hasNext());
}

} // namespace
} // namespace meshd::control::xds
