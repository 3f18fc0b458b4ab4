// Small Envoy resources and snapshots for the xDS server tests.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "control/xds/resource_snapshot.h"
#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/config/route/v3/route.pb.h"
#include "envoy/extensions/transport_sockets/tls/v3/secret.pb.h"

namespace meshd::control::xds::testing {

envoy::config::cluster::v3::Cluster edsCluster(const std::string& name);
envoy::config::endpoint::v3::ClusterLoadAssignment loadAssignment(const std::string& cluster,
                                                                  uint16_t port);
envoy::config::route::v3::RouteConfiguration routeTo(const std::string& name,
                                                     const std::string& cluster);
envoy::config::listener::v3::Listener apiListener(const std::string& name,
                                                  const std::string& route_name);

// Adds `message` to `builder`, failing the test on error.
void addResource(ResourceSnapshotBuilder& builder, const google::protobuf::Message& message);

// Clusters c0..c{n-1} with one endpoint each (port 1000+i), and listener "l0" routing to c0.
SnapshotPtr meshSnapshot(int clusters);

} // namespace meshd::control::xds::testing
