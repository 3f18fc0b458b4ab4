// STRICT_DNS clusters against the test DNS server: hosts follow the answers (refresh rate and
// TTL), a vanished name empties the cluster, auto_host_rewrite uses the name, and a name that does
// not resolve at start does not keep the proxy from going live. LOGICAL_DNS: one host.
#include <chrono>
#include <iostream>
#include <memory>
#include <set>
#include <string>

#include "fmt/format.h"
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

class DnsClusterTest : public ::testing::Test {
protected:
  // One HTTP listener routing to cluster "backend": STRICT_DNS on kName:<port of backend a>.
  void start(const std::string& dns_settings, const std::string& route_extra = "",
             const std::string& type = "STRICT_DNS") {
    const std::string bootstrap = fmt::format(
        R"(
node: {{ id: dns-test-proxy, cluster: test }}
admin:
  address: {{ socket_address: {{ address: 127.0.0.1, port_value: 0 }} }}
static_resources:
{0}  clusters:
  - name: backend
    type: {5}
    connect_timeout: 1s
    dns_lookup_family: V4_ONLY
{1}
    typed_dns_resolver_config:
      name: envoy.network.dns_resolver.cares
      typed_config:
        "@type": type.googleapis.com/envoy.extensions.network.dns_resolver.cares.v3.CaresDnsResolverConfig
        resolvers: [ {{ socket_address: {{ address: 127.0.0.1, port_value: {2} }} }} ]
    load_assignment:
      cluster_name: backend
      endpoints:
      - lb_endpoints:
        - endpoint: {{ address: {{ socket_address: {{ address: {3}, port_value: {4} }} }} }}
)",
        httpListenerYaml("route_config:\n" + reindent(catchAllRoutes("backend", route_extra), 2)),
        reindent(dns_settings, 4), dns_.port(), kName, a_.port(), type);
    proxy_ = std::make_unique<MeshProxy>(bootstrap);
    ASSERT_TRUE(proxy_->started()) << proxy_->logs() << "\n" << bootstrap;
    port_ = proxy_->listenerPort("http");
  }

  void TearDown() override {
    if (HasFailure() && proxy_) {
      std::cerr << "mesh-proxy logs:\n" << proxy_->logs() << "\n";
    }
  }

  // Which backend answers a request now ("" for none).
  std::string servedBy() { return fetchGet(port_, "/echo").header("x-backend").value_or(""); }

  DnsServer dns_;
  HttpBackend a_{"a"};                         // 127.0.0.1:P
  HttpBackend b_{"b", "127.0.0.2", a_.port()}; // 127.0.0.2:P: the same port, another address
  std::unique_ptr<MeshProxy> proxy_;
  uint16_t port_ = 0;
};

TEST_F(DnsClusterTest, HostsFollowTheAnswersAtTheRefreshRate) {
  dns_.set(kName, {"127.0.0.1"}, 3600);
  ASSERT_NO_FATAL_FAILURE(start("dns_refresh_rate: 0.2s"));
  EXPECT_EQ(servedBy(), "a");
  dns_.set(kName, {"127.0.0.2"}, 3600);
  EXPECT_TRUE(waitFor([&] { return servedBy() == "b"; }, 10s));
  // Both addresses: round robin reaches both.
  dns_.set(kName, {"127.0.0.1", "127.0.0.2"}, 3600);
  std::set<std::string> seen;
  EXPECT_TRUE(waitFor(
      [&] {
        seen.insert(servedBy());
        return seen.contains("a") && seen.contains("b");
      },
      10s));
  EXPECT_NE(statOf(*proxy_, "cluster.backend.update_success"), "0");
  EXPECT_GE(dns_.queries(kName), 3u);
}

TEST_F(DnsClusterTest, RespectDnsTtlRefreshesWhenTheAnswerExpires) {
  dns_.set(kName, {"127.0.0.1"}, 1);
  // An hour between refreshes unless the TTL (one second) says otherwise.
  ASSERT_NO_FATAL_FAILURE(start("dns_refresh_rate: 3600s\nrespect_dns_ttl: true"));
  EXPECT_EQ(servedBy(), "a");
  dns_.set(kName, {"127.0.0.2"}, 1);
  EXPECT_TRUE(waitFor([&] { return servedBy() == "b"; }, 10s));
}

TEST_F(DnsClusterTest, VanishedNameLeavesNoHealthyUpstream) {
  dns_.set(kName, {"127.0.0.1"}, 3600);
  ASSERT_NO_FATAL_FAILURE(start("dns_refresh_rate: 0.2s"));
  EXPECT_EQ(servedBy(), "a");
  dns_.remove(kName);
  EXPECT_TRUE(waitFor([&] { return fetchGet(port_, "/echo").status == 503; }, 10s));
  const auto response = fetchGet(port_, "/echo");
  EXPECT_EQ(response.body, "no healthy upstream");
  dns_.set(kName, {"127.0.0.1"}, 3600);
  EXPECT_TRUE(waitFor([&] { return servedBy() == "a"; }, 10s));
}

TEST_F(DnsClusterTest, UnresolvableNameAtStartStillGoesLive) {
  ASSERT_NO_FATAL_FAILURE(start("dns_refresh_rate: 0.2s"));
  EXPECT_EQ(fetchGet(port_, "/echo").status, 503);
  dns_.set(kName, {"127.0.0.1"}, 3600);
  EXPECT_TRUE(waitFor([&] { return servedBy() == "a"; }, 10s));
}

TEST_F(DnsClusterTest, LogicalDnsUsesOnlyTheFirstAddress) {
  dns_.set(kName, {"127.0.0.2", "127.0.0.1"}, 3600);
  ASSERT_NO_FATAL_FAILURE(start("dns_refresh_rate: 0.2s", "", "LOGICAL_DNS"));
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(servedBy(), "b"); // never the second address
  }
  dns_.set(kName, {"127.0.0.1"}, 3600);
  EXPECT_TRUE(waitFor([&] { return servedBy() == "a"; }, 10s));
}

TEST_F(DnsClusterTest, AutoHostRewriteUsesTheDnsName) {
  dns_.set(kName, {"127.0.0.1"}, 3600);
  ASSERT_NO_FATAL_FAILURE(start("dns_refresh_rate: 5s", "auto_host_rewrite: true"));
  const auto response = fetchGet(port_, "/echo", {{"host", "front.example"}});
  ASSERT_EQ(response.status, 200);
  EXPECT_NE(response.body.find(fmt::format("header: host: {}", kName)), std::string::npos)
      << response.body;
}

} // namespace
} // namespace meshd::testing
