// Tests for the cluster settings of upstream connections: upstream_connection_options.tcp_keepalive
// (parsed, then applied to a real socket by openUpstreamSocket) and the HTTP protocol options
// (HTTP/1.1, HTTP/2, the downstream's protocol, and the HTTP/2 settings' bounds).
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "core/yaml_json.h"
#include "google/protobuf/util/json_util.h"
#include "proxy/config/cluster_config.h"
#include "proxy/network/upstream_socket.h"
#include "gtest/gtest.h"

namespace meshd::proxy::config {
namespace {

absl::StatusOr<ClusterConfig> clusterFrom(const std::string& extra) {
  const std::string yaml = "name: backend\n" + extra;
  auto json = core::yamlToJson(yaml);
  EXPECT_TRUE(json.ok()) << json.status();
  envoy::config::cluster::v3::Cluster proto;
  const auto parsed = google::protobuf::util::JsonStringToMessage(*json, &proto);
  EXPECT_TRUE(parsed.ok()) << parsed.message();
  return buildCluster(proto, "c");
}

int intOption(boost::asio::ip::tcp::socket& socket, int level, int name) {
  int value = -1;
  socklen_t length = sizeof(value);
  EXPECT_EQ(::getsockopt(socket.native_handle(), level, name, &value, &length), 0);
  return value;
}

TEST(UpstreamConnectionOptionsTest, TcpKeepaliveIsSetOnTheSocket) {
  auto cluster = clusterFrom(R"(
upstream_connection_options:
  tcp_keepalive: { keepalive_probes: 3, keepalive_time: 77, keepalive_interval: 11 }
)");
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  ASSERT_TRUE(cluster->tcpKeepalive.has_value());
  boost::asio::io_context context;
  boost::asio::ip::tcp::socket socket(context);
  const Endpoint endpoint(boost::asio::ip::make_address("127.0.0.1"), 9);
  network::openUpstreamSocket(socket, endpoint, *cluster);
  ASSERT_TRUE(socket.is_open());
  EXPECT_EQ(intOption(socket, SOL_SOCKET, SO_KEEPALIVE), 1);
  EXPECT_EQ(intOption(socket, IPPROTO_TCP, TCP_KEEPCNT), 3);
  EXPECT_EQ(intOption(socket, IPPROTO_TCP, TCP_KEEPIDLE), 77);
  EXPECT_EQ(intOption(socket, IPPROTO_TCP, TCP_KEEPINTVL), 11);
}

TEST(UpstreamConnectionOptionsTest, WithoutKeepaliveTheSocketKeepsTheSystemDefault) {
  auto cluster = clusterFrom("");
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  EXPECT_FALSE(cluster->tcpKeepalive.has_value());
  boost::asio::io_context context;
  boost::asio::ip::tcp::socket socket(context);
  network::openUpstreamSocket(socket, Endpoint(boost::asio::ip::make_address("::1"), 9), *cluster);
  ASSERT_TRUE(socket.is_open());
  EXPECT_EQ(intOption(socket, SOL_SOCKET, SO_KEEPALIVE), 0);
}

TEST(UpstreamConnectionOptionsTest, KeepaliveWithoutFieldsOnlyTurnsItOn) {
  auto cluster = clusterFrom("upstream_connection_options: { tcp_keepalive: {} }\n");
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  ASSERT_TRUE(cluster->tcpKeepalive.has_value());
  EXPECT_FALSE(cluster->tcpKeepalive->probes.has_value());
  EXPECT_FALSE(cluster->tcpKeepalive->timeSeconds.has_value());
}

constexpr const char* kOptions = R"(
typed_extension_protocol_options:
  envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
    "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
)";

TEST(UpstreamConnectionOptionsTest, ProtocolDefaultsToHttp1) {
  auto cluster = clusterFrom("");
  ASSERT_TRUE(cluster.ok());
  EXPECT_EQ(cluster->upstreamProtocol, UpstreamProtocol::kHttp1);
  auto explicit1 = clusterFrom(std::string(kOptions) +
                               "    explicit_http_config: { http_protocol_options: {} }\n");
  ASSERT_TRUE(explicit1.ok()) << explicit1.status();
  EXPECT_EQ(explicit1->upstreamProtocol, UpstreamProtocol::kHttp1);
}

TEST(UpstreamConnectionOptionsTest, ExplicitHttp2WithItsSettings) {
  auto cluster = clusterFrom(std::string(kOptions) + R"(    explicit_http_config:
      http2_protocol_options:
        max_concurrent_streams: 7
        initial_stream_window_size: 65535
        initial_connection_window_size: 1048576
)");
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  EXPECT_EQ(cluster->upstreamProtocol, UpstreamProtocol::kHttp2);
  EXPECT_EQ(cluster->http2.maxConcurrentStreams, 7u);
  EXPECT_EQ(cluster->http2.initialStreamWindowSize, 65535u);
  EXPECT_EQ(cluster->http2.initialConnectionWindowSize, 1048576u);
  auto defaults = clusterFrom(std::string(kOptions) +
                              "    explicit_http_config: { http2_protocol_options: {} }\n");
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->http2, Http2Options{});
}

TEST(UpstreamConnectionOptionsTest, DownstreamProtocolNeedsBothToUseHttp2) {
  auto both = clusterFrom(std::string(kOptions) + R"(    use_downstream_protocol_config:
      http_protocol_options: {}
      http2_protocol_options: {}
)");
  ASSERT_TRUE(both.ok()) << both.status();
  EXPECT_EQ(both->upstreamProtocol, UpstreamProtocol::kDownstream);
  auto http1 = clusterFrom(std::string(kOptions) +
                           "    use_downstream_protocol_config: { http_protocol_options: {} }\n");
  ASSERT_TRUE(http1.ok());
  EXPECT_EQ(http1->upstreamProtocol, UpstreamProtocol::kHttp1);
}

TEST(UpstreamConnectionOptionsTest, Http2SettingsOutOfBoundsAreRejected) {
  const std::string prefix =
      std::string(kOptions) + "    explicit_http_config:\n" + "      http2_protocol_options: ";
  auto streams = clusterFrom(prefix + "{ max_concurrent_streams: 0 }\n");
  EXPECT_EQ(streams.status().message(),
            "c.typed_extension_protocol_options[envoy.extensions.upstreams.http.v3."
            "HttpProtocolOptions].explicit_http_config.http2_protocol_options."
            "max_concurrent_streams: must be between 1 and 2147483647");
  auto window = clusterFrom(prefix + "{ initial_connection_window_size: 2147483648 }\n");
  EXPECT_NE(window.status().message().find(
                "initial_connection_window_size: must be between 65535 and 2147483647"),
            std::string::npos)
      << window.status();
  auto empty = clusterFrom(std::string(kOptions) + "    explicit_http_config: {}\n");
  EXPECT_NE(empty.status().message().find("needs http_protocol_options or http2_protocol_options"),
            std::string::npos)
      << empty.status();
}

} // namespace
} // namespace meshd::proxy::config
