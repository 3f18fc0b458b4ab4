// Reading what a mesh left on the machine (host_state.h).
#include "test/e2e/host_state.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <regex>
#include <sstream>

#include "test/e2e/mesh_fixture.h"

namespace meshd::e2e {
namespace {

namespace fs = std::filesystem;

// iptables-save output that only changes when the rules change.
std::string normalizedRules(const std::vector<std::string>& argv) {
  const CommandResult saved = runCommand(argv, 30s);
  if (!saved.ok()) {
    return "(" + argv[0] + " failed: exit " + std::to_string(saved.exitCode) + ")";
  }
  static const std::regex kCounters(R"(\[\d+:\d+\])");
  std::stringstream lines(saved.out);
  std::string normalized;
  for (std::string line; std::getline(lines, line);) {
    if (!line.starts_with("#")) {
      normalized += std::regex_replace(line, kCounters, "[]") + "\n";
    }
  }
  return normalized;
}

std::string readAll(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Live (not zombie) process ids from /proc.
std::vector<pid_t> livePids() {
  std::vector<pid_t> pids;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename();
    if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) {
      continue;
    }
    const std::string stat = readAll(entry.path() / "stat");
    const size_t close = stat.rfind(')');
    if (close == std::string::npos || close + 2 >= stat.size() || stat[close + 2] == 'Z') {
      continue;
    }
    pids.push_back(static_cast<pid_t>(std::stol(name)));
  }
  return pids;
}

std::string cmdlineOf(pid_t pid) {
  std::string cmdline = readAll(fs::path("/proc") / std::to_string(pid) / "cmdline");
  std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
  return cmdline;
}

} // namespace

HostNetwork captureHostNetwork() {
  HostNetwork state;
  state.iptables = normalizedRules({"iptables-save"});
  state.ip6tables = normalizedRules({"ip6tables-save"});
  const CommandResult links = runCommand({"ip", "-o", "link", "show"}, 30s);
  std::stringstream lines(links.out);
  for (std::string line; std::getline(lines, line);) {
    // "2: eth0@if5: <...": the index and the name.
    const size_t colon = line.find(": ");
    const size_t end = colon == std::string::npos ? colon : line.find(':', colon + 2);
    if (end != std::string::npos) {
      state.links.insert(line.substr(0, end));
    }
  }
  if (!links.ok()) {
    state.links.insert("(ip -o link failed)");
  }
  return state;
}

std::vector<std::string> namespacesWithPrefix(const std::string& prefix) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/run/netns", ec)) {
    const std::string name = entry.path().filename();
    if (name.starts_with(prefix + "-")) {
      names.push_back(name);
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::optional<ino_t> namespaceInode(const std::string& name) {
  struct stat info {};
  if (::stat((fs::path("/run/netns") / name).c_str(), &info) != 0) {
    return std::nullopt;
  }
  return info.st_ino;
}

std::vector<pid_t> processesInNamespace(ino_t inode) {
  std::vector<pid_t> inside;
  for (const pid_t pid : livePids()) {
    struct stat info {};
    if (::stat((fs::path("/proc") / std::to_string(pid) / "ns" / "net").c_str(), &info) == 0 &&
        info.st_ino == inode) {
      inside.push_back(pid);
    }
  }
  return inside;
}

std::vector<pid_t> processesMentioning(const std::string& text) {
  std::vector<pid_t> found;
  for (const pid_t pid : livePids()) {
    if (pid != ::getpid() && cmdlineOf(pid).find(text) != std::string::npos) {
      found.push_back(pid);
    }
  }
  return found;
}

std::vector<pid_t> processesWithEnvironment(const std::string& entry) {
  std::vector<pid_t> found;
  for (const pid_t pid : livePids()) {
    const std::string environment =
        '\0' + readAll(fs::path("/proc") / std::to_string(pid) / "environ") + '\0';
    if (pid != ::getpid() && environment.find('\0' + entry + '\0') != std::string::npos) {
      found.push_back(pid);
    }
  }
  return found;
}

std::optional<ProcessRecord> recordProcess(pid_t pid) {
  if (pid <= 0) {
    return std::nullopt;
  }
  const std::vector<pid_t> live = livePids();
  if (std::find(live.begin(), live.end(), pid) == live.end()) {
    return std::nullopt;
  }
  return ProcessRecord{.pid = pid, .cmdline = cmdlineOf(pid)};
}

bool stillRunning(const ProcessRecord& record) {
  const std::vector<pid_t> live = livePids();
  return std::find(live.begin(), live.end(), record.pid) != live.end() &&
         cmdlineOf(record.pid) == record.cmdline;
}

bool directoryEmpty(const fs::path& dir) {
  std::error_code ec;
  fs::directory_iterator entries(dir, ec);
  return ec || entries == fs::directory_iterator();
}

} // namespace meshd::e2e
