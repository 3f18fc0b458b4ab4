// The service registry (docs/registry.md): the mesh's services, from Kubernetes Services and
// ServiceEntries, and their endpoints, from the running workload instances and WorkloadEntries.
// An immutable value, pure and deterministic: build it from config objects and instances, query
// it by host and port, and derive a new one when instances change — which recomputes only the
// endpoints of the services that select a changed instance. changedServices() tells the xDS
// push path what to rebuild.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "control/config/config_object.h"
#include "control/config/diagnostic.h"
#include "control/registry/model.h"

namespace meshd::control::registry {

// What differs between two registries, by hostname (sorted). A hostname in `services` was added,
// removed or redefined (CDS/LDS/RDS work); one in `endpoints` has different endpoints (EDS).
// Added and removed services appear in both.
struct RegistryChanges {
  std::vector<std::string> services;
  std::vector<std::string> endpoints;

  bool empty() const { return services.empty() && endpoints.empty(); }
};

class Registry {
public:
  Registry(); // no services, no instances

  // Services and WorkloadEntries from `objects` (other kinds are ignored) and the running
  // `instances`. Objects that fail to parse are skipped; their diagnostics, and a warning for
  // every definition of a hostname that loses to another, are appended to `diagnostics`.
  static Registry build(const std::vector<config::ConfigObject>& objects,
                        std::vector<WorkloadInstance> instances,
                        std::vector<config::Diagnostic>& diagnostics);

  // The same services with `instances` as all the running instances (an instance that appears
  // twice: the last one counts).
  Registry withInstances(std::vector<WorkloadInstance> instances) const;
  // One instance started or changed (health, labels, ...), or stopped.
  Registry withInstance(WorkloadInstance instance) const;
  Registry withoutInstance(std::string_view ns, std::string_view name) const;

  // --- services -----------------------------------------------------------------------------
  // By exact hostname (FQDN, or the wildcard a ServiceEntry declares); null when none.
  const Service* service(std::string_view hostname) const;
  // Every service, sorted by hostname.
  const std::vector<const Service*>& services() const;
  // Those that workloads in `ns` may use (exportTo), sorted by hostname.
  std::vector<const Service*> servicesVisibleFrom(std::string_view ns) const;
  // `host` as written in config read in namespace `fromNamespace` ("reviews" →
  // reviews.<ns>.svc.cluster.local), when such a service exists and is visible there.
  const Service* resolve(std::string_view host, std::string_view fromNamespace) const;
  // Visible services whose hostname `pattern` covers ("*.example.com", "*", or a resolved name).
  std::vector<const Service*> servicesCoveredBy(std::string_view pattern,
                                                std::string_view fromNamespace) const;

  // --- endpoints ----------------------------------------------------------------------------
  // All endpoints of the service, by service port, then address, port and workload; empty for
  // an unknown hostname. Valid as long as this Registry (or a copy) lives.
  std::span<const ServiceEndpoint> endpoints(std::string_view hostname) const;
  std::span<const ServiceEndpoint> endpoints(std::string_view hostname, uint32_t servicePort) const;
  // A hash of endpoints(hostname): it changes when they do (for EDS versions); 0 when unknown.
  uint64_t endpointsVersion(std::string_view hostname) const;

  // --- instances ----------------------------------------------------------------------------
  // The running instances (not WorkloadEntries), by (namespace, name).
  const std::map<InstanceId, WorkloadInstance>& instances() const;
  // The instances (WorkloadEntries included) a service selects, by namespace and name.
  std::vector<const WorkloadInstance*> instancesFor(std::string_view hostname) const;
  // The services that select `instance` (its inbound listeners serve their ports), by hostname.
  std::vector<const Service*> servicesOf(const WorkloadInstance& instance) const;

private:
  struct EndpointSet;
  struct Shared;

  Registry(std::shared_ptr<const Shared> shared,
           std::shared_ptr<const std::map<InstanceId, WorkloadInstance>> instances,
           std::vector<std::shared_ptr<const EndpointSet>> endpoints);
  Registry withInstanceMap(std::map<InstanceId, WorkloadInstance> instances) const;
  std::vector<const WorkloadInstance*> instancesIn(std::string_view ns) const;
  const EndpointSet* endpointSet(std::string_view hostname) const;

  std::shared_ptr<const Shared> shared_; // the catalog: services from config; never changes
  std::shared_ptr<const std::map<InstanceId, WorkloadInstance>> instances_;
  std::vector<std::shared_ptr<const EndpointSet>> endpoints_; // by catalog record index

  friend RegistryChanges changedServices(const Registry& before, const Registry& after);
};

RegistryChanges changedServices(const Registry& before, const Registry& after);

} // namespace meshd::control::registry
