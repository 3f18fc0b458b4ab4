// HTTP/2 downstream (h2c with prior knowledge) through mesh-proxy, with real clients (curl,
// h2load, a raw socket) and the HTTP/1.1 HttpBackend upstream: codec_type AUTO/HTTP1/HTTP2,
// request bodies under flow control, many streams per connection, routes, header rules and local
// replies per stream, gRPC trailers-only local replies, stream resets and GOAWAY.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "fmt/format.h"
#include "test/integration/proxy/h2_frames.h"
#include "test/integration/proxy/http_test_helpers.h"
#include "test/support/http_backend.h"
#include "test/support/mesh_proxy.h"
#include "test/support/process.h"
#include "test/support/temp_dir.h"
#include "gtest/gtest.h"

namespace meshd::testing {
namespace {

using namespace std::chrono_literals;

class Http2DownstreamTest : public ::testing::Test {
protected:
  // `bootstrap_extra`: top-level bootstrap YAML (an overload_manager).
  void start(const std::string& route_config, const std::string& hcm_extra = "",
             const std::string& http_filters = "", std::vector<ClusterSpec> extra_clusters = {},
             const std::string& bootstrap_extra = "") {
    std::vector<ClusterSpec> clusters = {{"backend", {backend_.port()}}};
    clusters.insert(clusters.end(), extra_clusters.begin(), extra_clusters.end());
    const std::string bootstrap =
        httpBootstrap(route_config, clusters, hcm_extra, http_filters) + bootstrap_extra;
    proxy_ = std::make_unique<MeshProxy>(bootstrap);
    ASSERT_TRUE(proxy_->started()) << proxy_->logs() << "\n" << bootstrap;
    port_ = proxy_->listenerPort("http");
    ASSERT_NE(port_, 0) << proxy_->logs();
  }

  void TearDown() override {
    if (HasFailure() && proxy_) {
      const std::string logs = proxy_->logs();
      std::cerr << "mesh-proxy logs (tail):\n"
                << (logs.size() > 4000 ? logs.substr(logs.size() - 4000) : logs) << "\n";
    }
  }

  std::string url(const std::string& path) const {
    return fmt::format("http://127.0.0.1:{}{}", port_, path);
  }

  // curl over HTTP/2 with prior knowledge.
  CurlResult h2(std::vector<std::string> args) {
    args.insert(args.begin(), "--http2-prior-knowledge");
    return runCurl(args);
  }

  std::string stat(const std::string& name) const { return statOf(*proxy_, name); }

