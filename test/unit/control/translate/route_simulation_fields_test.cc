// Route simulations, one VirtualService field at a time: every HTTP match field, destinations and
// weights, redirects, direct responses, rewrites, timeouts, retries, faults, mirrors, CORS,
// header operations, delegation, DestinationRule consistent hashing and VirtualService host
// selection. Fields mesh-proxy lacks are checked on the generated proto and shown to be refused by
// mesh-proxy.
#include "envoy/extensions/filters/http/cors/v3/cors.pb.h"
#include "proxy/filters/http/cors/cors_policy.h"
#include "simulation.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace meshd::control::translate::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

constexpr std::string_view kHttpbin = "outbound|8000||httpbin.default.svc.cluster.local";
constexpr std::string_view kHttpbinV1 = "outbound|8000|v1|httpbin.default.svc.cluster.local";
constexpr std::string_view kHttpbinV2 = "outbound|8000|v2|httpbin.default.svc.cluster.local";
constexpr std::string_view kAdmin = "outbound|9000||httpbin.default.svc.cluster.local";

constexpr std::string_view kServices = R"(---
apiVersion: v1
kind: Service
metadata: {name: httpbin, namespace: default}
spec:
  ports: [{name: http, port: 8000}, {name: http-admin, port: 9000}]
---
apiVersion: v1
kind: Service
metadata: {name: single, namespace: default}
spec:
  ports: [{name: http, port: 8000}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: httpbin, namespace: default}
spec:
  host: httpbin
  subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]
)";

// A VirtualService for httpbin whose `http:` list is `http` (indented by two spaces).
Simulation simulate(std::string_view http, ProxyContext proxy = sidecarProxy("default"),
                    std::string_view extra = "") {
  return Simulation(std::string(kServices) + std::string(extra) + R"(---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: httpbin, namespace: default}
spec:
  hosts: [httpbin]
  http:
)" + std::string(http),
                    std::move(proxy));
}

Request req(std::string path = "/", std::string method = "GET") {
  Request request;
  request.authority = "httpbin:8000";
  request.port = 8000;
  request.path = std::move(path);
  request.method = std::move(method);
  return request;
}

Request header(Request request, std::string name, std::string value) {
  request.headers.emplace_back(std::move(name), std::move(value));
  return request;
}

// --- matches --------------------------------------------------------------------------------

constexpr std::string_view kToV2Else = R"(    route: [{destination: {host: httpbin, subset: v2}}]
  - route: [{destination: {host: httpbin, subset: v1}}]
)";

Simulation matchToV2(std::string_view match, ProxyContext proxy = sidecarProxy("default")) {
  return simulate("  - match:\n" + std::string(match) + std::string(kToV2Else), std::move(proxy));
}

TEST(RouteSimulationMatch, UriExact) {
  auto sim = matchToV2("    - uri: {exact: /status}\n");
  EXPECT_EQ(sim.send(req("/status")).cluster, kHttpbinV2);
  EXPECT_EQ(sim.send(req("/status?x=1")).cluster, kHttpbinV2);
  EXPECT_EQ(sim.send(req("/status/200")).cluster, kHttpbinV1);
}

TEST(RouteSimulationMatch, UriPrefix) {
  auto sim = matchToV2("    - uri: {prefix: /status}\n");
  EXPECT_EQ(sim.send(req("/status/200")).cluster, kHttpbinV2);
  EXPECT_EQ(sim.send(req("/headers")).cluster, kHttpbinV1);
}

TEST(RouteSimulationMatch, UriRegexIsSafeRegex) {
  auto sim = matchToV2("    - uri: {regex: \"/status/[0-9]+\"}\n");
  EXPECT_EQ(sim.send(req("/status/418")).cluster, kHttpbinV2);
  EXPECT_EQ(sim.send(req("/status/teapot")).cluster, kHttpbinV1);
  EXPECT_EQ(sim.send(req("/status/418")).proto.match().safe_regex().regex(), "/status/[0-9]+");
}

TEST(RouteSimulationMatch, IgnoreUriCase) {
  auto sim = matchToV2("    - uri: {prefix: /Status}\n      ignoreUriCase: true\n");
  EXPECT_EQ(sim.send(req("/status/1")).cluster, kHttpbinV2);
  EXPECT_FALSE(sim.send(req("/status/1")).proto.match().case_sensitive().value());
}

