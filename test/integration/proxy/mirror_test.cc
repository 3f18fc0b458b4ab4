// Request mirroring (route request_mirror_policies) through mesh-proxy: copies with the body and
// a "-shadow" host reach the mirror cluster, a share of them with runtime_fraction, and a mirror
// that never answers does not hold up the client.
#include <chrono>
#include <string>

#include "test/integration/proxy/http_test_helpers.h"
#include "test/support/http_backend.h"
#include "test/support/http_client.h"
#include "test/support/mesh_proxy.h"
#include "gtest/gtest.h"

namespace meshd::testing {
namespace {

using namespace std::chrono_literals;

std::string mirroredRoutes(const std::string& mirror_fields) {
  return catchAllRoutes("primary", "request_mirror_policies:\n- cluster: mirror\n" +
                                       reindent(mirror_fields, 2));
}

TEST(MirrorTest, CopiesGoToTheMirrorWithTheirBody) {
  HttpBackend primary{"a"};
  HttpBackend mirror{"b"};
  MeshProxy proxy(httpBootstrap(mirroredRoutes(""),
                                {{"primary", {primary.port()}}, {"mirror", {mirror.port()}}}));
  ASSERT_TRUE(proxy.started()) << proxy.logs();
  HttpConnection connection(proxy.listenerPort("http"));
  for (int i = 0; i < 5; ++i) {
    const auto response =
        connection.request("POST", "/echo", {{"host", "reviews:9080"}}, std::string(1000, 'x'));
    EXPECT_EQ(response.header("x-backend"), "a") << "the client only sees the primary";
  }
  ASSERT_TRUE(mirror.waitForRequests(5, 10s));
  const auto copies = mirror.requests();
  EXPECT_EQ(copies[0].header("host"), "reviews-shadow:9080");
  EXPECT_EQ(copies[0].body.size(), 1000u);
  EXPECT_EQ(primary.requestCount(), 5u);
}

TEST(MirrorTest, RuntimeFractionMirrorsAShare) {
  HttpBackend primary{"a"};
  HttpBackend mirror{"b"};
  MeshProxy proxy(httpBootstrap(
      mirroredRoutes("runtime_fraction: { default_value: { numerator: 50, denominator: HUNDRED } "
                     "}"),
      {{"primary", {primary.port()}}, {"mirror", {mirror.port()}}}));
  ASSERT_TRUE(proxy.started()) << proxy.logs();
  HttpConnection connection(proxy.listenerPort("http"));
  constexpr int kRequests = 200;
  for (int i = 0; i < kRequests; ++i) {
    ASSERT_EQ(connection.request("GET", "/echo").status, 200);
  }
  // Binomial(200, 0.5): mean 100, sigma ~7; let the last copies arrive, then 6 sigma either way.
  mirror.waitForRequests(kRequests, 2s);
  EXPECT_NEAR(static_cast<int>(mirror.requestCount()), 100, 42);
}

TEST(MirrorTest, AMirrorThatNeverAnswersDoesNotHoldUpTheClient) {
  HttpBackend primary{"a"};
  uint16_t silentPort = 0;
  const int silent = listenLoopback(silentPort); // accepts (backlog) and never answers
  ASSERT_GE(silent, 0);
  MeshProxy proxy(
      httpBootstrap(mirroredRoutes(""), {{"primary", {primary.port()}}, {"mirror", {silentPort}}}));
  ASSERT_TRUE(proxy.started()) << proxy.logs();
  HttpConnection connection(proxy.listenerPort("http"));
  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(connection.request("GET", "/echo").status, 200);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s) << "the route timeout is 15 s";
  ::close(silent);
}

} // namespace
} // namespace meshd::testing
