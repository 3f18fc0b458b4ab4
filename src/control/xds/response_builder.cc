// Building SotW and delta responses from a snapshot and a client's held resources
// (see response_builder.h).
#include "control/xds/response_builder.h"

#include <vector>

#include "control/xds/version_hash.h"

namespace meshd::control::xds {
namespace {

// Calls `visit` for every resource of `resources` the subscription wants.
template <class Visit>
void forEachWanted(const Subscription& subscription, const ResourceMap* resources, Visit visit) {
  if (resources == nullptr) {
    return;
  }
  if (subscription.wildcard()) {
    for (const auto& [name, resource] : *resources) {
      visit(resource);
    }
    return;
  }
  for (const std::string& name : subscription.names()) {
    auto it = resources->find(name);
    if (it != resources->end()) {
      visit(it->second);
    }
  }
}

// Order-independent hash of the (name, version) pairs a client should hold: the response's
// version_info, identical for identical states.
uint64_t entryHash(const Resource& resource) {
  return fnv1a64(resource.version, fnv1a64(resource.name));
}

// What a comparison found: the wanted resources the client lacks at their current version.
struct Comparison {
  std::vector<ResourcePtr> changed;
  std::vector<ResourcePtr> wanted; // every wanted resource (full-state SotW only)
  uint64_t stateHash = 0;
  size_t heldWanted = 0; // held entries that are still wanted and present
};

Comparison compare(const TypeState& state, const ResourceMap* resources, bool keep_wanted) {
  Comparison result;
  forEachWanted(state.subscription, resources, [&](const ResourcePtr& resource) {
    result.stateHash += entryHash(*resource);
    if (keep_wanted) {
      result.wanted.push_back(resource);
    }
    auto held = state.held.find(resource->name);
    if (held != state.held.end()) {
      ++result.heldWanted;
      if (held->second == resource || held->second->version == resource->version) {
        return;
      }
    }
    result.changed.push_back(resource);
  });
  return result;
}

// Forgets held resources that are no longer subscribed or no longer exist; returns the names of
// the ones still subscribed (the client must be told they are gone).
std::vector<std::string> dropStale(TypeState& state, const ResourceMap* resources) {
  std::vector<std::string> deleted;
  for (auto it = state.held.begin(); it != state.held.end();) {
    const std::string& name = it->first;
    bool exists = resources != nullptr && resources->contains(name);
    if (exists && state.subscription.wants(name)) {
      ++it;
      continue;
    }
    if (state.subscription.wants(name)) {
      deleted.push_back(name);
    }
    state.held.erase(it++);
  }
  return deleted;
}

} // namespace

bool buildSotwResponse(TypeState& state, const ResourceMap* resources, bool force,
                       envoy::service::discovery::v3::DiscoveryResponse* response) {
  const bool full_state = isFullStateType(state.typeUrl);
  Comparison comparison = compare(state, resources, full_state);
  const bool any_stale = comparison.heldWanted != state.held.size();
  if (any_stale) {
    dropStale(state, resources);
  }
  if (comparison.changed.empty() && !force && !(full_state && any_stale)) {
    return false;
  }
  response->Clear();
  response->set_type_url(state.typeUrl);
  response->set_version_info(hexVersion(comparison.stateHash));
  for (const ResourcePtr& resource : full_state ? comparison.wanted : comparison.changed) {
    *response->add_resources() = resource->body;
  }
  for (const ResourcePtr& resource : comparison.changed) {
    state.held[resource->name] = resource;
  }
  state.lastVersionSent = response->version_info();
  return true;
}

bool buildDeltaResponse(TypeState& state, const ResourceMap* resources,
                        envoy::service::discovery::v3::DeltaDiscoveryResponse* response) {
  Comparison comparison = compare(state, resources, false);
  std::vector<std::string> deleted;
  if (comparison.heldWanted != state.held.size()) {
    deleted = dropStale(state, resources);
  }
  if (comparison.changed.empty() && deleted.empty()) {
    return false;
  }
  response->Clear();
  response->set_type_url(state.typeUrl);
  response->set_system_version_info(hexVersion(comparison.stateHash));
  for (const ResourcePtr& resource : comparison.changed) {
    auto* out = response->add_resources();
    out->set_name(resource->name);
    out->set_version(resource->version);
    *out->mutable_resource() = resource->body;
    state.held[resource->name] = resource;
  }
  for (std::string& name : deleted) {
    response->add_removed_resources(std::move(name));
  }
  state.lastVersionSent = response->system_version_info();
  return true;
}

} // namespace meshd::control::xds
