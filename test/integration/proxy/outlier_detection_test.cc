// Outlier detection through mesh-proxy: an endpoint that refuses connections is ejected after
// its consecutive failures (traffic goes to the others, /clusters and stats say so) and comes
// back after the ejection time.
#include <chrono>
#include <string>

#include "test/integration/proxy/http_test_helpers.h"
#include "test/support/http_backend.h"
#include "test/support/http_client.h"
#include "test/support/mesh_proxy.h"
#include "test/support/process.h"
#include "gtest/gtest.h"

namespace meshd::testing {
namespace {

using namespace std::chrono_literals;

TEST(OutlierDetectionTest, FailingEndpointIsEjectedAndComesBack) {
  HttpBackend live{"a"};
  const uint16_t dead = pickFreePort(); // nothing listens: every connect fails
  MeshProxy proxy(httpBootstrap(catchAllRoutes("backend"),
                                {{"backend",
                                  {live.port(), dead},
                                  R"(outlier_detection:
  consecutive_5xx: 3
  interval: 0.2s
  base_ejection_time: 1s
  max_ejection_percent: 100)"}}),
                  {"--concurrency", "1"});
  ASSERT_TRUE(proxy.started()) << proxy.logs();
  const uint16_t port = proxy.listenerPort("http");
  // Round robin: every other request meets the dead endpoint (503 UF) until it is ejected.
  int failures = 0;
  for (int i = 0; i < 10; ++i) {
    failures += httpGet(port, "/echo").status == 503 ? 1 : 0;
  }
  EXPECT_EQ(failures, 3) << "ejected on its third consecutive failure";
  EXPECT_EQ(statOf(proxy, "cluster.backend.outlier_detection.ejections_enforced_total"), "1");
  EXPECT_EQ(statOf(proxy, "cluster.backend.outlier_detection.ejections_active"), "1");
  const std::string clusters = httpGet(proxy.adminPort(), "/clusters").body;
  EXPECT_NE(clusters.find(std::to_string(dead) + "::health_flags::/failed_outlier_check"),
            std::string::npos)
      << clusters;
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(httpGet(port, "/echo").status, 200);
  }
  // After base_ejection_time it takes traffic again (and fails again).
  EXPECT_TRUE(statReaches(proxy, "cluster.backend.outlier_detection.ejections_active", "0"));
  int failed = 0;
  for (int i = 0; i < 4; ++i) {
    failed += httpGet(port, "/echo").status == 503 ? 1 : 0;
  }
  EXPECT_GE(failed, 1);
}

} // namespace
} // namespace meshd::testing
