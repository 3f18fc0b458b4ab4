// Resilience end to end: Istio YAML applied to a real meshd over REST, a real mesh-proxy sidecar
// fetching its config over ADS, and requests through the sidecar's explicit-proxy listener to
// test backends registered as workload instances. Each case checks what the client sees (status,
// body, time), what the backends see (request counts, headers) and the sidecar's stats for one
// resilience feature: route timeouts, retries, circuit breakers, outlier detection, fault
// injection and mirroring. mesh-proxy has no access log, so response flags show through the
// local reply bodies that go with them and the stats.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "fmt/format.h"
#include "nlohmann/json.hpp"
#include "test/integration/proxy/http_test_helpers.h"
#include "test/support/http_backend.h"
#include "test/support/http_client.h"
#include "test/support/mesh_proxy.h"
#include "test/support/meshd.h"
#include "test/support/process.h"
#include "gtest/gtest.h"

namespace meshd::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr const char* kService = R"(apiVersion: v1
kind: Service
metadata: {name: httpbin, namespace: default}
spec:
  selector: {app: httpbin}
  ports: [{name: http, port: 8000, targetPort: http}]
)";
constexpr const char* kAuthority = "httpbin:8000";
constexpr const char* kCluster = "outbound|8000||httpbin.default.svc.cluster.local";

std::string virtualService(const std::string& http_routes) {
  return fmt::format(R"(apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: httpbin, namespace: default}}
spec:
  hosts: [httpbin]
  http:
{})",
                     reindent(http_routes, 2));
}

std::string destinationRule(const std::string& spec_fields) {
  return fmt::format(R"(apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {{name: httpbin, namespace: default}}
spec:
  host: httpbin
{})",
                     reindent(spec_fields, 2));
}

// The x-envoy-attempt-count of each request `backend` received after the first `from`.
std::vector<std::string> attemptCounts(const HttpBackend& backend, size_t from) {
  std::vector<std::string> out;
  const std::vector<RecordedRequest> requests = backend.requests();
  for (size_t i = from; i < requests.size(); ++i) {
    out.push_back(requests[i].header("x-envoy-attempt-count").value_or("none"));
  }
  return out;
}

struct TimedResponse {
  HttpResponse response;
  std::chrono::milliseconds elapsed{0};
};

class ResilienceE2eTest : public ::testing::Test {
protected:
  ::testing::AssertionResult apply(const std::string& yaml) {
    const HttpResult result = httpRequest(meshd_.httpPort(), "POST", "/apis/v1/apply", yaml);
    if (result.status != 200) {
      return ::testing::AssertionFailure() << "apply: " << result.status << " " << result.body;
    }
    return ::testing::AssertionSuccess();
  }

  // Registers `backend` (listening on `ip`) as an instance of httpbin with `labels` added.
  ::testing::AssertionResult addInstance(const std::string& name, const std::string& ip,
                                         const HttpBackend& backend,
                                         const nlohmann::json& labels = nlohmann::json::object()) {
    nlohmann::json allLabels = labels;
    allLabels["app"] = "httpbin";
    const std::string body = nlohmann::json{{"address", ip},
                                            {"labels", allLabels},
                                            {"namedPorts", {{"http", backend.port()}}}}
                                 .dump();
    const HttpResult result = httpRequest(
        meshd_.httpPort(), "PUT", "/apis/meshd.io/v1alpha1/instances/default/" + name, body);
    if (result.status != 200) {
      return ::testing::AssertionFailure() << "instance " << name << ": " << result.body;
    }
    return ::testing::AssertionSuccess();
  }

