// HTTP/2 upstreams through mesh-proxy: HTTP/1.1 clients (our HttpConnection, curl, h2load --h1)
// in front of a real h2c server (Node's http2 module, h2c_backend.js beside this file). Covers
// bodies both ways with flow control, many requests multiplexed on few connections,
// max_concurrent_streams and max_requests_per_connection opening more connections, stream
// resets, REFUSED_STREAM and GOAWAY with the retry policy, a connection lost mid-response, and
// use_downstream_protocol_config following the client's protocol.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "fmt/format.h"
#include "test/integration/proxy/http_test_helpers.h"
#include "test/support/http_backend.h"
#include "test/support/mesh_proxy.h"
#include "test/support/process.h"
#include "test/support/temp_dir.h"
#include "gtest/gtest.h"

namespace meshd::testing {
namespace {

using namespace std::chrono_literals;

const std::filesystem::path kBackendScript =
    std::filesystem::path(MESHD_SOURCE_DIR) / "test" / "integration" / "proxy" / "h2c_backend.js";

// The h2c backend; port() once it listens.
class H2cBackend {
public:
  explicit H2cBackend(uint32_t max_concurrent_streams = 100)
      : process_(ProcessOptions{
            {"node", kBackendScript.string(), std::to_string(max_concurrent_streams)}}) {
    waitFor(
        [&] {
          const std::string output = process_.output();
          const auto at = output.find("PORT ");
          if (at != std::string::npos && output.find('\n', at) != std::string::npos) {
            port_ = static_cast<uint16_t>(std::stoi(output.substr(at + 5)));
          }
          return port_ != 0 || !process_.running();
        },
        20s);
  }
  uint16_t port() const { return port_; }
  std::string errors() const { return process_.errors(); }

private:
  Process process_;
  uint16_t port_ = 0;
};

// Cluster fields selecting HTTP/2 (`http2` are Http2ProtocolOptions fields, `common` the
// common_http_protocol_options), or the downstream's protocol.
std::string protocolOptions(const std::string& config, const std::string& common = "") {
  return fmt::format(R"(typed_extension_protocol_options:
  envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
    "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
    {}
    common_http_protocol_options: {{ {} }})",
                     config, common);
}
std::string http2Options(const std::string& http2 = "", const std::string& common = "") {
  return protocolOptions(
      fmt::format("explicit_http_config: {{ http2_protocol_options: {{ {} }} }}", http2), common);
}

class Http2UpstreamTest : public ::testing::Test {
protected:
  // `port`: the cluster's endpoint instead of the backend; `backend_streams`: the backend's
  // SETTINGS_MAX_CONCURRENT_STREAMS.
  void start(const std::string& cluster_extra, const std::string& route_extra = "",
             uint16_t port = 0, uint32_t backend_streams = 100) {
    backend_ = std::make_unique<H2cBackend>(backend_streams);
    ASSERT_NE(backend_->port(), 0) << backend_->errors();
    proxy_ = std::make_unique<MeshProxy>(
        httpBootstrap(catchAllRoutes("backend", route_extra),
                      {{"backend", {port != 0 ? port : backend_->port()}, cluster_extra}}),
        std::vector<std::string>{"--concurrency", "1"});
    ASSERT_TRUE(proxy_->started()) << proxy_->logs();
    port_ = proxy_->listenerPort("http");
  }
  std::string stat(const std::string& name) const {
    return statOf(*proxy_, "cluster.backend." + name);
  }
  // The proxy exits cleanly and without a sanitizer report (ASan/UBSan builds).
  void TearDown() override {
    if (proxy_ && proxy_->started()) {
      EXPECT_EQ(proxy_->process().stop(), 0) << proxy_->logs();
      const std::string logs = proxy_->logs();
      EXPECT_EQ(logs.find("Sanitizer"), std::string::npos) << logs;
      EXPECT_EQ(logs.find("runtime error:"), std::string::npos) << logs;
    }
  }
  std::string url(const std::string& path) const {
    return fmt::format("http://127.0.0.1:{}{}", port_, path);
  }