TEST(RouteSimulationMatch, Method) {
  auto sim = matchToV2("    - method: {exact: POST}\n");
  EXPECT_EQ(sim.send(req("/post", "POST")).cluster, kHttpbinV2);
  EXPECT_EQ(sim.send(req("/post", "GET")).cluster, kHttpbinV1);
}

TEST(RouteSimulationMatch, Scheme) {
  auto sim = matchToV2("    - scheme: {exact: https}\n");
  Request https = req();
  https.scheme = "https";
  EXPECT_EQ(sim.send(https).cluster, kHttpbinV2);
  EXPECT_EQ(sim.send(req()).cluster, kHttpbinV1);
}

TEST(RouteSimulationMatch, AuthorityPrefix) {
  auto sim = matchToV2("    - authority: {prefix: httpbin.default}\n");
  Request full = req();
  full.authority = "httpbin.default.svc.cluster.local:8000";
  EXPECT_EQ(sim.send(full).cluster, kHttpbinV2);
  EXPECT_EQ(sim.send(req()).cluster, kHttpbinV1);
}

TEST(RouteSimulationMatch, HeaderExactPrefixRegex) {
  auto sim = matchToV2(R"(    - headers:
        x-exact: {exact: a}
        x-prefix: {prefix: pre}
        x-regex: {regex: "v[0-9]"}
)");
  Request all =
      header(header(header(req(), "x-exact", "a"), "x-prefix", "prefix"), "x-regex", "v7");
  EXPECT_EQ(sim.send(all).cluster, kHttpbinV2);
  EXPECT_EQ(
      sim.send(header(header(header(req(), "x-exact", "b"), "x-prefix", "prefix"), "x-regex", "v7"))
          .cluster,
      kHttpbinV1);
  EXPECT_EQ(sim.send(header(header(req(), "x-exact", "a"), "x-prefix", "prefix")).cluster,
            kHttpbinV1);
}

TEST(RouteSimulationMatch, HeaderPresence) {
  auto sim = matchToV2("    - headers: {x-canary: {}}\n");
  EXPECT_EQ(sim.send(header(req(), "x-canary", "anything")).cluster, kHttpbinV2);
  EXPECT_EQ(sim.send(req()).cluster, kHttpbinV1);
  EXPECT_TRUE(sim.send(req()).proto.match().headers().empty()) << "the catch-all route";
}

TEST(RouteSimulationMatch, WithoutHeadersInvertsTheMatch) {
  auto sim = matchToV2("    - withoutHeaders: {end-user: {exact: jason}}\n");
  Outcome alice = sim.send(header(req(), "end-user", "alice"));
  EXPECT_EQ(alice.cluster, kHttpbinV2);
  EXPECT_EQ(sim.send(header(req(), "end-user", "jason")).cluster, kHttpbinV1);
  // No end-user at all is "not jason" too: treat_missing_header_as_empty makes it so.
  EXPECT_EQ(sim.send(req()).cluster, kHttpbinV2);
  ASSERT_EQ(alice.proto.match().headers_size(), 1);
  EXPECT_TRUE(alice.proto.match().headers(0).invert_match());
  EXPECT_TRUE(alice.proto.match().headers(0).treat_missing_header_as_empty());
}

TEST(RouteSimulationMatch, QueryParams) {
  auto sim = matchToV2(R"(    - queryParams:
        debug: {exact: "1"}
        token: {regex: "[a-z]+"}
)");
  EXPECT_EQ(sim.send(req("/get?debug=1&token=abc")).cluster, kHttpbinV2);
  EXPECT_EQ(sim.send(req("/get?debug=1&token=123")).cluster, kHttpbinV1);
  EXPECT_EQ(sim.send(req("/get?token=abc")).cluster, kHttpbinV1);
}

TEST(RouteSimulationMatch, PortOnlyOnThatPortsRouteConfiguration) {
  auto sim = matchToV2("    - port: 9000\n");
  Request admin = req();
  admin.authority = "httpbin:9000";
  admin.port = 9000;
  EXPECT_EQ(sim.send(admin).cluster, "outbound|9000|v2|httpbin.default.svc.cluster.local")
      << "a two-port service: the destination port is the route configuration's";
  EXPECT_EQ(sim.send(req()).cluster, kHttpbinV1);
}

