// Creates and removes a local mesh's network namespaces (netns_network.h).
#include "cli/mesh/netns_network.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "cli/mesh/command_runner.h"
#include "cli/mesh/spawn.h"
#include "fmt/format.h"

namespace meshd::cli::mesh {
namespace {

constexpr const char* kNetnsDir = "/run/netns";

// The pids of the processes still in a namespace (`ip netns pids`), to end them before deleting.
void killProcessesIn(const std::string& netns) {
  const std::filesystem::path nsFile = std::filesystem::path(kNetnsDir) / netns;
  struct stat target {};
  if (::stat(nsFile.c_str(), &target) != 0) {
    return;
  }
  forEachProcess([&target](pid_t pid, const std::filesystem::path& dir) {
    struct stat own {};
    if (::stat((dir / "ns" / "net").c_str(), &own) == 0 && own.st_ino == target.st_ino &&
        own.st_dev == target.st_dev) {
      ::kill(pid, SIGKILL);
    }
  });
}

} // namespace

std::string podAddress(int index) {
  const int host = index % 254 + 1;
  const int subnet = index / 254 + 1;
  return fmt::format("10.77.{}.{}", subnet, host);
}

std::string captureRules() {
  return fmt::format(R"(*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:MESH_INBOUND - [0:0]
:MESH_IN_REDIRECT - [0:0]
:MESH_OUTPUT - [0:0]
:MESH_REDIRECT - [0:0]
-A PREROUTING -p tcp -j MESH_INBOUND
-A MESH_INBOUND -p tcp --dport 15000 -j RETURN
-A MESH_INBOUND -p tcp --dport 15008 -j RETURN
-A MESH_INBOUND -p tcp --dport 15020 -j RETURN
-A MESH_INBOUND -p tcp --dport 15021 -j RETURN
-A MESH_INBOUND -p tcp --dport 15090 -j RETURN
-A MESH_INBOUND -p tcp -j MESH_IN_REDIRECT
-A MESH_IN_REDIRECT -p tcp -j REDIRECT --to-ports {inbound}
-A OUTPUT -p tcp -j MESH_OUTPUT
-A MESH_OUTPUT -o lo -s 127.0.0.6/32 -j RETURN
-A MESH_OUTPUT -m owner --uid-owner {uid} -j RETURN
-A MESH_OUTPUT -m owner --gid-owner {gid} -j RETURN
-A MESH_OUTPUT -d 127.0.0.1/32 -j RETURN
-A MESH_OUTPUT -j MESH_REDIRECT
-A MESH_REDIRECT -p tcp -j REDIRECT --to-ports {outbound}
COMMIT
)",
                     fmt::arg("inbound", kProxyInboundPort),
                     fmt::arg("outbound", kProxyOutboundPort), fmt::arg("uid", kProxyUid),
                     fmt::arg("gid", kProxyGid));
}

std::string NetnsNetwork::podNamespace(const std::string& ns, const std::string& name) const {
  return fmt::format("{}-{}-{}", prefix_, ns, name);
}

absl::Status NetnsNetwork::createHub() {
  const std::string hub = hubNamespace();
  for (const std::vector<std::string>& argv : std::vector<std::vector<std::string>>{
           {"ip", "netns", "add", hub},
           {"ip", "-n", hub, "link", "set", "lo", "up"},
           {"ip", "-n", hub, "link", "add", "br0", "type", "bridge"},
           {"ip", "-n", hub, "addr", "add", fmt::format("{}/{}", kHubAddress, kPodPrefixLength),
            "dev", "br0"},
           {"ip", "-n", hub, "link", "set", "br0", "up"}}) {
    if (absl::Status status = runCommand(argv); !status.ok()) {
      return status;
    }
  }
  return absl::OkStatus();
}

absl::Status NetnsNetwork::addPod(const std::string& netns, const std::string& address, int link,
                                  bool capture) {
  const std::string hub = hubNamespace();
  const std::string veth = fmt::format("v{}", link);
  for (const std::vector<std::string>& argv : std::vector<std::vector<std::string>>{
           {"ip", "netns", "add", netns},
           {"ip", "-n", hub, "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns",
            netns},
           {"ip", "-n", hub, "link", "set", veth, "master", "br0", "up"},
           {"ip", "-n", netns, "link", "set", "lo", "up"},
           {"ip", "-n", netns, "addr", "add", fmt::format("{}/{}", address, kPodPrefixLength),
            "dev", "eth0"},
           {"ip", "-n", netns, "link", "set", "eth0", "up"},
           {"ip", "-n", netns, "route", "add", "default", "via", kHubAddress}}) {
    if (absl::Status status = runCommand(argv); !status.ok()) {
      return status;
    }
  }
  if (capture) {
    return runCommand({"ip", "netns", "exec", netns, "iptables-restore"}, captureRules());
  }
  return absl::OkStatus();
}

absl::Status NetnsNetwork::removeNamespace(const std::string& netns) {
  killProcessesIn(netns);
  return runCommand({"ip", "netns", "del", netns});
}

std::vector<std::string> NetnsNetwork::namespaces() const {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(kNetnsDir, ec)) {
    const std::string name = entry.path().filename();
    if (name.starts_with(prefix_ + "-")) {
      out.push_back(name);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

absl::Status NetnsNetwork::removeAll() const {
  absl::Status first = absl::OkStatus();
  std::vector<std::string> all = namespaces();
  // Pods first: the hub holds the bridge their links hang on.
  std::stable_partition(all.begin(), all.end(),
                        [this](const std::string& name) { return name != hubNamespace(); });
  for (const std::string& name : all) {
    if (absl::Status status = removeNamespace(name); !status.ok() && first.ok()) {
      first = status;
    }
  }
  return first;
}

absl::Status netnsModeAvailable() {
  if (::geteuid() != 0) {
    return absl::FailedPreconditionError("netns mode needs root (use --mode local)");
  }
  for (const char* tool : {"ip", "iptables-restore"}) {
    bool found = false;
    for (const char* dir : {"/usr/sbin", "/sbin", "/usr/bin", "/bin"}) {
      found = found || ::access(fmt::format("{}/{}", dir, tool).c_str(), X_OK) == 0;
    }
    if (!found) {
      return absl::FailedPreconditionError(
          fmt::format("netns mode needs '{}' (scripts/setup.sh installs it)", tool));
    }
  }
  return absl::OkStatus();
}

} // namespace meshd::cli::mesh
