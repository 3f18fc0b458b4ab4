// Forwards TCP connections from a listening address in one network namespace to an address in
// another: how meshd's xDS port (on the host) reaches the sidecars in their namespaces, and how
// the ingress gateway (in its namespace) is reachable on the host's 127.0.0.1. Each side's
// sockets are created in that side's namespace, so the host's network is never reconfigured.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"

namespace meshd::cli::mesh {

struct RelayEnd {
  std::string netns; // a name under /run/netns; empty: the caller's own namespace
  std::string address;
  uint16_t port = 0;
};

class NetnsRelay {
public:
  // Binds the listening side (port 0 picks one; see listenPort()) and starts accepting on a thread
  // of its own; each accepted connection is copied both ways on a thread of its own until either
  // side closes. At most `maxConnections` at once; more are closed at once.
  static absl::StatusOr<std::unique_ptr<NetnsRelay>> start(RelayEnd listen, RelayEnd target,
                                                           size_t maxConnections = 1024);
  ~NetnsRelay();
  NetnsRelay(const NetnsRelay&) = delete;
  NetnsRelay& operator=(const NetnsRelay&) = delete;

  uint16_t listenPort() const { return listenPort_; }
  std::string describe() const;

private:
  NetnsRelay(RelayEnd listen, RelayEnd target, size_t maxConnections)
      : listen_(std::move(listen)), target_(std::move(target)), maxConnections_(maxConnections) {}
  void acceptLoop();
  void serve(int client);

  RelayEnd listen_;
  RelayEnd target_;
  size_t maxConnections_;
  int listenFd_ = -1;
  int wakeFd_ = -1; // eventfd: stop
  uint16_t listenPort_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<size_t> open_{0};
  std::thread acceptThread_;
};

// A socket(AF_INET, SOCK_STREAM) created inside the named namespace (empty: the caller's).
absl::StatusOr<int> socketInNamespace(const std::string& netns);

// Whether address:port accepts a TCP connection within `timeout`, seen from inside the named
// namespace (empty: the caller's).
bool tcpPortOpen(const std::string& netns, const std::string& address, uint16_t port,
                 std::chrono::milliseconds timeout);
} // namespace meshd::cli::mesh