TEST(RouteSimulationMatch, SourceLabelsEvaluatedForTheProxy) {
  const std::string match = "    - sourceLabels: {app: productpage}\n";
  EXPECT_EQ(matchToV2(match, sidecarProxy("default", {{"app", "productpage"}, {"v", "1"}}))
                .send(req())
                .cluster,
            kHttpbinV2);
  EXPECT_EQ(matchToV2(match, sidecarProxy("default", {{"app", "reviews"}})).send(req()).cluster,
            kHttpbinV1);
}

TEST(RouteSimulationMatch, SourceNamespaceEvaluatedForTheProxy) {
  const std::string match = "    - sourceNamespace: frontend\n";
  Request request = req();
  request.authority = "httpbin.default:8000";
  EXPECT_EQ(matchToV2(match, sidecarProxy("frontend")).send(request).cluster, kHttpbinV2);
  EXPECT_EQ(matchToV2(match, sidecarProxy("default")).send(request).cluster, kHttpbinV1);
}

TEST(RouteSimulationMatch, GatewaysInMatch) {
  EXPECT_EQ(matchToV2("    - gateways: [mesh]\n").send(req()).cluster, kHttpbinV2);
  EXPECT_EQ(matchToV2("    - gateways: [some-gateway]\n").send(req()).cluster, kHttpbinV1);
}

TEST(RouteSimulationMatch, SeveralMatchesSeveralRoutesOneAction) {
  auto sim = simulate(R"(  - name: api
    match:
    - {name: status, uri: {prefix: /status}}
    - uri: {prefix: /delay}
    route: [{destination: {host: httpbin, subset: v2}}]
)");
  Outcome status = sim.send(req("/status/1"));
  EXPECT_EQ(status.cluster, kHttpbinV2);
  EXPECT_EQ(status.routeName, "api.status");
  Outcome delay = sim.send(req("/delay/1"));
  EXPECT_EQ(delay.cluster, kHttpbinV2);
  EXPECT_EQ(delay.routeName, "api");
  EXPECT_TRUE(sim.send(req("/get")).notFound) << "no catch-all: 404";
}

TEST(RouteSimulationMatch, RoutesAfterACatchAllAreDropped) {
  auto sim = simulate(R"(  - match: [{uri: {prefix: /}}]
    route: [{destination: {host: httpbin, subset: v1}}]
  - match: [{uri: {prefix: /never}}]
    route: [{destination: {host: httpbin, subset: v2}}]
)");
  Outcome out = sim.send(req("/never"));
  EXPECT_EQ(out.cluster, kHttpbinV1);
  EXPECT_EQ(out.protoVirtualHost.routes_size(), 1);
}

// --- destinations -----------------------------------------------------------------------------

TEST(RouteSimulationDestination, PortDefaultsToTheOnlyPortOrTheListener) {
  auto sim = simulate(R"(  - match: [{uri: {prefix: /single}}]
    route: [{destination: {host: single}}]
  - route: [{destination: {host: httpbin}}]
)");
  EXPECT_EQ(sim.send(req("/single")).cluster, "outbound|8000||single.default.svc.cluster.local");
  EXPECT_EQ(sim.send(req("/")).cluster, kHttpbin);
  Request admin = req("/");
  admin.authority = "httpbin:9000";
  admin.port = 9000;
  EXPECT_EQ(sim.send(admin).cluster, kAdmin) << "two ports: the route configuration's";
}

TEST(RouteSimulationDestination, ExplicitPortAndSubset) {
  auto sim =
      simulate("  - route: [{destination: {host: httpbin, subset: v2, port: {number: 9000}}}]\n");
  EXPECT_EQ(sim.send(req()).cluster, "outbound|9000|v2|httpbin.default.svc.cluster.local");
}

TEST(RouteSimulationDestination, ZeroWeightDestinationsAreDropped) {
  auto sim = simulate(R"(  - route:
    - {destination: {host: httpbin, subset: v1}, weight: 100}
    - {destination: {host: httpbin, subset: v2}, weight: 0}
)");
  EXPECT_THAT(sim.send(req()).weightedClusters, ElementsAre(Pair(std::string(kHttpbinV1), 100u)));
}

