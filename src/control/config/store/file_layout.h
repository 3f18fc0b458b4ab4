// Where FileConfigStore keeps each object, and how it writes files so that a crash never leaves a
// half-written one: `<dir>/<namespace>/<plural>/<name>.yaml` for namespaced kinds and
// `<dir>/_cluster/<plural>/<name>.yaml` for cluster-scoped ones (a namespace cannot be named
// "_cluster"). Names starting with '.' are the store's own (temporary files, the version file)
// and are never read as objects.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "control/config/config_object.h"

namespace meshd::control::config {

inline constexpr std::string_view kClusterScopeDir = "_cluster";
inline constexpr std::string_view kObjectFileSuffix = ".yaml";
inline constexpr std::string_view kVersionFileName = ".resource-version";
// Files larger than this are reported and skipped (they cannot be config a person wrote).
inline constexpr uintmax_t kMaxObjectFileBytes = 1 << 20;

// "default/virtualservices/reviews.yaml" for a key whose kind is known (kinds.h).
std::filesystem::path relativePathFor(const ObjectKey& key);
// The key a relative path stands for; nullopt when the path is not in the layout (wrong depth,
// unknown plural, not .yaml, hidden).
std::optional<ObjectKey> keyForRelativePath(const std::filesystem::path& relative);

// Writes and removes several files so that a crash or an error leaves each file either old or
// new, never partial, and an error before commit() changes nothing: stage() writes a hidden
// temporary file beside the target and fsyncs it; commit() renames every one over its target,
// removes the files staged for removal, then fsyncs the directories. Missing directories are
// created (their parents fsynced). Temporaries not committed are removed by the destructor.
class DurableFileBatch {
public:
  DurableFileBatch() = default;
  ~DurableFileBatch();
  DurableFileBatch(const DurableFileBatch&) = delete;
  DurableFileBatch& operator=(const DurableFileBatch&) = delete;

  absl::Status stage(const std::filesystem::path& path, std::string_view content);
  void stageRemoval(const std::filesystem::path& path);
  absl::Status commit();

private:
  struct Staged {
    std::filesystem::path temp;
    std::filesystem::path target;
  };
  std::vector<Staged> writes_;
  std::vector<std::filesystem::path> removals_;
};

// Creates `dir` and its missing parents, fsyncing the parent of each one created.
absl::Status makeDirectoriesDurably(const std::filesystem::path& dir);
// Reads a whole file of at most `maxBytes`.
absl::StatusOr<std::string> readSmallFile(const std::filesystem::path& path, uintmax_t maxBytes);

} // namespace meshd::control::config
