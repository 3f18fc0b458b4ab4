// Active health checking through mesh-proxy: an HTTP check whose host starts answering 503 (or
// stops answering) takes that host out of load balancing, /clusters and the stats say so, and the
// host comes back after healthy_threshold passing checks; a TCP check fails a port nobody listens
// on, and checks with send/receive payloads match the answer. Listeners wait for every host's
// first check.
#include <chrono>
#include <filesystem>
#include <map>
#include <string>

#include "fmt/format.h"
#include "test/integration/proxy/http_test_helpers.h"
#include "test/support/http_backend.h"
#include "test/support/http_client.h"
#include "test/support/mesh_proxy.h"
#include "test/support/process.h"
#include "test/support/temp_dir.h"
#include "gtest/gtest.h"

namespace meshd::testing {
namespace {

using namespace std::chrono_literals;

constexpr const char* kHttpCheck = R"(health_checks:
- timeout: 1s
  interval: 0.1s
  unhealthy_threshold: 2
  healthy_threshold: 2
  http_health_check:
    path: /healthz
    request_headers_to_add:
    - header: { key: x-check, value: mesh })";

// The health flags /clusters shows for the host on `port`.
std::string healthFlags(const MeshProxy& proxy, uint16_t port) {
  const std::string clusters = httpGet(proxy.adminPort(), "/clusters").body;
  const std::string key = fmt::format(":{}::health_flags::", port);
  const size_t at = clusters.find(key);
  if (at == std::string::npos) {
    return "";
  }
  const size_t start = at + key.size();
  return clusters.substr(start, clusters.find('\n', start) - start);
}

// Which backend answered each of `n` requests.
std::map<std::string, int> spread(uint16_t port, int n) {
  std::map<std::string, int> out;
  for (int i = 0; i < n; ++i) {
    const HttpResponse response = fetchGet(port, "/echo");
    ++out[response.status == 200 ? response.header("x-backend").value_or("?")
                                 : std::to_string(response.status)];
  }
  return out;
}

TEST(HealthCheckTest, HostAnswering503IsRemovedAndComesBackAfterHealthyThreshold) {
  HttpBackend a{"a"};
  HttpBackend b{"b"};
  MeshProxy proxy(
      httpBootstrap(catchAllRoutes("backend"), {{"backend", {a.port(), b.port()}, kHttpCheck}}),
      {"--concurrency", "2"});
  ASSERT_TRUE(proxy.started()) << proxy.logs();
  const uint16_t port = proxy.listenerPort("http");
  // Listeners accept once every host has had its first check (Envoy's cluster warming).
  EXPECT_EQ(statOf(proxy, "cluster.backend.health_check.healthy"), "2");
  EXPECT_EQ(healthFlags(proxy, b.port()), "healthy");
  const auto checked = b.requests();
  ASSERT_FALSE(checked.empty());
  EXPECT_EQ(checked.front().path(), "/healthz");
  EXPECT_EQ(checked.front().header("host"), "backend") << "the cluster's name by default";
  EXPECT_EQ(checked.front().header("user-agent"), "Envoy/HC");
  EXPECT_EQ(checked.front().header("x-check"), "mesh");

  // An unexpected status fails the host at once (no unhealthy_threshold for it, as Envoy).
  b.setAnswer("/healthz", 503);
  ASSERT_TRUE(statReaches(proxy, "cluster.backend.health_check.healthy", "1"));
  EXPECT_TRUE(waitFor([&] { return healthFlags(proxy, b.port()) == "/failed_active_hc"; }, 10s))
      << healthFlags(proxy, b.port());
  // The worker picks the rebuilt cluster up right after the main thread: give it that moment.
  ASSERT_TRUE(waitFor(
      [&] {
        return spread(port, 2) == std::map<std::string, int>{{"a", 2}};
      },
      10s));
  EXPECT_EQ(spread(port, 10), (std::map<std::string, int>{{"a", 10}}));
  EXPECT_NE(statOf(proxy, "cluster.backend.health_check.failure"), "0");
  EXPECT_EQ(statOf(proxy, "cluster.backend.health_check.network_failure"), "0");

  b.setAnswer("/healthz", std::nullopt);
  ASSERT_TRUE(statReaches(proxy, "cluster.backend.health_check.healthy", "2"));
  EXPECT_TRUE(waitFor([&] { return healthFlags(proxy, b.port()) == "healthy"; }, 10s));
  ASSERT_TRUE(waitFor([&] { return spread(port, 2).contains("b"); }, 10s));
  // Round robin again (its rotation may start one step off after the host set changed).
  auto both = spread(port, 10);
  EXPECT_EQ(both["a"] + both["b"], 10);
  EXPECT_GE(both["b"], 4);
  EXPECT_GE(both["a"], 4);
  EXPECT_NE(statOf(proxy, "cluster.backend.health_check.attempt"), "0");
  EXPECT_NE(statOf(proxy, "cluster.backend.health_check.success"), "0");
}

TEST(HealthCheckTest, HostThatStopsAnsweringFailsAfterUnhealthyThreshold) {
  HttpBackend a{"a"};
  HttpBackend b{"b"};
  MeshProxy proxy(
      httpBootstrap(catchAllRoutes("backend"), {{"backend", {a.port(), b.port()}, kHttpCheck}}),
      {"--concurrency", "1"});
  ASSERT_TRUE(proxy.started()) << proxy.logs();
  ASSERT_TRUE(statReaches(proxy, "cluster.backend.health_check.healthy", "2"));
  b.setAnswer("/healthz", 0); // reads the check, closes without an answer
  ASSERT_TRUE(statReaches(proxy, "cluster.backend.health_check.healthy", "1"));
  const int networkFailures =
      std::stoi(statOf(proxy, "cluster.backend.health_check.network_failure"));
  EXPECT_GE(networkFailures, 2) << "unhealthy_threshold network failures in a row";
  EXPECT_TRUE(waitFor([&] { return healthFlags(proxy, b.port()) == "/failed_active_hc"; }, 10s));
  const uint16_t port = proxy.listenerPort("http");
  ASSERT_TRUE(waitFor(
      [&] {
        return spread(port, 2) == std::map<std::string, int>{{"a", 2}};
      },
      10s));
  EXPECT_EQ(spread(port, 6), (std::map<std::string, int>{{"a", 6}}));
}

// An EDS file's ClusterLoadAssignment "backend" over `ports` (a DiscoveryResponse).
std::string assignment(const std::vector<uint16_t>& ports) {
  std::string out = R"(resources:
- "@type": type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment
  cluster_name: backend
  endpoints:
  - lb_endpoints:)";
  for (const uint16_t port : ports) {
    out += fmt::format("\n    - endpoint: {{ address: {{ socket_address: {{ address: 127.0.0.1, "
                       "port_value: {} }} }} }}",
                       port);
  }
  return out + "\n";
}

