// mesh-proxy as an ADS client of meshd's xDS server: clusters (CDS) and their endpoints (EDS)
// arrive over one stream; endpoint changes are followed; an invalid cluster is NACKed with its
// reason while the previous config keeps serving; a removed cluster answers 503; the proxy keeps
// serving while the control plane is gone and reconnects when it is back.
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "control/xds/resource_snapshot.h"
#include "control/xds/snapshot_cache.h"
#include "control/xds/xds_server.h"
#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/config/route/v3/route.pb.h"
#include "fmt/format.h"
#include "google/protobuf/util/json_util.h"
#include "test/integration/proxy/h2_frames.h"
#include "test/integration/proxy/http_test_helpers.h"
#include "test/support/http_backend.h"
#include "test/support/http_client.h"
#include "test/support/mesh_proxy.h"
#include "test/support/process.h"
#include "test/support/temp_dir.h"
#include "gtest/gtest.h"

namespace meshd::testing {
namespace {

using namespace std::chrono_literals;
using control::xds::ResourceSnapshotBuilder;

constexpr const char* kClusterType = "type.googleapis.com/envoy.config.cluster.v3.Cluster";

template <class Message>
Message fromJson(const std::string& json) {
  Message message;
  const auto status = google::protobuf::util::JsonStringToMessage(json, &message);
  EXPECT_TRUE(status.ok()) << status.ToString() << "\n" << json;
  return message;
}

envoy::config::cluster::v3::Cluster edsCluster(const std::string& name,
                                               const std::string& extra = "") {
  return fromJson<envoy::config::cluster::v3::Cluster>(fmt::format(
      R"({{"name": "{}", "type": "EDS", "connect_timeout": "1s", {}
          "eds_cluster_config": {{"eds_config": {{"ads": {{}}, "resource_api_version": "V3"}}}}}})",
      name, extra));
}

envoy::config::endpoint::v3::ClusterLoadAssignment assignment(const std::string& name,
                                                              uint16_t port) {
  return fromJson<envoy::config::endpoint::v3::ClusterLoadAssignment>(fmt::format(
      R"({{"cluster_name": "{}", "endpoints": [{{"lb_endpoints": [{{"endpoint": {{"address":
          {{"socket_address": {{"address": "127.0.0.1", "port_value": {}}}}}}}}}]}}]}})",
      name, port));
}

// Every test runs over a state-of-the-world and over a delta ADS stream (the bootstrap's
// ads_config.api_type).
class ProxyAdsTest : public ::testing::TestWithParam<std::string> {
protected:
  void SetUp() override {
    options_.debounceQuietPeriod = 0ms;
    server_ = std::make_unique<control::xds::XdsServer>(cache_, options_);
    ASSERT_TRUE(server_->start().ok());
    xdsPort_ = static_cast<uint16_t>(server_->port());
  }

  void publish(const std::vector<const google::protobuf::Message*>& resources) {
    ResourceSnapshotBuilder builder;
    for (const auto* resource : resources) {
      ASSERT_TRUE(builder.add(*resource).ok());
    }
    cache_.setDefault(builder.build());
    server_->push();
  }

  // `routes`: the connection manager's route source (YAML), inline by default.
  void startProxy(const std::string& routes = "route_config:\n" +
                                              reindent(catchAllRoutes("backend"), 2),
                  std::vector<std::string> args = {}) {
    proxy_ = std::make_unique<MeshProxy>(fmt::format(R"(
node: {{ id: ads-test-proxy, cluster: test }}
admin:
  address: {{ socket_address: {{ address: 127.0.0.1, port_value: 0 }} }}
dynamic_resources:
  ads_config:
    api_type: {}
    transport_api_version: V3
    grpc_services: [ {{ envoy_grpc: {{ cluster_name: xds }} }} ]
  cds_config: {{ ads: {{}}, resource_api_version: V3{} }}{}
static_resources:
{}  clusters:
  - name: xds
    load_assignment:
      cluster_name: xds
      endpoints:
      - lb_endpoints:
        - endpoint: {{ address: {{ socket_address: {{ address: 127.0.0.1, port_value: {} }} }} }}
)",
                                                     GetParam(), cdsExtra_,
                                                     lds_ ? "\n  lds_config: { ads: {} }" : "",
                                                     httpListenerYaml(routes), xdsPort_),
                                         std::move(args));
    ASSERT_TRUE(proxy_->started()) << proxy_->logs();
    port_ = proxy_->listenerPort("http");
  }

  std::string servedBy() const {
    const auto response = httpRequest(port_, "GET", "/echo", {}, 5s);
    const size_t at = response.headers.find("x-backend: ");
    return response.status != 200 || at == std::string::npos ? std::to_string(response.status)
                                                             : response.headers.substr(at + 11, 1);
  }

  std::string stat(const std::string& name) const {
    const std::string text = httpGet(proxy_->adminPort(), "/stats").body;
    const size_t at = text.find(name + ": ");
    return at == std::string::npos
               ? ""
               : text.substr(at + name.size() + 2, text.find('\n', at) - at - name.size() - 2);
  }

  void TearDown() override {
    if (HasFailure() && proxy_) {
      std::cerr << "mesh-proxy logs:\n" << proxy_->logs() << "\n";
    }
  }

  bool lds_ = false;     // the bootstrap also takes listeners over ADS
  std::string cdsExtra_; // more cds_config fields (", initial_fetch_timeout: 1s")
  control::xds::SnapshotCache cache_;
  control::xds::ServerOptions options_;
  std::unique_ptr<control::xds::XdsServer> server_;
  uint16_t xdsPort_ = 0;
  HttpBackend a_{"a"};
  HttpBackend b_{"b"};
  std::unique_ptr<MeshProxy> proxy_;
  uint16_t port_ = 0;
};

