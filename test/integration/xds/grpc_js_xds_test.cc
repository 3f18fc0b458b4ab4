// Interop: the real proxyless gRPC client (@grpc/grpc-js-xds) against our xDS server. Node echo
// backends, a Listener/RouteConfiguration/Cluster/ClusterLoadAssignment set for "echo" splitting
// 80/20 between two clusters; the client's calls must follow the split, its ACKs must show in the
// debug state, and moving one cluster's endpoint must reach the client's later calls.
#include <cmath>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "control/config/object_parser.h"
#include "control/model/mesh_snapshot.h"
#include "control/translate/translator.h"
#include "control/xds/snapshot_cache.h"
#include "control/xds/type_urls.h"
#include "control/xds/xds_server.h"
#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/config/route/v3/route.pb.h"
#include "envoy/extensions/filters/http/router/v3/router.pb.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "fmt/format.h"
#include "test/support/process.h"
#include "test/support/temp_dir.h"
#include "gtest/gtest.h"

namespace meshd::control::xds {
namespace {

using namespace std::chrono_literals;
using meshd::testing::Process;
using meshd::testing::ProcessOptions;
using meshd::testing::TempDir;
using meshd::testing::waitFor;

const std::filesystem::path kScriptDir =
    std::filesystem::path(MESHD_SOURCE_DIR) / "test" / "integration" / "xds";
constexpr char kNodeId[] = "grpc-js-client";

envoy::config::listener::v3::Listener echoListener() {
  envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager manager;
  manager.mutable_rds()->set_route_config_name("echo-route");
  manager.mutable_rds()->mutable_config_source()->mutable_ads();
  auto* router = manager.add_http_filters();
  router->set_name("envoy.filters.http.router");
  router->mutable_typed_config()->PackFrom(envoy::extensions::filters::http::router::v3::Router());
  envoy::config::listener::v3::Listener listener;
  listener.set_name("echo");
  listener.mutable_api_listener()->mutable_api_listener()->PackFrom(manager);
  return listener;
}

envoy::config::route::v3::RouteConfiguration echoRoute(uint32_t weight_a, uint32_t weight_b) {
  envoy::config::route::v3::RouteConfiguration route;
  route.set_name("echo-route");
  auto* host = route.add_virtual_hosts();
  host->set_name("echo");
  host->add_domains("*");
  auto* entry = host->add_routes();
  entry->mutable_match()->set_prefix("");
  auto* weighted = entry->mutable_route()->mutable_weighted_clusters();
  auto* a = weighted->add_clusters();
  a->set_name("cluster-a");
  a->mutable_weight()->set_value(weight_a);
  auto* b = weighted->add_clusters();
  b->set_name("cluster-b");
  b->mutable_weight()->set_value(weight_b);
  return route;
}

envoy::config::cluster::v3::Cluster echoCluster(const std::string& name) {
  envoy::config::cluster::v3::Cluster cluster;
  cluster.set_name(name);
  cluster.set_type(envoy::config::cluster::v3::Cluster::EDS);
  cluster.mutable_eds_cluster_config()->mutable_eds_config()->mutable_ads();
  return cluster;
}

envoy::config::endpoint::v3::ClusterLoadAssignment assignment(const std::string& cluster,
                                                              int port) {
  envoy::config::endpoint::v3::ClusterLoadAssignment result;
  result.set_cluster_name(cluster);
  auto* locality = result.add_endpoints();
  locality->mutable_locality()->set_region("local");
  // grpc-js-xds ignores localities without a weight.
  locality->mutable_load_balancing_weight()->set_value(1);
  auto* address =
      locality->add_lb_endpoints()->mutable_endpoint()->mutable_address()->mutable_socket_address();
  address->set_address("127.0.0.1");
  address->set_port_value(static_cast<uint32_t>(port));
  return result;
}

SnapshotPtr echoSnapshot(int port_a, int port_b) {
  ResourceSnapshotBuilder builder;
  EXPECT_TRUE(builder.add(echoListener()).ok());
  EXPECT_TRUE(builder.add(echoRoute(80, 20)).ok());
  EXPECT_TRUE(builder.add(echoCluster("cluster-a")).ok());
  EXPECT_TRUE(builder.add(echoCluster("cluster-b")).ok());
  EXPECT_TRUE(builder.add(assignment("cluster-a", port_a)).ok());
  EXPECT_TRUE(builder.add(assignment("cluster-b", port_b)).ok());
  return builder.build();
}

// A Node echo backend answering with `name`; port() once it listens.
class EchoBackend {
public:
  explicit EchoBackend(const std::string& name)
      : process_(ProcessOptions{{"node", (kScriptDir / "echo_backend.js").string(), name}}) {}

