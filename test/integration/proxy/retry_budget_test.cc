// Retry load under concurrency through mesh-proxy: a retry budget (circuit_breakers retry_budget)
// keeps the upstream load near the client load when half the requests fail, where a plain retry
// policy nearly doubles it; the previous_hosts retry host predicate moves a retry off the host
// that failed; the x-envoy-upstream-rq-per-try-timeout-ms header; LEAST_REQUEST steering load
// away from a slow endpoint. Load is bounded: a few hundred requests from a few client threads.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "fmt/format.h"
#include "test/integration/proxy/http_test_helpers.h"
#include "test/support/http_backend.h"
#include "test/support/mesh_proxy.h"
#include "test/support/process.h"
#include "test/support/temp_dir.h"
#include "gtest/gtest.h"

namespace meshd::testing {
namespace {

using namespace std::chrono_literals;

struct LoadResult {
  int sent = 0;
  int ok = 0;     // 200 responses
  int failed = 0; // other statuses or broken exchanges
};

// `clients` threads, each on its own keep-alive connection, send `per_client` GETs of `target`.
LoadResult runLoad(uint16_t port, const std::string& target, int clients, int per_client,
                   const HeaderList& headers = {}) {
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&] {
      HttpConnection connection(port);
      for (int i = 0; i < per_client; ++i) {
        const auto response = connection.request("GET", target, headers);
        if (response.complete && response.status == 200) {
          ++ok;
        }
        if (!response.complete || connection.peerClosed()) {
          return; // the rest of this client's requests count as failures
        }
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  LoadResult result;
  result.sent = clients * per_client;
  result.ok = ok.load();
  result.failed = result.sent - result.ok;
  return result;
}

// 24 concurrent requests: 20% of them is 4.8, truncated to 4 retries at once (above the minimum of
// 3). Retries may then be 4 of every 24 attempts under way, so the upstream sees at most about
// 24/20 = 1.2x the client requests, plus a little: a retry chain runs back to back while the
// clients' own requests have gaps between them.
constexpr int kClients = 24;
constexpr int kRequestsPerClient = 17; // 408 client requests

// Every other request fails (503); retries on 5xx up to 3 times. Returns upstream / client.
double upstreamRatio(const std::string& thresholds, std::map<std::string, std::string>* stats) {
  HttpBackend backend("flaky");
  MeshProxy proxy(
      httpBootstrap(
          catchAllRoutes("backend", "retry_policy: { retry_on: 5xx, num_retries: 3, "
                                    "retry_back_off: { base_interval: 0.002s } }"),
          {{"backend",
            {backend.port()},
            fmt::format("circuit_breakers: {{ thresholds: [ {{ {} }} ] }}", thresholds)}}),
      std::vector<std::string>{"--concurrency", "2"});
  EXPECT_TRUE(proxy.started()) << proxy.logs();
  if (!proxy.started()) {
    return 0;
  }
  const LoadResult load =
      runLoad(proxy.listenerPort("http"), "/flaky/2", kClients, kRequestsPerClient);
  const size_t upstream = backend.requestCount();
  const double ratio = static_cast<double>(upstream) / load.sent;
  std::printf("[ retry load ] thresholds {%s}: %d client requests (%d ok), %zu upstream: ratio "
              "%.3f\n",
              thresholds.c_str(), load.sent, load.ok, upstream, ratio);
  if (stats != nullptr) {
    *stats = proxyStats(proxy);
  }
  return ratio;
}

TEST(RetryBudgetTest, ABudgetKeepsUpstreamLoadNearClientLoad) {
  std::map<std::string, std::string> stats;
  const double budgeted = upstreamRatio(
      "retry_budget: { budget_percent: { value: 20 } }, track_remaining: true", &stats);
  EXPECT_GT(budgeted, 1.0) << "some requests were retried";
  EXPECT_LE(budgeted, 1.3);
  EXPECT_NE(stats["cluster.backend.upstream_rq_retry_overflow"], "0")
      << "the budget refused retries";
  EXPECT_EQ(stats["cluster.backend.circuit_breakers.default.remaining_retries"], "0")
      << "not tracked under a budget, as Envoy";

  // The same load with a fixed limit high enough never to bind: close to 1 + 1/2 + 1/4 + 1/8.
  const double unbudgeted = upstreamRatio("max_retries: 1000", &stats);
  EXPECT_GT(unbudgeted, 1.5);
  EXPECT_EQ(stats["cluster.backend.upstream_rq_retry_overflow"], "0");
  EXPECT_GT(unbudgeted, budgeted + 0.3);
}

TEST(RetryBudgetTest, MinRetryConcurrencyAllowsRetriesAtLowLoad) {
  // One request at a time: 20% of 1 is 0 retries, but min_retry_concurrency (3) still allows one.
  HttpBackend backend("flaky");
  MeshProxy proxy(httpBootstrap(
      catchAllRoutes("backend", "retry_policy: { retry_on: 5xx, num_retries: 1 }"),
      {{"backend",
        {backend.port()},
        "circuit_breakers: { thresholds: [ { retry_budget: { budget_percent: { value: 20 } } } ] "
        "}"}}));
  ASSERT_TRUE(proxy.started()) << proxy.logs();
  const auto response = fetchGet(proxy.listenerPort("http"), "/flaky/2");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(backend.requestCount(), 2u);
  EXPECT_EQ(statOf(proxy, "cluster.backend.upstream_rq_retry"), "1");
}

// Two endpoints: one refuses connections (nothing listens), one answers. RING_HASH on a header
// sends every attempt of a key to the same host, unless the previous_hosts predicate re-picks.
std::string hashedRetryBootstrap(uint16_t dead, uint16_t live, const std::string& predicate) {
  return httpBootstrap(
      catchAllRoutes("backend",
                     fmt::format("hash_policy: [ {{ header: {{ header_name: x-key }} }} ]\n"
                                 "retry_policy: {{ retry_on: connect-failure, num_retries: 1, "
                                 "retry_back_off: {{ base_interval: 0.002s }} {} }}",
                                 predicate)),
      {{"backend", {dead, live}, "lb_policy: RING_HASH"}});
}

int failuresOverKeys(uint16_t port) {
  int failures = 0;
  for (int i = 0; i < 24; ++i) {
    failures += fetchGet(port, "/", {{"x-key", fmt::format("key-{}", i)}}).status == 200 ? 0 : 1;
  }
  return failures;
}

TEST(RetryHostPredicateTest, PreviousHostsMovesTheRetryToAnotherHost) {
  HttpBackend live("live");
  const uint16_t dead = pickFreePort();
  MeshProxy avoiding(hashedRetryBootstrap(
      dead, live.port(),
      ", retry_host_predicate: [ { name: envoy.retry_host_predicates.previous_hosts, "
      "typed_config: { \"@type\": type.googleapis.com/"
      "envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate } } ], "
      "host_selection_retry_max_attempts: 5"));
  ASSERT_TRUE(avoiding.started()) << avoiding.logs();
  EXPECT_EQ(failuresOverKeys(avoiding.listenerPort("http")), 0);
  EXPECT_NE(statOf(avoiding, "cluster.backend.upstream_rq_retry"), "0")
      << "some keys hashed to the dead host first";

  // Without the predicate the retry of a key on the dead host goes there again.
  MeshProxy plain(hashedRetryBootstrap(dead, live.port(), ""));
  ASSERT_TRUE(plain.started()) << plain.logs();
  EXPECT_GT(failuresOverKeys(plain.listenerPort("http")), 0);
}

TEST(RetryHostPredicateTest, UnknownPredicateIsRejected) {
  TempDir dir;
  const auto file = dir.write(
      "b.yaml", httpBootstrap(catchAllRoutes("backend",
                                             "retry_policy: { retry_host_predicate: [ { name: "
                                             "envoy.retry_host_predicates.omit_canary_hosts } ] }"),
                              {{"backend", {1}, ""}}));
  Process proxy({.argv = {(binaryDir() / "mesh-proxy").string(), "-c", file.string()}});
  EXPECT_EQ(proxy.wait(30s), 1);
  EXPECT_NE(proxy.errors().find("retry_host_predicate[0]"), std::string::npos) << proxy.errors();
}

TEST(PerTryTimeoutHeaderTest, HeaderSetsThePerTryTimeoutAndIsConsumed) {
  HttpBackend backend("slow");
  MeshProxy proxy(
      httpBootstrap(catchAllRoutes("backend", "timeout: 5s"), {{"backend", {backend.port()}, ""}}));
  ASSERT_TRUE(proxy.started()) << proxy.logs();
  const uint16_t port = proxy.listenerPort("http");
  // No retry policy: the per-try timeout still bounds the one attempt (504, as Envoy).
  const auto timedOut =
      fetchGet(port, "/delay/3000", {{"x-envoy-upstream-rq-per-try-timeout-ms", "200"}});
  EXPECT_EQ(timedOut.status, 504);
  EXPECT_EQ(timedOut.body, "upstream request timeout");
  EXPECT_EQ(statOf(proxy, "cluster.backend.upstream_rq_per_try_timeout"), "1");
  EXPECT_EQ(statOf(proxy, "cluster.backend.upstream_rq_timeout"), "0")
      << "the route timeout's counter, as Envoy's";
  const auto echoed = fetchGet(port, "/echo", {{"x-envoy-upstream-rq-per-try-timeout-ms", "1000"}});
  EXPECT_EQ(echoed.body.find("x-envoy-upstream-rq-per-try-timeout-ms"), std::string::npos)
      << "consumed, not forwarded: " << echoed.body;
}

TEST(AttemptCountTest, VirtualHostAddsTheAttemptCount) {
  HttpBackend backend("b");
  MeshProxy proxy(httpBootstrap(R"(
    virtual_hosts:
    - name: all
      domains: ["*"]
      include_request_attempt_count: true
      include_attempt_count_in_response: true
      routes:
      - match: { prefix: / }
        route: { cluster: backend, retry_policy: { retry_on: 5xx, num_retries: 2 } }
  )",
                                {{"backend", {backend.port()}, ""}}));
  ASSERT_TRUE(proxy.started()) << proxy.logs();
  const uint16_t port = proxy.listenerPort("http");
  ASSERT_EQ(fetchGet(port, "/flaky/2").status, 200); // the first attempt failed
  const auto requests = backend.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].header("x-envoy-attempt-count"), "1");
  EXPECT_EQ(requests[1].header("x-envoy-attempt-count"), "2");
  const auto second = fetchGet(port, "/echo");
  EXPECT_EQ(second.header("x-envoy-attempt-count"), "1");
}

