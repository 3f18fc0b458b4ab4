// IdleTimers on simulated time: which timeout fires when, and that activity only pushes the
// deadline without re-arming the timer.
#include "proxy/http/idle_timers.h"

#include <chrono>

#include "test/support/simulated_time.h"
#include "gtest/gtest.h"

namespace meshd::proxy::http {
namespace {

using namespace std::chrono_literals;

struct Recorder : IdleTimers::Callbacks {
  void onConnectionIdleTimeout() override { ++connectionTimeouts; }
  void onStreamIdleTimeout() override { ++streamTimeouts; }
  int connectionTimeouts = 0;
  int streamTimeouts = 0;
};

class IdleTimersTest : public ::testing::Test {
protected:
  testing::SimulatedTime time_;
  Recorder recorder_;
};

TEST_F(IdleTimersTest, ConnectionIdleTimeoutFiresAfterTheLastStream) {
  IdleTimers timers(time_, time_, recorder_, 10s);
  timers.connectionIdle();
  time_.advance(6s);
  timers.streamStarted(0s); // no stream idle timeout
  time_.advance(60s);       // a long request is not idleness
  EXPECT_EQ(recorder_.connectionTimeouts, 0);
  timers.connectionIdle();
  time_.advance(9s);
  EXPECT_EQ(recorder_.connectionTimeouts, 0);
  time_.advance(1s);
  EXPECT_EQ(recorder_.connectionTimeouts, 1);
  EXPECT_EQ(recorder_.streamTimeouts, 0);
}

TEST_F(IdleTimersTest, StreamActivityPushesTheStreamDeadline) {
  IdleTimers timers(time_, time_, recorder_, 1h);
  timers.connectionIdle();
  timers.streamStarted(5s);
  for (int i = 0; i < 10; ++i) {
    time_.advance(4s);
    timers.streamActivity();
  }
  EXPECT_EQ(recorder_.streamTimeouts, 0);
  time_.advance(5s);
  EXPECT_EQ(recorder_.streamTimeouts, 1);
  EXPECT_EQ(recorder_.connectionTimeouts, 0);
}

TEST_F(IdleTimersTest, RouteTimeoutReplacesTheStreamTimeoutBothWays) {
  IdleTimers timers(time_, time_, recorder_, 1h);
  timers.streamStarted(5min);
  timers.setStreamIdleTimeout(2s); // shorter: the timer is brought forward
  time_.advance(2s);
  EXPECT_EQ(recorder_.streamTimeouts, 1);

  Recorder other;
  IdleTimers disabled(time_, time_, other, 1h);
  disabled.streamStarted(2s);
  disabled.setStreamIdleTimeout(0s); // zero: no stream idle timeout at all
  time_.advance(10min);
  EXPECT_EQ(other.streamTimeouts, 0);
  EXPECT_EQ(other.connectionTimeouts, 0);
}

TEST_F(IdleTimersTest, TricklingBytesDoNotKeepAnIdleConnectionOpen) {
  IdleTimers timers(time_, time_, recorder_, 10s);
  timers.connectionIdle();
  for (int i = 0; i < 9; ++i) {
    time_.advance(1s);
    timers.streamActivity(); // bytes of a head that never completes
  }
  time_.advance(1s);
  EXPECT_EQ(recorder_.connectionTimeouts, 1);
}

TEST_F(IdleTimersTest, StopCancelsEverything) {
  IdleTimers timers(time_, time_, recorder_, 1s);
  timers.connectionIdle();
  timers.stop();
  time_.advance(1min);
  EXPECT_EQ(recorder_.connectionTimeouts, 0);
  EXPECT_EQ(time_.armedTimers(), 0u);
}

TEST_F(IdleTimersTest, BusyConnectionKeepsOneArmedTimer) {
  IdleTimers timers(time_, time_, recorder_, 1h);
  timers.connectionIdle();
  for (int i = 0; i < 1000; ++i) {
    timers.streamStarted(5min);
    timers.streamActivity();
    timers.connectionIdle();
    time_.advance(10ms);
  }
  EXPECT_EQ(time_.armedTimers(), 1u);
  EXPECT_EQ(recorder_.connectionTimeouts + recorder_.streamTimeouts, 0);
}

} // namespace
} // namespace meshd::proxy::http
