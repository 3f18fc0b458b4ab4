// The local rate limit filter (envoy.filters.http.local_ratelimit) through mesh-proxy: a burst
// gets exactly max_tokens answers from the upstream across workers and 429s with the configured
// and x-ratelimit headers for the rest, tokens come back after fill_interval, a route's
// or virtual host's typed_per_filter_config has its own bucket, a per-connection bucket, and the
// stats.
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

constexpr const char* kType =
    "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit";

// A LocalRateLimit (YAML fields after @type) with the filter enabled and enforced for all.
std::string limit(const std::string& prefix, int max_tokens, const std::string& fill_interval,
                  const std::string& extra = "") {
  return fmt::format(R"("@type": {}
stat_prefix: {}
token_bucket: {{ max_tokens: {}, tokens_per_fill: {}, fill_interval: {} }}
filter_enabled: {{ default_value: {{ numerator: 100, denominator: HUNDRED }} }}
filter_enforced: {{ default_value: {{ numerator: 100, denominator: HUNDRED }} }}
{})",
                     kType, prefix, max_tokens, max_tokens, fill_interval, extra);
}

class LocalRateLimitTest : public ::testing::Test {
protected:
  // `filter`: the chain filter's config; `routes`: route items before the catch-all.
  void start(const std::string& filter, const std::string& routes = "",
             const std::string& concurrency = "2") {
    const std::string routeConfig = fmt::format(R"(
name: local
virtual_hosts:
- name: all
  domains: ["*"]
  routes:
{}
  - match: {{ prefix: "/" }}
    route: {{ cluster: backend }}
)",
                                                reindent(routes, 2));
    proxy_ = std::make_unique<MeshProxy>(
        httpBootstrap(routeConfig, {{"backend", {backend_.port()}}}, "",
                      "- name: envoy.filters.http.local_ratelimit\n  typed_config:\n" +
                          reindent(filter, 4)),
        std::vector<std::string>{"--concurrency", concurrency});
    ASSERT_TRUE(proxy_->started()) << proxy_->logs();
    port_ = proxy_->listenerPort("http");
  }
  // Statuses of `n` requests, each on its own connection (so both workers take part).
  std::map<int, int> burst(const std::string& target, int n) {
    std::map<int, int> out;
    for (int i = 0; i < n; ++i) {
      ++out[fetchGet(port_, target).status];
    }
    return out;
  }

  HttpBackend backend_{"a"};
  std::unique_ptr<MeshProxy> proxy_;
  uint16_t port_ = 0;
};

