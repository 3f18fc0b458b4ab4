// Small Envoy resources and snapshots for the xDS server tests (see test_resources.h).
#include "test/unit/control/xds/test_resources.h"

#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "gtest/gtest.h"

namespace meshd::control::xds::testing {

envoy::config::cluster::v3::Cluster edsCluster(const std::string& name) {
  envoy::config::cluster::v3::Cluster cluster;
  cluster.set_name(name);
  cluster.set_type(envoy::config::cluster::v3::Cluster::EDS);
  cluster.mutable_eds_cluster_config()->mutable_eds_config()->mutable_ads();
  return cluster;
}

envoy::config::endpoint::v3::ClusterLoadAssignment loadAssignment(const std::string& cluster,
                                                                  uint16_t port) {
  envoy::config::endpoint::v3::ClusterLoadAssignment assignment;
  assignment.set_cluster_name(cluster);
  auto* locality = assignment.add_endpoints();
  locality->mutable_load_balancing_weight()->set_value(1);
  auto* address =
      locality->add_lb_endpoints()->mutable_endpoint()->mutable_address()->mutable_socket_address();
  address->set_address("127.0.0.1");
  address->set_port_value(port);
  return assignment;
}

envoy::config::route::v3::RouteConfiguration routeTo(const std::string& name,
                                                     const std::string& cluster) {
  envoy::config::route::v3::RouteConfiguration route;
  route.set_name(name);
  auto* host = route.add_virtual_hosts();
  host->set_name(name);
  host->add_domains("*");
  auto* entry = host->add_routes();
  entry->mutable_match()->set_prefix("");
  entry->mutable_route()->set_cluster(cluster);
  return route;
}

envoy::config::listener::v3::Listener apiListener(const std::string& name,
                                                  const std::string& route_name) {
  envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager manager;
  auto* rds = manager.mutable_rds();
  rds->set_route_config_name(route_name);
  rds->mutable_config_source()->mutable_ads();
  envoy::config::listener::v3::Listener listener;
  listener.set_name(name);
  listener.mutable_api_listener()->mutable_api_listener()->PackFrom(manager);
  return listener;
}

void addResource(ResourceSnapshotBuilder& builder, const google::protobuf::Message& message) {
  absl::Status status = builder.add(message);
  ASSERT_TRUE(status.ok()) << status;
}

SnapshotPtr meshSnapshot(int clusters) {
  ResourceSnapshotBuilder builder;
  for (int i = 0; i < clusters; ++i) {
    std::string name = "c" + std::to_string(i);
    addResource(builder, edsCluster(name));
    addResource(builder, loadAssignment(name, static_cast<uint16_t>(1000 + i)));
  }
  addResource(builder, apiListener("l0", "r0"));
  addResource(builder, routeTo("r0", "c0"));
  return builder.build();
}

} // namespace meshd::control::xds::testing
