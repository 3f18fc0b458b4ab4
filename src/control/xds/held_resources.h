// HeldResources: the resources one client holds of one type, by name. Keys are views of the
// held resource's own name, so a stream that holds thousands of resources pays no string copy per
// name (with 1,000 streams of 2,000 resources each, the copies were the largest part of the
// server's memory).
#pragma once

#include <cstddef>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "control/xds/resource_snapshot.h"

namespace meshd::control::xds {

class HeldResources {
public:
  // The held resource of that name, or null.
  const Resource* find(const std::string& name) const {
    auto it = byName_.find(view(name));
    return it == byName_.end() ? nullptr : it->second.get();
  }
  bool contains(const std::string& name) const { return byName_.contains(view(name)); }
  size_t size() const { return byName_.size(); }

  // Holds `resource` in place of any resource of the same name.
  void put(const ResourcePtr& resource) {
    // The key must view the resource the entry keeps alive: drop the old entry first.
    byName_.erase(view(resource->name));
    byName_.emplace(view(resource->name), resource);
  }
  bool erase(const std::string& name) { return byName_.erase(view(name)) > 0; }

  // Removes the entries for which `drop(name)` is true, calling `dropped(name)` for each first.
  template <class Drop, class Dropped>
  void eraseIf(Drop drop, Dropped dropped) {
    for (auto it = byName_.begin(); it != byName_.end();) {
      const std::string& name = it->second->name;
      if (drop(name)) {
        dropped(name);
        byName_.erase(it++);
      } else {
        ++it;
      }
    }
  }

  // Calls `visit(resource)` for every held resource (in no particular order).
  template <class Visit>
  void forEach(Visit visit) const {
    for (const auto& [name, resource] : byName_) {
      visit(*resource);
    }
  }

private:
  static absl::string_view view(const std::string& name) {
    return absl::string_view(name.data(), name.size());
  }

  absl::flat_hash_map<absl::string_view, ResourcePtr> byName_;
};

} // namespace meshd::control::xds
