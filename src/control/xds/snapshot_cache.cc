// SnapshotCache (see snapshot_cache.h).
#include "control/xds/snapshot_cache.h"

namespace meshd::control::xds {

SnapshotCache::SnapshotCache() : default_(ResourceSnapshotBuilder().build()) {}

SnapshotPtr SnapshotCache::snapshotFor(const envoy::config::core::v3::Node& node) {
  return get(node.id());
}

void SnapshotCache::setDefault(SnapshotPtr snapshot) {
  std::lock_guard lock(mutex_);
  default_ = std::move(snapshot);
}

void SnapshotCache::setForNode(const std::string& node_id, SnapshotPtr snapshot) {
  std::lock_guard lock(mutex_);
  byNode_[node_id] = std::move(snapshot);
}

void SnapshotCache::clearNode(const std::string& node_id) {
  std::lock_guard lock(mutex_);
  byNode_.erase(node_id);
}

SnapshotPtr SnapshotCache::get(const std::string& node_id) const {
  std::lock_guard lock(mutex_);
  auto it = byNode_.find(node_id);
  return it == byNode_.end() ? default_ : it->second;
}

} // namespace meshd::control::xds
