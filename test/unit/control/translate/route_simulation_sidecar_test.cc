// Route simulations for sidecars: virtual hosts and domains, the catch-all under each outbound
// traffic policy, Sidecar egress scoping, default routes, determinism, and Bookinfo's documented
// traffic-management tasks (istio-features.md §3.1).
#include "simulation.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace meshd::control::translate::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

constexpr std::string_view kReviewsV1 = "outbound|9080|v1|reviews.default.svc.cluster.local";
constexpr std::string_view kReviewsV2 = "outbound|9080|v2|reviews.default.svc.cluster.local";
constexpr std::string_view kReviewsV3 = "outbound|9080|v3|reviews.default.svc.cluster.local";
constexpr std::string_view kRatingsV1 = "outbound|9080|v1|ratings.default.svc.cluster.local";

std::string extraServices() {
  return R"(---
apiVersion: v1
kind: Service
metadata: {name: backend, namespace: other}
spec:
  ports: [{name: http, port: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: mysql, namespace: default}
spec:
  ports: [{name: tcp, port: 3306}]
---
apiVersion: v1
kind: Service
metadata: {name: echo, namespace: default}
spec:
  ports: [{name: grpc, port: 7070}]
)";
}

Request to(std::string authority, uint32_t port, std::string path = "/") {
  Request request;
  request.authority = std::move(authority);
  request.port = port;
  request.path = std::move(path);
  return request;
}

Request withHeader(Request request, std::string name, std::string value) {
  request.headers.emplace_back(std::move(name), std::move(value));
  return request;
}

TEST(RouteSimulationSidecar, DefaultRouteWithoutVirtualService) {
  Simulation sim(bookinfoServices(), sidecarProxy("default"));
  Outcome out = sim.send(to("reviews:9080", 9080, "/reviews/0"));
  ASSERT_EQ(out.error, "");
  EXPECT_EQ(out.virtualHost, "reviews.default.svc.cluster.local:9080");
  EXPECT_EQ(out.routeName, "default");
  EXPECT_EQ(out.cluster, "outbound|9080||reviews.default.svc.cluster.local");
  EXPECT_EQ(out.timeout.count(), 0) << "Istio disables the route timeout";
  ASSERT_TRUE(out.retry.has_value());
  EXPECT_EQ(out.retry->numRetries, 2u);
  EXPECT_THAT(out.retry->retriableStatusCodes, ElementsAre(503u));
  EXPECT_EQ(out.proto.route().retry_policy().retry_on(),
            "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes");
}

TEST(RouteSimulationSidecar, SameNamespaceShortNamesAndVips) {
  Simulation sim(bookinfoServices(), sidecarProxy("default"));
  for (std::string authority :
       {"reviews", "reviews:9080", "reviews.default", "reviews.default:9080", "reviews.default.svc",
        "reviews.default.svc:9080", "reviews.default.svc.cluster.local", "10.0.0.3",
        "10.0.0.3:9080"}) {
    EXPECT_EQ(sim.send(to(authority, 9080)).cluster,
              "outbound|9080||reviews.default.svc.cluster.local")
        << authority;
  }
}

TEST(RouteSimulationSidecar, OtherNamespaceNeedsTheNamespace) {
  Simulation sim(bookinfoServices() + extraServices(), sidecarProxy("default"));
  EXPECT_EQ(sim.send(to("backend.other:8080", 8080)).cluster,
            "outbound|8080||backend.other.svc.cluster.local");
  EXPECT_EQ(sim.send(to("backend.other.svc", 8080)).cluster,
            "outbound|8080||backend.other.svc.cluster.local");
  EXPECT_EQ(sim.send(to("backend:8080", 8080)).cluster, "PassthroughCluster")
      << "a short name means the proxy's own namespace";
}

TEST(RouteSimulationSidecar, AllowAnyCatchAllIsPassthrough) {
  Simulation sim(bookinfoServices(), sidecarProxy("default"));
  Outcome out = sim.send(to("www.example.com", 9080));
  EXPECT_EQ(out.virtualHost, "allow_any");
  EXPECT_EQ(out.cluster, "PassthroughCluster");
  EXPECT_EQ(out.timeout.count(), 0);
}

TEST(RouteSimulationSidecar, RegistryOnlyCatchAllIs502) {
  model::MeshConfig mesh;
  mesh.outboundTrafficPolicy = model::MeshConfig::OutboundTrafficPolicy::kRegistryOnly;
  Simulation sim(bookinfoServices(), sidecarProxy("default"), mesh);
  Outcome out = sim.send(to("www.example.com", 9080));
  EXPECT_EQ(out.virtualHost, "block_all");
  EXPECT_EQ(out.directStatus, 502);
}

