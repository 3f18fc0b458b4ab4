// A local mesh's state directory (state_dir.h).
#include "cli/mesh/state_dir.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>

#include "cli/mesh/mesh_model.h"
#include "cli/mesh/spawn.h"
#include "fmt/format.h"

namespace meshd::cli::mesh {

std::filesystem::path StateDir::defaultPath() {
  if (const char* dir = std::getenv("MESHD_STATE_DIR"); dir != nullptr && *dir != '\0') {
    return dir;
  }
  if (const char* dir = std::getenv("XDG_STATE_HOME"); dir != nullptr && *dir != '\0') {
    return std::filesystem::path(dir) / "meshd";
  }
  const char* home = std::getenv("HOME");
  return std::filesystem::path(home != nullptr && *home != '\0' ? home : "/tmp") / ".local" /
         "state" / "meshd";
}

std::string StateDir::mark() const {
  std::error_code ec;
  std::filesystem::path canonical = std::filesystem::weakly_canonical(root_, ec);
  return ec ? std::filesystem::absolute(root_, ec).string() : canonical.string();
}

std::string StateDir::meshId() const {
  const std::string text = mark();
  return fmt::format("m{:06x}", fnv1a(text) & 0xffffffu);
}

pid_t StateDir::runningSupervisor() const {
  absl::StatusOr<std::string> text = readFile(supervisorPidFile());
  if (!text.ok()) {
    return 0;
  }
  const pid_t pid = static_cast<pid_t>(std::atoi(text->c_str()));
  return processAlive(pid) ? pid : 0;
}

absl::Status StateDir::createLayout() const {
  std::vector<std::filesystem::path> dirs = {root_, configDir(), logDir(), root_ / "pods"};
  if (::geteuid() == 0) {
    // Netns mode's proxies (uid 1337) read their bootstrap from here; local mode needs none.
    dirs.push_back(runtimeDir().parent_path());
    dirs.push_back(runtimeDir());
  }
  std::error_code ec;
  for (const std::filesystem::path& dir : dirs) {
    std::filesystem::create_directories(dir, ec);
    if (ec) {
      return absl::InternalError(fmt::format("cannot create {}: {}", dir.string(), ec.message()));
    }
    std::filesystem::permissions(
        dir,
        std::filesystem::perms::owner_all | std::filesystem::perms::group_read |
            std::filesystem::perms::group_exec | std::filesystem::perms::others_read |
            std::filesystem::perms::others_exec,
        ec);
  }
  return absl::OkStatus();
}

void StateDir::clear() const {
  std::error_code ec;
  for (const std::filesystem::path& path : {meshdAddressFile(), supervisorPidFile(), statusFile(),
                                            configDir(), logDir(), root_ / "pods", runtimeDir()}) {
    std::filesystem::remove_all(path, ec);
  }
}

absl::Status writeFileAtomically(const std::filesystem::path& path, const std::string& text) {
  const std::filesystem::path temporary = path.string() + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) {
      return absl::InternalError(fmt::format("cannot write {}", temporary.string()));
    }
  }
  std::error_code ec;
  std::filesystem::rename(temporary, path, ec);
  if (ec) {
    return absl::InternalError(fmt::format("cannot write {}: {}", path.string(), ec.message()));
  }
  return absl::OkStatus();
}

absl::Status rewriteInPlace(const std::filesystem::path& path, const std::string& text) {
  if (absl::StatusOr<std::string> old = readFile(path); old.ok() && *old == text) {
    return absl::OkStatus();
  }
  std::ofstream out(path, std::ios::binary | std::ios::in | std::ios::out | std::ios::trunc);
  if (!out.is_open()) {
    out.open(path, std::ios::binary | std::ios::out | std::ios::trunc);
  }
  out << text;
  if (!out.flush()) {
    return absl::InternalError(fmt::format("cannot write {}", path.string()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> readFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in.is_open()) {
    return absl::NotFoundError(fmt::format("cannot read {}", path.string()));
  }
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

} // namespace meshd::cli::mesh
