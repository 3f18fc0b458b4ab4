// Tests for active health checking on simulated time with scripted probe results: hosts start
// failed and pending, the first success bypasses healthy_threshold, thresholds in a row, an
// unhealthy answer fails at once, timeouts are network failures, stats, host updates, and the
// server's set of checkers following cluster changes.
#include "proxy/server/health_checks.h"
#include "proxy/upstream/health_checker.h"

#include <deque>
#include <map>

#include "test/support/simulated_time.h"
#include "gtest/gtest.h"

namespace meshd::proxy::upstream {
namespace {

using namespace std::chrono_literals;
using Result = HealthProbe::Result;

// timeout 1 s, interval 5 s, unhealthy_threshold 3, healthy_threshold 2, an HTTP check.
config::HealthCheckConfig checkDefaults() {
  config::HealthCheckConfig config;
  config.timeout = 1s;
  config.interval = 5s;
  config.unhealthyThreshold = 3;
  config.healthyThreshold = 2;
  config.http = config::HealthCheckConfig::Http{.path = "/healthz"};
  return config;
}

// A probe that answers when the test says so (or never: a timeout).
class ScriptedProbe final : public HealthProbe {
public:
  explicit ScriptedProbe(Done done) : done_(std::move(done)) {}
  void cancel() override { done_ = nullptr; }
  void answer(Result result) {
    if (auto done = std::exchange(done_, nullptr)) {
      done(result);
    }
  }
  bool waiting() const { return done_ != nullptr; }

private:
  Done done_;
};

class HealthCheckerTest : public ::testing::Test {
protected:
  void start(config::HealthCheckConfig config, size_t host_count) {
    for (size_t i = 0; i < host_count; ++i) {
      config::HostConfig host;
      host.address = config::Endpoint(boost::asio::ip::make_address("10.0.0.1"),
                                      static_cast<uint16_t>(8000 + i));
      hosts_.push_back(host);
    }
    checker_ = std::make_unique<HealthChecker>(
        time_, random_, store_, "c", config,
        [this](const config::Endpoint& host, HealthProbe::Done done) {
          ++attempts_[host.port()];
          auto probe = std::make_shared<ScriptedProbe>(std::move(done));
          const auto scripted = script_.find(host.port());
          if (scripted != script_.end() && !scripted->second.empty()) {
            const Result result = scripted->second.front();
            scripted->second.pop_front();
            probe->answer(result); // answers before it is returned
          } else {
            probes_[host.port()] = probe;
          }
          return probe;
        },
        [this] { ++changes_; });
    checker_->setHosts(hosts_);
  }
  static config::HealthCheckConfig defaults() { return checkDefaults(); }
  void script(size_t i, std::initializer_list<Result> results) {
    for (Result result : results) {
      script_[port(i)].push_back(result);
    }
  }
  uint16_t port(size_t i) const { return hosts_[i].address.port(); }
  config::HostConfig marked(size_t i) const {
    auto hosts = hosts_;
    checker_->markHosts(hosts);
    return hosts[i];
  }
  uint64_t counter(const std::string& name) {
    return store_.counter("cluster.health_check." + name, {{"envoy_cluster_name", "c"}}, "")
        .value();
  }