  int port() {
    int port = 0;
    waitFor(
        [&] {
          std::string output = process_.output();
          auto at = output.find("PORT ");
          if (at != std::string::npos && output.find('\n', at) != std::string::npos) {
            port = std::stoi(output.substr(at + 5));
          }
          return port != 0 || !process_.running();
        },
        20s);
    EXPECT_NE(port, 0) << "backend did not start: " << process_.errors();
    return port;
  }

private:
  Process process_;
};

// Backend name → calls answered, for the lines "CALL <phase> <backend>" of the client.
std::map<std::string, int> callsIn(const std::string& output, const std::string& phase) {
  std::map<std::string, int> counts;
  std::string prefix = "CALL " + phase + " ";
  size_t at = 0;
  while ((at = output.find(prefix, at)) != std::string::npos) {
    size_t end = output.find('\n', at);
    if (end == std::string::npos) {
      break;
    }
    ++counts[output.substr(at + prefix.size(), end - at - prefix.size())];
    at = end;
  }
  return counts;
}

const TypeInfo* typeOf(const StreamInfo& info, std::string_view type) {
  for (const auto& entry : info.types) {
    if (entry.typeUrl == type) {
      return &entry;
    }
  }
  return nullptr;
}

// The debug state of the client's stream once `condition` holds (bounded wait).
std::optional<StreamInfo> clientStream(XdsServer& server,
                                       const std::function<bool(const StreamInfo&)>& condition) {
  std::optional<StreamInfo> found;
  waitFor(
      [&] {
        for (auto& info : server.streams()) {
          if (info.node.id() == kNodeId && condition(info)) {
            found = info;
            return true;
          }
        }
        return false;
      },
      20s);
  return found;
}

TEST(GrpcJsXdsTest, WeightedSplitAcksAndEndpointMove) {
  EchoBackend backend_a("a");
  EchoBackend backend_b("b");
  EchoBackend backend_c("c");
  const int port_a = backend_a.port();
  const int port_b = backend_b.port();
  const int port_c = backend_c.port();
  ASSERT_TRUE(port_a && port_b && port_c);

  SnapshotCache cache;
  cache.setDefault(echoSnapshot(port_a, port_b));
  ServerOptions options;
  options.debounceQuietPeriod = 10ms;
  XdsServer server(cache, options);
  ASSERT_TRUE(server.start().ok());

  TempDir dir;
  std::filesystem::path bootstrap =
      dir.write("bootstrap.json", fmt::format(R"({{"xds_servers": [{{"server_uri": "127.0.0.1:{}",
  "channel_creds": [{{"type": "insecure"}}], "server_features": ["xds_v3"]}}],
  "node": {{"id": "{}", "cluster": "interop", "locality": {{"region": "local"}}}}}})",
                                              server.port(), kNodeId));
  std::filesystem::path go_file = dir.path() / "go";
  constexpr int kFirstCalls = 200;
  constexpr int kAfterCalls = 50;
  ProcessOptions client_options{{"node", (kScriptDir / "xds_echo_client.js").string(), "echo",
                                 std::to_string(kFirstCalls), go_file.string(), "c",
                                 std::to_string(kAfterCalls)},
                                {{"GRPC_XDS_BOOTSTRAP", bootstrap.string()}}};
  if (const char* trace = std::getenv("MESHD_XDS_TRACE")) {
    client_options.extraEnv["GRPC_TRACE"] = trace; // e.g. xds_client,xds_resolver
    client_options.extraEnv["GRPC_VERBOSITY"] = "DEBUG";
  }
  Process client(client_options);
  auto diagnostics = [&] {
    return fmt::format("client stdout:\n{}\nclient stderr:\n{}", client.output(), client.errors());
  };

  ASSERT_TRUE(waitFor(
      [&] { return client.output().find("PHASE1 DONE") != std::string::npos || !client.running(); },
      90s))
      << diagnostics();
  ASSERT_NE(client.output().find("PHASE1 DONE"), std::string::npos) << diagnostics();

  // 80/20 split within 5 standard deviations of the binomial.
  std::map<std::string, int> first = callsIn(client.output(), "1");
  EXPECT_EQ(first["a"] + first["b"], kFirstCalls) << diagnostics();
  const double sigma = std::sqrt(kFirstCalls * 0.8 * 0.2);
  EXPECT_NEAR(first["a"], kFirstCalls * 0.8, 5 * sigma) << diagnostics();
  EXPECT_GT(first["b"], 0) << diagnostics();
  std::cout << fmt::format("weighted split over {} calls: a={} b={}\n", kFirstCalls, first["a"],
                           first["b"]);

  // The client ACKed every type and rejected nothing.
  auto acked = clientStream(server, [](const StreamInfo& info) {
    for (std::string_view type :
         {kListenerType, kRouteConfigurationType, kClusterType, kClusterLoadAssignmentType}) {
      const TypeInfo* entry = typeOf(info, type);
      if (entry == nullptr || entry->acks == 0 ||
          entry->lastAckedVersion != entry->lastVersionSent) {
        return false;
      }
    }
    return true;
  });
  ASSERT_TRUE(acked.has_value()) << diagnostics();
  for (const auto& type : acked->types) {
    EXPECT_FALSE(type.lastNack.has_value()) << type.typeUrl << ": " << type.lastNack->message;
  }
  const std::string eds_version_before =
      typeOf(*acked, kClusterLoadAssignmentType)->lastAckedVersion;

  // Move cluster-b's endpoint from backend b to backend c.
  cache.setDefault(echoSnapshot(port_a, port_c));
  server.push();
  auto moved = clientStream(server, [&](const StreamInfo& info) {
    const TypeInfo* eds = typeOf(info, kClusterLoadAssignmentType);
    return eds != nullptr && eds->lastAckedVersion != eds_version_before &&
           eds->lastAckedVersion == eds->lastVersionSent;
  });
  EXPECT_TRUE(moved.has_value()) << "the client did not ACK the new endpoints\n" << diagnostics();
  dir.write("go", "");

  std::optional<int> status = client.wait(90s);
  ASSERT_TRUE(status.has_value()) << diagnostics();
  ASSERT_EQ(*status, 0) << diagnostics();
  std::map<std::string, int> after = callsIn(client.output(), "2");
  EXPECT_EQ(after["b"], 0) << diagnostics();
  EXPECT_GT(after["c"], 0) << diagnostics();
  EXPECT_EQ(after["a"] + after["c"], kAfterCalls) << diagnostics();
  std::cout << fmt::format("after the move, {} calls: a={} c={}\n", kAfterCalls, after["a"],
                           after["c"]);
  EXPECT_EQ(server.counters().nacks, 0u);
}

