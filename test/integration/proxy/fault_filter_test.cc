// The fault filter (envoy.filters.http.fault) through mesh-proxy: aborts with an HTTP or gRPC
// status, delays, header-controlled faults, header matching, percentages, and the per-route
// config that Istio's VirtualService `fault` becomes.
#include <chrono>
#include <string>

#include "fmt/format.h"
#include "test/integration/proxy/http_test_helpers.h"
#include "test/support/http_backend.h"
#include "test/support/http_client.h"
#include "test/support/mesh_proxy.h"
#include "gtest/gtest.h"

namespace meshd::testing {
namespace {

using namespace std::chrono_literals;

constexpr const char* kFaultFilterType =
    "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault";

// A route on `prefix` to the backend with `fault` (an HTTPFault in YAML) as its per-route config.
std::string faultRoute(const std::string& prefix, const std::string& fault) {
  return fmt::format(R"(
- match: {{ prefix: "{}" }}
  route: {{ cluster: backend }}
  typed_per_filter_config:
    envoy.filters.http.fault:
      "@type": {}
{})",
                     prefix, kFaultFilterType, reindent(fault, 6));
}

class FaultFilterTest : public ::testing::Test {
protected:
  // `routes`: route list items (YAML); `filterConfig`: the fault filter's own HTTPFault fields.
  void start(const std::string& routes, const std::string& filterConfig = "",
             bool withFilter = true) {
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
    const std::string filter =
        withFilter
            ? fmt::format("- name: envoy.filters.http.fault\n  typed_config:\n    \"@type\": "
                          "{}\n{}",
                          kFaultFilterType, reindent(filterConfig, 4))
            : "";
    proxy_ = std::make_unique<MeshProxy>(
        httpBootstrap(routeConfig, {{"backend", {backend_.port()}}}, "", filter));
    ASSERT_TRUE(proxy_->started()) << proxy_->logs();
    port_ = proxy_->listenerPort("http");
  }

  HttpResponse send(const std::string& method, const std::string& target,
                    const HeaderList& headers = {}, const std::string& body = "") {
    HttpConnection connection(port_);
    return connection.request(method, target, headers, body);
  }

