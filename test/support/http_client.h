// A tiny blocking HTTP/1.1 client for tests (one request per connection, bounded waits): enough to
// drive admin endpoints and check proxied responses without an external tool.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace meshd::testing {

struct HttpResult {
  int status = 0; // 0 when no response arrived
  std::string headers;
  std::string body;
};

HttpResult httpRequest(uint16_t port, const std::string& method, const std::string& target,
                       const std::string& body = {},
                       std::chrono::milliseconds timeout = std::chrono::seconds(10));

inline HttpResult httpGet(uint16_t port, const std::string& target) {
  return httpRequest(port, "GET", target);
}

// A listening TCP socket on 127.0.0.1 with a kernel-chosen port (stored in `port`); -1 on error.
// For the small servers tests write.
int listenLoopback(uint16_t& port, int backlog = 128);
// The same on `ip` (a 127.x.y.z address) and `port` (0: chosen by the kernel, stored back).
int listenOn(const std::string& ip, uint16_t& port, int backlog = 128);

// Connects to 127.0.0.1:port with a receive timeout; returns the fd or -1.
int connectLoopback(uint16_t port, std::chrono::milliseconds timeout = std::chrono::seconds(10));
// Writes everything; false on error.
bool sendAll(int fd, const std::string& data);
// Reads until EOF, error or timeout (the socket's receive timeout); returns what arrived.
std::string readUntilClose(int fd);

} // namespace meshd::testing