TEST(RouteSimulationSidecar, SidecarOutboundPolicyOverridesMesh) {
  Simulation sim(bookinfoServices() + R"(---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: default}
spec:
  egress: [{hosts: ["*/*"]}]
  outboundTrafficPolicy: {mode: REGISTRY_ONLY}
)",
                 sidecarProxy("default"));
  EXPECT_EQ(sim.send(to("www.example.com", 9080)).directStatus, 502);
}

TEST(RouteSimulationSidecar, SidecarEgressHostsScopeServices) {
  Simulation sim(bookinfoServices() + extraServices() + R"(---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: default}
spec:
  egress: [{hosts: ["./*", "istio-system/*"]}]
)",
                 sidecarProxy("default"));
  EXPECT_EQ(sim.send(to("reviews", 9080)).cluster,
            "outbound|9080||reviews.default.svc.cluster.local");
  EXPECT_EQ(sim.routeConfig("8080"), nullptr) << "backend.other is outside the egress hosts";
}

TEST(RouteSimulationSidecar, OneRouteConfigurationPerHttpPortSorted) {
  Simulation sim(bookinfoServices() + extraServices(), sidecarProxy("default"));
  EXPECT_THAT(sim.routeNames(), ElementsAre("7070", "8080", "9080")) << "3306 is TCP";
  for (const auto& config : sim.routes()) {
    EXPECT_TRUE(meshProxyAccepts(config).ok()) << meshProxyAccepts(config);
  }
}

TEST(RouteSimulationSidecar, DeterministicOutput) {
  const std::string yaml = bookinfoServices() + extraServices() +
                           bookinfoSample("virtual-service-all-v1.yaml") +
                           bookinfoSample("destination-rule-all.yaml");
  Simulation a(yaml, sidecarProxy("default"));
  Simulation b(yaml, sidecarProxy("default"));
  ASSERT_EQ(a.routes().size(), b.routes().size());
  for (size_t i = 0; i < a.routes().size(); ++i) {
    std::string left;
    std::string right;
    ASSERT_TRUE(a.routes()[i].SerializeToString(&left));
    ASSERT_TRUE(b.routes()[i].SerializeToString(&right));
    EXPECT_EQ(left, right);
  }
}

// --- Bookinfo (istio-features.md §3.0/§3.1) -------------------------------------------------

std::string bookinfoWith(std::initializer_list<std::string_view> samples) {
  std::string yaml = bookinfoServices() + bookinfoSample("destination-rule-all.yaml");
  for (std::string_view sample : samples) {
    yaml += bookinfoSample(sample);
  }
  return yaml;
}

TEST(RouteSimulationBookinfo, VirtualServiceAllV1) {
  Simulation sim(bookinfoWith({"virtual-service-all-v1.yaml"}), sidecarProxy("default"));
  for (std::string app : {"productpage", "reviews", "ratings", "details"}) {
    Outcome out = sim.send(to(app + ":9080", 9080));
    ASSERT_EQ(out.error, "");
    EXPECT_EQ(out.cluster, "outbound|9080|v1|" + app + ".default.svc.cluster.local");
    EXPECT_EQ(out.timeout.count(), 0);
    EXPECT_TRUE(out.retry.has_value()) << "Istio's default retry policy";
  }
}

TEST(RouteSimulationBookinfo, ReviewsV2ForJason) {
  Simulation sim(bookinfoWith({"virtual-service-reviews-test-v2.yaml"}), sidecarProxy("default"));
  EXPECT_EQ(sim.send(withHeader(to("reviews:9080", 9080), "end-user", "jason")).cluster,
            kReviewsV2);
  EXPECT_EQ(sim.send(withHeader(to("reviews:9080", 9080), "end-user", "alice")).cluster,
            kReviewsV1);
  EXPECT_EQ(sim.send(to("reviews:9080", 9080)).cluster, kReviewsV1);
}

TEST(RouteSimulationBookinfo, ReviewsFiftyFiftyV1V3) {
  Simulation sim(bookinfoServices() + bookinfoSample("destination-rule-all.yaml") + R"(---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews]
  http:
  - route:
    - {destination: {host: reviews, subset: v1}, weight: 50}
    - {destination: {host: reviews, subset: v3}, weight: 50}
)",
                 sidecarProxy("default"));
  Outcome out = sim.send(to("reviews:9080", 9080));
  EXPECT_THAT(out.weightedClusters,
              ElementsAre(Pair(std::string(kReviewsV1), 50u), Pair(std::string(kReviewsV3), 50u)));
}

TEST(RouteSimulationBookinfo, ReviewsV2V3Sample) {
  Simulation sim(bookinfoWith({"virtual-service-reviews-v2-v3.yaml"}), sidecarProxy("default"));
  EXPECT_THAT(sim.send(to("reviews", 9080)).weightedClusters,
              ElementsAre(Pair(std::string(kReviewsV2), 50u), Pair(std::string(kReviewsV3), 50u)));
}