TEST_P(ProxyAdsTest, ClustersAndEndpointsComeOverAdsAndFollowChanges) {
  const auto cluster = edsCluster("backend");
  const auto toA = assignment("backend", a_.port());
  publish({&cluster, &toA});
  ASSERT_NO_FATAL_FAILURE(startProxy());
  // Ready only once the cluster and its endpoints arrived: the first request already works.
  EXPECT_EQ(servedBy(), "a");
  EXPECT_EQ(stat("control_plane.connected_state"), "1");

  const auto toB = assignment("backend", b_.port());
  publish({&cluster, &toB});
  EXPECT_TRUE(waitFor([&] { return servedBy() == "b"; }, 10s));
  EXPECT_NE(stat("cluster_manager.eds.update_success"), "0");

  // A cluster the proxy cannot honour: NACKed with the reason, the old config keeps serving.
  const auto bad = edsCluster("backend", R"("lb_policy": "LOAD_BALANCING_POLICY_CONFIG",)");
  publish({&bad, &toB});
  EXPECT_TRUE(waitFor(
      [&] {
        for (const auto& stream : server_->streams()) {
          for (const auto& type : stream.types) {
            if (type.typeUrl == kClusterType && type.lastNack &&
                type.lastNack->message.find("lb_policy") != std::string::npos) {
              return true;
            }
          }
        }
        return false;
      },
      10s));
  EXPECT_EQ(servedBy(), "b");
  EXPECT_EQ(stat("cluster_manager.cds.update_rejected"), "1");

  // The cluster removed: 503 (no cluster), and its pooled upstream connections are closed.
  ASSERT_GT(b_.connectionsAccepted(), 0);
  publish({&toB});
  EXPECT_TRUE(waitFor([&] { return servedBy() == "503"; }, 10s));
  EXPECT_TRUE(waitFor([&] { return b_.connectionsClosed() == b_.connectionsAccepted(); }, 10s))
      << b_.connectionsClosed() << " of " << b_.connectionsAccepted() << " closed";
}

TEST_P(ProxyAdsTest, ChangedClusterWarmsUntilItsEndpointsArrive) {
  const auto cluster = edsCluster("backend");
  const auto toA = assignment("backend", a_.port());
  publish({&cluster, &toA});
  ASSERT_NO_FATAL_FAILURE(startProxy());
  EXPECT_EQ(servedBy(), "a");

  // The cluster now takes its endpoints from another EDS service, not sent yet: it warms, and
  // its previous version serves meanwhile (instead of a cluster with no endpoints: 503).
  auto renamed = edsCluster("backend");
  renamed.mutable_eds_cluster_config()->set_service_name("backend-v2");
  publish({&renamed, &toA});
  EXPECT_TRUE(waitFor([&] { return stat("cluster_manager.warming_clusters") == "1"; }, 10s));
  EXPECT_EQ(servedBy(), "a");
  EXPECT_NE(httpGet(proxy_->adminPort(), "/config_dump").body.find("dynamic_warming_clusters"),
            std::string::npos);

  const auto v2ToB = assignment("backend-v2", b_.port());
  publish({&renamed, &toA, &v2ToB});
  EXPECT_TRUE(waitFor([&] { return servedBy() == "b"; }, 10s));
  EXPECT_EQ(stat("cluster_manager.warming_clusters"), "0");
}

