// Istio's egress tasks end to end (netns mode): an "external" HTTP server outside the mesh (in the
// mesh's hub namespace at 10.77.0.1:9901, the only place a pod can reach that is not a pod),
// reached from the sleep workload directly under ALLOW_ANY, blocked under REGISTRY_ONLY until a
// ServiceEntry names it, and then routed through the egress gateway (samples/egress/).
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "test/e2e/mesh_fixture.h"
#include "test/support/process.h"
#include "gtest/gtest.h"

namespace meshd::e2e {
namespace {

constexpr const char* kExternalAddress = "10.77.0.1";
constexpr const char* kExternalPort = "9901";
constexpr auto kSettleBound = 40s;

class EgressTasks : public MeshSuite<EgressTasks> {
public:
  static std::vector<std::string> sampleFiles() { return {"sleep/sleep.yaml"}; }

protected:
  void SetUp() override {
    MeshSuite<EgressTasks>::SetUp();
    if (IsSkipped() || HasFatalFailure()) {
      return;
    }
    // The external server, in the mesh's hub namespace; its log names each client's address.
    external_ = std::make_unique<testing::Process>(testing::ProcessOptions{
        .argv = {"ip", "netns", "exec", mesh().meshId() + "-hub", "python3", "-u", "-m",
                 "http.server", kExternalPort, "--bind", kExternalAddress}});
    ASSERT_TRUE(testing::waitFor(
        [] {
          return status("http://" + std::string(kExternalAddress) + ":" + kExternalPort) == "200";
        },
        20s, 100ms))
        << "the external server did not start: " << external_->errors();
  }

  void TearDown() override { external_.reset(); }

  // The HTTP status curl in the sleep workload gets for `url` ("000": no answer).
  static std::string status(const std::string& url) {
    const CommandResult result = mesh().exec(
        "sleep", {"curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-m", "5", url}, 30s);
    return result.out;
  }

  // The client addresses the external server logged, in order.
  std::vector<std::string> clients() const {
    std::vector<std::string> out;
    std::istringstream log(external_->errors());
    for (std::string line; std::getline(log, line);) {
      if (line.find("\"GET ") != std::string::npos) {
        out.push_back(line.substr(0, line.find(' ')));
      }
    }
    return out;
  }

  std::unique_ptr<testing::Process> external_;
};

TEST_F(EgressTasks, AllowAnyPassesAndRegistryOnlyBlocksUntilAServiceEntryNamesIt) {
  const std::string direct = "http://" + std::string(kExternalAddress) + ":" + kExternalPort + "/";
  EXPECT_EQ(status(direct), "200") << "ALLOW_ANY (the default): PassthroughCluster";
  const std::string sleepIp = [&] {
    for (const nlohmann::json& pod : mesh().status().value("pods", nlohmann::json::array())) {
      if (pod.value("workload", "") == "sleep") {
        return pod.value("ip", "");
      }
    }
    return std::string();
  }();
  ASSERT_FALSE(clients().empty());
  EXPECT_EQ(clients().back(), sleepIp) << "straight from the pod, no gateway";

  TaskConfig registryOnly(mesh(), {"egress/registry-only.yaml"});
  ASSERT_TRUE(registryOnly.status().ok()) << registryOnly.status();
  EXPECT_TRUE(testing::waitFor([&] { return status(direct) != "200"; }, kSettleBound, 200ms))
      << "REGISTRY_ONLY: BlackHoleCluster";

  TaskConfig entry(mesh(), {"egress/external-service.yaml"});
  ASSERT_TRUE(entry.status().ok()) << entry.status();
  EXPECT_TRUE(testing::waitFor([&] { return status("http://external.example.com/") == "200"; },
                               kSettleBound, 200ms))
      << "a ServiceEntry makes it a known destination (its name resolves to its address)";
}

TEST_F(EgressTasks, TheEgressGatewayCarriesTrafficToTheExternalService) {
  TaskConfig config(mesh(), {"egress/registry-only.yaml", "egress/external-service.yaml",
                             "egress/egress-gateway.yaml"});
  ASSERT_TRUE(config.status().ok()) << config.status();
  const std::string egressIp = [&] {
    for (const nlohmann::json& pod : mesh().status().value("pods", nlohmann::json::array())) {
      if (pod.value("name", "") == "istio-egressgateway") {
        return pod.value("ip", "");
      }
    }
    return std::string();
  }();
  ASSERT_FALSE(egressIp.empty());
  EXPECT_TRUE(testing::waitFor(
      [&] {
        return status("http://external.example.com/") == "200" && !clients().empty() &&
               clients().back() == egressIp;
      },
      kSettleBound, 200ms))
      << "the external server sees the egress gateway's address; clients: "
      << (clients().empty() ? "none" : clients().back());
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(status("http://external.example.com/"), "200");
    EXPECT_EQ(clients().back(), egressIp);
  }
}

} // namespace
} // namespace meshd::e2e