  HttpBackend backend_{"main"};
  std::unique_ptr<MeshProxy> proxy_;
  uint16_t port_ = 0;
  TempDir dir_;
};

// The status of each request path nghttp fetched, all as concurrent streams on one connection
// (curl 7.88 cannot reuse a prior-knowledge connection: curl issue 10634). A stream that got no
// response is missing.
std::map<std::string, int> nghttpStatuses(const std::vector<std::string>& urls) {
  std::vector<std::string> argv = {"nghttp", "-n", "-s", "-t", "20"};
  argv.insert(argv.end(), urls.begin(), urls.end());
  Process nghttp(ProcessOptions{.argv = argv});
  nghttp.wait(60s);
  // "id  responseEnd requestStart  process code size request path"
  static const std::regex kRow(R"(^\s*\d+\s+\S+\s+\S+\s+\S+\s+(\d+)\s+\S+\s+(\S+)\s*$)");
  std::map<std::string, int> statuses;
  std::istringstream lines(nghttp.output());
  for (std::string line; std::getline(lines, line);) {
    std::smatch match;
    if (std::regex_match(line, match, kRow)) {
      statuses[match[2]] = std::stoi(match[1]);
    }
  }
  return statuses;
}

// The number of requests h2load reports as succeeded (-1 when its summary is missing).
int h2loadSucceeded(const std::string& output) {
  static const std::regex kSummary(
      R"(requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded)");
  std::smatch match;
  return std::regex_search(output, match, kSummary) ? std::stoi(match[1]) : -1;
}

TEST_F(Http2DownstreamTest, PriorKnowledgeRequestIsServedOverHttp2AndForwardedAsHttp1) {
  ASSERT_NO_FATAL_FAILURE(start(catchAllRoutes()));
  const CurlResult result = h2({"-D", "-", url("/echo?x=1")});
  ASSERT_EQ(result.exitCode, 0) << result.errors;
  EXPECT_NE(result.output.find("HTTP/2 200"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("server: envoy"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("version: HTTP/1.1"), std::string::npos) << result.output;
  ASSERT_EQ(backend_.requestCount(), 1u);
  const RecordedRequest request = backend_.requests()[0];
  EXPECT_EQ(request.method, "GET");
  EXPECT_EQ(request.target, "/echo?x=1");
  EXPECT_EQ(request.header("host"), fmt::format("127.0.0.1:{}", port_)); // from :authority
  EXPECT_EQ(request.header("x-forwarded-proto"), "http");
  EXPECT_TRUE(request.has("x-request-id"));
  EXPECT_EQ(stat("http.ingress.downstream_cx_http2_total"), "1");
  EXPECT_EQ(stat("http.ingress.downstream_cx_http1_total"), "0");
  EXPECT_EQ(fetchGet(port_, "/echo").status, 200); // AUTO: HTTP/1.1 on another connection
  EXPECT_TRUE(statReaches(*proxy_, "http.ingress.downstream_cx_http1_total", "1"));
  EXPECT_TRUE(statReaches(*proxy_, "http.ingress.downstream_rq_2xx", "2"));
}

// 6 MiB each way: more than the stream (1 MiB) and connection (4 MiB) windows, so the request
// only gets through if the proxy reopens them as the upstream takes the bytes.
TEST_F(Http2DownstreamTest, LargeRequestBodyStreamsUnderFlowControl) {
  ASSERT_NO_FATAL_FAILURE(start(catchAllRoutes()));
  const std::string body = patternBytes(6 << 20);
  const auto in = dir_.path() / "in.bin";
  const auto out = dir_.path() / "out.bin";
  std::ofstream(in, std::ios::binary) << body;
  const CurlResult result = h2({"--data-binary", "@" + in.string(), "-o", out.string(), "-w",
                                "%{http_code} %{http_version}", url("/mirror")});
  ASSERT_EQ(result.exitCode, 0) << result.errors;
  EXPECT_EQ(result.output, "200 2");
  std::ifstream echoed(out, std::ios::binary);
  const std::string received((std::istreambuf_iterator<char>(echoed)),
                             std::istreambuf_iterator<char>());
  EXPECT_EQ(received.size(), body.size());
  EXPECT_TRUE(received == body);
  ASSERT_EQ(backend_.requestCount(), 1u);
  EXPECT_EQ(backend_.requests()[0].body.size(), body.size());
  EXPECT_EQ(backend_.requests()[0].header("content-length"), std::to_string(body.size()));
}

TEST_F(Http2DownstreamTest, ManyConcurrentStreamsShareTwoConnections) {
  ASSERT_NO_FATAL_FAILURE(start(catchAllRoutes()));
  Process h2load(
      ProcessOptions{.argv = {"h2load", "-n", "200", "-c", "2", "-m", "10", url("/echo")}});
  ASSERT_EQ(h2load.wait(60s), 0) << h2load.output() << h2load.errors();
  EXPECT_EQ(h2loadSucceeded(h2load.output()), 200) << h2load.output();
  EXPECT_EQ(stat("http.ingress.downstream_cx_http2_total"), "2");
  EXPECT_TRUE(statReaches(*proxy_, "http.ingress.downstream_rq_2xx", "200"));
  EXPECT_TRUE(statReaches(*proxy_, "http.ingress.downstream_rq_active", "0"));
  EXPECT_EQ(backend_.requestCount(), 200u);
}

TEST_F(Http2DownstreamTest, RoutesHeaderRulesAndLocalRepliesApplyToEachStream) {
  ASSERT_NO_FATAL_FAILURE(start(R"(
      name: local
      virtual_hosts:
      - name: all
        domains: ["*"]
        response_headers_to_add:
        - header: { key: x-vhost, value: "yes" }
        routes:
        - match: { path: "/health" }
          direct_response: { status: 200, body: { inline_string: "healthy" } }
        - match: { prefix: "/maintenance" }
          direct_response: { status: 503, body: { inline_string: "down" } }
        - match: { prefix: "/api/" }
          route: { cluster: backend, prefix_rewrite: "/echo/" }
          request_headers_to_add:
          - header: { key: x-added, value: "by-route" }
        - match: { prefix: "/old" }
          redirect: { path_redirect: "/new" }
      )"));
  // Five streams on one connection, each with its own route and outcome.
  const std::map<std::string, int> statuses = nghttpStatuses(
      {url("/health"), url("/maintenance"), url("/nowhere"), url("/old"), url("/api/x")});
  const std::map<std::string, int> expected = {
      {"/health", 200}, {"/maintenance", 503}, {"/nowhere", 404}, {"/old", 301}, {"/api/x", 200}};
  EXPECT_EQ(statuses, expected);
  EXPECT_EQ(stat("http.ingress.downstream_cx_total"), "1");
  EXPECT_TRUE(statReaches(*proxy_, "http.ingress.downstream_rq_total", "5"));
  EXPECT_EQ(stat("http.ingress.no_route"), "1");
  // The header rules, on one more stream.
  const CurlResult api = h2({"-D", "-", url("/api/x")});
  ASSERT_EQ(api.exitCode, 0) << api.errors;
  EXPECT_NE(api.output.find("x-vhost: yes"), std::string::npos) << api.output;
  EXPECT_NE(api.output.find("header: x-added: by-route"), std::string::npos) << api.output;
  EXPECT_NE(api.output.find("target: /echo/x"), std::string::npos) << api.output;
  EXPECT_EQ(backend_.requestCount(), 2u);
}

// As Envoy's sendLocalReply: a local reply to a gRPC request is HTTP 200 with the outcome in
// grpc-status (mapped from the HTTP status) and grpc-message, on HTTP/2 and HTTP/1.1 alike.
TEST_F(Http2DownstreamTest, LocalRepliesToGrpcRequestsAreTrailersOnly) {
  const uint16_t closedPort = pickFreePort();
  ASSERT_NO_FATAL_FAILURE(start(R"(
      name: local
      virtual_hosts:
      - name: all
        domains: ["*"]
        routes:
        - match: { prefix: "/down." }
          route: { cluster: down }
        - match: { prefix: "/fault." }
          route: { cluster: backend }
          typed_per_filter_config:
            envoy.filters.http.fault:
              "@type": type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault
              abort: { grpc_status: 8, percentage: { numerator: 100 } }
        - match: { prefix: "/ok." }
          route: { cluster: backend }
      )",
                                "", R"(
      - name: envoy.filters.http.fault
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault
      )",
                                {{"down", {closedPort}}}));
  // nghttp rather than curl: curl 7.88 can stall when a response ends before its upload did
  // (curl issue 10433), which a local reply does. `-v` prints every field received.
  const auto body = dir_.path() / "message";
  std::ofstream(body) << "x";
  auto grpcCall = [&](const std::string& path) {
    Process nghttp(
        ProcessOptions{.argv = {"nghttp", "-v", "-t", "20", "-H", "content-type: application/grpc",
                                "-H", "te: trailers", "-d", body.string(), url(path)}});
    nghttp.wait(60s);
    return nghttp.output();
  };
  // The head of stream 13 (nghttp's first) holds it all.
  auto received = [](const std::string& output, const std::string& field) {
    return output.find("recv (stream_id=13) " + field + "\n") != std::string::npos;
  };
  const std::string noRoute = grpcCall("/nowhere.Service/Method");
  EXPECT_TRUE(received(noRoute, ":status: 200")) << noRoute;
  EXPECT_TRUE(received(noRoute, "content-type: application/grpc")) << noRoute;
  EXPECT_TRUE(received(noRoute, "grpc-status: 12")) << noRoute;

  const std::string refused = grpcCall("/down.Service/Method");
  EXPECT_TRUE(received(refused, ":status: 200")) << refused;
  EXPECT_TRUE(received(refused, "grpc-status: 14")) << refused;
  EXPECT_NE(refused.find("recv (stream_id=13) grpc-message: upstream connect error"),
            std::string::npos)
      << refused;

  const std::string fault = grpcCall("/fault.Service/Method");
  EXPECT_TRUE(received(fault, "grpc-status: 8")) << fault;
  EXPECT_TRUE(received(fault, "grpc-message: fault filter abort")) << fault;

  // HTTP/1.1: the same trailers-only head, with an empty body.
  const HttpResponse overHttp1 = fetch(port_, "POST", "/down.Service/Method",
                                       {{"content-type", "application/grpc+proto"}}, "x");
  EXPECT_EQ(overHttp1.status, 200);
  EXPECT_EQ(overHttp1.header("grpc-status"), "14");
  EXPECT_EQ(overHttp1.header("content-length"), "0");
  // Not a gRPC request: the usual local reply.
  EXPECT_EQ(fetch(port_, "POST", "/down.x", {}, "x").status, 503);
  // The gRPC request that is routed reaches the backend with te: trailers kept.
  const std::string ok = grpcCall("/ok.Service/Method");
  EXPECT_TRUE(received(ok, ":status: 200")) << ok;
  ASSERT_EQ(backend_.requestCount(), 1u);
  EXPECT_EQ(backend_.requests()[0].header("te"), "trailers");
}

// Reads everything the peer sends until it closes (bounded); the HTTP/2 frame types seen.
std::vector<int> frameTypesUntilClose(int fd) {
  timeval timeout{.tv_sec = 10, .tv_usec = 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  std::string bytes;
  char buffer[4096];
  while (true) {
    const ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0) {
      break;
    }
    bytes.append(buffer, static_cast<size_t>(n));
  }
  std::vector<int> types;
  size_t at = 0;
  while (at + 9 <= bytes.size()) {
    const auto length = (static_cast<size_t>(static_cast<uint8_t>(bytes[at])) << 16) |
                        (static_cast<size_t>(static_cast<uint8_t>(bytes[at + 1])) << 8) |
                        static_cast<uint8_t>(bytes[at + 2]);
    types.push_back(static_cast<uint8_t>(bytes[at + 3]));
    at += 9 + length;
  }
  return types;
}

TEST_F(Http2DownstreamTest, GarbageAfterThePrefaceEndsTheConnectionWithGoAway) {
  ASSERT_NO_FATAL_FAILURE(start(catchAllRoutes()));
  HttpConnection raw(port_);
  ASSERT_TRUE(raw.connected());
  ASSERT_TRUE(raw.send(std::string(kPreface) + "this is not an HTTP/2 frame, not even close\r\n"));
  const std::vector<int> types = frameTypesUntilClose(raw.fd());
  constexpr int kSettings = 0x4;
  constexpr int kGoAway = 0x7;
  ASSERT_FALSE(types.empty());
  EXPECT_EQ(types.front(), kSettings);
  EXPECT_EQ(types.back(), kGoAway);
  EXPECT_TRUE(statReaches(*proxy_, "http.ingress.downstream_cx_protocol_error", "1"));
  // The proxy is fine.
  const CurlResult after = h2({"-o", "/dev/null", "-w", "%{http_code}", url("/echo")});
  EXPECT_EQ(after.output, "200") << after.errors;
  EXPECT_EQ(backend_.requestCount(), 1u);
}

TEST_F(Http2DownstreamTest, CodecTypeHttp1AndHttp2AcceptOnlyTheirProtocol) {
  ASSERT_NO_FATAL_FAILURE(start(catchAllRoutes(), "codec_type: HTTP1"));
  const CurlResult refused = h2({"-o", "/dev/null", "-w", "%{http_code}", url("/echo")});
  EXPECT_NE(refused.output, "200");
  EXPECT_EQ(fetchGet(port_, "/echo").status, 200);
  EXPECT_EQ(stat("http.ingress.downstream_cx_http2_total"), "0");

  ASSERT_NO_FATAL_FAILURE(start(catchAllRoutes(), "codec_type: HTTP2"));
  HttpConnection http1(port_);
  ASSERT_TRUE(http1.send(rawRequest("GET", "/echo")));
  const HttpResponse response = http1.read();
  EXPECT_FALSE(response.complete);
  EXPECT_TRUE(http1.peerClosed() || http1.waitForClose());
  const CurlResult served = h2({"-o", "/dev/null", "-w", "%{http_code}", url("/echo")});
  EXPECT_EQ(served.output, "200") << served.errors;
  EXPECT_EQ(backend_.requestCount(), 2u); // one from each proxy, none from the refused requests
}

// An upstream that dies mid-response: only that stream is reset; the connection goes on.
TEST_F(Http2DownstreamTest, UpstreamResetAfterTheHeadResetsOnlyItsStream) {
  ASSERT_NO_FATAL_FAILURE(start(catchAllRoutes()));
  const std::map<std::string, int> statuses =
      nghttpStatuses({url("/truncate/200000"), url("/echo")});
  EXPECT_EQ(statuses.count("/truncate/200000"), 0u); // reset: no complete response
  EXPECT_EQ(statuses.count("/echo"), 1u);
  EXPECT_EQ(statuses.at("/echo"), 200);
  EXPECT_TRUE(statReaches(*proxy_, "http.ingress.downstream_rq_tx_reset", "1"));
  EXPECT_EQ(stat("http.ingress.downstream_cx_total"), "1");
  EXPECT_EQ(stat("http.ingress.downstream_cx_protocol_error"), "0");
}

// After its last request the connection sends GOAWAY: h2load, which does not open another
// connection, gets exactly that many answers.
TEST_F(Http2DownstreamTest, MaxRequestsPerConnectionEndsTheConnectionWithGoAway) {
  ASSERT_NO_FATAL_FAILURE(
      start(catchAllRoutes(), "common_http_protocol_options: { max_requests_per_connection: 2 }"));
  Process h2load(ProcessOptions{.argv = {"h2load", "-n", "6", "-c", "1", "-m", "1", url("/echo")}});
  h2load.wait(60s);
  EXPECT_EQ(h2loadSucceeded(h2load.output()), 2) << h2load.output();
  EXPECT_TRUE(statReaches(*proxy_, "http.ingress.downstream_cx_max_requests_reached", "1"));
  EXPECT_EQ(backend_.requestCount(), 2u);
}

// max_request_headers_kb holds on HTTP/2 too: the stream is reset and nothing goes upstream.
TEST_F(Http2DownstreamTest, OversizedRequestHeadersResetTheStream) {
  ASSERT_NO_FATAL_FAILURE(start(catchAllRoutes(), "max_request_headers_kb: 2"));
  const CurlResult refused = h2({"-o", "/dev/null", "-w", "%{http_code}", "-H",
                                 "x-big: " + std::string(4096, 'a'), url("/echo")});
  EXPECT_NE(refused.output, "200");
  const CurlResult served = h2({"-o", "/dev/null", "-w", "%{http_code}", url("/echo")});
  EXPECT_EQ(served.output, "200") << served.errors;
  EXPECT_EQ(backend_.requestCount(), 1u);
}

TEST_F(Http2DownstreamTest, StreamIdleTimeoutAnswers408OnThatStream) {
  ASSERT_NO_FATAL_FAILURE(start(catchAllRoutes(), "stream_idle_timeout: 0.3s"));
  const std::map<std::string, int> statuses = nghttpStatuses({url("/delay/5000"), url("/echo")});
  const std::map<std::string, int> expected = {{"/delay/5000", 408}, {"/echo", 200}};
  EXPECT_EQ(statuses, expected);
  EXPECT_EQ(stat("http.ingress.downstream_cx_total"), "1");
  EXPECT_TRUE(statReaches(*proxy_, "http.ingress.downstream_rq_idle_timeout", "1"));
}

TEST_F(Http2DownstreamTest, ConnectionIdleTimeoutSendsGoAwayAndCloses) {
  ASSERT_NO_FATAL_FAILURE(
      start(catchAllRoutes(), "common_http_protocol_options: { idle_timeout: 0.3s }"));
  HttpConnection raw(port_);
  ASSERT_TRUE(raw.send(std::string(kPreface) + frame(kSettingsFrame, 0, 0, "")));
  const std::vector<Frame> frames = readFrames(raw.fd(), [](const Frame&) { return false; });
  EXPECT_TRUE(hasFrame(frames, kGoAwayFrame));
  EXPECT_TRUE(statReaches(*proxy_, "http.ingress.downstream_cx_idle_timeout", "1"));
  EXPECT_EQ(stat("http.ingress.downstream_cx_protocol_error"), "0");
}

// A client's RST_STREAM abandons that request upstream; the connection and its other streams go
// on.
TEST_F(Http2DownstreamTest, ClientResetCancelsTheUpstreamRequestOnly) {
  ASSERT_NO_FATAL_FAILURE(start(catchAllRoutes()));
  HttpConnection raw(port_);
  ASSERT_TRUE(raw.send(std::string(kPreface) + frame(kSettingsFrame, 0, 0, "") +
                       getRequest(1, "/delay/30000", port_)));
  ASSERT_TRUE(backend_.waitForRequests(1, 10s));
  const std::string cancel = {0, 0, 0, 8}; // CANCEL
  ASSERT_TRUE(raw.send(frame(kRstStreamFrame, 0, 1, cancel) + getRequest(3, "/echo", port_)));
  const std::vector<Frame> frames = readFrames(raw.fd(), [](const Frame& seen) {
    return seen.streamId == 3 && (seen.flags & kEndStream) != 0;
  });
  EXPECT_TRUE(hasFrame(frames, kHeadersFrame, 3));
  EXPECT_FALSE(hasFrame(frames, kHeadersFrame, 1));
  EXPECT_FALSE(hasFrame(frames, kGoAwayFrame));
  EXPECT_TRUE(statReaches(*proxy_, "http.ingress.downstream_rq_rx_reset", "1"));
  // The request that waited upstream was cancelled (it would take 30 s).
  EXPECT_TRUE(statReaches(*proxy_, "cluster.backend.upstream_rq_active", "0"));
  EXPECT_TRUE(statReaches(*proxy_, "http.ingress.downstream_rq_active", "0"));
}

// A body without content-length (DATA frames until END_STREAM) goes to an HTTP/1.1 upstream
// chunked, each frame as it comes.
TEST_F(Http2DownstreamTest, BodyWithoutContentLengthIsChunkedUpstream) {
  ASSERT_NO_FATAL_FAILURE(start(catchAllRoutes()));
  HttpConnection raw(port_);
  ASSERT_TRUE(raw.send(std::string(kPreface) + frame(kSettingsFrame, 0, 0, "") +
                       requestHead(1, "POST", "/mirror", port_, false) +
                       frame(kDataFrame, 0, 1, "first part, ")));
  ASSERT_TRUE(raw.send(frame(kDataFrame, kEndStream, 1, "second part")));
  const std::vector<Frame> frames = readFrames(raw.fd(), [](const Frame& seen) {
    return seen.streamId == 1 && (seen.flags & kEndStream) != 0;
  });
  EXPECT_TRUE(hasFrame(frames, kHeadersFrame, 1));
  ASSERT_EQ(backend_.requestCount(), 1u);
  const RecordedRequest request = backend_.requests()[0];
  EXPECT_TRUE(request.chunked);
  EXPECT_FALSE(request.has("content-length"));
  EXPECT_EQ(request.body, "first part, second part");
}

// An overload_manager whose fixed_heap monitor (a one-byte limit: always over it) triggers
// `action`.
std::string alwaysOverloaded(const std::string& action) {
  return fmt::format(R"(
overload_manager:
  refresh_interval: 0.1s
  resource_monitors:
  - name: envoy.resource_monitors.fixed_heap
    typed_config:
      "@type": type.googleapis.com/envoy.extensions.resource_monitors.fixed_heap.v3.FixedHeapConfig
      max_heap_size_bytes: 1
  actions:
  - name: {}
    triggers:
    - name: envoy.resource_monitors.fixed_heap
      threshold: {{ value: 0.5 }}
)",
                     action);
}

TEST_F(Http2DownstreamTest, OverloadStopAcceptingRequestsAnswersEachStream503) {
  ASSERT_NO_FATAL_FAILURE(
      start(catchAllRoutes(), "", "", {},
            alwaysOverloaded("envoy.overload_actions.stop_accepting_requests")));
  const CurlResult result =
      h2({"-o", "/dev/null", "-w", "%{http_code} %{http_version}", url("/echo")});
  EXPECT_EQ(result.output, "503 2") << result.errors;
  EXPECT_EQ(stat("http.ingress.downstream_rq_overload_close"), "1");
  EXPECT_EQ(backend_.requestCount(), 0u);
}

// disable_http_keepalive: where HTTP/1.1 says Connection: close, HTTP/2 serves the stream, sends
// GOAWAY and closes.
TEST_F(Http2DownstreamTest, OverloadDisableKeepaliveEndsTheConnectionWithGoAway) {
  ASSERT_NO_FATAL_FAILURE(start(catchAllRoutes(), "", "", {},
                                alwaysOverloaded("envoy.overload_actions.disable_http_keepalive")));
  HttpConnection raw(port_);
  ASSERT_TRUE(raw.send(std::string(kPreface) + frame(kSettingsFrame, 0, 0, "") +
                       getRequest(1, "/echo", port_)));
  const std::vector<Frame> frames = readFrames(raw.fd(), [](const Frame&) { return false; });
  EXPECT_TRUE(hasFrame(frames, kHeadersFrame, 1));
  EXPECT_TRUE(hasFrame(frames, kGoAwayFrame));
  EXPECT_TRUE(raw.waitForClose(1s));
  EXPECT_EQ(stat("http.ingress.downstream_cx_overload_disable_keepalive"), "1");
  EXPECT_EQ(backend_.requestCount(), 1u);
}

} // namespace
} // namespace meshd::testing