TEST_P(ProxyAdsTest, KeepsServingWithoutTheControlPlaneAndReconnects) {
  const auto cluster = edsCluster("backend");
  const auto toA = assignment("backend", a_.port());
  publish({&cluster, &toA});
  ASSERT_NO_FATAL_FAILURE(startProxy());
  EXPECT_EQ(servedBy(), "a");

  server_->shutdown(1s);
  server_.reset();
  EXPECT_TRUE(waitFor([&] { return stat("control_plane.connected_state") == "0"; }, 10s));
  for (int i = 0; i < 50; ++i) {
    ASSERT_EQ(servedBy(), "a") << i; // zero errors while the control plane is away
  }

  // Back on the same port, with the endpoint moved: the proxy reconnects and follows.
  options_.listenAddress = fmt::format("127.0.0.1:{}", xdsPort_);
  server_ = std::make_unique<control::xds::XdsServer>(cache_, options_);
  ASSERT_TRUE(server_->start().ok());
  const auto toB = assignment("backend", b_.port());
  publish({&cluster, &toB});
  EXPECT_TRUE(waitFor([&] { return servedBy() == "b"; }, 30s));
  EXPECT_EQ(stat("control_plane.connected_state"), "1");
}

envoy::config::route::v3::RouteConfiguration routesTo(const std::string& cluster,
                                                      const std::string& regex = "") {
  const std::string match =
      regex.empty() ? R"("prefix": "/")" : fmt::format(R"("safe_regex": {{"regex": "{}"}})", regex);
  return fromJson<envoy::config::route::v3::RouteConfiguration>(fmt::format(
      R"({{"name": "routes", "virtual_hosts": [{{"name": "all", "domains": ["*"],
          "routes": [{{"match": {{{}}}, "route": {{"cluster": "{}"}}}}]}}]}})",
      match, cluster));
}

TEST_P(ProxyAdsTest, RoutesComeOverRdsAndApplyToKeepAliveConnections) {
  const auto clusterA = edsCluster("ca");
  const auto clusterB = edsCluster("cb");
  const auto toA = assignment("ca", a_.port());
  const auto toB = assignment("cb", b_.port());
  const auto routesA = routesTo("ca");
  publish({&clusterA, &clusterB, &toA, &toB, &routesA});
  ASSERT_NO_FATAL_FAILURE(
      startProxy(R"(rds: { route_config_name: routes, config_source: { ads: {} } })"));
  HttpConnection connection(port_);
  EXPECT_EQ(connection.request("GET", "/echo").header("x-backend"), "a");

  const auto routesB = routesTo("cb");
  publish({&clusterA, &clusterB, &toA, &toB, &routesB});
  EXPECT_TRUE(
      waitFor([&] { return connection.request("GET", "/echo").header("x-backend") == "b"; }, 10s));

  // A route whose regex does not compile is NACKed; the routes in use stay.
  const auto broken = routesTo("ca", "([unclosed");
  publish({&clusterA, &clusterB, &toA, &toB, &broken});
  EXPECT_TRUE(waitFor([&] { return stat("rds.update_rejected") == "1"; }, 10s));
  EXPECT_EQ(connection.request("GET", "/echo").header("x-backend"), "b");
  EXPECT_FALSE(connection.peerClosed());

  // /config_dump shows what came over ADS, and why the last route update was refused.
  const std::string dump = httpGet(proxy_->adminPort(), "/config_dump").body;
  for (const char* expected :
       {"envoy.admin.v3.ClustersConfigDump", "dynamic_active_clusters", "\"name\": \"cb\"",
        "envoy.admin.v3.EndpointsConfigDump", "dynamic_endpoint_configs",
        "envoy.admin.v3.RoutesConfigDump", "dynamic_route_configs", "error_state", "([unclosed"}) {
    EXPECT_NE(dump.find(expected), std::string::npos) << expected << "\n" << dump;
  }
}

TEST_P(ProxyAdsTest, RestartWithoutTheControlPlaneServesTheCachedConfig) {
  TempDir cache;
  const auto clusterA = edsCluster("ca");
  const auto toB = assignment("ca", b_.port());
  const auto routesA = routesTo("ca");
  publish({&clusterA, &toB, &routesA});
  const std::string rds = R"(rds: { route_config_name: routes, config_source: { ads: {} } })";
  ASSERT_NO_FATAL_FAILURE(startProxy(rds, {"--xds-cache-dir", cache.path().string()}));
  EXPECT_EQ(servedBy(), "b");
  proxy_.reset(); // the proxy goes away...
  server_->shutdown(1s);
  server_.reset(); // ...and so does the control plane
  // A new proxy comes up serving what the last one had accepted, without waiting for the initial
  // fetch timeout (15 s), which is all it could do without the cache.
  const auto started = std::chrono::steady_clock::now();
  ASSERT_NO_FATAL_FAILURE(startProxy(rds, {"--xds-cache-dir", cache.path().string()}));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 14s);
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(servedBy(), "b");
  }
  EXPECT_EQ(stat("control_plane.connected_state"), "0");
}