// A Listener whose HttpConnectionManager names its router filter twice is invalid for
// grpc-js-xds ("duplicate HTTP filter name"): the
// client must NACK it, the NACK (with the client's reason) must show in the debug state, and the
// corrected Listener must then be ACKed.
TEST(GrpcJsXdsTest, InvalidListenerIsNackedThenFixed) {
  EchoBackend backend("a");
  const int port = backend.port();
  ASSERT_NE(port, 0);

  envoy::config::listener::v3::Listener broken = echoListener();
  envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager manager;
  ASSERT_TRUE(broken.api_listener().api_listener().UnpackTo(&manager));
  *manager.add_http_filters() = manager.http_filters(0);
  broken.mutable_api_listener()->mutable_api_listener()->PackFrom(manager);
  ResourceSnapshotBuilder builder(*echoSnapshot(port, port));
  ASSERT_TRUE(builder.add(broken).ok());

  SnapshotCache cache;
  cache.setDefault(builder.build());
  ServerOptions options;
  options.debounceQuietPeriod = 10ms;
  XdsServer server(cache, options);
  ASSERT_TRUE(server.start().ok());
  TempDir dir;
  std::filesystem::path bootstrap =
      dir.write("bootstrap.json", fmt::format(R"({{"xds_servers": [{{"server_uri": "127.0.0.1:{}",
  "channel_creds": [{{"type": "insecure"}}], "server_features": ["xds_v3"]}}],
  "node": {{"id": "{}", "locality": {{"region": "local"}}}}}})",
                                              server.port(), kNodeId));
  Process client(ProcessOptions{{"node", (kScriptDir / "xds_echo_client.js").string(), "echo", "5",
                                 (dir.path() / "go").string(), "a", "0"},
                                {{"GRPC_XDS_BOOTSTRAP", bootstrap.string()}}});
  auto diagnostics = [&] {
    return fmt::format("client stdout:\n{}\nclient stderr:\n{}", client.output(), client.errors());
  };

  auto nacked = clientStream(server, [](const StreamInfo& info) {
    const TypeInfo* lds = typeOf(info, kListenerType);
    return lds != nullptr && lds->lastNack.has_value();
  });
  ASSERT_TRUE(nacked.has_value()) << diagnostics();
  const TypeInfo* lds = typeOf(*nacked, kListenerType);
  EXPECT_FALSE(lds->lastNack->message.empty());
  EXPECT_EQ(lds->lastNack->nonce, lds->lastNonceSent);
  EXPECT_TRUE(lds->lastAckedVersion.empty()) << "nothing good was ever accepted";
  EXPECT_GE(server.counters().nacks, 1u);
  std::cout << "grpc-js-xds NACK message: " << lds->lastNack->message << "\n";

  // The fix is ACKed and the client's calls go through.
  cache.setDefault(echoSnapshot(port, port));
  server.push();
  auto fixed = clientStream(server, [](const StreamInfo& info) {
    const TypeInfo* entry = typeOf(info, kListenerType);
    return entry != nullptr && !entry->lastAckedVersion.empty() &&
           entry->lastAckedVersion == entry->lastVersionSent;
  });
  EXPECT_TRUE(fixed.has_value()) << diagnostics();
  ASSERT_TRUE(waitFor(
      [&] { return client.output().find("PHASE1 DONE") != std::string::npos || !client.running(); },
      90s))
      << diagnostics();
  EXPECT_EQ(callsIn(client.output(), "1")["a"], 5) << diagnostics();
}

