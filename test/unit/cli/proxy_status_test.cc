// Unit tests for proxy-status: the per-type state from /debug/syncz entries (SYNCED, STALE on an
// unACKed version or a pending NACK, NOT SENT), one row per node (its newest stream), rendering.
#include "cli/proxy_status.h"

#include "gtest/gtest.h"

namespace meshd::cli {
namespace {

using Json = nlohmann::json;

Json type(const std::string& url, const std::string& sent, const std::string& acked,
          const std::string& nonce = "n1") {
  return {{"type_url", "type.googleapis.com/envoy.config." + url},
          {"last_version_sent", sent},
          {"last_nonce_sent", nonce},
          {"last_acked_version", acked}};
}

TEST(SyncStateTest, AckedVersionIsSynced) {
  EXPECT_EQ(syncStateOf(type("cluster.v3.Cluster", "3", "3")), SyncState::kSynced);
}

TEST(SyncStateTest, UnackedVersionIsStale) {
  EXPECT_EQ(syncStateOf(type("cluster.v3.Cluster", "4", "3")), SyncState::kStale);
  EXPECT_EQ(syncStateOf(type("cluster.v3.Cluster", "4", "")), SyncState::kStale);
}

TEST(SyncStateTest, NothingSentIsNotSent) {
  EXPECT_EQ(syncStateOf(type("cluster.v3.Cluster", "", "")), SyncState::kNotSent);
  EXPECT_EQ(syncStateOf(Json()), SyncState::kNotSent);
}

TEST(SyncStateTest, NackOfTheLastResponseIsStaleAnOldOneIsNot) {
  Json nacked = type("listener.v3.Listener", "5", "4", "n5");
  nacked["last_nack"] = {{"version", "4"}, {"nonce", "n5"}, {"message", "bad listener"}};
  EXPECT_EQ(syncStateOf(nacked), SyncState::kStale);
  // The proxy NACKed version 5, then meshd sent 6 and it was ACKed: the NACK is history.
  Json recovered = type("listener.v3.Listener", "6", "6", "n6");
  recovered["last_nack"] = {{"version", "4"}, {"nonce", "n5"}, {"message", "bad listener"}};
  EXPECT_EQ(syncStateOf(recovered), SyncState::kSynced);
}

TEST(SyncStateTest, MeshdSaysNotUpToDateIsStale) {
  Json pending = type("route.v3.RouteConfiguration", "3", "3");
  pending["up_to_date"] = false; // meshd has a newer version it has not pushed yet
  EXPECT_EQ(syncStateOf(pending), SyncState::kStale);
  pending["up_to_date"] = true;
  EXPECT_EQ(syncStateOf(pending), SyncState::kSynced);
  Json notSent = type("route.v3.RouteConfiguration", "", "");
  notSent["up_to_date"] = false;
  EXPECT_EQ(syncStateOf(notSent), SyncState::kStale);
}

Json stream(int id, const std::string& node, Json types) {
  return {{"stream_id", id}, {"node", {{"id", node}}}, {"types", std::move(types)}};
}

TEST(ProxySyncsTest, OneRowPerNodeFromItsNewestStream) {
  Json nacked = type("listener.v3.Listener", "5", "4", "n5");
  nacked["last_nack"] = {{"version", "4"}, {"nonce", "n5"}, {"message", "bad listener"}};
  const Json syncz = Json::array({
      stream(7, "sidecar~10.0.0.2~b.ns~ns.svc.cluster.local",
             {type("cluster.v3.Cluster", "5", "5"), nacked,
              type("endpoint.v3.ClusterLoadAssignment", "5", "5")}),
      stream(1, "sidecar~10.0.0.1~a.ns~ns.svc.cluster.local",
             {type("cluster.v3.Cluster", "1", "")}),
      stream(9, "sidecar~10.0.0.1~a.ns~ns.svc.cluster.local",
             {type("cluster.v3.Cluster", "5", "5"), type("listener.v3.Listener", "5", "5"),
              type("endpoint.v3.ClusterLoadAssignment", "5", "5"),
              type("route.v3.RouteConfiguration", "5", "5")}),
  });
  const std::vector<ProxySync> proxies = proxySyncs(syncz);
  ASSERT_EQ(proxies.size(), 2u);
  EXPECT_TRUE(proxies[0].synced());
  EXPECT_EQ(proxies[0].rds, SyncState::kSynced);
  EXPECT_FALSE(proxies[1].synced());
  EXPECT_EQ(proxies[1].lds, SyncState::kStale);
  EXPECT_EQ(proxies[1].rds, SyncState::kNotSent);
  EXPECT_EQ(renderProxyStatus(proxies),
            "NAME                                         CDS      LDS      EDS      RDS\n"
            "sidecar~10.0.0.1~a.ns~ns.svc.cluster.local   SYNCED   SYNCED   SYNCED   SYNCED\n"
            "sidecar~10.0.0.2~b.ns~ns.svc.cluster.local   SYNCED   STALE    SYNCED   NOT SENT\n"
            "sidecar~10.0.0.2~b.ns~ns.svc.cluster.local rejected LDS: bad listener\n");
  EXPECT_EQ(proxyStatusJson(proxies)[1]["synced"], false);
  EXPECT_EQ(connectedNodes(syncz).size(), 2u);
}

TEST(ProxySyncsTest, PrefersMeshdsNodeId) {
  Json entry = stream(1, "from-node", Json::array());
  entry["node_id"] = "sidecar~10.0.0.1~a.ns~ns.svc.cluster.local";
  EXPECT_EQ(proxySyncs(Json::array({entry}))[0].node, "sidecar~10.0.0.1~a.ns~ns.svc.cluster.local");
}

TEST(ProxySyncsTest, AcceptsStreamsWrappedInAnObject) {
  const Json syncz = {{"streams", Json::array({stream(1, "router~a", Json::array())})}};
  ASSERT_EQ(proxySyncs(syncz).size(), 1u);
  EXPECT_EQ(proxySyncs(syncz)[0].cds, SyncState::kNotSent);
  EXPECT_TRUE(proxySyncs(Json::array()).empty());
}

} // namespace
} // namespace meshd::cli
