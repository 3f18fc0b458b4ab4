// FileConfigStore (file_config_store.h).
#include "control/config/store/file_config_store.h"

#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/strip.h"
#include "control/config/object_parser.h"
#include "control/config/store/file_layout.h"
#include "control/config/store/yaml_writer.h"
#include "core/logging.h"
#include "core/status.h"
#include "fmt/format.h"

namespace meshd::control::config {
namespace {

spdlog::logger& logger() {
  static spdlog::logger& instance = log::get("config");
  return instance;
}

Diagnostic fileError(const std::filesystem::path& file, std::string message) {
  Diagnostic diagnostic;
  diagnostic.file = file.string();
  diagnostic.message = std::move(message);
  return diagnostic;
}

bool looksLikeConfigFile(const std::filesystem::path& path) {
  const std::string extension = path.extension().string();
  return extension == ".yaml" || extension == ".yml" || extension == ".json";
}

void logDiagnostics(const std::vector<Diagnostic>& diagnostics, std::string_view consequence) {
  for (const Diagnostic& diagnostic : diagnostics) {
    MESHD_LOG(logger(), warn, "{} ({})", diagnostic.toString(), consequence);
  }
}

constexpr std::string_view kEditIgnored = "edit ignored, the previous version stays";

} // namespace

FileConfigStore::FileConfigStore(std::filesystem::path dir, const ConfigValidator& validator)
    : BasicConfigStore(validator), dir_(std::move(dir)) {}

FileConfigStore::~FileConfigStore() {
  stopWatching();
}

absl::Status FileConfigStore::load() {
  RETURN_IF_ERROR(makeDirectoriesDurably(dir_));
  int64_t base = 0;
  if (auto text = readSmallFile(dir_ / kVersionFileName, 64); text.ok()) {
    if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(*text), &base) || base < 0) {
      MESHD_LOG(logger(), warn, "{}: not a version number; counting from 0",
                (dir_ / kVersionFileName).string());
      base = 0;
    }
  }
  std::vector<ConfigObject> objects;
  for (const std::filesystem::path& relative : filesOnDisk()) {
    const std::optional<ObjectKey> key = keyForRelativePath(relative);
    if (!key.has_value()) {
      reconcile(relative); // reports files that look like config in the wrong place
      continue;
    }
    FileRead read = readObjectFile(relative, *key);
    if (!read.object.has_value()) {
      setProblem(relative, std::move(read.diagnostics), "file skipped");
      continue;
    }
    objects.push_back(std::move(*read.object));
  }
  objects = validLoaded(std::move(objects));
  const int64_t version = base + 1;
  DurableFileBatch batch;
  RETURN_IF_ERROR(batch.stage(dir_ / kVersionFileName, fmt::format("{}\n", version)));
  RETURN_IF_ERROR(batch.commit());
  MESHD_LOG(logger(), info, "loaded {} objects from {} ({} files skipped)", objects.size(),
            dir_.string(), problems().size());
  reset(std::move(objects), version);
  return absl::OkStatus();
}

std::vector<ConfigObject> FileConfigStore::validLoaded(std::vector<ConfigObject> objects) {
  // Drop the rejected objects and validate again, since the others may have depended on them.
  // Every round removes at least one object, so this ends.
  while (true) {
    std::vector<Diagnostic> diagnostics = validator().validate(objects, objects);
    std::map<ObjectKey, std::vector<Diagnostic>> errors;
    for (const Diagnostic& diagnostic : diagnostics) {
      if (diagnostic.severity == Diagnostic::Severity::kError) {
        errors[diagnostic.object].push_back(diagnostic);
      }
    }
    std::vector<ConfigObject> kept;
    for (ConfigObject& object : objects) {
      auto it = errors.find(object.key);
      if (it == errors.end()) {
        kept.push_back(std::move(object));
        continue;
      }
      setProblem(relativePathFor(object.key), std::move(it->second), "file skipped");
    }
    if (kept.size() == objects.size()) {
      logDiagnostics(diagnostics, "loaded"); // warnings, and errors about no loaded object
      return kept;
    }
    objects = std::move(kept);
  }
}