TEST(RouteSimulationDestination, PerDestinationHeaders) {
  auto sim = simulate(R"(  - route:
    - destination: {host: httpbin, subset: v1}
      weight: 90
      headers: {request: {set: {x-version: v1}}, response: {remove: [x-internal]}}
    - {destination: {host: httpbin, subset: v2}, weight: 10}
)");
  Outcome out = sim.send(req());
  EXPECT_THAT(out.weightedClusters,
              ElementsAre(Pair(std::string(kHttpbinV1), 90u), Pair(std::string(kHttpbinV2), 10u)));
  const auto& first = out.proto.route().weighted_clusters().clusters(0);
  ASSERT_EQ(first.request_headers_to_add_size(), 1);
  EXPECT_EQ(first.request_headers_to_add(0).header().key(), "x-version");
  EXPECT_THAT(first.response_headers_to_remove(), ElementsAre("x-internal"));
}

// --- redirect, direct response, rewrite ---------------------------------------------------------

TEST(RouteSimulationAction, RedirectUriAndAuthority) {
  auto sim = simulate("  - redirect: {uri: /v2/get, authority: new.example.com}\n");
  Outcome out = sim.send(req("/get"));
  EXPECT_EQ(out.redirectStatus, 301);
  EXPECT_EQ(out.location, "http://new.example.com/v2/get");
}

TEST(RouteSimulationAction, RedirectSchemePortAndCode) {
  auto sim = simulate("  - redirect: {scheme: https, port: 8443, redirectCode: 302}\n");
  Outcome out = sim.send(req("/get"));
  EXPECT_EQ(out.redirectStatus, 302);
  EXPECT_EQ(out.location, "https://httpbin:8443/get");
}

TEST(RouteSimulationAction, RedirectDerivePortFromRequest) {
  auto sim = simulate("  - redirect: {authority: other.example.com, derivePort: FROM_REQUEST_PORT, "
                      "redirectCode: 307}\n");
  Outcome out = sim.send(req("/x"));
  EXPECT_EQ(out.redirectStatus, 307);
  EXPECT_EQ(out.proto.redirect().port_redirect(), 8000u);
  EXPECT_THAT(out.location, HasSubstr("other.example.com:8000/x"));
}

TEST(RouteSimulationAction, DirectResponse) {
  auto sim = simulate("  - directResponse: {status: 418, body: {string: \"I'm a teapot\"}}\n");
  Outcome out = sim.send(req("/status/418"));
  EXPECT_EQ(out.directStatus, 418);
  EXPECT_EQ(out.body, "I'm a teapot");
}

TEST(RouteSimulationAction, RewritePrefixAndAuthority) {
  auto sim = simulate(R"(  - match: [{uri: {prefix: /api}}]
    rewrite: {uri: /v1, authority: internal.example.com}
    route: [{destination: {host: httpbin}}]
)");
  Outcome out = sim.send(req("/api/get"));
  EXPECT_EQ(out.prefixRewrite, "/v1");
  EXPECT_EQ(out.hostRewrite, "internal.example.com");
}

TEST(RouteSimulationAction, RewriteExactPathIsAPrefixRewriteOfTheWholePath) {
  auto sim = simulate(R"(  - match: [{uri: {exact: /old}}]
    rewrite: {uri: /new}
    route: [{destination: {host: httpbin}}]
)");
  Outcome out = sim.send(req("/old"));
  EXPECT_EQ(out.proto.match().path(), "/old");
  EXPECT_EQ(out.prefixRewrite, "/new");
}

TEST(RouteSimulationAction, UriRegexRewrite) {
  auto sim = simulate(R"yaml(  - match: [{uri: {prefix: /z2m}}]
    rewrite: {uriRegexRewrite: {match: "^/z2m(/|$)(.*)", rewrite: "/\\2"}}
    route: [{destination: {host: httpbin}}]
)yaml");
  Outcome out = sim.send(req("/z2m/x"));
  EXPECT_EQ(out.regexRewrite, "/\\2");
  EXPECT_EQ(out.proto.route().regex_rewrite().pattern().regex(), "^/z2m(/|$)(.*)");
}

// --- timeouts and retries -------------------------------------------------------------------