TEST_F(LocalRateLimitTest, BurstGetsExactlyMaxTokensThenTheLimitStatusWithHeaders) {
  ASSERT_NO_FATAL_FAILURE(start(limit("http_local_rate_limiter", 3, "3600s", R"(
status: { code: 503 }
response_headers_to_add:
- header: { key: x-local-rate-limit, value: "true" }
enable_x_ratelimit_headers: DRAFT_VERSION_03)")));
  EXPECT_EQ(burst("/echo", 3), (std::map<int, int>{{200, 3}}));
  const HttpResponse limited = fetchGet(port_, "/echo");
  EXPECT_EQ(limited.status, 503);
  EXPECT_EQ(limited.body, "local_rate_limited");
  EXPECT_EQ(limited.header("x-local-rate-limit"), "true");
  EXPECT_EQ(limited.header("x-ratelimit-limit"), "3");
  EXPECT_EQ(limited.header("x-ratelimit-remaining"), "0");
  EXPECT_TRUE(limited.has("x-ratelimit-reset"));
  EXPECT_EQ(burst("/echo", 6), (std::map<int, int>{{503, 6}}));
  EXPECT_EQ(backend_.requestCount(), 3u) << "limited requests never reach the upstream";
  const std::string prefix = "http_local_rate_limiter.http_local_rate_limit.";
  EXPECT_EQ(statOf(*proxy_, prefix + "enabled"), "10");
  EXPECT_EQ(statOf(*proxy_, prefix + "ok"), "3");
  EXPECT_EQ(statOf(*proxy_, prefix + "rate_limited"), "7");
  EXPECT_EQ(statOf(*proxy_, prefix + "enforced"), "7");
}

TEST_F(LocalRateLimitTest, AllowedResponsesCarryTheRateLimitHeaders) {
  ASSERT_NO_FATAL_FAILURE(
      start(limit("rl", 2, "3600s", "enable_x_ratelimit_headers: DRAFT_VERSION_03")));
  const HttpResponse first = fetchGet(port_, "/echo");
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(first.header("x-ratelimit-limit"), "2");
  EXPECT_EQ(first.header("x-ratelimit-remaining"), "1");
  EXPECT_EQ(fetchGet(port_, "/echo").status, 200);
  EXPECT_EQ(fetchGet(port_, "/echo").status, 429) << "Envoy's default status";
}

TEST_F(LocalRateLimitTest, TokensComeBackAfterTheFillInterval) {
  ASSERT_NO_FATAL_FAILURE(start(limit("rl", 2, "1s")));
  // Drain the bucket (a refill may land in between: keep going until a request is limited).
  ASSERT_TRUE(waitFor([&] { return fetchGet(port_, "/echo").status == 429; }, 10s));
  ASSERT_TRUE(waitFor([&] { return fetchGet(port_, "/echo").status == 200; }, 10s))
      << "a token after fill_interval";
}

TEST_F(LocalRateLimitTest, RouteConfigHasItsOwnBucket) {
  ASSERT_NO_FATAL_FAILURE(
      start(limit("chain", 3, "3600s"), fmt::format(R"(
- match: {{ prefix: "/limited" }}
  route: {{ cluster: backend }}
  typed_per_filter_config:
    envoy.filters.http.local_ratelimit:
{})",
                                                    reindent(limit("route", 1, "3600s"), 6))));
  EXPECT_EQ(burst("/limited", 3), (std::map<int, int>{{200, 1}, {429, 2}}));
  EXPECT_EQ(burst("/other", 4), (std::map<int, int>{{200, 3}, {429, 1}}));
  EXPECT_EQ(statOf(*proxy_, "route.http_local_rate_limit.enforced"), "2");
  EXPECT_EQ(statOf(*proxy_, "chain.http_local_rate_limit.enforced"), "1");
}

TEST_F(LocalRateLimitTest, VirtualHostConfigAppliesToItsRoutesWithoutTheirOwn) {
  const std::string routeConfig =
      fmt::format(R"(
name: local
virtual_hosts:
- name: limited
  domains: ["limited.example"]
  typed_per_filter_config:
    envoy.filters.http.local_ratelimit:
{}
  routes:
  - match: {{ prefix: "/own" }}
    route: {{ cluster: backend }}
    typed_per_filter_config:
      envoy.filters.http.local_ratelimit:
{}
  - match: {{ prefix: "/" }}
    route: {{ cluster: backend }}
- name: all
  domains: ["*"]
  routes:
  - match: {{ prefix: "/" }}
    route: {{ cluster: backend }}
)",
                  reindent(limit("vhost", 1, "3600s"), 6), reindent(limit("own", 2, "3600s"), 8));
  proxy_ = std::make_unique<MeshProxy>(
      httpBootstrap(routeConfig, {{"backend", {backend_.port()}}}, "",
                    "- name: envoy.filters.http.local_ratelimit\n  typed_config:\n" +
                        reindent(limit("chain", 5, "3600s"), 4)));
  ASSERT_TRUE(proxy_->started()) << proxy_->logs();
  port_ = proxy_->listenerPort("http");
  auto statuses = [&](const std::string& host, const std::string& target, int n) {
    std::map<int, int> out;
    for (int i = 0; i < n; ++i) {
      ++out[fetchGet(port_, target, {{"host", host}}).status];
    }
    return out;
  };
  EXPECT_EQ(statuses("limited.example", "/x", 3), (std::map<int, int>{{200, 1}, {429, 2}}));
  EXPECT_EQ(statuses("limited.example", "/own", 3), (std::map<int, int>{{200, 2}, {429, 1}}));
  EXPECT_EQ(statuses("other.example", "/x", 3), (std::map<int, int>{{200, 3}}));
  EXPECT_EQ(statOf(*proxy_, "vhost.http_local_rate_limit.enforced"), "2");
  EXPECT_EQ(statOf(*proxy_, "own.http_local_rate_limit.enforced"), "1");
  EXPECT_EQ(statOf(*proxy_, "chain.http_local_rate_limit.ok"), "3");
}

