// meshd started with --mesh-config: the file's outboundTrafficPolicy decides a sidecar's
// catch-all (BlackHoleCluster for REGISTRY_ONLY, PassthroughCluster for ALLOW_ANY), an edit of
// the file is applied without a restart, an invalid edit keeps the previous MeshConfig serving,
// and an invalid file stops meshd at start with exit status 2 and the file, line and field.
#include <fstream>

#include "envoy/service/discovery/v3/ads.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "nlohmann/json.hpp"
#include "test/support/http_client.h"
#include "test/support/meshd.h"
#include "test/support/process.h"
#include "test/support/temp_dir.h"
#include "gtest/gtest.h"

namespace meshd::testing {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr const char* kNodeId = "sidecar~127.0.0.1~test.default~default.svc.cluster.local";

// Replaces `path` the way editors and ConfigMap updates do: a new file renamed into place.
void replaceFile(const fs::path& path, const std::string& content) {
  const fs::path temporary = path.string() + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << content;
  }
  fs::rename(temporary, path);
}

nlohmann::json getJson(uint16_t port, const std::string& target) {
  const HttpResult result = httpGet(port, target);
  EXPECT_EQ(result.status, 200) << target << ": " << result.body;
  return nlohmann::json::parse(result.body, nullptr, false);
}

// An ADS stream that stays open, so that /debug/config_dump can name the proxy.
class AdsClient {
public:
  explicit AdsClient(uint16_t xdsPort) {
    using envoy::service::discovery::v3::AggregatedDiscoveryService;
    channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(xdsPort),
                                   grpc::InsecureChannelCredentials());
    stub_ = AggregatedDiscoveryService::NewStub(channel_);
    context_.set_deadline(std::chrono::system_clock::now() + 60s);
    stream_ = stub_->StreamAggregatedResources(&context_);
    envoy::service::discovery::v3::DiscoveryRequest request;
    request.mutable_node()->set_id(kNodeId);
    request.set_type_url("type.googleapis.com/envoy.config.cluster.v3.Cluster");
    envoy::service::discovery::v3::DiscoveryResponse response;
    connected_ = stream_->Write(request) && stream_->Read(&response);
  }
  ~AdsClient() {
    context_.TryCancel();
    stream_->Finish();
  }
  bool connected() const { return connected_; }

private:
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<envoy::service::discovery::v3::AggregatedDiscoveryService::Stub> stub_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<envoy::service::discovery::v3::DiscoveryRequest,
                                           envoy::service::discovery::v3::DiscoveryResponse>>
      stream_;
  bool connected_ = false;
};

// The cluster the sidecar's outbound catch-all (virtualOutbound's default filter chain) sends
// unmatched traffic to; "" when the dump has none.
std::string catchAllCluster(uint16_t httpPort) {
  const nlohmann::json dump = getJson(httpPort, std::string("/debug/config_dump?proxy=") + kNodeId);
  for (const auto& listener : dump.value("listeners", nlohmann::json::array())) {
    if (listener.value("name", "") != "virtualOutbound") {
      continue;
    }
    for (const auto& filter :
         listener["default_filter_chain"].value("filters", nlohmann::json::array())) {
      return filter["typed_config"].value("cluster", "");
    }
  }
  return "";
}

std::string passthroughConnectTimeout(uint16_t httpPort) {
  const nlohmann::json dump = getJson(httpPort, std::string("/debug/config_dump?proxy=") + kNodeId);
  for (const auto& cluster : dump.value("clusters", nlohmann::json::array())) {
    if (cluster.value("name", "") == "PassthroughCluster") {
      return cluster.value("connect_timeout", "");
    }
  }
  return "";
}

