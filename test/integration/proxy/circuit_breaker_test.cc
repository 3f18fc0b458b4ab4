// Circuit breakers (cluster circuit_breakers, Istio's DestinationRule connectionPool) through
// mesh-proxy: max_requests and max_pending_requests overflow with 503 UO, requests waiting for a
// connection at max_connections, max_retries, and tcp_proxy's max_connections.
#include <chrono>
#include <string>
#include <thread>

#include "fmt/format.h"
#include "test/integration/proxy/http_test_helpers.h"
#include "test/support/http_backend.h"
#include "test/support/http_client.h"
#include "test/support/mesh_proxy.h"
#include "gtest/gtest.h"

namespace meshd::testing {
namespace {

using namespace std::chrono_literals;

// The cluster fields for `thresholds` (YAML flow mapping fields).
std::string breakers(const std::string& thresholds) {
  return fmt::format("circuit_breakers: {{ thresholds: [ {{ {} }} ] }}", thresholds);
}

class CircuitBreakerTest : public ::testing::Test {
protected:
  void start(const std::string& thresholds, const std::string& route_extra = "") {
    // One worker: the pool that queues pending requests is per worker, as in Envoy.
    proxy_ = std::make_unique<MeshProxy>(
        httpBootstrap(catchAllRoutes("backend", route_extra),
                      {{"backend", {backend_.port()}, breakers(thresholds)}}),
        std::vector<std::string>{"--concurrency", "1"});
    ASSERT_TRUE(proxy_->started()) << proxy_->logs();
    port_ = proxy_->listenerPort("http");
  }
  std::string stat(const std::string& name) const {
    return statOf(*proxy_, "cluster.backend." + name);
  }

