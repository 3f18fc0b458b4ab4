// Istio's httpbin and tcp-echo tasks end to end (istio-features.md §3.1): httpbin v1 and v2, the
// sleep client and tcp-echo v1 and v2 run as a mesh on this machine; the clients run inside the
// sleep workload (`meshctl exec sleep -- ...`, through its sidecar) or on the host against the
// ingress gateway. TCP traffic shifting, circuit breaking, mirroring and ingress host routing.
#include <cmath>
#include <string>
#include <unistd.h>

#include "test/e2e/ingress_http.h"
#include "test/e2e/mesh_fixture.h"
#include "test/support/process.h"

namespace meshd::e2e {
namespace {

constexpr auto kSettleBound = 40s;
const std::string kHttpbinCluster = "outbound|8000||httpbin.default.svc.cluster.local";

class TrafficTasks : public MeshSuite<TrafficTasks> {
public:
  static std::vector<std::string> sampleFiles() {
    return {"httpbin/httpbin.yaml", "httpbin/httpbin-v2.yaml", "sleep/sleep.yaml",
            "tcp-echo/tcp-echo.yaml"};
  }

protected:
  // Runs one of test/e2e/clients in the sleep workload and parses the JSON it prints.
  static nlohmann::json runClient(const std::string& program, std::vector<std::string> args) {
    std::vector<std::string> command = {"python3", (clientsDir() / program).string()};
    for (std::string& arg : args) {
      command.push_back(std::move(arg));
    }
    const CommandResult result = mesh().exec("sleep", command, 120s);
    EXPECT_TRUE(result.ok()) << result.describe();
    nlohmann::json parsed = nlohmann::json::parse(result.out, nullptr, false);
    EXPECT_TRUE(parsed.is_object()) << result.describe();
    return parsed.is_object() ? parsed : nlohmann::json::object();
  }

  // How many TCP connections to tcp-echo:9000 each version answered ("one", "two", "failed").
  static nlohmann::json echoConnections(int count) {
    return runClient("tcp_echo_connections.py", {"tcp-echo", "9000", std::to_string(count)});
  }

  static nlohmann::json httpLoad(const std::string& path, int total, int concurrency,
                                 const std::string& header = "") {
    std::vector<std::string> args = {"http://httpbin:8000" + path, std::to_string(total),
                                     std::to_string(concurrency)};
    if (!header.empty()) {
      args.push_back(header);
    }
    return runClient("http_load.py", args);
  }

  // A counter of the sleep sidecar's admin /stats (0 when absent).
  static uint64_t sleepProxyStat(const std::string& name) {
    const CommandResult stats =
        mesh().exec("sleep", {"curl", "-s", "http://127.0.0.1:15000/stats"}, 30s);
    EXPECT_TRUE(stats.ok()) << stats.describe();
    const std::string prefix = "\n" + name + ": ";
    const size_t at = ("\n" + stats.out).find(prefix);
    return at == std::string::npos
               ? 0
               : std::strtoull(("\n" + stats.out).c_str() + at + prefix.size(), nullptr, 10);
  }

