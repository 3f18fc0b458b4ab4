// Process and helpers (process.h), on posix_spawn.
#include "test/support/process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "test/support/temp_dir.h"

extern char** environ;

namespace meshd::testing {
namespace {

int statusToCode(int status) {
  if (WIFEXITED(status)) {
    return WEXITSTATUS(status);
  }
  if (WIFSIGNALED(status)) {
    return 128 + WTERMSIG(status);
  }
  return -1;
}

} // namespace

Process::Process(ProcessOptions options) : options_(std::move(options)) {
  if (options_.argv.empty()) {
    throw std::invalid_argument("Process needs a program");
  }
  std::filesystem::path dir = options_.outputDir;
  if (dir.empty()) {
    std::string pattern = (std::filesystem::temp_directory_path() / "meshd-proc-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      throw std::runtime_error("mkdtemp failed");
    }
    dir = ownedOutputDir_ = pattern;
  }
  static std::atomic<uint32_t> sequence{0};
  const std::string base = std::filesystem::path(options_.argv[0]).filename().string() + "." +
                           std::to_string(::getpid()) + "." + std::to_string(sequence++);
  stdoutPath_ = dir / (base + ".stdout");
  stderrPath_ = dir / (base + ".stderr");

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, stdoutPath_.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderrPath_.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (!options_.workingDir.empty()) {
    posix_spawn_file_actions_addchdir_np(&actions, options_.workingDir.c_str());
  }
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  // Its own process group, so a test's Ctrl-C does not reach it and stop() can signal the group.
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attributes, 0);

  std::vector<std::string> env;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string_view item(*entry);
    const std::string key(item.substr(0, item.find('=')));
    if (!options_.extraEnv.contains(key)) {
      env.emplace_back(item);
    }
  }
  for (const auto& [key, value] : options_.extraEnv) {
    env.push_back(key + "=" + value);
  }
  std::vector<char*> argv;
  for (auto& arg : options_.argv) {
    argv.push_back(arg.data());
  }
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (auto& item : env) {
    envp.push_back(item.data());
  }
  envp.push_back(nullptr);

  const int rc = posix_spawnp(&pid_, argv[0], &actions, &attributes, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (rc != 0) {
    throw std::runtime_error("cannot start " + options_.argv[0] + ": " + std::strerror(rc));
  }
}

Process::~Process() {
  if (!exitStatus_) {
    ::kill(-pid_, SIGKILL);
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  if (!ownedOutputDir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(ownedOutputDir_, ignored);
  }
}

bool Process::running() {
  return !wait(std::chrono::milliseconds(0)).has_value();
}

std::optional<int> Process::wait(std::chrono::milliseconds timeout) {
  if (exitStatus_) {
    return exitStatus_;
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int status = 0;
    const pid_t done = ::waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      exitStatus_ = statusToCode(status);
      return exitStatus_;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return std::nullopt;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

int Process::stop(std::chrono::milliseconds grace) {
  if (!exitStatus_) {
    ::kill(pid_, SIGTERM);
    if (!wait(grace)) {
      ::kill(-pid_, SIGKILL);
      ::kill(pid_, SIGKILL);
      wait(std::chrono::seconds(10));
    }
  }
  return exitStatus_.value_or(-1);
}

void Process::signal(int signal_number) {
  if (!exitStatus_) {
    ::kill(pid_, signal_number);
  }
}

std::string Process::output() const {
  return readFile(stdoutPath_);
}
std::string Process::errors() const {
  return readFile(stderrPath_);
}

bool waitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
             std::chrono::milliseconds interval) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (condition()) {
      return true;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return false;
    }
    std::this_thread::sleep_for(interval);
  }
}

uint16_t pickFreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot bind an ephemeral port");
  }
  ::close(fd);
  return ntohs(address.sin_port);
}

bool tcpPortOpen(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  const bool open = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  ::close(fd);
  return open;
}

std::filesystem::path binaryDir() {
  const char* dir = std::getenv("MESHD_BIN_DIR");
  return dir != nullptr ? std::filesystem::path(dir) : std::filesystem::path(MESHD_DEFAULT_BIN_DIR);
}

} // namespace meshd::testing
