// Starts a real mesh-proxy for integration tests: writes the bootstrap to a temp dir, uses port 0
// everywhere, finds the bound admin and listener ports, and waits until /ready says LIVE.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "test/support/process.h"
#include "test/support/temp_dir.h"

namespace meshd::testing {

// A bootstrap (admin on port 0) that gets CDS and LDS, and through them EDS and RDS, over ADS
// from an xDS server on 127.0.0.1:`xds_port`. `node` is the bootstrap's node as a YAML flow
// mapping, e.g. "{id: test, cluster: test}".
std::string adsBootstrap(uint16_t xds_port, const std::string& node);

class MeshProxy {
public:
  // `bootstrap_yaml` must set admin and listener ports to 0 (or free ports).
  explicit MeshProxy(const std::string& bootstrap_yaml, std::vector<std::string> extra_args = {});

  // True once /ready answered 200 (within a bounded wait); false if the process exited first.
  bool started() const { return adminPort_ != 0; }
  uint16_t adminPort() const { return adminPort_; }
  uint16_t listenerPort(const std::string& name) const;
  Process& process() { return *process_; }
  std::string logs() const { return process_->errors() + process_->output(); }

private:
  TempDir dir_;
  std::unique_ptr<Process> process_;
  uint16_t adminPort_ = 0;
};

// A TCP echo server on background threads (one per connection): sends `greeting` first (so a
// test can tell servers apart), then echoes every byte, and closes after the client half-closes.
class EchoServer {
public:
  explicit EchoServer(std::string greeting = {});
  ~EchoServer();
  uint16_t port() const { return port_; }
  int connections() const { return connections_.load(); }

private:
  std::string greeting_;
  int listenFd_ = -1;
  uint16_t port_ = 0;
  std::atomic<int> connections_{0};
  std::atomic<bool> stopping_{false};
  std::vector<std::thread> threads_;
  std::thread acceptor_;
  std::mutex mutex_;
};

} // namespace meshd::testing
