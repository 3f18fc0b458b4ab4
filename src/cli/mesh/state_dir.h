// Where a local mesh keeps its state (docs/local-mesh.md): meshd's config and address, the
// supervisor's pid and status, logs, and each instance's files. One directory per mesh; its path
// also names the mesh's network namespaces, so meshes in different directories can coexist.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace meshd::cli::mesh {

inline constexpr std::string_view kMeshMarkVariable = "MESHD_MESH";

class StateDir {
public:
  explicit StateDir(std::filesystem::path root) : root_(std::move(root)) {}

  // $MESHD_STATE_DIR, else $XDG_STATE_HOME/meshd, else ~/.local/state/meshd.
  static std::filesystem::path defaultPath();

  const std::filesystem::path& root() const { return root_; }
  std::filesystem::path meshdAddressFile() const { return root_ / "meshd.addr"; }
  std::filesystem::path supervisorPidFile() const { return root_ / "supervisor.pid"; }
  std::filesystem::path statusFile() const { return root_ / "status.json"; }
  std::filesystem::path configDir() const { return root_ / "config"; }
  std::filesystem::path logDir() const { return root_ / "logs"; }
  // Files an unprivileged proxy must read in netns mode, whatever the state dir's permissions:
  // /run/meshd/<meshId> (removed by clear()).
  std::filesystem::path runtimeDir() const {
    return std::filesystem::path("/run/meshd") / meshId();
  }
  // Files of one instance (bootstrap, hosts, resolv.conf, logs).
  std::filesystem::path podDir(const std::string& podKey) const { return root_ / "pods" / podKey; }

  // "m" and six hex digits from the canonical path: the prefix of this mesh's namespaces.
  std::string meshId() const;
  // The value of kMeshMarkVariable in the environment of every process of this mesh: the
  // canonical path (so cleanup finds them even when no status survived).
  std::string mark() const;

  // The supervisor's pid when one runs for this directory, else 0.
  pid_t runningSupervisor() const;

  absl::Status createLayout() const;
  // Removes everything the mesh left (not the directory itself).
  void clear() const;

private:
  std::filesystem::path root_;
};

// Writes `text` to `path` through a temporary file and a rename.
absl::Status writeFileAtomically(const std::filesystem::path& path, const std::string& text);
// Rewrites `path` in place (same inode: a bind mount of it sees the change) when it differs.
absl::Status rewriteInPlace(const std::filesystem::path& path, const std::string& text);
absl::StatusOr<std::string> readFile(const std::filesystem::path& path);

} // namespace meshd::cli::mesh
