// meshd as a process, driven with curl the way meshctl and operators will: apply, get, list, dry
// run, rejected writes, delete, restart on the same config directory, hand edits picked up, the
// xDS port serving an ADS stream, /metrics clean under promtool, graceful SIGTERM.
#include <algorithm>
#include <csignal>
#include <fstream>

#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/service/discovery/v3/ads.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "nlohmann/json.hpp"
#include "test/support/meshd.h"
#include "test/support/process.h"
#include "test/support/temp_dir.h"
#include "gtest/gtest.h"

namespace meshd::testing {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr const char* kBookinfo = R"(apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata:
  name: reviews
  namespace: bookinfo
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews, subset: v1}
---
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata:
  name: reviews
  namespace: bookinfo
spec:
  host: reviews
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
---
apiVersion: v1
kind: Namespace
metadata: {name: bookinfo}
)";

struct CurlResult {
  int status = 0;
  nlohmann::json body;
  std::string text;
};

class MeshdTest : public ::testing::Test {
protected:
  void SetUp() override { start(); }

  void start() {
    meshd_ = std::make_unique<Meshd>(dir_.path() / "config");
    ASSERT_TRUE(meshd_->started()) << meshd_->logs();
  }

  // curl against meshd's HTTP port; `bodyFile` is sent as the request body when not empty.
  CurlResult curl(const std::string& method, const std::string& target,
                  const fs::path& bodyFile = {}) {
    std::vector<std::string> argv = {
        "curl", "-sS", "-X", method, "-H", "Expect:", "-w", "\n%{http_code}", "--max-time", "20"};
    if (!bodyFile.empty()) {
      argv.insert(argv.end(), {"-H", "content-type: application/yaml", "--data-binary",
                               "@" + bodyFile.string()});
    }
    argv.push_back("http://127.0.0.1:" + std::to_string(meshd_->httpPort()) + target);
    Process process({.argv = argv});
    const auto exit = process.wait(30s);
    EXPECT_EQ(exit, 0) << process.errors();
    CurlResult result;
    result.text = process.output();
    const size_t newline = result.text.rfind('\n');
    if (newline != std::string::npos) {
      result.status = std::atoi(result.text.c_str() + newline + 1);
      result.text.resize(newline);
    }
    result.body = nlohmann::json::parse(result.text, nullptr, false);
    return result;
  }

  CurlResult post(const std::string& target, const std::string& body) {
    return curl("POST", target, dir_.write("body-" + std::to_string(++bodies_), body));
  }

  std::vector<std::string> names(const std::string& target) {
    const CurlResult list = curl("GET", target);
    std::vector<std::string> out;
    for (const auto& item : list.body["items"]) {
      out.push_back(item["kind"].get<std::string>() + " " +
                    item["metadata"].value("namespace", "") + "/" +
                    item["metadata"]["name"].get<std::string>());
    }
    return out;
  }

  TempDir dir_;
  std::unique_ptr<Meshd> meshd_;
  int bodies_ = 0;
};

