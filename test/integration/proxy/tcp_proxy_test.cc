// mesh-proxy's tcp_proxy against real sockets: relaying, large transfers with back-pressure,
// half-close, round robin, connect failures, idle timeouts, admin endpoints, graceful shutdown.
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <map>
#include <regex>
#include <string>

#include "fmt/format.h"
#include "test/support/http_client.h"
#include "test/support/mesh_proxy.h"
#include "gtest/gtest.h"

namespace meshd::testing {
namespace {

using namespace std::chrono_literals;

// A bootstrap with one tcp_proxy listener in front of `backend_ports`.
std::string bootstrap(const std::vector<uint16_t>& backend_ports,
                      const std::string& tcp_proxy_extra = "",
                      const std::string& cluster_extra = "") {
  std::string endpoints;
  for (uint16_t port : backend_ports) {
    endpoints += fmt::format(R"(
        - endpoint: {{ address: {{ socket_address: {{ address: 127.0.0.1, port_value: {} }} }} }})",
                             port);
  }
  return fmt::format(R"(
node: {{ id: test-proxy, cluster: test }}
admin:
  address: {{ socket_address: {{ address: 127.0.0.1, port_value: 0 }} }}
static_resources:
  listeners:
  - name: front
    address: {{ socket_address: {{ address: 127.0.0.1, port_value: 0 }} }}
    filter_chains:
    - filters:
      - name: envoy.filters.network.tcp_proxy
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
          stat_prefix: front
          cluster: backend{}
  clusters:
  - name: backend
    type: STATIC
    connect_timeout: 1s{}
    load_assignment:
      cluster_name: backend
      endpoints:
      - lb_endpoints:{}
)",
                     tcp_proxy_extra, cluster_extra, endpoints);
}

std::map<std::string, std::string> stats(const MeshProxy& proxy) {
  std::map<std::string, std::string> out;
  const std::string text = httpGet(proxy.adminPort(), "/stats").body;
  const std::regex line("([^:\n]+): ([^\n]*)");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), line); it != std::sregex_iterator();
       ++it) {
    out[(*it)[1].str()] = (*it)[2].str();
  }
  return out;
}

// Waits (bounded) until a stat reaches `value`.
bool statReaches(const MeshProxy& proxy, const std::string& name, const std::string& value) {
  return waitFor([&] { return stats(proxy)[name] == value; }, 10s);
}

TEST(TcpProxyTest, RelaysBothWaysAndPassesHalfClose) {
  EchoServer backend;
  MeshProxy proxy(bootstrap({backend.port()}));
  ASSERT_TRUE(proxy.started()) << proxy.logs();
  const int fd = connectLoopback(proxy.listenerPort("front"));
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(sendAll(fd, "ping over the mesh"));
  ::shutdown(fd, SHUT_WR); // the backend sees EOF, echoes, closes; we see EOF after the echo
  EXPECT_EQ(readUntilClose(fd), "ping over the mesh");
  ::close(fd);
  EXPECT_TRUE(statReaches(proxy,
                          "listener.127.0.0.1_" + std::to_string(proxy.listenerPort("front")) +
                              ".downstream_cx_active",
                          "0"));
  const auto s = stats(proxy);
  EXPECT_EQ(s.at("cluster.backend.upstream_cx_total"), "1");
  EXPECT_EQ(s.at("tcp.front.downstream_cx_rx_bytes_total"), "18");
  EXPECT_EQ(s.at("tcp.front.downstream_cx_tx_bytes_total"), "18");
  EXPECT_EQ(s.at("cluster.backend.upstream_cx_active"), "0");
}

TEST(TcpProxyTest, LargeTransferWithBackPressureArrivesIntact) {
  EchoServer backend;
  // A small buffer limit forces the pause/resume path many times over.
  MeshProxy proxy(bootstrap({backend.port()}));
  ASSERT_TRUE(proxy.started()) << proxy.logs();
  const int fd = connectLoopback(proxy.listenerPort("front"), 30s);
  ASSERT_GE(fd, 0);
  std::string payload(8 << 20, '\0');
  for (size_t i = 0; i < payload.size(); ++i) {
    payload[i] = static_cast<char>('a' + (i * 7919) % 26);
  }
  std::string received;
  // Read concurrently: the echo would otherwise fill every buffer and stall both sides.
  std::thread reader([&] { received = readUntilClose(fd); });
  ASSERT_TRUE(sendAll(fd, payload));
  ::shutdown(fd, SHUT_WR);
  reader.join();
  ::close(fd);
  EXPECT_EQ(received.size(), payload.size());
  EXPECT_TRUE(received == payload);
}

