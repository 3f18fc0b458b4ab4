// Real processes for integration tests: start a binary with arguments and environment, capture its
// output to files, wait with a bound, and always clean up (the destructor kills what is left).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace meshd::testing {

struct ProcessOptions {
  std::vector<std::string> argv; // argv[0] is the program, looked up in PATH if it has no '/'
  std::map<std::string, std::string> extraEnv;
  std::filesystem::path workingDir; // empty: inherit
  std::filesystem::path outputDir;  // where stdout/stderr files go; empty: a private temp dir
};

class Process {
public:
  explicit Process(ProcessOptions options);
  ~Process(); // SIGKILLs and reaps the process if it is still running
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  bool running();
  // Waits up to `timeout` for exit; returns the exit status (128+signal when killed).
  std::optional<int> wait(std::chrono::milliseconds timeout);
  // SIGTERM, then SIGKILL if it has not exited within `grace`. Returns the exit status.
  int stop(std::chrono::milliseconds grace = std::chrono::seconds(5));
  void signal(int signal_number);

  std::string output() const; // stdout so far
  std::string errors() const; // stderr so far

private:
  ProcessOptions options_;
  std::filesystem::path stdoutPath_;
  std::filesystem::path stderrPath_;
  std::string ownedOutputDir_;
  pid_t pid_ = -1;
  std::optional<int> exitStatus_;
};

// Polls `condition` every `interval` until it holds or `timeout` passes.
bool waitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
             std::chrono::milliseconds interval = std::chrono::milliseconds(20));

// A TCP port on 127.0.0.1 that was free a moment ago (for peers that cannot be given port 0).
uint16_t pickFreePort();
// True when something accepts TCP connections on 127.0.0.1:port.
bool tcpPortOpen(uint16_t port);

// The directory holding this build's binaries (build/<preset>/bin), from MESHD_BIN_DIR.
std::filesystem::path binaryDir();

} // namespace meshd::testing
