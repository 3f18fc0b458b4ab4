// Building SotW and delta responses from a snapshot and a client's held resources
// (see response_builder.h).
#include "control/xds/response_builder.h"

#include <string>
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

// One (name, version) pair's share of the state hash (a sum, so order does not matter).
uint64_t entryHash(const Resource& resource) {
  return fnv1a64(resource.version, fnv1a64(resource.name));
}

bool heldAtVersion(const TypeState& state, const ResourcePtr& resource) {
  const Resource* held = state.held.find(resource->name);
  return held != nullptr && (held == resource.get() || held->version == resource->version);
}

// What a comparison found.
struct Comparison {
  std::vector<ResourcePtr> changed; // wanted, and not held at their current version
  std::vector<std::string> deleted; // held and still subscribed, but gone from the snapshot
  bool droppedUnsubscribed = false; // held entries forgotten because no longer subscribed
  uint64_t stateHash = 0;
};

// Looks at every subscribed resource and every held one.
Comparison compareAll(TypeState& state, const ResourceMap* resources) {
  Comparison result;
  size_t held_wanted = 0; // held entries still wanted and present
  forEachWanted(state.subscription, resources, [&](const ResourcePtr& resource) {
    result.stateHash += entryHash(*resource);
    if (state.held.contains(resource->name)) {
      ++held_wanted;
    }
    if (!heldAtVersion(state, resource)) {
      result.changed.push_back(resource);
    }
  });
  if (held_wanted == state.held.size()) {
    return result;
  }
  state.held.eraseIf(
      [&](const std::string& name) {
        bool exists = resources != nullptr && resources->contains(name);
        return !exists || !state.subscription.wants(name);
      },
      [&](const std::string& name) {
        if (state.subscription.wants(name)) {
          result.deleted.push_back(name);
        } else {
          result.droppedUnsubscribed = true;
        }
      });
  return result;
}

// Looks only at the names that changed since the map the state was last compared against.
Comparison compareChanged(TypeState& state, const ResourceMap* resources,
                          const TypeChanges& changes) {
  Comparison result;
  result.stateHash = state.stateHash;
  for (const std::string& name : changes.names) {
    if (!state.subscription.wants(name)) {
      continue;
    }
    auto before = changes.from->find(name);
    if (before != changes.from->end()) {
      result.stateHash -= entryHash(*before->second);
    }
    auto now = resources != nullptr ? resources->find(name) : ResourceMap::const_iterator();
    if (resources != nullptr && now != resources->end()) {
      result.stateHash += entryHash(*now->second);
      if (!heldAtVersion(state, now->second)) {
        result.changed.push_back(now->second);
      }
    } else if (state.held.erase(name)) {
      result.deleted.push_back(name);
    }
  }
  return result;
}

Comparison compare(TypeState& state, const ResourceMap* resources, const TypeChanges* changes) {
  Comparison result = changes != nullptr ? compareChanged(state, resources, *changes)
                                         : compareAll(state, resources);
  state.stateHash = result.stateHash;
  state.needsFullCompare = false;
  return result;
}

} // namespace

bool buildSotwResponse(TypeState& state, const ResourceMap* resources, const TypeChanges* changes,
                       bool force, envoy::service::discovery::v3::DiscoveryResponse* response) {
  const bool full_state = isFullStateType(state.typeUrl);
  Comparison comparison = compare(state, resources, changes);
  const bool lost_resources = !comparison.deleted.empty() || comparison.droppedUnsubscribed;
  if (comparison.changed.empty() && !force && !(full_state && lost_resources)) {
    return false;
  }
  response->Clear();
  response->set_type_url(state.typeUrl);
  response->set_version_info(hexVersion(comparison.stateHash));
  if (full_state) {
    forEachWanted(state.subscription, resources, [&](const ResourcePtr& resource) {
      *response->add_resources() = resource->body;
    });
  } else {
    for (const ResourcePtr& resource : comparison.changed) {
      *response->add_resources() = resource->body;
    }
  }
  for (const ResourcePtr& resource : comparison.changed) {
    state.held.put(resource);
  }
  state.lastVersionSent = response->version_info();
  return true;
}

bool buildDeltaResponse(TypeState& state, const ResourceMap* resources, const TypeChanges* changes,
                        bool force,
                        envoy::service::discovery::v3::DeltaDiscoveryResponse* response) {
  Comparison comparison = compare(state, resources, changes);
  if (comparison.changed.empty() && comparison.deleted.empty() && !force) {
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
    state.held.put(resource);
  }
  for (std::string& name : comparison.deleted) {
    response->add_removed_resources(std::move(name));
  }
  state.lastVersionSent = response->system_version_info();
  return true;
}

std::string subscriptionVersion(const ResourceMap* resources, bool wildcard,
                                const std::vector<std::string>& names) {
  uint64_t hash = 0;
  if (resources != nullptr && wildcard) {
    for (const auto& [name, resource] : *resources) {
      hash += entryHash(*resource);
    }
  } else if (resources != nullptr) {
    for (const std::string& name : names) {
      if (auto it = resources->find(name); it != resources->end()) {
        hash += entryHash(*it->second);
      }
    }
  }
  return hexVersion(hash);
}

bool holdsSubscription(const ResourceMap* resources, bool wildcard,
                       const std::vector<std::string>& names,
                       const std::map<std::string, std::string>& held) {
  if (resources == nullptr) {
    return true;
  }
  auto heldAtVersion = [&held](const Resource& resource) {
    auto it = held.find(resource.name);
    return it != held.end() && it->second == resource.version;
  };
  if (wildcard) {
    for (const auto& [name, resource] : *resources) {
      if (!heldAtVersion(*resource)) {
        return false;
      }
    }
    return held.size() == resources->size(); // nothing held that is gone (full-state types)
  }
  for (const std::string& name : names) {
    if (auto it = resources->find(name); it != resources->end() && !heldAtVersion(*it->second)) {
      return false;
    }
  }
  return true;
}

} // namespace meshd::control::xds
