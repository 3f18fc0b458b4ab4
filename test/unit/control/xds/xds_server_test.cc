// XdsServer over real gRPC on 127.0.0.1 (port 0): ADS state of the world and delta, a per-type
// service, ACK/NACK in the debug state, pushes to a subset of nodes, debouncing, unchanged
// resources not resent, reconnection with known versions, disconnects and shutdown.
#include "control/xds/xds_server.h"

#include <set>

#include "control/xds/snapshot_cache.h"
#include "control/xds/type_urls.h"
#include "envoy/service/cluster/v3/cds.grpc.pb.h"
#include "envoy/service/discovery/v3/ads.grpc.pb.h"
#include "envoy/service/secret/v3/sds.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "test/support/process.h"
#include "test/unit/control/xds/test_resources.h"
#include "test/unit/control/xds/xds_test_client.h"
#include "gtest/gtest.h"

namespace meshd::control::xds {
namespace {

using namespace std::chrono_literals;
using envoy::service::discovery::v3::AggregatedDiscoveryService;
using envoy::service::discovery::v3::DeltaDiscoveryRequest;
using envoy::service::discovery::v3::DeltaDiscoveryResponse;
using envoy::service::discovery::v3::DiscoveryRequest;
using envoy::service::discovery::v3::DiscoveryResponse;
using meshd::testing::waitFor;
using SotwStream = testing::TestStream<DiscoveryRequest, DiscoveryResponse>;
using DeltaStream = testing::TestStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>;

const std::string kCds(kClusterType);
const std::string kEds(kClusterLoadAssignmentType);

// Endpoints c0..c{n-1}; `ports[i]` is c_i's endpoint port (so changing it changes the resource).
SnapshotPtr endpoints(const std::vector<uint16_t>& ports) {
  ResourceSnapshotBuilder builder;
  for (size_t i = 0; i < ports.size(); ++i) {
    std::string name = "c" + std::to_string(i);
    testing::addResource(builder, testing::edsCluster(name));
    testing::addResource(builder, testing::loadAssignment(name, ports[i]));
  }
  return builder.build();
}

DiscoveryRequest sotw(const std::string& node, const std::string& type,
                      std::vector<std::string> names, const DiscoveryResponse* answering = nullptr,
                      const std::string& error = "") {
  DiscoveryRequest request;
  request.mutable_node()->set_id(node);
  request.set_type_url(type);
  for (auto& name : names) {
    request.add_resource_names(name);
  }
  if (answering != nullptr) {
    request.set_response_nonce(answering->nonce());
    request.set_version_info(answering->version_info());
  }
  if (!error.empty()) {
    request.mutable_error_detail()->set_message(error);
  }
  return request;
}

std::set<std::string> endpointNames(const DiscoveryResponse& response) {
  std::set<std::string> names;
  for (const auto& any : response.resources()) {
    envoy::config::endpoint::v3::ClusterLoadAssignment assignment;
    EXPECT_TRUE(any.UnpackTo(&assignment));
    names.insert(assignment.cluster_name());
  }
  return names;
}

class XdsServerTest : public ::testing::Test {
protected:
  void SetUp() override { startServer(ServerOptions{}); }

  void startServer(ServerOptions options) {
    options.debounceQuietPeriod = options.debounceQuietPeriod == ServerOptions{}.debounceQuietPeriod
                                      ? 0ms
                                      : options.debounceQuietPeriod;
    server_.reset();
    server_ = std::make_unique<XdsServer>(cache_, options);
    ASSERT_TRUE(server_->start().ok());
    channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(server_->port()),
                                   grpc::InsecureChannelCredentials());
    stub_ = AggregatedDiscoveryService::NewStub(channel_);
  }

  std::unique_ptr<SotwStream> openSotw() {
    return std::make_unique<SotwStream>(
        [this](grpc::ClientContext* context) { return stub_->StreamAggregatedResources(context); });
  }
  std::unique_ptr<DeltaStream> openDelta() {
    return std::make_unique<DeltaStream>(
        [this](grpc::ClientContext* context) { return stub_->DeltaAggregatedResources(context); });
  }

