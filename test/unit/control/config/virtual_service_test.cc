// VirtualService: typed values of every part of an HTTP route, and one test per rejection with
// the whole message.
#include "control/config/networking/virtual_service.h"
#include "test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace meshd::control::config {
namespace {

using std::chrono::milliseconds;
using testing::diagnosticsOf;
using ::testing::ElementsAre;
using testing::parsedFrom;

// The spec starts on line 5.
std::string vsWith(std::string_view specLines) {
  return "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: vs}\n"
         "spec:\n" +
         std::string(specLines);
}

std::vector<std::string> vsErrors(std::string_view specLines) {
  return diagnosticsOf(vsWith(specLines), parseVirtualService);
}

TEST(VirtualServiceTest, ReadsEveryHttpRoutePart) {
  const std::optional<VirtualService> vs = parsedFrom(vsWith(R"(  hosts: [reviews, "*.example.com"]
  gateways: [mesh, istio-system/edge]
  exportTo: ["."]
  http:
  - name: main
    match:
    - uri: {regex: "^/api/v[0-9]+"}
      method: {exact: GET}
      headers: {x-canary: {}}
      queryParams: {debug: {exact: "1"}}
      ignoreUriCase: true
      port: 9080
    rewrite: {uri: /v2}
    timeout: 1.5s
    retries: {attempts: 3, perTryTimeout: 500ms, retryOn: "5xx,connect-failure,503"}
    mirror: {host: reviews, subset: shadow}
    mirrorPercentage: {value: 12.5}
    corsPolicy:
      allowOrigins: [{prefix: "https://"}]
      allowMethods: [GET, POST]
      maxAge: 24h
    headers:
      request: {set: {x-version: v2}, remove: [x-debug]}
    route:
    - destination: {host: reviews, subset: v2, port: {number: 9080}}
      weight: 90
      headers: {response: {add: {x-served-by: v2}}}
    - destination: {host: reviews, subset: v1}
      weight: 10
  - redirect: {uri: /new, authority: example.com, redirectCode: 308, derivePort: FROM_REQUEST_PORT}
  - directResponse: {status: 503, body: {string: unavailable}}
)"),
                                                      parseVirtualService);
  ASSERT_TRUE(vs.has_value());
  EXPECT_FALSE(vs->isDelegate());
  EXPECT_TRUE(vs->appliesToMesh());
  ASSERT_EQ(vs->http.size(), 3u);
  const HttpRoute& main = vs->http[0];
  EXPECT_EQ(main.name, "main");
  ASSERT_EQ(main.match.size(), 1u);
  EXPECT_EQ(main.match[0].uri->kind, StringMatch::Kind::kRegex);
  EXPECT_EQ(main.match[0].headers.at("x-canary").kind, StringMatch::Kind::kAny);
  EXPECT_EQ(main.match[0].queryParams.at("debug").value, "1");
  EXPECT_TRUE(main.match[0].ignoreUriCase);
  EXPECT_EQ(main.match[0].port, 9080u);
  EXPECT_EQ(main.rewrite->uri, "/v2");
  EXPECT_EQ(main.timeout, Duration(milliseconds(1500)));
  EXPECT_EQ(main.retries->attempts, 3);
  EXPECT_EQ(main.retries->perTryTimeout, Duration(milliseconds(500)));
  ASSERT_EQ(main.mirrors.size(), 1u);
  EXPECT_EQ(main.mirrors[0].destination.subset, "shadow");
  EXPECT_EQ(main.mirrors[0].percentage, 12.5);
  EXPECT_EQ(main.corsPolicy->allowOrigins[0].kind, StringMatch::Kind::kPrefix);
  EXPECT_EQ(main.corsPolicy->maxAge, Duration(std::chrono::hours(24)));
  EXPECT_EQ(main.headers->request.set.at("x-version"), "v2");
  EXPECT_THAT(main.headers->request.remove, ElementsAre("x-debug"));
  ASSERT_EQ(main.route.size(), 2u);
  EXPECT_EQ(main.route[0].destination.port, 9080u);
  EXPECT_EQ(main.route[0].weight, 90);
  EXPECT_EQ(main.route[0].headers->response.add.at("x-served-by"), "v2");
  EXPECT_EQ(vs->http[1].redirect->redirectCode, 308u);
  EXPECT_EQ(vs->http[1].redirect->derivePort, HttpRedirect::DerivePort::kFromRequestPort);
  EXPECT_EQ(vs->http[2].directResponse->status, 503u);
  EXPECT_EQ(vs->http[2].directResponse->body, "unavailable");
}

TEST(VirtualServiceTest, ReadsTcpAndTlsRoutes) {
  const std::optional<VirtualService> vs = parsedFrom(vsWith(R"(  hosts: ["*.example.com"]
  tls:
  - match: [{sniHosts: [a.example.com], port: 443}]
    route: [{destination: {host: a.example.com}}]
  tcp:
  - match: [{port: 3306, destinationSubnets: [10.0.0.0/8]}]
    route:
    - {destination: {host: mysql}, weight: 80}
    - {destination: {host: mysql-v2}, weight: 20}
)"),
                                                      parseVirtualService);
  ASSERT_TRUE(vs.has_value());
  EXPECT_THAT(vs->tls[0].match[0].sniHosts, ElementsAre("a.example.com"));
  EXPECT_EQ(vs->tcp[0].match[0].port, 3306u);
  EXPECT_EQ(vs->tcp[0].route[1].weight, 20);
}

TEST(VirtualServiceTest, RelativeWeightsNeedNotAddUpTo100) {
  EXPECT_THAT(vsErrors("  hosts: [r]\n  http:\n  - route:\n"
                       "    - {destination: {host: r, subset: a}, weight: 1}\n"
                       "    - {destination: {host: r, subset: b}, weight: 3}\n"),
              ElementsAre());
}

TEST(VirtualServiceTest, RejectsAllZeroWeights) {
  EXPECT_THAT(vsErrors("  hosts: [r]\n  http:\n  - route:\n"
                       "    - {destination: {host: r, subset: a}}\n"
                       "    - {destination: {host: r, subset: b}}\n"),
              ElementsAre("t.yaml:8: error: VirtualService default/vs: spec.http[0].route: total "
                          "destination weight = 0 (give at least one destination a weight)"));
}

TEST(VirtualServiceTest, RejectsNegativeWeight) {
  EXPECT_THAT(vsErrors("  hosts: [r]\n  http:\n  - route:\n"
                       "    - {destination: {host: r}, weight: -1}\n"),
              ElementsAre("t.yaml:8: error: VirtualService default/vs: spec.http[0].route[0]."
                          "weight: must be between 0 and 2147483647 (got -1)"));
}

TEST(VirtualServiceTest, RejectsUnknownFieldWithSuggestion) {
  EXPECT_THAT(vsErrors("  hosts: [r]\n  http:\n  - rout:\n    - destination: {host: r}\n"),
              ElementsAre("t.yaml:8: error: VirtualService default/vs: spec.http[0].rout: unknown "
                          "field 'rout' (did you mean 'route'?)",
                          "t.yaml:7: error: VirtualService default/vs: spec.http[0]: an HTTP "
                          "route needs one of 'route', 'redirect', 'directResponse' or "
                          "'delegate'"));
}

TEST(VirtualServiceTest, RejectsRouteWithRedirect) {
  EXPECT_THAT(vsErrors("  hosts: [r]\n  http:\n  - route: [{destination: {host: r}}]\n"
                       "    redirect: {uri: /x}\n"),
              ElementsAre("t.yaml:8: error: VirtualService default/vs: spec.http[0].redirect: "
                          "only one of 'route', 'redirect', 'directResponse', 'delegate' may be "
                          "set (found 'route', 'redirect')"));
}

TEST(VirtualServiceTest, RejectsRewriteWithDirectResponse) {
  EXPECT_THAT(vsErrors("  hosts: [r]\n  http:\n  - directResponse: {status: 200}\n"
                       "    rewrite: {uri: /x}\n"),
              ElementsAre("t.yaml:8: error: VirtualService default/vs: spec.http[0].rewrite: "
                          "'rewrite' cannot be combined with 'directResponse'"));
}

TEST(VirtualServiceTest, RejectsMissingDestinationHost) {
  EXPECT_THAT(vsErrors("  hosts: [r]\n  http:\n  - route: [{destination: {subset: v1}}]\n"),
              ElementsAre("t.yaml:7: error: VirtualService default/vs: spec.http[0].route[0]."
                          "destination.host: required field is missing"));
}

TEST(VirtualServiceTest, RejectsBadRegex) {
  EXPECT_THAT(vsErrors("  hosts: [r]\n  http:\n  - match: [{uri: {regex: \"(\"}}]\n"
                       "    route: [{destination: {host: r}}]\n"),
              ElementsAre("t.yaml:7: error: VirtualService default/vs: spec.http[0].match[0].uri."
                          "regex: '(' is not a valid RE2 regex: missing ): ("));
}

TEST(VirtualServiceTest, RejectsTwoStringMatchKinds) {
  EXPECT_THAT(vsErrors("  hosts: [r]\n  http:\n  - match: [{uri: {exact: /a, prefix: /b}}]\n"
                       "    route: [{destination: {host: r}}]\n"),
              ElementsAre("t.yaml:7: error: VirtualService default/vs: spec.http[0].match[0].uri."
                          "prefix: only one of 'exact', 'prefix', 'regex' may be set (found "
                          "'exact', 'prefix')"));
}

TEST(VirtualServiceTest, RejectsBadHeaderName) {
  EXPECT_THAT(vsErrors("  hosts: [r]\n  http:\n  - match: [{headers: {\"bad header\": {exact: "
                       "x}}}]\n    route: [{destination: {host: r}}]\n"),
              ElementsAre("t.yaml:7: error: VirtualService default/vs: spec.http[0].match[0]."
                          "headers.bad header: 'bad header' is not a valid header name (letters, "
                          "digits, '-' and '_')"));
}

TEST(VirtualServiceTest, RejectsShortTimeout) {
  EXPECT_THAT(vsErrors("  hosts: [r]\n  http:\n  - route: [{destination: {host: r}}]\n"
                       "    timeout: 100us\n"),
              ElementsAre("t.yaml:8: error: VirtualService default/vs: spec.http[0].timeout: "
                          "duration must be at least 1ms (got 100us)"));
}

TEST(VirtualServiceTest, RejectsBadDuration) {
  EXPECT_THAT(vsErrors("  hosts: [r]\n  http:\n  - route: [{destination: {host: r}}]\n"
                       "    timeout: 10\n"),
              ElementsAre("t.yaml:8: error: VirtualService default/vs: spec.http[0].timeout: must "
                          "be a string (got a number)"));
  EXPECT_THAT(vsErrors("  hosts: [r]\n  http:\n  - route: [{destination: {host: r}}]\n"
                       "    timeout: 10 seconds\n"),
              ElementsAre("t.yaml:8: error: VirtualService default/vs: spec.http[0].timeout: '10 "
                          "seconds' is not a duration (write it like 1.5s, 100ms or 1h)"));
}

TEST(VirtualServiceTest, RejectsFaultPercentageOver100) {
  EXPECT_THAT(vsErrors("  hosts: [r]\n  http:\n  - route: [{destination: {host: r}}]\n"
                       "    fault: {abort: {httpStatus: 503, percentage: {value: 101}}}\n"),
              ElementsAre("t.yaml:8: error: VirtualService default/vs: spec.http[0].fault.abort."
                          "percentage.value: must be between 0 and 100 (got 101)"));
}

TEST(VirtualServiceTest, RejectsHttp2ErrorAbortAndBadGrpcStatus) {
  EXPECT_THAT(vsErrors("  hosts: [r]\n  http:\n  - route: [{destination: {host: r}}]\n"
                       "    fault: {abort: {http2Error: x}}\n"),
              ElementsAre("t.yaml:8: error: VirtualService default/vs: spec.http[0].fault.abort."
                          "http2Error: HTTP/2 abort fault injection is not supported"));
  EXPECT_THAT(vsErrors("  hosts: [r]\n  http:\n  - route: [{destination: {host: r}}]\n"
                       "    fault: {abort: {grpcStatus: DOWN}}\n"),
              ElementsAre("t.yaml:8: error: VirtualService default/vs: spec.http[0].fault.abort."
                          "grpcStatus: 'DOWN' is not a gRPC status code name (such as "
                          "UNAVAILABLE)"));
}

TEST(VirtualServiceTest, WarnsAboutDeprecatedMirrorPercent) {
  EXPECT_THAT(vsErrors("  hosts: [r]\n  http:\n  - route: [{destination: {host: r}}]\n"
                       "    mirror: {host: m}\n    mirrorPercent: 5\n"),
              ElementsAre("t.yaml:9: warning: VirtualService default/vs: spec.http[0]."
                          "mirrorPercent: 'mirrorPercent' is deprecated; use "
                          "'mirrorPercentage'"));
}

TEST(VirtualServiceTest, RejectsMirrorAndMirrors) {
  EXPECT_THAT(vsErrors("  hosts: [r]\n  http:\n  - route: [{destination: {host: r}}]\n"
                       "    mirror: {host: m}\n    mirrors: [{destination: {host: n}}]\n"),
              ElementsAre("t.yaml:9: error: VirtualService default/vs: spec.http[0].mirrors: only "
                          "one of 'mirror', 'mirrors' may be set (found 'mirror', 'mirrors')"));
}

TEST(VirtualServiceTest, RejectsBadRetryOn) {
  EXPECT_THAT(vsErrors("  hosts: [r]\n  http:\n  - route: [{destination: {host: r}}]\n"
                       "    retries: {attempts: 2, retryOn: \"5xx,sometimes\"}\n"),
              ElementsAre("t.yaml:8: error: VirtualService default/vs: spec.http[0].retries."
                          "retryOn: 'sometimes' is not a valid retryOn policy (an Envoy retry "
                          "condition such as 5xx or connect-failure, or a status code)"));
}

TEST(VirtualServiceTest, RejectsRedirectCodeAndDirectResponseStatus) {
  EXPECT_THAT(vsErrors("  hosts: [r]\n  http:\n  - redirect: {uri: /x, redirectCode: 200}\n"),
              ElementsAre("t.yaml:7: error: VirtualService default/vs: spec.http[0].redirect."
                          "redirectCode: must be between 300 and 399 (got 200)"));
  EXPECT_THAT(vsErrors("  hosts: [r]\n  http:\n  - directResponse: {status: 99}\n"),
              ElementsAre("t.yaml:7: error: VirtualService default/vs: spec.http[0]."
                          "directResponse.status: must be between 200 and 599 (got 99)"));
}

TEST(VirtualServiceTest, RejectsStarHostOnMesh) {
  EXPECT_THAT(vsErrors("  hosts: ['*']\n  http:\n  - route: [{destination: {host: r}}]\n"),
              ElementsAre("t.yaml:5: error: VirtualService default/vs: spec.hosts[0]: wildcard "
                          "host '*' is not allowed for virtual services bound to the mesh "
                          "gateway"));
}

TEST(VirtualServiceTest, RejectsBadHostAndGatewayNames) {
  EXPECT_THAT(vsErrors("  hosts: [a.*.com]\n  gateways: [a/b/c]\n"
                       "  http:\n  - route: [{destination: {host: r}}]\n"),
              ElementsAre("t.yaml:6: error: VirtualService default/vs: spec.gateways[0]: 'a/b/c' "
                          "is not a valid gateway reference (\"mesh\", \"name\" or "
                          "\"namespace/name\")",
                          "t.yaml:5: error: VirtualService default/vs: spec.hosts[0]: 'a.*.com' "
                          "is not a valid host: a wildcard must be the whole name or its first "
                          "label (\"*.example.com\")"));
}

TEST(VirtualServiceTest, RejectsNoRoutes) {
  EXPECT_THAT(vsErrors("  hosts: [r]\n"),
              ElementsAre("t.yaml:5: error: VirtualService default/vs: spec: a VirtualService "
                          "needs at least one of 'http', 'tls' or 'tcp'"));
}

TEST(VirtualServiceTest, RejectsDelegateWithGatewaysAndTcp) {
  EXPECT_THAT(vsErrors("  gateways: [gw]\n  tcp: [{route: [{destination: {host: r}}]}]\n"),
              ElementsAre("t.yaml:5: error: VirtualService default/vs: spec.gateways: a delegate "
                          "VirtualService (one without hosts) cannot have gateways",
                          "t.yaml:6: error: VirtualService default/vs: spec.tcp: a delegate "
                          "VirtualService (one without hosts) can only have http routes, not "
                          "tcp"));
}

TEST(VirtualServiceTest, RejectsNestedDelegation) {
  EXPECT_THAT(vsErrors("  http:\n  - delegate: {name: other}\n"),
              ElementsAre("t.yaml:6: error: VirtualService default/vs: spec.http[0].delegate: a "
                          "delegate VirtualService cannot delegate again"));
}

TEST(VirtualServiceTest, RejectsSniHostOutsideHosts) {
  EXPECT_THAT(vsErrors("  hosts: [a.example.com]\n  tls:\n  - match: [{sniHosts: [b.example.com]}]"
                       "\n    route: [{destination: {host: b.example.com}}]\n"),
              ElementsAre("t.yaml:7: error: VirtualService default/vs: spec.tls[0].match[0]."
                          "sniHosts[0]: SNI host 'b.example.com' is not covered by any host of the "
                          "VirtualService"));
}

TEST(VirtualServiceTest, RejectsTlsRouteWithoutMatchAndBadSubnet) {
  EXPECT_THAT(vsErrors("  hosts: [a.example.com]\n  tls:\n  - route: [{destination: {host: a}}]\n"
                       "  tcp:\n  - match: [{destinationSubnets: [10.0.0.0/40]}]\n"
                       "    route: [{destination: {host: a}}]\n"),
              ElementsAre("t.yaml:7: error: VirtualService default/vs: spec.tls[0].match: "
                          "required field is missing",
                          "t.yaml:9: error: VirtualService default/vs: spec.tcp[0].match[0]."
                          "destinationSubnets[0]: '10.0.0.0/40' is not a valid CIDR block (prefix "
                          "length 0-32)"));
}

TEST(VirtualServiceTest, RejectsBadExportTo) {
  EXPECT_THAT(vsErrors("  hosts: [r]\n  exportTo: [Team_A, '~']\n"
                       "  http:\n  - route: [{destination: {host: r}}]\n"),
              ElementsAre("t.yaml:6: error: VirtualService default/vs: spec.exportTo[0]: 'Team_A' "
                          "is not '.', '*' or a namespace name",
                          "t.yaml:6: error: VirtualService default/vs: spec.exportTo[1]: '~' is "
                          "not '.', '*' or a namespace name"));
}

TEST(VirtualServiceTest, RejectsEmptyPrefixAndHugeRegex) {
  EXPECT_THAT(vsErrors("  hosts: [r]\n  http:\n  - match: [{uri: {prefix: \"\"}}, {uri: {regex: " +
                       std::string(1025, 'a') + "}}]\n    route: [{destination: {host: r}}]\n"),
              ElementsAre("t.yaml:7: error: VirtualService default/vs: spec.http[0].match[0].uri."
                          "prefix: a prefix match must not be empty",
                          "t.yaml:7: error: VirtualService default/vs: spec.http[0].match[1].uri."
                          "regex: regex is too large (1025 characters; at most 1024)"));
}

TEST(VirtualServiceTest, RejectsEmptyRedirectAndRewrite) {
  EXPECT_THAT(vsErrors("  hosts: [r]\n  http:\n  - redirect: {redirectCode: 302}\n"),
              ElementsAre("t.yaml:7: error: VirtualService default/vs: spec.http[0].redirect: a "
                          "redirect must change at least one of uri, authority, scheme or port"));
  EXPECT_THAT(vsErrors("  hosts: [r]\n  http:\n  - route: [{destination: {host: r}}]\n"
                       "    rewrite: {}\n"),
              ElementsAre("t.yaml:8: error: VirtualService default/vs: spec.http[0].rewrite: a "
                          "rewrite must set at least one of uri, uriRegexRewrite or authority"));
}

TEST(VirtualServiceTest, RejectsRetryPolicyWithZeroAttempts) {
  EXPECT_THAT(vsErrors("  hosts: [r]\n  http:\n  - route: [{destination: {host: r}}]\n"
                       "    retries: {attempts: 0, retryOn: 5xx}\n"),
              ElementsAre("t.yaml:8: error: VirtualService default/vs: spec.http[0].retries."
                          "attempts: a retry policy is configured but attempts is 0 (retries "
                          "disabled)"));
}

TEST(VirtualServiceTest, RejectsUnsupportedCorsMethod) {
  EXPECT_THAT(vsErrors("  hosts: [r]\n  http:\n  - route: [{destination: {host: r}}]\n"
                       "    corsPolicy: {allowMethods: [GET, FETCH]}\n"),
              ElementsAre("t.yaml:8: error: VirtualService default/vs: spec.http[0].corsPolicy."
                          "allowMethods[1]: 'FETCH' is not a supported HTTP method"));
}

TEST(VirtualServiceTest, WarnsAboutAbortWithoutErrorAndLegacyGatewayName) {
  EXPECT_THAT(vsErrors("  hosts: [r]\n  gateways: [gw.istio-system.svc.cluster.local]\n"
                       "  http:\n  - route: [{destination: {host: r}}]\n"
                       "    fault: {abort: {percentage: {value: 5}}}\n"),
              ElementsAre("t.yaml:6: warning: VirtualService default/vs: spec.gateways[0]: "
                          "'gw.istio-system.svc.cluster.local' uses the legacy gateway name "
                          "format; prefer namespace/name",
                          "t.yaml:9: warning: VirtualService default/vs: spec.http[0].fault.abort: "
                          "abort is configured without an error type (httpStatus or grpcStatus)"));
}

TEST(VirtualServiceTest, RejectsDuplicateHosts) {
  EXPECT_THAT(vsErrors("  hosts: ['*.example.com', a.example.com]\n"
                       "  http:\n  - route: [{destination: {host: r}}]\n"),
              ElementsAre("t.yaml:5: error: VirtualService default/vs: spec.hosts[1]: duplicate "
                          "hosts in the VirtualService: '*.example.com' and 'a.example.com'"));
}

TEST(VirtualServiceTest, RejectsJwtClaimRoutingOnTheMesh) {
  EXPECT_THAT(vsErrors("  hosts: [r]\n  http:\n  - match: [{headers: "
                       "{\"@request.auth.claims.group\": {exact: admin}}}]\n"
                       "    route: [{destination: {host: r}}]\n"),
              ElementsAre("t.yaml:7: error: VirtualService default/vs: spec.http[0].match[0]."
                          "headers: routing on JWT claims ('@request.auth.claims.group') works "
                          "only on gateways, and this VirtualService applies to the mesh"));
}

TEST(VirtualServiceTest, CatchAllDetection) {
  HttpMatchRequest match;
  EXPECT_TRUE(matchesEveryRequest(match));
  match.uri = StringMatch{StringMatch::Kind::kPrefix, "/"};
  EXPECT_TRUE(matchesEveryRequest(match));
  match.uri = StringMatch{StringMatch::Kind::kPrefix, "/api"};
  EXPECT_FALSE(matchesEveryRequest(match));
  match.uri.reset();
  match.port = 80;
  EXPECT_FALSE(matchesEveryRequest(match));
}

} // namespace
} // namespace meshd::control::config