TEST(RouteSimulationPolicy, TimeoutZeroDisablesAndExplicitTimeout) {
  EXPECT_EQ(simulate("  - route: [{destination: {host: httpbin}}]\n    timeout: 0s\n")
                .send(req())
                .timeout.count(),
            0);
  EXPECT_EQ(simulate("  - route: [{destination: {host: httpbin}}]\n    timeout: 3s\n")
                .send(req())
                .timeout.count(),
            3000);
}

TEST(RouteSimulationPolicy, RetriesAttemptsPerTryTimeoutAndRetryOn) {
  auto sim = simulate(R"(  - route: [{destination: {host: httpbin}}]
    retries: {attempts: 3, perTryTimeout: 2s, retryOn: "gateway-error,connect-failure,409"}
)");
  Outcome out = sim.send(req());
  ASSERT_TRUE(out.retry.has_value());
  EXPECT_EQ(out.retry->numRetries, 3u);
  EXPECT_EQ(out.retry->perTryTimeout.count(), 2000);
  EXPECT_THAT(out.retry->retriableStatusCodes, ElementsAre(409u));
  EXPECT_EQ(out.proto.route().retry_policy().retry_on(),
            "gateway-error,connect-failure,retriable-status-codes");
}

TEST(RouteSimulationPolicy, RetriesStatusCodesOnlyAndBackoff) {
  auto sim = simulate(R"(  - route: [{destination: {host: httpbin}}]
    retries: {attempts: 1, retryOn: "503", backoff: 100ms}
)");
  Outcome out = sim.send(req());
  EXPECT_EQ(out.proto.route().retry_policy().retry_on(), "retriable-status-codes");
  EXPECT_EQ(out.retry->backoffBase.count(), 100);
}

TEST(RouteSimulationPolicy, RetriesAvoidPreviousHostsUnlessIgnoreIsFalse) {
  // Istio's default policy and a converted one both carry previous_hosts; mesh-proxy honours it.
  for (const char* retries : {"", "    retries: {attempts: 2}\n"}) {
    auto sim = simulate(std::string("  - route: [{destination: {host: httpbin}}]\n") + retries);
    Outcome out = sim.send(req());
    ASSERT_TRUE(out.retry.has_value()) << retries;
    EXPECT_TRUE(out.retry->avoidPreviousHosts) << retries;
    EXPECT_EQ(out.retry->hostSelectionMaxAttempts, 5u) << retries;
    EXPECT_EQ(out.proto.route().retry_policy().retry_host_predicate(0).name(),
              "envoy.retry_host_predicates.previous_hosts");
  }
  auto sim = simulate(R"(  - route: [{destination: {host: httpbin}}]
    retries: {attempts: 2, retryIgnorePreviousHosts: false}
)");
  Outcome out = sim.send(req());
  EXPECT_FALSE(out.retry->avoidPreviousHosts);
  EXPECT_EQ(out.proto.route().retry_policy().retry_host_predicate_size(), 0);
}

TEST(RouteSimulationPolicy, RetriesAttemptsZeroDisables) {
  auto sim = simulate("  - route: [{destination: {host: httpbin}}]\n    retries: {attempts: 0}\n");
  EXPECT_FALSE(sim.send(req()).retry.has_value());
}

// --- faults -----------------------------------------------------------------------------------

TEST(RouteSimulationFault, DelayWithPercentage) {
  auto sim = simulate(R"(  - route: [{destination: {host: httpbin}}]
    fault: {delay: {fixedDelay: 2s, percentage: {value: 12.5}}}
)");
  Outcome out = sim.send(req());
  EXPECT_EQ(out.faultDelay->count(), 2000);
  EXPECT_EQ(out.faultDelayPerMillion, 125000u);
}

TEST(RouteSimulationFault, DelayWithoutPercentageDelaysNothingAsIstio) {
  auto sim = simulate(
      "  - route: [{destination: {host: httpbin}}]\n    fault: {delay: {fixedDelay: 1s}}\n");
  EXPECT_EQ(sim.send(req()).faultDelayPerMillion, 0u);
}