TEST_P(ProxyAdsTest, CorruptCacheFilesAreSkipped) {
  TempDir cache;
  cache.write("Cluster.pb", "not a DiscoveryResponse \x01\x02");
  cache.write("ClusterLoadAssignment.pb", "");
  const auto cluster = edsCluster("backend");
  const auto toA = assignment("backend", a_.port());
  publish({&cluster, &toA});
  // Nothing usable in the cache: the proxy starts from the control plane as without one, and
  // replaces the files with what it accepted.
  ASSERT_NO_FATAL_FAILURE(startProxy("route_config:\n" + reindent(catchAllRoutes("backend"), 2),
                                     {"--xds-cache-dir", cache.path().string()}));
  EXPECT_EQ(servedBy(), "a");
  EXPECT_TRUE(waitFor(
      [&] {
        envoy::service::discovery::v3::DiscoveryResponse kept;
        std::ifstream in(cache.path() / "Cluster.pb", std::ios::binary);
        return kept.ParseFromIstream(&in) && kept.resources_size() == 1;
      },
      10s));
}

// An HTTP listener on `port`; `routes` is the connection manager's route source (JSON).
envoy::config::listener::v3::Listener httpListener(const std::string& name, uint16_t port,
                                                   const std::string& routes) {
  return fromJson<envoy::config::listener::v3::Listener>(fmt::format(
      R"({{"name": "{}", "address": {{"socket_address": {{"address": "127.0.0.1",
          "port_value": {}}}}}, "filter_chains": [{{"filters": [{{
        "name": "envoy.filters.network.http_connection_manager",
        "typed_config": {{
          "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
          "stat_prefix": "dyn", {},
          "http_filters": [{{"name": "envoy.filters.http.router", "typed_config": {{
            "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}}}]
        }}}}]}}]}})",
      name, port, routes));
}

// A listener on `port` whose routes send everything to `cluster`.
envoy::config::listener::v3::Listener dynamicListener(const std::string& name, uint16_t port,
                                                      const std::string& cluster) {
  return httpListener(name, port,
                      fmt::format(R"("route_config": {{"virtual_hosts": [{{"name": "all",
                          "domains": ["*"], "routes": [{{"match": {{"prefix": "/"}},
                          "route": {{"cluster": "{}"}}}}]}}]}})",
                                  cluster));
}

// A listener on `port` taking its routes from RDS under `route_name`.
envoy::config::listener::v3::Listener rdsListener(const std::string& name, uint16_t port,
                                                  const std::string& route_name) {
  return httpListener(
      name, port,
      fmt::format(R"("rds": {{"route_config_name": "{}", "config_source": {{"ads": {{}}}}}})",
                  route_name));
}

// A listener on `port` relaying TCP to `cluster`.
envoy::config::listener::v3::Listener tcpListener(const std::string& name, uint16_t port,
                                                  const std::string& cluster) {
  return fromJson<envoy::config::listener::v3::Listener>(fmt::format(
      R"({{"name": "{}", "address": {{"socket_address": {{"address": "127.0.0.1",
          "port_value": {}}}}}, "filter_chains": [{{"filters": [{{
        "name": "envoy.filters.network.tcp_proxy",
        "typed_config": {{
          "@type": "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy",
          "stat_prefix": "raw", "cluster": "{}"}}}}]}}]}})",
      name, port, cluster));
}