  testing::SimulatedTime time_;
  core::DefaultRandomGenerator random_{7};
  stats::Store store_;
  std::vector<config::HostConfig> hosts_;
  std::unique_ptr<HealthChecker> checker_;
  std::map<uint16_t, std::deque<Result>> script_;
  std::map<uint16_t, std::shared_ptr<ScriptedProbe>> probes_;
  std::map<uint16_t, int> attempts_;
  int changes_ = 0;
};

TEST_F(HealthCheckerTest, HostsStartPendingAndTheFirstSuccessMakesThemHealthy) {
  start(defaults(), 2);
  EXPECT_TRUE(marked(0).failedActiveHc);
  EXPECT_TRUE(marked(0).pendingActiveHc);
  EXPECT_FALSE(marked(0).usable());
  EXPECT_EQ(checker_->pendingCount(), 2u);
  script(0, {Result::kHealthy});
  script(1, {Result::kNetworkFailure});
  time_.advance(0ms); // the first checks run at once (no initial_jitter)
  EXPECT_FALSE(marked(0).failedActiveHc) << "healthy_threshold 2 is bypassed by the first check";
  EXPECT_FALSE(marked(0).pendingActiveHc);
  EXPECT_TRUE(marked(0).usable());
  EXPECT_TRUE(marked(1).failedActiveHc);
  EXPECT_FALSE(marked(1).pendingActiveHc);
  EXPECT_EQ(checker_->healthyCount(), 1u);
  EXPECT_EQ(checker_->pendingCount(), 0u);
  EXPECT_EQ(changes_, 2);
  EXPECT_EQ(counter("attempt"), 2u);
  EXPECT_EQ(counter("success"), 1u);
  EXPECT_EQ(counter("failure"), 1u);
  EXPECT_EQ(counter("network_failure"), 1u);
}

TEST_F(HealthCheckerTest, NetworkFailuresCountToUnhealthyThresholdAndSuccessesToHealthy) {
  start(defaults(), 1);
  script(0, {Result::kHealthy, Result::kNetworkFailure, Result::kNetworkFailure,
             Result::kHealthy, // resets the run
             Result::kNetworkFailure, Result::kNetworkFailure, Result::kNetworkFailure,
             Result::kHealthy, Result::kHealthy});
  time_.advance(0ms);
  EXPECT_FALSE(marked(0).failedActiveHc);
  time_.advance(5s * 3); // two failures, a success
  EXPECT_FALSE(marked(0).failedActiveHc);
  time_.advance(5s * 2);
  EXPECT_FALSE(marked(0).failedActiveHc);
  time_.advance(5s); // the third failure in a row
  EXPECT_TRUE(marked(0).failedActiveHc);
  time_.advance(5s);
  EXPECT_TRUE(marked(0).failedActiveHc) << "one success of healthy_threshold 2";
  time_.advance(5s);
  EXPECT_FALSE(marked(0).failedActiveHc);
  EXPECT_EQ(attempts_[port(0)], 9);
}

TEST_F(HealthCheckerTest, AnUnhealthyAnswerFailsAtOnceAndRetriableOnesCount) {
  start(defaults(), 1);
  script(0, {Result::kHealthy, Result::kRetriableFailure, Result::kRetriableFailure,
             Result::kHealthy, Result::kUnhealthy});
  time_.advance(0ms);
  time_.advance(10s);
  EXPECT_FALSE(marked(0).failedActiveHc);
  time_.advance(5s);
  EXPECT_FALSE(marked(0).failedActiveHc);
  time_.advance(5s);
  EXPECT_TRUE(marked(0).failedActiveHc);
  EXPECT_EQ(counter("network_failure"), 0u);
  EXPECT_EQ(counter("failure"), 3u);
}

TEST_F(HealthCheckerTest, ATimeoutIsANetworkFailureAndTheNextCheckFollowsTheInterval) {
  auto config = defaults();
  config.unhealthyThreshold = 1;
  start(config, 1);
  script(0, {Result::kHealthy});
  time_.advance(0ms);
  EXPECT_FALSE(marked(0).failedActiveHc);
  time_.advance(5s); // a probe that does not answer
  ASSERT_TRUE(probes_[port(0)]->waiting());
  time_.advance(999ms);
  EXPECT_FALSE(marked(0).failedActiveHc);
  time_.advance(1ms);
  EXPECT_TRUE(marked(0).failedActiveHc);
  EXPECT_FALSE(probes_[port(0)]->waiting()) << "the timed-out probe is cancelled";
  EXPECT_EQ(counter("network_failure"), 1u);
  time_.advance(4999ms);
  EXPECT_EQ(attempts_[port(0)], 2);
  time_.advance(1ms);
  EXPECT_EQ(attempts_[port(0)], 3);
}

TEST_F(HealthCheckerTest, JitterStaysWithinItsBounds) {
  auto config = defaults();
  config.initialJitter = 2s;
  config.intervalJitter = 1s;
  config.intervalJitterPercent = 20; // up to 1 s more of the 5 s interval
  start(config, 1);
  for (int i = 0; i < 50; ++i) {
    script(0, {Result::kHealthy});
  }
  time_.advance(2s);
  EXPECT_EQ(attempts_[port(0)], 1);
  // Each later check comes 5 to 7 s after the previous one.
  time_.advance(20s);
  EXPECT_GE(attempts_[port(0)], 1 + 20 / 7);
  EXPECT_LE(attempts_[port(0)], 1 + 20 / 5);
}

TEST_F(HealthCheckerTest, HostsKeepTheirStateAcrossUpdatesAndGoneHostsStop) {
  start(defaults(), 2);
  script(0, {Result::kHealthy});
  script(1, {Result::kHealthy});
  time_.advance(0ms);
  EXPECT_FALSE(marked(0).failedActiveHc);
  // Host 1 goes, a new host 2 comes.
  config::HostConfig added;
  added.address = config::Endpoint(boost::asio::ip::make_address("10.0.0.2"), 9000);
  hosts_ = {hosts_[0], added};
  checker_->setHosts(hosts_);
  EXPECT_FALSE(marked(0).failedActiveHc) << "a host that stays keeps its state";
  EXPECT_TRUE(marked(1).pendingActiveHc) << "a new host is pending its first check";
  script(0, {Result::kHealthy});
  time_.advance(0ms);
  EXPECT_EQ(attempts_[9000], 1);
  time_.advance(5s);
  EXPECT_EQ(attempts_[8001], 1) << "the removed host is not checked any more";
  EXPECT_EQ(attempts_[8000], 2);
}

TEST_F(HealthCheckerTest, DestroyingTheCheckerCancelsProbesAndTimers) {
  start(defaults(), 1);
  time_.advance(0ms);
  ASSERT_TRUE(probes_[port(0)]->waiting());
  checker_.reset();
  EXPECT_FALSE(probes_[port(0)]->waiting());
  EXPECT_EQ(time_.armedTimers(), 0u);
}

// The server's set of checkers follows the config: kept while a cluster's health_checks stays,
// replaced when it changes, stopped when the cluster (or its health check) goes.
TEST(HealthChecksTest, CheckersFollowTheClusters) {
  testing::SimulatedTime time;
  core::DefaultRandomGenerator random{1};
  stats::Store store;
  int made = 0;
  int probing = 0; // probes started and not cancelled
  class CountedProbe final : public HealthProbe {
  public:
    explicit CountedProbe(int& count) : count_(count) { ++count_; }
    void cancel() override {
      if (!cancelled_) {
        cancelled_ = true;
        --count_;
      }
    }

  private:
    int& count_;
    bool cancelled_ = false;
  };
  server::HealthChecks checks([&](const std::string& cluster, const config::HealthCheckConfig& hc) {
    ++made;
    return std::make_unique<HealthChecker>(
        time, random, store, cluster, hc,
        [&](const config::Endpoint&, HealthProbe::Done) {
          return std::make_shared<CountedProbe>(probing);
        },
        nullptr);
  });
  config::ProxyConfig proxy;
  config::ClusterConfig cluster;
  cluster.name = "c";
  cluster.healthCheck = checkDefaults();
  config::HostConfig host;
  host.address = config::Endpoint(boost::asio::ip::make_address("10.0.0.1"), 80);
  cluster.hosts = {host};
  proxy.clusters["c"] = cluster;
  checks.apply(proxy);
  EXPECT_EQ(made, 1);
  EXPECT_TRUE(proxy.clusters["c"].hosts[0].pendingActiveHc);
  time.advance(0ms);
  EXPECT_EQ(probing, 1);
  checks.apply(proxy); // the same health check: the same checker
  EXPECT_EQ(made, 1);
  EXPECT_EQ(probing, 1);
  proxy.clusters["c"].healthCheck->interval = 7s; // changed: a new checker
  checks.apply(proxy);
  EXPECT_EQ(made, 2);
  EXPECT_EQ(probing, 0) << "the old checker's probe is cancelled";
  time.advance(0ms);
  EXPECT_EQ(probing, 1);
  proxy.clusters.erase("c");
  checks.apply(proxy);
  EXPECT_EQ(probing, 0);
  EXPECT_EQ(time.armedTimers(), 0u) << "nothing left running for the removed cluster";
}

} // namespace
} // namespace meshd::proxy::upstream