// Endpoint updates keep the state of the hosts that stay (a failed host stays failed although a
// fresh one would be made healthy by its first passing check), check the new ones and stop
// checking the removed ones.
TEST(HealthCheckTest, EndpointUpdatesKeepTheStateOfHostsThatStay) {
  HttpBackend a{"a"};
  HttpBackend b{"b"};
  HttpBackend c{"c"};
  b.setAnswer("/healthz", 503);
  TempDir dir;
  const auto eds = dir.path() / "eds.yaml";
  dir.write("eds.yaml", assignment({a.port(), b.port()}));
  const std::string bootstrap =
      httpBootstrap(catchAllRoutes("backend"), {}, "") + fmt::format(R"(
  - name: backend
    type: EDS
    connect_timeout: 1s
    eds_cluster_config:
      eds_config: {{ path_config_source: {{ path: {} }}, resource_api_version: V3 }}
    health_checks:
    - timeout: 1s
      interval: 0.1s
      unhealthy_threshold: 1
      healthy_threshold: 1000
      http_health_check: {{ path: /healthz }}
)",
                                                                     eds.string());
  MeshProxy proxy(bootstrap, {"--concurrency", "1"});
  ASSERT_TRUE(proxy.started()) << proxy.logs();
  EXPECT_EQ(healthFlags(proxy, b.port()), "/failed_active_hc");
  b.setAnswer("/healthz", std::nullopt); // passing now, but 1000 passes are needed to come back

  std::filesystem::rename(dir.write("eds.tmp", assignment({a.port(), b.port(), c.port()})), eds);
  ASSERT_TRUE(waitFor([&] { return healthFlags(proxy, c.port()) == "healthy"; }, 10s))
      << proxy.logs();
  const size_t checksOfB = b.requestCount("/healthz");
  ASSERT_TRUE(waitFor([&] { return b.requestCount("/healthz") >= checksOfB + 3; }, 10s));
  EXPECT_EQ(healthFlags(proxy, b.port()), "/failed_active_hc") << "b kept its state";
  EXPECT_EQ(statOf(proxy, "cluster.backend.health_check.healthy"), "2");

  std::filesystem::rename(dir.write("eds.tmp", assignment({a.port(), c.port()})), eds);
  ASSERT_TRUE(waitFor([&] { return healthFlags(proxy, b.port()).empty(); }, 10s));
  const size_t lastChecksOfB = b.requestCount("/healthz");
  const size_t checksOfA = a.requestCount("/healthz");
  ASSERT_TRUE(waitFor([&] { return a.requestCount("/healthz") >= checksOfA + 5; }, 10s));
  EXPECT_LE(b.requestCount("/healthz"), lastChecksOfB + 1) << "at most a check in flight";
}

