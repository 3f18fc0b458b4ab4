// PushDebouncer on simulated time: merging within the quiet period, the maximum delay, targets.
#include "control/xds/push_debouncer.h"

#include <vector>

#include "test/support/simulated_time.h"
#include "gtest/gtest.h"

namespace meshd::control::xds {
namespace {

using namespace std::chrono_literals;

PushTargets nodes(std::initializer_list<std::string> ids) {
  PushTargets targets;
  targets.nodeIds.insert(ids.begin(), ids.end());
  return targets;
}

class PushDebouncerTest : public ::testing::Test {
protected:
  meshd::testing::SimulatedTime time_;
  std::vector<PushTargets> flushed_;
  PushDebouncer debouncer_{100ms, 1000ms, time_, time_,
                           [this](PushTargets targets) { flushed_.push_back(targets); }};
};

TEST_F(PushDebouncerTest, RequestsWithinTheQuietPeriodMergeIntoOnePush) {
  const core::MonotonicTime first_request = time_.monotonicNow();
  debouncer_.request(nodes({"a"}));
  time_.advance(60ms);
  debouncer_.request(nodes({"b"}));
  time_.advance(60ms);
  debouncer_.request(nodes({"a", "c"}));
  time_.advance(99ms);
  EXPECT_TRUE(flushed_.empty());
  time_.advance(1ms);
  ASSERT_EQ(flushed_.size(), 1u);
  EXPECT_FALSE(flushed_[0].all);
  EXPECT_EQ(flushed_[0].nodeIds.size(), 3u);
  EXPECT_EQ(flushed_[0].requestedAt, first_request) << "propagation is measured from here";
  EXPECT_EQ(debouncer_.requests(), 3u);
  EXPECT_FALSE(debouncer_.pending());
}

TEST_F(PushDebouncerTest, ContinuousRequestsArePushedAtTheMaximumDelay) {
  for (int i = 0; i < 30; ++i) {
    debouncer_.request(nodes({"a"}));
    time_.advance(50ms);
  }
  // 1.5 s of requests 50 ms apart: one push at 1 s, the rest pending.
  ASSERT_EQ(flushed_.size(), 1u);
  time_.advance(100ms);
  EXPECT_EQ(flushed_.size(), 2u);
}

TEST_F(PushDebouncerTest, AllAbsorbsNodeSets) {
  debouncer_.request(nodes({"a"}));
  debouncer_.request(PushTargets::everyone());
  debouncer_.request(nodes({"b"}));
  time_.advance(100ms);
  ASSERT_EQ(flushed_.size(), 1u);
  EXPECT_TRUE(flushed_[0].all);
  EXPECT_TRUE(flushed_[0].includes("anything"));
}

TEST_F(PushDebouncerTest, SeparatedRequestsArePushedSeparately) {
  debouncer_.request(nodes({"a"}));
  time_.advance(150ms);
  debouncer_.request(nodes({"b"}));
  time_.advance(150ms);
  ASSERT_EQ(flushed_.size(), 2u);
  EXPECT_TRUE(flushed_[1].includes("b"));
  EXPECT_FALSE(flushed_[1].includes("a"));
}

TEST(PushDebouncerNoQuietTest, ZeroQuietPeriodPushesAtOnce) {
  meshd::testing::SimulatedTime time;
  int flushes = 0;
  PushDebouncer debouncer(0ms, 0ms, time, time, [&](PushTargets) { ++flushes; });
  debouncer.request(nodes({"a"}));
  EXPECT_EQ(flushes, 1);
  debouncer.request(PushTargets{});
  EXPECT_EQ(flushes, 1) << "an empty target set is not a push";
}

} // namespace
} // namespace meshd::control::xds
