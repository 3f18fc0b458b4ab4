// ResourceSnapshot and its builder (see resource_snapshot.h).
#include "control/xds/resource_snapshot.h"

#include "control/xds/version_hash.h"
#include "core/status.h"
#include "google/protobuf/descriptor.h"

namespace meshd::control::xds {

const ResourceMap* ResourceSnapshot::resources(const std::string& type_url) const {
  auto it = types_.find(type_url);
  return it == types_.end() ? nullptr : it->second.get();
}

ResourceMapPtr ResourceSnapshot::resourceMap(const std::string& type_url) const {
  auto it = types_.find(type_url);
  return it == types_.end() ? nullptr : it->second;
}

ResourcePtr ResourceSnapshot::find(const std::string& type_url, const std::string& name) const {
  const ResourceMap* map = resources(type_url);
  if (map == nullptr) {
    return nullptr;
  }
  auto it = map->find(name);
  return it == map->end() ? nullptr : it->second;
}

const TypeChanges* ResourceSnapshot::changes(const std::string& type_url) const {
  auto it = changes_.find(type_url);
  return it == changes_.end() ? nullptr : &it->second;
}

ResourceSnapshotBuilder::ResourceSnapshotBuilder(const ResourceSnapshot& base)
    : types_(base.types_), base_(base.types_) {}

ResourceMap& ResourceSnapshotBuilder::mutableType(const std::string& type_url) {
  auto owned = owned_.find(type_url);
  if (owned != owned_.end()) {
    return *owned->second;
  }
  auto shared = types_.find(type_url);
  auto copy = shared == types_.end() ? std::make_shared<ResourceMap>()
                                     : std::make_shared<ResourceMap>(*shared->second);
  types_[type_url] = copy;
  owned_[type_url] = copy;
  return *copy;
}

absl::Status ResourceSnapshotBuilder::add(const google::protobuf::Message& message,
                                          std::string version) {
  ASSIGN_OR_RETURN(std::string name, resourceName(message));
  google::protobuf::Any body;
  if (!body.PackFrom(message)) {
    return absl::InternalError(fmt::format("cannot pack {}", message.GetTypeName()));
  }
  addAny(std::move(name), std::move(body), std::move(version));
  return absl::OkStatus();
}

void ResourceSnapshotBuilder::addAny(std::string name, google::protobuf::Any body,
                                     std::string version) {
  if (version.empty()) {
    version = hexVersion(fnv1a64(body.value(), fnv1a64(body.type_url())));
  }
  std::string type_url = body.type_url();
  auto resource = std::make_shared<Resource>();
  resource->name = name;
  resource->version = std::move(version);
  resource->body = std::move(body);
  touched_[type_url].insert(name);
  mutableType(type_url)[std::move(name)] = std::move(resource);
}

bool ResourceSnapshotBuilder::remove(const std::string& type_url, const std::string& name) {
  auto shared = types_.find(type_url);
  if (shared == types_.end() || !shared->second->contains(name)) {
    return false;
  }
  touched_[type_url].insert(name);
  mutableType(type_url).erase(name);
  return true;
}

SnapshotPtr ResourceSnapshotBuilder::build() {
  auto snapshot = std::make_shared<ResourceSnapshot>();
  snapshot->types_ = types_;
  for (auto& [type_url, names] : touched_) {
    auto base = base_.find(type_url);
    if (base != base_.end()) {
      snapshot->changes_[type_url] = TypeChanges{base->second, {names.begin(), names.end()}};
    }
  }
  // Later changes copy again (the built snapshot stays immutable) and are relative to it.
  owned_.clear();
  touched_.clear();
  base_ = types_;
  return snapshot;
}

absl::StatusOr<std::string> resourceName(const google::protobuf::Message& message) {
  const google::protobuf::Descriptor* descriptor = message.GetDescriptor();
  for (const char* field_name : {"name", "cluster_name"}) {
    const google::protobuf::FieldDescriptor* field = descriptor->FindFieldByName(field_name);
    if (field != nullptr && field->type() == google::protobuf::FieldDescriptor::TYPE_STRING &&
        !field->is_repeated()) {
      std::string name = message.GetReflection()->GetString(message, field);
      if (name.empty()) {
        return absl::InvalidArgumentError(
            fmt::format("{} has an empty {}", descriptor->full_name(), field_name));
      }
      return name;
    }
  }
  return absl::InvalidArgumentError(
      fmt::format("{} has no name field to use as resource name", descriptor->full_name()));
}

std::string typeUrlOf(const google::protobuf::Message& message) {
  return "type.googleapis.com/" + message.GetDescriptor()->full_name();
}

} // namespace meshd::control::xds
