// mesh-proxy's HTTP connection manager and router against a real HTTP/1.1 backend: forwarding,
// request/response header handling, local replies for upstream failures and timeouts, keep-alive
// and pipelining, body framing (chunked, large, HEAD, 100-continue, HTTP/1.0) and limits.
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <regex>
#include <set>
#include <string>
#include <thread>

#include "fmt/format.h"
#include "test/integration/proxy/http_test_helpers.h"
#include "test/support/http_backend.h"
#include "test/support/http_client.h"
#include "test/support/mesh_proxy.h"
#include "test/support/temp_dir.h"
#include "gtest/gtest.h"

namespace meshd::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr size_t npos = std::string::npos;

constexpr std::string_view kConnectFailureBody =
    "upstream connect error or disconnect/reset before headers. reset reason: connection failure";
constexpr std::string_view kConnectionTerminationBody =
    "upstream connect error or disconnect/reset before headers. reset reason: connection "
    "termination";

// One backend ("main") behind a proxy whose single route sends everything to it.
class HttpProxyTest : public ::testing::Test {
protected:
  void start(const std::string& route_extra = "", const std::string& hcm_extra = "") {
    startWith(httpBootstrap(catchAllRoutes("backend", route_extra),
                            {{"backend", {backend_.port()}}}, hcm_extra));
  }

  void startWith(const std::string& bootstrap) {
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

  HttpBackend backend_{"main"};
  std::unique_ptr<MeshProxy> proxy_;
  uint16_t port_ = 0;
};

std::vector<std::string> splitList(const std::string& value) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= value.size()) {
    const size_t comma = value.find(',', start);
    std::string item = value.substr(start, comma == npos ? npos : comma - start);
    item.erase(0, item.find_first_not_of(' '));
    item.erase(item.find_last_not_of(' ') + 1);
    out.push_back(item);
    if (comma == npos) {
      break;
    }
    start = comma + 1;
  }
  return out;
}

std::string joined(const std::vector<std::string>& values) {
  std::string out;
  for (const auto& value : values) {
    out += (out.empty() ? "" : ",") + value;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Forwarding

TEST_F(HttpProxyTest, ForwardsGetAndReturnsTheBackendResponse) {
  ASSERT_NO_FATAL_FAILURE(start());
  const auto response = fetchGet(port_, "/echo/hello?x=1");
  ASSERT_TRUE(response.complete);
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.header("x-backend"), "main");
  EXPECT_NE(response.body.find("method: GET\n"), npos) << response.body;
  EXPECT_NE(response.body.find("target: /echo/hello?x=1\n"), npos) << response.body;
  ASSERT_EQ(backend_.requestCount(), 1u);
  const RecordedRequest request = backend_.requests()[0];
  EXPECT_EQ(request.method, "GET");
  EXPECT_EQ(request.target, "/echo/hello?x=1");
  EXPECT_EQ(request.version, "HTTP/1.1");
  EXPECT_EQ(request.header("host"), "localhost");
  EXPECT_TRUE(statReaches(*proxy_, "http.ingress.downstream_rq_2xx", "1"))
      << statOf(*proxy_, "http.ingress.downstream_rq_2xx");
  EXPECT_TRUE(statReaches(*proxy_, "cluster.backend.upstream_rq_total", "1"))
      << statOf(*proxy_, "cluster.backend.upstream_rq_total");
  // The virtual host's catch-all virtual cluster, as Envoy names it.
  EXPECT_EQ(statOf(*proxy_, "vhost.all.vcluster.other.upstream_rq_total"), "1");
  EXPECT_EQ(statOf(*proxy_, "vhost.all.vcluster.other.upstream_rq_2xx"), "1");
}

TEST_F(HttpProxyTest, ForwardsPostBodyAndOtherMethods) {
  ASSERT_NO_FATAL_FAILURE(start());
  const auto post = fetch(port_, "POST", "/mirror", {{"content-type", "application/json"}},
                          R"({"hello":"mesh"})");
  EXPECT_EQ(post.status, 200);
  EXPECT_EQ(post.body, R"({"hello":"mesh"})");
  EXPECT_EQ(post.header("content-type"), "application/json");
  for (const std::string method : {"PUT", "DELETE", "PATCH", "OPTIONS"}) {
    const auto response = fetch(port_, method, "/echo/" + method, {}, "payload");
    EXPECT_EQ(response.status, 200) << method;
    EXPECT_NE(response.body.find("method: " + method + "\n"), npos) << response.body;
  }
  const auto requests = backend_.requests();
  ASSERT_EQ(requests.size(), 5u);
  EXPECT_EQ(requests[0].body, R"({"hello":"mesh"})");
  EXPECT_EQ(requests[0].header("content-length"), "16");
  EXPECT_EQ(requests[1].method, "PUT");
  EXPECT_EQ(requests[1].body, "payload");
}

TEST_F(HttpProxyTest, PassesStatusCodesAndResponseHeadersThrough) {
  ASSERT_NO_FATAL_FAILURE(start());
  HttpConnection connection(port_);
  for (const int status : {200, 201, 202, 301, 400, 404, 418, 429, 500, 503}) {
    const auto response = connection.request("GET", fmt::format("/status/{}", status),
                                             {{"x-backend-respond-header", "x-custom: abc"}});
    ASSERT_TRUE(response.complete) << status;
    EXPECT_EQ(response.status, status);
    EXPECT_EQ(response.body, fmt::format("status {}", status));
    EXPECT_EQ(response.header("x-custom"), "abc");
  }
  // 204 and 304 have no body; the connection stays in sync afterwards.
  for (const int status : {204, 304}) {
    const auto response = connection.request("GET", fmt::format("/status/{}", status));
    ASSERT_TRUE(response.complete) << status;
    EXPECT_EQ(response.status, status);
  }
  const auto after = connection.request("GET", "/bytes/5");
  EXPECT_EQ(after.status, 200);
  EXPECT_EQ(after.body, patternBytes(5));
}

TEST_F(HttpProxyTest, RepeatedRequestHeadersAreForwardedInOrder) {
  ASSERT_NO_FATAL_FAILURE(start());
  const auto response =
      fetchGet(port_, "/echo", {{"x-multi", "first"}, {"x-other", "1"}, {"x-multi", "second"}});
  EXPECT_EQ(response.status, 200);
  ASSERT_EQ(backend_.requestCount(), 1u);
  const auto request = backend_.requests()[0];
  std::vector<std::string> values;
  for (const auto& value : request.headerValues("x-multi")) {
    for (const auto& item : splitList(value)) {
      values.push_back(item);
    }
  }
  EXPECT_EQ(joined(values), "first,second");
  EXPECT_EQ(request.header("x-other"), "1");
}

TEST_F(HttpProxyTest, ResponseWithoutLengthIsRelayedUntilTheBackendCloses) {
  ASSERT_NO_FATAL_FAILURE(start());
  HttpConnection connection(port_);
  const auto response = connection.request("GET", "/no-length/100000");
  ASSERT_TRUE(response.complete);
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body.size(), 100000u);
  EXPECT_TRUE(response.body == patternBytes(100000));
}

