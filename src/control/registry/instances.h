// Workload instances from what defines them: the processes meshctl starts for a LocalWorkload
// (one per replica, at the addresses the runtime gave them) and WorkloadEntries.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "control/config/local_workload.h"
#include "control/config/networking/workload_entry.h"
#include "control/registry/model.h"

namespace meshd::control::registry {

// One instance per address, named "<name>-<index>": the workload's labels, service account and
// named ports; healthy. Locality and network are left empty (the runtime may set them).
std::vector<WorkloadInstance> instancesOf(const config::LocalWorkload& workload,
                                          std::span<const std::string> addresses);

// The instance a WorkloadEntry stands for; its ports map is by service port name.
WorkloadInstance instanceOf(const config::WorkloadEntryObject& entry);

} // namespace meshd::control::registry
