// The CORS filter (envoy.filters.http.cors) through mesh-proxy, with the per-route and
// per-virtual-host CorsPolicy that Istio's VirtualService `corsPolicy` becomes: preflights are
// answered by the proxy, actual requests from an allowed origin get the CORS response headers,
// other origins get none, and the origin_valid / origin_invalid stats count them. Also with curl.
#include <string>

#include "fmt/format.h"
#include "test/integration/proxy/http_test_helpers.h"
#include "test/support/http_backend.h"
#include "test/support/mesh_proxy.h"
#include "gtest/gtest.h"

namespace meshd::testing {
namespace {

constexpr const char* kPolicyType =
    "type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy";

class CorsFilterTest : public ::testing::Test {
protected:
  // The virtual host allows https://web.example (max age 600, credentials); route /strict
  // narrows the methods and does not forward preflights from other origins. `withFilter`: the
  // connection manager has the CORS filter.
  void start(bool withFilter = true) {
    const std::string routeConfig = fmt::format(R"(
name: local
virtual_hosts:
- name: all
  domains: ["*"]
  typed_per_filter_config:
    envoy.filters.http.cors:
      "@type": {0}
      allow_origin_string_match: [ {{ exact: https://web.example }}, {{ suffix: .apps.example }} ]
      allow_methods: GET,POST
      allow_headers: content-type
      expose_headers: x-backend
      max_age: "600"
      allow_credentials: true
  routes:
  - match: {{ prefix: /strict }}
    route: {{ cluster: backend }}
    typed_per_filter_config:
      envoy.filters.http.cors:
        "@type": {0}
        allow_methods: DELETE
        forward_not_matching_preflights: false
  - match: {{ prefix: / }}
    route: {{ cluster: backend }}
)",
                                                kPolicyType);
    const std::string filter =
        withFilter ? "- name: envoy.filters.http.cors\n  typed_config:\n    \"@type\": "
                     "type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors\n"
                   : "";
    proxy_ = std::make_unique<MeshProxy>(
        httpBootstrap(routeConfig, {{"backend", {backend_.port()}}}, "", filter));
    ASSERT_TRUE(proxy_->started()) << proxy_->logs();
    port_ = proxy_->listenerPort("http");
  }

  HttpResponse preflight(const std::string& path, const std::string& origin) {
    return fetch(port_, "OPTIONS", path,
                 {{"origin", origin}, {"access-control-request-method", "POST"}});
  }

  HttpBackend backend_{"b"};
  std::unique_ptr<MeshProxy> proxy_;
  uint16_t port_ = 0;
};

TEST_F(CorsFilterTest, PreflightFromAnAllowedOriginIsAnsweredByTheProxy) {
  ASSERT_NO_FATAL_FAILURE(start());
  const auto response = preflight("/api", "https://web.example");
  EXPECT_EQ(response.status, 200);
  EXPECT_FALSE(response.has("x-backend")) << "the preflight reached the backend";
  EXPECT_EQ(response.header("access-control-allow-origin"), "https://web.example");
  EXPECT_EQ(response.header("access-control-allow-methods"), "GET,POST");
  EXPECT_EQ(response.header("access-control-allow-headers"), "content-type");
  EXPECT_EQ(response.header("access-control-max-age"), "600");
  EXPECT_EQ(response.header("access-control-allow-credentials"), "true");
  EXPECT_EQ(backend_.requestCount(), 0u);
  EXPECT_EQ(statOf(*proxy_, "http.ingress.cors.origin_valid"), "1");
}

TEST_F(CorsFilterTest, ActualRequestsGetCorsHeadersOnlyForAllowedOrigins) {
  ASSERT_NO_FATAL_FAILURE(start());
  const auto allowed = fetchGet(port_, "/api", {{"origin", "https://shop.apps.example"}});
  EXPECT_EQ(allowed.status, 200);
  EXPECT_EQ(allowed.header("x-backend"), "b");
  EXPECT_EQ(allowed.header("access-control-allow-origin"), "https://shop.apps.example");
  EXPECT_EQ(allowed.header("access-control-expose-headers"), "x-backend");
  EXPECT_EQ(allowed.header("access-control-allow-credentials"), "true");

  const auto denied = fetchGet(port_, "/api", {{"origin", "https://evil.example"}});
  EXPECT_EQ(denied.status, 200);
  EXPECT_FALSE(denied.has("access-control-allow-origin"));
  EXPECT_FALSE(denied.has("access-control-expose-headers"));
  EXPECT_FALSE(denied.has("access-control-allow-credentials"));

  const auto noOrigin = fetchGet(port_, "/api");
  EXPECT_FALSE(noOrigin.has("access-control-allow-origin"));
  EXPECT_EQ(statOf(*proxy_, "http.ingress.cors.origin_valid"), "1");
  EXPECT_EQ(statOf(*proxy_, "http.ingress.cors.origin_invalid"), "1");
}

TEST_F(CorsFilterTest, PreflightFromAnotherOriginIsForwardedOrAnsweredAsTheRouteSays) {
  ASSERT_NO_FATAL_FAILURE(start());
  // Forwarded (the default): the backend answers, with no CORS headers added.
  const auto forwarded = preflight("/api", "https://evil.example");
  EXPECT_EQ(forwarded.header("x-backend"), "b");
  EXPECT_FALSE(forwarded.has("access-control-allow-origin"));
  // Route /strict does not forward them: answered here, without allowing the origin; its own
  // methods replace the virtual host's, the rest comes from the virtual host.
  const auto answered = preflight("/strict", "https://evil.example");
  EXPECT_EQ(answered.status, 200);
  EXPECT_FALSE(answered.has("x-backend"));
  EXPECT_FALSE(answered.has("access-control-allow-origin"));
  EXPECT_EQ(answered.header("access-control-allow-methods"), "DELETE");
  EXPECT_EQ(answered.header("access-control-max-age"), "600");
  EXPECT_EQ(statOf(*proxy_, "http.ingress.cors.origin_invalid"), "2");
}

TEST_F(CorsFilterTest, WithoutTheFilterThePoliciesDoNothing) {
  ASSERT_NO_FATAL_FAILURE(start(/*withFilter=*/false));
  const auto response = preflight("/api", "https://web.example");
  EXPECT_EQ(response.header("x-backend"), "b");
  EXPECT_FALSE(response.has("access-control-allow-origin"));
}

TEST_F(CorsFilterTest, CurlPreflightSeesTheAllowHeaders) {
  ASSERT_NO_FATAL_FAILURE(start());
  const auto curl = runCurl({"-s", "-i", "-X", "OPTIONS", "-H", "Origin: https://web.example", "-H",
                             "Access-Control-Request-Method: GET",
                             fmt::format("http://127.0.0.1:{}/api", port_)});
  ASSERT_EQ(curl.exitCode, 0) << curl.errors;
  EXPECT_NE(curl.output.find("HTTP/1.1 200"), std::string::npos) << curl.output;
  EXPECT_NE(curl.output.find("access-control-allow-origin: https://web.example"), std::string::npos)
      << curl.output;
}

} // namespace
} // namespace meshd::testing
