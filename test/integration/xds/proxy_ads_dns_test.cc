// DNS clusters over CDS: a STRICT_DNS or LOGICAL_DNS cluster sent by meshd's xDS server to
// mesh-proxy names a host of the test DNS server; requests reach the address it resolves to,
// follow a change of the answer, and a removed cluster is no longer resolved.
#include <chrono>
#include <iostream>
#include <memory>
#include <string>
#include <thread>

#include "control/xds/resource_snapshot.h"
#include "control/xds/snapshot_cache.h"
#include "control/xds/xds_server.h"
#include "envoy/config/cluster/v3/cluster.pb.h"
#include "fmt/format.h"
#include "google/protobuf/util/json_util.h"
#include "test/integration/proxy/http_test_helpers.h"
#include "test/support/dns_server.h"
#include "test/support/http_backend.h"
#include "test/support/mesh_proxy.h"
#include "test/support/process.h"
#include "gtest/gtest.h"

namespace meshd::testing {
namespace {

using namespace std::chrono_literals;

constexpr const char* kName = "backend.mesh.test";

class ProxyAdsDnsTest : public ::testing::Test {
protected:
  void SetUp() override {
    options_.debounceQuietPeriod = 0ms;
    server_ = std::make_unique<control::xds::XdsServer>(cache_, options_);
    ASSERT_TRUE(server_->start().ok());
  }

  void TearDown() override {
    if (HasFailure() && proxy_) {
      std::cerr << "mesh-proxy logs:\n" << proxy_->logs() << "\n";
    }
  }

  // Cluster "backend" of `type` on kName:<the backends' port>, resolved by the test DNS server.
  envoy::config::cluster::v3::Cluster dnsCluster(const std::string& type) {
    envoy::config::cluster::v3::Cluster cluster;
    const std::string json = fmt::format(
        R"({{"name": "backend", "type": "{}", "connect_timeout": "1s",
            "dns_refresh_rate": "0.2s", "dns_lookup_family": "V4_ONLY",
            "typed_dns_resolver_config": {{"name": "envoy.network.dns_resolver.cares",
              "typed_config": {{
                "@type": "type.googleapis.com/envoy.extensions.network.dns_resolver.cares.v3.CaresDnsResolverConfig",
                "resolvers": [{{"socket_address": {{"address": "127.0.0.1", "port_value": {}}}}}]}}}},
            "load_assignment": {{"cluster_name": "backend", "endpoints": [{{"lb_endpoints": [
              {{"endpoint": {{"address": {{"socket_address":
                {{"address": "{}", "port_value": {}}}}}}}}}]}}]}}}})",
        type, dns_.port(), kName, a_.port());
    const auto status = google::protobuf::util::JsonStringToMessage(json, &cluster);
    EXPECT_TRUE(status.ok()) << status.ToString() << "\n" << json;
    return cluster;
  }

  void publish(const std::vector<const google::protobuf::Message*>& resources) {
    control::xds::ResourceSnapshotBuilder builder;
    for (const auto* resource : resources) {
      ASSERT_TRUE(builder.add(*resource).ok());
    }
    cache_.setDefault(builder.build());
    server_->push();
  }

  void startProxy() {
    proxy_ = std::make_unique<MeshProxy>(fmt::format(
        R"(
node: {{ id: ads-dns-test-proxy, cluster: test }}
admin:
  address: {{ socket_address: {{ address: 127.0.0.1, port_value: 0 }} }}
dynamic_resources:
  ads_config:
    api_type: GRPC
    transport_api_version: V3
    grpc_services: [ {{ envoy_grpc: {{ cluster_name: xds }} }} ]
  cds_config: {{ ads: {{}}, resource_api_version: V3 }}
static_resources:
{}  clusters:
  - name: xds
    load_assignment:
      cluster_name: xds
      endpoints:
      - lb_endpoints:
        - endpoint: {{ address: {{ socket_address: {{ address: 127.0.0.1, port_value: {} }} }} }}
)",
        httpListenerYaml("route_config:\n" + reindent(catchAllRoutes("backend"), 2)),
        server_->port()));
    ASSERT_TRUE(proxy_->started()) << proxy_->logs();
    port_ = proxy_->listenerPort("http");
  }

  // Which backend answers a request now: "a", "b", or the status.
  std::string servedBy() {
    const auto response = fetchGet(port_, "/echo");
    return response.status == 200 ? response.header("x-backend").value_or("?")
                                  : std::to_string(response.status);
  }

  control::xds::SnapshotCache cache_;
  control::xds::ServerOptions options_;
  std::unique_ptr<control::xds::XdsServer> server_;
  DnsServer dns_;
  HttpBackend a_{"a"};                         // 127.0.0.1:P
  HttpBackend b_{"b", "127.0.0.2", a_.port()}; // 127.0.0.2:P: the same port, another address
  std::unique_ptr<MeshProxy> proxy_;
  uint16_t port_ = 0;
};

