// mesh-proxy refuses configs it cannot honour, at start, naming the field and the reason.
#include <algorithm>
#include <string>

#include "test/support/mesh_proxy.h"
#include "gtest/gtest.h"

namespace meshd::testing {
namespace {

using namespace std::chrono_literals;

constexpr const char* kValid = R"(
static_resources:
  listeners:
  - name: front
    address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.tcp_proxy
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
          stat_prefix: front
          cluster: backend
  clusters:
  - name: backend
    connect_timeout: 1s
    load_assignment:
      cluster_name: backend
      endpoints:
      - lb_endpoints:
        - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 1 } } }
)";

constexpr const char* kTcpProxyConfig =
    R"("@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
          stat_prefix: front
          cluster: backend)";

// Runs mesh-proxy on `yaml` and returns (exit code, stderr).
std::pair<int, std::string> runWith(const std::string& yaml) {
  TempDir dir;
  const auto file = dir.write("bootstrap.yaml", yaml);
  Process proxy({.argv = {(binaryDir() / "mesh-proxy").string(), "-c", file.string()}});
  const auto status = proxy.wait(30s);
  return {status.value_or(-1), proxy.errors()};
}

std::string replace(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return text.replace(at, from.size(), to);
}

// kValid with its listener repeated under the same name.
std::string duplicateListener() {
  const std::string valid = kValid;
  const size_t begin = valid.find("  - name: front");
  const size_t end = valid.find("  clusters:");
  std::string out = valid;
  return out.insert(end, valid.substr(begin, end - begin));
}

struct Case {
  const char* name;
  std::string yaml;
  const char* expected; // a substring of the error
};

// Names the case in test output (CTest names include the printed parameter).
void PrintTo(const Case& c, std::ostream* os) {
  *os << c.name;
}

class BootstrapErrorsTest : public ::testing::TestWithParam<Case> {};

TEST_P(BootstrapErrorsTest, RejectedAtStartWithFieldAndReason) {
  const auto [code, errors] = runWith(GetParam().yaml);
  EXPECT_EQ(code, 1) << errors;
  EXPECT_NE(errors.find(GetParam().expected), std::string::npos) << errors;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, BootstrapErrorsTest,
    ::testing::Values(
        Case{"UnknownField",
             replace(kValid, "stat_prefix: front", "stat_prefix: front\n          bogus: 1"),
             "not a valid Envoy v3 Bootstrap"},
        Case{"UnsupportedField",
             replace(kValid, "connect_timeout: 1s",
                     "connect_timeout: 1s\n    close_connections_on_host_health_failure: true"),
             "static_resources.clusters[0].close_connections_on_host_health_failure: field is not "
             "supported by mesh-proxy"},
        Case{"UnsupportedEnumValue",
             replace(kValid, "port_value: 1 }", "port_value: 1, protocol: UDP }"),
             "socket_address.protocol: value UDP is not supported"},
        Case{"UnsupportedExtension",
             replace(kValid, kTcpProxyConfig,
                     R"("@type": type.googleapis.com/envoy.admin.v3.ConfigDump)"),
             "typed_config type 'envoy.admin.v3.ConfigDump' is not supported by mesh-proxy"},
        Case{"UnknownTypeUrl",
             replace(kValid, "envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy",
                     "envoy.extensions.filters.network.redis_proxy.v3.RedisProxy"),
             "not a valid Envoy v3 Bootstrap"},
        Case{"UnknownCluster", replace(kValid, "cluster: backend", "cluster: nowhere"),
             "static_resources.listeners[0].filter_chains[0].filters[0].typed_config.cluster: "
             "unknown "
             "cluster 'nowhere'"},
        Case{"BadAddress",
             replace(kValid, "address: 127.0.0.1, port_value: 1",
                     "address: not-an-ip, port_value: 1"),
             "socket_address.address: 'not-an-ip' is not an IP address"},
        Case{"YamlSyntax", replace(kValid, "name: front", "name: [front"), "line "},
        Case{"DuplicateListener", duplicateListener(), "duplicate listener name 'front'"},
        Case{"UpstreamHttp2", replace(kValid, "connect_timeout: 1s", R"(connect_timeout: 1s
    typed_extension_protocol_options:
      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
        "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
        explicit_http_config: { http2_protocol_options: { initial_stream_window_size: 100 } })"),
             "explicit_http_config.http2_protocol_options.initial_stream_window_size: must be "
             "between 65535 and 2147483647"},
        Case{"TwoTerminalFilters",
             replace(kValid, "      - name: envoy.filters.network.tcp_proxy",
                     std::string("      - name: first\n        typed_config:\n          ") +
                         kTcpProxyConfig + "\n      - name: envoy.filters.network.tcp_proxy"),
             "filters[0].typed_config: only connection_limit may precede the terminal filter"},
        Case{"ConnectionLimitWithoutMax",
             replace(kValid, "      - name: envoy.filters.network.tcp_proxy",
                     R"(      - name: envoy.filters.network.connection_limit
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.connection_limit.v3.ConnectionLimit
          stat_prefix: lim
      - name: envoy.filters.network.tcp_proxy)"),
             "filters[0].typed_config.max_connections: must be at least 1"},
        Case{"LdsFromAFile", replace(kValid, "static_resources:", R"(dynamic_resources:
  ads_config:
    api_type: GRPC
    grpc_services: [ { envoy_grpc: { cluster_name: backend } } ]
  lds_config: { path_config_source: { path: /tmp/lds.yaml } }
static_resources:)"),
             "dynamic_resources.lds_config: mesh-proxy takes LDS over ADS (ads: {})"},
        Case{"AdsClusterUnknown", replace(kValid, "static_resources:", R"(dynamic_resources:
  ads_config:
    api_type: GRPC
    grpc_services: [ { envoy_grpc: { cluster_name: nowhere } } ]
static_resources:)"),
             "dynamic_resources.ads_config.grpc_services[0].envoy_grpc.cluster_name: 'nowhere' is "
             "not a STATIC cluster with a host"},
        Case{"WeightedClusterUnknown",
             replace(kValid, "cluster: backend",
                     "weighted_clusters: { clusters: [ { name: backend, weight: 1 }, { name: "
                     "gone, weight: 1 } ] }"),
             "typed_config.weighted_clusters.clusters[1].name: unknown cluster 'gone'"}),
    [](const ::testing::TestParamInfo<Case>& param_info) { return param_info.param.name; });