TEST_F(LocalRateLimitTest, PerConnectionBucketsAreSeparate) {
  ASSERT_NO_FATAL_FAILURE(
      start(limit("conn", 2, "3600s", "local_rate_limit_per_downstream_connection: true")));
  for (int c = 0; c < 2; ++c) {
    HttpConnection connection(port_);
    EXPECT_EQ(connection.request("GET", "/echo").status, 200);
    EXPECT_EQ(connection.request("GET", "/echo").status, 200);
    EXPECT_EQ(connection.request("GET", "/echo").status, 429) << "connection " << c;
  }
}

// The filters act in http_filters order: a fault abort before the rate limit takes no token; the
// rate limit before a fault answers first.
TEST_F(LocalRateLimitTest, FiltersActInTheirChainOrder) {
  const std::string fault =
      "- name: envoy.filters.http.fault\n  typed_config:\n    \"@type\": "
      "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault\n    abort: { "
      "header_abort: {}, percentage: { numerator: 100 } }\n";
  const std::string rateLimit = "- name: envoy.filters.http.local_ratelimit\n  typed_config:\n" +
                                reindent(limit("order", 1, "3600s"), 4);
  for (const bool faultFirst : {true, false}) {
    MeshProxy proxy(httpBootstrap(catchAllRoutes("backend"), {{"backend", {backend_.port()}}}, "",
                                  faultFirst ? fault + rateLimit : rateLimit + fault));
    ASSERT_TRUE(proxy.started()) << proxy.logs();
    const uint16_t port = proxy.listenerPort("http");
    const HeaderList abort = {{"x-envoy-fault-abort-request", "418"}};
    EXPECT_EQ(fetchGet(port, "/echo", abort).status, 418);
    if (faultFirst) {
      EXPECT_EQ(fetchGet(port, "/echo").status, 200) << "the abort took no token";
      EXPECT_EQ(fetchGet(port, "/echo", abort).status, 418) << "the fault answers first";
    } else {
      EXPECT_EQ(fetchGet(port, "/echo").status, 429) << "the aborted request took the token";
      EXPECT_EQ(fetchGet(port, "/echo", abort).status, 429) << "the rate limit answers first";
    }
  }
}

TEST_F(LocalRateLimitTest, DirectResponsesTakeTokensToo) {
  ASSERT_NO_FATAL_FAILURE(start(limit("direct", 2, "3600s"), R"(
- match: { prefix: "/direct" }
  direct_response: { status: 200, body: { inline_string: "direct" } })"));
  EXPECT_EQ(burst("/direct", 3), (std::map<int, int>{{200, 2}, {429, 1}}));
  EXPECT_EQ(fetchGet(port_, "/echo").status, 429) << "one bucket for the whole chain";
  EXPECT_EQ(backend_.requestCount(), 0u);
}

TEST_F(LocalRateLimitTest, DisabledByDefault) {
  ASSERT_NO_FATAL_FAILURE(start(fmt::format(R"("@type": {}
stat_prefix: disabled
token_bucket: {{ max_tokens: 1, fill_interval: 3600s }})",
                                            kType)));
  EXPECT_EQ(burst("/echo", 3), (std::map<int, int>{{200, 3}}));
  EXPECT_EQ(statOf(*proxy_, "disabled.http_local_rate_limit.enabled"), "0");
}

} // namespace
} // namespace meshd::testing