// Istio config for a gRPC service "echo" (v1 at `port_v1`, v2 at `port_v2`) translated by meshd for
// a proxyless client: what the golden case proxyless-grpc generates, served to the real client.
SnapshotPtr translatedEchoSnapshot(int port_v1, int port_v2, int weight_v1, int weight_v2) {
  const std::string yaml = fmt::format(R"(apiVersion: v1
kind: Service
metadata: {{name: echo, namespace: default}}
spec:
  selector: {{app: echo}}
  ports: [{{name: grpc, port: 50051, targetPort: grpc}}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {{name: echo, namespace: default}}
spec:
  host: echo
  subsets: [{{name: v1, labels: {{version: v1}}}}, {{name: v2, labels: {{version: v2}}}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: echo, namespace: default}}
spec:
  hosts: [echo]
  http:
  - route:
    - {{destination: {{host: echo, subset: v1}}, weight: {}}}
    - {{destination: {{host: echo, subset: v2}}, weight: {}}}
)",
                                       weight_v1, weight_v2);
  auto parsed = config::parseObjects(yaml, "echo.yaml");
  EXPECT_TRUE(parsed.diagnostics.empty()) << parsed.diagnostics[0].toString();
  std::vector<registry::WorkloadInstance> instances;
  for (const auto& [version, port] : {std::pair{"v1", port_v1}, std::pair{"v2", port_v2}}) {
    registry::WorkloadInstance instance;
    instance.name = std::string("echo-") + version;
    instance.ns = "default";
    instance.labels = {{"app", "echo"}, {"version", version}};
    instance.address = "127.0.0.1";
    instance.namedPorts = {{"grpc", static_cast<uint32_t>(port)}};
    instances.push_back(std::move(instance));
  }
  std::vector<config::Diagnostic> diagnostics;
  const auto mesh =
      model::MeshSnapshot::build(parsed.objects, std::move(instances), {}, diagnostics);
  envoy::config::core::v3::Node node;
  node.set_id(kNodeId);
  (*node.mutable_metadata()->mutable_fields())["GENERATOR"].set_string_value("grpc");
  const auto resources = translate::translate(*mesh, translate::ProxyContext::fromNode(node));
  ResourceSnapshotBuilder builder;
  auto add = [&](const auto& list) {
    for (const auto& resource : list) {
      EXPECT_TRUE(builder.add(resource).ok());
    }
  };
  add(resources.listeners);
  add(resources.routes);
  add(resources.clusters);
  add(resources.endpoints);
  return builder.build();
}