TEST_P(ProxyAdsTest, ConnectionsOfChangedListenersCloseWhenTheDrainTimeIsOver) {
  lds_ = true;
  const uint16_t httpPort = pickFreePort();
  const uint16_t tcpPort = pickFreePort();
  const auto clusterA = edsCluster("ca");
  const auto clusterB = edsCluster("cb");
  const auto toA = assignment("ca", a_.port());
  const auto toB = assignment("cb", b_.port());
  const auto httpToA = dynamicListener("dyn", httpPort, "ca");
  const auto tcpToA = tcpListener("raw", tcpPort, "ca");
  publish({&clusterA, &clusterB, &toA, &toB, &httpToA, &tcpToA});
  ASSERT_NO_FATAL_FAILURE(
      startProxy("route_config:\n" + reindent(catchAllRoutes("ca"), 2), {"--drain-time-s", "1"}));
  HttpConnection idleHttp(httpPort);
  HttpConnection idleTcp(tcpPort);
  HttpConnection unchanged(port_);
  for (HttpConnection* connection : {&idleHttp, &idleTcp, &unchanged}) {
    const auto response = connection->request("GET", "/echo");
    ASSERT_EQ(response.header("x-backend"), "a");
  }

  // Both listeners change; their idle connections are closed once the drain second is over
  // (the HTTP one had no request to carry "connection: close"; the TCP one never would).
  const auto httpToB = dynamicListener("dyn", httpPort, "cb");
  const auto tcpToB = tcpListener("raw", tcpPort, "cb");
  publish({&clusterA, &clusterB, &toA, &toB, &httpToB, &tcpToB});
  EXPECT_TRUE(idleHttp.waitForClose(10s));
  EXPECT_TRUE(idleTcp.waitForClose(10s));
  HttpConnection freshTcp(tcpPort);
  EXPECT_EQ(freshTcp.request("GET", "/echo").header("x-backend"), "b");
  // The static listener did not change: its connection stays.
  const auto still = unchanged.request("GET", "/echo");
  EXPECT_EQ(still.status, 200);
  EXPECT_NE(still.header("connection").value_or(""), "close");
}

TEST_P(ProxyAdsTest, ListenersWarmUntilTheirRoutesArrive) {
  lds_ = true;
  const uint16_t changedPort = pickFreePort();
  const uint16_t newPort = pickFreePort();
  const auto clusterA = edsCluster("ca");
  const auto clusterB = edsCluster("cb");
  const auto toA = assignment("ca", a_.port());
  const auto toB = assignment("cb", b_.port());
  const auto inlineToA = dynamicListener("changed", changedPort, "ca");
  publish({&clusterA, &clusterB, &toA, &toB, &inlineToA});
  ASSERT_NO_FATAL_FAILURE(startProxy());

  // Both listeners now want routes "later", not sent yet: they warm. The changed one serves its
  // previous version meanwhile; the new one is bound but does not answer (no 404 NR window).
  const auto changed = rdsListener("changed", changedPort, "later");
  const auto added = rdsListener("added", newPort, "later");
  publish({&clusterA, &clusterB, &toA, &toB, &changed, &added});
  EXPECT_TRUE(
      waitFor([&] { return stat("listener_manager.total_listeners_warming") == "2"; }, 10s));
  HttpConnection keptVersion(changedPort);
  EXPECT_EQ(keptVersion.request("GET", "/echo").header("x-backend"), "a");
  EXPECT_NE(httpGet(proxy_->adminPort(), "/config_dump").body.find("warming_state"),
            std::string::npos);
  HttpConnection early(newPort);
  ASSERT_TRUE(early.send(rawRequest("GET", "/echo", {{"host", "x"}})));

  auto later = routesTo("cb");
  later.set_name("later");
  publish({&clusterA, &clusterB, &toA, &toB, &changed, &added, &later});
  EXPECT_EQ(early.read().header("x-backend"), "b") << "the early request waited for the routes";
  EXPECT_TRUE(waitFor(
      [&] {
        HttpConnection fresh(changedPort);
        return fresh.request("GET", "/echo").header("x-backend") == "b";
      },
      10s));
  EXPECT_EQ(stat("listener_manager.total_listeners_warming"), "0");
}