TEST_F(MeshdTest, ApplyGetListDryRunAndDelete) {
  const CurlResult dry = post("/apis/v1/apply?dryRun=true&file=bookinfo.yaml", kBookinfo);
  ASSERT_EQ(dry.status, 200) << dry.text;
  EXPECT_EQ(dry.body["items"].size(), 3u);
  EXPECT_EQ(names("/apis/v1/virtualservices"), std::vector<std::string>{});

  const CurlResult applied = post("/apis/v1/apply?file=bookinfo.yaml", kBookinfo);
  ASSERT_EQ(applied.status, 200) << applied.text;
  EXPECT_EQ(applied.body["items"][0]["action"], "created");
  const CurlResult got = curl("GET", "/apis/v1/namespaces/bookinfo/destinationrules/reviews");
  ASSERT_EQ(got.status, 200) << got.text;
  EXPECT_EQ(got.body["spec"]["subsets"][0]["labels"]["version"], "v1");
  EXPECT_EQ(got.body["metadata"]["resourceVersion"], applied.body["resourceVersion"]);
  EXPECT_EQ(names("/apis/v1/virtualservices"),
            std::vector<std::string>{"VirtualService bookinfo/reviews"});
  EXPECT_EQ(names("/apis/v1/namespaces/bookinfo/destinationrules"),
            std::vector<std::string>{"DestinationRule bookinfo/reviews"});
  EXPECT_EQ(names("/apis/v1/namespaces"), std::vector<std::string>{"Namespace /bookinfo"});
  EXPECT_EQ(curl("GET", "/apis/v1/pods").status, 404);
  EXPECT_EQ(post("/apis/v1/namespaces/bookinfo/virtualservices", R"({"apiVersion":
           "networking.istio.io/v1", "kind": "VirtualService", "metadata": {"name": "reviews"}})")
                .status,
            409);

  const CurlResult deleted = post("/apis/v1/delete?file=bookinfo.yaml", kBookinfo);
  ASSERT_EQ(deleted.status, 200) << deleted.text;
  EXPECT_EQ(deleted.body["items"][2]["action"], "deleted");
  EXPECT_EQ(names("/apis/v1/virtualservices"), std::vector<std::string>{});
  EXPECT_EQ(curl("DELETE", "/apis/v1/namespaces/bookinfo/virtualservices/reviews").status, 404);
}

TEST_F(MeshdTest, ARejectedWriteReturnsEveryDiagnosticAndChangesNothing) {
  ASSERT_EQ(post("/apis/v1/apply", kBookinfo).status, 200);
  const std::string version =
      curl("GET", "/apis/v1/virtualservices").body["metadata"]["resourceVersion"];
  const std::string bad = R"(apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: fine}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: Not_Valid
---
apiVersion: v1
kind: Pod
metadata: {name: p}
)";
  const CurlResult rejected = post("/apis/v1/apply?file=bad.yaml", bad);
  ASSERT_EQ(rejected.status, 400) << rejected.text;
  ASSERT_EQ(rejected.body["diagnostics"].size(), 2u) << rejected.text;
  const auto& name = rejected.body["diagnostics"][0];
  EXPECT_EQ(name["file"], "bad.yaml");
  EXPECT_EQ(name["line"], 8);
  EXPECT_EQ(name["field"], "metadata.name");
  EXPECT_EQ(name["severity"], "error");
  EXPECT_EQ(rejected.body["diagnostics"][1]["line"], 11);
  EXPECT_EQ(names("/apis/v1/gateways"), std::vector<std::string>{});
  EXPECT_EQ(curl("GET", "/apis/v1/virtualservices").body["metadata"]["resourceVersion"], version);

  const CurlResult malformed = post("/apis/v1/namespaces/default/gateways", "{\"kind\": [");
  EXPECT_EQ(malformed.status, 400) << malformed.text;
  const CurlResult tooLarge = post("/apis/v1/apply", std::string(5 << 20, '#'));
  EXPECT_EQ(tooLarge.status, 413);
}

TEST_F(MeshdTest, ConfigSurvivesARestart) {
  ASSERT_EQ(post("/apis/v1/apply", kBookinfo).status, 200);
  EXPECT_EQ(meshd_->stop(), 0) << "SIGTERM is a clean exit\n" << meshd_->logs();
  start();
  EXPECT_EQ(names("/apis/v1/virtualservices"),
            std::vector<std::string>{"VirtualService bookinfo/reviews"});
  EXPECT_EQ(
      curl("GET", "/apis/v1/namespaces/bookinfo/destinationrules/reviews").body["spec"]["host"],
      "reviews");
}

