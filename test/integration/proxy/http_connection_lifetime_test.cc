// How long mesh-proxy keeps HTTP connections and requests: the connection manager's idle_timeout,
// max_requests_per_connection and stream idle timeout (with the route's idle_timeout override),
// and the upstream pool's idle_timeout, max_requests_per_connection and max_connection_duration
// from the cluster's HttpProtocolOptions.
#include <chrono>
#include <iostream>
#include <memory>
#include <string>

#include "fmt/format.h"
#include "test/integration/proxy/http_test_helpers.h"
#include "test/support/http_backend.h"
#include "test/support/mesh_proxy.h"
#include "test/support/process.h"
#include "gtest/gtest.h"

namespace meshd::testing {
namespace {

using namespace std::chrono_literals;

constexpr const char* kUpstreamOptions = R"(
typed_extension_protocol_options:
  envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
    "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
    explicit_http_config: {{ http_protocol_options: {{}} }}
    common_http_protocol_options: {{ {} }}
)";

class HttpConnectionLifetimeTest : public ::testing::Test {
protected:
  void start(const std::string& hcm_extra, const std::string& route_extra = "",
             const std::string& cluster_extra = "") {
    const std::string bootstrap =
        httpBootstrap(catchAllRoutes("backend", route_extra),
                      {{"backend", {backend_.port()}, cluster_extra}}, hcm_extra);
    proxy_ = std::make_unique<MeshProxy>(bootstrap);
    ASSERT_TRUE(proxy_->started()) << proxy_->logs() << "\n" << bootstrap;
    port_ = proxy_->listenerPort("http");
  }

  void TearDown() override {
    if (HasFailure() && proxy_) {
      std::cerr << "mesh-proxy logs:\n" << proxy_->logs() << "\n";
    }
  }

  std::string stat(const std::string& name) const { return statOf(*proxy_, name); }

  HttpBackend backend_{"main"};
  std::unique_ptr<MeshProxy> proxy_;
  uint16_t port_ = 0;
};

TEST_F(HttpConnectionLifetimeTest, IdleDownstreamConnectionIsClosedAfterIdleTimeout) {
  ASSERT_NO_FATAL_FAILURE(start("common_http_protocol_options: { idle_timeout: 0.3s }"));
  HttpConnection connection(port_);
  EXPECT_EQ(connection.request("GET", "/echo").status, 200);
  EXPECT_TRUE(connection.waitForClose(10s));
  EXPECT_EQ(stat("http.ingress.downstream_cx_idle_timeout"), "1");
}

TEST_F(HttpConnectionLifetimeTest, IdleTimeoutSparesAConnectionWithARequestInFlight) {
  ASSERT_NO_FATAL_FAILURE(start("common_http_protocol_options: { idle_timeout: 0.2s }"));
  HttpConnection connection(port_);
  // The request outlives the idle timeout several times over: it is not idleness.
  const auto response = connection.request("GET", "/delay/800");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "delayed");
  EXPECT_TRUE(connection.waitForClose(10s));
  EXPECT_EQ(stat("http.ingress.downstream_cx_idle_timeout"), "1");
}

TEST_F(HttpConnectionLifetimeTest, ConnectionClosesAfterMaxRequestsPerConnection) {
  ASSERT_NO_FATAL_FAILURE(
      start("common_http_protocol_options: { max_requests_per_connection: 2 }"));
  HttpConnection connection(port_);
  const auto first = connection.request("GET", "/echo");
  EXPECT_EQ(first.status, 200);
  EXPECT_NE(first.header("connection").value_or(""), "close");
  const auto second = connection.request("GET", "/echo");
  EXPECT_EQ(second.status, 200);
  EXPECT_EQ(second.header("connection"), "close");
  EXPECT_TRUE(connection.waitForClose(10s));
  EXPECT_EQ(stat("http.ingress.downstream_cx_max_requests_reached"), "1");
}