TEST(GrpcJsXdsTest, TranslatedIstioConfigDrivesTheClient) {
  EchoBackend v1("v1");
  EchoBackend v2("v2");
  const int port_v1 = v1.port();
  const int port_v2 = v2.port();
  ASSERT_TRUE(port_v1 && port_v2);
  SnapshotCache cache;
  cache.setDefault(translatedEchoSnapshot(port_v1, port_v2, 80, 20));
  ServerOptions options;
  options.debounceQuietPeriod = 10ms;
  XdsServer server(cache, options);
  ASSERT_TRUE(server.start().ok());
  TempDir dir;
  const std::filesystem::path bootstrap =
      dir.write("bootstrap.json", fmt::format(R"({{"xds_servers": [{{"server_uri": "127.0.0.1:{}",
  "channel_creds": [{{"type": "insecure"}}], "server_features": ["xds_v3"]}}],
  "node": {{"id": "{}", "cluster": "interop", "locality": {{"region": "local"}},
            "metadata": {{"GENERATOR": "grpc", "NAMESPACE": "default"}}}}}})",
                                              server.port(), kNodeId));
  const std::filesystem::path go_file = dir.path() / "go";
  constexpr int kFirstCalls = 200;
  ProcessOptions client_options{{"node", (kScriptDir / "xds_echo_client.js").string(),
                                 "echo.default.svc.cluster.local:50051",
                                 std::to_string(kFirstCalls), go_file.string(), "v2", "20", "10"},
                                {{"GRPC_XDS_BOOTSTRAP", bootstrap.string()}}};
  if (const char* trace = std::getenv("MESHD_XDS_TRACE")) {
    client_options.extraEnv["GRPC_TRACE"] = trace;
    client_options.extraEnv["GRPC_VERBOSITY"] = "DEBUG";
  }
  Process client(client_options);
  auto diagnostics = [&] {
    return fmt::format("client stdout:\n{}\nclient stderr:\n{}", client.output(), client.errors());
  };
  ASSERT_TRUE(waitFor(
      [&] { return client.output().find("PHASE1 DONE") != std::string::npos || !client.running(); },
      90s))
      << diagnostics();
  // The VirtualService's 80/20 split between the subsets, within 5 standard deviations.
  std::map<std::string, int> first = callsIn(client.output(), "1");
  EXPECT_EQ(first["v1"] + first["v2"], kFirstCalls) << diagnostics();
  EXPECT_NEAR(first["v1"], kFirstCalls * 0.8, 5 * std::sqrt(kFirstCalls * 0.8 * 0.2))
      << diagnostics();
  // The VirtualService now sends everything to v2: the client follows.
  cache.setDefault(translatedEchoSnapshot(port_v1, port_v2, 0, 100));
  server.push();
  std::ofstream(go_file) << "go\n";
  ASSERT_TRUE(waitFor([&] { return !client.running(); }, 60s)) << diagnostics();
  EXPECT_NE(client.output().find("DONE"), std::string::npos) << diagnostics();
  EXPECT_EQ(callsIn(client.output(), "2")["v2"], 20) << diagnostics();
  for (const auto& stream : server.streams()) {
    for (const auto& type : stream.types) {
      EXPECT_FALSE(type.lastNack.has_value()) << type.typeUrl << ": " << type.lastNack->message;
    }
  }
}

} // namespace
} // namespace meshd::control::xds