TEST_P(ProxyAdsTest, ListenersComeOverLdsAndChangeWithoutDroppingConnections) {
  lds_ = true;
  const uint16_t port = pickFreePort();
  const auto clusterA = edsCluster("ca");
  const auto clusterB = edsCluster("cb");
  const auto toA = assignment("ca", a_.port());
  const auto toB = assignment("cb", b_.port());
  const auto dynToA = dynamicListener("dyn", port, "ca");
  publish({&clusterA, &clusterB, &toA, &toB, &dynToA});
  // A drain time longer than this test: the drained connection ends by itself.
  ASSERT_NO_FATAL_FAILURE(startProxy("route_config:\n" + reindent(catchAllRoutes("backend"), 2),
                                     {"--drain-time-s", "60"}));
  HttpConnection before(port);
  const auto first = before.request("GET", "/echo");
  EXPECT_EQ(first.header("x-backend"), "a");
  EXPECT_NE(first.header("connection").value_or(""), "close");

  // The listener changes: new connections get the new routes; the open one drains (its next
  // response is its last, and still served).
  const auto dynToB = dynamicListener("dyn", port, "cb");
  publish({&clusterA, &clusterB, &toA, &toB, &dynToB});
  EXPECT_TRUE(waitFor(
      [&] {
        HttpConnection fresh(port);
        return fresh.request("GET", "/echo").header("x-backend") == "b";
      },
      10s));
  const auto last = before.request("GET", "/echo");
  EXPECT_EQ(last.status, 200);
  EXPECT_EQ(last.header("connection"), "close");
  EXPECT_TRUE(before.waitForClose(10s));

  // A listener on an address in use: the update is rejected whole, the listeners stay.
  uint16_t taken = 0;
  const int holder = listenLoopback(taken);
  ASSERT_GE(holder, 0);
  const auto clash = dynamicListener("clash", taken, "ca");
  publish({&clusterA, &clusterB, &toA, &toB, &dynToB, &clash});
  EXPECT_TRUE(waitFor([&] { return stat("listener_manager.lds.update_rejected") == "1"; }, 10s));
  ::close(holder);
  HttpConnection still(port);
  EXPECT_EQ(still.request("GET", "/echo").header("x-backend"), "b");

  // Removed: the port closes.
  publish({&clusterA, &clusterB, &toA, &toB});
  EXPECT_TRUE(waitFor([&] { return !tcpPortOpen(port); }, 10s));
  const std::string dump = httpGet(proxy_->adminPort(), "/config_dump").body;
  EXPECT_NE(dump.find("envoy.admin.v3.ListenersConfigDump"), std::string::npos) << dump;
}

// HTTP/2: where an HTTP/1.1 connection of a changed listener answers its next request with
// Connection: close, an HTTP/2 one serves the stream that found the listener changed, sends
// GOAWAY, and closes once its streams ended.
TEST_P(ProxyAdsTest, Http2ConnectionOfAChangedListenerEndsWithGoAway) {
  lds_ = true;
  const uint16_t port = pickFreePort();
  const auto clusterA = edsCluster("ca");
  const auto clusterB = edsCluster("cb");
  const auto toA = assignment("ca", a_.port());
  const auto toB = assignment("cb", b_.port());
  const auto dynToA = dynamicListener("dyn", port, "ca");
  publish({&clusterA, &clusterB, &toA, &toB, &dynToA});
  ASSERT_NO_FATAL_FAILURE(startProxy("route_config:\n" + reindent(catchAllRoutes("backend"), 2),
                                     {"--drain-time-s", "60"}));
  HttpConnection before(port);
  ASSERT_TRUE(before.send(std::string(kPreface) + frame(kSettingsFrame, 0, 0, "") +
                          getRequest(1, "/echo", port)));
  auto streamEnded = [](uint32_t id) {
    return [id](const Frame& seen) { return seen.streamId == id && (seen.flags & kEndStream); };
  };
  const std::vector<Frame> first = readFrames(before.fd(), streamEnded(1));
  EXPECT_TRUE(hasFrame(first, kHeadersFrame, 1));
  EXPECT_FALSE(hasFrame(first, kGoAwayFrame));

  const auto dynToB = dynamicListener("dyn", port, "cb");
  publish({&clusterA, &clusterB, &toA, &toB, &dynToB});
  EXPECT_TRUE(waitFor(
      [&] {
        HttpConnection fresh(port);
        return fresh.request("GET", "/echo").header("x-backend") == "b";
      },
      10s));
  ASSERT_TRUE(before.send(getRequest(3, "/echo", port)));
  // Everything until the proxy closes the connection (bounded).
  const std::vector<Frame> last = readFrames(before.fd(), [](const Frame&) { return false; });
  EXPECT_TRUE(hasFrame(last, kHeadersFrame, 3));
  EXPECT_TRUE(hasFrame(last, kGoAwayFrame));
  EXPECT_TRUE(before.waitForClose(1s));
}

// The NACK message the proxy last sent for `type_url`, as the server saw it ("" if none).
std::string lastNack(const control::xds::XdsServer& server, const std::string& type_url) {
  for (const auto& stream : server.streams()) {
    for (const auto& type : stream.types) {
      if (type.typeUrl == type_url && type.lastNack) {
        return type.lastNack->message;
      }
    }
  }
  return "";
}

