// Unit tests for proxy-config: Istio cluster names, and the four tables rendered from Envoy protos
// printed as JSON with their proto field names (the shape of meshd's /debug/config_dump), so that
// the field names the renderer reads are the real ones.
#include "cli/proxy_config.h"

#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/config/route/v3/route.pb.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace meshd::cli {
namespace {

using Json = nlohmann::json;

Json toJson(const google::protobuf::Message& message) {
  std::string text;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  EXPECT_TRUE(google::protobuf::util::MessageToJsonString(message, &text, options).ok());
  return Json::parse(text);
}

TEST(ClusterNameTest, IstioNamesAndOthers) {
  const ClusterName outbound =
      parseClusterName("outbound|9080|v1|reviews.default.svc.cluster.local");
  EXPECT_EQ(outbound.direction, "outbound");
  EXPECT_EQ(outbound.port, "9080");
  EXPECT_EQ(outbound.subset, "v1");
  EXPECT_EQ(outbound.fqdn, "reviews.default.svc.cluster.local");
  const ClusterName noSubset = parseClusterName("outbound|80||httpbin.org");
  EXPECT_EQ(noSubset.subset, "-");
  EXPECT_EQ(parseClusterName("inbound|9080||").direction, "inbound");
  const ClusterName other = parseClusterName("BlackHoleCluster");
  EXPECT_EQ(other.fqdn, "BlackHoleCluster");
  EXPECT_EQ(other.port, "-");
  EXPECT_EQ(parseClusterName("a|b").fqdn, "a|b");
}

TEST(ProxyConfigRenderTest, Clusters) {
  envoy::config::cluster::v3::Cluster eds;
  eds.set_name("outbound|9080|v1|reviews.default.svc.cluster.local");
  eds.set_type(envoy::config::cluster::v3::Cluster::EDS);
  envoy::config::cluster::v3::Cluster passthrough;
  passthrough.set_name("PassthroughCluster");
  passthrough.set_type(envoy::config::cluster::v3::Cluster::ORIGINAL_DST);
  envoy::config::cluster::v3::Cluster blackhole; // STATIC is the default: absent from the JSON
  blackhole.set_name("BlackHoleCluster");
  const Json clusters = {toJson(eds), toJson(passthrough), toJson(blackhole)};
  EXPECT_EQ(renderClusters(clusters),
            "SERVICE FQDN                        PORT   SUBSET   DIRECTION   TYPE\n"
            "reviews.default.svc.cluster.local   9080   v1       outbound    EDS\n"
            "PassthroughCluster                  -      -        -           ORIGINAL_DST\n"
            "BlackHoleCluster                    -      -        -           STATIC\n");
}

TEST(ProxyConfigRenderTest, ListenersOneRowPerFilterChain) {
  envoy::config::listener::v3::Listener listener;
  listener.set_name("virtualOutbound");
  listener.mutable_address()->mutable_socket_address()->set_address("0.0.0.0");
  listener.mutable_address()->mutable_socket_address()->set_port_value(15001);
  auto* http = listener.add_filter_chains();
  http->set_name("0.0.0.0_9080");
  http->mutable_filter_chain_match()->mutable_destination_port()->set_value(9080);
  envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager hcm;
  hcm.set_stat_prefix("outbound_0.0.0.0_9080");
  hcm.mutable_rds()->set_route_config_name("9080");
  auto* hcmFilter = http->add_filters();
  hcmFilter->set_name("envoy.filters.network.http_connection_manager");
  hcmFilter->mutable_typed_config()->PackFrom(hcm);
  auto* tcp = listener.add_filter_chains();
  auto* range = tcp->mutable_filter_chain_match()->add_prefix_ranges();
  range->set_address_prefix("10.0.0.0");
  range->mutable_prefix_len()->set_value(8);
  envoy::extensions::filters::network::tcp_proxy::v3::TcpProxy proxy;
  proxy.set_stat_prefix("PassthroughCluster");
  proxy.set_cluster("PassthroughCluster");
  auto* tcpFilter = tcp->add_filters();
  tcpFilter->set_name("envoy.filters.network.tcp_proxy");
  tcpFilter->mutable_typed_config()->PackFrom(proxy);
  *listener.mutable_default_filter_chain() = *tcp;
  listener.mutable_default_filter_chain()->clear_filter_chain_match();
  EXPECT_EQ(renderListeners(Json::array({toJson(listener)})),
            "NAME              ADDRESS   PORT    MATCH             DESTINATION\n"
            "virtualOutbound   0.0.0.0   15001   port 9080         Route: 9080\n"
            "virtualOutbound   0.0.0.0   15001   addr 10.0.0.0/8   Cluster: PassthroughCluster\n"
            "virtualOutbound   0.0.0.0   15001   default           Cluster: PassthroughCluster\n");
}

TEST(ProxyConfigRenderTest, RoutesOneRowPerRoute) {
  envoy::config::route::v3::RouteConfiguration config;
  config.set_name("9080");
  auto* host = config.add_virtual_hosts();
  host->set_name("reviews.default.svc.cluster.local:9080");
  for (const char* domain : {"reviews.default.svc.cluster.local", "reviews", "reviews.default"}) {
    host->add_domains(domain);
  }
  auto* byHeader = host->add_routes();
  byHeader->mutable_match()->set_prefix("/");
  byHeader->mutable_match()->add_headers()->set_name("end-user");
  byHeader->mutable_route()->set_cluster("outbound|9080|v2|reviews.default.svc.cluster.local");
  auto* split = host->add_routes();
  split->mutable_match()->set_path("/reviews");
  auto* weighted = split->mutable_route()->mutable_weighted_clusters();
  auto* v1 = weighted->add_clusters();
  v1->set_name("outbound|9080|v1|reviews.default.svc.cluster.local");
  v1->mutable_weight()->set_value(80);
  auto* v3 = weighted->add_clusters();
  v3->set_name("outbound|9080|v3|reviews.default.svc.cluster.local");
  v3->mutable_weight()->set_value(20);
  auto* fixed = host->add_routes();
  fixed->mutable_match()->mutable_safe_regex()->set_regex("/x.*");
  fixed->mutable_direct_response()->set_status(404);
  const std::string table = renderRoutes(Json::array({toJson(config)}));
  EXPECT_NE(table.find("NAME   VIRTUAL HOST"), std::string::npos) << table;
  EXPECT_NE(table.find("reviews.default.svc.cluster.local, reviews + 1 more   /* (+headers)   "
                       "outbound|9080|v2|reviews.default.svc.cluster.local\n"),
            std::string::npos)
      << table;
  EXPECT_NE(table.find("/reviews        outbound|9080|v1|reviews.default.svc.cluster.local (80), "
                       "outbound|9080|v3|reviews.default.svc.cluster.local (20)\n"),
            std::string::npos)
      << table;
  EXPECT_NE(table.find("~/x.*           direct response 404\n"), std::string::npos) << table;
}

TEST(ProxyConfigRenderTest, EndpointsWithHealth) {
  envoy::config::endpoint::v3::ClusterLoadAssignment assignment;
  assignment.set_cluster_name("outbound|9080|v1|reviews.default.svc.cluster.local");
  auto* locality = assignment.add_endpoints();
  auto* first = locality->add_lb_endpoints();
  first->mutable_endpoint()->mutable_address()->mutable_socket_address()->set_address("10.0.0.1");
  first->mutable_endpoint()->mutable_address()->mutable_socket_address()->set_port_value(9080);
  auto* second = locality->add_lb_endpoints();
  *second = *first;
  second->mutable_endpoint()->mutable_address()->mutable_socket_address()->set_address("10.0.0.2");
  second->set_health_status(envoy::config::core::v3::UNHEALTHY);
  EXPECT_EQ(renderEndpoints(Json::array({toJson(assignment)})),
            "ENDPOINT        STATUS      CLUSTER\n"
            "10.0.0.1:9080   HEALTHY     outbound|9080|v1|reviews.default.svc.cluster.local\n"
            "10.0.0.2:9080   UNHEALTHY   outbound|9080|v1|reviews.default.svc.cluster.local\n");
}

TEST(ResolveProxyTest, ExactIdOrUniquePrefix) {
  const std::vector<std::string> nodes = {"sidecar~10.0.0.1~reviews-v1.default",
                                          "sidecar~10.0.0.12~ratings.default", "router~gw"};
  EXPECT_EQ(*resolveProxy(nodes, "router"), "router~gw");
  EXPECT_EQ(*resolveProxy(nodes, "sidecar~10.0.0.1~"), "sidecar~10.0.0.1~reviews-v1.default");
  EXPECT_FALSE(resolveProxy(nodes, "sidecar~10.0.0.1").ok()); // both sidecars
  EXPECT_EQ(*resolveProxy(nodes, "ratings"), "sidecar~10.0.0.12~ratings.default")
      << "by the instance's name, as istioctl takes a pod";
  EXPECT_EQ(*resolveProxy(nodes, "reviews-v1.default"), "sidecar~10.0.0.1~reviews-v1.default");
  EXPECT_FALSE(resolveProxy(nodes, "nope").ok());
  EXPECT_FALSE(resolveProxy({}, "x").ok());
}

} // namespace
} // namespace meshd::cli