TEST(TcpProxyTest, TinyClusterBufferLimitStillRelaysEverything) {
  // Bytes from the upstream wait under the cluster's limit: 1 KiB forces a pause after every
  // read of the echo, and the transfer must still complete intact.
  EchoServer backend;
  MeshProxy proxy(bootstrap({backend.port()}, "", "\n    per_connection_buffer_limit_bytes: 1024"));
  ASSERT_TRUE(proxy.started()) << proxy.logs();
  const int fd = connectLoopback(proxy.listenerPort("front"), 30s);
  ASSERT_GE(fd, 0);
  const std::string payload(1 << 20, 'z');
  std::string received;
  std::thread reader([&] { received = readUntilClose(fd); });
  ASSERT_TRUE(sendAll(fd, payload));
  ::shutdown(fd, SHUT_WR);
  reader.join();
  ::close(fd);
  EXPECT_EQ(received.size(), payload.size());
}

TEST(TcpProxyTest, RoundRobinsAcrossEndpoints) {
  EchoServer a("A");
  EchoServer b("B");
  EchoServer c("C");
  MeshProxy proxy(bootstrap({a.port(), b.port(), c.port()}));
  ASSERT_TRUE(proxy.started()) << proxy.logs();
  const uint16_t port = proxy.listenerPort("front");
  std::map<std::string, int> served;
  for (int i = 0; i < 30; ++i) {
    const int fd = connectLoopback(port);
    ASSERT_GE(fd, 0);
    ::shutdown(fd, SHUT_WR);
    ++served[readUntilClose(fd)];
    ::close(fd);
  }
  // Each worker keeps its own rotation, so the split is exact per worker but not globally
  // ordered; every endpoint must still get a fair share.
  EXPECT_EQ(served.size(), 3u);
  for (const auto& [who, count] : served) {
    EXPECT_GE(count, 5) << who;
  }
}

// A listener whose chain runs `filters` (YAML list items) in front of clusters "a" and "b".
std::string twoClusterBootstrap(const std::string& filters, uint16_t a_port, uint16_t b_port) {
  auto cluster = [](const char* name, uint16_t port) {
    return fmt::format(R"(
  - name: {0}
    type: STATIC
    load_assignment:
      cluster_name: {0}
      endpoints:
      - lb_endpoints:
        - endpoint: {{ address: {{ socket_address: {{ address: 127.0.0.1, port_value: {1} }} }} }})",
                       name, port);
  };
  return fmt::format(R"(
node: {{ id: test-proxy, cluster: test }}
admin:
  address: {{ socket_address: {{ address: 127.0.0.1, port_value: 0 }} }}
static_resources:
  listeners:
  - name: front
    address: {{ socket_address: {{ address: 127.0.0.1, port_value: 0 }} }}
    filter_chains:
    - filters:{}
  clusters:{}{}
)",
                     filters, cluster("a", a_port), cluster("b", b_port));
}

// What a connection to `port` receives when it sends nothing.
std::string greetingFrom(uint16_t port) {
  const int fd = connectLoopback(port);
  if (fd < 0) {
    return "<connect failed>";
  }
  ::shutdown(fd, SHUT_WR);
  std::string received = readUntilClose(fd);
  ::close(fd);
  return received;
}