  // The debug state of the one stream of `node`, waiting (bounded) for it to show `condition`.
  std::optional<StreamInfo> streamOf(
      const std::string& node, const std::function<bool(const StreamInfo&)>& condition =
                                   [](const StreamInfo&) { return true; }) {
    std::optional<StreamInfo> found;
    waitFor(
        [&] {
          for (auto& info : server_->streams()) {
            if (info.node.id() == node && condition(info)) {
              found = info;
              return true;
            }
          }
          return false;
        },
        10s);
    return found;
  }

  // Waits until the server has read `count` ACKs of `type` from `node` (pushing earlier would
  // make the ACK answer an older response: stale).
  bool waitForAcks(const std::string& node, const std::string& type, uint64_t count) {
    return streamOf(node,
                    [&](const StreamInfo& info) {
                      for (const auto& entry : info.types) {
                        if (entry.typeUrl == type && entry.acks >= count) {
                          return true;
                        }
                      }
                      return false;
                    })
        .has_value();
  }

  // Pushes to `nodes` and waits until the push has run.
  void pushAndWait(const std::vector<std::string>& nodes) {
    uint64_t before = server_->counters().pushes;
    nodes.empty() ? server_->push() : server_->push(nodes);
    ASSERT_TRUE(waitFor([&] { return server_->counters().pushes > before; }, 10s));
  }