// ---------------------------------------------------------------------------------------------
// Request headers the proxy adds, keeps or removes

TEST_F(HttpProxyTest, GeneratesUuidV4RequestIdAndForwardedProto) {
  ASSERT_NO_FATAL_FAILURE(start());
  ASSERT_EQ(fetchGet(port_, "/echo").status, 200);
  ASSERT_EQ(backend_.requestCount(), 1u);
  const auto request = backend_.requests()[0];
  const auto id = request.header("x-request-id");
  ASSERT_TRUE(id.has_value());
  EXPECT_TRUE(std::regex_match(
      *id, std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")))
      << *id;
  EXPECT_EQ(request.header("x-forwarded-proto"), "http");
}

TEST_F(HttpProxyTest, RequestIdsAreUniqueAndAnIncomingOneIsPreserved) {
  ASSERT_NO_FATAL_FAILURE(start());
  HttpConnection connection(port_);
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(connection.request("GET", "/echo").status, 200);
  }
  ASSERT_EQ(connection.request("GET", "/echo", {{"x-request-id", "client-chosen-id-42"}}).status,
            200);
  const auto requests = backend_.requests();
  ASSERT_EQ(requests.size(), 21u);
  std::set<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    ids.insert(requests[static_cast<size_t>(i)].header("x-request-id").value_or(""));
  }
  EXPECT_EQ(ids.size(), 20u);
  EXPECT_FALSE(ids.contains(""));
  EXPECT_EQ(requests[20].headerValues("x-request-id"),
            std::vector<std::string>{"client-chosen-id-42"});
}

TEST_F(HttpProxyTest, UseRemoteAddressAppendsThePeerToXForwardedFor) {
  ASSERT_NO_FATAL_FAILURE(start("", "use_remote_address: true"));
  ASSERT_EQ(fetchGet(port_, "/echo", {{"x-forwarded-for", "10.0.0.1"}}).status, 200);
  ASSERT_EQ(fetchGet(port_, "/echo").status, 200);
  const auto requests = backend_.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(splitList(requests[0].header("x-forwarded-for").value_or("")),
            (std::vector<std::string>{"10.0.0.1", "127.0.0.1"}));
  EXPECT_EQ(requests[1].header("x-forwarded-for"), "127.0.0.1");
}

TEST_F(HttpProxyTest, WithoutUseRemoteAddressXForwardedForIsLeftAlone) {
  ASSERT_NO_FATAL_FAILURE(start());
  ASSERT_EQ(fetchGet(port_, "/echo", {{"x-forwarded-for", "10.0.0.1"}}).status, 200);
  ASSERT_EQ(fetchGet(port_, "/echo").status, 200);
  const auto requests = backend_.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].header("x-forwarded-for"), "10.0.0.1");
  EXPECT_FALSE(requests[1].has("x-forwarded-for"));
}

TEST_F(HttpProxyTest, HopByHopRequestHeadersAreNotForwarded) {
  ASSERT_NO_FATAL_FAILURE(start());
  const auto response = fetchGet(port_, "/echo",
                                 {{"connection", "keep-alive, x-hop-custom"},
                                  {"keep-alive", "timeout=30"},
                                  {"proxy-connection", "keep-alive"},
                                  {"te", "gzip"},
                                  {"x-hop-custom", "secret"},
                                  {"x-end-to-end", "kept"}});
  EXPECT_EQ(response.status, 200);
  ASSERT_EQ(backend_.requestCount(), 1u);
  const auto request = backend_.requests()[0];
  EXPECT_FALSE(request.has("keep-alive"));
  EXPECT_FALSE(request.has("proxy-connection"));
  EXPECT_FALSE(request.has("te"));
  EXPECT_FALSE(request.has("x-hop-custom"));
  EXPECT_EQ(request.header("connection").value_or("").find("x-hop-custom"), npos);
  EXPECT_EQ(request.header("x-end-to-end"), "kept");
}

TEST_F(HttpProxyTest, H2cUpgradeRequestFromCurlIsServedAsPlainHttp11) {
  // `curl --http2 http://...` asks to upgrade to h2c. Envoy's HTTP/1 codec drops the h2c upgrade
  // headers (upgrade, http2-settings, their connection tokens) and serves the request normally.
  ASSERT_NO_FATAL_FAILURE(start());
  const auto curl = runCurl({"--http2", "-o", "-", "-w", "\n%{http_code}",
                             fmt::format("http://127.0.0.1:{}/echo", port_)});
  ASSERT_EQ(curl.exitCode, 0) << curl.errors;
  EXPECT_TRUE(curl.output.ends_with("\n200")) << curl.output;
  ASSERT_EQ(backend_.requestCount(), 1u) << curl.output;
  const auto request = backend_.requests()[0];
  EXPECT_FALSE(request.has("upgrade"));
  EXPECT_FALSE(request.has("http2-settings"));
}

