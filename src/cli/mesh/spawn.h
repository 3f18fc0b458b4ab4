// Starts the processes of a local mesh (meshd, proxies, workload apps) as children in their own
// process groups, optionally inside a network namespace with its own /etc/hosts and
// /etc/resolv.conf (as `ip netns exec` does) and as another user; and stops them.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace meshd::cli::mesh {

struct SpawnSpec {
  std::vector<std::string> argv;          // argv[0] is looked up in PATH when it has no '/'
  std::map<std::string, std::string> env; // added to (and overriding) the caller's environment
  std::string workingDir;                 // empty: the caller's
  std::string logPath;                    // stdout and stderr, appended; empty: inherited
  std::string netns;                      // a name under /run/netns; empty: the caller's
  std::string hostsFile;                  // bind-mounted over /etc/hosts (with netns)
  std::string resolvFile;                 // bind-mounted over /etc/resolv.conf (with netns)
  std::optional<uid_t> uid;               // run as this uid/gid (no supplementary groups)
  std::optional<gid_t> gid;
};

// Forks and execs; the child leads a new session (its own process group). The pid, or the reason
// the child could not start (reported back through a pipe before exec).
absl::StatusOr<pid_t> spawnProcess(const SpawnSpec& spec);

// Becomes the command in place (meshctl exec): enters the namespace and mounts like
// spawnProcess, then execs. Returns only on failure.
absl::Status execInPlace(const SpawnSpec& spec);

// SIGTERM to the process group, then SIGKILL after `grace` if it still runs. Reaps it when it is
// our child. True when it is gone.
bool stopProcess(pid_t pid, std::chrono::milliseconds grace);

// Whether a process with this pid exists (and is not a zombie).
bool processAlive(pid_t pid);

// Calls `visit(pid, "/proc/<pid>")` for every process but this one.
void forEachProcess(const std::function<void(pid_t, const std::filesystem::path&)>& visit);

// Stops (as stopProcess, all at once) every process whose environment has `variable=value`.
// Returns how many there were.
size_t stopMarkedProcesses(std::string_view variable, const std::string& value,
                           std::chrono::milliseconds grace);

} // namespace meshd::cli::mesh