  HttpBackend backend_{"a"};
  std::unique_ptr<MeshProxy> proxy_;
  uint16_t port_ = 0;
};

TEST_F(FaultFilterTest, AbortAnswersWithoutReachingTheUpstream) {
  ASSERT_NO_FATAL_FAILURE(start(faultRoute("/abort", R"(
    abort:
      http_status: 503
      percentage: { numerator: 100, denominator: HUNDRED })") +
                                faultRoute("/grpc", R"(
    abort:
      grpc_status: 14
      percentage: { numerator: 100 })")));
  const auto aborted = send("GET", "/abort");
  EXPECT_EQ(aborted.status, 503);
  EXPECT_EQ(aborted.body, "fault filter abort");
  const auto grpc = send("POST", "/grpc", {{"content-type", "application/grpc"}});
  EXPECT_EQ(grpc.status, 200);
  EXPECT_EQ(grpc.header("grpc-status"), "14");
  EXPECT_EQ(backend_.requestCount(), 0u);
  EXPECT_EQ(send("GET", "/other").status, 200);
  EXPECT_TRUE(statReaches(*proxy_, "http.ingress.fault.aborts_injected", "2"));
}

TEST_F(FaultFilterTest, DelayHoldsTheRequestAndItsBody) {
  ASSERT_NO_FATAL_FAILURE(start(faultRoute("/echo", R"(
    delay:
      fixed_delay: 0.4s
      percentage: { numerator: 1000000, denominator: MILLION })")));
  const auto started = std::chrono::steady_clock::now();
  const auto response = send("POST", "/echo", {}, std::string(100000, 'x'));
  EXPECT_GE(std::chrono::steady_clock::now() - started, 400ms);
  EXPECT_EQ(response.status, 200);
  EXPECT_NE(response.body.find("body-length: 100000"), std::string::npos) << response.body;
  EXPECT_TRUE(statReaches(*proxy_, "http.ingress.fault.delays_injected", "1"));
}

TEST_F(FaultFilterTest, DelayThenAbort) {
  ASSERT_NO_FATAL_FAILURE(start(faultRoute("/both", R"(
    delay: { fixed_delay: 0.2s, percentage: { numerator: 100 } }
    abort: { http_status: 429, percentage: { numerator: 100 } })")));
  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(send("GET", "/both").status, 429);
  EXPECT_GE(std::chrono::steady_clock::now() - started, 200ms);
  EXPECT_EQ(backend_.requestCount(), 0u);
}

TEST_F(FaultFilterTest, HeaderControlledFaultsAndHeaderMatching) {
  // The filter's own config (no per-route one): faults only for requests from user jason, whose
  // status comes from a request header.
  ASSERT_NO_FATAL_FAILURE(start("", R"(
    abort:
      header_abort: {}
      percentage: { numerator: 100 }
    headers:
    - name: end-user
      string_match: { exact: jason })"));
  EXPECT_EQ(
      send("GET", "/", {{"end-user", "jason"}, {"x-envoy-fault-abort-request", "418"}}).status,
      418);
  EXPECT_EQ(
      send("GET", "/", {{"end-user", "someone"}, {"x-envoy-fault-abort-request", "418"}}).status,
      200);
  EXPECT_EQ(send("GET", "/", {{"end-user", "jason"}}).status, 200) << "no header, no abort";
}

TEST_F(FaultFilterTest, PercentageAbortsAShare) {
  ASSERT_NO_FATAL_FAILURE(start(faultRoute("/", R"(
    abort: { http_status: 500, percentage: { numerator: 50 } })")));
  HttpConnection connection(port_);
  int aborted = 0;
  constexpr int kRequests = 400;
  for (int i = 0; i < kRequests; ++i) {
    const auto response = connection.request("GET", "/");
    ASSERT_TRUE(response.complete);
    aborted += response.status == 500 ? 1 : 0;
  }
  // Binomial(400, 0.5): mean 200, sigma 10; 6 sigma either way.
  EXPECT_NEAR(aborted, 200, 60);
}

TEST_F(FaultFilterTest, PerRouteConfigNeedsTheFilterInTheChain) {
  ASSERT_NO_FATAL_FAILURE(start(faultRoute("/abort", R"(
    abort: { http_status: 503, percentage: { numerator: 100 } })"),
                                "", /*withFilter=*/false));
  EXPECT_EQ(send("GET", "/abort").status, 200);
}

TEST(FaultFilterVirtualHostTest, VirtualHostConfigAppliesToRoutesWithoutTheirOwn) {
  HttpBackend backend{"a"};
  const std::string routeConfig = fmt::format(R"(
name: local
virtual_hosts:
- name: all
  domains: ["*"]
  typed_per_filter_config:
    envoy.filters.http.fault:
      "@type": {}
      abort: {{ http_status: 418, percentage: {{ numerator: 100 }} }}
  routes:
{}
  - match: {{ prefix: "/" }}
    route: {{ cluster: backend }}
)",
                                              kFaultFilterType,
                                              reindent(faultRoute("/own", R"(
    abort:
      http_status: 503
      percentage: { numerator: 100 })"),
                                                       2));
  MeshProxy proxy(httpBootstrap(routeConfig, {{"backend", {backend.port()}}}, "",
                                fmt::format("- name: envoy.filters.http.fault\n  typed_config: "
                                            "{{ \"@type\": {} }}\n",
                                            kFaultFilterType)));
  ASSERT_TRUE(proxy.started()) << proxy.logs();
  const uint16_t port = proxy.listenerPort("http");
  EXPECT_EQ(fetchGet(port, "/any").status, 418);
  EXPECT_EQ(fetchGet(port, "/own").status, 503);
  EXPECT_EQ(backend.requestCount(), 0u);
}

TEST(FaultFilterConfigTest, ConfigsThatCannotBeHonouredAreRefusedWithTheField) {
  HttpBackend backend;
  const auto refused = [&](const std::string& route_fault, const std::string& filters) {
    MeshProxy proxy(httpBootstrap(fmt::format(R"(
name: local
virtual_hosts:
- name: all
  domains: ["*"]
  routes:
{})",
                                              reindent(faultRoute("/", route_fault), 2)),
                                  {{"backend", {backend.port()}}}, "", filters));
    EXPECT_FALSE(proxy.started());
    return proxy.logs();
  };
  const std::string filter = fmt::format(
      "- name: envoy.filters.http.fault\n  typed_config: {{ \"@type\": {} }}\n", kFaultFilterType);
  EXPECT_NE(refused("abort: { http_status: 99, percentage: { numerator: 1 } }", filter)
                .find("typed_per_filter_config['envoy.filters.http.fault'].abort.http_status: "
                      "must be in [200, 599]"),
            std::string::npos);
  EXPECT_NE(refused("max_active_faults: 3", filter)
                .find("max_active_faults: field is not supported by mesh-proxy"),
            std::string::npos);
  EXPECT_NE(refused("delay: { percentage: { numerator: 1 } }", filter)
                .find("delay: needs fixed_delay or header_delay"),
            std::string::npos);
  EXPECT_NE(refused("abort: { http_status: 503 }", filter + filter)
                .find("http_filters[1]: HTTP filter 'envoy.filters.http.fault' is not supported "
                      "here"),
            std::string::npos);
}

} // namespace
} // namespace meshd::testing