// Requests per endpoint with one endpoint answering 200 ms late, under concurrent load.
std::pair<size_t, size_t> slowAndFastCounts(const std::string& lb_policy) {
  HttpBackend slow("slow");
  HttpBackend fast("fast");
  slow.setResponseDelay(200ms);
  MeshProxy proxy(httpBootstrap(catchAllRoutes("backend"),
                                {{"backend", {slow.port(), fast.port()}, lb_policy}}),
                  std::vector<std::string>{"--concurrency", "1"});
  EXPECT_TRUE(proxy.started()) << proxy.logs();
  if (!proxy.started()) {
    return {0, 0};
  }
  const LoadResult load = runLoad(proxy.listenerPort("http"), "/", 16, 20);
  EXPECT_EQ(load.ok, load.sent);
  std::printf("[ least request ] %s: slow endpoint %zu, fast endpoint %zu of %d requests\n",
              lb_policy.c_str(), slow.requestCount(), fast.requestCount(), load.sent);
  return {slow.requestCount(), fast.requestCount()};
}

TEST(LeastRequestTest, SlowEndpointGetsLessTraffic) {
  const auto [slow, fast] = slowAndFastCounts("lb_policy: LEAST_REQUEST");
  // Two choices among two hosts: the slow one wins mostly when both draws are it (about 1/4 of the
  // picks; measured 25-31%). Round robin, below, gives it half.
  EXPECT_LT(static_cast<double>(slow), 0.4 * static_cast<double>(slow + fast));
  // Round robin, for contrast, splits evenly whatever the latency.
  const auto [rrSlow, rrFast] = slowAndFastCounts("lb_policy: ROUND_ROBIN");
  EXPECT_NEAR(static_cast<double>(rrSlow), static_cast<double>(rrFast), 2.0);
}

} // namespace
} // namespace meshd::testing
