// ObjectTable: the objects of a store keyed by ObjectKey, and the pure part of a write: checking
// existence and resourceVersion preconditions, asking the validator about the resulting config,
// and working out what changes. No locking and no I/O (BasicConfigStore adds those).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string_view>
#include <vector>

#include "control/config/diagnostic.h"
#include "control/config/store/config_store.h"

namespace meshd::control::config {

// A write worked out against a table. When result.status is OK, commit() applies it.
struct WritePlan {
  WriteResult result;
  std::vector<ConfigObject> upserts; // created or configured objects
  std::vector<ObjectKey> deletes;    // existing objects to delete
  // The change is already durable outside the store (a file edited by hand): persisting it only
  // records the new resourceVersion.
  bool external = false;

  bool changesSomething() const { return !upserts.empty() || !deletes.empty(); }
};

class ObjectTable {
public:
  WritePlan planWrite(WriteMode mode, std::vector<ConfigObject> objects,
                      const ConfigValidator& validator) const;
  WritePlan planRemove(std::vector<ObjectKey> keys, bool ignoreNotFound) const;
  // Applies an OK plan, giving every object it touches `version`; returns the change events.
  std::vector<ConfigChange> commit(WritePlan plan, int64_t version);

  const ConfigObject* find(const ObjectKey& key) const;
  std::vector<ConfigObject> list(std::string_view kind, std::optional<std::string_view> ns) const;
  size_t size() const { return objects_.size(); }
  void clear() { objects_.clear(); }

private:
  std::map<ObjectKey, ConfigObject> objects_;
};

} // namespace meshd::control::config