  // Starts the sidecar once config and instances are in meshd, and waits until it ACKed all of
  // it and a request through it reaches a backend. The config is applied before the instances,
  // so a 200 means the proxy has both.
  ::testing::AssertionResult startSidecar() {
    explicitPort_ = pickFreePort();
    proxy_ = std::make_unique<MeshProxy>(
        adsBootstrap(meshd_.xdsPort(), fmt::format("{{id: sleep-sidecar, cluster: test, metadata: "
                                                   "{{MESHD_EXPLICIT_PROXY_PORT: \"{}\"}}}}",
                                                   explicitPort_)),
        std::vector<std::string>{"--proxy-type", "sidecar", "--namespace", "default", "--workload",
                                 "sleep", "--label", "app=sleep"});
    if (!proxy_->started()) {
      return ::testing::AssertionFailure() << "mesh-proxy did not start:\n" << proxy_->logs();
    }
    nlohmann::json streams;
    const bool ready = waitFor(
        [&] {
          if (get("/status/200").response.status != 200) {
            return false;
          }
          streams = nlohmann::json::parse(
              httpRequest(meshd_.httpPort(), "GET", "/debug/syncz").body, nullptr, false);
          return streams.is_array() && streams.size() == 1 && streams[0]["in_sync"] == true;
        },
        20s, 100ms);
    if (!ready) {
      return ::testing::AssertionFailure()
             << "the sidecar is not serving the config; syncz: " << streams.dump(2)
             << "\nmesh-proxy:\n"
             << proxy_->logs() << "\nmeshd:\n"
             << meshd_.logs();
    }
    return ::testing::AssertionSuccess();
  }

  // One request for httpbin through the explicit-proxy listener, on a new connection.
  TimedResponse get(const std::string& path, HeaderList headers = {}) const {
    headers.emplace_back("host", kAuthority);
    const auto start = Clock::now();
    TimedResponse out;
    out.response = fetchGet(explicitPort_, path, headers);
    out.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
    return out;
  }

  // The same for a POST with `body`.
  TimedResponse post(const std::string& path, const std::string& body) const {
    const auto start = Clock::now();
    TimedResponse out;
    out.response = fetch(explicitPort_, "POST", path, {{"host", kAuthority}}, body);
    out.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
    return out;
  }

  // A counter of the sidecar (0 when it does not exist yet).
  uint64_t stat(const std::string& name) const {
    const std::string value = statOf(*proxy_, name);
    return value.empty() ? 0 : std::stoull(value);
  }
  uint64_t clusterStat(const std::string& name, const std::string& cluster = kCluster) const {
    return stat("cluster." + cluster + "." + name);
  }
  // Waits (bounded) until a stat reaches at least `value`.
  bool statAtLeast(const std::string& name, uint64_t value) const {
    return waitFor([&] { return stat(name) >= value; }, 10s);
  }

  std::string logs() const {
    return "\nmesh-proxy:\n" + proxy_->logs() + "\nmeshd:\n" + meshd_.logs();
  }

  Meshd meshd_{{}, {"--debounce-ms", "20"}};
  std::unique_ptr<MeshProxy> proxy_;
  uint16_t explicitPort_ = 0;
};

