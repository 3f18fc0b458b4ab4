// What a mesh may leave on the machine, read without changing anything (for the teardown tests):
// the host network namespace's iptables rules and interfaces, the mesh's named network namespaces
// and the processes in them or running its programs.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace meshd::e2e {

// The host's own network namespace: iptables-save and ip6tables-save output without comments and
// counters, and the interface names of `ip -o link`.
struct HostNetwork {
  std::string iptables;
  std::string ip6tables;
  std::set<std::string> links;

  bool operator==(const HostNetwork&) const = default;
};
HostNetwork captureHostNetwork();

// The names under /run/netns that start with "<prefix>-".
std::vector<std::string> namespacesWithPrefix(const std::string& prefix);
// The inode of a named network namespace (what /proc/<pid>/ns/net of its processes points to).
std::optional<ino_t> namespaceInode(const std::string& name);
// The live processes whose network namespace is the one with this inode.
std::vector<pid_t> processesInNamespace(ino_t inode);
// The live processes (other than this one) whose command line contains `text`.
std::vector<pid_t> processesMentioning(const std::string& text);

// The live processes (other than this one) whose environment has exactly this entry
// ("NAME=value"): meshctl marks every process of a mesh with MESHD_MESH=<state dir>.
std::vector<pid_t> processesWithEnvironment(const std::string& entry);

// A process as it ran, to tell later whether that same program still runs under its pid.
struct ProcessRecord {
  pid_t pid = 0;
  std::string cmdline; // NULs replaced by spaces
};
std::optional<ProcessRecord> recordProcess(pid_t pid);
bool stillRunning(const ProcessRecord& record);

// Whether a directory has no entries (true when it does not exist).
bool directoryEmpty(const std::filesystem::path& dir);

} // namespace meshd::e2e
