// BasicConfigStore (basic_config_store.h).
#include "control/config/store/basic_config_store.h"

#include "core/assert.h"

namespace meshd::control::config {

std::string_view toString(ChangeType type) {
  switch (type) {
  case ChangeType::kAdded: return "added";
  case ChangeType::kUpdated: return "updated";
  case ChangeType::kDeleted: return "deleted";
  }
  return "unknown";
}

std::string_view toString(ObjectAction action) {
  switch (action) {
  case ObjectAction::kCreated: return "created";
  case ObjectAction::kConfigured: return "configured";
  case ObjectAction::kUnchanged: return "unchanged";
  case ObjectAction::kDeleted: return "deleted";
  }
  return "unknown";
}

BasicConfigStore::BasicConfigStore(const ConfigValidator& validator) : validator_(validator) {}

WriteResult BasicConfigStore::write(WriteMode mode, std::vector<ConfigObject> objects,
                                    WriteOptions options) {
  std::lock_guard writeLock(writeMutex_);
  // Only writers change the table and they hold writeMutex_, so planning may read it unlocked.
  WritePlan plan = table_.planWrite(mode, std::move(objects), validator_);
  return finish(std::move(plan), options.dryRun);
}

WriteResult BasicConfigStore::remove(std::vector<ObjectKey> keys, WriteOptions options) {
  std::lock_guard writeLock(writeMutex_);
  WritePlan plan = table_.planRemove(std::move(keys), options.ignoreNotFound);
  return finish(std::move(plan), options.dryRun);
}

WriteResult BasicConfigStore::writeUnpersisted(const WriteLock& lock,
                                               std::vector<ConfigObject> objects) {
  MESHD_ASSERT(lock.owns_lock() && lock.mutex() == &writeMutex_, "needs lockWrites()");
  WritePlan plan = table_.planWrite(WriteMode::kApply, std::move(objects), validator_);
  plan.external = true;
  return finish(std::move(plan), /*dryRun=*/false);
}

WriteResult BasicConfigStore::removeUnpersisted(const WriteLock& lock,
                                                std::vector<ObjectKey> keys) {
  MESHD_ASSERT(lock.owns_lock() && lock.mutex() == &writeMutex_, "needs lockWrites()");
  WritePlan plan = table_.planRemove(std::move(keys), /*ignoreNotFound=*/true);
  plan.external = true;
  return finish(std::move(plan), /*dryRun=*/false);
}

WriteResult BasicConfigStore::finish(WritePlan plan, bool dryRun) {
  int64_t version = resourceVersion();
  if (!plan.result.ok() || dryRun || !plan.changesSomething()) {
    plan.result.resourceVersion = version;
    return std::move(plan.result);
  }
  ++version;
  if (absl::Status status = persist(plan, version); !status.ok()) {
    plan.result.status = std::move(status);
    plan.result.outcomes.clear();
    plan.result.resourceVersion = version - 1;
    return std::move(plan.result);
  }
  WriteResult result = std::move(plan.result);
  result.resourceVersion = version;
  std::vector<ConfigChange> changes;
  {
    std::lock_guard lock(tableMutex_);
    changes = table_.commit(std::move(plan), version);
    version_ = version;
  }
  std::vector<WatchCallback> watchers;
  {
    std::lock_guard lock(watchersMutex_);
    for (const auto& [id, callback] : watchers_) {
      watchers.push_back(callback);
    }
  }
  for (const WatchCallback& callback : watchers) {
    callback(changes);
  }
  return result;
}

absl::Status BasicConfigStore::persist(WritePlan&, int64_t) {
  return absl::OkStatus();
}

void BasicConfigStore::reset(std::vector<ConfigObject> objects, int64_t version) {
  std::lock_guard writeLock(writeMutex_);
  std::lock_guard lock(tableMutex_);
  table_.clear();
  WritePlan plan;
  plan.upserts = std::move(objects);
  table_.commit(std::move(plan), version);
  version_ = version;
}

std::optional<ConfigObject> BasicConfigStore::get(const ObjectKey& key) const {
  std::lock_guard lock(tableMutex_);
  const ConfigObject* object = table_.find(key);
  return object == nullptr ? std::nullopt : std::optional<ConfigObject>(*object);
}

std::vector<ConfigObject> BasicConfigStore::list(std::string_view kind,
                                                 std::optional<std::string_view> ns) const {
  std::lock_guard lock(tableMutex_);
  return table_.list(kind, ns);
}

int64_t BasicConfigStore::resourceVersion() const {
  std::lock_guard lock(tableMutex_);
  return version_;
}

WatchId BasicConfigStore::watch(WatchCallback callback) {
  std::lock_guard lock(watchersMutex_);
  const WatchId id = nextWatchId_++;
  watchers_[id] = std::move(callback);
  return id;
}

void BasicConfigStore::unwatch(WatchId id) {
  std::lock_guard lock(watchersMutex_);
  watchers_.erase(id);
}

} // namespace meshd::control::config