  std::unique_ptr<H2cBackend> backend_;
  std::unique_ptr<MeshProxy> proxy_;
  uint16_t port_ = 0;
};

TEST_F(Http2UpstreamTest, RequestsAndBodiesOverOneConnection) {
  ASSERT_NO_FATAL_FAILURE(start(http2Options()));
  HttpConnection client(port_);
  const auto get = client.request("GET", "/bytes/1000");
  ASSERT_EQ(get.status, 200) << proxy_->logs();
  EXPECT_EQ(get.body, std::string(1000, 'x'));
  EXPECT_EQ(get.header("x-seen-scheme"), "http");
  EXPECT_EQ(get.header("x-seen-authority"), "localhost");
  const std::string body(10000, 'p');
  const auto post = client.request("POST", "/echo", {{"content-type", "text/plain"}}, body);
  ASSERT_EQ(post.status, 200);
  EXPECT_EQ(post.header("x-received-bytes"), "10000");
  EXPECT_EQ(post.body, body);
  // Another client connection: same upstream connection.
  const auto other = fetch(port_, "POST", "/echo", {}, "small");
  EXPECT_EQ(other.body, "small");
  EXPECT_EQ(other.header("x-session"), get.header("x-session"));
  EXPECT_EQ(stat("upstream_cx_total"), "1");
  EXPECT_EQ(stat("upstream_cx_http2_total"), "1");
  EXPECT_EQ(stat("upstream_cx_http1_total"), "0");
  EXPECT_EQ(stat("upstream_rq_total"), "3");
  EXPECT_EQ(stat("upstream_rq_2xx"), "3");
  EXPECT_EQ(stat("upstream_cx_active"), "1");
}

TEST_F(Http2UpstreamTest, LargeBodiesBothWaysWithSmallWindows) {
  // The smallest windows HTTP/2 allows: every 64 KiB waits for a WINDOW_UPDATE both ways.
  ASSERT_NO_FATAL_FAILURE(start(
      http2Options("initial_stream_window_size: 65535, initial_connection_window_size: 65535")));
  TempDir dir;
  const auto upload = dir.path() / "upload";
  {
    std::string content;
    for (int i = 0; content.size() < 3 * 1024 * 1024; ++i) {
      content += fmt::format("{:08}\n", i);
    }
    std::ofstream(upload) << content;
  }
  const auto echoed = dir.path() / "echoed";
  const CurlResult post =
      runCurl({"-sS", "--http1.1", "-o", echoed.string(), "-w", "%{http_code} %{size_download}",
               "--data-binary", "@" + upload.string(), url("/echo")});
  ASSERT_EQ(post.exitCode, 0) << post.errors << proxy_->logs();
  EXPECT_EQ(post.output, fmt::format("200 {}", std::filesystem::file_size(upload)));
  EXPECT_EQ(std::filesystem::file_size(echoed), std::filesystem::file_size(upload));
  const CurlResult get = runCurl({"-sS", "--http1.1", "-o", "/dev/null", "-w",
                                  "%{http_code} %{size_download}", url("/bytes/8388608")});
  ASSERT_EQ(get.exitCode, 0) << get.errors;
  EXPECT_EQ(get.output, "200 8388608");
  EXPECT_EQ(stat("upstream_cx_total"), "1");
}

TEST_F(Http2UpstreamTest, ConcurrentRequestsShareOneConnection) {
  ASSERT_NO_FATAL_FAILURE(start(http2Options()));
  Process load(ProcessOptions{{"h2load", "--h1", "-n", "200", "-c", "20", url("/delay/20")}});
  ASSERT_TRUE(load.wait(60s).has_value()) << "h2load did not finish";
  EXPECT_NE(load.output().find("200 succeeded"), std::string::npos) << load.output();
  EXPECT_NE(load.output().find("status codes: 200 2xx"), std::string::npos) << load.output();
  EXPECT_EQ(stat("upstream_rq_total"), "200");
  EXPECT_EQ(stat("upstream_cx_total"), "1") << "20 concurrent requests fit in one connection";
}

TEST_F(Http2UpstreamTest, StreamLimitsOpenMoreConnections) {
  // The cluster allows 4 streams per connection: 12 requests at once need at least 3.
  ASSERT_NO_FATAL_FAILURE(start(http2Options("max_concurrent_streams: 4")));
  std::vector<std::unique_ptr<HttpConnection>> clients;
  for (int i = 0; i < 12; ++i) {
    clients.push_back(std::make_unique<HttpConnection>(port_));
    ASSERT_TRUE(clients.back()->send(rawRequest("GET", "/delay/300")));
  }
  std::set<std::string> sessions;
  for (auto& client : clients) {
    const auto response = client->read();
    EXPECT_EQ(response.status, 200);
    sessions.insert(response.header("x-session").value_or("?"));
  }
  EXPECT_GE(sessions.size(), 3u);
  const int total = std::stoi(stat("upstream_cx_total"));
  EXPECT_GE(total, 3);
  EXPECT_LE(total, 12);
}

TEST_F(Http2UpstreamTest, ServerConcurrencyLimitIsRespected) {
  // The server announces 2 streams: requests beyond them wait or use more connections, and none
  // is refused.
  ASSERT_NO_FATAL_FAILURE(start(http2Options(), "", 0, 2));
  // Let the proxy learn the server's SETTINGS first.
  ASSERT_EQ(fetchGet(port_, "/bytes/1").status, 200);
  std::vector<std::unique_ptr<HttpConnection>> clients;
  for (int i = 0; i < 8; ++i) {
    clients.push_back(std::make_unique<HttpConnection>(port_));
    ASSERT_TRUE(clients.back()->send(rawRequest("GET", "/delay/200")));
  }
  for (auto& client : clients) {
    EXPECT_EQ(client->read().status, 200);
  }
  EXPECT_GE(std::stoi(stat("upstream_cx_total")), 4);
}

TEST_F(Http2UpstreamTest, MaxRequestsPerConnectionOpensANewOne) {
  ASSERT_NO_FATAL_FAILURE(start(http2Options("", "max_requests_per_connection: 3")));
  HttpConnection client(port_);
  std::vector<std::string> sessions;
  for (int i = 0; i < 7; ++i) {
    const auto response = client.request("GET", "/bytes/10");
    ASSERT_EQ(response.status, 200);
    sessions.push_back(response.header("x-session").value_or("?"));
  }
  EXPECT_EQ(sessions[0], sessions[2]);
  EXPECT_NE(sessions[2], sessions[3]);
  EXPECT_EQ(sessions[3], sessions[5]);
  EXPECT_NE(sessions[5], sessions[6]);
  EXPECT_EQ(stat("upstream_cx_total"), "3");
  // The drained connections close once their streams ended.
  EXPECT_TRUE(statReaches(*proxy_, "cluster.backend.upstream_cx_active", "1"));
}

TEST_F(Http2UpstreamTest, ResponseTrailersEndTheResponse) {
  ASSERT_NO_FATAL_FAILURE(start(http2Options()));
  HttpConnection client(port_);
  const auto response = client.request("GET", "/trailers");
  ASSERT_TRUE(response.complete);
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "with-trailers");
  EXPECT_EQ(client.request("GET", "/bytes/3").body, "xxx") << "the connection is still usable";
}

