// EDS from a file, as Envoy's path_config_source: the file holds a DiscoveryResponse (YAML or
// JSON) whose resources are ClusterLoadAssignments; a cluster takes the one named after its
// service. Checked as strictly as the bootstrap.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "proxy/config/cluster_config.h"

namespace meshd::proxy::config {

absl::StatusOr<std::vector<HostConfig>> loadEdsFile(const std::string& path,
                                                    const std::string& service_name);

} // namespace meshd::proxy::config
