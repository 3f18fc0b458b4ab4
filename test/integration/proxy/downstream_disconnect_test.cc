// A client that goes away while its request is still in progress, through a real mesh-proxy: the
// request must be abandoned (as Envoy resets the stream, flag DC), whether it waits for a pooled
// connection under max_connections or for its upstream response; it must not reach the backend
// later nor keep its place.
#include <chrono>
#include <string>

#include "fmt/format.h"
#include "test/integration/proxy/http_test_helpers.h"
#include "test/support/http_backend.h"
#include "test/support/mesh_proxy.h"
#include "gtest/gtest.h"

namespace meshd::testing {
namespace {

using namespace std::chrono_literals;

class DownstreamDisconnectTest : public ::testing::Test {
protected:
  void start(const std::string& cluster_extra = "", const std::string& route_extra = "") {
    // One worker: the pool whose queue the waiting request sits in is per worker.
    proxy_ =
        std::make_unique<MeshProxy>(httpBootstrap(catchAllRoutes("backend", route_extra),
                                                  {{"backend", {backend_.port()}, cluster_extra}}),
                                    std::vector<std::string>{"--concurrency", "1"});
    ASSERT_TRUE(proxy_->started()) << proxy_->logs();
    port_ = proxy_->listenerPort("http");
  }
  std::string stat(const std::string& name) const { return statOf(*proxy_, name); }

  HttpBackend backend_{"a"};
  std::unique_ptr<MeshProxy> proxy_;
  uint16_t port_ = 0;
};

TEST_F(DownstreamDisconnectTest, RequestWaitingForAPooledConnectionIsDroppedWhenItsClientCloses) {
  ASSERT_NO_FATAL_FAILURE(start(
      "circuit_breakers: { thresholds: [ { max_connections: 1, max_pending_requests: 5 } ] }"));
  HttpConnection holder(port_);
  ASSERT_TRUE(holder.send(rawRequest("GET", "/delay/1500")));
  ASSERT_TRUE(backend_.waitForRequests(1, 10s));
  {
    HttpConnection quitter(port_);
    ASSERT_TRUE(quitter.send(rawRequest("GET", "/abandoned")));
    ASSERT_TRUE(statReaches(*proxy_, "cluster.backend.upstream_rq_pending_active", "1"));
  } // closes while its request waits for the only connection
  EXPECT_TRUE(statReaches(*proxy_, "http.ingress.downstream_cx_destroy_remote_active_rq", "1"));
  // Out of the queue at once, not when the connection comes back.
  EXPECT_TRUE(statReaches(*proxy_, "cluster.backend.upstream_rq_pending_active", "0"));
  EXPECT_EQ(stat("http.ingress.downstream_rq_active"), "1") << "only the holder's";
  EXPECT_EQ(holder.read().status, 200);
  // The connection it gave back serves the next request; the abandoned one never went out.
  EXPECT_EQ(fetchGet(port_, "/after").status, 200);
  EXPECT_EQ(backend_.requestCount("/abandoned"), 0u);
  EXPECT_EQ(backend_.requestCount(), 2u);
  EXPECT_EQ(stat("cluster.backend.upstream_cx_total"), "1");
}

TEST_F(DownstreamDisconnectTest, RequestWaitingForItsResponseIsResetWhenItsClientCloses) {
  // No route timeout: nothing but the client's leaving may end the request.
  ASSERT_NO_FATAL_FAILURE(start("", "timeout: 0s"));
  {
    HttpConnection quitter(port_);
    // The backend would hold this one far longer than the checks below wait.
    ASSERT_TRUE(quitter.send(rawRequest("GET", "/delay/60000")));
    ASSERT_TRUE(backend_.waitForRequests(1, 10s));
  }
  // The upstream request is reset rather than left running until the backend answers.
  EXPECT_TRUE(statReaches(*proxy_, "cluster.backend.upstream_rq_active", "0"));
  EXPECT_EQ(stat("http.ingress.downstream_cx_destroy_remote_active_rq"), "1");
  EXPECT_TRUE(statReaches(*proxy_, "http.ingress.downstream_rq_active", "0"));
  EXPECT_EQ(fetchGet(port_, "/after").status, 200);
}

TEST_F(DownstreamDisconnectTest, ClientThatStaysIsNotCountedAsGone) {
  ASSERT_NO_FATAL_FAILURE(start());
  HttpConnection client(port_);
  EXPECT_EQ(client.request("GET", "/delay/100").status, 200);
  EXPECT_EQ(client.request("GET", "/echo").status, 200);
  EXPECT_EQ(stat("http.ingress.downstream_cx_destroy_remote_active_rq"), "0");
}

} // namespace
} // namespace meshd::testing
