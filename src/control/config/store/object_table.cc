// ObjectTable (object_table.h).
#include "control/config/store/object_table.h"

#include <set>

#include "absl/strings/str_join.h"
#include "control/config/store/object_names.h"
#include "fmt/format.h"

namespace meshd::control::config {
namespace {

Diagnostic objectError(const ConfigObject& object, std::string message) {
  return errorAt(object, "/metadata/name", std::move(message));
}

// Existence and precondition failures, each a diagnostic; the status is the first failure's.
absl::Status checkPreconditions(WriteMode mode, const std::vector<ConfigObject>& objects,
                                const ObjectTable& table, std::vector<Diagnostic>& diagnostics) {
  absl::Status first;
  auto fail = [&](const ConfigObject& object, absl::Status status) {
    diagnostics.push_back(objectError(object, std::string(status.message())));
    if (first.ok()) {
      first = std::move(status);
    }
  };
  std::set<ObjectKey> seen;
  for (const ConfigObject& object : objects) {
    const ConfigObject* existing = table.find(object.key);
    if (absl::Status valid = checkObjectKey(object.key); !valid.ok()) {
      fail(object, std::move(valid));
    } else if (const std::optional<std::string> pointer = findInvalidUtf8(object.json)) {
      diagnostics.push_back(errorAt(object, *pointer, "not valid UTF-8"));
      if (first.ok()) {
        first = absl::InvalidArgumentError(fmt::format(
            "{}: {}: not valid UTF-8", object.key.toString(), fieldPathFromPointer(*pointer)));
      }
    } else if (!seen.insert(object.key).second) {
      fail(object, absl::InvalidArgumentError("the same object appears twice in this write"));
    } else if (mode == WriteMode::kCreate && existing != nullptr) {
      fail(object,
           absl::AlreadyExistsError(fmt::format("{} already exists (resourceVersion {})",
                                                object.key.toString(), existing->resourceVersion)));
    } else if (mode == WriteMode::kReplace && existing == nullptr) {
      fail(object, absl::NotFoundError(fmt::format("{} does not exist", object.key.toString())));
    } else if (object.resourceVersion != 0 &&
               (existing == nullptr || existing->resourceVersion != object.resourceVersion)) {
      fail(object, absl::FailedPreconditionError(fmt::format(
                       "{} was written with resourceVersion {} but is at {}; read it again",
                       object.key.toString(), object.resourceVersion,
                       existing == nullptr ? "none (deleted)"
                                           : std::to_string(existing->resourceVersion))));
    }
  }
  return first;
}

} // namespace

WritePlan ObjectTable::planWrite(WriteMode mode, std::vector<ConfigObject> objects,
                                 const ConfigValidator& validator) const {
  WritePlan plan;
  WriteResult& result = plan.result;
  result.status = checkPreconditions(mode, objects, *this, result.diagnostics);
  if (!result.status.ok()) {
    return plan;
  }
  std::map<ObjectKey, const ConfigObject*> resultingMap;
  for (const auto& [key, object] : objects_) {
    resultingMap[key] = &object;
  }
  for (const ConfigObject& object : objects) {
    resultingMap[object.key] = &object;
  }
  std::vector<ConfigObject> resulting;
  resulting.reserve(resultingMap.size());
  for (const auto& [key, object] : resultingMap) {
    resulting.push_back(*object);
  }
  result.diagnostics = validator.validate(objects, resulting);
  if (hasErrors(result.diagnostics)) {
    result.status = absl::InvalidArgumentError("the configuration is not valid");
    return plan;
  }
  for (ConfigObject& object : objects) {
    const ConfigObject* existing = find(object.key);
    ObjectAction action = ObjectAction::kCreated;
    if (existing != nullptr) {
      action = existing->json == object.json && existing->apiVersion == object.apiVersion
                   ? ObjectAction::kUnchanged
                   : ObjectAction::kConfigured;
    }
    result.outcomes.push_back({object.key, action});
    if (action != ObjectAction::kUnchanged) {
      plan.upserts.push_back(std::move(object));
    }
  }
  return plan;
}

WritePlan ObjectTable::planRemove(std::vector<ObjectKey> keys, bool ignoreNotFound) const {
  WritePlan plan;
  std::set<ObjectKey> seen;
  std::vector<std::string> missing;
  for (ObjectKey& key : keys) {
    if (!seen.insert(key).second) {
      continue;
    }
    if (find(key) == nullptr) {
      missing.push_back(key.toString());
      continue;
    }
    plan.result.outcomes.push_back({key, ObjectAction::kDeleted});
    plan.deletes.push_back(std::move(key));
  }
  if (!missing.empty() && !ignoreNotFound) {
    plan.result.status = absl::NotFoundError("not found: " + absl::StrJoin(missing, ", "));
    plan.result.outcomes.clear();
    plan.deletes.clear();
  }
  return plan;
}

std::vector<ConfigChange> ObjectTable::commit(WritePlan plan, int64_t version) {
  std::vector<ConfigChange> changes;
  for (ConfigObject& object : plan.upserts) {
    object.resourceVersion = version;
    const bool existed = objects_.contains(object.key);
    changes.push_back({existed ? ChangeType::kUpdated : ChangeType::kAdded, object.key, version});
    objects_.insert_or_assign(object.key, std::move(object));
  }
  for (const ObjectKey& key : plan.deletes) {
    if (objects_.erase(key) > 0) {
      changes.push_back({ChangeType::kDeleted, key, version});
    }
  }
  return changes;
}

const ConfigObject* ObjectTable::find(const ObjectKey& key) const {
  const auto it = objects_.find(key);
  return it == objects_.end() ? nullptr : &it->second;
}

std::vector<ConfigObject> ObjectTable::list(std::string_view kind,
                                            std::optional<std::string_view> ns) const {
  std::vector<ConfigObject> out;
  for (const auto& [key, object] : objects_) {
    if ((kind.empty() || key.kind == kind) && (!ns.has_value() || key.ns == *ns)) {
      out.push_back(object);
    }
  }
  return out;
}

} // namespace meshd::control::config
