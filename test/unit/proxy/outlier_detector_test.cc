// Tests for outlier detection on simulated time: consecutive 5xx, gateway and local-origin
// failures, max_ejection_percent, ejection time growing with repeat ejections, success rate and
// failure percentage.
#include "proxy/upstream/outlier_detector.h"

#include <deque>

#include "gtest/gtest.h"
#include "test/support/simulated_time.h"

namespace meshd::proxy::upstream {
namespace {

using namespace std::chrono_literals;
using Outcome = OutlierDetector::Outcome;

class OutlierDetectorTest : public ::testing::Test {
protected:
  void start(config::OutlierDetectionConfig config, size_t host_count) {
    for (size_t i = 0; i < host_count; ++i) {
      config::HostConfig host;
      host.address = config::Endpoint(boost::asio::ip::make_address("10.0.0.1"),
                                      static_cast<uint16_t>(8000 + i));
      hosts_.push_back(host);
    }
    detector_ = OutlierDetector::create(
        time_, [this](std::function<void()> task) { posted_.push_back(std::move(task)); }, time_,
        random_, store_, "c", config, [this] { ++changes_; });
    states_ = detector_->hostsFor(hosts_);
  }
  // Reports `outcome` n times for host i, then runs what was posted to the "main thread".
  void report(size_t i, Outcome outcome, int n = 1) {
    for (int k = 0; k < n; ++k) {
      detector_->report(states_[i], hosts_[i].address, outcome);
    }
    while (!posted_.empty()) {
      auto task = std::move(posted_.front());
      posted_.pop_front();
      task();
    }
  }
  bool ejected(size_t i) const { return detector_->ejected(hosts_[i].address); }

