// The bootstrap overload_manager through a real mesh-proxy: the global downstream connection limit
// closes connections over it at accept, and the fixed_heap monitor drives stop_accepting_requests
// (503 "envoy overloaded"), disable_http_keepalive and stop_accepting_connections. The heap is
// forced over or kept under its limit with a tiny or a huge max_heap_size_bytes.
#include <chrono>
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

constexpr const char* kHeapMonitor = "envoy.resource_monitors.fixed_heap";

std::string heapMonitor(uint64_t max_heap_size_bytes) {
  return fmt::format(R"(
  - name: {}
    typed_config:
      "@type": type.googleapis.com/envoy.extensions.resource_monitors.fixed_heap.v3.FixedHeapConfig
      max_heap_size_bytes: {})",
                     kHeapMonitor, max_heap_size_bytes);
}

// An overload_manager (top-level bootstrap YAML) with `monitors` and one action triggered by the
// heap at half its limit.
std::string overloadManager(const std::string& monitors, const std::string& action = "") {
  std::string out =
      "\noverload_manager:\n  refresh_interval: 0.1s\n  resource_monitors:" + monitors;
  if (!action.empty()) {
    out += fmt::format(R"(
  actions:
  - name: {}
    triggers:
    - name: {}
      threshold: {{ value: 0.5 }})",
                       action, kHeapMonitor);
  }
  return out + "\n";
}

class OverloadTest : public ::testing::Test {
protected:
  void start(const std::string& overload, uint32_t concurrency = 2) {
    proxy_ = std::make_unique<MeshProxy>(
        httpBootstrap(catchAllRoutes(), {{"backend", {backend_.port()}, ""}}) + overload,
        std::vector<std::string>{"--concurrency", std::to_string(concurrency)});
    ASSERT_TRUE(proxy_->started()) << proxy_->logs();
    port_ = proxy_->listenerPort("http");
  }
  std::string listenerStat(const std::string& name) const {
    return fmt::format("listener.127.0.0.1_{}.{}", port_, name);
  }

  HttpBackend backend_{"a"};
  std::unique_ptr<MeshProxy> proxy_;
  uint16_t port_ = 0;
};

TEST_F(OverloadTest, GlobalConnectionLimitClosesTheConnectionOverItAtAccept) {
  // Two workers: the limit counts across both.
  ASSERT_NO_FATAL_FAILURE(start(overloadManager(R"(
  - name: envoy.resource_monitors.global_downstream_max_connections
    typed_config:
      "@type": type.googleapis.com/envoy.extensions.resource_monitors.downstream_connections.v3.DownstreamConnectionsConfig
      max_active_downstream_connections: 2)")));
  auto first = std::make_unique<HttpConnection>(port_);
  HttpConnection second(port_);
  // Served: both are accepted and counted.
  EXPECT_EQ(first->request("GET", "/echo").status, 200);
  EXPECT_EQ(second.request("GET", "/echo").status, 200);
  EXPECT_TRUE(statReaches(
      *proxy_, "overload.envoy.resource_monitors.global_downstream_max_connections.pressure",
      "100"));
  HttpConnection third(port_);
  ASSERT_TRUE(third.connected()); // the kernel completes the handshake; the proxy closes it
  ASSERT_TRUE(third.send(rawRequest("GET", "/echo")));
  EXPECT_TRUE(third.waitForClose(10s));
  EXPECT_TRUE(statReaches(*proxy_, listenerStat("downstream_global_cx_overflow"), "1"));
  EXPECT_EQ(backend_.requestCount(), 2u) << "the closed connection's request never went upstream";
  // The connections still open keep working; one closing frees its place.
  EXPECT_EQ(second.request("GET", "/echo").status, 200);
  first.reset();
  EXPECT_TRUE(waitFor([&] { return fetchGet(port_, "/echo").status == 200; }, 10s));
}

TEST_F(OverloadTest, StopAcceptingRequestsAnswers503EnvoyOverloaded) {
  // A one-byte heap limit: the process is always over it.
  ASSERT_NO_FATAL_FAILURE(
      start(overloadManager(heapMonitor(1), "envoy.overload_actions.stop_accepting_requests")));
  HttpConnection connection(port_);
  for (int i = 0; i < 3; ++i) {
    const auto response = connection.request("GET", "/echo");
    EXPECT_EQ(response.status, 503);
    EXPECT_EQ(response.body, "envoy overloaded");
  }
  EXPECT_EQ(backend_.requestCount(), 0u);
  EXPECT_EQ(statOf(*proxy_, "http.ingress.downstream_rq_overload_close"), "3");
  EXPECT_EQ(statOf(*proxy_, "http.ingress.downstream_rq_5xx"), "3");
  EXPECT_EQ(statOf(*proxy_, "overload.envoy.overload_actions.stop_accepting_requests.active"), "1");
  EXPECT_EQ(statOf(*proxy_, "overload.envoy.resource_monitors.fixed_heap.pressure"), "100");
}

TEST_F(OverloadTest, HeapUnderItsLimitLeavesRequestsAlone) {
  ASSERT_NO_FATAL_FAILURE(start(overloadManager(heapMonitor(uint64_t{1} << 50),
                                                "envoy.overload_actions.stop_accepting_requests")));
  EXPECT_EQ(fetchGet(port_, "/echo").status, 200);
  EXPECT_EQ(statOf(*proxy_, "overload.envoy.overload_actions.stop_accepting_requests.active"), "0");
  EXPECT_EQ(statOf(*proxy_, "overload.envoy.resource_monitors.fixed_heap.pressure"), "0");
  EXPECT_EQ(statOf(*proxy_, "http.ingress.downstream_rq_overload_close"), "0");
}

TEST_F(OverloadTest, DisableHttpKeepaliveClosesTheConnectionAfterTheResponse) {
  ASSERT_NO_FATAL_FAILURE(
      start(overloadManager(heapMonitor(1), "envoy.overload_actions.disable_http_keepalive")));
  HttpConnection connection(port_);
  const auto response = connection.request("GET", "/echo");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.header("connection"), "close");
  EXPECT_TRUE(connection.waitForClose(10s));
  EXPECT_EQ(statOf(*proxy_, "http.ingress.downstream_cx_overload_disable_keepalive"), "1");
}

TEST_F(OverloadTest, StopAcceptingConnectionsLeavesNewConnectionsUnaccepted) {
  ASSERT_NO_FATAL_FAILURE(
      start(overloadManager(heapMonitor(1), "envoy.overload_actions.stop_accepting_connections")));
  HttpConnection connection(port_, 1s);
  ASSERT_TRUE(connection.connected()); // held in the kernel's backlog
  ASSERT_TRUE(connection.send(rawRequest("GET", "/echo")));
  EXPECT_FALSE(connection.read().complete) << "nothing answers while the listeners are paused";
  EXPECT_EQ(backend_.requestCount(), 0u);
  EXPECT_EQ(statOf(*proxy_, listenerStat("downstream_cx_total")), "0");
  EXPECT_EQ(statOf(*proxy_, "overload.envoy.overload_actions.stop_accepting_connections.active"),
            "1");
}

} // namespace
} // namespace meshd::testing