TEST_F(HttpProxyTest, DeclinedH2cUpgradeLeavesPipelinedRequestsIntact) {
  // After an h2c offer is declined the connection stays HTTP/1.1: a request pipelined behind it
  // must be parsed and answered as usual.
  ASSERT_NO_FATAL_FAILURE(start());
  HttpConnection connection(port_);
  ASSERT_TRUE(connection.send(rawRequest("GET", "/echo?offer",
                                         {{"connection", "Upgrade, HTTP2-Settings"},
                                          {"upgrade", "h2c"},
                                          {"http2-settings", "AAMAAABkAARAAAAAAAIAAAAA"}}) +
                              rawRequest("POST", "/mirror", {}, "second") +
                              rawRequest("GET", "/echo?third")));
  const auto first = connection.read();
  const auto second = connection.read();
  const auto third = connection.read();
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(first.header("x-backend-target"), "/echo?offer");
  EXPECT_EQ(second.body, "second");
  EXPECT_EQ(third.header("x-backend-target"), "/echo?third");
  const auto requests = backend_.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_FALSE(requests[0].has("upgrade"));
  EXPECT_FALSE(requests[0].has("http2-settings"));
}

TEST_F(HttpProxyTest, UpgradeHeaderWithoutConnectionUpgradeIsDroppedNotHonoured) {
  ASSERT_NO_FATAL_FAILURE(start());
  HttpConnection connection(port_);
  const auto response = connection.request("GET", "/echo", {{"upgrade", "websocket"}});
  EXPECT_EQ(response.status, 200);
  ASSERT_EQ(backend_.requestCount(), 1u);
  EXPECT_FALSE(backend_.requests()[0].has("upgrade"));
  EXPECT_EQ(connection.request("GET", "/echo").status, 200);
}

TEST_F(HttpProxyTest, WebSocketUpgradeWithoutUpgradeConfigIsRejectedWith403) {
  ASSERT_NO_FATAL_FAILURE(start());
  HttpConnection connection(port_);
  const auto response = connection.request("GET", "/echo",
                                           {{"connection", "upgrade"},
                                            {"upgrade", "websocket"},
                                            {"sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="},
                                            {"sec-websocket-version", "13"}});
  EXPECT_EQ(response.status, 403);
  EXPECT_EQ(backend_.requestCount(), 0u);
}

// ---------------------------------------------------------------------------------------------
// Response headers the proxy adds or removes

TEST_F(HttpProxyTest, ServerHeaderIsEnvoyOnProxiedAndLocalResponses) {
  ASSERT_NO_FATAL_FAILURE(start());
  const auto proxied =
      fetchGet(port_, "/echo", {{"x-backend-respond-header", "server: backend-server"}});
  EXPECT_EQ(proxied.status, 200);
  EXPECT_EQ(proxied.headerValues("server"), std::vector<std::string>{"envoy"});
  const auto local = fetchGet(port_, "/reset");
  EXPECT_EQ(local.status, 503);
  EXPECT_EQ(local.headerValues("server"), std::vector<std::string>{"envoy"});
}

TEST_F(HttpProxyTest, ServerNameReplacesTheServerHeader) {
  ASSERT_NO_FATAL_FAILURE(start("", "server_name: meshd-edge"));
  const auto response =
      fetchGet(port_, "/echo", {{"x-backend-respond-header", "server: backend-server"}});
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.headerValues("server"), std::vector<std::string>{"meshd-edge"});
}

TEST_F(HttpProxyTest, ProxiedResponsesCarryUpstreamServiceTime) {
  ASSERT_NO_FATAL_FAILURE(start());
  const auto response = fetchGet(port_, "/delay/50");
  EXPECT_EQ(response.status, 200);
  const auto serviceTime = response.header("x-envoy-upstream-service-time");
  ASSERT_TRUE(serviceTime.has_value());
  EXPECT_TRUE(std::regex_match(*serviceTime, std::regex("[0-9]+"))) << *serviceTime;
  // The backend waited 50 ms; allow generous scheduling slack on the low side only.
  EXPECT_GE(std::stoi(*serviceTime), 40);
  // Local replies have no upstream, so no service time.
  EXPECT_FALSE(fetchGet(port_, "/reset").has("x-envoy-upstream-service-time"));
}

TEST_F(HttpProxyTest, HopByHopResponseHeadersAreNotForwarded) {
  ASSERT_NO_FATAL_FAILURE(start());
  HttpConnection connection(port_);
  const auto response = connection.request("GET", "/echo",
                                           {{"x-backend-respond-header", "keep-alive: timeout=5"},
                                            {"x-backend-respond-header", "proxy-connection: x"},
                                            {"x-backend-respond-header", "x-kept: yes"}});
  EXPECT_EQ(response.status, 200);
  EXPECT_FALSE(response.has("keep-alive"));
  EXPECT_FALSE(response.has("proxy-connection"));
  EXPECT_EQ(response.header("x-kept"), "yes");
  EXPECT_EQ(connection.request("GET", "/echo").status, 200); // still in sync
}

// ---------------------------------------------------------------------------------------------
// Local replies: no route, no cluster, upstream failures, timeouts

TEST_F(HttpProxyTest, NoRouteGets404AndTheConnectionStaysUsable) {
  ASSERT_NO_FATAL_FAILURE(startWith(httpBootstrap(R"(
      name: local
      virtual_hosts:
      - name: all
        domains: ["*"]
        routes:
        - match: { prefix: "/api" }
          route: { cluster: backend }
      )",
                                                  {{"backend", {backend_.port()}}})));
  HttpConnection connection(port_);
  const auto missing = connection.request("GET", "/other");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(connection.request("GET", "/api/echo").status, 200);
  EXPECT_TRUE(statReaches(*proxy_, "http.ingress.no_route", "1"))
      << statOf(*proxy_, "http.ingress.no_route");
  EXPECT_TRUE(statReaches(*proxy_, "http.ingress.downstream_rq_4xx", "1"))
      << statOf(*proxy_, "http.ingress.downstream_rq_4xx");
  ASSERT_EQ(backend_.requestCount(), 1u);
  EXPECT_EQ(backend_.requests()[0].target, "/api/echo");
}

