// Unit tests for the load balancers and route hash policies (deterministic seeds; statistical
// checks use wide tolerances).
#include "proxy/upstream/load_balancer.h"

#include <map>

#include "core/stats/store.h"
#include "fmt/format.h"
#include "proxy/router/route_table.h"
#include "proxy/upstream/cluster.h"
#include "gtest/gtest.h"

namespace meshd::proxy::upstream {
namespace {

config::ClusterConfig clusterConfig(config::LbPolicy policy, std::vector<uint32_t> weights,
                                    std::vector<uint32_t> priorities = {},
                                    std::vector<bool> healthy = {}) {
  config::ClusterConfig config;
  config.name = "c";
  config.lbPolicy = policy;
  for (size_t i = 0; i < weights.size(); ++i) {
    config::HostConfig host;
    host.address = config::Endpoint(boost::asio::ip::make_address("10.0.0.1"),
                                    static_cast<uint16_t>(8000 + i));
    host.weight = weights[i];
    host.priority = i < priorities.size() ? priorities[i] : 0;
    host.healthy = i < healthy.size() ? healthy[i] : true;
    config.hosts.push_back(host);
  }
  return config;
}

std::map<size_t, int> distribution(WorkerLoadBalancers& balancers, const Cluster& cluster,
                                   int picks, std::function<PickContext(int)> context = {}) {
  std::map<size_t, int> counts;
  for (int i = 0; i < picks; ++i) {
    const auto picked = balancers.pick(cluster, context ? context(i) : PickContext{});
    EXPECT_TRUE(picked.has_value());
    ++counts[picked->index];
  }
  return counts;
}

TEST(LoadBalancerTest, RoundRobinRotatesAndWeightsAreExactPerCycle) {
  stats::Store store;
  core::DefaultRandomGenerator random(1);
  WorkerLoadBalancers balancers(random);
  Cluster uniform(clusterConfig(config::LbPolicy::kRoundRobin, {1, 1, 1}), store);
  EXPECT_EQ(balancers.pick(uniform)->index, 0u);
  EXPECT_EQ(balancers.pick(uniform)->index, 1u);
  EXPECT_EQ(balancers.pick(uniform)->index, 2u);
  EXPECT_EQ(balancers.pick(uniform)->index, 0u);

  Cluster weighted(clusterConfig(config::LbPolicy::kRoundRobin, {3, 1}), store);
  const auto counts = distribution(balancers, weighted, 400);
  EXPECT_EQ(counts.at(0), 300);
  EXPECT_EQ(counts.at(1), 100);
  // Smooth: the light host is never starved for more than a cycle.
  std::vector<size_t> order;
  for (int i = 0; i < 8; ++i) {
    order.push_back(balancers.pick(weighted)->index);
  }
  EXPECT_EQ(std::count(order.begin(), order.begin() + 4, 1u), 1);
}

TEST(LoadBalancerTest, RandomFollowsWeights) {
  stats::Store store;
  core::DefaultRandomGenerator random(7);
  WorkerLoadBalancers balancers(random);
  Cluster cluster(clusterConfig(config::LbPolicy::kRandom, {1, 3}), store);
  const auto counts = distribution(balancers, cluster, 10000);
  EXPECT_NEAR(counts.at(1), 7500, 300);
}

TEST(LoadBalancerTest, LeastRequestAvoidsBusyHosts) {
  stats::Store store;
  core::DefaultRandomGenerator random(3);
  WorkerLoadBalancers balancers(random);
  Cluster cluster(clusterConfig(config::LbPolicy::kLeastRequest, {1, 1}), store);
  for (int i = 0; i < 50; ++i) {
    balancers.requestStarted(cluster, 0);
  }
  const auto counts = distribution(balancers, cluster, 1000);
  // Host 0 wins only when both choices land on it: about a quarter of picks.
  EXPECT_NEAR(counts.at(0), 250, 80);
  for (int i = 0; i < 50; ++i) {
    balancers.requestFinished(cluster, 0);
  }
  const auto balanced = distribution(balancers, cluster, 1000);
  EXPECT_NEAR(balanced.at(0), 500, 100);
}

TEST(LoadBalancerTest, OnlyTheLowestPriorityWithHostsIsUsed) {
  stats::Store store;
  core::DefaultRandomGenerator random(1);
  WorkerLoadBalancers balancers(random);
  Cluster cluster(clusterConfig(config::LbPolicy::kRoundRobin, {1, 1, 1}, {1, 0, 2}), store);
  const auto counts = distribution(balancers, cluster, 10);
  EXPECT_EQ(counts.size(), 1u);
  EXPECT_EQ(counts.at(1), 10);
}

TEST(PriorityTest, LevelWithTooFewHealthyHostsSpillsToTheNext) {
  stats::Store store;
  core::DefaultRandomGenerator random(7);
  WorkerLoadBalancers balancers(random);
  // P0: two of four healthy (50% x 1.4 = 70% of the traffic); P1 takes the other 30%.
  Cluster cluster(clusterConfig(config::LbPolicy::kRoundRobin, {1, 1, 1, 1, 1, 1},
                                {0, 0, 0, 0, 1, 1}, {true, true, false, false, true, true}),
                  store);
  EXPECT_EQ(cluster.selection().loads(), (std::vector<uint32_t>{70, 30}));
  const auto counts = distribution(balancers, cluster, 10000);
  EXPECT_EQ(counts.count(2) + counts.count(3), 0u); // unhealthy hosts take nothing
  // Binomial(10000, 0.7): standard deviation 46; five of them.
  EXPECT_NEAR(counts.at(0) + counts.at(1), 7000, 230);
  EXPECT_NEAR(counts.at(4) + counts.at(5), 3000, 230);
}

TEST(PriorityTest, OverprovisioningKeepsAMostlyHealthyLevelWhole) {
  stats::Store store;
  // Four of five healthy: 80% x 1.4 caps at 100%, P1 gets nothing.
  Cluster cluster(clusterConfig(config::LbPolicy::kRandom, {1, 1, 1, 1, 1, 1}, {0, 0, 0, 0, 0, 1},
                                {true, true, true, true, false, true}),
                  store);
  EXPECT_EQ(cluster.selection().loads(), (std::vector<uint32_t>{100, 0}));
}

TEST(PriorityTest, LevelInPanicUsesAllItsHosts) {
  stats::Store store;
  core::DefaultRandomGenerator random(3);
  WorkerLoadBalancers balancers(random);
  // One of four healthy (25% < the 50% panic threshold), and no other level: all four serve.
  Cluster cluster(
      clusterConfig(config::LbPolicy::kRoundRobin, {1, 1, 1, 1}, {}, {true, false, false, false}),
      store);
  EXPECT_TRUE(cluster.selection().levels()[0].panic());
  EXPECT_EQ(distribution(balancers, cluster, 400).size(), 4u);
}

TEST(PriorityTest, NothingHealthyAnywhereGoesToTheFirstLevel) {
  stats::Store store;
  core::DefaultRandomGenerator random(3);
  WorkerLoadBalancers balancers(random);
  Cluster cluster(clusterConfig(config::LbPolicy::kLeastRequest, {1, 1, 1, 1}, {0, 0, 1, 1},
                                {false, false, false, false}),
                  store);
  EXPECT_EQ(cluster.selection().loads(), (std::vector<uint32_t>{100, 0}));
  const auto counts = distribution(balancers, cluster, 200);
  EXPECT_EQ(counts.count(2) + counts.count(3), 0u);
  EXPECT_EQ(counts.size(), 2u);
}

TEST(PriorityTest, ConsistentHashKeepsAKeyOnItsHostAcrossLevels) {
  stats::Store store;
  core::DefaultRandomGenerator random(3);
  WorkerLoadBalancers balancers(random);
  Cluster cluster(clusterConfig(config::LbPolicy::kMaglev, {1, 1, 1, 1, 1, 1}, {0, 0, 0, 0, 1, 1},
                                {true, true, false, false, true, true}),
                  store);
  for (uint64_t key = 0; key < 50; ++key) {
    const PickContext context{hash64(std::to_string(key)), std::nullopt};
    const auto first = balancers.pick(cluster, context);
    ASSERT_TRUE(first);
    for (int again = 0; again < 5; ++again) {
      EXPECT_EQ(balancers.pick(cluster, context)->index, first->index) << key;
    }
  }
}

class ConsistentHashTest : public ::testing::TestWithParam<config::LbPolicy> {};

TEST_P(ConsistentHashTest, SameKeySameHostWeightedShareAndMinimalDisruption) {
  stats::Store store;
  core::DefaultRandomGenerator random(1);
  WorkerLoadBalancers balancers(random);
  Cluster four(clusterConfig(GetParam(), {1, 1, 1, 1}), store);
  for (uint64_t key = 0; key < 50; ++key) {
    const PickContext context{hash64("user-" + std::to_string(key))};
    EXPECT_EQ(balancers.pick(four, context)->index, balancers.pick(four, context)->index);
  }
  auto byKey = [](int i) { return PickContext{hash64("key-" + std::to_string(i))}; };
  const auto counts = distribution(balancers, four, 8000, byKey);
  for (const auto& [host, count] : counts) {
    EXPECT_NEAR(count, 2000, 500) << host;
  }
  // Dropping the last host moves its own keys (a quarter) and few others: a ring or table that
  // rescales moves some (about a tenth), while hashing modulo the host count would move most.
  Cluster three(clusterConfig(GetParam(), {1, 1, 1}), store);
  int moved = 0;
  for (int i = 0; i < 4000; ++i) {
    const size_t before = balancers.pick(four, byKey(i))->index;
    const size_t after = balancers.pick(three, byKey(i))->index;
    if (before != 3 && before != after) {
      ++moved;
    }
  }
  EXPECT_LT(moved, 4000 / 5);

  Cluster weighted(clusterConfig(GetParam(), {1, 3}), store);
  const auto weightedCounts = distribution(balancers, weighted, 8000, byKey);
  EXPECT_NEAR(weightedCounts.at(1), 6000, 600);
}

INSTANTIATE_TEST_SUITE_P(Policies, ConsistentHashTest,
                         ::testing::Values(config::LbPolicy::kRingHash, config::LbPolicy::kMaglev));

TEST(LoadBalancerTest, EmptyClusterPicksNothing) {
  stats::Store store;
  core::DefaultRandomGenerator random(1);
  WorkerLoadBalancers balancers(random);
  Cluster empty(clusterConfig(config::LbPolicy::kRoundRobin, {}), store);
  EXPECT_FALSE(balancers.pick(empty).has_value());
}

TEST(HashPolicyTest, InputsCombineAndTerminalStops) {
  router::RouteAction action;
  action.hashPolicies = {{router::HashPolicy::Kind::kHeader, "x-user", false},
                         {router::HashPolicy::Kind::kCookie, "session", true},
                         {router::HashPolicy::Kind::kSourceIp, "", false}};
  http::HeaderMap headers;
  headers.add(":path", "/?a=1");
  EXPECT_EQ(action.requestHash(headers, ""), std::nullopt);
  const auto ipOnly = action.requestHash(headers, "10.1.2.3");
  EXPECT_EQ(ipOnly, hash64("10.1.2.3"));
  headers.add("cookie", "other=1; session=abc");
  const auto cookie = action.requestHash(headers, "10.1.2.3");
  EXPECT_EQ(cookie, hash64("abc")); // terminal: the source IP is not mixed in
  headers.add("x-user", "jason");
  EXPECT_NE(action.requestHash(headers, "10.1.2.3"), cookie);

  router::RouteAction query;
  query.hashPolicies = {{router::HashPolicy::Kind::kQueryParameter, "a", false}};
  EXPECT_EQ(query.requestHash(headers, ""), hash64("1"));
}

TEST(HashPolicyTest, CookieWithTtlIsMadeUpOnceAndHashesAlike) {
  router::RouteAction action;
  router::HashPolicy sticky{router::HashPolicy::Kind::kCookie, "sticky", false};
  sticky.cookieTtl = std::chrono::seconds(3600);
  sticky.cookiePath = "/app";
  action.hashPolicies = {sticky};
  http::HeaderMap first;
  std::optional<std::string> setCookie;
  const auto made = action.requestHash(first, "10.1.2.3", &setCookie);
  ASSERT_TRUE(made.has_value());
  ASSERT_TRUE(setCookie.has_value());
  const std::string value = fmt::format("{:016x}", hash64("10.1.2.3"));
  EXPECT_EQ(*setCookie, "sticky=\"" + value + "\"; Max-Age=3600; Path=/app; HttpOnly");
  // The client sends it back (quoted, as it came): same hash, no new cookie, whatever its address.
  http::HeaderMap second;
  second.add("cookie", "sticky=\"" + value + "\"");
  std::optional<std::string> again;
  EXPECT_EQ(action.requestHash(second, "10.9.9.9", &again), made);
  EXPECT_FALSE(again.has_value());
  // Without a ttl nothing is made up; a zero ttl makes a session cookie.
  action.hashPolicies[0].cookieTtl.reset();
  EXPECT_EQ(action.requestHash(first, "10.1.2.3", &again), std::nullopt);
  EXPECT_FALSE(again.has_value());
  action.hashPolicies[0].cookieTtl = std::chrono::seconds(0);
  action.hashPolicies[0].cookiePath.clear();
  action.requestHash(first, "10.1.2.3", &again);
  EXPECT_EQ(again, "sticky=\"" + value + "\"; HttpOnly");
}

} // namespace
} // namespace meshd::proxy::upstream
