// gRPC through the mesh end to end: the grpc-echo sample (Node @grpc/grpc-js, Service port named
// "grpc") with v1 and v2, called from the sleep workload through its sidecar. meshd sends the
// traffic over HTTP/2 from sidecar to sidecar: unary and streaming calls, status errors carried in
// trailers, per-call traffic shifting, and a gRPC fault abort.
#include <cmath>
#include <map>
#include <sstream>
#include <string>

#include "test/e2e/mesh_fixture.h"
#include "test/support/process.h"

namespace meshd::e2e {
namespace {

constexpr auto kSettleBound = 40s;
const std::string kGrpcEchoCluster = "outbound|7070||grpc-echo.default.svc.cluster.local";

class GrpcTasks : public MeshSuite<GrpcTasks> {
public:
  static std::vector<std::string> sampleFiles() {
    return {"grpc-echo/grpc-echo.yaml", "sleep/sleep.yaml"};
  }

protected:
  // Runs samples/grpc-echo/client.js in the sleep workload; its output lines.
  static std::vector<std::string> client(std::vector<std::string> args, bool expectOk = true) {
    std::vector<std::string> command = {"node", (samplesDir() / "grpc-echo" / "client.js").string(),
                                        "grpc-echo:7070"};
    command.insert(command.end(), args.begin(), args.end());
    const CommandResult result = mesh().exec("sleep", command, 120s);
    if (expectOk) {
      EXPECT_TRUE(result.ok()) << result.describe();
    }
    std::vector<std::string> lines;
    std::istringstream in(result.out);
    for (std::string line; std::getline(in, line);) {
      lines.push_back(line);
    }
    return lines;
  }

  static std::map<std::string, int> versions(int calls) {
    std::map<std::string, int> counts;
    for (const std::string& line : client({"say", std::to_string(calls)}, false)) {
      ++counts[line];
    }
    return counts;
  }

  // A counter of the sleep sidecar's admin /stats (0 when absent).
  static uint64_t sleepProxyStat(const std::string& name) {
    const CommandResult stats =
        mesh().exec("sleep", {"curl", "-s", "http://127.0.0.1:15000/stats"}, 30s);
    EXPECT_TRUE(stats.ok()) << stats.describe();
    const std::string prefix = "\n" + name + ": ";
    const std::string text = "\n" + stats.out;
    const size_t at = text.find(prefix);
    return at == std::string::npos ? 0
                                   : std::strtoull(text.c_str() + at + prefix.size(), nullptr, 10);
  }
};

std::string describe(const std::map<std::string, int>& counts) {
  std::string out;
  for (const auto& [key, count] : counts) {
    out += key + "=" + std::to_string(count) + " ";
  }
  return out;
}

TEST_F(GrpcTasks, UnaryCallsReachBothVersionsOverHttp2) {
  std::map<std::string, int> counts;
  const bool reached = testing::waitFor(
      [&] {
        counts = versions(20);
        return counts["v1"] > 0 && counts["v2"] > 0 && counts["v1"] + counts["v2"] == 20;
      },
      kSettleBound, 200ms);
  ASSERT_TRUE(reached) << describe(counts);
  // The sidecar spoke HTTP/2 to the grpc-echo cluster (meshd's http2_protocol_options).
  EXPECT_GT(sleepProxyStat("cluster." + kGrpcEchoCluster + ".upstream_cx_http2_total"), 0u);
}

TEST_F(GrpcTasks, StreamsAndStatusErrorsCrossTheMesh) {
  const auto stream = client({"stream", "500"});
  ASSERT_EQ(stream.size(), 1u);
  EXPECT_TRUE(stream[0] == "stream v1 500" || stream[0] == "stream v2 500") << stream[0];
  const auto failed = client({"fail", "5", "no such echo"});
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0], "status 5 no such echo") << "grpc-status and grpc-message in trailers";
}

TEST_F(GrpcTasks, TrafficShiftingSplitsCallsEightyTwenty) {
  TaskConfig shifted(mesh(), {"grpc-echo/grpc-echo-80-20.yaml"});
  ASSERT_TRUE(shifted.status().ok()) << shifted.status();
  // Per call, not per connection: one client connection carries all 200 calls, and still about a
  // fifth go to v2. 40 ± 28 (5 standard deviations).
  constexpr int kCalls = 200;
  auto counts = versions(kCalls);
  EXPECT_EQ(counts["v1"] + counts["v2"], kCalls) << describe(counts);
  EXPECT_LE(std::abs(counts["v2"] - 40), 28) << describe(counts);
}

TEST_F(GrpcTasks, FaultAbortArrivesAsUnavailable) {
  TaskConfig fault(mesh(), {"grpc-echo/grpc-echo-fault.yaml"});
  ASSERT_TRUE(fault.status().ok()) << fault.status();
  std::vector<std::string> lines;
  const bool reached = testing::waitFor(
      [&] {
        lines = client({"say", "1"}, false);
        // The message is the fault filter's: not a connection error that also maps to 14.
        return !lines.empty() && lines[0] == "error 14 fault filter abort";
      },
      kSettleBound, 200ms);
  EXPECT_TRUE(reached) << (lines.empty() ? "no output" : lines[0]);
}

} // namespace
} // namespace meshd::e2e
