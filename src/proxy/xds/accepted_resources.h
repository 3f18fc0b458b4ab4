// What the proxy holds of one xDS type, for /config_dump: the resources of the last accepted
// response by name with its version, and the last rejected response with the reason.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "envoy/service/discovery/v3/discovery.pb.h"
#include "google/protobuf/any.pb.h"

namespace meshd::proxy::xds {

struct AcceptedResources {
  struct Rejection {
    std::string version;
    std::string details;
  };
  std::string version;
  std::map<std::string, google::protobuf::Any> byName;
  std::optional<Rejection> lastRejected;

  // State of the world for `names` (CDS): the accepted set replaces the held one.
  void replaceAll(const envoy::service::discovery::v3::DiscoveryResponse& response,
                  std::map<std::string, google::protobuf::Any> resources) {
    version = response.version_info();
    byName = std::move(resources);
  }
  // State of the world per name (EDS, RDS): the named resources are replaced, others kept.
  void update(const envoy::service::discovery::v3::DiscoveryResponse& response,
              std::map<std::string, google::protobuf::Any> resources) {
    version = response.version_info();
    for (auto& [name, any] : resources) {
      byName[name] = std::move(any);
    }
  }
  void reject(const envoy::service::discovery::v3::DiscoveryResponse& response,
              std::string details) {
    lastRejected = Rejection{response.version_info(), std::move(details)};
  }
};

} // namespace meshd::proxy::xds
