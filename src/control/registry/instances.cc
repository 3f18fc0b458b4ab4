// Instances from LocalWorkloads and WorkloadEntries (instances.h).
#include "control/registry/instances.h"

#include "fmt/format.h"

namespace meshd::control::registry {

std::vector<WorkloadInstance> instancesOf(const config::LocalWorkload& workload,
                                          std::span<const std::string> addresses) {
  std::vector<WorkloadInstance> out;
  out.reserve(addresses.size());
  for (size_t i = 0; i < addresses.size(); ++i) {
    WorkloadInstance instance;
    instance.name = fmt::format("{}-{}", workload.meta.name, i);
    instance.ns = workload.meta.ns;
    instance.labels = workload.labels;
    instance.address = addresses[i];
    instance.serviceAccount = workload.serviceAccount;
    for (const config::LocalWorkloadPort& port : workload.ports) {
      instance.namedPorts.emplace(port.name, port.port);
    }
    instance.kind = InstanceKind::kProcess;
    instance.source =
        fmt::format("LocalWorkload {}/{} #{}", workload.meta.ns, workload.meta.name, i);
    out.push_back(std::move(instance));
  }
  return out;
}

WorkloadInstance instanceOf(const config::WorkloadEntryObject& entry) {
  WorkloadInstance instance;
  instance.name = entry.meta.name;
  instance.ns = entry.meta.ns;
  instance.labels = entry.spec.labels;
  instance.address = entry.spec.address;
  instance.serviceAccount = entry.spec.serviceAccount;
  instance.namedPorts = entry.spec.ports;
  instance.locality = entry.spec.locality;
  instance.network = entry.spec.network;
  instance.weight = entry.spec.weight;
  instance.kind = InstanceKind::kWorkloadEntry;
  instance.source = fmt::format("WorkloadEntry {}/{}", entry.meta.ns, entry.meta.name);
  return instance;
}

} // namespace meshd::control::registry
