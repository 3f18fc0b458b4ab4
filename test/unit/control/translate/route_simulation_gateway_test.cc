// Route simulations for gateways (server hosts and namespaces, several VirtualServices for one
// host, httpsRedirect, the 404 virtual host) and proxyless gRPC clients.
#include "simulation.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace meshd::control::translate::testing {
namespace {

using ::testing::ElementsAre;

constexpr std::string_view kHttpbinService = R"(---
apiVersion: v1
kind: Service
metadata: {name: httpbin, namespace: default}
spec:
  ports: [{name: http, port: 8000}]
---
apiVersion: v1
kind: Service
metadata: {name: echo, namespace: default}
spec:
  ports: [{name: grpc, port: 7070}]
)";

std::string gateway(std::string_view hosts, std::string_view tls = "") {
  return std::string(R"(---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: httpbin-gateway, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: )") +
         std::string(hosts) + "\n" + std::string(tls);
}

std::string virtualService(std::string_view name, std::string_view ns, std::string_view hosts,
                           std::string_view prefix,
                           std::string_view gateways = "[istio-system/httpbin-gateway]") {
  return "---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: " +
         std::string(name) + ", namespace: " + std::string(ns) +
         "}\nspec:\n  hosts: " + std::string(hosts) + "\n  gateways: " + std::string(gateways) +
         "\n  http:\n  - match: [{uri: {prefix: " + std::string(prefix) +
         "}}]\n    route: [{destination: {host: httpbin.default.svc.cluster.local}}]\n";
}

Request at(std::string authority, std::string path) {
  Request request;
  request.authority = std::move(authority);
  request.port = 80;
  request.path = std::move(path);
  return request;
}

const ProxyContext kIngress = gatewayProxy({{"istio", "ingressgateway"}});
constexpr std::string_view kHttpbin = "outbound|8000||httpbin.default.svc.cluster.local";

TEST(RouteSimulationGateway, HostSpecificServerAnyClientPort) {
  Simulation sim(std::string(kHttpbinService) + gateway("[httpbin.example.com]") +
                     virtualService("httpbin", "default", "[httpbin.example.com]", "/status"),
                 kIngress);
  Outcome out = sim.send(at("httpbin.example.com:31380", "/status/200"));
  EXPECT_EQ(out.virtualHost, "httpbin.example.com:80");
  EXPECT_EQ(out.cluster, kHttpbin);
  EXPECT_TRUE(sim.send(at("httpbin.example.com", "/headers")).notFound) << "no route: 404";
  EXPECT_TRUE(sim.send(at("other.example.com", "/status/200")).notFound) << "no virtual host";
}

TEST(RouteSimulationGateway, WildcardServerNarrowedByTheVirtualServiceHost) {
  Simulation sim(std::string(kHttpbinService) + gateway("[\"*.example.com\"]") +
                     virtualService("httpbin", "default", "[httpbin.example.com]", "/"),
                 kIngress);
  EXPECT_EQ(sim.send(at("httpbin.example.com", "/")).cluster, kHttpbin);
  EXPECT_TRUE(sim.send(at("www.example.com", "/")).notFound);
}

TEST(RouteSimulationGateway, ServerHostNamespaceRestrictsVirtualServices) {
  Simulation sim(std::string(kHttpbinService) + gateway("[\"prod/*\"]") +
                     virtualService("in-prod", "prod", "[a.example.com]", "/") +
                     virtualService("in-dev", "dev", "[b.example.com]", "/"),
                 kIngress);
  EXPECT_EQ(sim.send(at("a.example.com", "/")).cluster, kHttpbin);
  EXPECT_TRUE(sim.send(at("b.example.com", "/")).notFound);
}

TEST(RouteSimulationGateway, NoVirtualServiceGives404VirtualHost) {
  Simulation sim(std::string(kHttpbinService) + gateway("[\"*\"]"), kIngress);
  Outcome out = sim.send(at("anything", "/"));
  EXPECT_EQ(out.virtualHost, "blackhole:80");
  EXPECT_EQ(out.directStatus, 404);
}

TEST(RouteSimulationGateway, SeveralVirtualServicesForAHostMergeOldestFirst) {
  Simulation sim(std::string(kHttpbinService) + gateway("[\"*\"]") +
                     virtualService("a", "default", "[shop.example.com]", "/cart") +
                     virtualService("b", "default", "[shop.example.com]", "/"),
                 kIngress);
  Outcome cart = sim.send(at("shop.example.com", "/cart"));
  EXPECT_EQ(cart.protoVirtualHost.routes_size(), 2);
  EXPECT_EQ(sim.send(at("shop.example.com", "/other")).cluster, kHttpbin);
}

TEST(RouteSimulationGateway, MeshOnlyVirtualServiceIsNotOnTheGateway) {
  Simulation sim(std::string(kHttpbinService) + gateway("[\"*\"]") +
                     virtualService("mesh-only", "default", "[httpbin]", "/", "[mesh]"),
                 kIngress);
  EXPECT_EQ(sim.send(at("httpbin", "/")).directStatus, 404);
}

TEST(RouteSimulationGateway, HttpsRedirect) {
  Simulation sim(std::string(kHttpbinService) +
                     gateway("[httpbin.example.com]", "    tls: {httpsRedirect: true}\n") +
                     virtualService("httpbin", "default", "[httpbin.example.com]", "/"),
                 kIngress);
  Outcome out = sim.send(at("httpbin.example.com", "/status/200"));
  EXPECT_EQ(out.redirectStatus, 301);
  EXPECT_EQ(out.location, "https://httpbin.example.com/status/200");
}

TEST(RouteSimulationGateway, MatchGatewaysSelectRoutesPerGateway) {
  Simulation sim(std::string(kHttpbinService) + gateway("[\"*\"]") + R"(---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: both, namespace: default}
spec:
  hosts: [httpbin.example.com]
  gateways: [istio-system/httpbin-gateway, mesh]
  http:
  - match: [{gateways: [mesh]}]
    route: [{destination: {host: httpbin, subset: mesh}}]
  - match: [{gateways: [istio-system/httpbin-gateway]}]
    route: [{destination: {host: httpbin, subset: edge}}]
)",
                 kIngress);
  EXPECT_EQ(sim.send(at("httpbin.example.com", "/")).cluster,
            "outbound|8000|edge|httpbin.default.svc.cluster.local");
}

TEST(RouteSimulationProxylessGrpc, RouteConfigurationPerGrpcServicePort) {
  Simulation sim(std::string(kHttpbinService) + R"(---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: echo, namespace: default}
spec:
  hosts: [echo]
  http: [{route: [{destination: {host: echo, subset: v1}}], timeout: 2s}]
)",
                 proxylessGrpcProxy("default"));
  EXPECT_THAT(sim.routeNames(), ElementsAre("echo.default.svc.cluster.local:7070"));
  const auto* config = sim.routeConfig("echo.default.svc.cluster.local:7070");
  ASSERT_NE(config, nullptr);
  ASSERT_EQ(config->virtual_hosts_size(), 1);
  const auto& action = config->virtual_hosts(0).routes(0).route();
  EXPECT_EQ(action.cluster(), "outbound|7070|v1|echo.default.svc.cluster.local");
  EXPECT_EQ(action.max_stream_duration().max_stream_duration().seconds(), 2);
}

} // namespace
} // namespace meshd::control::translate::testing
