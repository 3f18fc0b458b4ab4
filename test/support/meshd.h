// Starts a real meshd for integration tests: port 0 for xDS and HTTP (the bound ports are read
// from its stdout), a config directory that outlives restarts (the caller's, or a private temp
// dir), and a bounded wait until /ready answers 200.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "test/support/process.h"
#include "test/support/temp_dir.h"

namespace meshd::testing {

class Meshd {
public:
  // `config_dir` empty: a private one, removed with this object.
  explicit Meshd(std::filesystem::path config_dir = {}, std::vector<std::string> extra_args = {});

  // True once /ready answered 200 (within a bounded wait); false if the process exited first.
  bool started() const { return httpPort_ != 0; }
  uint16_t httpPort() const { return httpPort_; }
  uint16_t xdsPort() const { return xdsPort_; }
  const std::filesystem::path& configDir() const { return configDir_; }
  Process& process() { return *process_; }
  std::string logs() const { return process_->errors() + process_->output(); }
  // SIGTERM and wait; the exit status.
  int stop() { return process_->stop(); }

private:
  TempDir dir_;
  std::filesystem::path configDir_;
  std::unique_ptr<Process> process_;
  uint16_t httpPort_ = 0;
  uint16_t xdsPort_ = 0;
};

} // namespace meshd::testing
