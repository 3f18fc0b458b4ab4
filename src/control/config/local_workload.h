// meshd's own kind, meshd.io/v1alpha1 LocalWorkload: a process that `meshctl` starts on this host
// with a sidecar in front of it (docs/config.md, "LocalWorkload"). It plays the role of a pod:
// its labels select it into Services and policies, its service account is its identity.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "control/config/common.h"
#include "control/config/config_object.h"
#include "control/config/diagnostic.h"

namespace meshd::control::config {

struct LocalWorkloadPort {
  std::string name;  // a DNS label, unique in the workload; a Service targetPort may name it
  uint32_t port = 0; // the port the process listens on (a container port)
  Protocol protocol = Protocol::kUnspecified;
};

struct LocalWorkload {
  ObjectMeta meta;
  Labels labels;                          // the workload's labels (like a pod's)
  std::string serviceAccount = "default"; // identity: spiffe://<td>/ns/<ns>/sa/<serviceAccount>
  std::vector<LocalWorkloadPort> ports;
  std::vector<std::string> command;       // argv; required, argv[0] non-empty
  std::map<std::string, std::string> env; // added to meshctl's environment
  std::string workingDir;                 // "" = meshctl's working directory
  uint32_t replicas = 1;                  // 1..64 processes, each with its own sidecar
};

std::optional<LocalWorkload> parseLocalWorkload(const ConfigObject& object,
                                                std::vector<Diagnostic>& out);

} // namespace meshd::control::config
