// SnapshotCache: a ResourceProvider holding one snapshot per node id plus a default for nodes
// without their own. The control plane (or a test) sets snapshots, then calls XdsServer::push for
// the nodes it changed.
#pragma once

#include <mutex>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "control/xds/resource_provider.h"

namespace meshd::control::xds {

class SnapshotCache final : public ResourceProvider {
public:
  SnapshotCache();

  SnapshotPtr snapshotFor(const envoy::config::core::v3::Node& node) override;

  void setDefault(SnapshotPtr snapshot);
  void setForNode(const std::string& node_id, SnapshotPtr snapshot);
  void clearNode(const std::string& node_id);
  // The snapshot a node would get (its own or the default).
  SnapshotPtr get(const std::string& node_id) const;

private:
  mutable std::mutex mutex_;
  SnapshotPtr default_;
  absl::flat_hash_map<std::string, SnapshotPtr> byNode_;
};

} // namespace meshd::control::xds
