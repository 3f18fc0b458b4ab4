// Endpoint derivation (endpoints.h).
#include "control/registry/endpoints.h"

#include <algorithm>
#include <string_view>
#include <tuple>

namespace meshd::control::registry {

std::optional<uint32_t> workloadPort(bool kubernetes, const ServicePort& port,
                                     const WorkloadInstance& instance) {
  const auto& named = instance.namedPorts;
  if (kubernetes && !port.targetPortName.empty()) {
    auto it = named.find(port.targetPortName);
    return it == named.end() ? std::nullopt : std::optional<uint32_t>(it->second);
  }
  // A ServiceEntry endpoint's (or a WorkloadEntry's) ports map is keyed by service port name; a
  // process selected by a ServiceEntry may name its container port after the service port.
  if (!kubernetes || instance.kind == InstanceKind::kWorkloadEntry) {
    if (auto it = named.find(port.name); it != named.end()) {
      return it->second;
    }
  }
  return port.targetPort != 0 ? port.targetPort : port.number;
}

ServiceEndpoint endpointOf(const WorkloadInstance& instance, const ServicePort& port,
                           uint32_t workloadPort) {
  ServiceEndpoint endpoint;
  endpoint.address = instance.address;
  endpoint.addressKind = addressKindOf(instance.address);
  endpoint.port = endpoint.addressKind == AddressKind::kUnixSocket ? 0 : workloadPort;
  endpoint.servicePort = port.number;
  endpoint.servicePortName = port.name;
  endpoint.labels = instance.labels;
  endpoint.serviceAccount = instance.serviceAccount;
  endpoint.locality = instance.locality;
  endpoint.network = instance.network;
  endpoint.weight = instance.weight;
  endpoint.healthy = instance.healthy;
  endpoint.workloadName = instance.name;
  endpoint.workloadNamespace = instance.ns;
  // Every process meshctl runs has a sidecar; other workloads say so with Istio's label.
  auto label = instance.labels.find(std::string(kTlsModeLabel));
  const bool sidecar = label != instance.labels.end() ? label->second == kTlsModeIstio
                                                      : instance.kind == InstanceKind::kProcess;
  endpoint.tlsMode = std::string(sidecar ? kTlsModeIstio : kTlsModeDisabled);
  return endpoint;
}

std::vector<ServiceEndpoint> endpointsOf(const ServiceRecord& record,
                                         std::span<const WorkloadInstance* const> candidates) {
  std::vector<ServiceEndpoint> out = record.fixedEndpoints;
  const bool kubernetes = record.selects == ServiceRecord::Selects::kKubeSelector;
  for (const WorkloadInstance* instance : candidates) {
    if (instance->address.empty() || !record.selectsInstance(*instance)) {
      continue;
    }
    for (const ServicePort& port : record.service.ports) {
      if (std::optional<uint32_t> target = workloadPort(kubernetes, port, *instance)) {
        out.push_back(endpointOf(*instance, port, *target));
      }
    }
  }
  sortEndpoints(out);
  return out;
}

void sortEndpoints(std::vector<ServiceEndpoint>& endpoints) {
  auto key = [](const ServiceEndpoint& e) {
    return std::tie(e.servicePort, e.address, e.port, e.workloadNamespace, e.workloadName);
  };
  std::stable_sort(
      endpoints.begin(), endpoints.end(),
      [&](const ServiceEndpoint& a, const ServiceEndpoint& b) { return key(a) < key(b); });
}

namespace {

class Fnv1a {
public:
  void add(std::string_view text) {
    for (char c : text) {
      addByte(static_cast<unsigned char>(c));
    }
    addByte(0); // separator: ("ab", "c") and ("a", "bc") differ
  }
  void add(uint64_t value) {
    for (int i = 0; i < 8; ++i) {
      addByte(static_cast<unsigned char>(value >> (8 * i)));
    }
  }
  uint64_t value() const { return hash_; }

private:
  void addByte(unsigned char byte) {
    hash_ ^= byte;
    hash_ *= 0x100000001b3ULL;
  }
  uint64_t hash_ = 0xcbf29ce484222325ULL;
};

} // namespace

uint64_t endpointsVersion(std::span<const ServiceEndpoint> endpoints) {
  Fnv1a hash;
  hash.add(endpoints.size());
  for (const ServiceEndpoint& e : endpoints) {
    hash.add(e.address);
    hash.add(static_cast<uint64_t>(e.addressKind));
    hash.add(e.port);
    hash.add(e.servicePort);
    hash.add(e.servicePortName);
    hash.add(e.labels.size());
    for (const auto& [key, value] : e.labels) {
      hash.add(key);
      hash.add(value);
    }
    hash.add(e.serviceAccount);
    hash.add(e.locality);
    hash.add(e.network);
    hash.add(e.weight);
    hash.add(e.healthy ? 1u : 0u);
    hash.add(e.workloadName);
    hash.add(e.workloadNamespace);
    hash.add(e.tlsMode);
  }
  return hash.value();
}

} // namespace meshd::control::registry