  testing::SimulatedTime time_;
  core::DefaultRandomGenerator random_{42};
  stats::Store store_;
  std::vector<config::HostConfig> hosts_;
  std::shared_ptr<OutlierDetector> detector_;
  std::vector<std::shared_ptr<OutlierDetector::Host>> states_;
  std::deque<std::function<void()>> posted_;
  int changes_ = 0;
};

TEST_F(OutlierDetectorTest, ConsecutiveServerErrorsEjectAndASuccessResetsTheCount) {
  config::OutlierDetectionConfig config;
  config.consecutive5xx = 3;
  config.maxEjectionPercent = 100;
  start(config, 2);
  report(0, Outcome::kServerError, 2);
  report(0, Outcome::kSuccess);
  report(0, Outcome::kServerError, 2);
  EXPECT_FALSE(ejected(0));
  report(0, Outcome::kServerError);
  EXPECT_TRUE(ejected(0));
  EXPECT_EQ(changes_, 1);
  EXPECT_FALSE(ejected(1));
}

TEST_F(OutlierDetectorTest, GatewayErrorsNeedTheirEnforcingPercentage) {
  config::OutlierDetectionConfig config;
  config.consecutive5xx = 0; // off
  config.consecutiveGatewayFailure = 2;
  config.maxEjectionPercent = 100;
  start(config, 2);
  report(0, Outcome::kGatewayError, 2);
  EXPECT_FALSE(ejected(0)) << "Envoy's default enforcing_consecutive_gateway_failure is 0";
  config.enforcingConsecutiveGatewayFailure = 100;
  hosts_.clear();
  start(config, 2);
  report(1, Outcome::kGatewayError, 2);
  EXPECT_TRUE(ejected(1));
}

TEST_F(OutlierDetectorTest, LocalOriginFailuresCountAsGatewayErrorsUnlessSplit) {
  config::OutlierDetectionConfig config;
  config.consecutive5xx = 2;
  config.maxEjectionPercent = 100;
  start(config, 1);
  report(0, Outcome::kLocalOriginFailure, 2);
  EXPECT_TRUE(ejected(0));

  config.splitExternalLocalOriginErrors = true;
  config.consecutiveLocalOriginFailure = 3;
  hosts_.clear();
  start(config, 1);
  report(0, Outcome::kLocalOriginFailure, 2);
  report(0, Outcome::kServerError); // counted apart
  EXPECT_FALSE(ejected(0));
  report(0, Outcome::kLocalOriginFailure);
  EXPECT_TRUE(ejected(0));
}

TEST_F(OutlierDetectorTest, MaxEjectionPercentLeavesTheRest) {
  config::OutlierDetectionConfig config;
  config.consecutive5xx = 1;
  config.maxEjectionPercent = 50;
  start(config, 4);
  report(0, Outcome::kServerError);
  report(1, Outcome::kServerError);
  report(2, Outcome::kServerError);
  EXPECT_TRUE(ejected(0));
  EXPECT_TRUE(ejected(1));
  EXPECT_FALSE(ejected(2)) << "a third would be 75%";
  EXPECT_EQ(detector_->ejectedCount(), 2u);
}

TEST_F(OutlierDetectorTest, EjectionTimeGrowsWithRepeatEjections) {
  config::OutlierDetectionConfig config;
  config.consecutive5xx = 1;
  config.maxEjectionPercent = 100;
  config.interval = 1s;
  config.baseEjectionTime = 3s;
  config.maxEjectionTime = 5s;
  start(config, 1);
  report(0, Outcome::kServerError);
  ASSERT_TRUE(ejected(0));
  time_.advance(2s);
  EXPECT_TRUE(ejected(0));
  time_.advance(1s); // 3 s: base × 1
  EXPECT_FALSE(ejected(0));
  report(0, Outcome::kServerError); // second ejection: 6 s, capped at 5 s
  ASSERT_TRUE(ejected(0));
  time_.advance(4s);
  EXPECT_TRUE(ejected(0));
  time_.advance(1s);
  EXPECT_FALSE(ejected(0));
  EXPECT_EQ(store_.counter("cluster.outlier_detection.ejections_enforced_total",
                           {{"envoy_cluster_name", "c"}})
                .value(),
            2u);
}

TEST_F(OutlierDetectorTest, SuccessRateEjectsTheOutlier) {
  config::OutlierDetectionConfig config;
  config.consecutive5xx = 0;
  config.maxEjectionPercent = 100;
  config.successRateMinimumHosts = 3;
  config.successRateRequestVolume = 10;
  config.successRateStdevFactor = 1000; // one standard deviation
  config.interval = 1s;
  start(config, 4);
  for (size_t i = 0; i < 3; ++i) {
    report(i, Outcome::kSuccess, 20);
  }
  report(3, Outcome::kSuccess, 10);
  report(3, Outcome::kServerError, 10);
  time_.advance(1s);
  EXPECT_TRUE(ejected(3));
  EXPECT_FALSE(ejected(0));
}

TEST_F(OutlierDetectorTest, FailurePercentageEjectsWhenEnforced) {
  config::OutlierDetectionConfig config;
  config.consecutive5xx = 0;
  config.maxEjectionPercent = 100;
  config.enforcingSuccessRate = 0;
  config.enforcingFailurePercentage = 100;
  config.failurePercentageMinimumHosts = 2;
  config.failurePercentageRequestVolume = 10;
  config.failurePercentageThreshold = 50;
  config.interval = 1s;
  start(config, 2);
  report(0, Outcome::kSuccess, 10);
  report(1, Outcome::kGatewayError, 6);
  report(1, Outcome::kSuccess, 4);
  time_.advance(1s);
  EXPECT_TRUE(ejected(1));
  EXPECT_FALSE(ejected(0));
}

TEST_F(OutlierDetectorTest, HostsKeepTheirStateAcrossHostUpdates) {
  config::OutlierDetectionConfig config;
  config.consecutive5xx = 1;
  config.maxEjectionPercent = 100;
  start(config, 2);
  report(1, Outcome::kServerError);
  ASSERT_TRUE(ejected(1));
  // EDS drops host 0 and keeps host 1: still ejected.
  hosts_.erase(hosts_.begin());
  states_ = detector_->hostsFor(hosts_);
  EXPECT_TRUE(detector_->ejected(hosts_[0].address));
  EXPECT_EQ(detector_->ejectedCount(), 1u);
}

} // namespace
} // namespace meshd::proxy::upstream