TEST(RouteSimulationFault, AbortWithoutPercentageAbortsNothingAsIstio) {
  auto sim = simulate(
      "  - route: [{destination: {host: httpbin}}]\n    fault: {abort: {httpStatus: 503}}\n");
  Outcome out = sim.send(req());
  EXPECT_EQ(out.faultAbortHttp, 503u);
  EXPECT_EQ(out.faultAbortPerMillion, 0u);
  EXPECT_FALSE(out.proto.typed_per_filter_config().empty());
}

TEST(RouteSimulationFault, AbortGrpcStatus) {
  auto sim = simulate(R"(  - route: [{destination: {host: httpbin}}]
    fault: {abort: {grpcStatus: UNAVAILABLE, percentage: {value: 50}}}
)");
  Outcome out = sim.send(req());
  EXPECT_EQ(out.faultAbortGrpc, 14u);
  EXPECT_EQ(out.faultAbortPerMillion, 500000u);
}

// --- mirrors, CORS, headers ---------------------------------------------------------------

TEST(RouteSimulationFields, MirrorWithPercentage) {
  auto sim = simulate(R"(  - route: [{destination: {host: httpbin, subset: v1}}]
    mirror: {host: httpbin, subset: v2}
    mirrorPercentage: {value: 25}
)");
  Outcome out = sim.send(req());
  EXPECT_EQ(out.unsupported, "") << "mesh-proxy mirrors requests";
  EXPECT_EQ(out.cluster, kHttpbinV1);
  ASSERT_EQ(out.proto.route().request_mirror_policies_size(), 1);
  const auto& mirror = out.proto.route().request_mirror_policies(0);
  EXPECT_EQ(mirror.cluster(), kHttpbinV2);
  EXPECT_EQ(mirror.runtime_fraction().default_value().numerator(), 250000u);
  EXPECT_FALSE(mirror.trace_sampled().value());
}

TEST(RouteSimulationFields, MirrorsListAndZeroPercent) {
  auto sim = simulate(R"(  - route: [{destination: {host: httpbin, subset: v1}}]
    mirrors:
    - {destination: {host: httpbin, subset: v2}}
    - {destination: {host: single}, percentage: {value: 0}}
)");
  Outcome out = sim.send(req());
  ASSERT_EQ(out.proto.route().request_mirror_policies_size(), 1) << "0% mirrors nothing";
  EXPECT_EQ(
      out.proto.route().request_mirror_policies(0).runtime_fraction().default_value().numerator(),
      100u);
}

TEST(RouteSimulationFields, CorsPolicyPerRouteFilterConfig) {
  auto sim = simulate(R"(  - route: [{destination: {host: httpbin}}]
    corsPolicy:
      allowOrigins: [{exact: "https://example.com"}, {regex: "https://.*\\.example\\.org"}]
      allowMethods: [GET, POST]
      allowHeaders: [x-custom]
      exposeHeaders: [x-trace]
      maxAge: 24h
      allowCredentials: true
)");
  Outcome out = sim.send(req());
  ASSERT_EQ(out.error, "");
  // mesh-proxy's CORS filter takes the policy: the origins Istio allows, and no other.
  ASSERT_TRUE(out.cors);
  EXPECT_TRUE(proxy::filters::corsOriginAllowed(*out.cors, "https://example.com"));
  EXPECT_TRUE(proxy::filters::corsOriginAllowed(*out.cors, "https://shop.example.org"));
  EXPECT_FALSE(proxy::filters::corsOriginAllowed(*out.cors, "https://example.com.evil"));
  EXPECT_EQ(out.cors->allowMethods, "GET,POST");
  envoy::extensions::filters::http::cors::v3::CorsPolicy cors;
  ASSERT_TRUE(out.proto.typed_per_filter_config().at("envoy.filters.http.cors").UnpackTo(&cors));
  EXPECT_EQ(cors.allow_origin_string_match_size(), 2);
  EXPECT_EQ(cors.allow_methods(), "GET,POST");
  EXPECT_EQ(cors.allow_headers(), "x-custom");
  EXPECT_EQ(cors.expose_headers(), "x-trace");
  EXPECT_EQ(cors.max_age(), "86400");
  EXPECT_TRUE(cors.allow_credentials().value());
  EXPECT_TRUE(cors.forward_not_matching_preflights().value());
}

