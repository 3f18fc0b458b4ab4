// The configuration half of the registry: the services that Kubernetes Services and
// ServiceEntries define, how each one finds its endpoints, and the WorkloadEntry instances. Built
// once per config change and shared by every Registry made from it; instance changes never touch
// it. Internal to the registry (registry.h is the interface).
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "control/config/config_object.h"
#include "control/config/diagnostic.h"
#include "control/registry/model.h"

namespace meshd::control::registry {

// A service and the recipe for its endpoints.
struct ServiceRecord {
  enum class Selects {
    kNothing,          // only fixedEndpoints (ServiceEntry endpoints, DNS hosts, ExternalName)
    kKubeSelector,     // a Kubernetes selector: non-empty, instances in the same namespace
    kWorkloadSelector, // a ServiceEntry workloadSelector: instances in the same namespace
  };
  Service service;
  Selects selects = Selects::kNothing;
  Labels selector;
  std::vector<ServiceEndpoint> fixedEndpoints;

  bool selectsInstance(const WorkloadInstance& instance) const;
};

struct Catalog {
  std::vector<ServiceRecord> records; // sorted by hostname, one per hostname
  std::map<std::string, size_t, std::less<>> byHostname;
  // Records that select instances, by the namespace they select in.
  std::map<std::string, std::vector<size_t>, std::less<>> selectingByNamespace;
  // The same records by selectorKey(ns, first selector label) — or, with an empty selector
  // (every instance of the namespace), in selectingAll — so that finding the services of an
  // instance looks only at those that could select it.
  std::unordered_map<std::string, std::vector<size_t>> selectingByLabel;
  std::map<std::string, std::vector<size_t>, std::less<>> selectingAll;
  std::map<InstanceId, WorkloadInstance> entryInstances; // from WorkloadEntries
};

// The index key of one label of an instance (or selector) in a namespace.
std::string selectorKey(std::string_view ns, const std::string& key, const std::string& value);

// Services and WorkloadEntries from `objects` (other kinds are ignored). Objects that fail to
// parse are skipped and their diagnostics appended to `diagnostics`, as are warnings about
// hostnames that several objects define.
Catalog buildCatalog(const std::vector<config::ConfigObject>& objects,
                     std::vector<config::Diagnostic>& diagnostics);

} // namespace meshd::control::registry
