// Unit tests for the CORS filter's policy: origin matching (every matcher kind and the "*"
// wildcard), preflight answers, response headers, merging a route's policy over its virtual
// host's, shadow mode, and the route table reading both levels.
#include "proxy/filters/http/cors/cors_policy.h"

#include "core/yaml_json.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace meshd::proxy::filters {
namespace {

using Origin = CorsDecision::Origin;

template <class Message>
Message parse(const std::string& yaml) {
  Message out;
  auto json = core::yamlToJson(yaml);
  EXPECT_TRUE(json.ok());
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(*json, &out).ok()) << *json;
  return out;
}

CorsPolicy policy(const std::string& yaml) {
  auto built =
      buildCorsPolicy(parse<envoy::extensions::filters::http::cors::v3::CorsPolicy>(yaml), "cors");
  EXPECT_TRUE(built.ok()) << built.status();
  return built.ok() ? *built : CorsPolicy{};
}

http::HeaderMap request(std::string_view method,
                        std::vector<std::pair<std::string, std::string>> headers) {
  http::HeaderMap out;
  out.add(":method", method);
  out.add(":path", "/");
  out.add(":authority", "api.example");
  for (const auto& [name, value] : headers) {
    out.add(name, value);
  }
  return out;
}

TEST(CorsPolicyTest, EveryMatcherKindDecidesTheOrigin) {
  const CorsPolicy p = policy(R"(
allow_origin_string_match:
- exact: https://exact.example
- prefix: https://pre.
- suffix: .suffix.example
- contains: inside
- safe_regex: { regex: "https://r[0-9]+\\.example" }
- exact: https://CASE.example
  ignore_case: true
)");
  EXPECT_TRUE(corsOriginAllowed(p, "https://exact.example"));
  EXPECT_FALSE(corsOriginAllowed(p, "https://exact.example.evil"));
  EXPECT_TRUE(corsOriginAllowed(p, "https://pre.anything"));
  EXPECT_TRUE(corsOriginAllowed(p, "https://a.suffix.example"));
  EXPECT_FALSE(corsOriginAllowed(p, "https://a.suffix.example.evil"));
  EXPECT_TRUE(corsOriginAllowed(p, "https://is-inside.example"));
  EXPECT_TRUE(corsOriginAllowed(p, "https://r42.example"));
  EXPECT_FALSE(corsOriginAllowed(p, "https://rx.example"));
  EXPECT_TRUE(corsOriginAllowed(p, "https://case.EXAMPLE"));
  EXPECT_FALSE(corsOriginAllowed(p, "https://other.example"));
  EXPECT_FALSE(corsOriginAllowed(policy("{}"), "https://exact.example"));
}

TEST(CorsPolicyTest, StarAllowsEveryOrigin) {
  EXPECT_TRUE(corsOriginAllowed(policy("allow_origin_string_match: [ { exact: '*' } ]"),
                                "https://any.example"));
}