  SnapshotCache cache_;
  std::unique_ptr<XdsServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<AggregatedDiscoveryService::Stub> stub_;
};

const TypeInfo* typeOf(const StreamInfo& info, const std::string& type) {
  for (const auto& entry : info.types) {
    if (entry.typeUrl == type) {
      return &entry;
    }
  }
  return nullptr;
}

TEST_F(XdsServerTest, ServesClustersThenEndpointsAndRecordsAcks) {
  cache_.setDefault(endpoints({1, 2, 3}));
  auto stream = openSotw();
  ASSERT_TRUE(stream->send(sotw("n1", kCds, {})));
  auto clusters = stream->next();
  ASSERT_TRUE(clusters.has_value());
  EXPECT_EQ(clusters->type_url(), kCds);
  EXPECT_EQ(clusters->resources_size(), 3);
  ASSERT_TRUE(stream->send(sotw("", kCds, {}, &*clusters)));
  ASSERT_TRUE(stream->send(sotw("", kEds, {"c0", "c2"})));
  auto assignments = stream->next();
  ASSERT_TRUE(assignments.has_value());
  EXPECT_EQ(endpointNames(*assignments), (std::set<std::string>{"c0", "c2"}));
  ASSERT_TRUE(stream->send(sotw("", kEds, {"c0", "c2"}, &*assignments)));

  auto info = streamOf("n1", [](const StreamInfo& s) {
    const TypeInfo* eds = typeOf(s, kEds);
    return eds != nullptr && eds->acks == 1;
  });
  ASSERT_TRUE(info.has_value());
  EXPECT_FALSE(info->delta);
  const TypeInfo* cds = typeOf(*info, kCds);
  ASSERT_NE(cds, nullptr);
  EXPECT_TRUE(cds->wildcard);
  EXPECT_EQ(cds->lastAckedVersion, clusters->version_info());
  const TypeInfo* eds = typeOf(*info, kEds);
  EXPECT_EQ(eds->names, (std::vector<std::string>{"c0", "c2"}));
  EXPECT_EQ(eds->lastAckedVersion, assignments->version_info());
  EXPECT_EQ(eds->lastNonceSent, assignments->nonce());
  EXPECT_EQ(server_->counters().acks, 2u);
  EXPECT_EQ(server_->counters().connectedStreams, 1);
}

TEST_F(XdsServerTest, NackKeepsTheLastGoodVersionAndShowsTheReason) {
  cache_.setDefault(endpoints({1}));
  auto stream = openSotw();
  ASSERT_TRUE(stream->send(sotw("n1", kEds, {"c0"})));
  auto good = stream->next();
  ASSERT_TRUE(good.has_value());
  ASSERT_TRUE(stream->send(sotw("", kEds, {"c0"}, &*good)));
  ASSERT_TRUE(waitForAcks("n1", kEds, 1));
  cache_.setDefault(endpoints({2}));
  server_->push();
  auto bad = stream->next();
  ASSERT_TRUE(bad.has_value());
  DiscoveryRequest nack = sotw("", kEds, {"c0"}, &*bad, "endpoint port 2 rejected");
  nack.set_version_info(good->version_info());
  ASSERT_TRUE(stream->send(nack));

  auto info = streamOf("n1", [](const StreamInfo& s) {
    const TypeInfo* eds = typeOf(s, kEds);
    return eds != nullptr && eds->lastNack.has_value();
  });
  ASSERT_TRUE(info.has_value());
  const TypeInfo* eds = typeOf(*info, kEds);
  EXPECT_EQ(eds->lastNack->message, "endpoint port 2 rejected");
  EXPECT_EQ(eds->lastNack->nonce, bad->nonce());
  EXPECT_EQ(eds->lastAckedVersion, good->version_info());
  EXPECT_EQ(server_->counters().nacks, 1u);
}

TEST_F(XdsServerTest, PushReachesOnlyTheTargetedNodes) {
  cache_.setDefault(endpoints({1}));
  auto first = openSotw();
  auto second = openSotw();
  ASSERT_TRUE(first->send(sotw("n1", kEds, {"c0"})));
  ASSERT_TRUE(second->send(sotw("n2", kEds, {"c0"})));
  auto first_initial = first->next();
  auto second_initial = second->next();
  ASSERT_TRUE(first_initial && second_initial);

  cache_.setDefault(endpoints({2}));
  pushAndWait({"n1"});
  auto update = first->next();
  ASSERT_TRUE(update.has_value());
  EXPECT_NE(update->version_info(), first_initial->version_info());
  // The push has run and did not touch n2's stream.
  auto n2 = streamOf("n2");
  ASSERT_TRUE(n2.has_value());
  EXPECT_EQ(typeOf(*n2, kEds)->lastNonceSent, second_initial->nonce());

  pushAndWait({"n2"});
  auto late = second->next();
  ASSERT_TRUE(late.has_value());
  EXPECT_EQ(late->version_info(), update->version_info());
}

TEST_F(XdsServerTest, UnchangedResourcesAreNotSentAgain) {
  cache_.setDefault(endpoints({1, 2}));
  auto stream = openSotw();
  ASSERT_TRUE(stream->send(sotw("n1", kEds, {"c0", "c1"})));
  auto initial = stream->next();
  ASSERT_TRUE(initial.has_value());
  ASSERT_TRUE(stream->send(sotw("", kEds, {"c0", "c1"}, &*initial)));
  ASSERT_TRUE(waitForAcks("n1", kEds, 1));
  // Same content, rebuilt: the push finds nothing to send.
  cache_.setDefault(endpoints({1, 2}));
  pushAndWait({});
  // Then one endpoint changes: the very next response carries only it.
  cache_.setDefault(endpoints({1, 7}));
  pushAndWait({});
  auto update = stream->next();
  ASSERT_TRUE(update.has_value());
  EXPECT_EQ(endpointNames(*update), std::set<std::string>{"c1"});
}

TEST_F(XdsServerTest, DebounceMergesPushesThatComeTogether) {
  ServerOptions options;
  options.debounceQuietPeriod = 300ms;
  options.debounceMaxDelay = 10s;
  startServer(options);
  cache_.setDefault(endpoints({1}));
  auto stream = openSotw();
  ASSERT_TRUE(stream->send(sotw("n1", kEds, {"c0"})));
  ASSERT_TRUE(stream->next().has_value());
  for (uint16_t port = 2; port <= 6; ++port) {
    cache_.setDefault(endpoints({port}));
    server_->push({"n1"});
  }
  auto update = stream->next();
  ASSERT_TRUE(update.has_value());
  envoy::config::endpoint::v3::ClusterLoadAssignment assignment;
  ASSERT_TRUE(update->resources(0).UnpackTo(&assignment));
  EXPECT_EQ(
      assignment.endpoints(0).lb_endpoints(0).endpoint().address().socket_address().port_value(),
      6u);
  ASSERT_TRUE(waitFor([&] { return server_->counters().pushes >= 1; }, 10s));
  EXPECT_EQ(server_->counters().pushRequests, 5u);
  EXPECT_EQ(server_->counters().pushes, 1u);
  // ACKing the pushed change feeds config_propagation_seconds.
  ASSERT_TRUE(stream->send(sotw("", kEds, {"c0"}, &*update)));
  EXPECT_TRUE(waitFor([&] { return server_->counters().propagationSamples == 1; }, 10s));
}

TEST_F(XdsServerTest, DeltaSendsAddsAndRemovals) {
  cache_.setDefault(endpoints({1, 2}));
  auto stream = openDelta();
  DeltaDiscoveryRequest subscribe;
  subscribe.mutable_node()->set_id("d1");
  subscribe.set_type_url(kEds);
  subscribe.add_resource_names_subscribe("c0");
  subscribe.add_resource_names_subscribe("c1");
  ASSERT_TRUE(stream->send(subscribe));
  auto added = stream->next();
  ASSERT_TRUE(added.has_value());
  EXPECT_EQ(added->resources_size(), 2);
  DeltaDiscoveryRequest ack;
  ack.set_type_url(kEds);
  ack.set_response_nonce(added->nonce());
  ASSERT_TRUE(stream->send(ack));
  ASSERT_TRUE(waitForAcks("d1", kEds, 1));

  cache_.setDefault(endpoints({1}));
  server_->push();
  auto removed = stream->next();
  ASSERT_TRUE(removed.has_value());
  EXPECT_EQ(removed->resources_size(), 0);
  ASSERT_EQ(removed->removed_resources_size(), 1);
  EXPECT_EQ(removed->removed_resources(0), "c1");
  auto info = streamOf("d1", [](const StreamInfo& s) { return s.delta && !s.types.empty(); });
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(typeOf(*info, kEds)->acks, 1u);
}

TEST_F(XdsServerTest, DeltaReconnectWithKnownVersionsIsNotSentThemAgain) {
  cache_.setDefault(endpoints({1, 2, 3}));
  std::map<std::string, std::string> versions;
  {
    auto stream = openDelta();
    DeltaDiscoveryRequest subscribe;
    subscribe.mutable_node()->set_id("d1");
    subscribe.set_type_url(kEds);
    subscribe.add_resource_names_subscribe("c0");
    subscribe.add_resource_names_subscribe("c1");
    ASSERT_TRUE(stream->send(subscribe));
    auto added = stream->next();
    ASSERT_TRUE(added.has_value());
    for (const auto& resource : added->resources()) {
      versions[resource.name()] = resource.version();
    }
  }
  ASSERT_TRUE(waitFor([&] { return server_->streamCount() == 0; }, 10s));
  auto stream = openDelta();
  DeltaDiscoveryRequest resume;
  resume.mutable_node()->set_id("d1");
  resume.set_type_url(kEds);
  resume.add_resource_names_subscribe("c0");
  resume.add_resource_names_subscribe("c1");
  resume.add_resource_names_subscribe("c2");
  for (const auto& [name, version] : versions) {
    (*resume.mutable_initial_resource_versions())[name] = version;
  }
  ASSERT_TRUE(stream->send(resume));
  auto response = stream->next();
  ASSERT_TRUE(response.has_value());
  ASSERT_EQ(response->resources_size(), 1);
  EXPECT_EQ(response->resources(0).name(), "c2");
}

TEST_F(XdsServerTest, PerTypeClusterServiceFillsInTheType) {
  cache_.setDefault(endpoints({1, 2}));
  auto cds = envoy::service::cluster::v3::ClusterDiscoveryService::NewStub(channel_);
  SotwStream stream([&](grpc::ClientContext* context) { return cds->StreamClusters(context); });
  DiscoveryRequest request;
  request.mutable_node()->set_id("n1");
  ASSERT_TRUE(stream.send(request));
  auto response = stream.next();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->type_url(), kCds);
  EXPECT_EQ(response->resources_size(), 2);
}

