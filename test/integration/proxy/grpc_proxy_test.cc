// gRPC end to end through mesh-proxy: a Node @grpc/grpc-js client (samples/grpc-echo/client.js)
// speaks HTTP/2 to the proxy's listener (codec_type AUTO), which forwards over an HTTP/2 cluster
// to the grpc-js server (samples/grpc-echo/server.js). Unary and server-streaming calls, a status
// error carried in the server's trailers, and a proxy local reply that the client reads as
// UNAVAILABLE.
#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "fmt/format.h"
#include "test/integration/proxy/http_test_helpers.h"
#include "test/support/mesh_proxy.h"
#include "test/support/process.h"
#include "gtest/gtest.h"

namespace meshd::testing {
namespace {

using namespace std::chrono_literals;

const std::filesystem::path kSampleDir =
    std::filesystem::path(MESHD_SOURCE_DIR) / "samples" / "grpc-echo";

// The cluster fields that make the proxy speak HTTP/2 (h2c) to the server.
constexpr std::string_view kHttp2Cluster = R"(typed_extension_protocol_options:
  envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
    "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
    explicit_http_config: { http2_protocol_options: {} })";

struct ClientResult {
  std::optional<int> exitCode;
  std::string output;
  std::string errors;
};

class GrpcProxyTest : public ::testing::Test {
protected:
  void SetUp() override {
    serverPort_ = pickFreePort();
    server_ = std::make_unique<Process>(ProcessOptions{
        .argv = {"node", (kSampleDir / "server.js").string(), std::to_string(serverPort_)},
        .extraEnv = {{"BIND_ADDRESS", "127.0.0.1"}, {"SERVICE_VERSION", "v7"}}});
    ASSERT_TRUE(
        waitFor([&] { return server_->output().find("listening") != std::string::npos; }, 20s))
        << server_->output() << server_->errors();
  }

  // A proxy whose every route goes to the cluster at `port` (HTTP/2); one worker, so that its
  // client connections share one upstream connection.
  std::unique_ptr<MeshProxy> startProxy(uint16_t port) {
    auto proxy = std::make_unique<MeshProxy>(
        httpBootstrap(catchAllRoutes("grpc"), {{"grpc", {port}, std::string(kHttp2Cluster)}}),
        std::vector<std::string>{"--concurrency", "1"});
    EXPECT_TRUE(proxy->started()) << proxy->logs();
    return proxy;
  }

  ClientResult client(uint16_t port, std::vector<std::string> args) {
    std::vector<std::string> argv = {"node", (kSampleDir / "client.js").string(),
                                     fmt::format("127.0.0.1:{}", port)};
    argv.insert(argv.end(), args.begin(), args.end());
    Process process(ProcessOptions{.argv = argv});
    ClientResult result;
    result.exitCode = process.wait(30s);
    result.output = process.output();
    result.errors = process.errors();
    return result;
  }

  uint16_t serverPort_ = 0;
  std::unique_ptr<Process> server_;
};

TEST_F(GrpcProxyTest, UnaryStreamingAndStatusErrorsArriveIntact) {
  const auto proxy = startProxy(serverPort_);
  ASSERT_TRUE(proxy->started());
  const uint16_t port = proxy->listenerPort("http");

  const ClientResult unary = client(port, {"say", "3"});
  ASSERT_EQ(unary.exitCode, 0) << unary.output << unary.errors << proxy->logs();
  EXPECT_EQ(unary.output, "v7\nv7\nv7\n");

  const ClientResult streaming = client(port, {"stream", "200"});
  ASSERT_EQ(streaming.exitCode, 0) << streaming.output << streaming.errors;
  EXPECT_EQ(streaming.output, "stream v7 200\n");

  // The server's status (NOT_FOUND) and message come back in its trailers, through the proxy.
  const ClientResult failed = client(port, {"fail", "5", "no such thing"});
  ASSERT_EQ(failed.exitCode, 0) << failed.output << failed.errors;
  EXPECT_EQ(failed.output, "status 5 no such thing\n");

  EXPECT_TRUE(statReaches(*proxy, "http.ingress.downstream_cx_http2_total", "3"));
  EXPECT_EQ(statOf(*proxy, "http.ingress.downstream_cx_http1_total"), "0");
  EXPECT_EQ(statOf(*proxy, "cluster.grpc.upstream_cx_http2_total"), "1");
  EXPECT_TRUE(statReaches(*proxy, "http.ingress.downstream_rq_2xx", "5"));
  EXPECT_EQ(statOf(*proxy, "http.ingress.downstream_rq_tx_reset"), "0");
}

// The proxy cannot reach the server: its local reply is trailers-only, which grpc-js reads as
// UNAVAILABLE with the proxy's message.
TEST_F(GrpcProxyTest, ProxyLocalReplyIsUnavailable) {
  const auto proxy = startProxy(pickFreePort());
  ASSERT_TRUE(proxy->started());
  const ClientResult result = client(proxy->listenerPort("http"), {"say", "1"});
  EXPECT_EQ(result.exitCode, 1);
  EXPECT_EQ(result.output.rfind("error 14 upstream connect error", 0), 0u) << result.output;
}

} // namespace
} // namespace meshd::testing