TEST(MeshdMeshConfigTest, OutboundTrafficPolicyFromTheFileAndItsEditsDecideTheCatchAll) {
  TempDir dir;
  const fs::path meshFile = dir.write("mesh.yaml", R"(# an Istio mesh config
accessLogFile: /dev/stdout
connectTimeout: 3s
outboundTrafficPolicy:
  mode: REGISTRY_ONLY
)");
  Meshd meshd({}, {"--mesh-config", meshFile.string()});
  ASSERT_TRUE(meshd.started()) << meshd.logs();
  EXPECT_NE(meshd.logs().find("'accessLogFile' is an Istio MeshConfig field meshd does not use"),
            std::string::npos)
      << meshd.logs();
  AdsClient proxy(meshd.xdsPort());
  ASSERT_TRUE(proxy.connected());

  EXPECT_EQ(catchAllCluster(meshd.httpPort()), "BlackHoleCluster");
  EXPECT_EQ(passthroughConnectTimeout(meshd.httpPort()), "3s");
  const nlohmann::json meshz = getJson(meshd.httpPort(), "/debug/meshz");
  EXPECT_EQ(meshz["file"], meshFile.string());
  EXPECT_EQ(meshz["meshConfig"]["outboundTrafficPolicy"]["mode"], "REGISTRY_ONLY");
  EXPECT_EQ(meshz["meshConfig"]["connectTimeout"], "3s");
  EXPECT_EQ(meshz["lastReadProblems"].size(), 1u) << meshz.dump();

  // An edit switches the catch-all back without a restart.
  replaceFile(meshFile, "outboundTrafficPolicy: {mode: ALLOW_ANY}\n");
  EXPECT_TRUE(
      waitFor([&] { return catchAllCluster(meshd.httpPort()) == "PassthroughCluster"; }, 20s, 50ms))
      << meshd.logs();
  EXPECT_EQ(passthroughConnectTimeout(meshd.httpPort()), "10s"); // back to Istio's default

  // An invalid edit is reported and changes nothing.
  replaceFile(meshFile, "outboundTrafficPolicy: {mode: REGISTRY_ONLY}\nconnectTimeout: soon\n");
  EXPECT_TRUE(waitFor(
      [&] {
        return httpGet(meshd.httpPort(), "/metrics")
                   .body.find("meshd_mesh_config_rejected_total 1") != std::string::npos;
      },
      20s, 50ms))
      << meshd.logs();
  const nlohmann::json rejected = getJson(meshd.httpPort(), "/debug/meshz");
  EXPECT_EQ(rejected["meshConfig"]["outboundTrafficPolicy"]["mode"], "ALLOW_ANY");
  ASSERT_EQ(rejected["lastReadProblems"].size(), 1u) << rejected.dump();
  EXPECT_EQ(rejected["lastReadProblems"][0],
            meshFile.string() + ":2: error: connectTimeout: 'soon' is not a duration (write it "
                                "like 1.5s, 100ms or 1h)");
  EXPECT_EQ(catchAllCluster(meshd.httpPort()), "PassthroughCluster");
  EXPECT_EQ(meshd.stop(), 0);
}

TEST(MeshdMeshConfigTest, TheAutoMtlsFlagWinsOverTheFile) {
  TempDir dir;
  const fs::path meshFile = dir.write("mesh.json", R"({"enableAutoMtls": false})");
  Meshd meshd({}, {"--mesh-config", meshFile.string(), "--auto-mtls"});
  ASSERT_TRUE(meshd.started()) << meshd.logs();
  const nlohmann::json meshz = getJson(meshd.httpPort(), "/debug/meshz");
  EXPECT_EQ(meshz["meshConfig"]["enableAutoMtls"], true) << meshz.dump();
  EXPECT_EQ(meshz["autoMtlsFlag"], true);
}

TEST(MeshdMeshConfigTest, AnInvalidFileStopsMeshdWithExitStatus2) {
  TempDir dir;
  const fs::path meshFile = dir.write("mesh.yaml", "trustDomain: example.org\nrootNamespce: x\n");
  Process meshd(
      {.argv = {(binaryDir() / "meshd").string(), "--config-dir", (dir.path() / "config").string(),
                "--xds-port", "0", "--http-port", "0", "--mesh-config", meshFile.string()}});
  EXPECT_EQ(meshd.wait(30s), 2);
  EXPECT_NE(meshd.errors().find(meshFile.string() +
                                ":2: error: rootNamespce: unknown field 'rootNamespce' (did you "
                                "mean 'rootNamespace'?)"),
            std::string::npos)
      << meshd.errors();
}

} // namespace
} // namespace meshd::testing