TEST(CorsPolicyTest, PreflightFromAnAllowedOriginIsAnsweredWithThePolicy) {
  const CorsPolicy p = policy(R"(
allow_origin_string_match: [ { exact: https://web.example } ]
allow_methods: GET,POST
allow_headers: content-type,x-token
max_age: "600"
allow_credentials: true
expose_headers: x-trace
)");
  core::DefaultRandomGenerator random(1);
  const CorsDecision d = decideCors(p,
                                    request("OPTIONS", {{"origin", "https://web.example"},
                                                        {"access-control-request-method", "POST"}}),
                                    random);
  EXPECT_EQ(d.origin, Origin::kValid);
  ASSERT_TRUE(d.preflightResponse);
  EXPECT_EQ(d.preflightResponse->get("access-control-allow-origin"), "https://web.example");
  EXPECT_EQ(d.preflightResponse->get("access-control-allow-methods"), "GET,POST");
  EXPECT_EQ(d.preflightResponse->get("access-control-allow-headers"), "content-type,x-token");
  EXPECT_EQ(d.preflightResponse->get("access-control-max-age"), "600");
  EXPECT_EQ(d.preflightResponse->get("access-control-allow-credentials"), "true");
  EXPECT_FALSE(d.preflightResponse->has("access-control-expose-headers"));
}

TEST(CorsPolicyTest, StarMethodsAndHeadersEchoTheRequest) {
  const CorsPolicy p = policy(R"(
allow_origin_string_match: [ { prefix: https:// } ]
allow_methods: "*"
allow_headers: "*"
)");
  core::DefaultRandomGenerator random(1);
  const CorsDecision d = decideCors(p,
                                    request("OPTIONS", {{"origin", "https://web.example"},
                                                        {"access-control-request-method", "PUT"},
                                                        {"access-control-request-headers", "x-a"}}),
                                    random);
  ASSERT_TRUE(d.preflightResponse);
  EXPECT_EQ(d.preflightResponse->get("access-control-allow-methods"), "PUT");
  EXPECT_EQ(d.preflightResponse->get("access-control-allow-headers"), "x-a");
}

TEST(CorsPolicyTest, PreflightFromAnotherOriginIsForwardedUnlessTheyAreNotToBe) {
  const std::string base = "allow_origin_string_match: [ { exact: https://web.example } ]\n"
                           "allow_methods: GET\n";
  const auto preflight = request(
      "OPTIONS", {{"origin", "https://evil.example"}, {"access-control-request-method", "GET"}});
  core::DefaultRandomGenerator random(1);
  const CorsDecision forwarded = decideCors(policy(base), preflight, random);
  EXPECT_EQ(forwarded.origin, Origin::kInvalid);
  EXPECT_FALSE(forwarded.preflightResponse);
  EXPECT_TRUE(forwarded.allowedOrigin.empty());
  // Not forwarded: answered here, without allowing the origin.
  const CorsDecision answered =
      decideCors(policy(base + "forward_not_matching_preflights: false\n"), preflight, random);
  ASSERT_TRUE(answered.preflightResponse);
  EXPECT_FALSE(answered.preflightResponse->has("access-control-allow-origin"));
  EXPECT_EQ(answered.preflightResponse->get("access-control-allow-methods"), "GET");
}

TEST(CorsPolicyTest, ActualRequestsGetTheOriginOnTheirResponseOnlyWhenAllowed) {
  const CorsPolicy p = policy(R"(
allow_origin_string_match: [ { suffix: .web.example } ]
expose_headers: x-trace
allow_credentials: true
)");
  core::DefaultRandomGenerator random(1);
  const CorsDecision allowed =
      decideCors(p, request("GET", {{"origin", "https://a.web.example"}}), random);
  EXPECT_EQ(allowed.origin, Origin::kValid);
  EXPECT_FALSE(allowed.preflightResponse);
  ASSERT_EQ(allowed.allowedOrigin, "https://a.web.example");
  http::HeaderMap response;
  response.add(":status", "200");
  addCorsResponseHeaders(p, allowed.allowedOrigin, response);
  EXPECT_EQ(response.get("access-control-allow-origin"), "https://a.web.example");
  EXPECT_EQ(response.get("access-control-expose-headers"), "x-trace");
  EXPECT_EQ(response.get("access-control-allow-credentials"), "true");

  const CorsDecision denied =
      decideCors(p, request("GET", {{"origin", "https://a.evil.example"}}), random);
  EXPECT_EQ(denied.origin, Origin::kInvalid);
  EXPECT_TRUE(denied.allowedOrigin.empty());
  // No Origin: not a CORS request (and not counted); OPTIONS without the requested method is
  // not a preflight.
  EXPECT_EQ(decideCors(p, request("GET", {}), random).origin, Origin::kNotCors);
  EXPECT_FALSE(decideCors(p, request("OPTIONS", {{"origin", "https://a.web.example"}}), random)
                   .preflightResponse);
}

TEST(CorsPolicyTest, ShadowModeCountsWithoutEnforcing) {
  const CorsPolicy p = policy(R"(
allow_origin_string_match: [ { exact: https://web.example } ]
filter_enabled: { default_value: { numerator: 0 } }
shadow_enabled: { default_value: { numerator: 100 } }
)");
  core::DefaultRandomGenerator random(1);
  const CorsDecision d = decideCors(p,
                                    request("OPTIONS", {{"origin", "https://web.example"},
                                                        {"access-control-request-method", "GET"}}),
                                    random);
  EXPECT_EQ(d.origin, Origin::kValid);
  EXPECT_FALSE(d.preflightResponse);
  EXPECT_TRUE(d.allowedOrigin.empty());
}

TEST(CorsPolicyTest, RouteFieldsOverrideTheVirtualHostsOneByOne) {
  const CorsPolicy host = policy(R"(
allow_origin_string_match: [ { exact: https://host.example } ]
allow_methods: GET
max_age: "60"
allow_credentials: true
)");
  const CorsPolicy route = policy("allow_methods: POST\nallow_credentials: false\n");
  const CorsPolicy merged = mergeCorsPolicies(route, host);
  EXPECT_TRUE(corsOriginAllowed(merged, "https://host.example"));
  EXPECT_EQ(merged.allowMethods, "POST");
  EXPECT_EQ(merged.maxAge, "60");
  EXPECT_EQ(merged.allowCredentials, false);
}

TEST(CorsPolicyTest, RouteTableReadsRouteAndVirtualHostPolicies) {
  auto table = router::RouteTable::build(parse<envoy::config::route::v3::RouteConfiguration>(R"(
virtual_hosts:
- name: web
  domains: ["*"]
  typed_per_filter_config:
    envoy.filters.http.cors:
      "@type": type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy
      allow_origin_string_match: [ { exact: https://host.example } ]
      allow_methods: GET
  routes:
  - name: own
    match: { prefix: /own }
    route: { cluster: c }
    typed_per_filter_config:
      envoy.filters.http.cors:
        "@type": type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy
        allow_methods: PUT
  - name: inherited
    match: { prefix: / }
    route: { cluster: c }
)"),
                                         "route_config");
  ASSERT_TRUE(table.ok()) << table.status();
  const auto& routes = (*table)->virtualHosts().at(0).routes;
  ASSERT_TRUE(routes.at(0).cors && routes.at(1).cors);
  EXPECT_EQ(routes.at(0).cors->allowMethods, "PUT");
  EXPECT_TRUE(corsOriginAllowed(*routes.at(0).cors, "https://host.example"));
  EXPECT_EQ(routes.at(1).cors->allowMethods, "GET");
}

TEST(CorsPolicyTest, BadOriginRegexIsRejectedWithItsPath) {
  const auto built =
      buildCorsPolicy(parse<envoy::extensions::filters::http::cors::v3::CorsPolicy>(
                          "allow_origin_string_match: [ { safe_regex: { regex: '(' } } ]"),
                      "cors");
  ASSERT_FALSE(built.ok());
  EXPECT_NE(built.status().message().find("cors.allow_origin_string_match[0]"), std::string::npos)
      << built.status();
}

} // namespace
} // namespace meshd::proxy::filters