TEST(TcpProxyTest, WeightedClustersSplitConnectionsByWeight) {
  EchoServer a("A");
  EchoServer b("B");
  MeshProxy proxy(twoClusterBootstrap(R"(
      - name: envoy.filters.network.tcp_proxy
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
          stat_prefix: front
          weighted_clusters:
            clusters: [ { name: a, weight: 3 }, { name: b, weight: 1 } ])",
                                      a.port(), b.port()));
  ASSERT_TRUE(proxy.started()) << proxy.logs();
  const uint16_t port = proxy.listenerPort("front");
  constexpr int kConnections = 200;
  std::map<std::string, int> served;
  for (int i = 0; i < kConnections; ++i) {
    ++served[greetingFrom(port)];
  }
  // Binomial(200, 0.75): mean 150, standard deviation 6.1; allow five of them.
  EXPECT_EQ(served["A"] + served["B"], kConnections);
  EXPECT_NEAR(served["A"], 150, 31);
  EXPECT_TRUE(statReaches(proxy, "cluster.a.upstream_cx_total", std::to_string(served["A"])));
}

TEST(TcpProxyTest, ConnectionLimitClosesConnectionsOverTheLimit) {
  EchoServer a("A");
  EchoServer b("B");
  MeshProxy proxy(twoClusterBootstrap(R"(
      - name: envoy.filters.network.connection_limit
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.connection_limit.v3.ConnectionLimit
          stat_prefix: lim
          max_connections: 2
      - name: envoy.filters.network.tcp_proxy
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
          stat_prefix: front
          cluster: a)",
                                      a.port(), b.port()));
  ASSERT_TRUE(proxy.started()) << proxy.logs();
  const uint16_t port = proxy.listenerPort("front");
  // Two connections held open, each seen through to the backend (its greeting arrived).
  std::vector<int> held;
  for (int i = 0; i < 2; ++i) {
    const int fd = connectLoopback(port);
    ASSERT_GE(fd, 0);
    char greeting = 0;
    ASSERT_EQ(::recv(fd, &greeting, 1, MSG_WAITALL), 1);
    EXPECT_EQ(greeting, 'A');
    held.push_back(fd);
  }
  EXPECT_TRUE(statReaches(proxy, "connection_limit.lim.active_connections", "2"));
  // A third is closed without reaching the backend.
  EXPECT_EQ(greetingFrom(port), "");
  EXPECT_TRUE(statReaches(proxy, "connection_limit.lim.limited_connections", "1"));
  EXPECT_EQ(a.connections(), 2);
  // Closing one frees its slot.
  ::close(held.back());
  held.pop_back();
  EXPECT_TRUE(statReaches(proxy, "connection_limit.lim.active_connections", "1"));
  EXPECT_EQ(greetingFrom(port), "A");
  for (const int fd : held) {
    ::close(fd);
  }
}

TEST(TcpProxyTest, ConnectionLimitDelayHoldsTheRejectedConnectionOpen) {
  EchoServer a("A");
  EchoServer b("B");
  MeshProxy proxy(twoClusterBootstrap(R"(
      - name: envoy.filters.network.connection_limit
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.connection_limit.v3.ConnectionLimit
          stat_prefix: lim
          max_connections: 1
          delay: 0.4s
      - name: envoy.filters.network.tcp_proxy
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
          stat_prefix: front
          cluster: a)",
                                      a.port(), b.port()));
  ASSERT_TRUE(proxy.started()) << proxy.logs();
  const uint16_t port = proxy.listenerPort("front");
  const int first = connectLoopback(port);
  ASSERT_GE(first, 0);
  char greeting = 0;
  ASSERT_EQ(::recv(first, &greeting, 1, MSG_WAITALL), 1);
  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(greetingFrom(port), "");
  // Closed no sooner than the delay (a lower bound only: never an upper bound on timing).
  EXPECT_GE(std::chrono::steady_clock::now() - started, 350ms);
  ::close(first);
}

TEST(TcpProxyTest, ConnectFailureClosesTheDownstreamAndCounts) {
  const uint16_t deadPort = pickFreePort();
  MeshProxy proxy(bootstrap({deadPort}));
  ASSERT_TRUE(proxy.started()) << proxy.logs();
  const int fd = connectLoopback(proxy.listenerPort("front"));
  ASSERT_GE(fd, 0);
  EXPECT_EQ(readUntilClose(fd), "");
  ::close(fd);
  EXPECT_TRUE(statReaches(proxy, "cluster.backend.upstream_cx_connect_fail", "1"));
}

