// Unit tests for the integration-test process harness.
#include "test/support/process.h"

#include <csignal>

#include "test/support/temp_dir.h"
#include "gtest/gtest.h"

namespace meshd::testing {
namespace {

using namespace std::chrono_literals;

TEST(ProcessTest, CapturesOutputAndExitCode) {
  Process process({.argv = {"sh", "-c", "echo out; echo err >&2; echo \"$MESHD_X\"; exit 3"},
                   .extraEnv = {{"MESHD_X", "from-env"}}});
  EXPECT_EQ(process.wait(10s), 3);
  EXPECT_EQ(process.output(), "out\nfrom-env\n");
  EXPECT_EQ(process.errors(), "err\n");
}

TEST(ProcessTest, StopTerminatesWithinTheGracePeriod) {
  Process process({.argv = {"sleep", "60"}});
  EXPECT_TRUE(process.running());
  EXPECT_EQ(process.stop(5s), 128 + SIGTERM);
  EXPECT_FALSE(process.running());
}

TEST(ProcessTest, StopEscalatesToSigkill) {
  Process process({.argv = {"sh", "-c", "trap '' TERM; echo ready; sleep 60"}});
  ASSERT_TRUE(waitFor([&] { return process.output() == "ready\n"; }, 10s));
  EXPECT_EQ(process.stop(200ms), 128 + SIGKILL);
}

TEST(ProcessTest, MissingProgramThrows) {
  EXPECT_THROW(Process({.argv = {"/nonexistent/program"}}), std::runtime_error);
}

TEST(ProcessTest, WaitForAndPorts) {
  int calls = 0;
  EXPECT_TRUE(waitFor([&] { return ++calls == 3; }, 5s, 1ms));
  EXPECT_FALSE(waitFor([] { return false; }, 30ms, 5ms));
  const uint16_t port = pickFreePort();
  EXPECT_GT(port, 0);
  EXPECT_FALSE(tcpPortOpen(port));
}

TEST(TempDirTest, WritesAndCleansUp) {
  std::filesystem::path kept;
  {
    TempDir dir;
    kept = dir.path();
    const auto file = dir.write("a/b.txt", "content");
    EXPECT_EQ(readFile(file), "content");
  }
  EXPECT_FALSE(std::filesystem::exists(kept));
}

} // namespace
} // namespace meshd::testing
