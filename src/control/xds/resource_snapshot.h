// ResourceSnapshot: the immutable set of xDS resources one proxy (or a group of proxies) should
// have, by type URL and name, each with a version. The control plane builds one with
// ResourceSnapshotBuilder and hands it to the xDS server as std::shared_ptr<const
// ResourceSnapshot>; streams read it without locks. A builder started from an older snapshot shares
// the unchanged types with it, so the server can skip types whose resources did not change.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "google/protobuf/any.pb.h"
#include "google/protobuf/message.h"

namespace meshd::control::xds {

struct Resource {
  std::string name;
  // Opaque to clients; the server compares it to decide whether a client needs the resource.
  std::string version;
  google::protobuf::Any body;
};
using ResourcePtr = std::shared_ptr<const Resource>;
// Resources of one type by name.
using ResourceMap = absl::flat_hash_map<std::string, ResourcePtr>;
using ResourceMapPtr = std::shared_ptr<const ResourceMap>;

// How one type's resources differ from an earlier map: the names added, replaced or removed.
// A stream that last compared against `from` need only look at `names` (the fast path that makes
// one endpoint change cost O(1) per stream instead of O(subscribed resources)).
struct TypeChanges {
  ResourceMapPtr from;
  std::vector<std::string> names;
};

class ResourceSnapshot {
public:
  // The resources of `type_url`; null when the snapshot has none of that type.
  const ResourceMap* resources(const std::string& type_url) const;
  // The shared map of a type, so callers can tell "unchanged since last time" by pointer.
  ResourceMapPtr resourceMap(const std::string& type_url) const;
  ResourcePtr find(const std::string& type_url, const std::string& name) const;
  const std::map<std::string, ResourceMapPtr>& types() const { return types_; }
  // What changed in a type relative to the snapshot this one was built from; null if unknown
  // (built from scratch, or the type is new).
  const TypeChanges* changes(const std::string& type_url) const;

private:
  friend class ResourceSnapshotBuilder;
  std::map<std::string, ResourceMapPtr> types_;
  std::map<std::string, TypeChanges> changes_;
};

using SnapshotPtr = std::shared_ptr<const ResourceSnapshot>;

class ResourceSnapshotBuilder {
public:
  ResourceSnapshotBuilder() = default;
  // Starts from `base`: its types are shared until one of them is modified, and the built
  // snapshot records what changed relative to `base` (ResourceSnapshot::changes).
  explicit ResourceSnapshotBuilder(const ResourceSnapshot& base);

  // Adds or replaces a resource. The name comes from the message's `name` field (`cluster_name` for
  // a ClusterLoadAssignment); the version is the hash of its serialized bytes unless given.
  absl::Status add(const google::protobuf::Message& message, std::string version = {});
  // Adds or replaces a resource whose type URL is `body.type_url()`.
  void addAny(std::string name, google::protobuf::Any body, std::string version = {});
  // Removes a resource; true if it was there.
  bool remove(const std::string& type_url, const std::string& name);

  SnapshotPtr build();

private:
  ResourceMap& mutableType(const std::string& type_url);

  std::map<std::string, ResourceMapPtr> types_;
  // Types copied since construction (the others are still shared with the base snapshot).
  std::map<std::string, std::shared_ptr<ResourceMap>> owned_;
  // The base's maps, and the names touched since, per type (for TypeChanges).
  std::map<std::string, ResourceMapPtr> base_;
  std::map<std::string, absl::flat_hash_set<std::string>> touched_;
};

// The name of an Envoy resource message: its `name` field, or `cluster_name` for endpoints.
absl::StatusOr<std::string> resourceName(const google::protobuf::Message& message);
// "type.googleapis.com/" + the message's full name.
std::string typeUrlOf(const google::protobuf::Message& message);

} // namespace meshd::control::xds