TEST_F(XdsServerTest, SecretServiceServesSecretsByName) {
  ResourceSnapshotBuilder builder;
  envoy::extensions::transport_sockets::tls::v3::Secret secret;
  secret.set_name("default");
  secret.mutable_tls_certificate()->mutable_certificate_chain()->set_inline_string("PEM");
  testing::addResource(builder, secret);
  secret.set_name("ROOTCA");
  testing::addResource(builder, secret);
  cache_.setDefault(builder.build());
  auto sds = envoy::service::secret::v3::SecretDiscoveryService::NewStub(channel_);
  SotwStream stream([&](grpc::ClientContext* context) { return sds->StreamSecrets(context); });
  DiscoveryRequest request;
  request.mutable_node()->set_id("n1");
  request.add_resource_names("default");
  ASSERT_TRUE(stream.send(request));
  auto response = stream.next();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->type_url(), std::string(kSecretType));
  ASSERT_EQ(response->resources_size(), 1);
  envoy::extensions::transport_sockets::tls::v3::Secret received;
  ASSERT_TRUE(response->resources(0).UnpackTo(&received));
  EXPECT_EQ(received.name(), "default");
}

TEST_F(XdsServerTest, ResponseOverTheSendLimitEndsOnlyThatStream) {
  ServerOptions options;
  options.maxSendMessageBytes = 200;
  startServer(options);
  cache_.setDefault(endpoints(std::vector<uint16_t>(20, 1)));
  auto big = openSotw();
  ASSERT_TRUE(big->send(sotw("n1", kCds, {}))); // 20 clusters: over 200 bytes
  EXPECT_FALSE(big->finish().ok());
  auto small = openSotw();
  ASSERT_TRUE(small->send(sotw("n2", kEds, {"c0"}))); // one small resource: fits
  EXPECT_TRUE(small->next().has_value());
  EXPECT_TRUE(waitFor([&] { return server_->streamCount() == 1; }, 10s));
}

TEST_F(XdsServerTest, AdsRequestWithoutTypeIsRejected) {
  auto stream = openSotw();
  ASSERT_TRUE(stream->send(sotw("n1", "", {})));
  EXPECT_EQ(stream->finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(XdsServerTest, ClientDisconnectIsCleanedUp) {
  cache_.setDefault(endpoints({1}));
  auto stream = openSotw();
  ASSERT_TRUE(stream->send(sotw("n1", kCds, {})));
  ASSERT_TRUE(stream->next().has_value());
  EXPECT_EQ(server_->streamCount(), 1u);
  stream.reset(); // cancels the call
  EXPECT_TRUE(waitFor([&] { return server_->streamCount() == 0; }, 10s));
  EXPECT_EQ(server_->counters().connectedStreams, 0);
}

TEST_F(XdsServerTest, ShutdownEndsStreamsWithUnavailable) {
  cache_.setDefault(endpoints({1}));
  auto stream = openSotw();
  ASSERT_TRUE(stream->send(sotw("n1", kCds, {})));
  ASSERT_TRUE(stream->next().has_value());
  server_->shutdown(5s);
  EXPECT_EQ(stream->finish().error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(server_->streamCount(), 0u);
}

} // namespace
} // namespace meshd::control::xds