// Failed hosts count against healthy_panic_threshold like any unhealthy host: with every host
// failing, the cluster is in panic and uses them all; with panic disabled, nothing is used.
TEST(HealthCheckTest, AllHostsFailingIsPanicUnlessDisabled) {
  HttpBackend a{"a"};
  a.setAnswer("/healthz", 503);
  for (const bool panicDisabled : {false, true}) {
    MeshProxy proxy(
        httpBootstrap(catchAllRoutes("backend"),
                      {{"backend",
                        {a.port()},
                        std::string(kHttpCheck) +
                            (panicDisabled ? "\ncommon_lb_config: { healthy_panic_threshold: { "
                                             "value: 0 } }"
                                           : "")}}),
        {"--concurrency", "1"});
    ASSERT_TRUE(proxy.started()) << proxy.logs();
    EXPECT_EQ(statOf(proxy, "cluster.backend.health_check.healthy"), "0");
    ASSERT_TRUE(waitFor([&] { return healthFlags(proxy, a.port()) == "/failed_active_hc"; }, 10s));
    const HttpResponse response = fetchGet(proxy.listenerPort("http"), "/echo");
    if (panicDisabled) {
      EXPECT_EQ(response.status, 503);
      EXPECT_EQ(response.body, "no healthy upstream");
    } else {
      EXPECT_EQ(response.status, 200) << "panic: the failed host is used";
    }
  }
}

TEST(HealthCheckTest, TcpCheckFailsAClosedPort) {
  HttpBackend live{"live"};
  const uint16_t dead = pickFreePort(); // nothing listens: every connect is refused
  MeshProxy proxy(httpBootstrap(catchAllRoutes("backend"), {{"backend",
                                                             {live.port(), dead},
                                                             R"(health_checks:
- timeout: 1s
  interval: 0.1s
  unhealthy_threshold: 1
  healthy_threshold: 1
  tcp_health_check: {})"}}),
                  {"--concurrency", "1"});
  ASSERT_TRUE(proxy.started()) << proxy.logs();
  ASSERT_TRUE(waitFor([&] { return healthFlags(proxy, dead) == "/failed_active_hc"; }, 10s))
      << healthFlags(proxy, dead);
  EXPECT_EQ(statOf(proxy, "cluster.backend.health_check.healthy"), "1");
  EXPECT_EQ(healthFlags(proxy, live.port()), "healthy");
  EXPECT_NE(statOf(proxy, "cluster.backend.health_check.network_failure"), "0");
  const uint16_t port = proxy.listenerPort("http");
  ASSERT_TRUE(waitFor(
      [&] {
        return spread(port, 2) == std::map<std::string, int>{{"live", 2}};
      },
      10s));
  EXPECT_EQ(spread(port, 6), (std::map<std::string, int>{{"live", 6}}));
}

TEST(HealthCheckTest, TcpCheckWithPayloadsMatchesTheAnswer) {
  HttpBackend a{"a"};
  HttpBackend b{"b"};
  // Sends "GET /status/204 HTTP/1.1\r\nhost: x\r\n\r\n"; expects "HTTP/1.1 " then "204".
  const std::string send =
      "474554202f7374617475732f32303420485454502f312e310d0a686f73743a20780d0a0d0a";
  const auto check = [&](const std::string& expected) {
    return fmt::format(R"(health_checks:
- timeout: 1s
  interval: 0.1s
  unhealthy_threshold: 1
  healthy_threshold: 1
  tcp_health_check:
    send: {{ text: "{}" }}
    receive: [{{ text: "485454502f312e3120" }}, {{ text: "{}" }}])",
                       send, expected);
  };
  MeshProxy proxy(
      httpBootstrap(catchAllRoutes("good"), {{"good", {a.port()}, check("323034")},  // "204"
                                             {"bad", {b.port()}, check("323030")}}), // "200"
      {"--concurrency", "1"});
  ASSERT_TRUE(proxy.started()) << proxy.logs();
  ASSERT_TRUE(statReaches(proxy, "cluster.good.health_check.healthy", "1"));
  // "200" never comes: each check times out (a network failure).
  ASSERT_TRUE(waitFor(
      [&] { return statOf(proxy, "cluster.bad.health_check.network_failure") != "0"; }, 10s));
  EXPECT_EQ(statOf(proxy, "cluster.bad.health_check.healthy"), "0");
  EXPECT_EQ(healthFlags(proxy, b.port()), "/failed_active_hc");
}

} // namespace
} // namespace meshd::testing
