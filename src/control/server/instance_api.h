// InstanceApi: the running workload instances meshd knows (the service registry's endpoints),
// kept in memory and written over REST by whoever starts workloads (meshctl):
//   PUT    /apis/meshd.io/v1alpha1/instances/{namespace}/{name}   a WorkloadInstance as JSON
//   DELETE /apis/meshd.io/v1alpha1/instances/{namespace}/{name}
//   GET    /apis/meshd.io/v1alpha1/instances                      every instance
// Main loop only (the HTTP server's thread). docs/api.md "Instances".
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "control/registry/model.h"
#include "core/http/admin_http_server.h"
#include "nlohmann/json.hpp"

namespace meshd::control::server {

inline constexpr std::string_view kInstancesPath = "/apis/meshd.io/v1alpha1/instances";

// {"address", "labels", "serviceAccount", "namedPorts", "healthy", "workload", "locality",
// "network", "weight"}; the name and namespace come from the path.
absl::StatusOr<registry::WorkloadInstance> instanceFromJson(const nlohmann::json& body,
                                                            std::string ns, std::string name);
nlohmann::json instanceToJson(const registry::WorkloadInstance& instance);

class InstanceApi {
public:
  // `changed` runs after every PUT or DELETE that changed the set.
  explicit InstanceApi(std::function<void()> changed) : changed_(std::move(changed)) {}

  void registerOn(core::AdminHttpServer& server);
  // Adds or replaces; true if the set changed.
  bool put(registry::WorkloadInstance instance);
  bool remove(const std::string& ns, const std::string& name);
  std::vector<registry::WorkloadInstance> instances() const;

private:
  core::AdminResponse handle(const core::AdminRequest& request);

  std::function<void()> changed_;
  std::map<registry::InstanceId, registry::WorkloadInstance> instances_; // by (ns, name)
};

} // namespace meshd::control::server
