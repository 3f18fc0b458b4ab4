// The debug state as JSON: node fields, per-type versions, sync flag and the last NACK.
#include "control/xds/debug_json.h"

#include <map>
#include <memory>

#include "control/xds/response_builder.h"

#include "gtest/gtest.h"

namespace meshd::control::xds {
namespace {

TEST(DebugJsonTest, StreamWithAnAckedTypeAndANackedOne) {
  StreamInfo stream;
  stream.id = 7;
  stream.delta = true;
  stream.node.set_id("sidecar~10.0.0.1~reviews");
  stream.node.set_cluster("reviews");
  stream.connectedAt = core::SystemTime(std::chrono::milliseconds(1'764'138'600'123));
  TypeInfo clusters;
  clusters.typeUrl = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
  clusters.wildcard = true;
  clusters.lastVersionSent = "v2";
  clusters.lastAckedVersion = "v2";
  clusters.acks = 2;
  TypeInfo endpoints;
  endpoints.typeUrl = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";
  endpoints.names = {"a", "b"};
  endpoints.lastVersionSent = "v3";
  endpoints.lastAckedVersion = "v1";
  endpoints.lastNack = NackInfo{"v1", "5", "bad port", 3, stream.connectedAt};
  stream.types = {clusters, endpoints};

  nlohmann::json json = toJson(std::vector<StreamInfo>{stream});
  ASSERT_TRUE(json.is_array());
  ASSERT_EQ(json.size(), 1u);
  const nlohmann::json& entry = json[0];
  EXPECT_EQ(entry["stream_id"], 7);
  EXPECT_EQ(entry["protocol"], "delta");
  EXPECT_EQ(entry["node"]["id"], "sidecar~10.0.0.1~reviews");
  EXPECT_EQ(entry["node"]["cluster"], "reviews");
  EXPECT_EQ(entry["connected_at"], "2025-11-26T06:30:00.123Z");
  EXPECT_EQ(entry["types"][0]["in_sync"], true);
  EXPECT_EQ(entry["types"][0]["wildcard"], true);
  EXPECT_EQ(entry["types"][1]["in_sync"], false);
  EXPECT_EQ(entry["types"][1]["names"], nlohmann::json({"a", "b"}));
  EXPECT_EQ(entry["types"][1]["last_nack"]["message"], "bad port");
  EXPECT_EQ(entry["types"][1]["last_nack"]["nonce"], "5");
  EXPECT_FALSE(entry["types"][0].contains("last_nack"));
}

} // namespace
} // namespace meshd::control::xds

namespace meshd::control::xds {
namespace {

ResourceMap resourcesAt(std::map<std::string, std::string> versions) {
  ResourceMap out;
  for (const auto& [name, version] : versions) {
    out[name] = std::make_shared<const Resource>(Resource{name, version, {}});
  }
  return out;
}

TEST(HoldsSubscriptionTest, JudgesByWhatTheClientHolds) {
  const ResourceMap now = resourcesAt({{"a", "1"}, {"b", "2"}});
  // A client that unsubscribed from "c" and holds "a" at today's version: up to date, although
  // the version it ACKed named {a, c}.
  EXPECT_TRUE(holdsSubscription(&now, false, {"a"}, {{"a", "1"}, {"c", "9"}}));
  EXPECT_FALSE(holdsSubscription(&now, false, {"a"}, {{"a", "0"}})) << "an older version";
  EXPECT_FALSE(holdsSubscription(&now, false, {"a", "b"}, {{"a", "1"}})) << "b never sent";
  EXPECT_TRUE(holdsSubscription(&now, false, {"a", "gone"}, {{"a", "1"}}))
      << "a name meshd has no resource for does not count";
  EXPECT_TRUE(holdsSubscription(&now, true, {}, {{"a", "1"}, {"b", "2"}}));
  EXPECT_FALSE(holdsSubscription(&now, true, {}, {{"a", "1"}, {"b", "2"}, {"old", "1"}}))
      << "wildcard: a resource that is gone is still held";
  EXPECT_TRUE(holdsSubscription(nullptr, false, {"a"}, {}));
}

} // namespace
} // namespace meshd::control::xds