TEST_F(Http2UpstreamTest, StreamResetAndRefusedStream) {
  ASSERT_NO_FATAL_FAILURE(start(http2Options()));
  const auto reset = fetchGet(port_, "/reset");
  EXPECT_EQ(reset.status, 503);
  EXPECT_EQ(
      reset.body,
      "upstream connect error or disconnect/reset before headers. reset reason: remote reset");
  const auto refused = fetchGet(port_, "/refuse");
  EXPECT_EQ(refused.status, 503);
  EXPECT_EQ(refused.body, "upstream connect error or disconnect/reset before headers. reset "
                          "reason: remote refused stream reset");
  EXPECT_EQ(stat("upstream_rq_rx_reset"), "2");
  // A reset stream leaves the connection to the others.
  EXPECT_EQ(fetchGet(port_, "/bytes/2").status, 200);
  EXPECT_EQ(stat("upstream_cx_total"), "1");
}

TEST_F(Http2UpstreamTest, RefusedStreamIsRetriedWithRefusedStreamPolicy) {
  ASSERT_NO_FATAL_FAILURE(start(http2Options(),
                                "retry_policy: { retry_on: refused-stream, num_retries: 2, "
                                "retry_back_off: { base_interval: 0.01s } }"));
  // GOAWAY below the request's stream: it was not processed, the retry on a new connection is.
  // (A first request, so that the GOAWAY's last stream id is not 0, which Node reads as "the
  // last one I processed".)
  ASSERT_EQ(fetchGet(port_, "/bytes/1").status, 200);
  const auto response = fetchGet(port_, "/goaway-once/a");
  EXPECT_EQ(response.status, 200) << proxy_->logs();
  EXPECT_EQ(response.body, "after-goaway");
  EXPECT_EQ(stat("upstream_rq_retry"), "1");
  EXPECT_EQ(stat("upstream_rq_retry_success"), "1");
  EXPECT_EQ(stat("upstream_cx_total"), "2");
  // A stream reset is not a refused stream: no retry for it under this policy.
  EXPECT_EQ(fetchGet(port_, "/reset").status, 503);
  EXPECT_EQ(stat("upstream_rq_retry"), "1");
}