TEST(RouteSimulationBookinfo, RatingsDelaySevenSecondsForJason) {
  Simulation sim(bookinfoWith({"virtual-service-ratings-test-delay.yaml"}),
                 sidecarProxy("default", {{"app", "reviews"}, {"version", "v2"}}));
  Outcome jason = sim.send(withHeader(to("ratings:9080", 9080), "end-user", "jason"));
  ASSERT_EQ(jason.error, "");
  EXPECT_EQ(jason.cluster, kRatingsV1);
  ASSERT_TRUE(jason.faultDelay.has_value());
  EXPECT_EQ(jason.faultDelay->count(), 7000);
  EXPECT_EQ(jason.faultDelayPerMillion, 1000000u);
  Outcome other = sim.send(to("ratings:9080", 9080));
  EXPECT_EQ(other.cluster, kRatingsV1);
  EXPECT_FALSE(other.faultDelay.has_value());
}

TEST(RouteSimulationBookinfo, RatingsAbort500ForJason) {
  Simulation sim(bookinfoWith({"virtual-service-ratings-test-abort.yaml"}),
                 sidecarProxy("default"));
  Outcome jason = sim.send(withHeader(to("ratings:9080", 9080), "end-user", "jason"));
  EXPECT_EQ(jason.faultAbortHttp, 500u);
  EXPECT_EQ(jason.faultAbortPerMillion, 1000000u);
  EXPECT_FALSE(sim.send(to("ratings:9080", 9080)).faultAbortHttp.has_value());
}

TEST(RouteSimulationBookinfo, ReviewsTimeoutHalfSecond) {
  Simulation sim(bookinfoServices() + bookinfoSample("destination-rule-all.yaml") + R"(---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews]
  http:
  - route: [{destination: {host: reviews, subset: v2}}]
    timeout: 0.5s
)",
                 sidecarProxy("default"));
  Outcome out = sim.send(to("reviews:9080", 9080));
  EXPECT_EQ(out.cluster, kReviewsV2);
  EXPECT_EQ(out.timeout.count(), 500);
}

TEST(RouteSimulationBookinfo, GatewayRoutesProductpagePaths) {
  Simulation sim(bookinfoServices() + bookinfoSample("bookinfo-gateway.yaml"),
                 gatewayProxy({{"istio", "ingressgateway"}}));
  ASSERT_THAT(sim.routeNames(), ElementsAre("http.8080"));
  const std::string productpage = "outbound|9080||productpage.default.svc.cluster.local";
  for (std::string path : {"/productpage", "/login", "/logout", "/api/v1/products",
                           "/api/v1/products/0/reviews", "/static/bootstrap.css"}) {
    Outcome out = sim.send(to("192.168.1.10:31380", 8080, path));
    ASSERT_EQ(out.error, "");
    EXPECT_EQ(out.cluster, productpage) << path;
  }
  EXPECT_TRUE(sim.send(to("192.168.1.10", 8080, "/productpage/x")).notFound);
  EXPECT_TRUE(sim.send(to("bookinfo.example.com", 8080, "/health")).notFound);
}

} // namespace
} // namespace meshd::control::translate::testing

namespace meshd::control::translate::testing {
namespace {

// Local mode: the explicit-proxy listener's one RouteConfiguration answers for every service
// port, with the same routes as the per-port configurations.
TEST(RouteSimulationExplicitProxy, OneConfigForEveryPortWithTheSameRoutes) {
  ProxyContext proxy = sidecarProxy("default");
  proxy.explicitProxyPort = 15080;
  Simulation sim(bookinfoWith({"virtual-service-reviews-test-v2.yaml"}) + extraServices(), proxy);
  ASSERT_NE(sim.routeConfig("explicit_proxy"), nullptr);
  Request reviews = withHeader(to("reviews:9080", 0), "end-user", "jason");
  reviews.routeConfig = "explicit_proxy";
  EXPECT_EQ(sim.send(reviews).cluster, kReviewsV2);
  reviews.headers.clear();
  EXPECT_EQ(sim.send(reviews).cluster, kReviewsV1);
  Request other = to("backend.other:8080", 0);
  other.routeConfig = "explicit_proxy";
  EXPECT_EQ(sim.send(other).cluster, "outbound|8080||backend.other.svc.cluster.local");
  Request unknown = to("example.com", 0);
  unknown.routeConfig = "explicit_proxy";
  EXPECT_EQ(sim.send(unknown).cluster, "PassthroughCluster");

  Simulation without(bookinfoServices(), sidecarProxy("default"));
  EXPECT_EQ(without.routeConfig("explicit_proxy"), nullptr) << "only with an explicit-proxy port";
}

} // namespace
} // namespace meshd::control::translate::testing