TEST_F(MeshdTest, HandEditsOfTheConfigDirectoryAreServed) {
  ASSERT_EQ(post("/apis/v1/apply", kBookinfo).status, 200);
  const fs::path file = meshd_->configDir() / "bookinfo/virtualservices/reviews.yaml";
  ASSERT_TRUE(fs::exists(file));
  auto subset = [&] {
    const CurlResult got = curl("GET", "/apis/v1/namespaces/bookinfo/virtualservices/reviews");
    return got.body.value("/spec/http/0/route/0/destination/subset"_json_pointer, "");
  };
  std::ofstream(file) << "apiVersion: networking.istio.io/v1beta1\nkind: VirtualService\n"
                         "metadata: {name: reviews}\nspec:\n  hosts: [reviews]\n  http:\n"
                         "  - route:\n    - destination: {host: reviews, subset: v2}\n";
  EXPECT_TRUE(waitFor([&] { return subset() == "v2"; }, 20s)) << subset();

  // A broken edit is reported and the last good version keeps serving.
  std::ofstream(file) << "apiVersion: networking.istio.io/v1beta1\nkind: VirtualService\n"
                         "metadata: {name: reviews\n";
  EXPECT_TRUE(waitFor(
      [&] {
        return curl("GET", "/debug/configz")
            .body["fileProblems"]
            .contains("bookinfo/virtualservices/reviews.yaml");
      },
      20s));
  EXPECT_EQ(subset(), "v2");

  fs::remove(file);
  EXPECT_TRUE(waitFor(
      [&] {
        return curl("GET", "/apis/v1/namespaces/bookinfo/virtualservices/reviews").status == 404;
      },
      20s));
}

TEST_F(MeshdTest, TheXdsPortServesAnAdsStream) {
  using envoy::service::discovery::v3::AggregatedDiscoveryService;
  const auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(meshd_->xdsPort()),
                                           grpc::InsecureChannelCredentials());
  auto stub = AggregatedDiscoveryService::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + 20s);
  auto stream = stub->StreamAggregatedResources(&context);
  envoy::service::discovery::v3::DiscoveryRequest request;
  request.mutable_node()->set_id("sidecar~127.0.0.1~test.default~default.svc.cluster.local");
  request.set_type_url("type.googleapis.com/envoy.config.cluster.v3.Cluster");
  ASSERT_TRUE(stream->Write(request));
  envoy::service::discovery::v3::DiscoveryResponse response;
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.type_url(), request.type_url());
  // An empty mesh still gives a sidecar Istio's special clusters.
  std::vector<std::string> clusters;
  for (const auto& resource : response.resources()) {
    envoy::config::cluster::v3::Cluster cluster;
    ASSERT_TRUE(resource.UnpackTo(&cluster));
    clusters.push_back(cluster.name());
  }
  EXPECT_NE(std::find(clusters.begin(), clusters.end(), "BlackHoleCluster"), clusters.end())
      << response.DebugString();

  const CurlResult syncz = curl("GET", "/debug/syncz");
  ASSERT_EQ(syncz.status, 200);
  ASSERT_EQ(syncz.body.size(), 1u) << syncz.text;
  EXPECT_NE(syncz.text.find(request.node().id()), std::string::npos) << syncz.text;
  context.TryCancel();
  stream->Finish();
}

TEST_F(MeshdTest, MetricsPassPromtoolAndCountConfig) {
  ASSERT_EQ(post("/apis/v1/apply", kBookinfo).status, 200);
  ASSERT_EQ(post("/apis/v1/apply", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n").status, 400);
  const CurlResult metrics = curl("GET", "/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.text.find("config_objects{kind=\"VirtualService\"} 1"), std::string::npos)
      << metrics.text;
  EXPECT_NE(metrics.text.find("config_writes_total{result=\"accepted\"} 1"), std::string::npos);
  EXPECT_NE(metrics.text.find("config_writes_total{result=\"rejected\"} 1"), std::string::npos);
  EXPECT_NE(metrics.text.find("xds_server_connected_streams 0"), std::string::npos);

  const fs::path file = dir_.write("metrics.txt", metrics.text + "\n");
  Process promtool({.argv = {"sh", "-c", "promtool check metrics < \"$0\" 2>&1", file.string()}});
  EXPECT_EQ(promtool.wait(60s), 0) << promtool.output();
  EXPECT_EQ(promtool.output(), "");
}

} // namespace
} // namespace meshd::testing