TEST_F(Http2UpstreamTest, GoAwayWithoutRetryFailsTheRequest) {
  ASSERT_NO_FATAL_FAILURE(start(http2Options()));
  ASSERT_EQ(fetchGet(port_, "/bytes/1").status, 200); // see above: the last stream id is not 0
  const auto response = fetchGet(port_, "/goaway-once/b");
  EXPECT_EQ(response.status, 503);
  EXPECT_EQ(response.body, "upstream connect error or disconnect/reset before headers. reset "
                           "reason: remote refused stream reset");
  // The next request gets a new connection.
  EXPECT_EQ(fetchGet(port_, "/goaway-once/b").body, "after-goaway");
  EXPECT_EQ(stat("upstream_cx_total"), "2");
}

TEST_F(Http2UpstreamTest, ConnectionLostMidResponseResetsTheClient) {
  ASSERT_NO_FATAL_FAILURE(start(http2Options()));
  HttpConnection client(port_);
  ASSERT_TRUE(client.send(rawRequest("GET", "/close-after-head")));
  const auto response = client.read();
  EXPECT_FALSE(response.complete);
  EXPECT_TRUE(client.waitForClose());
  // A new connection serves the next request.
  EXPECT_EQ(fetchGet(port_, "/bytes/4").status, 200);
  EXPECT_EQ(stat("upstream_cx_total"), "2");
}

TEST_F(Http2UpstreamTest, ConnectionLostBeforeTheHeadIsRetriedWithResetPolicy) {
  ASSERT_NO_FATAL_FAILURE(start(http2Options(), "retry_policy: { retry_on: reset, num_retries: 1, "
                                                "retry_back_off: { base_interval: 0.01s } }"));
  const auto response = fetchGet(port_, "/close-once/a");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "after-close");
  EXPECT_EQ(stat("upstream_rq_retry"), "1");
  EXPECT_EQ(stat("upstream_cx_total"), "2");
}

TEST_F(Http2UpstreamTest, ConnectionLostBeforeTheHeadWithoutRetryIs503UC) {
  ASSERT_NO_FATAL_FAILURE(start(http2Options()));
  const auto response = fetchGet(port_, "/close-once/b");
  EXPECT_EQ(response.status, 503);
  EXPECT_EQ(response.body, "upstream connect error or disconnect/reset before headers. reset "
                           "reason: connection termination");
}

TEST_F(Http2UpstreamTest, ConnectFailureIs503UF) {
  const uint16_t closed_port = pickFreePort();
  ASSERT_NO_FATAL_FAILURE(start(http2Options(), "", closed_port));
  const auto response = fetchGet(port_, "/bytes/1");
  EXPECT_EQ(response.status, 503);
  EXPECT_EQ(response.body, "upstream connect error or disconnect/reset before headers. reset "
                           "reason: connection failure");
  EXPECT_EQ(stat("upstream_cx_connect_fail"), "1");
}

TEST(Http2UpstreamProtocolTest, DownstreamProtocolKeepsHttp1ForHttp1Clients) {
  HttpBackend backend("h1");
  MeshProxy proxy(
      httpBootstrap(catchAllRoutes("backend"),
                    {{"backend",
                      {backend.port()},
                      protocolOptions("use_downstream_protocol_config: { http_protocol_options: "
                                      "{}, http2_protocol_options: {} }")}}),
      {"--concurrency", "1"});
  ASSERT_TRUE(proxy.started()) << proxy.logs();
  const auto response = fetchGet(proxy.listenerPort("http"), "/echo");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(statOf(proxy, "cluster.backend.upstream_cx_http1_total"), "1");
  EXPECT_EQ(statOf(proxy, "cluster.backend.upstream_cx_http2_total"), "0");
}

} // namespace
} // namespace meshd::testing

