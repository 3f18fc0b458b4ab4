// Unit tests for the simulated clock used by every time-dependent unit test.
#include "test/support/simulated_time.h"

#include <vector>

#include "gtest/gtest.h"

namespace meshd::testing {
namespace {

using namespace std::chrono_literals;

TEST(SimulatedTimeTest, AdvanceMovesBothClocks) {
  SimulatedTime time;
  const auto mono = time.monotonicNow();
  const auto wall = time.systemNow();
  time.advance(1500ms);
  EXPECT_EQ(time.monotonicNow() - mono, 1500ms);
  EXPECT_EQ(time.systemNow() - wall, 1500ms);
}

TEST(SimulatedTimeTest, TimersFireInOrderAtTheirDeadline) {
  SimulatedTime time;
  const auto start = time.monotonicNow();
  std::vector<std::pair<int, std::chrono::nanoseconds>> fired;
  auto a = time.createTimer([&] { fired.emplace_back(1, time.monotonicNow() - start); });
  auto b = time.createTimer([&] { fired.emplace_back(2, time.monotonicNow() - start); });
  auto c = time.createTimer([&] { fired.emplace_back(3, time.monotonicNow() - start); });
  b->enable(20ms);
  a->enable(10ms);
  c->enable(100ms);
  time.advance(50ms);
  ASSERT_EQ(fired.size(), 2u);
  EXPECT_EQ(fired[0], std::make_pair(1, std::chrono::nanoseconds(10ms)));
  EXPECT_EQ(fired[1], std::make_pair(2, std::chrono::nanoseconds(20ms)));
  EXPECT_TRUE(c->enabled());
  EXPECT_EQ(time.armedTimers(), 1u);
}

TEST(SimulatedTimeTest, TimerArmedByACallbackFiresWithinTheSameAdvance) {
  SimulatedTime time;
  int ticks = 0;
  std::unique_ptr<core::Timer> periodic;
  periodic = time.createTimer([&] {
    ++ticks;
    periodic->enable(10ms);
  });
  periodic->enable(10ms);
  time.advance(55ms);
  EXPECT_EQ(ticks, 5);
}

TEST(SimulatedTimeTest, DisabledAndDestroyedTimersDoNotFire) {
  SimulatedTime time;
  int fired = 0;
  auto disabled = time.createTimer([&] { ++fired; });
  disabled->enable(1ms);
  disabled->disable();
  {
    auto destroyed = time.createTimer([&] { ++fired; });
    destroyed->enable(1ms);
  }
  time.advance(10ms);
  EXPECT_EQ(fired, 0);
  EXPECT_EQ(time.armedTimers(), 0u);
}

} // namespace
} // namespace meshd::testing
