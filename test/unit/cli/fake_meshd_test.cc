// meshctl's commands against a fake meshd (the admin HTTP server with canned answers): proxy-config
// with a node-id prefix and the /debug/config_dump shape, proxy-status exit codes, a meshd without
// config_dump, and usage errors.
#include <sstream>
#include <thread>

#include "cli/app.h"
#include "core/http/admin_http_server.h"
#include "nlohmann/json.hpp"
#include "gtest/gtest.h"

namespace meshd::cli {
namespace {

using Json = nlohmann::json;

constexpr const char* kNode = "sidecar~10.0.0.1~reviews-v1.default~default.svc.cluster.local";

Json syncz(const std::string& ackedClusters) {
  auto type = [](const std::string& name, const std::string& acked) {
    return Json{{"type_url", "type.googleapis.com/envoy.config." + name},
                {"last_version_sent", "7"},
                {"last_nonce_sent", "n7"},
                {"last_acked_version", acked}};
  };
  return Json::array(
      {{{"stream_id", 1},
        {"node", {{"id", kNode}}},
        {"types",
         {type("cluster.v3.Cluster", ackedClusters), type("listener.v3.Listener", "7"),
          type("endpoint.v3.ClusterLoadAssignment", "7"),
          type("route.v3.RouteConfiguration", "7")}}}});
}

// runMeshctl on `args` (argv[0] included), capturing both streams.
int runArgs(std::vector<std::string> args, std::ostringstream& out, std::ostringstream& err) {
  std::vector<char*> argv;
  for (std::string& arg : args) {
    argv.push_back(arg.data());
  }
  std::istringstream in;
  return runMeshctl(static_cast<int>(argv.size()), argv.data(), in, out, err);
}

class FakeMeshdTest : public ::testing::Test {
protected:
  void SetUp() override {
    server_.route("/debug/syncz", "", [this](const core::AdminRequest&) {
      return core::AdminResponse{200, "application/json", syncz_.dump()};
    });
    if (serveConfigDump_) {
      routeConfigDump();
    }
    auto bound = server_.listen("127.0.0.1", 0);
    ASSERT_TRUE(bound.ok()) << bound.status();
    address_ = "http://127.0.0.1:" + std::to_string(bound->port());
    thread_ = std::thread([this] { loop_.run(); });
  }

  void routeConfigDump() {
    server_.route("/debug/config_dump", "", [this](const core::AdminRequest& request) {
      const auto proxy = request.query.find("proxy");
      if (proxy == request.query.end() || proxy->second != kNode) {
        return core::AdminResponse{404, "text/plain", "no connected proxy\n"};
      }
      lastProxy_ = proxy->second;
      const Json dump = {
          {"clusters",
           {{{"name", "outbound|9080|v1|reviews.default.svc.cluster.local"}, {"type", "EDS"}}}},
          {"listeners", Json::array()},
          {"routes", Json::array()},
          {"endpoints", Json::array()}};
      return core::AdminResponse{200, "application/json", dump.dump()};
    });
  }
  void TearDown() override {
    loop_.post([this] { server_.close(); });
    loop_.stop();
    thread_.join();
  }

  int run(std::vector<std::string> args) {
    args.insert(args.begin(), {"meshctl", "--meshd", address_});
    out_.str("");
    err_.str("");
    return runArgs(std::move(args), out_, err_);
  }

  core::EventLoop loop_{"fake-meshd"};
  core::AdminHttpServer server_{loop_};
  std::thread thread_;
  std::string address_;
  Json syncz_ = syncz("7");
  std::string lastProxy_;
  bool serveConfigDump_ = true;
  std::ostringstream out_;
  std::ostringstream err_;
};

TEST_F(FakeMeshdTest, ProxyConfigClustersByNodePrefix) {
  ASSERT_EQ(run({"proxy-config", "clusters", "sidecar~10.0.0.1"}), 0) << err_.str();
  EXPECT_EQ(lastProxy_, kNode);
  EXPECT_EQ(out_.str(), "SERVICE FQDN                        PORT   SUBSET   DIRECTION   TYPE\n"
                        "reviews.default.svc.cluster.local   9080   v1       outbound    EDS\n");
  ASSERT_EQ(run({"pc", "cluster", kNode, "-o", "json"}), 0) << err_.str(); // istioctl's alias
  EXPECT_EQ(Json::parse(out_.str())[0]["type"], "EDS");
}

TEST_F(FakeMeshdTest, ProxyConfigErrors) {
  EXPECT_EQ(run({"proxy-config", "clusters", "router"}), 1);
  EXPECT_NE(err_.str().find("no proxy named 'router'"), std::string::npos) << err_.str();
  EXPECT_EQ(run({"proxy-config", "secrets", "sidecar"}), 2);
  EXPECT_EQ(run({"proxy-config", "clusters"}), 2);
}

TEST_F(FakeMeshdTest, ProxyStatusExitCodeFollowsSync) {
  EXPECT_EQ(run({"proxy-status"}), 0) << err_.str();
  EXPECT_NE(out_.str().find("SYNCED   SYNCED   SYNCED   SYNCED"), std::string::npos) << out_.str();
  syncz_ = syncz("6");
  EXPECT_EQ(run({"proxy-status"}), 1);
  EXPECT_NE(out_.str().find("   STALE   SYNCED   SYNCED   SYNCED\n"), std::string::npos)
      << out_.str();
}

// A meshd older than /debug/config_dump: the admin server's own 404.
class OldMeshdTest : public FakeMeshdTest {
protected:
  void SetUp() override {
    serveConfigDump_ = false;
    FakeMeshdTest::SetUp();
  }
};

TEST_F(OldMeshdTest, ProxyConfigSaysConfigDumpIsMissing) {
  EXPECT_EQ(run({"proxy-config", "routes", "sidecar"}), 1);
  EXPECT_NE(err_.str().find("does not serve /debug/config_dump"), std::string::npos) << err_.str();
}

TEST(UsageTest, UsageErrorsExitTwo) {
  for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
           {"meshctl"},
           {"meshctl", "apply"},
           {"meshctl", "get"},
           {"meshctl", "-o", "xml", "get", "vs"},
           {"meshctl", "get", "nosuchkind"},
           {"meshctl", "delete", "vs"},
           {"meshctl", "--meshd", "not an address", "get", "vs"}}) {
    std::ostringstream out;
    std::ostringstream err;
    EXPECT_EQ(runArgs(args, out, err), 2) << args.back() << ": " << err.str();
    EXPECT_FALSE(err.str().empty());
  }
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(runArgs({"meshctl", "-n", "apply", "bogus"}, out, err), 2);
  EXPECT_EQ(err.str(), "meshctl: unknown command 'bogus'\n(run 'meshctl --help' for usage)\n");
}

} // namespace
} // namespace meshd::cli
