// Endpoint-only updates (docs/meshd.md "From config to xDS"): when two snapshots share their
// config and differ only in running instances, what changed, which proxies can see it, and
// whether a proxy's earlier translation can be kept with only some ClusterLoadAssignments
// generated again. The rule, from what the generators read of the registry's endpoints:
//   - EDS ClusterLoadAssignments follow the endpoints of their service: regenerate those.
//   - An outbound cluster embeds endpoints when its service resolves by DNS (STRICT_DNS /
//     LOGICAL_DNS load_assignment, and a DNS service without endpoints has no cluster) and
//     verifies its endpoints' service accounts (SANs): a change of either needs a full
//     translation for the proxies that see that service.
//   - A sidecar's inbound clusters and listeners follow its own instance: a change to an
//     instance that may be the proxy's own needs a full translation.
//   - Listeners and routes read no endpoints otherwise, and which services a proxy sees
//     (exportTo, Sidecar egress hosts) depends on config only.
#pragma once

#include <string>
#include <unordered_set>
#include <vector>

#include "control/model/mesh_snapshot.h"
#include "control/translate/proxy_context.h"

namespace meshd::control::translate {

struct EndpointChange {
  // Services whose endpoints changed, by hostname.
  std::unordered_set<std::string> hostnames;
  // Those of them whose clusters change too (DNS resolution, service accounts, or redefined).
  std::unordered_set<std::string> clusterHostnames;
  // Instances started, stopped or changed (both versions of a changed one).
  std::vector<registry::WorkloadInstance> instances;

  bool empty() const { return hostnames.empty() && clusterHostnames.empty() && instances.empty(); }
  // Accumulates a later change (a proxy not translated in between needs both).
  void merge(const EndpointChange& later);
};

// What changed from `before` to `after`, which must share their config (MeshSnapshot::
// withInstances).
EndpointChange endpointChange(const model::MeshSnapshot& before, const model::MeshSnapshot& after);

// The hostnames of the services `proxy` has outbound clusters for (exportTo, Sidecar egress
// hosts): the services whose changes it can see. Depends on config only.
std::unordered_set<std::string> visibleServices(const model::MeshSnapshot& snapshot,
                                                const ProxyContext& proxy);

// Whether `instance` may be the proxy's own (the generators' own-instance lookups: same
// namespace and its pod name, workload name, a "<workload>-" name, or one of its IPs).
bool mayBeOwnInstance(const registry::WorkloadInstance& instance, const ProxyContext& proxy);

enum class Rebuild {
  kNone,      // nothing the proxy sees changed: its translation stands
  kEndpoints, // only ClusterLoadAssignments of changed services it sees
  kFull,      // something else of its output may have changed
};
Rebuild rebuildNeeded(const EndpointChange& change, const ProxyContext& proxy,
                      const std::unordered_set<std::string>& visible);

} // namespace meshd::control::translate
