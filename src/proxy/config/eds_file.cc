// Reading an EDS file (eds_file.h).
#include "proxy/config/eds_file.h"

#include "core/status.h"
#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "envoy/service/discovery/v3/discovery.pb.h"
#include "fmt/format.h"
#include "proxy/config/bootstrap_loader.h"
#include "proxy/config/conversions.h"

namespace meshd::proxy::config {

absl::StatusOr<std::vector<HostConfig>> loadEdsFile(const std::string& path,
                                                    const std::string& service_name) {
  ASSIGN_OR_RETURN(const std::string text, readFile(path));
  envoy::service::discovery::v3::DiscoveryResponse response;
  RETURN_IF_ERROR(parseEnvoyMessage(text, path, "DiscoveryResponse", response));
  for (int i = 0; i < response.resources_size(); ++i) {
    envoy::config::endpoint::v3::ClusterLoadAssignment assignment;
    const std::string where = fmt::format("{}: resources[{}]", path, i);
    if (!response.resources(i).UnpackTo(&assignment)) {
      return invalid(where, "not a ClusterLoadAssignment");
    }
    if (assignment.cluster_name() == service_name) {
      return buildHosts(assignment, where);
    }
  }
  return absl::NotFoundError(
      fmt::format("{}: no ClusterLoadAssignment for '{}'", path, service_name));
}

} // namespace meshd::proxy::config