// A bootstrap with one EDS cluster ("svc", endpoints from `eds_config`) beside kValid's, and
// `dynamic` (YAML, may be empty) as its dynamic_resources.
std::string withEdsCluster(const std::string& eds_config, const std::string& dynamic) {
  return replace(kValid, "static_resources:", dynamic + "static_resources:") + R"(  - name: svc
    type: EDS
    eds_cluster_config: { eds_config: )" +
         eds_config + " }\n";
}

constexpr const char* kAds = R"(dynamic_resources:
  ads_config:
    api_type: GRPC
    grpc_services: [ { envoy_grpc: { cluster_name: backend } } ]
)";

TEST(BootstrapErrorsTest, ConfigSourcesThatCannotBeHonouredAreRefused) {
  struct {
    std::string yaml;
    const char* expected;
  } cases[] = {
      {withEdsCluster("{ ads: {} }", ""), "cluster 'svc' eds_config: ads needs dynamic_resources"},
      {withEdsCluster("{ ads: {}, initial_fetch_timeout: 1s }", kAds),
       "static_resources.clusters[1].eds_cluster_config.eds_config.initial_fetch_timeout: only "
       "dynamic_resources.cds_config.initial_fetch_timeout is supported"},
      {replace(kValid, "static_resources:",
               std::string(kAds) + "  lds_config: { ads: {}, initial_fetch_timeout: 1s }\n" +
                   "static_resources:"),
       "dynamic_resources.lds_config.initial_fetch_timeout: only"},
      {replace(kValid, "static_resources:",
               "dynamic_resources:\n  ads_config:\n    api_type: GRPC\n    grpc_services: [ { "
               "envoy_grpc: { cluster_name: backend }, timeout: 1s } ]\nstatic_resources:"),
       "dynamic_resources.ads_config.grpc_services[0].timeout: field is not supported"},
  };
  for (const auto& c : cases) {
    const auto [code, errors] = runWith(c.yaml);
    EXPECT_EQ(code, 1) << c.yaml << errors;
    EXPECT_NE(errors.find(c.expected), std::string::npos) << c.yaml << "\n" << errors;
  }
}

// A bootstrap with one listener whose HTTP connection manager has `fields` (YAML lines, at the
// connection manager's indentation) besides its stat_prefix and the router.
std::string hcmBootstrap(const std::string& fields) {
  std::string indented;
  for (size_t start = 0; start < fields.size();) {
    const size_t end = std::min(fields.find('\n', start), fields.size());
    indented += "          " + fields.substr(start, end - start) + "\n";
    start = end + 1;
  }
  return R"(
static_resources:
  listeners:
  - name: front
    address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: front
)" + indented +
         R"(          http_filters:
          - name: envoy.filters.http.router
            typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router }
)";
}

TEST(BootstrapErrorsTest, DownstreamMaxConnectionDurationIsRefused) {
  // Upstream connections honour it (clusters); the connection manager does not, so it says so.
  const auto [code, errors] =
      runWith(hcmBootstrap("common_http_protocol_options: { max_connection_duration: 10s }\n"
                           "route_config: { virtual_hosts: [] }"));
  EXPECT_EQ(code, 1) << errors;
  EXPECT_NE(errors.find("common_http_protocol_options.max_connection_duration: not supported for "
                        "downstream connections"),
            std::string::npos)
      << errors;
}

TEST(BootstrapErrorsTest, RdsWithoutAdsIsRefused) {
  const auto [code, errors] =
      runWith(hcmBootstrap("rds: { route_config_name: routes, config_source: { ads: {} } }"));
  EXPECT_EQ(code, 1) << errors;
  EXPECT_NE(errors.find("static_resources.listeners[0]: rds needs dynamic_resources.ads_config"),
            std::string::npos)
      << errors;
}

TEST(BootstrapErrorsTest, MissingFileAndFlags) {
  Process missing({.argv = {(binaryDir() / "mesh-proxy").string(), "-c", "/nonexistent.yaml"}});
  EXPECT_EQ(missing.wait(30s), 1);
  EXPECT_NE(missing.errors().find("cannot read bootstrap file '/nonexistent.yaml'"),
            std::string::npos);
  Process noConfig({.argv = {(binaryDir() / "mesh-proxy").string()}});
  EXPECT_NE(noConfig.wait(30s), 0);
}

TEST(BootstrapErrorsTest, PortInUseIsReported) {
  TempDir dir;
  EchoServer occupied;
  std::string yaml =
      replace(kValid, "port_value: 0", "port_value: " + std::to_string(occupied.port()));
  const auto [code, errors] = runWith(yaml);
  EXPECT_EQ(code, 1);
  EXPECT_NE(errors.find("listener 'front': cannot listen on 127.0.0.1:"), std::string::npos)
      << errors;
}

} // namespace
} // namespace meshd::testing