TEST(RouteSimulationHeaders, RouteLevelOperations) {
  auto sim = simulate(R"(  - route: [{destination: {host: httpbin}}]
    headers:
      request: {set: {x-b: "1", x-a: "2"}, add: {x-c: "3"}, remove: [x-d, host]}
      response: {set: {x-e: "4"}, remove: [server]}
)");
  Outcome out = sim.send(req());
  ASSERT_EQ(out.error, "");
  const auto& r = out.proto;
  ASSERT_EQ(r.request_headers_to_add_size(), 3);
  EXPECT_EQ(r.request_headers_to_add(0).header().key(), "x-a");
  EXPECT_EQ(r.request_headers_to_add(0).append_action(),
            envoy::config::core::v3::HeaderValueOption::OVERWRITE_IF_EXISTS_OR_ADD);
  EXPECT_EQ(r.request_headers_to_add(2).header().key(), "x-c");
  EXPECT_EQ(r.request_headers_to_add(2).append_action(),
            envoy::config::core::v3::HeaderValueOption::APPEND_IF_EXISTS_OR_ADD);
  EXPECT_THAT(r.request_headers_to_remove(), ElementsAre("x-d")) << "Host cannot be removed";
  EXPECT_THAT(r.response_headers_to_remove(), ElementsAre("server"));
}

TEST(RouteSimulationHeaders, SettingHostIsAnAuthorityRewrite) {
  auto sim = simulate(R"(  - route: [{destination: {host: httpbin}}]
    headers: {request: {set: {Host: backend.example.com}}}
)");
  Outcome out = sim.send(req());
  EXPECT_EQ(out.hostRewrite, "backend.example.com");
  EXPECT_EQ(out.proto.request_headers_to_add_size(), 0);
}

// --- delegation -------------------------------------------------------------------------------

TEST(RouteSimulationDelegate, DelegateRoutesMergedUnderTheRootMatch) {
  auto sim = simulate(R"(  - match: [{uri: {prefix: /api}}]
    timeout: 4s
    delegate: {name: api-routes, namespace: team}
  - route: [{destination: {host: httpbin, subset: v1}}]
)",
                      sidecarProxy("default"), R"(---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: api-routes, namespace: team}
spec:
  http:
  - match: [{uri: {prefix: /api/v2}}]
    route: [{destination: {host: httpbin.default.svc.cluster.local, subset: v2}}]
  - match: [{uri: {prefix: /other}}]
    route: [{destination: {host: single.default.svc.cluster.local}}]
  - route: [{destination: {host: httpbin.default.svc.cluster.local}}]
)");
  Outcome v2 = sim.send(req("/api/v2/items"));
  EXPECT_EQ(v2.cluster, kHttpbinV2);
  EXPECT_EQ(v2.timeout.count(), 4000) << "the root's timeout fills in";
  EXPECT_EQ(sim.send(req("/api/v1")).cluster, kHttpbin) << "delegate catch-all under /api";
  EXPECT_EQ(sim.send(req("/other")).cluster, kHttpbinV1) << "/other conflicts with /api";
}

// --- consistent hashing from the DestinationRule ----------------------------------------------

Simulation withHash(std::string_view loadBalancer, std::string_view http) {
  return Simulation(
      std::string(kServices.substr(0, kServices.find("---\napiVersion: networking"))) +
          R"(---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: httpbin, namespace: default}
spec:
  host: httpbin
  trafficPolicy: {loadBalancer: )" +
          std::string(loadBalancer) +
          R"(}
  subsets:
  - {name: v1, labels: {version: v1}}
  - name: v2
    labels: {version: v2}
    trafficPolicy: {loadBalancer: {consistentHash: {httpQueryParameterName: user}}}
)" + std::string(http),
      sidecarProxy("default"));
}

TEST(RouteSimulationHash, DefaultRouteHeaderHash) {
  auto sim = withHash("{consistentHash: {httpHeaderName: x-user}}", "");
  Outcome out = sim.send(req());
  ASSERT_EQ(out.hashPolicies.size(), 1u);
  EXPECT_EQ(out.hashPolicies[0].kind, proxy::router::HashPolicy::Kind::kHeader);
  EXPECT_EQ(out.hashPolicies[0].name, "x-user");
}

