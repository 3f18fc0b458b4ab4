// The smaller end-to-end set in local mode (docs/local-mesh.md): no network namespaces and no
// root; each sidecar holds its instance's loopback address in front of its app and is the app's
// HTTP proxy. Bookinfo through the ingress, request routing, a fault for one user, and a workload's
// own calls through its sidecar with meshctl exec.
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "test/e2e/bookinfo_page.h"
#include "test/e2e/mesh_fixture.h"
#include "test/support/process.h"
#include "gtest/gtest.h"

namespace meshd::e2e {
namespace {

const HttpHeaders kJason = {{"end-user", "jason"}};

class LocalModeTasks : public MeshSuite<LocalModeTasks> {
public:
  static std::string mode() { return "local"; }
  static std::vector<std::string> sampleFiles() {
    return {"bookinfo/platform/bookinfo.yaml", "bookinfo/networking/bookinfo-gateway.yaml",
            "bookinfo/networking/destination-rule-all.yaml"};
  }

protected:
  // Polls the product page until `expected` holds (bounded); returns the last page.
  static BookinfoPage pageWhen(const HttpHeaders& headers,
                               const std::function<bool(const BookinfoPage&)>& expected) {
    BookinfoPage last;
    testing::waitFor(
        [&] {
          last = fetchProductPage(mesh().ingressPort(), headers);
          return expected(last);
        },
        40s, 100ms);
    return last;
  }
};

TEST_F(LocalModeTasks, InstancesHoldLoopbackAddressesAndBothGatewaysRun) {
  const nlohmann::json status = mesh().status();
  EXPECT_EQ(status.value("mode", ""), "local");
  int gateways = 0;
  for (const nlohmann::json& pod : status.value("pods", nlohmann::json::array())) {
    EXPECT_TRUE(pod.value("ip", "").starts_with("127.77.")) << pod.dump();
    EXPECT_EQ(pod.value("netns", "x"), "") << "no network namespaces in local mode";
    gateways += pod.value("gateway", false) ? 1 : 0;
  }
  EXPECT_EQ(gateways, 2) << "ingress and egress";
}

TEST_F(LocalModeTasks, ProductPageThroughTheIngressWithReviewsRotating) {
  std::set<std::string> versions;
  for (int i = 0; i < 30 && versions.size() < 3; ++i) {
    const BookinfoPage page = fetchProductPage(mesh().ingressPort());
    ASSERT_EQ(page.reply.status, 200) << page.reply.body.substr(0, 300);
    EXPECT_NE(page.reply.body.find("Simple Bookstore App"), std::string::npos);
    if (!page.reviewsVersion().empty()) {
      versions.insert(page.reviewsVersion());
    }
  }
  EXPECT_EQ(versions, (std::set<std::string>{"v1", "v2", "v3"}));
}

TEST_F(LocalModeTasks, RequestRoutingAndAFaultForJason) {
  TaskConfig allV1(mesh(), {"bookinfo/networking/virtual-service-all-v1.yaml"});
  ASSERT_TRUE(allV1.status().ok()) << allV1.status();
  EXPECT_EQ(pageWhen({}, [](const BookinfoPage& p) { return p.reviewsVersion() == "v1"; })
                .reviewsVersion(),
            "v1");
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(fetchProductPage(mesh().ingressPort()).reviewsVersion(), "v1");
  }
  TaskConfig jasonV2(mesh(), {"bookinfo/networking/virtual-service-reviews-test-v2.yaml"});
  ASSERT_TRUE(jasonV2.status().ok()) << jasonV2.status();
  EXPECT_EQ(
      pageWhen(kJason, [](const BookinfoPage& p) { return p.reviewsVersion() == "v2"; }).starColor,
      "black");
  EXPECT_EQ(fetchProductPage(mesh().ingressPort()).reviewsVersion(), "v1") << "others stay on v1";
  TaskConfig abort(mesh(), {"bookinfo/networking/virtual-service-ratings-test-abort.yaml"});
  ASSERT_TRUE(abort.status().ok()) << abort.status();
  EXPECT_TRUE(pageWhen(kJason, [](const BookinfoPage& p) { return p.ratingsUnavailable; })
                  .ratingsUnavailable)
      << "Ratings service is currently unavailable";
}

TEST_F(LocalModeTasks, ExecCallsGoThroughTheWorkloadsSidecar) {
  const CommandResult reviews = mesh().exec(
      "productpage-v1", {"curl", "-s", "-D", "-", "http://reviews:9080/reviews/0"}, 30s);
  ASSERT_TRUE(reviews.ok()) << reviews.describe();
  EXPECT_NE(reviews.out.find("\"reviews\""), std::string::npos) << reviews.out;
  EXPECT_NE(reviews.out.find("x-envoy-upstream-service-time"), std::string::npos)
      << "answered through the sidecar: " << reviews.out;
}

} // namespace
} // namespace meshd::e2e
