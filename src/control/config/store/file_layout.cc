// File layout and durable file writes (file_layout.h), with POSIX calls for fsync.
#include "control/config/store/file_layout.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "control/config/kinds.h"
#include "control/config/store/object_names.h"
#include "fmt/format.h"

namespace meshd::control::config {
namespace {

absl::Status errnoError(std::string_view what, const std::filesystem::path& path) {
  return absl::InternalError(fmt::format("{} {}: {}", what, path.string(), std::strerror(errno)));
}

absl::Status fsyncPath(const std::filesystem::path& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) {
    return errnoError("cannot open", path);
  }
  const int rc = ::fsync(fd);
  ::close(fd);
  return rc == 0 ? absl::OkStatus() : errnoError("cannot fsync", path);
}

absl::Status fsyncDir(const std::filesystem::path& dir) {
  return fsyncPath(dir, O_RDONLY | O_DIRECTORY);
}

absl::Status writeAll(int fd, std::string_view content, const std::filesystem::path& path) {
  while (!content.empty()) {
    const ssize_t n = ::write(fd, content.data(), content.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return errnoError("cannot write", path);
    }
    content.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

} // namespace

absl::Status makeDirectoriesDurably(const std::filesystem::path& dir) {
  if (dir.empty() || std::filesystem::is_directory(dir)) {
    return absl::OkStatus();
  }
  if (absl::Status status = makeDirectoriesDurably(dir.parent_path()); !status.ok()) {
    return status;
  }
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return errnoError("cannot create directory", dir);
  }
  return fsyncDir(dir.parent_path().empty() ? "." : dir.parent_path());
}

std::filesystem::path relativePathFor(const ObjectKey& key) {
  const KindInfo* info = findKind(key.kind);
  const std::string_view plural = info == nullptr ? std::string_view(key.kind) : info->plural;
  const std::string_view scope = key.ns.empty() ? kClusterScopeDir : std::string_view(key.ns);
  return std::filesystem::path(scope) / plural / (key.name + std::string(kObjectFileSuffix));
}

std::optional<ObjectKey> keyForRelativePath(const std::filesystem::path& relative) {
  std::vector<std::string> parts;
  for (const auto& part : relative) {
    parts.push_back(part.string());
  }
  if (parts.size() != 3 || !parts[2].ends_with(kObjectFileSuffix) || parts[2].starts_with('.')) {
    return std::nullopt;
  }
  const KindInfo* info = findKind(parts[1]);
  if (info == nullptr || info->plural != parts[1]) {
    return std::nullopt;
  }
  const bool clusterScoped = parts[0] == kClusterScopeDir;
  if (clusterScoped == info->namespaced) {
    return std::nullopt;
  }
  ObjectKey key;
  key.kind = std::string(info->kind);
  key.ns = clusterScoped ? "" : parts[0];
  key.name = parts[2].substr(0, parts[2].size() - kObjectFileSuffix.size());
  if (!checkObjectKey(key).ok()) {
    return std::nullopt;
  }
  return key;
}

DurableFileBatch::~DurableFileBatch() {
  for (const Staged& staged : writes_) {
    ::unlink(staged.temp.c_str());
  }
}

absl::Status DurableFileBatch::stage(const std::filesystem::path& path, std::string_view content) {
  static std::atomic<uint64_t> counter{0};
  const std::filesystem::path dir = path.parent_path();
  if (absl::Status status = makeDirectoriesDurably(dir); !status.ok()) {
    return status;
  }
  const std::filesystem::path temp =
      dir / fmt::format(".{}.tmp.{}.{}", path.filename().string(), ::getpid(), ++counter);
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    return errnoError("cannot create", temp);
  }
  writes_.push_back({temp, path});
  absl::Status status = writeAll(fd, content, temp);
  if (status.ok() && ::fsync(fd) != 0) {
    status = errnoError("cannot fsync", temp);
  }
  if (::close(fd) != 0 && status.ok()) {
    status = errnoError("cannot close", temp);
  }
  return status;
}

void DurableFileBatch::stageRemoval(const std::filesystem::path& path) {
  removals_.push_back(path);
}

absl::Status DurableFileBatch::commit() {
  std::set<std::filesystem::path> dirs;
  absl::Status status;
  for (const Staged& staged : writes_) {
    if (status.ok() && ::rename(staged.temp.c_str(), staged.target.c_str()) != 0) {
      status = errnoError("cannot rename to", staged.target);
    }
    if (!status.ok()) {
      ::unlink(staged.temp.c_str());
    }
    dirs.insert(staged.target.parent_path());
  }
  writes_.clear();
  for (const std::filesystem::path& path : removals_) {
    if (status.ok() && ::unlink(path.c_str()) != 0 && errno != ENOENT) {
      status = errnoError("cannot remove", path);
    }
    dirs.insert(path.parent_path());
  }
  removals_.clear();
  for (const std::filesystem::path& dir : dirs) {
    if (absl::Status synced = fsyncDir(dir); status.ok()) {
      status = synced;
    }
  }
  return status;
}

absl::StatusOr<std::string> readSmallFile(const std::filesystem::path& path, uintmax_t maxBytes) {
  std::error_code error;
  const uintmax_t size = std::filesystem::file_size(path, error);
  if (error) {
    return absl::NotFoundError(fmt::format("cannot read {}: {}", path.string(), error.message()));
  }
  if (size > maxBytes) {
    return absl::ResourceExhaustedError(fmt::format(
        "{} is {} bytes, more than the {} a config file may have", path.string(), size, maxBytes));
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  if (!in && !in.eof()) {
    return absl::InternalError(fmt::format("cannot read {}", path.string()));
  }
  std::string text = std::move(content).str();
  if (text.size() > maxBytes) { // grew since it was measured
    text.resize(maxBytes);
  }
  return text;
}

} // namespace meshd::control::config
