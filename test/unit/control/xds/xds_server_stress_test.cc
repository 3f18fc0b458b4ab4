// XdsServer under concurrent pushes, new snapshots and disconnecting clients (SotW and delta
// mixed): every client that stays gets the final state, disconnected ones are cleaned up, and
// shutdown ends the rest. Run under ASan/UBSan (the debug preset) this exercises the stream
// lifetime and write-queue paths; Debian's gRPC is not built for TSan, so TSan reports there are
// not meaningful.
#include <memory>
#include <vector>

#include "control/xds/snapshot_cache.h"
#include "control/xds/type_urls.h"
#include "control/xds/xds_server.h"
#include "envoy/service/discovery/v3/ads.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "test/support/process.h"
#include "test/unit/control/xds/test_resources.h"
#include "test/unit/control/xds/xds_test_client.h"
#include "gtest/gtest.h"

namespace meshd::control::xds {
namespace {

using namespace std::chrono_literals;
using envoy::config::endpoint::v3::ClusterLoadAssignment;
using envoy::service::discovery::v3::AggregatedDiscoveryService;
using envoy::service::discovery::v3::DeltaDiscoveryRequest;
using envoy::service::discovery::v3::DeltaDiscoveryResponse;
using envoy::service::discovery::v3::DiscoveryRequest;
using envoy::service::discovery::v3::DiscoveryResponse;
using SotwStream = testing::TestStream<DiscoveryRequest, DiscoveryResponse>;
using DeltaStream = testing::TestStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>;

const std::string kEds(kClusterLoadAssignmentType);

uint32_t portOf(const google::protobuf::Any& any) {
  ClusterLoadAssignment assignment;
  EXPECT_TRUE(any.UnpackTo(&assignment));
  return assignment.endpoints(0).lb_endpoints(0).endpoint().address().socket_address().port_value();
}

TEST(XdsServerStressTest, ConcurrentPushesAndDisconnects) {
  constexpr int kStreams = 60;
  constexpr int kDropped = 20;
  constexpr int kPushes = 40;
  SnapshotCache cache;
  ResourceSnapshotBuilder builder;
  testing::addResource(builder, testing::loadAssignment("c0", 1000));
  testing::addResource(builder, testing::loadAssignment("c1", 1000));
  cache.setDefault(builder.build());
  ServerOptions options;
  options.debounceQuietPeriod = 0ms;
  options.pushConcurrency = 4;
  XdsServer server(cache, options);
  ASSERT_TRUE(server.start().ok());
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(server.port()),
                                     grpc::InsecureChannelCredentials());
  auto stub = AggregatedDiscoveryService::NewStub(channel);

  std::vector<std::unique_ptr<SotwStream>> sotw;
  std::vector<std::unique_ptr<DeltaStream>> delta;
  for (int i = 0; i < kStreams / 2; ++i) {
    sotw.push_back(std::make_unique<SotwStream>(
        [&](grpc::ClientContext* context) { return stub->StreamAggregatedResources(context); }));
    DiscoveryRequest request;
    request.mutable_node()->set_id("sotw-" + std::to_string(i));
    request.set_type_url(kEds);
    request.add_resource_names("c0");
    ASSERT_TRUE(sotw.back()->send(request));
    delta.push_back(std::make_unique<DeltaStream>(
        [&](grpc::ClientContext* context) { return stub->DeltaAggregatedResources(context); }));
    DeltaDiscoveryRequest subscribe;
    subscribe.mutable_node()->set_id("delta-" + std::to_string(i));
    subscribe.set_type_url(kEds);
    subscribe.add_resource_names_subscribe("c0");
    subscribe.add_resource_names_subscribe("c1");
    ASSERT_TRUE(delta.back()->send(subscribe));
  }
  ASSERT_TRUE(meshd::testing::waitFor([&] { return server.streamCount() == kStreams; }, 20s));

  uint16_t port = 1000;
  for (int push = 0; push < kPushes; ++push) {
    ResourceSnapshotBuilder next(*cache.get(""));
    testing::addResource(next, testing::loadAssignment("c0", ++port));
    if (push % 3 == 0) {
      next.remove(kEds, "c1"); // delta streams see removals and re-additions too
    } else {
      testing::addResource(next, testing::loadAssignment("c1", port));
    }
    cache.setDefault(next.build());
    push % 2 == 0 ? server.push() : server.push({"sotw-1", "delta-1", "nobody"});
    if (push == kPushes / 2) {
      // Half of the dropped clients go away in the middle of the pushes.
      sotw.erase(sotw.begin(), sotw.begin() + kDropped / 2);
      delta.erase(delta.begin(), delta.begin() + kDropped / 2);
    }
  }
  server.push();
  const uint32_t final_port = port;

  for (auto& stream : sotw) {
    bool current = false;
    while (!current) {
      auto response = stream->next(20s);
      ASSERT_TRUE(response.has_value()) << "a SotW client never got port " << final_port;
      for (const auto& any : response->resources()) {
        current = current || portOf(any) == final_port;
      }
    }
  }
  for (auto& stream : delta) {
    bool current = false;
    while (!current) {
      auto response = stream->next(20s);
      ASSERT_TRUE(response.has_value()) << "a delta client never got port " << final_port;
      for (const auto& resource : response->resources()) {
        current = current || (resource.name() == "c0" && portOf(resource.resource()) == final_port);
      }
    }
  }
  EXPECT_TRUE(meshd::testing::waitFor(
      [&] { return server.streamCount() == static_cast<size_t>(kStreams - kDropped); }, 20s));
  EXPECT_EQ(server.counters().connectedStreams, kStreams - kDropped);

  server.shutdown(10s);
  for (auto& stream : sotw) {
    EXPECT_EQ(stream->finish().error_code(), grpc::StatusCode::UNAVAILABLE);
  }
  for (auto& stream : delta) {
    EXPECT_EQ(stream->finish().error_code(), grpc::StatusCode::UNAVAILABLE);
  }
  EXPECT_EQ(server.streamCount(), 0u);
}

} // namespace
} // namespace meshd::control::xds