TEST_F(HttpProxyTest, UnknownClusterFromClusterHeaderGets503) {
  HttpBackend other("other");
  ASSERT_NO_FATAL_FAILURE(
      startWith(httpBootstrap(R"(
      name: local
      virtual_hosts:
      - name: all
        domains: ["*"]
        routes:
        - match: { prefix: "/" }
          route: { cluster_header: x-target-cluster }
      )",
                              {{"backend", {backend_.port()}}, {"other", {other.port()}}})));
  EXPECT_EQ(fetchGet(port_, "/echo", {{"x-target-cluster", "other"}}).header("x-backend"), "other");
  EXPECT_EQ(fetchGet(port_, "/echo", {{"x-target-cluster", "backend"}}).header("x-backend"),
            "main");
  EXPECT_EQ(fetchGet(port_, "/echo", {{"x-target-cluster", "nope"}}).status, 503);
  EXPECT_EQ(fetchGet(port_, "/echo").status, 503); // header missing
  EXPECT_TRUE(statReaches(*proxy_, "http.ingress.no_cluster", "2"))
      << statOf(*proxy_, "http.ingress.no_cluster");
  EXPECT_EQ(backend_.requestCount() + other.requestCount(), 2u);
}

TEST_F(HttpProxyTest, UpstreamConnectFailureGets503WithEnvoysBody) {
  const uint16_t deadPort = pickFreePort();
  ASSERT_NO_FATAL_FAILURE(
      startWith(httpBootstrap(catchAllRoutes("backend"), {{"backend", {deadPort}}})));
  HttpConnection connection(port_);
  const auto response = connection.request("GET", "/echo");
  EXPECT_EQ(response.status, 503);
  EXPECT_EQ(response.body, kConnectFailureBody);
  EXPECT_TRUE(statReaches(*proxy_, "cluster.backend.upstream_cx_connect_fail", "1"))
      << statOf(*proxy_, "cluster.backend.upstream_cx_connect_fail");
  EXPECT_TRUE(statReaches(*proxy_, "http.ingress.downstream_rq_5xx", "1"))
      << statOf(*proxy_, "http.ingress.downstream_rq_5xx");
  // A local reply to a complete request keeps the client connection.
  EXPECT_EQ(connection.request("GET", "/echo").status, 503);
}

TEST_F(HttpProxyTest, UpstreamResetBeforeResponseGets503ConnectionTermination) {
  ASSERT_NO_FATAL_FAILURE(start());
  HttpConnection connection(port_);
  const auto response = connection.request("GET", "/reset");
  EXPECT_EQ(response.status, 503);
  EXPECT_EQ(response.body, kConnectionTerminationBody);
  EXPECT_EQ(backend_.requestCount(), 1u);
  const auto next = connection.request("GET", "/echo?after-reset");
  EXPECT_EQ(next.status, 200);
  EXPECT_EQ(next.header("x-backend-target"), "/echo?after-reset");
}

TEST_F(HttpProxyTest, MalformedUpstreamResponseGets502) {
  ASSERT_NO_FATAL_FAILURE(start());
  HttpConnection connection(port_);
  const auto response = connection.request("GET", "/garbage");
  EXPECT_EQ(response.status, 502);
  EXPECT_EQ(response.body, "upstream connect error or disconnect/reset before headers. reset "
                           "reason: protocol error");
  EXPECT_EQ(connection.request("GET", "/echo").status, 200);
}

TEST_F(HttpProxyTest, UpstreamFailingMidBodyResetsTheClient) {
  ASSERT_NO_FATAL_FAILURE(start());
  HttpConnection connection(port_);
  const auto response = connection.request("GET", "/truncate/100000");
  // The head was already relayed, so the only way to signal the failure is to end the connection.
  EXPECT_EQ(response.status, 200);
  EXPECT_FALSE(response.complete);
  EXPECT_LT(response.body.size(), 100000u);
  EXPECT_TRUE(connection.peerClosed());
  EXPECT_EQ(fetchGet(port_, "/echo").status, 200);
}

TEST_F(HttpProxyTest, UnsolicitedUpstream100IsNotTakenForTheResponse) {
  ASSERT_NO_FATAL_FAILURE(start());
  HttpConnection connection(port_);
  const auto response = connection.request("GET", "/interim");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "after interim");
  const auto next = connection.request("GET", "/echo?next");
  EXPECT_EQ(next.status, 200);
  EXPECT_EQ(next.header("x-backend-target"), "/echo?next");
}

TEST_F(HttpProxyTest, SetCookieResponseHeadersStaySeparate) {
  ASSERT_NO_FATAL_FAILURE(start());
  const auto response = fetchGet(port_, "/echo",
                                 {{"x-backend-respond-header", "set-cookie: a=1; Path=/"},
                                  {"x-backend-respond-header", "set-cookie: b=2, c=3"}});
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.headerValues("set-cookie"),
            (std::vector<std::string>{"a=1; Path=/", "b=2, c=3"}));
}

TEST_F(HttpProxyTest, RouteTimeoutGets504AndCountsUpstreamRqTimeout) {
  ASSERT_NO_FATAL_FAILURE(start("timeout: 0.3s"));
  const auto begin = Clock::now();
  const auto response = fetchGet(port_, "/delay/5000");
  const auto elapsed = Clock::now() - begin;
  EXPECT_EQ(response.status, 504);
  EXPECT_EQ(response.body, "upstream request timeout");
  EXPECT_GE(elapsed, 250ms);
  EXPECT_LT(elapsed, 8s);
  EXPECT_TRUE(statReaches(*proxy_, "cluster.backend.upstream_rq_timeout", "1"))
      << statOf(*proxy_, "cluster.backend.upstream_rq_timeout");
  EXPECT_TRUE(statReaches(*proxy_, "http.ingress.downstream_rq_5xx", "1"))
      << statOf(*proxy_, "http.ingress.downstream_rq_5xx");
}

TEST_F(HttpProxyTest, TimedOutUpstreamConnectionIsNotReused) {
  ASSERT_NO_FATAL_FAILURE(start("timeout: 0.3s"));
  HttpConnection connection(port_);
  EXPECT_EQ(connection.request("GET", "/delay/3000").status, 504);
  // The upstream connection still owes the delayed response: the next request must not get it.
  const auto next = connection.request("GET", "/echo?after-timeout");
  EXPECT_EQ(next.status, 200);
  EXPECT_EQ(next.header("x-backend-target"), "/echo?after-timeout");
  EXPECT_EQ(next.header("x-backend-connection"), "2");
}

