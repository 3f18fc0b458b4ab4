// Tests for slow start (slow_start_config of ROUND_ROBIN and LEAST_REQUEST): the weight factor
// against Envoy's formula, picks over simulated time, join times kept across runtime rebuilds, and
// the config's validation.
#include <cmath>
#include <map>

#include "core/random.h"
#include "core/stats/store.h"
#include "core/yaml_json.h"
#include "google/protobuf/util/json_util.h"
#include "proxy/config/cluster_config.h"
#include "proxy/server/runtime.h"
#include "proxy/upstream/cluster.h"
#include "proxy/upstream/load_balancer.h"
#include "test/support/simulated_time.h"
#include "gtest/gtest.h"

namespace meshd::proxy::upstream {
namespace {

using std::chrono::seconds;

config::HostConfig host(uint16_t port) {
  config::HostConfig out;
  out.address = config::Endpoint(boost::asio::ip::make_address("10.0.0.1"), port);
  return out;
}

config::ClusterConfig slowStartCluster(config::LbPolicy policy, double aggression = 1.0,
                                       double min_percent = 10.0) {
  config::ClusterConfig config;
  config.name = "c";
  config.lbPolicy = policy;
  config.slowStart = config::SlowStartConfig{std::chrono::seconds(100), aggression, min_percent};
  config.hosts = {host(8000), host(8001)};
  return config;
}

// Host 0 joined long ago, host 1 at `joined`.
Cluster clusterWithNewHost(config::ClusterConfig config, stats::Store& store,
                           core::MonotonicTime joined) {
  Cluster::Shared shared;
  shared.hostJoinTimes = {core::MonotonicTime{}, joined};
  return Cluster(std::move(config), store, shared);
}

std::map<size_t, int> picks(WorkerLoadBalancers& balancers, const Cluster& cluster, int count) {
  std::map<size_t, int> counts;
  for (int i = 0; i < count; ++i) {
    ++counts[balancers.pick(cluster)->index];
  }
  return counts;
}

TEST(SlowStartTest, FactorFollowsEnvoysFormula) {
  stats::Store store;
  testing::SimulatedTime time;
  const auto joined = time.monotonicNow();
  Cluster linear =
      clusterWithNewHost(slowStartCluster(config::LbPolicy::kRoundRobin), store, joined);
  // The first second counts as one second: 1/100, below the 10% floor.
  EXPECT_DOUBLE_EQ(linear.slowStartFactor(1, joined), 0.1);
  EXPECT_DOUBLE_EQ(linear.slowStartFactor(1, joined + seconds(50)), 0.5);
  EXPECT_DOUBLE_EQ(linear.slowStartFactor(1, joined + seconds(100)), 1.0);
  EXPECT_DOUBLE_EQ(linear.slowStartFactor(0, joined), 1.0) << "an old host is out of its window";

  Cluster aggressive = clusterWithNewHost(
      slowStartCluster(config::LbPolicy::kRoundRobin, /*aggression=*/2.0, /*min_percent=*/0), store,
      joined);
  EXPECT_DOUBLE_EQ(aggressive.slowStartFactor(1, joined + seconds(25)), std::sqrt(0.25));
  EXPECT_DOUBLE_EQ(aggressive.slowStartFactor(1, joined + seconds(1)), std::sqrt(0.01));
}

TEST(SlowStartTest, RoundRobinRampsTheNewHostUp) {
  stats::Store store;
  testing::SimulatedTime time;
  core::DefaultRandomGenerator random(1);
  WorkerLoadBalancers balancers(random, time);
  Cluster cluster = clusterWithNewHost(slowStartCluster(config::LbPolicy::kRoundRobin), store,
                                       time.monotonicNow());
  EXPECT_TRUE(cluster.inSlowStart(time.monotonicNow()));
  // 0.1 against 1: the new host gets 1 pick in 11.
  auto counts = picks(balancers, cluster, 1100);
  EXPECT_EQ(counts[1], 100);
  time.advance(seconds(50)); // 0.5 against 1: 1 in 3
  counts = picks(balancers, cluster, 1200);
  EXPECT_EQ(counts[1], 400);
  time.advance(seconds(50)); // out of the window: even
  EXPECT_FALSE(cluster.inSlowStart(time.monotonicNow()));
  counts = picks(balancers, cluster, 1000);
  EXPECT_EQ(counts[1], 500);
}

TEST(SlowStartTest, LeastRequestDrawsByTheScaledWeights) {
  stats::Store store;
  testing::SimulatedTime time;
  core::DefaultRandomGenerator random(7);
  WorkerLoadBalancers balancers(random, time);
  Cluster cluster = clusterWithNewHost(slowStartCluster(config::LbPolicy::kLeastRequest), store,
                                       time.monotonicNow());
  // No request stays active, so the power of two choices keeps its first draw (the second never
  // has fewer): draws by weight 1 : 0.1 give the new host 1/11 (about 364 of 4000; sd 18).
  auto counts = picks(balancers, cluster, 4000);
  EXPECT_GT(counts[1], 250);
  EXPECT_LT(counts[1], 500);
  time.advance(seconds(100));
  counts = picks(balancers, cluster, 4000);
  EXPECT_GT(counts[1], 1700) << "after the window the draws are even (about 2000)";
}

TEST(SlowStartTest, RuntimeKeepsJoinTimesOfHostsThatStay) {
  stats::Store store;
  testing::SimulatedTime time;
  config::ProxyConfig first;
  auto cluster = slowStartCluster(config::LbPolicy::kRoundRobin);
  cluster.hosts = {host(8000)};
  first.clusters.emplace("c", cluster);
  const auto start = time.monotonicNow();
  auto runtime = server::Runtime::build(first, {}, store, nullptr, nullptr, time);
  time.advance(seconds(500));
  config::ProxyConfig second;
  cluster.hosts = {host(8000), host(8001)};
  second.clusters.emplace("c", cluster);
  auto next = server::Runtime::build(second, {}, store, runtime.get(), nullptr, time);
  const Cluster& rebuilt = *next->clusters.at("c");
  EXPECT_EQ(rebuilt.joinedAt(0), start) << "the host that stayed keeps its join time";
  EXPECT_EQ(rebuilt.joinedAt(1), time.monotonicNow()) << "the new host joins now";
  EXPECT_DOUBLE_EQ(rebuilt.slowStartFactor(0, time.monotonicNow()), 1.0);
  EXPECT_DOUBLE_EQ(rebuilt.slowStartFactor(1, time.monotonicNow()), 0.1);
}

absl::StatusOr<config::ClusterConfig> clusterFrom(const std::string& yaml) {
  auto json = core::yamlToJson(yaml);
  EXPECT_TRUE(json.ok()) << json.status();
  envoy::config::cluster::v3::Cluster proto;
  const auto parsed = google::protobuf::util::JsonStringToMessage(*json, &proto);
  EXPECT_TRUE(parsed.ok()) << parsed.message();
  return config::buildCluster(proto, "c");
}

TEST(SlowStartTest, ConfigIsParsedAndChecked) {
  auto parsed = clusterFrom(R"(
name: c
lb_policy: LEAST_REQUEST
least_request_lb_config:
  slow_start_config:
    slow_start_window: 30s
    aggression: { default_value: 1.5, runtime_key: upstream.istio.warmup.aggression }
    min_weight_percent: { value: 20 }
)");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_TRUE(parsed->slowStart.has_value());
  EXPECT_EQ(parsed->slowStart->window, std::chrono::seconds(30));
  EXPECT_DOUBLE_EQ(parsed->slowStart->aggression, 1.5);
  EXPECT_DOUBLE_EQ(parsed->slowStart->minWeightPercent, 20);

  auto noWindow = clusterFrom("name: c\nround_robin_lb_config: { slow_start_config: {} }\n");
  EXPECT_EQ(noWindow.status().message(),
            "c.round_robin_lb_config.slow_start_config.slow_start_window: must be positive");
  auto badAggression = clusterFrom(R"(
name: c
round_robin_lb_config:
  slow_start_config: { slow_start_window: 1s, aggression: { default_value: 0, runtime_key: k } }
)");
  EXPECT_EQ(badAggression.status().message(),
            "c.round_robin_lb_config.slow_start_config.aggression: must be greater than 0");
  auto badPercent = clusterFrom(R"(
name: c
round_robin_lb_config:
  slow_start_config: { slow_start_window: 1s, min_weight_percent: { value: 150 } }
)");
  EXPECT_EQ(badPercent.status().message(),
            "c.round_robin_lb_config.slow_start_config.min_weight_percent: must be between 0 and "
            "100");
  auto badPolicy = clusterFrom(R"(
name: c
lb_policy: RANDOM
round_robin_lb_config: { slow_start_config: { slow_start_window: 1s } }
)");
  EXPECT_EQ(badPolicy.status().message(),
            "c.lb_policy: slow start needs ROUND_ROBIN or LEAST_REQUEST");
}

} // namespace
} // namespace meshd::proxy::upstream
