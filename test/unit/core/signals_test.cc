// Unit tests for graceful-shutdown signal handling.
#include "core/signals.h"

#include <csignal>

#include "gtest/gtest.h"

namespace meshd::core {
namespace {

TEST(ShutdownSignalsTest, SigtermRunsTheCallbackOnTheLoop) {
  EventLoop loop("main");
  int received = 0;
  ShutdownSignals signals(loop, [&](int signal) {
    received = signal;
    EXPECT_TRUE(loop.isLoopThread());
    loop.stop();
  });
  ASSERT_EQ(::raise(SIGTERM), 0);
  loop.run();
  EXPECT_EQ(received, SIGTERM);
  EXPECT_TRUE(signals.shutdownRequested());
}

TEST(ShutdownSignalsTest, SigpipeIsIgnored) {
  ignoreSigpipe();
  EXPECT_EQ(::raise(SIGPIPE), 0); // would terminate the test binary otherwise
}

} // namespace
} // namespace meshd::core