  HttpBackend backend_{"a"};
  std::unique_ptr<MeshProxy> proxy_;
  uint16_t port_ = 0;
};

TEST_F(CircuitBreakerTest, MaxRequestsOverflowsWithUO) {
  ASSERT_NO_FATAL_FAILURE(start("max_requests: 1"));
  HttpConnection slow(port_);
  ASSERT_TRUE(slow.send(rawRequest("GET", "/delay/500")));
  ASSERT_TRUE(backend_.waitForRequests(1, 10s));
  HttpConnection second(port_);
  const auto overflowed = second.request("GET", "/echo");
  EXPECT_EQ(overflowed.status, 503);
  EXPECT_EQ(overflowed.body,
            "upstream connect error or disconnect/reset before headers. reset reason: overflow");
  EXPECT_EQ(slow.read().status, 200);
  EXPECT_EQ(stat("upstream_rq_pending_overflow"), "1");
  EXPECT_EQ(second.request("GET", "/echo").status, 200) << "the request slot came back";
  EXPECT_EQ(stat("upstream_rq_total"), "2") << "the overflowed request was never sent upstream";
}

TEST_F(CircuitBreakerTest, AtMaxConnectionsRequestsWaitThenOverflow) {
  ASSERT_NO_FATAL_FAILURE(start("max_connections: 1, max_pending_requests: 1"));
  HttpConnection first(port_);
  ASSERT_TRUE(first.send(rawRequest("GET", "/delay/500")));
  ASSERT_TRUE(backend_.waitForRequests(1, 10s));
  // The only connection is busy: the next request waits for it...
  HttpConnection waiting(port_);
  ASSERT_TRUE(waiting.send(rawRequest("GET", "/echo")));
  ASSERT_TRUE(statReaches(*proxy_, "cluster.backend.upstream_rq_pending_active", "1"));
  // ...and one more finds the pending queue full.
  HttpConnection third(port_);
  const auto overflowed = third.request("GET", "/echo");
  EXPECT_EQ(overflowed.status, 503);
  EXPECT_EQ(first.read().status, 200);
  EXPECT_EQ(waiting.read().status, 200) << "served on the connection the first one gave back";
  EXPECT_EQ(stat("upstream_cx_total"), "1");
  EXPECT_EQ(stat("upstream_rq_pending_total"), "1");
  EXPECT_EQ(stat("upstream_rq_pending_overflow"), "1");
  EXPECT_EQ(stat("upstream_cx_overflow"), "2");
  EXPECT_EQ(stat("upstream_rq_pending_active"), "0");
  // /clusters shows the thresholds in force (the unset ones at Envoy's defaults).
  const std::string clusters = httpGet(proxy_->adminPort(), "/clusters").body;
  for (const char* line : {"backend::default_priority::max_connections::1\n",
                           "backend::default_priority::max_pending_requests::1\n",
                           "backend::default_priority::max_requests::1024\n",
                           "backend::default_priority::max_retries::3\n"}) {
    EXPECT_NE(clusters.find(line), std::string::npos) << line << clusters;
  }
}

TEST_F(CircuitBreakerTest, TheRouteTimeoutBoundsTheWaitForAConnection) {
  ASSERT_NO_FATAL_FAILURE(start("max_connections: 1, max_pending_requests: 1", "timeout: 0.3s"));
  // The first request holds the only connection for a second (its own timeout is longer).
  HttpConnection first(port_);
  ASSERT_TRUE(
      first.send(rawRequest("GET", "/delay/1000", {{"x-envoy-upstream-rq-timeout-ms", "10000"}})));
  ASSERT_TRUE(backend_.waitForRequests(1, 10s));
  // The next one waits for a connection, and its route timeout counts the wait: 504, not a late
  // answer once the connection comes back.
  HttpConnection waiting(port_);
  EXPECT_EQ(waiting.request("GET", "/echo").status, 504);
  EXPECT_EQ(stat("upstream_rq_pending_active"), "0");
  EXPECT_EQ(first.read().status, 200);
  EXPECT_EQ(backend_.requestCount(), 1u) << "the timed-out request never went upstream";
}

TEST_F(CircuitBreakerTest, MaxRetriesStopsRetries) {
  ASSERT_NO_FATAL_FAILURE(
      start("max_retries: 0", "retry_policy: { retry_on: 5xx, num_retries: 3 }"));
  HttpConnection connection(port_);
  const auto response = connection.request("GET", "/status/503");
  EXPECT_EQ(response.status, 503);
  EXPECT_TRUE(response.complete) << "the upstream's answer, whole, when no retry can go out";
  EXPECT_EQ(backend_.requestCount(), 1u) << "no retry went out";
  EXPECT_EQ(stat("upstream_rq_retry_overflow"), "1");
  EXPECT_EQ(stat("upstream_rq_retry"), "0");
}

TEST_F(CircuitBreakerTest, OpenGaugeAndRemainingCounts) {
  ASSERT_NO_FATAL_FAILURE(start("max_requests: 2, track_remaining: true"));
  EXPECT_EQ(stat("circuit_breakers.default.remaining_rq"), "2");
  HttpConnection a(port_);
  HttpConnection b(port_);
  ASSERT_TRUE(a.send(rawRequest("GET", "/delay/400")));
  ASSERT_TRUE(b.send(rawRequest("GET", "/delay/400")));
  ASSERT_TRUE(backend_.waitForRequests(2, 10s));
  EXPECT_TRUE(statReaches(*proxy_, "cluster.backend.circuit_breakers.default.rq_open", "1"));
  EXPECT_EQ(stat("circuit_breakers.default.remaining_rq"), "0");
  EXPECT_EQ(a.read().status, 200);
  EXPECT_EQ(b.read().status, 200);
  EXPECT_TRUE(statReaches(*proxy_, "cluster.backend.circuit_breakers.default.rq_open", "0"));
  EXPECT_EQ(stat("circuit_breakers.default.remaining_rq"), "2");
}

TEST(TcpCircuitBreakerTest, TcpProxyClosesConnectionsOverMaxConnections) {
  HttpBackend backend;
  MeshProxy proxy(fmt::format(R"(
admin:
  address: {{ socket_address: {{ address: 127.0.0.1, port_value: 0 }} }}
static_resources:
  listeners:
  - name: tcp
    address: {{ socket_address: {{ address: 127.0.0.1, port_value: 0 }} }}
    filter_chains:
    - filters:
      - name: envoy.filters.network.tcp_proxy
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
          stat_prefix: raw
          cluster: backend
  clusters:
  - name: backend
    connect_timeout: 1s
    {}
    load_assignment:
      cluster_name: backend
      endpoints:
      - lb_endpoints:
        - endpoint: {{ address: {{ socket_address: {{ address: 127.0.0.1, port_value: {} }} }} }}
)",
                              breakers("max_connections: 1"), backend.port()));
  ASSERT_TRUE(proxy.started()) << proxy.logs();
  const uint16_t port = proxy.listenerPort("tcp");
  HttpConnection held(port);
  EXPECT_EQ(held.request("GET", "/echo").status, 200);
  HttpConnection refused(port);
  EXPECT_TRUE(refused.waitForClose(10s));
  EXPECT_EQ(statOf(proxy, "cluster.backend.upstream_cx_overflow"), "1");
  EXPECT_EQ(held.request("GET", "/echo").status, 200) << "the open one carries on";
}

// max_connection_pools counts pools (here one per endpoint and worker, living while it has
// connections, idle ones included, or waiters): with one allowed and two endpoints taken in turn,
// the endpoint that got the pool first is served and the other gets Envoy's 503 with no pool.
TEST(CircuitBreakerPoolsTest, MaxConnectionPoolsRefusesASecondEndpointsPool) {
  HttpBackend first{"first"};
  HttpBackend second{"second"};
  MeshProxy proxy(httpBootstrap(catchAllRoutes(),
                                {{"backend",
                                  {first.port(), second.port()},
                                  "lb_policy: ROUND_ROBIN\n" +
                                      breakers("max_connection_pools: 1, track_remaining: true")}}),
                  {"--concurrency", "1"});
  ASSERT_TRUE(proxy.started()) << proxy.logs();
  const uint16_t port = proxy.listenerPort("http");
  HttpConnection client(port);
  int served = 0;
  int refused = 0;
  for (int i = 0; i < 4; ++i) {
    const auto response = client.request("GET", "/echo");
    if (response.status == 200) {
      ++served;
    } else {
      EXPECT_EQ(response.status, 503);
      EXPECT_EQ(response.body, "no healthy upstream");
      ++refused;
    }
  }
  EXPECT_EQ(served, 2);
  EXPECT_EQ(refused, 2);
  // Every request went to the endpoint whose pool exists; the other never saw one.
  EXPECT_TRUE((first.requestCount() == 2 && second.requestCount() == 0) ||
              (first.requestCount() == 0 && second.requestCount() == 2))
      << first.requestCount() << " " << second.requestCount();
  EXPECT_EQ(statOf(proxy, "cluster.backend.upstream_cx_pool_overflow"), "2");
  EXPECT_EQ(statOf(proxy, "cluster.backend.circuit_breakers.default.cx_pool_open"), "1");
  EXPECT_EQ(statOf(proxy, "cluster.backend.circuit_breakers.default.remaining_cx_pools"), "0");
}

TEST(CircuitBreakerPoolsTest, EnoughConnectionPoolsServeEveryEndpoint) {
  HttpBackend first{"first"};
  HttpBackend second{"second"};
  MeshProxy proxy(httpBootstrap(catchAllRoutes(), {{"backend",
                                                    {first.port(), second.port()},
                                                    "lb_policy: ROUND_ROBIN\n" +
                                                        breakers("max_connection_pools: 2")}}),
                  {"--concurrency", "1"});
  ASSERT_TRUE(proxy.started()) << proxy.logs();
  HttpConnection client(proxy.listenerPort("http"));
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(client.request("GET", "/echo").status, 200);
  }
  EXPECT_EQ(first.requestCount(), 2u);
  EXPECT_EQ(second.requestCount(), 2u);
  EXPECT_EQ(statOf(proxy, "cluster.backend.upstream_cx_pool_overflow"), "0");
}

} // namespace
} // namespace meshd::testing