TEST_F(HttpProxyTest, TimeoutHeaderShortensTheRouteTimeoutAndIsNotForwarded) {
  ASSERT_NO_FATAL_FAILURE(start()); // default route timeout: 15 s
  const auto begin = Clock::now();
  const auto response = fetchGet(port_, "/delay/5000", {{"x-envoy-upstream-rq-timeout-ms", "300"}});
  const auto elapsed = Clock::now() - begin;
  EXPECT_EQ(response.status, 504);
  EXPECT_GE(elapsed, 250ms);
  EXPECT_LT(elapsed, 8s);
  ASSERT_TRUE(backend_.waitForRequests(1, 5s));
  EXPECT_FALSE(backend_.requests()[0].has("x-envoy-upstream-rq-timeout-ms"));
}

TEST_F(HttpProxyTest, TimeoutHeaderExtendsTheRouteTimeout) {
  ASSERT_NO_FATAL_FAILURE(start("timeout: 0.3s"));
  const auto response =
      fetchGet(port_, "/delay/1000", {{"x-envoy-upstream-rq-timeout-ms", "8000"}});
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "delayed");
  ASSERT_EQ(backend_.requestCount(), 1u);
  EXPECT_FALSE(backend_.requests()[0].has("x-envoy-upstream-rq-timeout-ms"));
  EXPECT_EQ(statOf(*proxy_, "cluster.backend.upstream_rq_timeout"), "0");
}

TEST_F(HttpProxyTest, ZeroRouteTimeoutDisablesIt) {
  ASSERT_NO_FATAL_FAILURE(start("timeout: 0s"));
  const auto response = fetchGet(port_, "/delay/1000");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "delayed");
}

// ---------------------------------------------------------------------------------------------
// Connections: keep-alive, pooling, pipelining, close

TEST_F(HttpProxyTest, KeepAliveRequestsReuseOneUpstreamConnection) {
  ASSERT_NO_FATAL_FAILURE(start());
  HttpConnection connection(port_);
  for (int i = 0; i < 20; ++i) {
    const auto response = connection.request("GET", fmt::format("/echo?i={}", i));
    ASSERT_EQ(response.status, 200) << i;
    EXPECT_EQ(response.header("x-backend-target"), fmt::format("/echo?i={}", i));
    EXPECT_EQ(response.header("x-backend-connection"), "1");
  }
  EXPECT_EQ(backend_.connectionsAccepted(), 1);
  EXPECT_EQ(statOf(*proxy_, "cluster.backend.upstream_cx_total"), "1");
  EXPECT_EQ(statOf(*proxy_, "http.ingress.downstream_cx_total"), "1");
  EXPECT_EQ(statOf(*proxy_, "cluster.backend.upstream_rq_total"), "20");
}

TEST_F(HttpProxyTest, CurlReusesItsConnectionAndTheProxyReusesUpstream) {
  ASSERT_NO_FATAL_FAILURE(start());
  const std::string url = fmt::format("http://127.0.0.1:{}/echo", port_);
  const auto curl = runCurl({"-o", "/dev/null", "-o", "/dev/null", "-o", "/dev/null", "-w",
                             "%{http_code}:%{num_connects} ", url, url, url});
  ASSERT_EQ(curl.exitCode, 0) << curl.errors;
  EXPECT_EQ(curl.output, "200:1 200:0 200:0 ");
  EXPECT_EQ(backend_.connectionsAccepted(), 1);
  EXPECT_EQ(statOf(*proxy_, "http.ingress.downstream_cx_total"), "1");
  EXPECT_EQ(statOf(*proxy_, "cluster.backend.upstream_cx_total"), "1");
}

TEST_F(HttpProxyTest, UpstreamConnectionCloseIsNotReusedAndTheClientKeepsItsConnection) {
  ASSERT_NO_FATAL_FAILURE(start());
  HttpConnection connection(port_);
  const auto closing = connection.request("GET", "/close");
  EXPECT_EQ(closing.status, 200);
  EXPECT_EQ(closing.body, "closing");
  // The upstream's "connection: close" is hop-by-hop: the client connection stays open.
  EXPECT_NE(closing.header("connection").value_or(""), "close");
  const auto next = connection.request("GET", "/echo");
  EXPECT_EQ(next.status, 200);
  EXPECT_EQ(next.header("x-backend-connection"), "2");
  EXPECT_EQ(backend_.connectionsAccepted(), 2);
  EXPECT_TRUE(statReaches(*proxy_, "cluster.backend.upstream_cx_total", "2"))
      << statOf(*proxy_, "cluster.backend.upstream_cx_total");
}

TEST_F(HttpProxyTest, IdleUpstreamConnectionClosedByTheBackendIsNotUsedAgain) {
  ASSERT_NO_FATAL_FAILURE(start());
  HttpConnection connection(port_);
  EXPECT_EQ(connection.request("GET", "/close-silently").status, 200);
  ASSERT_TRUE(waitFor([&] { return backend_.connectionsClosed() == 1; }, 10s));
  // The proxy notices the idle pooled connection went away...
  EXPECT_TRUE(statReaches(*proxy_, "cluster.backend.upstream_cx_active", "0"))
      << statOf(*proxy_, "cluster.backend.upstream_cx_active");
  // ...and the next request opens a new one instead of failing.
  const auto next = connection.request("GET", "/echo");
  EXPECT_EQ(next.status, 200);
  EXPECT_EQ(next.header("x-backend-connection"), "2");
}

