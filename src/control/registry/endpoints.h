// How a service's endpoints are derived from instances: which port an instance serves a service
// port on, the endpoint it becomes, and the deterministic order and version of an endpoint list.
// Internal to the registry.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "control/registry/catalog.h"
#include "control/registry/model.h"

namespace meshd::control::registry {

// The instance's port for `port` of a service defined by a Kubernetes Service (`kubernetes`) or
// a ServiceEntry; nullopt when a named targetPort is not among the instance's ports (Kubernetes
// leaves the instance out of that port's endpoints).
std::optional<uint32_t> workloadPort(bool kubernetes, const ServicePort& port,
                                     const WorkloadInstance& instance);

ServiceEndpoint endpointOf(const WorkloadInstance& instance, const ServicePort& port,
                           uint32_t workloadPort);

// The record's fixed endpoints plus one endpoint per selected instance and port, sorted.
std::vector<ServiceEndpoint> endpointsOf(const ServiceRecord& record,
                                         std::span<const WorkloadInstance* const> candidates);

// By service port, then address, port and workload: the order endpoints() returns.
void sortEndpoints(std::vector<ServiceEndpoint>& endpoints);

// A hash of everything in the list (FNV-1a, stable across runs): equal lists, equal versions.
uint64_t endpointsVersion(std::span<const ServiceEndpoint> endpoints);

} // namespace meshd::control::registry