// VirtualService `timeout`: the route gives up on a slow backend with 504 (flag UT) at the
// timeout, a fast answer is untouched, and with `retries` the timeout bounds all attempts.
TEST_F(ResilienceE2eTest, RouteTimeoutAnswers504) {
  ASSERT_TRUE(meshd_.started()) << meshd_.logs();
  HttpBackend backend("httpbin", "127.0.0.2");
  ASSERT_TRUE(apply(std::string(kService) + "---\n" + virtualService(R"(
    - match: [{uri: {prefix: /bounded}}]
      timeout: 1s
      retries: {attempts: 10, perTryTimeout: 0.3s, retryOn: 5xx}
      route:
      - destination: {host: httpbin}
    - timeout: 0.5s
      route:
      - destination: {host: httpbin}
  )")));
  ASSERT_TRUE(addInstance("httpbin-0", "127.0.0.2", backend));
  ASSERT_TRUE(startSidecar());

  const size_t before = backend.requestCount();
  const TimedResponse slow = get("/delay/2000");
  EXPECT_EQ(slow.response.status, 504) << slow.response.body << logs();
  EXPECT_EQ(slow.response.body, "upstream request timeout");
  EXPECT_GE(slow.elapsed, 450ms);
  EXPECT_LT(slow.elapsed, 1800ms);
  EXPECT_TRUE(statAtLeast("cluster." + std::string(kCluster) + ".upstream_rq_timeout", 1));
  EXPECT_EQ(backend.requestCount(), before + 1) << "a route timeout is not retried";

  const TimedResponse quick = get("/delay/50");
  EXPECT_EQ(quick.response.status, 200);
  EXPECT_EQ(quick.response.body, "delayed");
  EXPECT_EQ(clusterStat("upstream_rq_timeout"), 1u);

  // The route timeout bounds all attempts together: every attempt hangs, each is cut at the
  // per-try timeout (0.3 s) and retried, until the route's 1 s is up.
  const size_t beforeBounded = backend.requestCount();
  backend.failNext(100, 200, 3000ms);
  const TimedResponse bounded = get("/bounded");
  backend.failNext(0, 200);
  EXPECT_EQ(bounded.response.status, 504) << bounded.response.body;
  EXPECT_EQ(bounded.response.body, "upstream request timeout");
  EXPECT_GE(bounded.elapsed, 950ms);
  EXPECT_LT(bounded.elapsed, 2500ms);
  const size_t attempts = backend.requestCount() - beforeBounded;
  EXPECT_GE(attempts, 2u);
  EXPECT_LE(attempts, 4u) << "attempts stop with the route timeout, not at 1 + 10";
  // A retry is counted when it is scheduled: the last one may be cut by the route timeout
  // during its backoff, before it reaches the backend.
  EXPECT_GE(clusterStat("upstream_rq_retry"), attempts - 1);
  EXPECT_LE(clusterStat("upstream_rq_retry"), 4u);
  EXPECT_GE(clusterStat("upstream_rq_per_try_timeout"), attempts - 1);
  EXPECT_EQ(clusterStat("upstream_rq_timeout"), 2u) << "the route timeout, once more";
}

// VirtualService `retries`: failures are retried until one attempt succeeds, a slow attempt is cut
// by `perTryTimeout` and retried, and when the attempts run out the last failure is the answer.
// Each attempt carries its number in x-envoy-attempt-count.
TEST_F(ResilienceE2eTest, RetriesRecoverAndRunOut) {
  ASSERT_TRUE(meshd_.started()) << meshd_.logs();
  HttpBackend backend("httpbin", "127.0.0.2");
  ASSERT_TRUE(apply(std::string(kService) + "---\n" + virtualService(R"(
    - match: [{uri: {prefix: /exhaust}}]
      retries: {attempts: 2, retryOn: 5xx}
      route:
      - destination: {host: httpbin}
    - retries: {attempts: 3, perTryTimeout: 0.5s, retryOn: 5xx}
      route:
      - destination: {host: httpbin}
  )")));
  ASSERT_TRUE(addInstance("httpbin-0", "127.0.0.2", backend));
  ASSERT_TRUE(startSidecar());

  // Two 503s, then the third attempt answers.
  size_t before = backend.requestCount();
  backend.failNext(2, 503);
  const TimedResponse recovered = get("/get");
  EXPECT_EQ(recovered.response.status, 200) << recovered.response.body << logs();
  EXPECT_EQ(backend.requestCount(), before + 3);
  EXPECT_EQ(attemptCounts(backend, before), (std::vector<std::string>{"1", "2", "3"}));
  EXPECT_TRUE(statAtLeast("cluster." + std::string(kCluster) + ".upstream_rq_retry", 2));
  EXPECT_EQ(clusterStat("upstream_rq_retry_success"), 1u);

  // The first attempt hangs for 3 s: the per-try timeout (0.5 s) ends it and the retry answers.
  before = backend.requestCount();
  backend.failNext(1, 200, 3000ms);
  const TimedResponse perTry = get("/get");
  EXPECT_EQ(perTry.response.status, 200) << perTry.response.body;
  EXPECT_LT(perTry.elapsed, 2500ms);
  EXPECT_EQ(backend.requestCount(), before + 2);
  EXPECT_EQ(clusterStat("upstream_rq_retry"), 3u);
  EXPECT_EQ(clusterStat("upstream_rq_per_try_timeout"), 1u);

  // attempts: 2 against a backend that keeps failing: 1 + 2 requests, the backend's 503 is the
  // answer (flag URX).
  before = backend.requestCount();
  backend.failNext(10, 503);
  const TimedResponse exhausted = get("/exhaust");
  EXPECT_EQ(exhausted.response.status, 503);
  EXPECT_EQ(exhausted.response.body, "status 503") << "the upstream's own response";
  EXPECT_EQ(exhausted.response.header("x-backend").value_or(""), "httpbin");
  EXPECT_EQ(backend.requestCount(), before + 3);
  EXPECT_EQ(attemptCounts(backend, before), (std::vector<std::string>{"1", "2", "3"}))
      << "Istio's virtual hosts number the attempts (include_request_attempt_count)";
  EXPECT_TRUE(
      statAtLeast("cluster." + std::string(kCluster) + ".upstream_rq_retry_limit_exceeded", 1));
  EXPECT_EQ(clusterStat("upstream_rq_retry"), 5u);
  EXPECT_EQ(clusterStat("upstream_rq_total"), backend.requestCount()) << "one per attempt";
}

// DestinationRule `connectionPool`: one connection, one waiting request and one request per
// connection; concurrent clients beyond that get 503 overflow (flag UO) at once.
TEST_F(ResilienceE2eTest, ConnectionPoolLimitsOverflow) {
  ASSERT_TRUE(meshd_.started()) << meshd_.logs();
  HttpBackend backend("httpbin", "127.0.0.2");
  ASSERT_TRUE(apply(std::string(kService) + "---\n" + destinationRule(R"(
    trafficPolicy:
      connectionPool:
        tcp: {maxConnections: 1}
        http: {http1MaxPendingRequests: 1, maxRequestsPerConnection: 1}
  )")));
  ASSERT_TRUE(addInstance("httpbin-0", "127.0.0.2", backend));
  ASSERT_TRUE(startSidecar());

  constexpr int kClients = 20;
  constexpr int kRequestsEach = 3;
  std::mutex mutex;
  std::vector<HttpResponse> responses;
  std::vector<std::thread> clients;
  const size_t before = backend.requestCount();
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&] {
      for (int r = 0; r < kRequestsEach; ++r) {
        HttpResponse response = get("/delay/300").response;
        std::lock_guard lock(mutex);
        responses.push_back(std::move(response));
      }
    });
  }
  for (auto& client : clients) {
    client.join();
  }
  int ok = 0;
  int overflowed = 0;
  for (const HttpResponse& response : responses) {
    if (response.status == 200) {
      ++ok;
    } else if (response.status == 503 &&
               response.body.ends_with("reset before headers. reset reason: overflow")) {
      ++overflowed;
    } else {
      ADD_FAILURE() << "unexpected " << response.status << " " << response.body;
    }
  }
  EXPECT_GT(ok, 0);
  EXPECT_GT(overflowed, 0);
  EXPECT_EQ(ok + overflowed, kClients * kRequestsEach);
  EXPECT_GT(clusterStat("upstream_rq_pending_overflow"), 0u) << logs();
  // Only the admitted requests reached the backend, each on its own connection.
  EXPECT_EQ(backend.requestCount() - before, static_cast<size_t>(ok));
  EXPECT_EQ(static_cast<size_t>(backend.connectionsAccepted()), backend.requestCount());
  EXPECT_EQ(clusterStat("upstream_rq_total"), backend.requestCount())
      << "overflowed requests were never sent upstream";
  // The thresholds meshd translated: maxConnections and http1MaxPendingRequests, the others at
  // Istio's "unlimited".
  const std::string clusters = httpGet(proxy_->adminPort(), "/clusters").body;
  for (const std::string line :
       {"::default_priority::max_connections::1\n", "::default_priority::max_pending_requests::1\n",
        "::default_priority::max_requests::4294967295\n",
        "::default_priority::max_retries::4294967295\n"}) {
    EXPECT_NE(clusters.find(kCluster + line), std::string::npos) << line << clusters;
  }
}

// DestinationRule `outlierDetection`: of two endpoints, the one answering 503 is ejected after
// two in a row and gets no traffic; once healthy and past its ejection time it is brought back.
TEST_F(ResilienceE2eTest, OutlierDetectionEjectsAndReadmits) {
  ASSERT_TRUE(meshd_.started()) << meshd_.logs();
  HttpBackend good("good", "127.0.0.2");
  HttpBackend bad("bad", "127.0.0.3");
  ASSERT_TRUE(apply(std::string(kService) + "---\n" + destinationRule(R"(
    trafficPolicy:
      loadBalancer: {simple: ROUND_ROBIN}
      outlierDetection:
        consecutive5xxErrors: 2
        interval: 1s
        baseEjectionTime: 3s
        maxEjectionPercent: 100
  )")));
  ASSERT_TRUE(addInstance("httpbin-good", "127.0.0.2", good));
  ASSERT_TRUE(addInstance("httpbin-bad", "127.0.0.3", bad));
  ASSERT_TRUE(startSidecar());
  const std::string outlier = "cluster." + std::string(kCluster) + ".outlier_detection.";

  bad.forceStatus(503);
  for (int i = 0; i < 12 && stat(outlier + "ejections_active") == 0; ++i) {
    get("/get");
  }
  ASSERT_TRUE(statAtLeast(outlier + "ejections_active", 1)) << logs();
  EXPECT_GE(stat(outlier + "ejections_enforced_consecutive_5xx"), 1u);
  EXPECT_GE(stat(outlier + "ejections_enforced_total"), 1u);
  EXPECT_GE(bad.requestCount(), 2u);

  // Ejected: every request goes to the good endpoint.
  const size_t badBefore = bad.requestCount();
  const size_t goodBefore = good.requestCount();
  for (int i = 0; i < 8; ++i) {
    const TimedResponse response = get("/get");
    EXPECT_EQ(response.response.status, 200);
    EXPECT_EQ(response.response.header("x-backend").value_or(""), "good");
  }
  EXPECT_EQ(bad.requestCount(), badBefore);
  EXPECT_EQ(good.requestCount(), goodBefore + 8);

  // Healthy again: after the ejection time a sweep brings it back and it gets traffic.
  bad.forceStatus(std::nullopt);
  EXPECT_TRUE(waitFor([&] { return stat(outlier + "ejections_active") == 0; }, 15s, 100ms))
      << logs();
  EXPECT_TRUE(waitFor(
      [&] {
        get("/get");
        return bad.requestCount() > badBefore;
      },
      10s, 50ms));
}

// VirtualService `fault` on a header match: jason's requests are delayed, then (after the
// VirtualService changes) aborted with 500 (flag FI); everybody else's are untouched. The route's
// timeout (shorter than the delay) starts after the delay, as in Envoy: no 504.
TEST_F(ResilienceE2eTest, FaultInjectionByHeaderMatch) {
  ASSERT_TRUE(meshd_.started()) << meshd_.logs();
  HttpBackend backend("httpbin", "127.0.0.2");
  const auto faultFor = [](const std::string& fault) {
    return virtualService(fmt::format(R"(
      - match: [{{headers: {{end-user: {{exact: jason}}}}}}]
        timeout: 0.5s
        fault: {}
        route:
        - destination: {{host: httpbin}}
      - route:
        - destination: {{host: httpbin}}
    )",
                                      fault));
  };
  ASSERT_TRUE(apply(std::string(kService) + "---\n" +
                    faultFor("{delay: {fixedDelay: 1s, percentage: {value: 100}}}")));
  ASSERT_TRUE(addInstance("httpbin-0", "127.0.0.2", backend));
  ASSERT_TRUE(startSidecar());
  const HeaderList jason = {{"end-user", "jason"}};

  const TimedResponse delayed = get("/get", jason);
  EXPECT_EQ(delayed.response.status, 200) << delayed.response.body << logs();
  EXPECT_GE(delayed.elapsed, 1000ms);
  EXPECT_LT(delayed.elapsed, 5000ms);
  const TimedResponse other = get("/get", {{"end-user", "bill"}});
  EXPECT_EQ(other.response.status, 200);
  EXPECT_LT(other.elapsed, 1000ms);
  EXPECT_EQ(stat("http.explicit_proxy.fault.delays_injected"), 1u);

  ASSERT_TRUE(apply(faultFor("{abort: {httpStatus: 500, percentage: {value: 100}}}")));
  EXPECT_TRUE(waitFor([&] { return get("/get", jason).response.status == 500; }, 20s)) << logs();
  const size_t before = backend.requestCount();
  const TimedResponse aborted = get("/get", jason);
  EXPECT_EQ(aborted.response.status, 500);
  EXPECT_EQ(aborted.response.body, "fault filter abort");
  EXPECT_LT(aborted.elapsed, 1000ms) << "the delay is gone";
  EXPECT_EQ(backend.requestCount(), before) << "an aborted request never reaches the backend";
  EXPECT_EQ(get("/get").response.status, 200);
  EXPECT_EQ(backend.requestCount(), before + 1);
  EXPECT_GE(stat("http.explicit_proxy.fault.aborts_injected"), 2u);
}

// VirtualService `mirror` + `mirrorPercentage`: the client gets v1's answers at v1's speed while
// v2 gets a copy of every request with the host suffixed "-shadow".
TEST_F(ResilienceE2eTest, MirroringCopiesToTheShadowSubset) {
  ASSERT_TRUE(meshd_.started()) << meshd_.logs();
  HttpBackend v1("v1", "127.0.0.2");
  HttpBackend v2("v2", "127.0.0.3");
  ASSERT_TRUE(apply(std::string(kService) + "---\n" + destinationRule(R"(
    subsets:
    - {name: v1, labels: {version: v1}}
    - {name: v2, labels: {version: v2}}
  )") + "---\n" + virtualService(R"(
    - route:
      - destination: {host: httpbin, subset: v1}
        weight: 100
      mirror: {host: httpbin, subset: v2}
      mirrorPercentage: {value: 100}
  )")));
  ASSERT_TRUE(addInstance("httpbin-v1", "127.0.0.2", v1, {{"version", "v1"}}));
  ASSERT_TRUE(addInstance("httpbin-v2", "127.0.0.3", v2, {{"version", "v2"}}));
  ASSERT_TRUE(startSidecar());
  ASSERT_TRUE(v2.waitForRequests(1, 10s)) << "the readiness request was mirrored" << logs();

  v2.setResponseDelay(2000ms);
  const size_t v1Before = v1.requestCount();
  const size_t v2Before = v2.requestCount();
  constexpr int kRequests = 3;
  for (int i = 0; i < kRequests; ++i) {
    // The last one carries a body, which the copy carries too.
    const TimedResponse response =
        i + 1 < kRequests ? get("/anything/" + std::to_string(i))
                          : post("/anything/" + std::to_string(i), "payload-" + std::to_string(i));
    EXPECT_EQ(response.response.status, 200);
    EXPECT_EQ(response.response.header("x-backend").value_or(""), "v1");
    EXPECT_LT(response.elapsed, 1500ms) << "the slow shadow does not hold the client";
  }
  EXPECT_EQ(v1.requestCount(), v1Before + kRequests);
  ASSERT_TRUE(v2.waitForRequests(v2Before + kRequests, 10s)) << logs();
  const std::vector<RecordedRequest> v1Requests = v1.requests();
  std::vector<RecordedRequest> copies = v2.requests();
  copies.erase(copies.begin(), copies.begin() + static_cast<std::ptrdiff_t>(v2Before));
  // The copies go out on their own, so they may arrive in any order.
  std::sort(copies.begin(), copies.end(),
            [](const RecordedRequest& a, const RecordedRequest& b) { return a.target < b.target; });
  ASSERT_EQ(copies.size(), static_cast<size_t>(kRequests));
  for (int i = 0; i < kRequests; ++i) {
    EXPECT_EQ(v1Requests[v1Before + i].header("host").value_or(""), "httpbin:8000");
    const RecordedRequest& copy = copies[i];
    EXPECT_EQ(copy.header("host").value_or(""), "httpbin-shadow:8000");
    EXPECT_EQ(copy.path(), "/anything/" + std::to_string(i));
    EXPECT_EQ(copy.method, i + 1 < kRequests ? "GET" : "POST");
    EXPECT_EQ(copy.body, i + 1 < kRequests ? "" : "payload-" + std::to_string(i));
  }
  EXPECT_TRUE(statAtLeast(
      "cluster.outbound|8000|v2|httpbin.default.svc.cluster.local.upstream_rq_total", 4));
}

} // namespace
} // namespace meshd::testing
