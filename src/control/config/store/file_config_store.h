// FileConfigStore: meshd's embedded config store, a directory of YAML files, one per object
// (layout in file_layout.h). Writes through the API are persisted atomically before they are
// visible. At start every file is loaded; a file that cannot be parsed or does not validate is
// reported (problems(), the log) with its path and line and skipped, so one bad file never keeps
// the control plane down. Files edited by hand are picked up through inotify: a valid edit is
// applied like an API write (validated, events, new resourceVersion); an invalid one is reported
// and the previous version keeps serving. The store's resourceVersion survives restarts (a hidden
// version file); objects loaded at start all get a fresh version, so a precondition taken before
// a restart conflicts rather than silently matching.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "control/config/store/basic_config_store.h"
#include "control/config/store/directory_watcher.h"
#include "core/event_loop.h"

namespace meshd::control::config {

class FileConfigStore final : public BasicConfigStore {
public:
  FileConfigStore(std::filesystem::path dir, const ConfigValidator& validator);
  ~FileConfigStore() override;

  // Creates the directory if needed and loads every object file in it. Errors only when the
  // directory cannot be created or the version file written; bad files become problems().
  absl::Status load();
  // Follows changes to the files with inotify on `loop`, and retries rejected files after every
  // accepted change (one may have been waiting for another object). Call on the loop's thread
  // (or before it runs), and stopWatching() there before the loop ends.
  absl::Status startWatching(core::EventLoop& loop);
  void stopWatching();

  // Re-reads one file (relative to the directory) and applies what changed: an edit, a new file,
  // a removed file. What the watcher calls; public so tests and tools can force it.
  void reconcile(const std::filesystem::path& relative);
  // Reconciles every file on disk and every object in memory.
  void rescan();

  // Files that are on disk but not served as they are, by path relative to the directory, with
  // what is wrong (errors; a fixed file leaves this map).
  std::map<std::string, std::vector<Diagnostic>> problems() const;
  const std::filesystem::path& dir() const { return dir_; }

protected:
  absl::Status persist(WritePlan& plan, int64_t version) override;

private:
  // The object in a file, or the diagnostics saying why there is none usable.
  struct FileRead {
    std::optional<ConfigObject> object;
    std::vector<Diagnostic> diagnostics;
  };
  FileRead readObjectFile(const std::filesystem::path& relative, const ObjectKey& expected) const;
  std::vector<std::filesystem::path> filesOnDisk() const;
  // Loaded objects minus those the validator rejects (their errors go to problems).
  std::vector<ConfigObject> validLoaded(std::vector<ConfigObject> objects);
  void retryProblems();
  size_t problemCount() const;
  // Records why `relative` is not served, logging the diagnostics (with what happens because of
  // them) unless they are what was already recorded.
  void setProblem(const std::filesystem::path& relative, std::vector<Diagnostic> diagnostics,
                  std::string_view consequence);
  void clearProblem(const std::filesystem::path& relative);

  std::filesystem::path dir_;
  std::unique_ptr<DirectoryWatcher> watcher_;
  WatchId retryWatch_ = 0;
  // Tasks posted to the loop check it, so none runs after the store is gone.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  mutable std::mutex problemsMutex_;
  std::map<std::string, std::vector<Diagnostic>> problems_;
};

} // namespace meshd::control::config