TEST(TcpProxyTest, IdleTimeoutClosesQuietConnections) {
  EchoServer backend;
  MeshProxy proxy(bootstrap({backend.port()}, "\n          idle_timeout: 0.3s"));
  ASSERT_TRUE(proxy.started()) << proxy.logs();
  const int fd = connectLoopback(proxy.listenerPort("front"));
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(sendAll(fd, "x"));
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(readUntilClose(fd), "x"); // echo, then the proxy closes after 0.3 s of silence
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ::close(fd);
  EXPECT_GE(elapsed, 250ms);
  EXPECT_LT(elapsed, 8s);
  EXPECT_TRUE(statReaches(proxy, "tcp.front.idle_timeout", "1"));
}

TEST(TcpProxyTest, AdminEndpoints) {
  EchoServer backend;
  MeshProxy proxy(bootstrap({backend.port()}));
  ASSERT_TRUE(proxy.started()) << proxy.logs();
  EXPECT_EQ(httpGet(proxy.adminPort(), "/ready").body, "LIVE\n");
  const auto info = httpGet(proxy.adminPort(), "/server_info");
  EXPECT_NE(info.body.find("\"id\": \"test-proxy\""), std::string::npos) << info.body;
  const auto prometheus = httpGet(proxy.adminPort(), "/stats/prometheus");
  EXPECT_NE(
      prometheus.body.find("envoy_cluster_upstream_cx_total{envoy_cluster_name=\"backend\"} 0"),
      std::string::npos)
      << prometheus.body;
  const auto dump = httpGet(proxy.adminPort(), "/config_dump");
  EXPECT_NE(dump.body.find("envoy.admin.v3.BootstrapConfigDump"), std::string::npos);
  EXPECT_NE(httpGet(proxy.adminPort(), "/clusters").body.find("backend::127.0.0.1:"),
            std::string::npos);
  EXPECT_NE(httpGet(proxy.adminPort(), "/listeners?format=json").body.find("\"name\": \"front\""),
            std::string::npos);
  EXPECT_EQ(httpGet(proxy.adminPort(), "/nope").status, 404);
  EXPECT_EQ(httpGet(proxy.adminPort(), "/quitquitquit").status, 405); // needs POST
  // Log levels change at run time.
  const auto logging = httpRequest(proxy.adminPort(), "POST", "/logging?level=debug");
  EXPECT_EQ(logging.status, 200);
  EXPECT_NE(logging.body.find("main: debug"), std::string::npos) << logging.body;
  EXPECT_EQ(httpRequest(proxy.adminPort(), "POST", "/logging?level=loud").status, 400);
}

TEST(TcpProxyTest, SigtermDrainsOpenConnectionsThenExits) {
  EchoServer backend;
  MeshProxy proxy(bootstrap({backend.port()}));
  ASSERT_TRUE(proxy.started()) << proxy.logs();
  const uint16_t port = proxy.listenerPort("front");
  const int fd = connectLoopback(port);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(sendAll(fd, "before"));
  // Wait for the echo: the connection is then accepted and relayed, not still in the listen
  // backlog (closing a listener resets connections it has not accepted yet).
  char echoed[6];
  ASSERT_EQ(::recv(fd, echoed, sizeof(echoed), MSG_WAITALL), 6);
  proxy.process().signal(SIGTERM);
  // New connections are refused once draining; the open one still works.
  EXPECT_TRUE(waitFor([&] { return httpGet(proxy.adminPort(), "/ready").status == 503; }, 10s));
  EXPECT_TRUE(waitFor([&] { return !tcpPortOpen(port); }, 10s));
  ASSERT_TRUE(sendAll(fd, " and after"));
  ::shutdown(fd, SHUT_WR);
  EXPECT_EQ(readUntilClose(fd), " and after");
  ::close(fd);
  EXPECT_EQ(proxy.process().wait(15s), 0) << proxy.logs();
}

TEST(TcpProxyTest, QuitQuitQuitExits) {
  EchoServer backend;
  MeshProxy proxy(bootstrap({backend.port()}));
  ASSERT_TRUE(proxy.started()) << proxy.logs();
  EXPECT_EQ(httpRequest(proxy.adminPort(), "POST", "/quitquitquit").body, "OK\n");
  EXPECT_EQ(proxy.process().wait(15s), 0) << proxy.logs();
}

} // namespace
} // namespace meshd::testing