std::vector<std::filesystem::path> FileConfigStore::filesOnDisk() const {
  std::vector<std::filesystem::path> files;
  std::error_code error;
  std::filesystem::recursive_directory_iterator it(dir_, error);
  for (; !error && it != std::filesystem::recursive_directory_iterator(); it.increment(error)) {
    const bool hidden = it->path().filename().string().starts_with('.');
    if (it->is_directory(error)) {
      if (hidden || it.depth() >= 2) {
        it.disable_recursion_pending();
      }
      continue;
    }
    if (!hidden && it->is_regular_file(error)) {
      files.push_back(std::filesystem::relative(it->path(), dir_, error));
    }
  }
  if (error) {
    MESHD_LOG(logger(), err, "cannot list {}: {}", dir_.string(), error.message());
  }
  return files;
}

FileConfigStore::FileRead FileConfigStore::readObjectFile(const std::filesystem::path& relative,
                                                          const ObjectKey& expected) const {
  const std::filesystem::path full = dir_ / relative;
  FileRead read;
  absl::StatusOr<std::string> text = readSmallFile(full, kMaxObjectFileBytes);
  if (!text.ok()) {
    read.diagnostics.push_back(fileError(full, std::string(text.status().message())));
    return read;
  }
  ParseResult parsed =
      parseObjects(*text, full.string(), expected.ns.empty() ? "default" : expected.ns);
  if (hasErrors(parsed.diagnostics)) {
    read.diagnostics = std::move(parsed.diagnostics);
    return read;
  }
  if (parsed.objects.size() != 1) {
    read.diagnostics.push_back(fileError(
        full, fmt::format("a file in the config directory holds exactly one object (this one "
                          "has {})",
                          parsed.objects.size())));
    return read;
  }
  ConfigObject& object = parsed.objects[0];
  // A file made from `GET` output carries the version it was read at; the store sets its own.
  object.json["metadata"].erase("resourceVersion");
  if (object.key != expected) {
    read.diagnostics.push_back(
        errorAt(object, "/metadata",
                fmt::format("by its path this file must hold {} (<namespace>/<plural>/<name>.yaml)",
                            expected.toString())));
    return read;
  }
  read.object = std::move(object);
  return read;
}

void FileConfigStore::reconcile(const std::filesystem::path& relative) {
  if (relative.filename().string().starts_with('.')) {
    return; // the store's own temporary and version files
  }
  const std::filesystem::path full = dir_ / relative;
  std::error_code error;
  const std::optional<ObjectKey> key = keyForRelativePath(relative);
  if (!key.has_value()) {
    if (std::filesystem::is_regular_file(full, error) && looksLikeConfigFile(relative)) {
      setProblem(relative,
                 {fileError(full, "not read: config files go in <namespace>/<plural>/<name>.yaml "
                                  "(cluster-scoped kinds in _cluster/<plural>/<name>.yaml)")},
                 "file ignored");
    } else {
      clearProblem(relative);
    }
    return;
  }
  // Read and apply under the write lock, so an API write cannot land between the two and be
  // overwritten in memory by what the file held before it.
  const WriteLock lock = lockWrites();
  if (!std::filesystem::is_regular_file(full, error)) {
    clearProblem(relative);
    if (get(*key).has_value() && removeUnpersisted(lock, {*key}).ok()) {
      MESHD_LOG(logger(), info, "{}: removed, so {} is deleted", full.string(), key->toString());
    }
    return;
  }
  FileRead read = readObjectFile(relative, *key);
  if (!read.object.has_value()) {
    setProblem(relative, std::move(read.diagnostics), kEditIgnored);
    return;
  }
  const std::optional<ConfigObject> current = get(*key);
  if (current.has_value() && current->json == read.object->json &&
      current->apiVersion == read.object->apiVersion) {
    clearProblem(relative); // our own write, or an edit that changed only formatting
    return;
  }
  WriteResult result = writeUnpersisted(lock, {std::move(*read.object)});
  if (!result.ok()) {
    if (result.diagnostics.empty()) {
      result.diagnostics.push_back(fileError(full, std::string(result.status.message())));
    }
    setProblem(relative, std::move(result.diagnostics), kEditIgnored);
    return;
  }
  clearProblem(relative);
  MESHD_LOG(logger(), info, "{}: edit applied to {} (resourceVersion {})", full.string(),
            key->toString(), result.resourceVersion);
}

