// BasicConfigStore: the ConfigStore logic both stores share: an ObjectTable behind a mutex,
// writes serialized and validated, one resourceVersion counter, and watchers told of every
// accepted write in order. Subclasses persist a write before it becomes visible (persist()) and
// may feed in changes made outside the API (FileConfigStore: hand-edited files).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

#include "control/config/store/config_store.h"
#include "control/config/store/object_table.h"

namespace meshd::control::config {

class BasicConfigStore : public ConfigStore {
public:
  // `validator` must outlive the store.
  explicit BasicConfigStore(const ConfigValidator& validator);
  ~BasicConfigStore() override = default;
  BasicConfigStore(const BasicConfigStore&) = delete;
  BasicConfigStore& operator=(const BasicConfigStore&) = delete;

  WriteResult write(WriteMode mode, std::vector<ConfigObject> objects,
                    WriteOptions options = {}) override;
  WriteResult remove(std::vector<ObjectKey> keys, WriteOptions options = {}) override;
  std::optional<ConfigObject> get(const ObjectKey& key) const override;
  std::vector<ConfigObject> list(std::string_view kind = {},
                                 std::optional<std::string_view> ns = std::nullopt) const override;
  int64_t resourceVersion() const override;
  WatchId watch(WatchCallback callback) override;
  void unwatch(WatchId id) override;

protected:
  const ConfigValidator& validator() const { return validator_; }

  // Makes the plan durable before it is committed, with `version` as the new store version
  // (for an external plan, only the version). It may update the planned objects (e.g. their file
  // and lines). An error rejects the write.
  virtual absl::Status persist(WritePlan& plan, int64_t version);

  // Holds off every other write, so that a subclass can read the outside source and apply what
  // it read without another write slipping in between.
  using WriteLock = std::unique_lock<std::mutex>;
  WriteLock lockWrites() { return WriteLock(writeMutex_); }

  // A write that is already durable elsewhere (a file someone edited), made while holding
  // `lock` (from lockWrites()): validated and committed like any other; persist() sees
  // plan.external.
  WriteResult writeUnpersisted(const WriteLock& lock, std::vector<ConfigObject> objects);
  WriteResult removeUnpersisted(const WriteLock& lock, std::vector<ObjectKey> keys);

  // Replaces the whole content without validation or events (loading at start, before any
  // watcher); every object gets `version`.
  void reset(std::vector<ConfigObject> objects, int64_t version);

private:
  WriteResult finish(WritePlan plan, bool dryRun);

  const ConfigValidator& validator_;
  // Held for a whole write, notifications included, so that watchers see writes in order.
  std::mutex writeMutex_;
  mutable std::mutex tableMutex_; // guards table_ and version_
  ObjectTable table_;
  int64_t version_ = 0;
  std::mutex watchersMutex_;
  std::map<WatchId, WatchCallback> watchers_;
  WatchId nextWatchId_ = 1;
};

// A store that keeps everything in memory (tests, and meshd without a config directory).
class MemoryConfigStore final : public BasicConfigStore {
public:
  using BasicConfigStore::BasicConfigStore;
};

} // namespace meshd::control::config
