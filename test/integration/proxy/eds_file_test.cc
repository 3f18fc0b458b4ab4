// EDS clusters fed from a file (path_config_source): the assignment at start, updates followed
// (atomic renames included), invalid updates rejected with the hosts kept, and a bad file at start
// refused with the file named.
#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include "fmt/format.h"
#include "test/integration/proxy/http_test_helpers.h"
#include "test/support/http_backend.h"
#include "test/support/http_client.h"
#include "test/support/mesh_proxy.h"
#include "test/support/process.h"
#include "test/support/temp_dir.h"
#include "gtest/gtest.h"

namespace meshd::testing {
namespace {

using namespace std::chrono_literals;

// A DiscoveryResponse with one ClusterLoadAssignment named `name` over `ports`.
std::string edsFile(const std::string& name, const std::vector<uint16_t>& ports) {
  std::string endpoints;
  for (const uint16_t port : ports) {
    endpoints += fmt::format(
        "\n    - endpoint: {{ address: {{ socket_address: {{ address: 127.0.0.1, port_value: {} "
        "}} }} }}",
        port);
  }
  return fmt::format(R"(version_info: "1"
resources:
- "@type": type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment
  cluster_name: {}
  endpoints:
  - lb_endpoints:{}
)",
                     name, endpoints);
}

class EdsFileTest : public ::testing::Test {
protected:
  std::string bootstrap(const std::string& service_name = "") const {
    return httpBootstrap(catchAllRoutes("backend"), {}, "") +
           fmt::format(R"(
  - name: backend
    type: EDS
    connect_timeout: 1s
    eds_cluster_config:
      {}eds_config: {{ path_config_source: {{ path: {} }}, resource_api_version: V3 }}
)",
                       service_name.empty() ? "" : "service_name: " + service_name + "\n      ",
                       edsPath().string());
  }

  void start(const std::string& service_name = "") {
    proxy_ = std::make_unique<MeshProxy>(bootstrap(service_name));
    ASSERT_TRUE(proxy_->started()) << proxy_->logs() << "\n" << bootstrap(service_name);
    port_ = proxy_->listenerPort("http");
  }

  // Replaces the EDS file atomically, as a config agent would.
  void publish(const std::string& content) const {
    const auto temporary = dir_.write("eds.yaml.tmp", content);
    std::filesystem::rename(temporary, edsPath());
  }

  std::filesystem::path edsPath() const { return dir_.path() / "eds.yaml"; }

  std::string servedBy() const { return fetchGet(port_, "/echo").header("x-backend").value_or(""); }

  void TearDown() override {
    if (HasFailure() && proxy_) {
      std::cerr << "mesh-proxy logs:\n" << proxy_->logs() << "\n";
    }
  }

  TempDir dir_;
  HttpBackend a_{"a"};
  HttpBackend b_{"b"};
  std::unique_ptr<MeshProxy> proxy_;
  uint16_t port_ = 0;
};

TEST_F(EdsFileTest, ServesTheAssignmentAndFollowsUpdates) {
  publish(edsFile("backend", {a_.port()}));
  ASSERT_NO_FATAL_FAILURE(start());
  EXPECT_EQ(servedBy(), "a");
  publish(edsFile("backend", {b_.port()}));
  EXPECT_TRUE(waitFor([&] { return servedBy() == "b"; }, 10s));
  EXPECT_TRUE(statReaches(*proxy_, "cluster.backend.update_success", "1"));
}

TEST_F(EdsFileTest, KeepAliveConnectionFollowsEndpointChanges) {
  publish(edsFile("backend", {a_.port()}));
  ASSERT_NO_FATAL_FAILURE(start());
  HttpConnection connection(port_);
  EXPECT_EQ(connection.request("GET", "/echo").header("x-backend"), "a");
  publish(edsFile("backend", {b_.port()}));
  // The same client connection: each request takes the cluster as it is now.
  EXPECT_TRUE(
      waitFor([&] { return connection.request("GET", "/echo").header("x-backend") == "b"; }, 10s));
  EXPECT_FALSE(connection.peerClosed());
}