TEST_F(HttpConnectionLifetimeTest, StalledRequestBodyGets408AfterStreamIdleTimeout) {
  ASSERT_NO_FATAL_FAILURE(start("stream_idle_timeout: 0.3s"));
  HttpConnection connection(port_);
  // Ten bytes promised, none sent.
  ASSERT_TRUE(connection.send("POST /mirror HTTP/1.1\r\nhost: a\r\ncontent-length: 10\r\n\r\n"));
  const auto response = connection.read();
  EXPECT_EQ(response.status, 408);
  EXPECT_EQ(response.body, "stream timeout");
  EXPECT_TRUE(connection.waitForClose(10s));
  EXPECT_EQ(stat("http.ingress.downstream_rq_idle_timeout"), "1");
}

TEST_F(HttpConnectionLifetimeTest, RouteIdleTimeoutOverridesTheStreamIdleTimeout) {
  ASSERT_NO_FATAL_FAILURE(start("", "idle_timeout: 0.3s"));
  HttpConnection connection(port_);
  const auto response = connection.request("GET", "/delay/5000");
  EXPECT_EQ(response.status, 408);
  EXPECT_EQ(response.body, "stream timeout");
  EXPECT_EQ(stat("http.ingress.downstream_rq_idle_timeout"), "1");
  EXPECT_EQ(stat("http.ingress.downstream_rq_timeout"), "0");
}

TEST_F(HttpConnectionLifetimeTest, ZeroRouteIdleTimeoutDisablesTheStreamIdleTimeout) {
  ASSERT_NO_FATAL_FAILURE(start("stream_idle_timeout: 0.2s", "idle_timeout: 0s"));
  HttpConnection connection(port_);
  const auto response = connection.request("GET", "/delay/800");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(stat("http.ingress.downstream_rq_idle_timeout"), "0");
}

TEST_F(HttpConnectionLifetimeTest, UpstreamConnectionCarriesAtMostMaxRequestsPerConnection) {
  ASSERT_NO_FATAL_FAILURE(
      start("", "", fmt::format(kUpstreamOptions, "max_requests_per_connection: 2")));
  HttpConnection connection(port_);
  std::string upstreamConnections;
  for (int i = 0; i < 5; ++i) {
    const auto response = connection.request("GET", "/echo");
    ASSERT_EQ(response.status, 200) << i;
    upstreamConnections += response.header("x-backend-connection").value_or("?");
  }
  EXPECT_EQ(upstreamConnections, "11223");
  EXPECT_EQ(backend_.connectionsAccepted(), 3);
}

TEST_F(HttpConnectionLifetimeTest, IdlePooledUpstreamConnectionIsClosedAfterIdleTimeout) {
  ASSERT_NO_FATAL_FAILURE(start("", "", fmt::format(kUpstreamOptions, "idle_timeout: 0.3s")));
  HttpConnection connection(port_);
  EXPECT_EQ(connection.request("GET", "/echo").header("x-backend-connection"), "1");
  ASSERT_TRUE(waitFor([&] { return backend_.connectionsClosed() == 1; }, 10s));
  EXPECT_TRUE(statReaches(*proxy_, "cluster.backend.upstream_cx_active", "0"));
  // The client's own connection is not affected, and the next request opens a new upstream one.
  EXPECT_EQ(connection.request("GET", "/echo").header("x-backend-connection"), "2");
}

TEST_F(HttpConnectionLifetimeTest, PooledUpstreamConnectionClosesAfterMaxConnectionDuration) {
  ASSERT_NO_FATAL_FAILURE(
      start("", "", fmt::format(kUpstreamOptions, "max_connection_duration: 0.5s")));
  HttpConnection connection(port_);
  // Within the duration the pooled connection is reused.
  EXPECT_EQ(connection.request("GET", "/echo").header("x-backend-connection"), "1");
  EXPECT_EQ(connection.request("GET", "/echo").header("x-backend-connection"), "1");
  // Past it the idle connection is closed, and the next request opens a new one.
  ASSERT_TRUE(waitFor([&] { return backend_.connectionsClosed() == 1; }, 10s));
  EXPECT_TRUE(statReaches(*proxy_, "cluster.backend.upstream_cx_active", "0"));
  EXPECT_EQ(connection.request("GET", "/echo").header("x-backend-connection"), "2");
}

} // namespace
} // namespace meshd::testing