namespace meshd::testing {
namespace {

TEST_F(Http2UpstreamTest, CircuitBreakersCountConnectionsAndPendingRequests) {
  // One connection of two streams; one more request may wait; the next overflows.
  ASSERT_NO_FATAL_FAILURE(
      start(http2Options("max_concurrent_streams: 2") +
            "\ncircuit_breakers: { thresholds: [ { max_connections: 1, max_pending_requests: 1 } "
            "] }"));
  ASSERT_EQ(fetchGet(port_, "/bytes/1").status, 200); // connected, the server's SETTINGS known
  std::vector<std::unique_ptr<HttpConnection>> busy;
  for (int i = 0; i < 2; ++i) {
    busy.push_back(std::make_unique<HttpConnection>(port_));
    ASSERT_TRUE(busy.back()->send(rawRequest("GET", "/delay/500")));
  }
  ASSERT_TRUE(statReaches(*proxy_, "cluster.backend.upstream_rq_active", "2"));
  HttpConnection waiting(port_);
  ASSERT_TRUE(waiting.send(rawRequest("GET", "/bytes/5")));
  ASSERT_TRUE(statReaches(*proxy_, "cluster.backend.upstream_rq_pending_active", "1"));
  const auto overflowed = fetchGet(port_, "/bytes/6");
  EXPECT_EQ(overflowed.status, 503);
  EXPECT_EQ(overflowed.body,
            "upstream connect error or disconnect/reset before headers. reset reason: overflow");
  for (auto& client : busy) {
    EXPECT_EQ(client->read().status, 200);
  }
  const auto served = waiting.read();
  EXPECT_EQ(served.status, 200);
  EXPECT_EQ(served.body, "xxxxx");
  EXPECT_EQ(stat("upstream_cx_total"), "1");
  EXPECT_EQ(stat("upstream_rq_pending_total"), "1");
  EXPECT_EQ(stat("upstream_rq_pending_overflow"), "1");
  EXPECT_EQ(stat("upstream_rq_pending_active"), "0");
}

TEST_F(Http2UpstreamTest, IdleConnectionsCloseAfterTheIdleTimeout) {
  ASSERT_NO_FATAL_FAILURE(start(http2Options("", "idle_timeout: 0.3s")));
  ASSERT_EQ(fetchGet(port_, "/bytes/1").status, 200);
  EXPECT_EQ(stat("upstream_cx_active"), "1");
  EXPECT_TRUE(statReaches(*proxy_, "cluster.backend.upstream_cx_active", "0"));
  ASSERT_EQ(fetchGet(port_, "/bytes/1").status, 200);
  EXPECT_EQ(stat("upstream_cx_total"), "2");
}

TEST_F(Http2UpstreamTest, DownstreamProtocolFollowsAnHttp2Client) {
  // use_downstream_protocol_config with both protocols (Istio's sniffed ports): an HTTP/2 client's
  // requests go on over HTTP/2, multiplexed (HTTP/1.1 clients: the HTTP/1.1 case below).
  ASSERT_NO_FATAL_FAILURE(
      start(protocolOptions("use_downstream_protocol_config: { http_protocol_options: {}, "
                            "http2_protocol_options: {} }")));
  Process load(ProcessOptions{{"h2load", "-n", "40", "-c", "1", "-m", "10", url("/bytes/10")}});
  ASSERT_TRUE(load.wait(60s).has_value()) << "h2load did not finish";
  EXPECT_NE(load.output().find("40 succeeded"), std::string::npos) << load.output();
  EXPECT_EQ(stat("upstream_cx_http2_total"), "1");
  EXPECT_EQ(stat("upstream_cx_http1_total"), "0");
}

TEST_F(Http2UpstreamTest, MaxConnectionDurationDrainsTheConnection) {
  ASSERT_NO_FATAL_FAILURE(start(http2Options("", "max_connection_duration: 0.5s")));
  HttpConnection client(port_);
  const auto first = client.request("GET", "/bytes/1");
  ASSERT_EQ(first.status, 200);
  // Past its duration the connection closes (it has no stream), and the next request opens a new
  // one on another HTTP/2 session.
  EXPECT_TRUE(statReaches(*proxy_, "cluster.backend.upstream_cx_active", "0"));
  const auto second = client.request("GET", "/bytes/1");
  ASSERT_EQ(second.status, 200);
  EXPECT_NE(first.header("x-session"), second.header("x-session"));
  EXPECT_EQ(stat("upstream_cx_total"), "2");
}

} // namespace
} // namespace meshd::testing
