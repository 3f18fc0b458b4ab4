// Unit tests for the retry resilience pieces that are pure: the retry budget arithmetic and the
// circuit breaker that applies it, the previous_hosts host selection, RING_HASH re-picks, the
// retry policy and attempt count fields of a route config, and which peers are internal.
#include <boost/asio/ip/address.hpp>

#include "core/stats/store.h"
#include "core/yaml_json.h"
#include "google/protobuf/util/json_util.h"
#include "proxy/http/envoy_request_headers.h"
#include "proxy/router/retry_host_selection.h"
#include "proxy/router/route_table.h"
#include "proxy/upstream/cluster.h"
#include "proxy/upstream/resource_manager.h"
#include "proxy/upstream/retry_budget.h"
#include "gtest/gtest.h"

namespace meshd::proxy {
namespace {

using upstream::ResourceManager;

TEST(RetryBudgetTest, LimitIsTheShareOfRequestsInFlightButNeverBelowTheMinimum) {
  const config::RetryBudgetConfig defaults; // 20%, at least 3
  EXPECT_EQ(upstream::retryBudgetLimit(defaults, 0), 3u);
  EXPECT_EQ(upstream::retryBudgetLimit(defaults, 16), 3u); // 3.2 truncated
  EXPECT_EQ(upstream::retryBudgetLimit(defaults, 20), 4u); // exactly 4
  EXPECT_EQ(upstream::retryBudgetLimit(defaults, 24), 4u); // 4.8 truncated
  EXPECT_EQ(upstream::retryBudgetLimit(defaults, 1000), 200u);
  const config::RetryBudgetConfig strict{50.0, 0};
  EXPECT_EQ(upstream::retryBudgetLimit(strict, 1), 0u); // no minimum: no retry for one request
  EXPECT_EQ(upstream::retryBudgetLimit(strict, 7), 3u);
  const config::RetryBudgetConfig none{0.0, 2};
  EXPECT_EQ(upstream::retryBudgetLimit(none, 500), 2u);
}

TEST(RetryBudgetTest, CircuitBreakerFollowsTheRequestsInFlight) {
  stats::Store store;
  config::CircuitBreakerThresholds thresholds;
  thresholds.maxRetries = 1000; // replaced by the budget
  thresholds.retryBudget = config::RetryBudgetConfig{25.0, 1};
  thresholds.trackRemaining = true;
  auto manager = ResourceManager::create(store, "c", thresholds);
  // One request in flight: 25% of 1 is 0, the minimum allows 1.
  auto request = manager->tryAcquire(ResourceManager::Kind::kRequests);
  auto retry = manager->tryAcquire(ResourceManager::Kind::kRetries);
  EXPECT_TRUE(retry);
  EXPECT_FALSE(manager->tryAcquire(ResourceManager::Kind::kRetries));
  // Eight in flight: two retries at once.
  std::vector<ResourceManager::Slot> more;
  for (int i = 0; i < 7; ++i) {
    more.push_back(manager->tryAcquire(ResourceManager::Kind::kRequests));
  }
  EXPECT_EQ(manager->limit(ResourceManager::Kind::kRetries), 2u);
  auto second = manager->tryAcquire(ResourceManager::Kind::kRetries);
  EXPECT_TRUE(second);
  EXPECT_FALSE(manager->tryAcquire(ResourceManager::Kind::kRetries));
  // As Envoy, the remaining gauge is not tracked under a budget (one more retry would fit now).
  second.reset();
  const auto remaining = store.setGauge("cluster.circuit_breakers.default.remaining_retries",
                                        {{"envoy_cluster_name", "c"}});
  EXPECT_EQ(remaining.value(), 0);
  // Without the budget, max_retries applies again, and the gauge with it.
  thresholds.retryBudget.reset();
  manager->setThresholds(thresholds);
  EXPECT_EQ(manager->limit(ResourceManager::Kind::kRetries), 1000u);
  EXPECT_EQ(remaining.value(), 999);
  EXPECT_TRUE(manager->tryAcquire(ResourceManager::Kind::kRetries));
}

upstream::PickedHost host(uint16_t port) {
  return upstream::PickedHost{port,
                              config::Endpoint(boost::asio::ip::make_address("10.0.0.1"), port)};
}

TEST(RetryHostSelectionTest, PreviousHostsRepicksUntilAnUntriedHost) {
  router::PreviousHosts tried;
  tried.record(host(1));
  tried.record(host(2));
  std::vector<uint32_t> attempts;
  // The balancer answers 1, 2, 3, ... for successive re-picks.
  const router::HostPicker picker = [&](uint32_t attempt) {
    attempts.push_back(attempt);
    return std::optional(host(static_cast<uint16_t>(attempt + 1)));
  };
  EXPECT_EQ(router::pickRetryHost(picker, tried, true, 5)->index, 3u);
  EXPECT_EQ(attempts, (std::vector<uint32_t>{0, 1, 2}));
}

TEST(RetryHostSelectionTest, GivesUpOnTheLastPickAfterTheMaximum) {
  router::PreviousHosts tried;
  tried.record(host(7));
  int calls = 0;
  const router::HostPicker always7 = [&](uint32_t) {
    ++calls;
    return std::optional(host(7));
  };
  EXPECT_EQ(router::pickRetryHost(always7, tried, true, 2)->index, 7u);
  EXPECT_EQ(calls, 3); // the pick and two re-picks
}

TEST(RetryHostSelectionTest, WithoutThePredicateTheFirstPickIsUsed) {
  router::PreviousHosts tried;
  tried.record(host(7));
  int calls = 0;
  const router::HostPicker always7 = [&](uint32_t) {
    ++calls;
    return std::optional(host(7));
  };
  EXPECT_EQ(router::pickRetryHost(always7, tried, false, 5)->index, 7u);
  EXPECT_EQ(calls, 1);
  const router::HostPicker none = [](uint32_t) { return std::optional<upstream::PickedHost>(); };
  EXPECT_FALSE(router::pickRetryHost(none, tried, true, 5).has_value());
}

TEST(RetryHostSelectionTest, RingHashRepickMovesToAnotherHost) {
  stats::Store store;
  core::DefaultRandomGenerator random(1);
  upstream::WorkerLoadBalancers balancers(random);
  config::ClusterConfig cluster;
  cluster.name = "c";
  cluster.lbPolicy = config::LbPolicy::kRingHash;
  for (uint16_t port : {8000, 8001, 8002}) {
    config::HostConfig h;
    h.address = config::Endpoint(boost::asio::ip::make_address("10.0.0.1"), port);
    cluster.hosts.push_back(h);
  }
  upstream::Cluster built(cluster, store);
  for (int key = 0; key < 50; ++key) {
    upstream::PickContext context{upstream::hash64("key-" + std::to_string(key))};
    const size_t first = balancers.pick(built, context)->index;
    EXPECT_EQ(balancers.pick(built, context)->index, first) << "consistent";
    context.selectionAttempt = 1;
    EXPECT_NE(balancers.pick(built, context)->index, first) << key;
  }
}

envoy::config::route::v3::RouteConfiguration parseRoutes(const std::string& yaml) {
  envoy::config::route::v3::RouteConfiguration config;
  auto json = core::yamlToJson(yaml);
  EXPECT_TRUE(json.ok());
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(*json, &config).ok()) << *json;
  return config;
}

TEST(RetryPolicyConfigTest, PreviousHostsAndAttemptCountsAreCompiled) {
  auto table = router::RouteTable::build(parseRoutes(R"(
virtual_hosts:
- name: all
  domains: ["*"]
  include_request_attempt_count: true
  routes:
  - name: istio
    match: { prefix: /i }
    route:
      cluster: c
      retry_policy:
        retry_on: connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes
        num_retries: 2
        retry_host_predicate:
        - name: envoy.retry_host_predicates.previous_hosts
          typed_config: { "@type": type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate }
        host_selection_retry_max_attempts: 5
  - name: plain
    match: { prefix: / }
    route: { cluster: c, retry_policy: { retry_on: 5xx } }
)"),
                                         "route_config");
  ASSERT_TRUE(table.ok()) << table.status();
  const auto& vhost = (*table)->virtualHosts()[0];
  EXPECT_TRUE(vhost.includeRequestAttemptCount);
  EXPECT_FALSE(vhost.includeAttemptCountInResponse);
  const auto& istio = *vhost.routes[0].route.retryPolicy;
  EXPECT_TRUE(istio.avoidPreviousHosts);
  EXPECT_EQ(istio.hostSelectionMaxAttempts, 5u);
  // Istio's default: connect-failure, refused-stream, unavailable, cancelled and
  // retriable-status-codes.
  EXPECT_EQ(istio.retryOn,
            router::RetryPolicy::kConnectFailure | router::RetryPolicy::kRefusedStream |
                router::RetryPolicy::kGrpcUnavailable | router::RetryPolicy::kGrpcCancelled |
                router::RetryPolicy::kRetriableStatusCodes);
  const auto& plain = *vhost.routes[1].route.retryPolicy;
  EXPECT_EQ(plain.retryOn & router::RetryPolicy::kRefusedStream, 0u);
  EXPECT_FALSE(plain.avoidPreviousHosts);
  EXPECT_EQ(plain.hostSelectionMaxAttempts, 1u); // Envoy: "retrying once" when unset
}

TEST(RetryPolicyConfigTest, OtherPredicatesAreRefused) {
  auto table = router::RouteTable::build(parseRoutes(R"(
virtual_hosts: [{ name: v, domains: ["*"], routes: [{ match: { prefix: / }, route: { cluster: c, retry_policy: { retry_host_predicate: [{ name: envoy.retry_host_predicates.omit_canary_hosts }] } } }] }]
)"),
                                         "route_config");
  ASSERT_FALSE(table.ok());
  EXPECT_EQ(std::string(table.status().message()),
            "route_config.virtual_hosts[0].routes[0].route.retry_policy.retry_host_predicate[0]: "
            "retry host predicate 'envoy.retry_host_predicates.omit_canary_hosts' is not "
            "supported (supported: envoy.retry_host_predicates.previous_hosts)");
}

TEST(EnvoyRequestHeadersTest, InternalAddressesAreEnvoysDefaults) {
  for (const char* internal : {"10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1",
                               "127.0.0.1", "::1", "fd00::1", "::ffff:10.0.0.1"}) {
    EXPECT_TRUE(http::isInternalAddress(boost::asio::ip::make_address(internal))) << internal;
  }
  for (const char* external : {"8.8.8.8", "172.32.0.1", "172.15.255.255", "192.169.0.1",
                               "2001:db8::1", "fc00::1", "::ffff:8.8.8.8"}) {
    EXPECT_FALSE(http::isInternalAddress(boost::asio::ip::make_address(external))) << external;
  }
}

TEST(EnvoyRequestHeadersTest, ControlHeadersAreRemovedOthersKept) {
  http::HeaderMap headers;
  headers.add("x-envoy-upstream-rq-timeout-ms", "1");
  headers.add("x-envoy-upstream-rq-per-try-timeout-ms", "1");
  headers.add("x-envoy-retry-on", "5xx");
  headers.add("x-envoy-original-dst-host", "10.0.0.1:80");
  headers.add("x-request-id", "id");
  http::removeEnvoyRequestControlHeaders(headers);
  EXPECT_FALSE(headers.has("x-envoy-upstream-rq-timeout-ms"));
  EXPECT_FALSE(headers.has("x-envoy-upstream-rq-per-try-timeout-ms"));
  EXPECT_FALSE(headers.has("x-envoy-retry-on"));
  EXPECT_TRUE(headers.has("x-envoy-original-dst-host"));
  EXPECT_TRUE(headers.has("x-request-id"));
}

} // namespace
} // namespace meshd::proxy
