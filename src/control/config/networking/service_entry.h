// Istio ServiceEntry: services the mesh does not discover (external APIs, VMs), with their hosts,
// ports, resolution and endpoints.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "control/config/common.h"
#include "control/config/config_object.h"
#include "control/config/diagnostic.h"
#include "control/config/networking/workload_entry.h"

namespace meshd::control::config {

struct ServiceEntryPort {
  uint32_t number = 0;
  Protocol protocol = Protocol::kUnspecified;
  std::string name;
  uint32_t targetPort = 0; // 0 = same as number
};

struct ServiceEntry {
  enum class Location { kMeshExternal, kMeshInternal };
  enum class Resolution { kNone, kStatic, kDns, kDnsRoundRobin, kDynamicDns };
  ObjectMeta meta;
  std::vector<std::string> hosts;     // FQDNs or "*.wildcards"; short names resolve in meta.ns
  std::vector<std::string> addresses; // VIPs or CIDRs
  std::vector<ServiceEntryPort> ports;
  Location location = Location::kMeshExternal;
  Resolution resolution = Resolution::kNone;
  std::vector<WorkloadEntry> endpoints;
  std::optional<Labels> workloadSelector; // selects WorkloadEntries/LocalWorkloads instead
  std::vector<std::string> exportTo;
  std::vector<std::string> subjectAltNames;
};

std::optional<ServiceEntry> parseServiceEntry(const ConfigObject& object,
                                              std::vector<Diagnostic>& out);

} // namespace meshd::control::config
