// The service registry (registry.h).
#include "control/registry/registry.h"

#include <unordered_map>

#include <algorithm>
#include <set>

#include "control/config/host_names.h"
#include "control/registry/catalog.h"
#include "control/registry/endpoints.h"

namespace meshd::control::registry {

struct Registry::EndpointSet {
  std::vector<ServiceEndpoint> endpoints; // sorted (sortEndpoints)
  uint64_t version = 0;
};

struct Registry::Shared {
  Catalog catalog;
  std::vector<const Service*> services; // into catalog.records, sorted by hostname
};

namespace {

using InstanceMap = std::map<InstanceId, WorkloadInstance>;

// The instances of `map` in namespace `ns`, appended to `out`.
void appendInNamespace(const InstanceMap& map, std::string_view ns,
                       std::vector<const WorkloadInstance*>& out) {
  for (auto it = map.lower_bound(InstanceId{std::string(ns), ""});
       it != map.end() && it->first.first == ns; ++it) {
    out.push_back(&it->second);
  }
}

} // namespace

Registry::Registry() : Registry(std::make_shared<Shared>(), std::make_shared<InstanceMap>(), {}) {}

Registry::Registry(std::shared_ptr<const Shared> shared,
                   std::shared_ptr<const std::map<InstanceId, WorkloadInstance>> instances,
                   std::vector<std::shared_ptr<const EndpointSet>> endpoints)
    : shared_(std::move(shared)), instances_(std::move(instances)),
      endpoints_(std::move(endpoints)) {}

Registry Registry::build(const std::vector<config::ConfigObject>& objects,
                         std::vector<WorkloadInstance> instances,
                         std::vector<config::Diagnostic>& diagnostics) {
  auto shared = std::make_shared<Shared>();
  shared->catalog = buildCatalog(objects, diagnostics);
  for (const ServiceRecord& record : shared->catalog.records) {
    shared->services.push_back(&record.service);
  }
  // Endpoints not computed yet are null: withInstances() computes every one, once.
  std::vector<std::shared_ptr<const EndpointSet>> uncomputed(shared->catalog.records.size());
  const Registry registry(std::move(shared), std::make_shared<InstanceMap>(),
                          std::move(uncomputed));
  return registry.withInstances(std::move(instances));
}

Registry Registry::withInstances(std::vector<WorkloadInstance> instances) const {
  InstanceMap map;
  for (WorkloadInstance& instance : instances) {
    InstanceId id{instance.ns, instance.name};
    map.insert_or_assign(std::move(id), std::move(instance));
  }
  return withInstanceMap(std::move(map));
}

Registry Registry::withInstance(WorkloadInstance instance) const {
  InstanceMap map = *instances_;
  InstanceId id{instance.ns, instance.name};
  map.insert_or_assign(std::move(id), std::move(instance));
  return withInstanceMap(std::move(map));
}

Registry Registry::withoutInstance(std::string_view ns, std::string_view name) const {
  InstanceMap map = *instances_;
  map.erase(InstanceId{std::string(ns), std::string(name)});
  return withInstanceMap(std::move(map));
}

Registry Registry::withInstanceMap(InstanceMap instances) const {
  const Catalog& catalog = shared_->catalog;
  // The services that select an instance which appeared, went or changed (before or after).
  std::set<size_t> affected;
  auto consider = [&](const std::vector<size_t>& records, const WorkloadInstance& instance) {
    for (size_t index : records) {
      if (catalog.records[index].selectsInstance(instance)) {
        affected.insert(index);
      }
    }
  };
  auto touch = [&](const WorkloadInstance& instance) {
    for (const auto& [key, value] : instance.labels) {
      const auto found = catalog.selectingByLabel.find(selectorKey(instance.ns, key, value));
      if (found != catalog.selectingByLabel.end()) {
        consider(found->second, instance);
      }
    }
    if (const auto all = catalog.selectingAll.find(instance.ns);
        all != catalog.selectingAll.end()) {
      consider(all->second, instance);
    }
  };
  for (const auto& [id, instance] : *instances_) {
    auto now = instances.find(id);
    if (now == instances.end() || !(now->second == instance)) {
      touch(instance);
    }
  }
  for (const auto& [id, instance] : instances) {
    auto before = instances_->find(id);
    if (before == instances_->end() || !(before->second == instance)) {
      touch(instance);
    }
  }
  for (size_t index = 0; index < endpoints_.size(); ++index) {
    if (endpoints_[index] == nullptr) {
      affected.insert(index); // not computed yet (build())
    }
  }

  Registry next(shared_, std::make_shared<const InstanceMap>(std::move(instances)), endpoints_);
  // With many services to recompute, instances by selectorKey: a service's candidates are those
  // carrying its selector's first label, not its whole namespace (a few affected services just
  // scan their namespace).
  constexpr size_t kIndexFrom = 16;
  std::unordered_map<std::string, std::vector<const WorkloadInstance*>> byLabel;
  if (affected.size() >= kIndexFrom) {
    for (const InstanceMap* map : {&catalog.entryInstances, next.instances_.get()}) {
      for (const auto& [id, instance] : *map) {
        for (const auto& [key, value] : instance.labels) {
          byLabel[selectorKey(instance.ns, key, value)].push_back(&instance);
        }
      }
    }
  }
  for (size_t index : affected) {
    const ServiceRecord& record = catalog.records[index];
    std::vector<const WorkloadInstance*> candidates;
    if (record.selects == ServiceRecord::Selects::kNothing) {
      // fixed endpoints only
    } else if (affected.size() >= kIndexFrom && !record.selector.empty()) {
      const auto& [key, value] = *record.selector.begin();
      if (const auto found = byLabel.find(selectorKey(record.service.ns, key, value));
          found != byLabel.end()) {
        candidates = found->second;
      }
    } else {
      candidates = next.instancesIn(record.service.ns);
    }
    auto set = std::make_shared<EndpointSet>();
    set->endpoints = endpointsOf(record, candidates);
    set->version = registry::endpointsVersion(set->endpoints);
    next.endpoints_[index] = std::move(set);
  }
  return next;
}

std::vector<const WorkloadInstance*> Registry::instancesIn(std::string_view ns) const {
  std::vector<const WorkloadInstance*> out;
  appendInNamespace(shared_->catalog.entryInstances, ns, out);
  appendInNamespace(*instances_, ns, out);
  return out;
}

const Service* Registry::service(std::string_view hostname) const {
  const Catalog& catalog = shared_->catalog;
  auto it = catalog.byHostname.find(hostname);
  return it == catalog.byHostname.end() ? nullptr : &catalog.records[it->second].service;
}

const std::vector<const Service*>& Registry::services() const {
  return shared_->services;
}

std::vector<const Service*> Registry::servicesVisibleFrom(std::string_view ns) const {
  std::vector<const Service*> out;
  for (const Service* service : shared_->services) {
    if (service->visibleFrom(ns)) {
      out.push_back(service);
    }
  }
  return out;
}

const Service* Registry::resolve(std::string_view host, std::string_view fromNamespace) const {
  const Service* found = service(config::resolveShortHost(host, fromNamespace));
  return found != nullptr && found->visibleFrom(fromNamespace) ? found : nullptr;
}

std::vector<const Service*> Registry::servicesCoveredBy(std::string_view pattern,
                                                        std::string_view fromNamespace) const {
  const std::string resolved = config::resolveShortHost(pattern, fromNamespace);
  std::vector<const Service*> out;
  for (const Service* service : shared_->services) {
    if (config::hostCovers(resolved, service->hostname) && service->visibleFrom(fromNamespace)) {
      out.push_back(service);
    }
  }
  return out;
}

const Registry::EndpointSet* Registry::endpointSet(std::string_view hostname) const {
  const Catalog& catalog = shared_->catalog;
  auto it = catalog.byHostname.find(hostname);
  return it == catalog.byHostname.end() ? nullptr : endpoints_[it->second].get();
}

std::span<const ServiceEndpoint> Registry::endpoints(std::string_view hostname) const {
  const EndpointSet* set = endpointSet(hostname);
  return set == nullptr ? std::span<const ServiceEndpoint>() : std::span(set->endpoints);
}

std::span<const ServiceEndpoint> Registry::endpoints(std::string_view hostname,
                                                     uint32_t servicePort) const {
  std::span<const ServiceEndpoint> all = endpoints(hostname);
  auto first = std::partition_point(all.begin(), all.end(), [&](const ServiceEndpoint& e) {
    return e.servicePort < servicePort;
  });
  auto last = std::partition_point(
      first, all.end(), [&](const ServiceEndpoint& e) { return e.servicePort == servicePort; });
  return std::span<const ServiceEndpoint>(first, last);
}

uint64_t Registry::endpointsVersion(std::string_view hostname) const {
  const EndpointSet* set = endpointSet(hostname);
  return set == nullptr ? 0 : set->version;
}

const std::map<InstanceId, WorkloadInstance>& Registry::instances() const {
  return *instances_;
}

std::vector<const WorkloadInstance*> Registry::instancesFor(std::string_view hostname) const {
  const Catalog& catalog = shared_->catalog;
  auto it = catalog.byHostname.find(hostname);
  if (it == catalog.byHostname.end()) {
    return {};
  }
  const ServiceRecord& record = catalog.records[it->second];
  std::vector<const WorkloadInstance*> out = instancesIn(record.service.ns);
  std::erase_if(
      out, [&](const WorkloadInstance* instance) { return !record.selectsInstance(*instance); });
  std::stable_sort(
      out.begin(), out.end(),
      [](const WorkloadInstance* a, const WorkloadInstance* b) { return a->name < b->name; });
  return out;
}

std::vector<const Service*> Registry::servicesOf(const WorkloadInstance& instance) const {
  const Catalog& catalog = shared_->catalog;
  std::vector<const Service*> out;
  auto selecting = catalog.selectingByNamespace.find(instance.ns);
  if (selecting != catalog.selectingByNamespace.end()) {
    for (size_t index : selecting->second) {
      if (catalog.records[index].selectsInstance(instance)) {
        out.push_back(&catalog.records[index].service);
      }
    }
  }
  return out;
}

RegistryChanges changedServices(const Registry& before, const Registry& after) {
  RegistryChanges changes;
  const Catalog& old = before.shared_->catalog;
  const Catalog& now = after.shared_->catalog;
  const bool sameCatalog = before.shared_ == after.shared_;
  // Both lists are sorted by hostname: walk them together.
  size_t i = 0;
  size_t j = 0;
  while (i < old.records.size() || j < now.records.size()) {
    const int order =
        i == old.records.size() ? 1
        : j == now.records.size()
            ? -1
            : old.records[i].service.hostname.compare(now.records[j].service.hostname);
    if (order != 0) {
      const std::string& hostname =
          order < 0 ? old.records[i++].service.hostname : now.records[j++].service.hostname;
      changes.services.push_back(hostname);
      changes.endpoints.push_back(hostname);
      continue;
    }
    const std::string& hostname = now.records[j].service.hostname;
    if (!sameCatalog && !(old.records[i].service == now.records[j].service)) {
      changes.services.push_back(hostname);
    }
    const auto& x = before.endpoints_[i];
    const auto& y = after.endpoints_[j];
    if (x != y && (x->version != y->version || x->endpoints != y->endpoints)) {
      changes.endpoints.push_back(hostname);
    }
    ++i;
    ++j;
  }
  return changes;
}

} // namespace meshd::control::registry
