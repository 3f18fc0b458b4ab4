// Tests for validating a cluster's health_checks (config/health_check_config.h): required fields,
// defaults, payloads as hex, status ranges, and one health check per cluster.
#include "proxy/config/cluster_config.h"

#include "core/yaml_json.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace meshd::proxy::config {
namespace {

absl::StatusOr<ClusterConfig> clusterFrom(const std::string& yaml) {
  auto json = core::yamlToJson(yaml);
  EXPECT_TRUE(json.ok()) << json.status();
  envoy::config::cluster::v3::Cluster proto;
  const auto parsed = google::protobuf::util::JsonStringToMessage(*json, &proto);
  EXPECT_TRUE(parsed.ok()) << parsed.message();
  return buildCluster(proto, "c");
}

constexpr const char* kCluster = R"(
name: backend
load_assignment:
  endpoints:
  - lb_endpoints:
    - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 80 } } }
health_checks:
)";

TEST(HealthCheckConfigTest, HttpCheckWithDefaults) {
  const auto cluster = clusterFrom(std::string(kCluster) + R"(
- timeout: 1s
  interval: 2s
  unhealthy_threshold: 3
  healthy_threshold: 0
  http_health_check: { path: /healthz })");
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  ASSERT_TRUE(cluster->healthCheck);
  const HealthCheckConfig& check = *cluster->healthCheck;
  EXPECT_EQ(check.timeout.count(), 1000);
  EXPECT_EQ(check.interval.count(), 2000);
  EXPECT_EQ(check.unhealthyThreshold, 3u);
  EXPECT_EQ(check.healthyThreshold, 1u) << "0 behaves as 1";
  ASSERT_TRUE(check.http);
  EXPECT_EQ(check.http->expectedStatuses, (std::vector<std::pair<int64_t, int64_t>>{{200, 300}}));
  EXPECT_TRUE(check.http->host.empty());
}

TEST(HealthCheckConfigTest, TcpPayloadsAreHex) {
  const auto cluster = clusterFrom(std::string(kCluster) + R"(
- timeout: 1s
  interval: 2s
  unhealthy_threshold: 1
  healthy_threshold: 1
  tcp_health_check:
    send: { text: "50494e47" }
    receive: [{ text: "504f4e47" }, { binary: "IQ==" }])");
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  EXPECT_EQ(cluster->healthCheck->tcp->send, "PING");
  EXPECT_EQ(cluster->healthCheck->tcp->receive, (std::vector<std::string>{"PONG", "!"}));
}

TEST(HealthCheckConfigTest, InvalidChecksAreRefusedNamingTheField) {
  const std::string base = R"(
- timeout: 1s
  interval: 2s
  unhealthy_threshold: 1
  healthy_threshold: 1
)";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"(
- interval: 2s
  unhealthy_threshold: 1
  healthy_threshold: 1
  tcp_health_check: {})",
       "c.health_checks[0].timeout"},
      {R"(
- timeout: 1s
  interval: 2s
  healthy_threshold: 1
  tcp_health_check: {})",
       "c.health_checks[0].unhealthy_threshold"},
      {base + "  tcp_health_check: { send: { text: \"zz\" } }",
       "c.health_checks[0].tcp_health_check.send.text"},
      {base + "  http_health_check: { path: /h, expected_statuses: [{ start: 300, end: 200 }] }",
       "c.health_checks[0].http_health_check.expected_statuses[0]"},
      {base + "  http_health_check: { host: h }", "c.health_checks[0].http_health_check.path"},
      {base + "  http_health_check: { path: /h }" + base + "  tcp_health_check: {}",
       "c.health_checks"},
  };
  for (const auto& [checks, field] : cases) {
    const auto cluster = clusterFrom(std::string(kCluster) + checks);
    ASSERT_FALSE(cluster.ok()) << checks;
    EXPECT_TRUE(std::string(cluster.status().message()).starts_with(field + ":"))
        << cluster.status();
  }
}

} // namespace
} // namespace meshd::proxy::config