  // Lines of an httpbin instance's request log for `path` with the given Host.
  static int loggedRequests(const std::string& version, const std::string& path,
                            const std::string& host) {
    const std::string log = mesh().podFile("default-httpbin-" + version + "-0", "app.log");
    const std::string line = "GET " + path + " host=" + host + " status=200";
    int count = 0;
    for (size_t at = log.find(line); at != std::string::npos; at = log.find(line, at + 1)) {
      ++count;
    }
    return count;
  }
};

int countOf(const nlohmann::json& counts, const std::string& key) {
  return counts.contains(key) ? counts[key].get<int>() : 0;
}

// The bound of a count of a binomial(n, p) at `sigmas` standard deviations.
bool withinSigmas(int count, int n, double p, double sigmas) {
  const double sigma = std::sqrt(n * p * (1 - p));
  return std::abs(count - n * p) <= sigmas * sigma;
}

TEST_F(TrafficTasks, TcpTrafficShiftingMovesAFifthOfTheConnectionsToV2) {
  TaskConfig allV1(mesh(), {"tcp-echo/tcp-echo-all-v1.yaml"});
  ASSERT_TRUE(allV1.status().ok()) << allV1.status();
  nlohmann::json counts;
  bool reached = testing::waitFor(
      [&] {
        counts = echoConnections(10);
        return countOf(counts, "one") == 10;
      },
      kSettleBound, 100ms);
  ASSERT_TRUE(reached) << counts.dump();
  counts = echoConnections(50);
  EXPECT_EQ(countOf(counts, "one"), 50) << "every connection to v1: " << counts.dump();

  TaskConfig shifted(mesh(), {"tcp-echo/tcp-echo-20-v2.yaml"});
  ASSERT_TRUE(shifted.status().ok()) << shifted.status();
  reached = testing::waitFor(
      [&] {
        counts = echoConnections(20);
        return countOf(counts, "two") > 0;
      },
      kSettleBound, 100ms);
  ASSERT_TRUE(reached) << counts.dump();
  // 80/20 per connection over 200 connections: "two" is 40 ± 28 (5 standard deviations).
  constexpr int kConnections = 200;
  counts = echoConnections(kConnections);
  EXPECT_EQ(countOf(counts, "one") + countOf(counts, "two"), kConnections) << counts.dump();
  EXPECT_TRUE(withinSigmas(countOf(counts, "two"), kConnections, 0.2, 5)) << counts.dump();
}

TEST_F(TrafficTasks, CircuitBreakerRejectsConcurrentRequests) {
  TaskConfig breaker(mesh(), {"httpbin/httpbin-circuit-breaker.yaml"});
  ASSERT_TRUE(breaker.status().ok()) << breaker.status();
  // One request at a time passes.
  nlohmann::json single = httpLoad("/get", 1, 1);
  EXPECT_EQ(countOf(single["statuses"], "200"), 1) << single.dump();
  const uint64_t overflowBefore =
      sleepProxyStat("cluster." + kHttpbinCluster + ".upstream_rq_pending_overflow");
  // One connection and one pending request allowed: 20 concurrent callers overflow. Poll until
  // the limits reached the sleep sidecar, then look at one load.
  nlohmann::json load;
  const bool tripped = testing::waitFor(
      [&] {
        load = httpLoad("/get", 40, 20);
        return countOf(load["statuses"], "503") > 0;
      },
      kSettleBound, 100ms);
  ASSERT_TRUE(tripped) << load.dump();
  load = httpLoad("/get", 100, 20);
  const nlohmann::json& statuses = load["statuses"];
  EXPECT_GT(countOf(statuses, "200"), 0) << load.dump();
  EXPECT_GT(countOf(statuses, "503"), 0) << load.dump();
  EXPECT_EQ(countOf(statuses, "200") + countOf(statuses, "503"), 100) << load.dump();
  EXPECT_GT(sleepProxyStat("cluster." + kHttpbinCluster + ".upstream_rq_pending_overflow"),
            overflowBefore);
}

TEST_F(TrafficTasks, MirroringCopiesRequestsToV2) {
  const std::string tag = "/anything/e2e-mirror-" + std::to_string(::getpid());
  TaskConfig allV1(mesh(), {"httpbin/httpbin-all-v1.yaml"});
  ASSERT_TRUE(allV1.status().ok()) << allV1.status();
  nlohmann::json load;
  bool reached = testing::waitFor(
      [&] {
        load = httpLoad(tag + "/settle", 10, 1, "x-httpbin-version");
        return countOf(load["header"], "v1") == 10;
      },
      kSettleBound, 100ms);
  ASSERT_TRUE(reached) << load.dump();
  load = httpLoad(tag + "/before", 10, 1, "x-httpbin-version");
  EXPECT_EQ(countOf(load["header"], "v1"), 10) << load.dump();
  EXPECT_EQ(loggedRequests("v1", tag + "/before", "httpbin:8000"), 10);
  EXPECT_EQ(loggedRequests("v2", tag + "/before", "httpbin-shadow:8000"), 0);

  TaskConfig mirror(mesh(), {"httpbin/httpbin-mirror-v2.yaml"});
  ASSERT_TRUE(mirror.status().ok()) << mirror.status();
  int attempt = 0;
  reached = testing::waitFor(
      [&] {
        const std::string path = tag + "/mirror-settle-" + std::to_string(++attempt);
        httpLoad(path, 1, 1);
        return testing::waitFor(
            [&] { return loggedRequests("v2", path, "httpbin-shadow:8000") == 1; }, 2s);
      },
      kSettleBound, 100ms);
  ASSERT_TRUE(reached) << "no mirrored request reached httpbin v2";
  // Clients still see v1's answers; each request also reaches v2 with Host httpbin-shadow.
  load = httpLoad(tag + "/after", 10, 1, "x-httpbin-version");
  EXPECT_EQ(countOf(load["header"], "v1"), 10) << load.dump();
  EXPECT_EQ(loggedRequests("v1", tag + "/after", "httpbin:8000"), 10);
  EXPECT_TRUE(testing::waitFor(
      [&] { return loggedRequests("v2", tag + "/after", "httpbin-shadow:8000") == 10; }, 10s))
      << "mirrored: " << loggedRequests("v2", tag + "/after", "httpbin-shadow:8000");
}

TEST_F(TrafficTasks, IngressRoutesByHostAndPath) {
  TaskConfig gateway(mesh(), {"httpbin/httpbin-gateway.yaml"});
  ASSERT_TRUE(gateway.status().ok()) << gateway.status();
  const uint16_t port = mesh().ingressPort();
  const HttpHeaders example = {{"host", "httpbin.example.com"}};
  HttpReply reply;
  const bool reached = testing::waitFor(
      [&] {
        reply = httpCall(port, "GET", "/status/200", example);
        return reply.status == 200;
      },
      kSettleBound, 100ms);
  ASSERT_TRUE(reached) << reply.status << " " << reply.head;
  EXPECT_EQ(reply.header("server"), "envoy");
  EXPECT_EQ(httpCall(port, "GET", "/status/418", example).status, 418);
  EXPECT_EQ(httpCall(port, "GET", "/delay/0", example).status, 200);
  // Paths the VirtualService does not route, and hosts the Gateway does not accept: 404.
  EXPECT_EQ(httpCall(port, "GET", "/headers", example).status, 404);
  EXPECT_EQ(httpCall(port, "GET", "/status/200", {{"host", "unknown.example.com"}}).status, 404);
}

TEST_F(TrafficTasks, ProxyStatusIsInSyncAfterSubsetsAreDeleted) {
  // After a DestinationRule's subsets are deleted every proxy unsubscribes from their EDS
  // clusters and meshd rightly sends nothing (state-of-the-world EDS): the ACKed EDS version still
  // names the old subscription, and /debug/syncz must judge by what the proxy holds (this case
  // found that it did not).
  {
    TaskConfig subsets(mesh(), {"tcp-echo/tcp-echo-all-v1.yaml"});
    ASSERT_TRUE(subsets.status().ok()) << subsets.status();
  }
  CommandResult status;
  EXPECT_TRUE(testing::waitFor(
      [&] {
        status = mesh().meshctl({"proxy-status"}, 20s);
        return status.ok();
      },
      kSettleBound, 200ms))
      << status.describe();
}

} // namespace
} // namespace meshd::e2e
