// meshd serves translated config end to end: a real meshd gets Bookinfo-like config and two
// workload instances over REST, a real mesh-proxy (a productpage sidecar in local mode) fetches
// CDS/EDS/LDS/RDS over ADS, and requests through its explicit-proxy listener follow the
// VirtualService to the right test backend, also after the VirtualService changes.
#include <unistd.h>

#include <string>
#include <vector>

#include "fmt/format.h"
#include "nlohmann/json.hpp"
#include "test/support/http_backend.h"
#include "test/support/http_client.h"
#include "test/support/mesh_proxy.h"
#include "test/support/meshd.h"
#include "test/support/process.h"
#include "gtest/gtest.h"

namespace meshd::testing {
namespace {

using namespace std::chrono_literals;

constexpr const char* kReviews = R"(apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: default}
spec:
  selector: {app: reviews}
  ports: [{name: http, port: 9080, targetPort: http}]
---
apiVersion: meshd.io/v1alpha1
kind: LocalWorkload
metadata: {name: reviews-v1, namespace: default}
spec:
  labels: {app: reviews, version: v1}
  ports: [{name: http, port: 9080}]
  command: [./reviews]
---
apiVersion: meshd.io/v1alpha1
kind: LocalWorkload
metadata: {name: reviews-v2, namespace: default}
spec:
  labels: {app: reviews, version: v2}
  ports: [{name: http, port: 9080}]
  command: [./reviews]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: default}
spec:
  host: reviews
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
)";

std::string reviewsTo(const std::string& subset) {
  return fmt::format(R"(apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: reviews, namespace: default}}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {{host: reviews, subset: {}}}
)",
                     subset);
}

std::string bootstrap(uint16_t xdsPort, uint16_t explicitProxyPort) {
  return adsBootstrap(
      xdsPort,
      fmt::format(
          "{{id: productpage-sidecar, cluster: test, metadata: {{MESHD_EXPLICIT_PROXY_PORT: "
          "\"{}\"}}}}",
          explicitProxyPort));
}

// One request through the explicit-proxy listener for reviews:9080; the answering backend's name.
std::string backendBehindProxy(uint16_t port) {
  const int fd = connectLoopback(port, 5s);
  if (fd < 0) {
    return "";
  }
  sendAll(fd, "GET /reviews/0 HTTP/1.1\r\nhost: reviews:9080\r\nconnection: close\r\n\r\n");
  const std::string response = readUntilClose(fd);
  close(fd);
  const size_t at = response.find("x-backend: ");
  if (at == std::string::npos) {
    return response.substr(0, response.find("\r\n"));
  }
  return response.substr(at + 11, response.find("\r\n", at) - at - 11);
}

class MeshdServingTest : public ::testing::Test {
protected:
  HttpResult call(const std::string& method, const std::string& target,
                  const std::string& body = {}) {
    return httpRequest(meshd_.httpPort(), method, target, body);
  }
  nlohmann::json syncz() { return nlohmann::json::parse(call("GET", "/debug/syncz").body); }

  Meshd meshd_{{}, {"--debounce-ms", "20"}};
};

TEST_F(MeshdServingTest, ProxyFollowsTheVirtualServiceToRegisteredInstances) {
  ASSERT_TRUE(meshd_.started()) << meshd_.logs();
  HttpBackend v1("v1", "127.0.0.2", 0);
  HttpBackend v2("v2", "127.0.0.3", 0);
  ASSERT_EQ(
      call("POST", "/apis/v1/apply", std::string(kReviews) + "---\n" + reviewsTo("v2")).status,
      200);
  for (const HttpBackend* backend : {&v1, &v2}) {
    const std::string body =
        nlohmann::json{{"address", fmt::format("127.0.0.{}", backend == &v1 ? 2 : 3)},
                       {"labels", {{"app", "reviews"}, {"version", backend->name()}}},
                       {"namedPorts", {{"http", backend->port()}}},
                       {"workload", "reviews-" + backend->name()}}
            .dump();
    const HttpResult put = call(
        "PUT", "/apis/meshd.io/v1alpha1/instances/default/reviews-" + backend->name() + "-0", body);
    ASSERT_EQ(put.status, 200) << put.body;
  }
  EXPECT_EQ(
      nlohmann::json::parse(call("GET", "/apis/meshd.io/v1alpha1/instances").body)["items"].size(),
      2u);

  const uint16_t explicitPort = pickFreePort();
  MeshProxy proxy(bootstrap(meshd_.xdsPort(), explicitPort),
                  {"--proxy-type", "sidecar", "--namespace", "default", "--workload", "productpage",
                   "--label", "app=productpage"});
  ASSERT_TRUE(proxy.started()) << proxy.logs();

  EXPECT_TRUE(waitFor([&] { return backendBehindProxy(explicitPort) == "v2"; }, 20s))
      << backendBehindProxy(explicitPort) << "\nmesh-proxy:\n"
      << proxy.logs() << "\nmeshd:\n"
      << meshd_.logs();
  EXPECT_EQ(v1.requestCount(), 0u);

  ASSERT_EQ(call("POST", "/apis/v1/apply", reviewsTo("v1")).status, 200);
  EXPECT_TRUE(waitFor([&] { return backendBehindProxy(explicitPort) == "v1"; }, 20s))
      << backendBehindProxy(explicitPort);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(backendBehindProxy(explicitPort), "v1");
  }

  // The proxy ACKed what meshd would send now, and its translated config can be dumped.
  nlohmann::json streams;
  EXPECT_TRUE(waitFor(
      [&] {
        streams = syncz();
        return streams.size() == 1 && streams[0]["in_sync"] == true;
      },
      20s))
      << streams.dump(2);
  ASSERT_EQ(streams.size(), 1u);
  EXPECT_EQ(streams[0]["last_nack_reason"], "");
  const std::string nodeId = streams[0]["node_id"];
  const HttpResult dump = call("GET", "/debug/config_dump?proxy=" + nodeId);
  ASSERT_EQ(dump.status, 200) << dump.body;
  const nlohmann::json resources = nlohmann::json::parse(dump.body);
  bool explicitRoute = false;
  for (const auto& route : resources["routes"]) {
    explicitRoute = explicitRoute || route["name"] == "explicit_proxy";
  }
  EXPECT_TRUE(explicitRoute) << dump.body;
  EXPECT_FALSE(resources["clusters"].empty());
  EXPECT_EQ(call("GET", "/debug/config_dump?proxy=nobody").status, 404);

  // Removing an instance is an endpoint-only change: v1 is gone, requests fail over to nothing.
  ASSERT_EQ(call("DELETE", "/apis/meshd.io/v1alpha1/instances/default/reviews-v1-0").status, 200);
  EXPECT_TRUE(
      waitFor([&] { return backendBehindProxy(explicitPort).starts_with("HTTP/1.1 503"); }, 20s))
      << backendBehindProxy(explicitPort);
  const std::string metrics = call("GET", "/metrics").body;
  EXPECT_NE(metrics.find("meshd_proxies_connected 1"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("meshd_snapshot_builds_total"), std::string::npos);
}

} // namespace
} // namespace meshd::testing
