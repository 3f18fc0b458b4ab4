// Unit tests for EventLoop: cross-thread posting, real timers, deferred deletion.
#include "core/event_loop.h"

#include <atomic>
#include <chrono>
#include <thread>

#include "gtest/gtest.h"

namespace meshd::core {
namespace {

using namespace std::chrono_literals;

TEST(EventLoopTest, PostFromAnotherThreadRunsOnTheLoop) {
  EventLoop loop("test");
  std::thread::id ranOn;
  std::thread poster([&] {
    loop.post([&] {
      ranOn = std::this_thread::get_id();
      EXPECT_TRUE(loop.isLoopThread());
      loop.stop();
    });
  });
  loop.run();
  poster.join();
  EXPECT_EQ(ranOn, std::this_thread::get_id());
  EXPECT_FALSE(loop.isLoopThread());
}

TEST(EventLoopTest, TimersFireInDeadlineOrderAndCanBeCancelled) {
  EventLoop loop("test");
  std::vector<int> fired;
  auto late = loop.createTimer([&] {
    fired.push_back(2);
    loop.stop();
  });
  auto early = loop.createTimer([&] { fired.push_back(1); });
  auto cancelled = loop.createTimer([&] { fired.push_back(99); });
  late->enable(30ms);
  early->enable(1ms);
  cancelled->enable(5ms);
  EXPECT_TRUE(cancelled->enabled());
  cancelled->disable();
  EXPECT_FALSE(cancelled->enabled());
  loop.run();
  EXPECT_EQ(fired, (std::vector<int>{1, 2}));
  EXPECT_FALSE(late->enabled());
}

TEST(EventLoopTest, ReArmingReplacesThePendingExpiry) {
  EventLoop loop("test");
  int count = 0;
  auto timer = loop.createTimer([&] { ++count; });
  auto stopper = loop.createTimer([&] { loop.stop(); });
  timer->enable(1ms);
  timer->enable(2ms); // replaces the first
  stopper->enable(40ms);
  loop.run();
  EXPECT_EQ(count, 1);
}

TEST(EventLoopTest, DestroyingATimerFromAnotherTimersCallbackIsSafe) {
  EventLoop loop("test");
  int fired = 0;
  std::unique_ptr<Timer> victim = loop.createTimer([&] { ++fired; });
  auto killer = loop.createTimer([&] {
    victim.reset();
    loop.stop();
  });
  victim->enable(1ms);
  killer->enable(1ms);
  // Both are due together; whichever runs first, the destroyed timer must not run afterwards.
  std::this_thread::sleep_for(5ms);
  loop.run();
  EXPECT_LE(fired, 1);
}

struct Tracked : DeferredDeletable {
  explicit Tracked(std::atomic<int>& counter) : counter_(counter) {}
  ~Tracked() override { ++counter_; }
  std::atomic<int>& counter_;
};

TEST(EventLoopTest, DeferredDeletionHappensAfterTheCurrentCallback) {
  EventLoop loop("test");
  std::atomic<int> destroyed{0};
  loop.post([&] {
    loop.deferredDelete(std::make_unique<Tracked>(destroyed));
    EXPECT_EQ(destroyed, 0); // still alive while the callback runs
    EXPECT_EQ(loop.pendingDeletions(), 1u);
    loop.post([&] {
      EXPECT_EQ(destroyed, 1);
      loop.stop();
    });
  });
  loop.run();
  EXPECT_EQ(destroyed, 1);
}

TEST(EventLoopTest, PendingDeletionsAreFlushedOnDestruction) {
  std::atomic<int> destroyed{0};
  {
    EventLoop loop("test");
    loop.deferredDelete(std::make_unique<Tracked>(destroyed));
  }
  EXPECT_EQ(destroyed, 1);
}

TEST(EventLoopTest, RunUntilIdleRunsReadyWorkAndReturns) {
  EventLoop loop("test");
  int ran = 0;
  loop.post([&] { ++ran; });
  loop.post([&] { ++ran; });
  loop.runUntilIdle();
  EXPECT_EQ(ran, 2);
}

} // namespace
} // namespace meshd::core
