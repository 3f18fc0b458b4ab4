// ConfigStore: where meshd keeps the Istio API objects users apply (DESIGN.md §2 step 1-2). Every
// write is validated whole by a ConfigValidator against the config as it would be after the write
// and is applied all-or-nothing; every accepted change bumps one store-wide resourceVersion and is
// announced to watchers as one batch of change events.
//
// Implementations: MemoryConfigStore (tests), FileConfigStore (a directory of YAML files; the
// embedded default of meshd). Both share BasicConfigStore. Every method is safe from any thread;
// writes are serialized.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "control/config/config_object.h"
#include "control/config/diagnostic.h"

namespace meshd::control::config {

enum class ChangeType { kAdded, kUpdated, kDeleted };
std::string_view toString(ChangeType type); // "added", "updated", "deleted"

// One object that changed in an accepted write.
struct ConfigChange {
  ChangeType type = ChangeType::kAdded;
  ObjectKey key;
  int64_t resourceVersion = 0; // the store's version after the write that made this change
};

// Called once per accepted write with every change it made, in write order, on the thread that
// wrote, after the change is visible to get()/list(). It may read the store but must not write
// to it (writes are serialized; a write from a callback would deadlock). Keep it short: meshd's
// callback only posts to the thread that rebuilds the snapshot (debouncing is the caller's job).
using WatchCallback = std::function<void(const std::vector<ConfigChange>&)>;
using WatchId = uint64_t;

enum class WriteMode {
  kApply,   // create or replace
  kCreate,  // AlreadyExists if any object exists
  kReplace, // NotFound if any object does not exist
};

// What a write did (or would do, for a dry run) to one object.
enum class ObjectAction { kCreated, kConfigured, kUnchanged, kDeleted };
std::string_view toString(ObjectAction action); // "created", "configured", "unchanged", "deleted"

struct ObjectOutcome {
  ObjectKey key;
  ObjectAction action = ObjectAction::kCreated;
};

struct WriteOptions {
  bool dryRun = false;         // validate and report, change nothing
  bool ignoreNotFound = false; // remove(): skip keys that do not exist instead of failing
};

// The answer to a write. `status` is OK, InvalidArgument (validation errors: see diagnostics),
// AlreadyExists, NotFound, FailedPrecondition (a resourceVersion precondition did not hold) or
// Internal (it could not be persisted). On any error nothing changed.
struct WriteResult {
  absl::Status status;
  std::vector<Diagnostic> diagnostics; // every error when rejected; the warnings when accepted
  std::vector<ObjectOutcome> outcomes; // one per object written, in input order
  int64_t resourceVersion = 0;         // the store's version after the write

  bool ok() const { return status.ok(); }
};

class ConfigStore {
public:
  virtual ~ConfigStore() = default;

  // Writes `objects` with `mode`. An object whose resourceVersion is not 0 is a precondition: it
  // must exist with that version (else FailedPrecondition). Objects equal to what is stored are
  // reported unchanged and cause no event.
  virtual WriteResult write(WriteMode mode, std::vector<ConfigObject> objects,
                            WriteOptions options = {}) = 0;
  // Deletes `keys` (all or none; NotFound unless ignoreNotFound). Deletes are not validated: like
  // Istio, a delete that leaves a dangling reference is allowed.
  virtual WriteResult remove(std::vector<ObjectKey> keys, WriteOptions options = {}) = 0;

  virtual std::optional<ConfigObject> get(const ObjectKey& key) const = 0;
  // Objects of `kind` ("" for every kind) in `ns` (nullopt for every namespace), ordered by key.
  virtual std::vector<ConfigObject>
  list(std::string_view kind = {}, std::optional<std::string_view> ns = std::nullopt) const = 0;
  // Increases with every accepted write that changed something.
  virtual int64_t resourceVersion() const = 0;

  virtual WatchId watch(WatchCallback callback) = 0;
  virtual void unwatch(WatchId id) = 0;

  WriteResult apply(std::vector<ConfigObject> objects, WriteOptions options = {}) {
    return write(WriteMode::kApply, std::move(objects), options);
  }
  WriteResult create(std::vector<ConfigObject> objects, WriteOptions options = {}) {
    return write(WriteMode::kCreate, std::move(objects), options);
  }
  WriteResult replace(std::vector<ConfigObject> objects, WriteOptions options = {}) {
    return write(WriteMode::kReplace, std::move(objects), options);
  }
};

} // namespace meshd::control::config
