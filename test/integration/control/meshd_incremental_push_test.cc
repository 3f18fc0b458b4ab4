// Endpoint-only pushes end to end: a real meshd and two real mesh-proxy sidecars, one in
// `default` (sees every service) and one in `a` scoped by a Sidecar to its own namespace. A new
// instance of a service in `default` gives only the first proxy a new EDS version; the second
// is not pushed at all (its sent and ACKed versions stay, meshd_pushes_skipped_total counts it).
// A new instance in `a` (exported everywhere) reaches both; a VirtualService write translates
// both in full.
#include <string>

#include "fmt/format.h"
#include "nlohmann/json.hpp"
#include "test/support/http_client.h"
#include "test/support/mesh_proxy.h"
#include "test/support/meshd.h"
#include "test/support/process.h"
#include "gtest/gtest.h"

namespace meshd::testing {
namespace {

using namespace std::chrono_literals;

constexpr const char* kConfig = R"(apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: default}
spec:
  selector: {app: reviews}
  ports: [{name: http, port: 9080}]
---
apiVersion: v1
kind: Service
metadata: {name: frontend, namespace: a}
spec:
  selector: {app: frontend}
  ports: [{name: http, port: 8080}]
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: a}
spec:
  egress:
  - hosts: ["./*"]
)";
constexpr const char* kEndpointType =
    "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";

struct EdsState {
  std::string sent;
  std::string acked;
  bool upToDate = false;
};

class MeshdIncrementalPushTest : public ::testing::Test {
protected:
  HttpResult call(const std::string& method, const std::string& target,
                  const std::string& body = {}) {
    return httpRequest(meshd_.httpPort(), method, target, body);
  }

  bool putInstance(const std::string& ns, const std::string& name, const std::string& app,
                   const std::string& address) {
    const std::string body =
        nlohmann::json{{"address", address}, {"labels", {{"app", app}}}}.dump();
    return call("PUT", fmt::format("/apis/meshd.io/v1alpha1/instances/{}/{}", ns, name), body)
               .status == 200;
  }

  // The EDS versions of the stream whose node id names workload `workload` in /debug/syncz
  // (mesh-proxy's --proxy-type flags make the id "sidecar~<ip>~<workload>.<ns>~..."); empty when
  // it is not there.
  EdsState eds(const std::string& workload) {
    EdsState out;
    const nlohmann::json streams =
        nlohmann::json::parse(call("GET", "/debug/syncz").body, nullptr, false);
    if (!streams.is_array()) {
      return out;
    }
    for (const auto& stream : streams) {
      if (stream.value("node_id", "").find("~" + workload + ".") == std::string::npos) {
        continue;
      }
      for (const auto& type : stream["types"]) {
        if (type.value("type_url", "") == kEndpointType) {
          out.sent = type.value("last_version_sent", "");
          out.acked = type.value("last_acked_version", "");
          out.upToDate = type.value("up_to_date", false);
        }
      }
    }
    return out;
  }

  // The value of a metric line `series` ("name{labels}") in /metrics; -1 when absent.
  double metric(const std::string& series) {
    const std::string text = call("GET", "/metrics").body;
    const size_t at = text.find("\n" + series + " ");
    if (at == std::string::npos) {
      return -1;
    }
    return std::stod(text.substr(at + series.size() + 2));
  }

  Meshd meshd_{{}, {"--debounce-ms", "20"}};
};

TEST_F(MeshdIncrementalPushTest, OnlyTheProxyThatSeesTheChangedServiceIsPushed) {
  ASSERT_TRUE(meshd_.started()) << meshd_.logs();
  ASSERT_EQ(call("POST", "/apis/v1/apply", kConfig).status, 200);
  ASSERT_TRUE(putInstance("default", "reviews-0", "reviews", "127.0.0.2"));
  ASSERT_TRUE(putInstance("a", "frontend-0", "frontend", "127.0.0.4"));

  MeshProxy productpage(adsBootstrap(meshd_.xdsPort(), "{id: productpage-sidecar, cluster: test}"),
                        {"--proxy-type", "sidecar", "--namespace", "default", "--workload",
                         "productpage", "--label", "app=productpage"});
  MeshProxy web(
      adsBootstrap(meshd_.xdsPort(), "{id: web-sidecar, cluster: test}"),
      {"--proxy-type", "sidecar", "--namespace", "a", "--workload", "web", "--label", "app=web"});
  ASSERT_TRUE(productpage.started()) << productpage.logs();
  ASSERT_TRUE(web.started()) << web.logs();

  auto synced = [&](const std::string& workload) {
    const EdsState state = eds(workload);
    return !state.acked.empty() && state.acked == state.sent && state.upToDate;
  };
  ASSERT_TRUE(waitFor([&] { return synced("productpage") && synced("web"); }, 20s))
      << "meshd:\n"
      << meshd_.logs() << "\nproductpage:\n"
      << productpage.logs() << "\nweb:\n"
      << web.logs();
  const EdsState productpageBefore = eds("productpage");
  const EdsState webBefore = eds("web");
  const double skippedBefore = metric("meshd_pushes_skipped_total");

  // reviews (namespace default) gains an instance: web's Sidecar hides reviews.
  ASSERT_TRUE(putInstance("default", "reviews-1", "reviews", "127.0.0.3"));
  EXPECT_TRUE(waitFor(
      [&] { return synced("productpage") && eds("productpage").acked != productpageBefore.acked; },
      20s))
      << meshd_.logs();
  EXPECT_TRUE(waitFor([&] { return metric("meshd_pushes_skipped_total") > skippedBefore; }, 20s));
  const EdsState webAfter = eds("web");
  EXPECT_EQ(webAfter.sent, webBefore.sent) << "web was not pushed";
  EXPECT_EQ(webAfter.acked, webBefore.acked);
  EXPECT_TRUE(webAfter.upToDate) << "and what it holds is still what meshd would send";
  EXPECT_GE(metric("meshd_translations_total{kind=\"endpoints\"}"), 1);
  EXPECT_GE(metric("meshd_translations_kept_total"), 1);

  // frontend (namespace a, exported everywhere) gains an instance: both proxies see it.
  const EdsState productpageMiddle = eds("productpage");
  ASSERT_TRUE(putInstance("a", "frontend-1", "frontend", "127.0.0.5"));
  EXPECT_TRUE(waitFor(
      [&] {
        return synced("web") && eds("web").acked != webBefore.acked && synced("productpage") &&
               eds("productpage").acked != productpageMiddle.acked;
      },
      20s))
      << meshd_.logs();

  // A config change (a VirtualService) translates both proxies fully again.
  const double fullBefore = metric("meshd_translations_total{kind=\"full\"}");
  ASSERT_EQ(call("POST", "/apis/v1/apply", R"(apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews]
  http:
  - timeout: 3s
    route:
    - destination: {host: reviews}
)")
                .status,
            200);
  EXPECT_TRUE(waitFor(
      [&] { return metric("meshd_translations_total{kind=\"full\"}") >= fullBefore + 2; }, 20s))
      << meshd_.logs();
}

} // namespace
} // namespace meshd::testing