TEST_P(ProxyAdsTest, StaticClustersAndListenersCannotBeReplaced) {
  lds_ = true;
  const auto cluster = edsCluster("backend");
  const auto toA = assignment("backend", a_.port());
  publish({&cluster, &toA});
  ASSERT_NO_FATAL_FAILURE(startProxy());
  const auto shadowsXds = edsCluster("xds");
  const auto shadowsHttp = dynamicListener("http", pickFreePort(), "backend");
  publish({&cluster, &toA, &shadowsXds, &shadowsHttp});
  EXPECT_TRUE(waitFor(
      [&] {
        return lastNack(*server_, kClusterType).find("'xds' is static") != std::string::npos &&
               lastNack(*server_, "type.googleapis.com/envoy.config.listener.v3.Listener")
                       .find("'http' is static") != std::string::npos;
      },
      10s))
      << lastNack(*server_, kClusterType);
  EXPECT_EQ(servedBy(), "a"); // the previous config serves on
}

TEST_P(ProxyAdsTest, NodeIdentityFromTheCommandLineReachesTheControlPlane) {
  const auto cluster = edsCluster("backend");
  const auto toA = assignment("backend", a_.port());
  publish({&cluster, &toA});
  ASSERT_NO_FATAL_FAILURE(startProxy(
      "route_config:\n" + reindent(catchAllRoutes("backend"), 2),
      {"--proxy-type", "router", "--namespace", "istio-system", "--workload", "ingressgateway",
       "--pod-name", "ingressgateway-1", "--ip", "10.1.2.3", "--label", "app=istio-ingressgateway",
       "--label", "istio=ingressgateway", "--service-account", "gateway-sa"}));
  const auto streams = server_->streams();
  ASSERT_EQ(streams.size(), 1u);
  const auto& node = streams[0].node;
  EXPECT_EQ(node.id(),
            "router~10.1.2.3~ingressgateway-1.istio-system~istio-system.svc.cluster.local");
  EXPECT_EQ(node.cluster(), "istio-ingressgateway.istio-system");
  const auto& fields = node.metadata().fields();
  EXPECT_EQ(fields.at("NAMESPACE").string_value(), "istio-system");
  EXPECT_EQ(fields.at("WORKLOAD_NAME").string_value(), "ingressgateway");
  EXPECT_EQ(fields.at("SERVICE_ACCOUNT").string_value(), "gateway-sa");
  EXPECT_EQ(fields.at("INSTANCE_IPS").string_value(), "10.1.2.3");
  EXPECT_EQ(fields.at("LABELS").struct_value().fields().at("istio").string_value(),
            "ingressgateway");
  EXPECT_EQ(servedBy(), "a");
}

TEST_P(ProxyAdsTest, InitialFetchTimeoutStartsTheProxyWithoutAControlPlane) {
  server_->shutdown(1s);
  server_.reset();
  xdsPort_ = pickFreePort(); // nothing answers there
  cdsExtra_ = ", initial_fetch_timeout: 0.5s";
  const auto started = std::chrono::steady_clock::now();
  ASSERT_NO_FATAL_FAILURE(startProxy());
  // Live after the half second instead of the default 15 s, with no cluster yet: 503.
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);
  EXPECT_EQ(servedBy(), "503");
  EXPECT_EQ(stat("control_plane.connected_state"), "0");
}

// The resources of the hundred-updates tests: two EDS clusters whose endpoints, routes and
// listener swap between backends a and b, and a spare cluster that comes and goes.
struct ChangingConfig {
  explicit ChangingConfig(uint16_t a, uint16_t b, uint16_t dyn_port)
      : aToA(assignment("ca", a)), aToB(assignment("ca", b)), bToB(assignment("cb", b)),
        bToA(assignment("cb", a)), dynToA(dynamicListener("dyn", dyn_port, "ca")),
        dynToB(dynamicListener("dyn", dyn_port, "cb")) {}

  std::vector<const google::protobuf::Message*> initial() const {
    return {&clusterA, &clusterB, &aToA, &bToB, &routesA, &dynToA};
  }
  // Change number i: endpoints, routes, listeners, and clusters added and removed, in turn.
  std::vector<const google::protobuf::Message*> change(int i) const {
    std::vector<const google::protobuf::Message*> resources = {&clusterA, &clusterB};
    resources.push_back(i % 6 < 3 ? &dynToB : &dynToA);
    resources.push_back(i % 2 == 0 ? &aToB : &aToA);
    resources.push_back(i % 3 == 0 ? &bToA : &bToB);
    resources.push_back(i % 4 < 2 ? &routesB : &routesA);
    if (i % 5 < 2) {
      resources.push_back(&spare);
    }
    return resources;
  }