TEST_F(HttpProxyTest, PipelinedRequestsAreAnsweredInOrder) {
  ASSERT_NO_FATAL_FAILURE(start());
  HttpConnection connection(port_);
  ASSERT_TRUE(connection.send(
      rawRequest("GET", "/delay/300") + rawRequest("GET", "/bytes/100") +
      rawRequest("GET", "/status/404") + rawRequest("POST", "/mirror", {}, "pipelined-body") +
      rawRequest("HEAD", "/bytes/50") + rawRequest("GET", "/chunked/1000")));
  const auto r1 = connection.read();
  const auto r2 = connection.read();
  const auto r3 = connection.read();
  const auto r4 = connection.read();
  const auto r5 = connection.read(/*head_request=*/true);
  const auto r6 = connection.read();
  EXPECT_EQ(r1.header("x-backend-target"), "/delay/300");
  EXPECT_EQ(r1.body, "delayed");
  EXPECT_EQ(r2.header("x-backend-target"), "/bytes/100");
  EXPECT_EQ(r2.body, patternBytes(100));
  EXPECT_EQ(r3.status, 404);
  EXPECT_EQ(r4.body, "pipelined-body");
  EXPECT_EQ(r5.header("x-backend-target"), "/bytes/50");
  EXPECT_EQ(r5.header("content-length"), "50");
  EXPECT_EQ(r6.header("x-backend-target"), "/chunked/1000");
  EXPECT_EQ(r6.body, patternBytes(1000));
  EXPECT_TRUE(r6.complete);
  const auto requests = backend_.requests();
  ASSERT_EQ(requests.size(), 6u);
  EXPECT_EQ(requests[3].body, "pipelined-body");
}

TEST_F(HttpProxyTest, ClientConnectionCloseIsHonoured) {
  ASSERT_NO_FATAL_FAILURE(start());
  HttpConnection connection(port_);
  const auto response = connection.request("GET", "/echo", {{"connection", "close"}});
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.header("connection"), "close");
  EXPECT_TRUE(connection.waitForClose());
  EXPECT_EQ(fetchGet(port_, "/echo").status, 200);
}

TEST_F(HttpProxyTest, NothingAfterAConnectionCloseRequestIsServed) {
  ASSERT_NO_FATAL_FAILURE(start());
  HttpConnection connection(port_);
  ASSERT_TRUE(connection.send(rawRequest("GET", "/echo?first", {{"connection", "close"}}) +
                              rawRequest("GET", "/echo?second")));
  const auto response = connection.read();
  EXPECT_EQ(response.header("x-backend-target"), "/echo?first");
  EXPECT_TRUE(connection.waitForClose());
  EXPECT_EQ(backend_.requestCount(), 1u);
}

TEST_F(HttpProxyTest, Http10ClientGetsAResponseAndTheConnectionCloses) {
  ASSERT_NO_FATAL_FAILURE(start());
  HttpConnection connection(port_);
  ASSERT_TRUE(connection.send("GET /echo HTTP/1.0\r\nhost: localhost\r\n\r\n"));
  const auto response = connection.read();
  ASSERT_TRUE(response.complete);
  EXPECT_EQ(response.status, 200);
  EXPECT_NE(response.body.find("method: GET\n"), npos);
  EXPECT_TRUE(connection.waitForClose());
  ASSERT_EQ(backend_.requestCount(), 1u);
  EXPECT_EQ(backend_.requests()[0].version, "HTTP/1.1"); // upstream speaks HTTP/1.1
}

TEST_F(HttpProxyTest, Http10ClientNeverGetsAChunkedBody) {
  ASSERT_NO_FATAL_FAILURE(start());
  HttpConnection connection(port_);
  ASSERT_TRUE(connection.send("GET /chunked/5000 HTTP/1.0\r\nhost: localhost\r\n\r\n"));
  const auto response = connection.read();
  ASSERT_TRUE(response.complete);
  EXPECT_EQ(response.status, 200);
  EXPECT_FALSE(response.chunked);
  EXPECT_EQ(response.body.size(), 5000u);
  EXPECT_TRUE(response.body == patternBytes(5000));
  EXPECT_TRUE(connection.waitForClose());
}

TEST_F(HttpProxyTest, ManyConcurrentClientsAreAllServed) {
  ASSERT_NO_FATAL_FAILURE(start());
  constexpr int kClients = 8;
  constexpr int kRequests = 25;
  std::atomic<int> good{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      HttpConnection connection(port_);
      for (int i = 0; i < kRequests; ++i) {
        const std::string target = fmt::format("/echo?client={}&i={}", c, i);
        const auto response = connection.request("GET", target);
        if (response.status == 200 && response.header("x-backend-target") == target) {
          ++good;
        }
      }
    });
  }
  for (auto& client : clients) {
    client.join();
  }
  EXPECT_EQ(good.load(), kClients * kRequests);
  EXPECT_EQ(backend_.requestCount(), static_cast<size_t>(kClients * kRequests));
}

// After a client gives up, nothing of its exchange may linger or leak into the next request.
void expectCleanAfterVanishedClient(const MeshProxy& proxy, uint16_t port) {
  EXPECT_TRUE(statReaches(proxy, "http.ingress.downstream_rq_active", "0"))
      << statOf(proxy, "http.ingress.downstream_rq_active");
  EXPECT_TRUE(statReaches(proxy, "http.ingress.downstream_cx_active", "0"))
      << statOf(proxy, "http.ingress.downstream_cx_active");
  for (int i = 0; i < 4; ++i) {
    const std::string target = fmt::format("/echo?after-vanish={}", i);
    const auto response = fetchGet(port, target);
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.header("x-backend-target"), target);
  }
}

TEST_F(HttpProxyTest, ClientClosingMidBodyIsCleanedUp) {
  ASSERT_NO_FATAL_FAILURE(start());
  {
    HttpConnection partialBody(port_);
    ASSERT_TRUE(partialBody.send("POST /mirror HTTP/1.1\r\nhost: x\r\ncontent-length: 1000\r\n\r\n"
                                 "only a little"));
    ASSERT_TRUE(waitFor([&] { return backend_.connectionsAccepted() == 1; }, 5s));
  } // the client closes here
  expectCleanAfterVanishedClient(*proxy_, port_);
}

TEST_F(HttpProxyTest, ClientClosingWhileWaitingForTheResponseIsCleanedUp) {
  ASSERT_NO_FATAL_FAILURE(start());
  {
    HttpConnection waiting(port_);
    ASSERT_TRUE(waiting.send(rawRequest("GET", "/delay/1000")));
    ASSERT_TRUE(backend_.waitForRequests(1, 5s));
  } // the client closes here
  expectCleanAfterVanishedClient(*proxy_, port_);
}

