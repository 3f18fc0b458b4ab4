// HTTP upgrades (WebSocket) through mesh-proxy: enabled with upgrade_configs, relayed as a byte
// tunnel after the upstream's 101; refused with 403 when not enabled; a refusal by the upstream
// is relayed and the connection closed.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "fmt/format.h"
#include "test/support/http_client.h"
#include "test/support/mesh_proxy.h"
#include "gtest/gtest.h"

namespace meshd::testing {
namespace {

using namespace std::chrono_literals;

// Answers each connection's request head with 101 (or `refusal` when set), then echoes every
// byte prefixed with "echo:".
class UpgradeBackend {
public:
  explicit UpgradeBackend(std::string refusal = {}) : refusal_(std::move(refusal)) {
    fd_ = listenLoopback(port_, 16);
    thread_ = std::thread([this] { serve(); });
  }
  ~UpgradeBackend() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  uint16_t port() const { return port_; }
  std::string lastHead() const {
    std::lock_guard lock(mutex_);
    return lastHead_;
  }

private:
  void serve() {
    while (!stop_) {
      pollfd pfd{fd_, POLLIN, 0};
      if (::poll(&pfd, 1, 50) <= 0) {
        continue;
      }
      const int client = ::accept(fd_, nullptr, nullptr);
      if (client >= 0) {
        handle(client);
        ::close(client);
      }
    }
  }
  void handle(int client) {
    std::string data;
    char buffer[4096];
    while (data.find("\r\n\r\n") == std::string::npos && !stop_) {
      pollfd pfd{client, POLLIN, 0};
      if (::poll(&pfd, 1, 50) <= 0) {
        continue;
      }
      const ssize_t n = ::recv(client, buffer, sizeof(buffer), 0);
      if (n <= 0) {
        return;
      }
      data.append(buffer, static_cast<size_t>(n));
    }
    const size_t end = data.find("\r\n\r\n") + 4;
    {
      std::lock_guard lock(mutex_);
      lastHead_ = data.substr(0, end);
    }
    if (!refusal_.empty()) {
      sendAll(client, refusal_);
      return;
    }
    sendAll(client, "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: "
                    "upgrade\r\n\r\n");
    std::string rest = data.substr(end);
    while (!stop_) {
      if (!rest.empty() && !sendAll(client, "echo:" + rest)) {
        return;
      }
      rest.clear();
      pollfd pfd{client, POLLIN, 0};
      if (::poll(&pfd, 1, 50) <= 0) {
        continue;
      }
      const ssize_t n = ::recv(client, buffer, sizeof(buffer), 0);
      if (n <= 0) {
        return;
      }
      rest.assign(buffer, static_cast<size_t>(n));
    }
  }

  std::string refusal_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  mutable std::mutex mutex_;
  std::string lastHead_;
};

std::string bootstrap(uint16_t backend, bool websocket_enabled) {
  return fmt::format(R"(
admin: {{ address: {{ socket_address: {{ address: 127.0.0.1, port_value: 0 }} }} }}
static_resources:
  listeners:
  - name: http
    address: {{ socket_address: {{ address: 127.0.0.1, port_value: 0 }} }}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: ws
          {}
          route_config:
            virtual_hosts:
            - {{ name: all, domains: ["*"], routes: [{{ match: {{ prefix: / }}, route: {{ cluster: backend }} }}] }}
          http_filters:
          - name: envoy.filters.http.router
            typed_config: {{ "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router }}
  clusters:
  - name: backend
    connect_timeout: 1s
    load_assignment:
      cluster_name: backend
      endpoints:
      - lb_endpoints:
        - endpoint: {{ address: {{ socket_address: {{ address: 127.0.0.1, port_value: {} }} }} }}
)",
                     websocket_enabled ? "upgrade_configs: [{ upgrade_type: websocket }]" : "",
                     backend);
}

constexpr const char* kUpgradeRequest =
    "GET /chat HTTP/1.1\r\nhost: chat\r\nupgrade: websocket\r\nconnection: upgrade\r\n"
    "sec-websocket-version: 13\r\n\r\n";

// Reads until `needle` arrived (or EOF/timeout) and returns everything read.
std::string readUntil(int fd, const std::string& needle) {
  std::string out;
  char buffer[4096];
  while (out.find(needle) == std::string::npos) {
    const ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0) {
      break;
    }
    out.append(buffer, static_cast<size_t>(n));
  }
  return out;
}

TEST(WebSocketTest, UpgradeBecomesATunnelBothWays) {
  UpgradeBackend backend;
  MeshProxy proxy(bootstrap(backend.port(), true));
  ASSERT_TRUE(proxy.started()) << proxy.logs();
  const int fd = connectLoopback(proxy.listenerPort("http"));
  ASSERT_GE(fd, 0);
  // Data right behind the head (before the 101) must not be lost.
  ASSERT_TRUE(sendAll(fd, std::string(kUpgradeRequest) + "early"));
  const std::string first = readUntil(fd, "echo:early");
  EXPECT_EQ(first.rfind("HTTP/1.1 101 Switching Protocols\r\n", 0), 0u) << first;
  EXPECT_NE(first.find("upgrade: websocket"), std::string::npos);
  EXPECT_NE(first.find("echo:early"), std::string::npos) << first;
  for (int i = 0; i < 20; ++i) {
    const std::string frame = "frame-" + std::to_string(i);
    ASSERT_TRUE(sendAll(fd, frame));
    EXPECT_NE(readUntil(fd, "echo:" + frame).find("echo:" + frame), std::string::npos);
  }
  ::close(fd);
  const std::string head = backend.lastHead();
  EXPECT_NE(head.find("upgrade: websocket"), std::string::npos) << head;
  EXPECT_NE(head.find("connection: upgrade"), std::string::npos) << head;
  EXPECT_NE(head.find("sec-websocket-version: 13"), std::string::npos) << head;
}

TEST(WebSocketTest, NotEnabledIs403) {
  UpgradeBackend backend;
  MeshProxy proxy(bootstrap(backend.port(), false));
  ASSERT_TRUE(proxy.started()) << proxy.logs();
  const int fd = connectLoopback(proxy.listenerPort("http"));
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(sendAll(fd, kUpgradeRequest));
  const std::string response = readUntilClose(fd);
  ::close(fd);
  EXPECT_EQ(response.rfind("HTTP/1.1 403 Forbidden\r\n", 0), 0u) << response;
  EXPECT_EQ(backend.lastHead(), "");
}

TEST(WebSocketTest, UpstreamRefusalIsRelayedAndTheConnectionCloses) {
  UpgradeBackend backend("HTTP/1.1 400 Bad Request\r\ncontent-length: 4\r\n\r\nnope");
  MeshProxy proxy(bootstrap(backend.port(), true));
  ASSERT_TRUE(proxy.started()) << proxy.logs();
  const int fd = connectLoopback(proxy.listenerPort("http"));
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(sendAll(fd, kUpgradeRequest));
  const std::string response = readUntilClose(fd);
  ::close(fd);
  EXPECT_EQ(response.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << response;
  EXPECT_NE(response.find("nope"), std::string::npos);
}

} // namespace
} // namespace meshd::testing