  const envoy::config::cluster::v3::Cluster clusterA = edsCluster("ca");
  const envoy::config::cluster::v3::Cluster clusterB = edsCluster("cb");
  const envoy::config::cluster::v3::Cluster spare = edsCluster("spare");
  const envoy::config::endpoint::v3::ClusterLoadAssignment aToA, aToB, bToB, bToA;
  const envoy::config::route::v3::RouteConfiguration routesA = routesTo("ca");
  const envoy::config::route::v3::RouteConfiguration routesB = routesTo("cb");
  const envoy::config::listener::v3::Listener dynToA, dynToB;
};

constexpr const char* kRdsRoutes =
    R"(rds: { route_config_name: routes, config_source: { ads: {} } })";

TEST_P(ProxyAdsTest, HundredUpdatesUnderLoadLoseNoRequest) {
  lds_ = true;
  const uint16_t dynPort = pickFreePort();
  const ChangingConfig resources(a_.port(), b_.port(), dynPort);
  publish(resources.initial());
  ASSERT_NO_FATAL_FAILURE(startProxy(kRdsRoutes));

  // Keep-alive clients on the static listener (routes from RDS) and on the LDS listener, plus one
  // that opens a connection per request, until the updates end. A drained connection (its last
  // response says connection: close) is replaced, as any HTTP client does.
  std::atomic<bool> stop{false};
  std::atomic<int> served{0};
  std::atomic<int> failed{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c) {
    clients.emplace_back([&, c] {
      const uint16_t target = c == 3 ? dynPort : port_;
      std::unique_ptr<HttpConnection> connection;
      while (!stop) {
        if (!connection || c == 2) {
          connection = std::make_unique<HttpConnection>(target);
        }
        const auto response = connection->request("GET", "/echo");
        (response.complete && response.status == 200 ? served : failed)++;
        if (!response.complete || response.header("connection") == "close") {
          connection.reset();
        }
      }
    });
  }
  for (int i = 0; i < 100; ++i) {
    publish(resources.change(i));
    std::this_thread::sleep_for(30ms);
  }
  std::this_thread::sleep_for(300ms);
  stop = true;
  for (auto& client : clients) {
    client.join();
  }
  EXPECT_GT(served.load(), 100);
  EXPECT_EQ(failed.load(), 0);
  EXPECT_GE(std::stoi(stat("rds.update_success")), 2);
  EXPECT_GE(std::stoi(stat("listener_manager.lds.update_success")), 2);
  EXPECT_EQ(stat("cluster_manager.cds.update_rejected"), "0");
  EXPECT_EQ(stat("listener_manager.lds.update_rejected"), "0");
}

// The same hundred changes under wrk (a real load generator, keep-alive connections) on both
// listeners: wrk reports no socket error (connect, read, write, timeout) and no non-2xx answer.
TEST_P(ProxyAdsTest, HundredUpdatesUnderWrkLoseNoRequest) {
  lds_ = true;
  const uint16_t dynPort = pickFreePort();
  const ChangingConfig resources(a_.port(), b_.port(), dynPort);
  publish(resources.initial());
  ASSERT_NO_FATAL_FAILURE(startProxy(kRdsRoutes));
  std::vector<std::unique_ptr<Process>> loads;
  for (const uint16_t port : {port_, dynPort}) {
    loads.push_back(std::make_unique<Process>(
        ProcessOptions{.argv = {"wrk", "-t1", "-c4", "-d6s", "--timeout", "5s",
                                fmt::format("http://127.0.0.1:{}/echo", port)}}));
  }
  std::this_thread::sleep_for(500ms); // wrk's connections are up
  for (int i = 0; i < 100; ++i) {
    publish(resources.change(i));
    std::this_thread::sleep_for(40ms);
  }
  for (auto& load : loads) {
    ASSERT_EQ(load->wait(30s), 0) << load->output();
    const std::string report = load->output();
    EXPECT_NE(report.find(" requests in "), std::string::npos) << report;
    EXPECT_EQ(report.find("Socket errors"), std::string::npos) << report;
    EXPECT_EQ(report.find("Non-2xx"), std::string::npos) << report;
    std::cout << report; // the request count and latencies, for the log
  }
  EXPECT_EQ(stat("listener_manager.lds.update_rejected"), "0");
}

INSTANTIATE_TEST_SUITE_P(ApiTypes, ProxyAdsTest, ::testing::Values("GRPC", "DELTA_GRPC"),
                         [](const auto& param_info) {
                           return param_info.param == "GRPC" ? "StateOfTheWorld" : "Delta";
                         });

} // namespace
} // namespace meshd::testing