TEST(RouteSimulationHash, SubsetHashWinsAndSourceIp) {
  auto sim = withHash("{consistentHash: {useSourceIp: true}}", R"(---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: httpbin, namespace: default}
spec:
  hosts: [httpbin]
  http:
  - match: [{uri: {prefix: /v2}}]
    route: [{destination: {host: httpbin, subset: v2}}]
  - route: [{destination: {host: httpbin, subset: v1}}]
)");
  Outcome v2 = sim.send(req("/v2"));
  ASSERT_EQ(v2.hashPolicies.size(), 1u);
  EXPECT_EQ(v2.hashPolicies[0].kind, proxy::router::HashPolicy::Kind::kQueryParameter);
  Outcome v1 = sim.send(req("/"));
  ASSERT_EQ(v1.hashPolicies.size(), 1u);
  EXPECT_EQ(v1.hashPolicies[0].kind, proxy::router::HashPolicy::Kind::kSourceIp);
}

TEST(RouteSimulationHash, CookieHash) {
  auto sim = withHash("{consistentHash: {httpCookie: {name: session}}}", "");
  Outcome out = sim.send(req());
  ASSERT_EQ(out.hashPolicies.size(), 1u);
  EXPECT_EQ(out.hashPolicies[0].kind, proxy::router::HashPolicy::Kind::kCookie);
  EXPECT_EQ(out.hashPolicies[0].name, "session");
}

TEST(RouteSimulationHash, CookieWithTtlAndPathIsMadeUpForNewClients) {
  auto sim = withHash("{consistentHash: {httpCookie: {name: session, path: /app, ttl: 600s}}}", "");
  Outcome out = sim.send(req());
  ASSERT_EQ(out.hashPolicies.size(), 1u);
  EXPECT_EQ(out.hashPolicies[0].cookieTtl, std::chrono::seconds(600));
  EXPECT_EQ(out.hashPolicies[0].cookiePath, "/app");
}

// --- which VirtualService routes a host -------------------------------------------------------

TEST(RouteSimulationHosts, OldestVirtualServiceWinsOnSidecars) {
  auto sim = simulate("  - route: [{destination: {host: httpbin, subset: v1}}]\n",
                      sidecarProxy("default"), "");
  Simulation both(std::string(kServices) + R"(---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: first, namespace: default}
spec:
  hosts: [httpbin]
  http: [{route: [{destination: {host: httpbin, subset: v1}}]}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: second, namespace: default}
spec:
  hosts: [httpbin]
  http: [{route: [{destination: {host: httpbin, subset: v2}}]}]
)",
                  sidecarProxy("default"));
  EXPECT_EQ(both.send(req()).cluster, kHttpbinV1);
  EXPECT_EQ(sim.send(req()).cluster, kHttpbinV1);
}

TEST(RouteSimulationHosts, WildcardVirtualServiceHostCoversServices) {
  Simulation sim(std::string(kServices) + R"(---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: all, namespace: default}
spec:
  hosts: ["*.default.svc.cluster.local"]
  http: [{route: [{destination: {host: httpbin, subset: v2}}]}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: single, namespace: default}
spec:
  hosts: [single]
  http: [{route: [{destination: {host: httpbin, subset: v1}}]}]
)",
                 sidecarProxy("default"));
  EXPECT_EQ(sim.send(req()).cluster, kHttpbinV2);
  Request single = req();
  single.authority = "single:8000";
  EXPECT_EQ(sim.send(single).cluster, kHttpbinV1) << "an exact host beats the wildcard";
}

TEST(RouteSimulationHosts, ServiceEntryHostAndExternalNameOnPort80) {
  Simulation sim(R"(---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: httpbin-ext, namespace: default}
spec:
  hosts: [httpbin.org]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: DNS
  location: MESH_EXTERNAL
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: httpbin-ext, namespace: default}
spec:
  hosts: [httpbin.org, api.example.com]
  http: [{timeout: 3s, route: [{destination: {host: httpbin.org}}]}]
)",
                 sidecarProxy("default"));
  Request request;
  request.authority = "httpbin.org";
  request.port = 80;
  Outcome out = sim.send(request);
  EXPECT_EQ(out.cluster, "outbound|80||httpbin.org");
  EXPECT_EQ(out.timeout.count(), 3000);
  request.authority = "api.example.com";
  EXPECT_EQ(sim.send(request).virtualHost, "api.example.com:80");
}

} // namespace
} // namespace meshd::control::translate::testing