TEST_F(HttpProxyTest, HalfClosedClientConnectionIsClosedByTheProxy) {
  // A client that half-closes after its request has nothing more to send: Envoy treats the EOF
  // as the end of the connection. Whether or not the response is still delivered first, the
  // proxy must end the connection rather than wait for a next request that cannot come.
  ASSERT_NO_FATAL_FAILURE(start());
  HttpConnection connection(port_, 5s);
  ASSERT_TRUE(connection.send(rawRequest("GET", "/delay/300")));
  ASSERT_TRUE(backend_.waitForRequests(1, 5s));
  ASSERT_EQ(::shutdown(connection.fd(), SHUT_WR), 0);
  const std::string rest = readUntilClose(connection.fd()); // bounded by the receive timeout
  EXPECT_TRUE(rest.empty() || rest.starts_with("HTTP/1.1 200")) << rest;
  EXPECT_TRUE(statReaches(*proxy_, "http.ingress.downstream_cx_active", "0"))
      << statOf(*proxy_, "http.ingress.downstream_cx_active");
}

TEST_F(HttpProxyTest, ManyPipelinedRequestsAreAnsweredInOrder) {
  ASSERT_NO_FATAL_FAILURE(start());
  HttpConnection connection(port_);
  std::string batch;
  for (int i = 0; i < 100; ++i) {
    batch += rawRequest("GET", fmt::format("/echo?i={}", i), {{"x-pad", std::string(200, 'p')}});
  }
  ASSERT_TRUE(connection.send(batch));
  for (int i = 0; i < 100; ++i) {
    const auto response = connection.read();
    ASSERT_TRUE(response.complete) << i;
    EXPECT_EQ(response.header("x-backend-target"), fmt::format("/echo?i={}", i));
  }
  EXPECT_EQ(backend_.requestCount(), 100u);
}

TEST_F(HttpProxyTest, RequestArrivingByteByByteIsParsed) {
  ASSERT_NO_FATAL_FAILURE(start());
  HttpConnection connection(port_);
  const std::string request = rawRequest("POST", "/mirror", {{"x-slow", "yes"}}, "dribbled body");
  for (const char byte : request) {
    ASSERT_TRUE(connection.send(std::string(1, byte)));
  }
  const auto response = connection.read();
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "dribbled body");
  ASSERT_EQ(backend_.requestCount(), 1u);
  EXPECT_EQ(backend_.requests()[0].header("x-slow"), "yes");
}

// ---------------------------------------------------------------------------------------------
// Bodies

TEST_F(HttpProxyTest, ChunkedRequestBodyArrivesIntact) {
  ASSERT_NO_FATAL_FAILURE(start());
  HttpConnection connection(port_);
  ASSERT_TRUE(
      connection.send("POST /mirror HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n"
                      "6;note=first\r\nhello,\r\n"
                      "1\r\n \r\n"
                      "0d\r\nchunked world\r\n"
                      "0\r\n\r\n"));
  const auto response = connection.read();
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "hello, chunked world");
  ASSERT_EQ(backend_.requestCount(), 1u);
  EXPECT_EQ(backend_.requests()[0].body, "hello, chunked world");
  EXPECT_EQ(connection.request("GET", "/echo").status, 200); // framing stayed in sync
}

TEST_F(HttpProxyTest, CurlChunkedUploadArrivesIntact) {
  ASSERT_NO_FATAL_FAILURE(start());
  TempDir dir;
  const std::string payload = patternBytes(1 << 20);
  const auto file = dir.write("upload.bin", payload);
  const auto curl =
      runCurl({"-H", "Transfer-Encoding: chunked", "--data-binary", "@" + file.string(), "-o",
               "/dev/null", "-w", "%{http_code}", fmt::format("http://127.0.0.1:{}/echo", port_)});
  ASSERT_EQ(curl.exitCode, 0) << curl.errors;
  EXPECT_EQ(curl.output, "200");
  ASSERT_EQ(backend_.requestCount(), 1u);
  const auto request = backend_.requests()[0];
  EXPECT_EQ(request.body.size(), payload.size());
  EXPECT_TRUE(request.body == payload);
}

TEST_F(HttpProxyTest, LargeRequestBodyArrivesIntact) {
  ASSERT_NO_FATAL_FAILURE(start());
  const std::string payload = patternBytes(8 << 20);
  HttpConnection connection(port_, 60s);
  const auto response = connection.request("POST", "/echo", {}, payload);
  EXPECT_EQ(response.status, 200);
  EXPECT_NE(response.body.find(fmt::format("body-length: {}\n", payload.size())), npos);
  ASSERT_EQ(backend_.requestCount(), 1u);
  const auto request = backend_.requests()[0];
  EXPECT_EQ(request.body.size(), payload.size());
  EXPECT_TRUE(request.body == payload);
}

TEST_F(HttpProxyTest, LargeResponseBodiesArriveIntact) {
  ASSERT_NO_FATAL_FAILURE(start());
  HttpConnection connection(port_, 60s);
  const auto sized = connection.request("GET", "/bytes/8388608");
  ASSERT_TRUE(sized.complete);
  EXPECT_EQ(sized.body.size(), 8388608u);
  EXPECT_TRUE(sized.body == patternBytes(8388608));
  const auto chunked = connection.request("GET", "/chunked/3000000");
  ASSERT_TRUE(chunked.complete);
  EXPECT_EQ(chunked.body.size(), 3000000u);
  EXPECT_TRUE(chunked.body == patternBytes(3000000));
}

TEST_F(HttpProxyTest, CurlRoundTripsALargeBodyBothWays) {
  ASSERT_NO_FATAL_FAILURE(start());
  TempDir dir;
  const std::string payload = patternBytes(5 << 20);
  const auto upload = dir.write("up.bin", payload);
  const auto download = dir.path() / "down.bin";
  const auto curl = runCurl(
      {"--data-binary", "@" + upload.string(), "-H", "content-type: application/octet-stream", "-o",
       download.string(), "-w", "%{http_code}", fmt::format("http://127.0.0.1:{}/mirror", port_)});
  ASSERT_EQ(curl.exitCode, 0) << curl.errors;
  EXPECT_EQ(curl.output, "200");
  const std::string received = readFile(download);
  EXPECT_EQ(received.size(), payload.size());
  EXPECT_TRUE(received == payload);
}