TEST_F(EdsFileTest, InvalidUpdateIsRejectedAndTheHostsStay) {
  publish(edsFile("backend", {a_.port()}));
  ASSERT_NO_FATAL_FAILURE(start());
  publish("resources: [ { \"@type\": type.googleapis.com/envoy.config.endpoint.v3."
          "ClusterLoadAssignment, cluster_name: backend, bogus: 1 } ]");
  EXPECT_TRUE(statReaches(*proxy_, "cluster.backend.update_rejected", "1"));
  EXPECT_EQ(servedBy(), "a");
  // An assignment for another cluster only is rejected too.
  publish(edsFile("other", {b_.port()}));
  EXPECT_TRUE(statReaches(*proxy_, "cluster.backend.update_rejected", "2"));
  EXPECT_EQ(servedBy(), "a");
}

TEST_F(EdsFileTest, ServiceNameSelectsTheAssignment) {
  publish(edsFile("reviews-v1", {b_.port()}));
  ASSERT_NO_FATAL_FAILURE(start("reviews-v1"));
  EXPECT_EQ(servedBy(), "b");
}

TEST_F(EdsFileTest, EmptyAssignmentLeavesNoHealthyUpstream) {
  publish(edsFile("backend", {a_.port()}));
  ASSERT_NO_FATAL_FAILURE(start());
  publish(edsFile("backend", {}));
  EXPECT_TRUE(waitFor([&] { return fetchGet(port_, "/echo").status == 503; }, 10s));
}

// Priority 0 holds backend a with `health`; priority 1 holds backend b.
std::string failoverFile(uint16_t a_port, uint16_t b_port, const std::string& health) {
  return fmt::format(R"(resources:
- "@type": type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment
  cluster_name: backend
  endpoints:
  - priority: 0
    lb_endpoints:
    - endpoint: {{ address: {{ socket_address: {{ address: 127.0.0.1, port_value: {} }} }} }}
      health_status: {}
  - priority: 1
    lb_endpoints:
    - endpoint: {{ address: {{ socket_address: {{ address: 127.0.0.1, port_value: {} }} }} }}
)",
                     a_port, health, b_port);
}

TEST_F(EdsFileTest, UnhealthyPriorityFailsOverToTheNextAndBack) {
  publish(failoverFile(a_.port(), b_.port(), "HEALTHY"));
  ASSERT_NO_FATAL_FAILURE(start());
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(servedBy(), "a");
  }
  publish(failoverFile(a_.port(), b_.port(), "UNHEALTHY"));
  EXPECT_TRUE(waitFor([&] { return servedBy() == "b"; }, 10s));
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(servedBy(), "b"); // all of it: priority 0 has no healthy host
  }
  const std::string clusters = httpGet(proxy_->adminPort(), "/clusters").body;
  EXPECT_NE(clusters.find(
                fmt::format("backend::127.0.0.1:{}::health_flags::/failed_eds_health", a_.port())),
            std::string::npos)
      << clusters;
  publish(failoverFile(a_.port(), b_.port(), "HEALTHY"));
  EXPECT_TRUE(waitFor([&] { return servedBy() == "a"; }, 10s));
}

TEST_F(EdsFileTest, BadFileAtStartIsRefusedNamingIt) {
  publish(edsFile("other", {a_.port()}));
  const auto file = dir_.write("bootstrap.yaml", bootstrap());
  Process proxy({.argv = {(binaryDir() / "mesh-proxy").string(), "-c", file.string()}});
  EXPECT_EQ(proxy.wait(30s), 1);
  EXPECT_NE(proxy.errors().find("no ClusterLoadAssignment for 'backend'"), std::string::npos)
      << proxy.errors();
  EXPECT_NE(proxy.errors().find(edsPath().string()), std::string::npos) << proxy.errors();
}

} // namespace
} // namespace meshd::testing