void FileConfigStore::rescan() {
  std::set<std::filesystem::path> paths;
  for (std::filesystem::path& relative : filesOnDisk()) {
    paths.insert(std::move(relative));
  }
  for (const ConfigObject& object : list()) {
    paths.insert(relativePathFor(object.key));
  }
  {
    std::lock_guard lock(problemsMutex_);
    for (const auto& [relative, diagnostics] : problems_) {
      paths.insert(relative);
    }
  }
  for (const std::filesystem::path& relative : paths) {
    reconcile(relative);
  }
}

absl::Status FileConfigStore::startWatching(core::EventLoop& loop) {
  watcher_ = std::make_unique<DirectoryWatcher>(
      loop, dir_, /*depth=*/2,
      [this](const std::vector<std::filesystem::path>& changed, bool everything) {
        if (everything) {
          rescan();
          return;
        }
        for (const std::filesystem::path& relative : changed) {
          reconcile(relative);
        }
      });
  RETURN_IF_ERROR(watcher_->start());
  // A file rejected because of another object (a reference to something missing) may be valid
  // after any change: try the rejected files again, later on the loop (not inside the write).
  std::weak_ptr<bool> alive = alive_;
  retryWatch_ = watch([this, alive, &loop](const std::vector<ConfigChange>&) {
    if (problemCount() == 0) {
      return;
    }
    loop.post([this, alive] {
      if (alive.lock() != nullptr && watcher_ != nullptr) {
        retryProblems();
      }
    });
  });
  // Edits made between load() and now were not seen by the watcher.
  rescan();
  return absl::OkStatus();
}

void FileConfigStore::stopWatching() {
  if (watcher_ != nullptr) {
    unwatch(retryWatch_);
  }
  watcher_.reset();
}

void FileConfigStore::retryProblems() {
  std::vector<std::string> paths;
  for (const auto& [relative, diagnostics] : problems()) {
    paths.push_back(relative);
  }
  for (const std::string& relative : paths) {
    reconcile(relative);
  }
}

size_t FileConfigStore::problemCount() const {
  std::lock_guard lock(problemsMutex_);
  return problems_.size();
}

absl::Status FileConfigStore::persist(WritePlan& plan, int64_t version) {
  DurableFileBatch batch;
  std::vector<std::filesystem::path> touched;
  if (!plan.external) {
    for (ConfigObject& object : plan.upserts) {
      const std::filesystem::path relative = relativePathFor(object.key);
      const std::string text = toYaml(object.json);
      RETURN_IF_ERROR(batch.stage(dir_ / relative, text));
      // Later messages about the stored object name the stored file and its lines.
      ParseResult stored = parseObjects(text, (dir_ / relative).string(),
                                        object.key.ns.empty() ? "default" : object.key.ns);
      if (stored.objects.size() == 1) {
        object.file = stored.objects[0].file;
        object.lines = std::move(stored.objects[0].lines);
      }
      touched.push_back(relative);
    }
    for (const ObjectKey& key : plan.deletes) {
      batch.stageRemoval(dir_ / relativePathFor(key));
      touched.push_back(relativePathFor(key));
    }
  }
  RETURN_IF_ERROR(batch.stage(dir_ / kVersionFileName, fmt::format("{}\n", version)));
  RETURN_IF_ERROR(batch.commit());
  for (const std::filesystem::path& relative : touched) {
    clearProblem(relative);
  }
  return absl::OkStatus();
}

std::map<std::string, std::vector<Diagnostic>> FileConfigStore::problems() const {
  std::lock_guard lock(problemsMutex_);
  return problems_;
}

void FileConfigStore::setProblem(const std::filesystem::path& relative,
                                 std::vector<Diagnostic> diagnostics,
                                 std::string_view consequence) {
  std::lock_guard lock(problemsMutex_);
  std::vector<Diagnostic>& known = problems_[relative.string()];
  auto text = [](const std::vector<Diagnostic>& list) {
    std::vector<std::string> out;
    for (const Diagnostic& diagnostic : list) {
      out.push_back(diagnostic.toString());
    }
    return out;
  };
  // Retried files fail the same way again and again; say so once.
  if (text(known) != text(diagnostics)) {
    logDiagnostics(diagnostics, consequence);
  }
  known = std::move(diagnostics);
}

void FileConfigStore::clearProblem(const std::filesystem::path& relative) {
  std::lock_guard lock(problemsMutex_);
  problems_.erase(relative.string());
}

} // namespace meshd::control::config