TEST_F(HttpProxyTest, HeadResponsesHaveNoBody) {
  ASSERT_NO_FATAL_FAILURE(start());
  HttpConnection connection(port_);
  const auto sized = connection.request("HEAD", "/bytes/1000");
  EXPECT_EQ(sized.status, 200);
  EXPECT_EQ(sized.header("content-length"), "1000");
  const auto chunked = connection.request("HEAD", "/chunked/500");
  EXPECT_EQ(chunked.status, 200);
  // Had the proxy sent a body after either head, this response would be garbage.
  const auto next = connection.request("GET", "/bytes/10");
  EXPECT_EQ(next.status, 200);
  EXPECT_EQ(next.body, patternBytes(10));
  const auto requests = backend_.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].method, "HEAD");
}

TEST_F(HttpProxyTest, ExpectContinueGetsAnInterim100AndIsNotForwarded) {
  ASSERT_NO_FATAL_FAILURE(start());
  HttpConnection connection(port_);
  ASSERT_TRUE(connection.send("POST /mirror HTTP/1.1\r\nhost: x\r\nexpect: 100-continue\r\n"
                              "content-length: 11\r\n\r\n"));
  // The client holds the body back until the proxy says 100 Continue.
  ASSERT_TRUE(connection.readInterim(100));
  ASSERT_TRUE(connection.send("hello there"));
  const auto response = connection.read();
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "hello there");
  ASSERT_EQ(backend_.requestCount(), 1u);
  EXPECT_FALSE(backend_.requests()[0].has("expect"));
  EXPECT_EQ(backend_.requests()[0].body, "hello there");
}

TEST_F(HttpProxyTest, CurlExpectContinueUploadDoesNotStall) {
  ASSERT_NO_FATAL_FAILURE(start());
  TempDir dir;
  const std::string payload = patternBytes(200000);
  const auto file = dir.write("upload.bin", payload);
  const auto begin = Clock::now();
  // curl waits up to 20 s for the 100 before sending the body anyway.
  const auto curl = runCurl({"--expect100-timeout", "20", "-H", "Expect: 100-continue",
                             "--data-binary", "@" + file.string(), "-o", "/dev/null", "-w",
                             "%{http_code}", fmt::format("http://127.0.0.1:{}/echo", port_)});
  const auto elapsed = Clock::now() - begin;
  ASSERT_EQ(curl.exitCode, 0) << curl.errors;
  EXPECT_EQ(curl.output, "200");
  EXPECT_LT(elapsed, 15s);
  ASSERT_EQ(backend_.requestCount(), 1u);
  EXPECT_FALSE(backend_.requests()[0].has("expect"));
  EXPECT_TRUE(backend_.requests()[0].body == payload);
}

// ---------------------------------------------------------------------------------------------
// Malformed and oversized requests

TEST_F(HttpProxyTest, OversizedRequestHeadersGet431) {
  ASSERT_NO_FATAL_FAILURE(start("", "max_request_headers_kb: 2"));
  HttpConnection connection(port_);
  const auto response = connection.request("GET", "/echo", {{"x-big", std::string(4096, 'b')}});
  EXPECT_EQ(response.status, 431);
  EXPECT_EQ(backend_.requestCount(), 0u);
  // Small headers still pass.
  EXPECT_EQ(fetchGet(port_, "/echo", {{"x-small", std::string(512, 's')}}).status, 200);
}

TEST_F(HttpProxyTest, LargeHeaderUnderTheDefaultLimitIsForwardedIntact) {
  ASSERT_NO_FATAL_FAILURE(start()); // max_request_headers_kb defaults to 60
  const std::string big = patternBytes(40 * 1024);
  const auto response = fetchGet(port_, "/echo", {{"x-big", big}});
  EXPECT_EQ(response.status, 200);
  ASSERT_EQ(backend_.requestCount(), 1u);
  EXPECT_TRUE(backend_.requests()[0].header("x-big") == big);
}

TEST_F(HttpProxyTest, TooManyRequestHeadersGet431) {
  ASSERT_NO_FATAL_FAILURE(start("", R"(
      common_http_protocol_options:
        max_headers_count: 20
      )"));
  HeaderList many;
  for (int i = 0; i < 40; ++i) {
    many.emplace_back(fmt::format("x-h-{}", i), "v");
  }
  EXPECT_EQ(fetchGet(port_, "/echo", many).status, 431);
  EXPECT_EQ(backend_.requestCount(), 0u);
  EXPECT_EQ(fetchGet(port_, "/echo", {{"x-one", "1"}}).status, 200);
}

TEST_F(HttpProxyTest, MalformedRequestGets400AndTheConnectionCloses) {
  ASSERT_NO_FATAL_FAILURE(start());
  HttpConnection connection(port_);
  ASSERT_TRUE(connection.send("GET /echo HTTP/1.1\r\nhost: x\r\nthis is not a header\r\n\r\n"));
  const auto response = connection.read();
  EXPECT_EQ(response.status, 400);
  EXPECT_TRUE(connection.waitForClose());
  EXPECT_EQ(backend_.requestCount(), 0u);
  EXPECT_TRUE(statReaches(*proxy_, "http.ingress.downstream_cx_protocol_error", "1"))
      << statOf(*proxy_, "http.ingress.downstream_cx_protocol_error");
}

TEST_F(HttpProxyTest, ContentLengthWithChunkedIsRejected) {
  // Both framings at once is the classic request-smuggling shape; Envoy answers 400.
  ASSERT_NO_FATAL_FAILURE(start());
  HttpConnection connection(port_);
  ASSERT_TRUE(connection.send("POST /mirror HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\n"
                              "transfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"));
  const auto response = connection.read();
  EXPECT_EQ(response.status, 400);
  EXPECT_TRUE(connection.waitForClose());
  EXPECT_EQ(backend_.requestCount(), 0u);
}

} // namespace
} // namespace meshd::testing
