// Process start and stop for the local mesh (spawn.h).
#include "cli/mesh/spawn.h"

#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "fmt/format.h"

extern char** environ;

namespace meshd::cli::mesh {
namespace {

// Everything the child needs, prepared before fork so the child only makes system calls.
struct Prepared {
  std::vector<std::string> envStrings;
  std::vector<char*> argv;
  std::vector<char*> envp;
};

Prepared prepare(const SpawnSpec& spec) {
  Prepared out;
  std::map<std::string, std::string> env;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    const size_t equals = text.find('=');
    if (equals != std::string_view::npos) {
      env[std::string(text.substr(0, equals))] = std::string(text.substr(equals + 1));
    }
  }
  for (const auto& [name, value] : spec.env) {
    env[name] = value;
  }
  for (const auto& [name, value] : env) {
    out.envStrings.push_back(name + "=" + value);
  }
  for (const std::string& arg : spec.argv) {
    out.argv.push_back(const_cast<char*>(arg.c_str()));
  }
  out.argv.push_back(nullptr);
  for (std::string& entry : out.envStrings) {
    out.envp.push_back(entry.data());
  }
  out.envp.push_back(nullptr);
  return out;
}

// In the child (or in place): namespace, mounts, user, directory, output. Returns the failing step
// with errno set, or nullptr.
const char* enter(const SpawnSpec& spec) {
  if (!spec.netns.empty()) {
    const std::string path = "/run/netns/" + spec.netns;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || ::setns(fd, CLONE_NEWNET) != 0) {
      return "entering the network namespace";
    }
    ::close(fd);
    if (!spec.hostsFile.empty() || !spec.resolvFile.empty()) {
      if (::unshare(CLONE_NEWNS) != 0 ||
          ::mount("", "/", nullptr, MS_SLAVE | MS_REC, nullptr) != 0) {
        return "making a mount namespace";
      }
      if (!spec.hostsFile.empty() &&
          ::mount(spec.hostsFile.c_str(), "/etc/hosts", nullptr, MS_BIND, nullptr) != 0) {
        return "mounting /etc/hosts";
      }
      if (!spec.resolvFile.empty() &&
          ::mount(spec.resolvFile.c_str(), "/etc/resolv.conf", nullptr, MS_BIND, nullptr) != 0) {
        return "mounting /etc/resolv.conf";
      }
    }
  }
  if (!spec.workingDir.empty() && ::chdir(spec.workingDir.c_str()) != 0) {
    return "changing to the working directory";
  }
  if (!spec.logPath.empty()) {
    const int log = ::open(spec.logPath.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log < 0) {
      return "opening the log file";
    }
    ::dup2(log, STDOUT_FILENO);
    ::dup2(log, STDERR_FILENO);
    const int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null >= 0) {
      ::dup2(null, STDIN_FILENO);
    }
  }
  if (spec.gid && (::setgroups(0, nullptr) != 0 || ::setgid(*spec.gid) != 0)) {
    return "changing the group";
  }
  if (spec.uid && ::setuid(*spec.uid) != 0) {
    return "changing the user";
  }
  return nullptr;
}

} // namespace

absl::StatusOr<pid_t> spawnProcess(const SpawnSpec& spec) {
  if (spec.argv.empty() || spec.argv.front().empty()) {
    return absl::InvalidArgumentError("no command to run");
  }
  Prepared prepared = prepare(spec);
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) {
    return absl::InternalError(fmt::format("pipe: {}", std::strerror(errno)));
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(report[0]);
    ::close(report[1]);
    return absl::InternalError(fmt::format("fork: {}", std::strerror(errno)));
  }
  if (pid == 0) {
    ::close(report[0]);
    ::setsid();
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    const char* step = enter(spec);
    if (step == nullptr) {
      ::execvpe(prepared.argv[0], prepared.argv.data(), prepared.envp.data());
      step = "running the command";
    }
    const int error = errno;
    char message[256];
    const int length = std::snprintf(message, sizeof message, "%s: %s", step, std::strerror(error));
    [[maybe_unused]] const ssize_t ignored =
        ::write(report[1], message, static_cast<size_t>(std::max(0, length)));
    ::_exit(127);
  }
  ::close(report[1]);
  char message[256];
  ssize_t n = 0;
  do {
    n = ::read(report[0], message, sizeof message);
  } while (n < 0 && errno == EINTR);
  ::close(report[0]);
  if (n > 0) {
    ::waitpid(pid, nullptr, 0);
    return absl::InternalError(
        fmt::format("{}: {}", spec.argv.front(), std::string(message, static_cast<size_t>(n))));
  }
  return pid;
}

absl::Status execInPlace(const SpawnSpec& spec) {
  if (spec.argv.empty() || spec.argv.front().empty()) {
    return absl::InvalidArgumentError("no command to run");
  }
  Prepared prepared = prepare(spec);
  const char* step = enter(spec);
  if (step == nullptr) {
    ::execvpe(prepared.argv[0], prepared.argv.data(), prepared.envp.data());
    step = "running the command";
  }
  return absl::InternalError(
      fmt::format("{}: {}: {}", spec.argv.front(), step, std::strerror(errno)));
}

bool processAlive(pid_t pid) {
  if (pid <= 0 || ::kill(pid, 0) != 0) {
    return false;
  }
  std::ifstream stat(fmt::format("/proc/{}/stat", pid));
  std::string line;
  std::getline(stat, line);
  const size_t close = line.rfind(')');
  return close == std::string::npos || close + 2 >= line.size() || line[close + 2] != 'Z';
}

bool stopProcess(pid_t pid, std::chrono::milliseconds grace) {
  if (pid <= 0) {
    return true;
  }
  auto reaped = [pid] {
    int status = 0;
    const pid_t result = ::waitpid(pid, &status, WNOHANG);
    return result == pid || (result < 0 && errno == ECHILD && !processAlive(pid));
  };
  if (::kill(-pid, SIGTERM) != 0) {
    ::kill(pid, SIGTERM);
  }
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (std::chrono::steady_clock::now() < deadline) {
    if (reaped()) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(-pid, SIGKILL);
  ::kill(pid, SIGKILL);
  for (int i = 0; i < 100; ++i) {
    if (reaped()) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

void forEachProcess(const std::function<void(pid_t, const std::filesystem::path&)>& visit) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename();
    if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) {
      continue;
    }
    const pid_t pid = static_cast<pid_t>(std::stol(name));
    if (pid != ::getpid()) {
      visit(pid, entry.path());
    }
  }
}

size_t stopMarkedProcesses(std::string_view variable, const std::string& value,
                           std::chrono::milliseconds grace) {
  const std::string wanted = std::string(variable) + "=" + value;
  std::vector<pid_t> marked;
  forEachProcess([&](pid_t pid, const std::filesystem::path& dir) {
    std::ifstream environment(dir / "environ", std::ios::binary);
    std::string entryText;
    while (std::getline(environment, entryText, '\0')) {
      if (entryText == wanted) {
        marked.push_back(pid);
        return;
      }
    }
  });
  std::vector<std::thread> stoppers;
  for (const pid_t pid : marked) {
    stoppers.emplace_back([pid, grace] { stopProcess(pid, grace); });
  }
  for (std::thread& stopper : stoppers) {
    stopper.join();
  }
  return marked.size();
}

} // namespace meshd::cli::mesh
