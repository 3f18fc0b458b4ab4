// Endpoint-only updates (endpoint_update.h).
#include "control/translate/endpoint_update.h"

#include <algorithm>

#include "control/translate/cluster_support.h"

namespace meshd::control::translate {
namespace {

bool resolvesByDns(const registry::Service& service) {
  return service.resolution == registry::Resolution::kDns ||
         service.resolution == registry::Resolution::kDnsRoundRobin;
}

// Whether the non-EDS part of a service's clusters can differ between the two snapshots.
bool clustersChange(const model::MeshSnapshot& before, const model::MeshSnapshot& after,
                    const std::string& hostname) {
  const registry::Service* old = before.registry().service(hostname);
  const registry::Service* now = after.registry().service(hostname);
  if (old == nullptr || now == nullptr || resolvesByDns(*old) || resolvesByDns(*now)) {
    return true;
  }
  return serviceAccounts(before, *old) != serviceAccounts(after, *now);
}

// Instances present in only one map, or different in the two (both versions).
void changedInstances(const std::map<registry::InstanceId, registry::WorkloadInstance>& before,
                      const std::map<registry::InstanceId, registry::WorkloadInstance>& after,
                      std::vector<registry::WorkloadInstance>& out) {
  auto old = before.begin();
  auto now = after.begin();
  while (old != before.end() || now != after.end()) {
    if (now == after.end() || (old != before.end() && old->first < now->first)) {
      out.push_back((old++)->second);
    } else if (old == before.end() || now->first < old->first) {
      out.push_back((now++)->second);
    } else {
      if (!(old->second == now->second)) {
        out.push_back(old->second);
        out.push_back(now->second);
      }
      ++old;
      ++now;
    }
  }
}

} // namespace

void EndpointChange::merge(const EndpointChange& later) {
  hostnames.insert(later.hostnames.begin(), later.hostnames.end());
  clusterHostnames.insert(later.clusterHostnames.begin(), later.clusterHostnames.end());
  instances.insert(instances.end(), later.instances.begin(), later.instances.end());
}

EndpointChange endpointChange(const model::MeshSnapshot& before, const model::MeshSnapshot& after) {
  EndpointChange out;
  const registry::RegistryChanges changes =
      registry::changedServices(before.registry(), after.registry());
  for (const std::string& hostname : changes.services) {
    out.hostnames.insert(hostname);
    out.clusterHostnames.insert(hostname);
  }
  for (const std::string& hostname : changes.endpoints) {
    out.hostnames.insert(hostname);
    if (clustersChange(before, after, hostname)) {
      out.clusterHostnames.insert(hostname);
    }
  }
  changedInstances(before.registry().instances(), after.registry().instances(), out.instances);
  return out;
}

std::unordered_set<std::string> visibleServices(const model::MeshSnapshot& snapshot,
                                                const ProxyContext& proxy) {
  std::unordered_set<std::string> out;
  for (const registry::Service* service : outboundServices(snapshot, proxy)) {
    out.insert(service->hostname);
  }
  return out;
}

bool mayBeOwnInstance(const registry::WorkloadInstance& instance, const ProxyContext& proxy) {
  if (instance.ns != proxy.ns) {
    return false;
  }
  if (!proxy.podName.empty() && instance.name == proxy.podName) {
    return true;
  }
  if (!proxy.workloadName.empty() && (instance.name == proxy.workloadName ||
                                      instance.name.starts_with(proxy.workloadName + "-"))) {
    return true;
  }
  return !instance.address.empty() &&
         std::find(proxy.ips.begin(), proxy.ips.end(), instance.address) != proxy.ips.end();
}

Rebuild rebuildNeeded(const EndpointChange& change, const ProxyContext& proxy,
                      const std::unordered_set<std::string>& visible) {
  for (const registry::WorkloadInstance& instance : change.instances) {
    if (mayBeOwnInstance(instance, proxy)) {
      return Rebuild::kFull;
    }
  }
  Rebuild out = Rebuild::kNone;
  for (const std::string& hostname : change.hostnames) {
    if (!visible.contains(hostname)) {
      continue;
    }
    if (change.clusterHostnames.contains(hostname)) {
      return Rebuild::kFull;
    }
    out = Rebuild::kEndpoints;
  }
  return out;
}

} // namespace meshd::control::translate