TEST_F(ProxyAdsDnsTest, StrictDnsClusterFollowsTheAnswerAndStopsWhenRemoved) {
  dns_.set(kName, {"127.0.0.1"}, 3600);
  const auto cluster = dnsCluster("STRICT_DNS");
  publish({&cluster});
  ASSERT_NO_FATAL_FAILURE(startProxy());
  // Live only once the cluster resolved: the first request already reaches the backend.
  EXPECT_EQ(servedBy(), "a");
  EXPECT_EQ(statOf(*proxy_, "cluster_manager.warming_clusters"), "0");

  dns_.set(kName, {"127.0.0.2"}, 3600);
  EXPECT_TRUE(waitFor([&] { return servedBy() == "b"; }, 10s));
  EXPECT_NE(statOf(*proxy_, "cluster.backend.update_success"), "0");

  // Removed: no cluster (503), and its name is no longer looked up. At a 0.2 s refresh rate a
  // resolver left running would ask several times within the second waited.
  publish({});
  EXPECT_TRUE(waitFor([&] { return servedBy() == "503"; }, 10s));
  const size_t queriesAfterRemoval = dns_.queries(kName);
  std::this_thread::sleep_for(1s);
  EXPECT_LE(dns_.queries(kName), queriesAfterRemoval + 1); // one may have been under way
  // A clean exit: in the sanitizer build a leaked resolver would make it fail.
  EXPECT_EQ(proxy_->process().stop(), 0) << proxy_->logs();
}

TEST_F(ProxyAdsDnsTest, ChangedDnsClusterRestartsItsResolution) {
  dns_.set(kName, {"127.0.0.1"}, 3600);
  dns_.set("other.mesh.test", {"127.0.0.2"}, 3600);
  const auto cluster = dnsCluster("STRICT_DNS");
  publish({&cluster});
  ASSERT_NO_FATAL_FAILURE(startProxy());
  EXPECT_EQ(servedBy(), "a");
  // The same cluster now names another host: the old name's resolution stops, the new one's
  // answer is used.
  auto renamed = cluster;
  renamed.mutable_load_assignment()
      ->mutable_endpoints(0)
      ->mutable_lb_endpoints(0)
      ->mutable_endpoint()
      ->mutable_address()
      ->mutable_socket_address()
      ->set_address("other.mesh.test");
  publish({&renamed});
  EXPECT_TRUE(waitFor([&] { return servedBy() == "b"; }, 10s));
  const size_t oldNameQueries = dns_.queries(kName);
  std::this_thread::sleep_for(1s);
  EXPECT_LE(dns_.queries(kName), oldNameQueries + 1);
  EXPECT_EQ(servedBy(), "b");
  EXPECT_EQ(proxy_->process().stop(), 0) << proxy_->logs();
}

TEST_F(ProxyAdsDnsTest, LogicalDnsClusterUsesTheFirstAddressOfTheLatestAnswer) {
  dns_.set(kName, {"127.0.0.1", "127.0.0.2"}, 3600);
  const auto cluster = dnsCluster("LOGICAL_DNS");
  publish({&cluster});
  ASSERT_NO_FATAL_FAILURE(startProxy());
  // One logical host: every request goes to the first address, none to the second.
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(servedBy(), "a");
  }
  dns_.set(kName, {"127.0.0.2", "127.0.0.1"}, 3600);
  EXPECT_TRUE(waitFor([&] { return servedBy() == "b"; }, 10s));
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(servedBy(), "b");
  }
  // A name that no longer resolves keeps the last address, as Envoy's LOGICAL_DNS does.
  dns_.remove(kName);
  const size_t queries = dns_.queries(kName);
  EXPECT_TRUE(waitFor([&] { return dns_.queries(kName) >= queries + 2; }, 10s));
  EXPECT_EQ(servedBy(), "b");
}

TEST_F(ProxyAdsDnsTest, LogicalDnsClusterWithTwoNamesIsRejected) {
  dns_.set(kName, {"127.0.0.1"}, 3600);
  const auto cluster = dnsCluster("LOGICAL_DNS");
  publish({&cluster});
  ASSERT_NO_FATAL_FAILURE(startProxy());
  EXPECT_EQ(servedBy(), "a");
  auto twoNames = cluster;
  *twoNames.mutable_load_assignment()->mutable_endpoints(0)->add_lb_endpoints() =
      cluster.load_assignment().endpoints(0).lb_endpoints(0);
  publish({&twoNames});
  EXPECT_TRUE(waitFor(
      [&] {
        for (const auto& stream : server_->streams()) {
          for (const auto& type : stream.types) {
            if (type.lastNack && type.lastNack->message.find("LOGICAL_DNS") != std::string::npos) {
              return true;
            }
          }
        }
        return false;
      },
      10s));
  EXPECT_EQ(servedBy(), "a"); // the accepted version serves on
}

} // namespace
} // namespace meshd::testing
