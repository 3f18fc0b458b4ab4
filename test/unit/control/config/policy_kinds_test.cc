// PeerAuthentication, AuthorizationPolicy, RequestAuthentication and Telemetry: typed values and
// one test per rejection.
#include "control/config/security/authorization_policy.h"
#include "control/config/security/peer_authentication.h"
#include "control/config/security/request_authentication.h"
#include "control/config/telemetry/telemetry.h"
#include "fmt/format.h"
#include "test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace meshd::control::config {
namespace {

using testing::diagnosticsOf;
using ::testing::ElementsAre;
using testing::parsedFrom;

// Each spec starts on line 5.
std::string objectWith(std::string_view apiVersion, std::string_view kind,
                       std::string_view specLines) {
  return fmt::format("apiVersion: {}\nkind: {}\nmetadata: {{name: x}}\nspec:\n{}", apiVersion, kind,
                     specLines);
}

std::vector<std::string> paErrors(std::string_view spec) {
  return diagnosticsOf(objectWith("security.istio.io/v1", "PeerAuthentication", spec),
                       parsePeerAuthentication);
}
std::vector<std::string> apErrors(std::string_view spec) {
  return diagnosticsOf(objectWith("security.istio.io/v1", "AuthorizationPolicy", spec),
                       parseAuthorizationPolicy);
}
std::vector<std::string> raErrors(std::string_view spec) {
  return diagnosticsOf(objectWith("security.istio.io/v1", "RequestAuthentication", spec),
                       parseRequestAuthentication);
}
std::vector<std::string> telemetryErrors(std::string_view spec) {
  return diagnosticsOf(objectWith("telemetry.istio.io/v1", "Telemetry", spec), parseTelemetry);
}

TEST(PeerAuthenticationTest, ReadsModeAndPortLevelMtls) {
  const std::optional<PeerAuthentication> policy =
      parsedFrom(objectWith("security.istio.io/v1", "PeerAuthentication",
                            "  selector: {matchLabels: {app: ratings}}\n  mtls: {mode: STRICT}\n"
                            "  portLevelMtls:\n    \"8080\": {mode: DISABLE}\n"),
                 parsePeerAuthentication);
  ASSERT_TRUE(policy.has_value());
  EXPECT_EQ(policy->selector, (Labels{{"app", "ratings"}}));
  EXPECT_EQ(policy->mode, MtlsMode::kStrict);
  EXPECT_EQ(policy->portLevelMtls.at(8080), MtlsMode::kDisable);
}

TEST(PeerAuthenticationTest, RejectsBadMode) {
  EXPECT_THAT(paErrors("  mtls: {mode: STRICTER}\n"),
              ElementsAre("t.yaml:5: error: PeerAuthentication default/x: spec.mtls.mode: "
                          "'STRICTER' is not one of UNSET, DISABLE, PERMISSIVE, STRICT"));
}

TEST(PeerAuthenticationTest, RejectsPortLevelMtlsWithoutSelector) {
  EXPECT_THAT(paErrors("  portLevelMtls:\n    \"80\": {mode: DISABLE}\n"),
              ElementsAre("t.yaml:6: error: PeerAuthentication default/x: spec.portLevelMtls: "
                          "port level mTLS needs a selector (it cannot apply to a whole namespace "
                          "or the mesh)"));
}

TEST(PeerAuthenticationTest, RejectsEmptyPortLevelMtls) {
  EXPECT_THAT(paErrors("  selector: {matchLabels: {app: a}}\n  portLevelMtls: {}\n"),
              ElementsAre("t.yaml:6: error: PeerAuthentication default/x: spec.portLevelMtls: "
                          "portLevelMtls, when given, needs at least one port"));
}

TEST(PeerAuthenticationTest, RejectsBadPortKey) {
  EXPECT_THAT(paErrors("  selector: {matchLabels: {app: a}}\n"
                       "  portLevelMtls:\n    \"0\": {mode: DISABLE}\n"),
              ElementsAre("t.yaml:7: error: PeerAuthentication default/x: spec.portLevelMtls[0]: "
                          "'0' is not a port number between 1 and 65535"));
}

TEST(AuthorizationPolicyTest, ReadsRules) {
  const std::optional<AuthorizationPolicy> policy =
      parsedFrom(objectWith("security.istio.io/v1", "AuthorizationPolicy", R"(  selector:
    matchLabels: {app: productpage}
  action: DENY
  rules:
  - from:
    - source: {principals: [cluster.local/ns/default/sa/sleep], ipBlocks: [10.0.0.0/8]}
    to:
    - operation: {methods: [GET], paths: ["/api/*"], ports: ["9080"]}
    when:
    - key: request.headers[x-token]
      notValues: [secret]
)"),
                 parseAuthorizationPolicy);
  ASSERT_TRUE(policy.has_value());
  EXPECT_EQ(policy->action, AuthorizationPolicy::Action::kDeny);
  EXPECT_EQ(policy->targets.selector, (Labels{{"app", "productpage"}}));
  ASSERT_EQ(policy->rules.size(), 1u);
  EXPECT_THAT(policy->rules[0].from[0].principals,
              ElementsAre("cluster.local/ns/default/sa/sleep"));
  EXPECT_THAT(policy->rules[0].to[0].ports, ElementsAre("9080"));
  EXPECT_EQ(policy->rules[0].when[0].key, "request.headers[x-token]");
  EXPECT_THAT(policy->rules[0].when[0].notValues, ElementsAre("secret"));
}

TEST(AuthorizationPolicyTest, EmptySpecAllowsNothingAndIsValid) {
  const std::optional<AuthorizationPolicy> policy = parsedFrom(
      "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: x}\n"
      "spec: {}\n",
      parseAuthorizationPolicy);
  ASSERT_TRUE(policy.has_value());
  EXPECT_EQ(policy->action, AuthorizationPolicy::Action::kAllow);
  EXPECT_TRUE(policy->rules.empty());
}

TEST(AuthorizationPolicyTest, RejectsCustomWithoutProvider) {
  EXPECT_THAT(apErrors("  action: CUSTOM\n  rules: [{}]\n"),
              ElementsAre("t.yaml:5: error: AuthorizationPolicy default/x: spec.action: the "
                          "CUSTOM action needs a provider"));
}

TEST(AuthorizationPolicyTest, RejectsProviderWithoutCustom) {
  EXPECT_THAT(apErrors("  action: DENY\n  provider: {name: ext}\n  rules: [{}]\n"),
              ElementsAre("t.yaml:6: error: AuthorizationPolicy default/x: spec.provider: a "
                          "provider can only be given with the CUSTOM action"));
}

TEST(AuthorizationPolicyTest, RejectsDenyWithoutRules) {
  EXPECT_THAT(apErrors("  action: DENY\n"),
              ElementsAre("t.yaml:5: error: AuthorizationPolicy default/x: spec.action: DENY "
                          "without rules never applies; add an empty rule {} to apply it to every "
                          "request"));
}

TEST(AuthorizationPolicyTest, RejectsIdentitiesInCustomRules) {
  EXPECT_THAT(apErrors("  action: CUSTOM\n  provider: {name: ext}\n  rules:\n"
                       "  - from: [{source: {principals: [a]}}]\n"
                       "    when: [{key: \"request.auth.claims[iss]\", values: [x]}]\n"),
              ElementsAre("t.yaml:8: error: AuthorizationPolicy default/x: spec.rules[0].from[0]."
                          "source.principals: principals is not supported with the CUSTOM action",
                          "t.yaml:9: error: AuthorizationPolicy default/x: spec.rules[0].when[0]."
                          "key: 'request.auth.claims[iss]' is not supported with the CUSTOM "
                          "action"));
}

TEST(AuthorizationPolicyTest, RejectsTargetRefNamespaceAndKind) {
  EXPECT_THAT(
      apErrors("  targetRef: {kind: Deployment, group: apps, name: d, namespace: "
               "default}\n  rules: [{}]\n"),
      ElementsAre("t.yaml:5: error: AuthorizationPolicy default/x: spec.targetRef."
                  "namespace: targetRef namespace must not be set (cross-namespace "
                  "references are not supported)",
                  "t.yaml:5: error: AuthorizationPolicy default/x: spec.targetRef.kind: a "
                  "targetRef must be a Service, a networking.istio.io ServiceEntry or a "
                  "gateway.networking.k8s.io Gateway or GatewayClass (got apps/Deployment)"));
}

TEST(AuthorizationPolicyTest, RejectsUnknownConditionKey) {
  EXPECT_THAT(apErrors("  rules:\n  - when:\n    - {key: request.color, values: [red]}\n"),
              ElementsAre("t.yaml:7: error: AuthorizationPolicy default/x: spec.rules[0].when[0]."
                          "key: unknown attribute 'request.color' (e.g. source.ip, "
                          "request.headers[name], request.auth.claims[name], destination.port)"));
}

TEST(AuthorizationPolicyTest, RejectsConditionWithoutValues) {
  EXPECT_THAT(apErrors("  rules:\n  - when:\n    - {key: source.ip}\n"),
              ElementsAre("t.yaml:7: error: AuthorizationPolicy default/x: spec.rules[0].when[0]."
                          "values: at least one of 'values' or 'notValues' must be set for key "
                          "'source.ip'"));
}

TEST(AuthorizationPolicyTest, RejectsBadIpBlockAndPort) {
  EXPECT_THAT(apErrors("  rules:\n  - from: [{source: {ipBlocks: [1.2.3.4/99]}}]\n"
                       "    to: [{operation: {ports: [\"http\"]}}]\n"),
              ElementsAre("t.yaml:6: error: AuthorizationPolicy default/x: spec.rules[0].from[0]."
                          "source.ipBlocks[0]: '1.2.3.4/99' is not a valid CIDR block (prefix "
                          "length 0-32)",
                          "t.yaml:7: error: AuthorizationPolicy default/x: spec.rules[0].to[0]."
                          "operation.ports[0]: 'http' is not a port number between 1 and 65535"));
}

TEST(AuthorizationPolicyTest, RejectsEmptySourceAndEmptyValue) {
  EXPECT_THAT(apErrors("  rules:\n  - from: [{source: {}}]\n"
                       "    to: [{operation: {methods: [\"\"]}}]\n"),
              ElementsAre("t.yaml:6: error: AuthorizationPolicy default/x: spec.rules[0].from[0]."
                          "source: a source must have at least one field",
                          "t.yaml:7: error: AuthorizationPolicy default/x: spec.rules[0].to[0]."
                          "operation.methods[0]: must not be empty"));
}

TEST(AuthorizationPolicyTest, RejectsSelectorWithTargetRef) {
  EXPECT_THAT(apErrors("  selector: {matchLabels: {app: a}}\n"
                       "  targetRef: {kind: Gateway, group: gateway.networking.k8s.io, name: g}\n"),
              ElementsAre("t.yaml:5: error: AuthorizationPolicy default/x: spec.selector: only "
                          "one of 'selector' and 'targetRef(s)' may be set"));
}

TEST(AuthorizationPolicyTest, RejectsBadAction) {
  EXPECT_THAT(apErrors("  action: REJECT\n"),
              ElementsAre("t.yaml:5: error: AuthorizationPolicy default/x: spec.action: 'REJECT' "
                          "is not one of ALLOW, DENY, AUDIT, CUSTOM"));
}

TEST(RequestAuthenticationTest, ReadsJwtRules) {
  const std::optional<RequestAuthentication> policy =
      parsedFrom(objectWith("security.istio.io/v1", "RequestAuthentication", R"(  selector:
    matchLabels: {app: httpbin}
  jwtRules:
  - issuer: testing@secure.istio.io
    jwksUri: https://raw.example.com/jwks.json
    audiences: [app]
    fromHeaders: [{name: x-jwt, prefix: "Bearer "}]
    outputClaimToHeaders: [{header: x-user, claim: sub}]
    forwardOriginalToken: true
    timeout: 5s
)"),
                 parseRequestAuthentication);
  ASSERT_TRUE(policy.has_value());
  ASSERT_EQ(policy->jwtRules.size(), 1u);
  const JwtRule& rule = policy->jwtRules[0];
  EXPECT_EQ(rule.issuer, "testing@secure.istio.io");
  EXPECT_EQ(rule.jwksUri, "https://raw.example.com/jwks.json");
  EXPECT_EQ(rule.fromHeaders[0].prefix, "Bearer ");
  EXPECT_EQ(rule.outputClaimToHeaders[0].claim, "sub");
  EXPECT_TRUE(rule.forwardOriginalToken);
  EXPECT_EQ(rule.timeout, Duration(std::chrono::seconds(5)));
}

TEST(RequestAuthenticationTest, RequiresIssuerOrJwksUri) {
  EXPECT_THAT(raErrors("  jwtRules:\n  - jwksUri: https://a.example.com/k\n"), ElementsAre());
  EXPECT_THAT(raErrors("  jwtRules:\n  - audiences: [a]\n"),
              ElementsAre("t.yaml:6: error: RequestAuthentication default/x: spec.jwtRules[0]."
                          "issuer: issuer or jwksUri is required"));
}

TEST(RequestAuthenticationTest, RejectsBadJwksUri) {
  EXPECT_THAT(raErrors("  jwtRules:\n  - issuer: i\n    jwksUri: ftp://a.example.com/k\n"),
              ElementsAre("t.yaml:7: error: RequestAuthentication default/x: spec.jwtRules[0]."
                          "jwksUri: 'ftp://a.example.com/k' is not an http:// or https:// URL"));
}

TEST(RequestAuthenticationTest, RejectsBadInlineJwksAndClaimHeader) {
  EXPECT_THAT(raErrors("  jwtRules:\n  - issuer: i\n    jwks: \"{keys\"\n"
                       "    outputClaimToHeaders: [{header: \"x y\"}]\n"),
              ElementsAre("t.yaml:7: error: RequestAuthentication default/x: spec.jwtRules[0]."
                          "jwks: jwks must be a JSON Web Key Set (JSON text)",
                          "t.yaml:8: error: RequestAuthentication default/x: spec.jwtRules[0]."
                          "outputClaimToHeaders[0].header: 'x y' is not a valid header name "
                          "(letters, digits, '-' and '_')",
                          "t.yaml:8: error: RequestAuthentication default/x: spec.jwtRules[0]."
                          "outputClaimToHeaders[0].claim: required field is missing"));
}

TEST(TelemetryTest, ReadsTracingMetricsAndLogging) {
  const std::optional<Telemetry> telemetry =
      parsedFrom(objectWith("telemetry.istio.io/v1", "Telemetry", R"(  tracing:
  - providers: [{name: zipkin}]
    randomSamplingPercentage: 10.5
    customTags:
      cluster: {literal: {value: east}}
      user: {header: {name: x-user, defaultValue: none}}
  metrics:
  - providers: [{name: prometheus}]
    overrides:
    - match: {metric: REQUEST_COUNT, mode: CLIENT}
      tagOverrides:
        request_protocol: {operation: REMOVE}
        app: {value: "filter_state['app']"}
  accessLogging:
  - providers: [{name: envoy}]
    filter: {expression: "response.code >= 400"}
)"),
                 parseTelemetry);
  ASSERT_TRUE(telemetry.has_value());
  EXPECT_THAT(telemetry->tracing[0].providers, ElementsAre("zipkin"));
  EXPECT_EQ(telemetry->tracing[0].randomSamplingPercentage, 10.5);
  EXPECT_EQ(telemetry->tracing[0].customTags.at("cluster").value, "east");
  EXPECT_EQ(telemetry->tracing[0].customTags.at("user").kind, TracingCustomTag::Kind::kHeader);
  EXPECT_EQ(telemetry->tracing[0].customTags.at("user").defaultValue, "none");
  const MetricsOverride& override_ = telemetry->metrics[0].overrides[0];
  EXPECT_EQ(override_.metric, IstioMetric::kRequestCount);
  EXPECT_EQ(override_.mode, WorkloadMode::kClient);
  EXPECT_EQ(override_.tagOverrides.at("request_protocol").operation,
            MetricTagOverride::Operation::kRemove);
  EXPECT_EQ(override_.tagOverrides.at("app").value, "filter_state['app']");
  EXPECT_EQ(telemetry->accessLogging[0].filterExpression, "response.code >= 400");
}

TEST(TelemetryTest, WarnsAboutSeveralTracingProviders) {
  EXPECT_THAT(telemetryErrors("  tracing:\n  - providers: [{name: a}, {name: b}]\n"),
              ElementsAre("t.yaml:6: warning: Telemetry default/x: spec.tracing[0].providers: "
                          "multiple tracing providers are not supported; the first is used"));
}

TEST(TelemetryTest, RejectsSamplingOver100) {
  EXPECT_THAT(telemetryErrors("  tracing:\n  - randomSamplingPercentage: 150\n"),
              ElementsAre("t.yaml:6: error: Telemetry default/x: spec.tracing[0]."
                          "randomSamplingPercentage: must be between 0 and 100 (got 150)"));
}

TEST(TelemetryTest, RejectsProviderWithoutName) {
  EXPECT_THAT(telemetryErrors("  accessLogging:\n  - providers: [{}]\n"),
              ElementsAre("t.yaml:6: error: Telemetry default/x: spec.accessLogging[0]."
                          "providers[0].name: required field is missing"));
}

TEST(TelemetryTest, RejectsUpsertWithoutValueAndBadMetric) {
  EXPECT_THAT(telemetryErrors("  metrics:\n  - overrides:\n    - match: {metric: REQUESTS}\n"
                              "      tagOverrides: {app: {operation: UPSERT}}\n"),
              ElementsAre("t.yaml:7: error: Telemetry default/x: spec.metrics[0].overrides[0]."
                          "match.metric: 'REQUESTS' is not one of ALL_METRICS, REQUEST_COUNT, "
                          "REQUEST_DURATION, REQUEST_SIZE, RESPONSE_SIZE, TCP_OPENED_CONNECTIONS, "
                          "TCP_CLOSED_CONNECTIONS, TCP_SENT_BYTES, TCP_RECEIVED_BYTES, "
                          "GRPC_REQUEST_MESSAGES, GRPC_RESPONSE_MESSAGES",
                          "t.yaml:8: error: Telemetry default/x: spec.metrics[0].overrides[0]."
                          "tagOverrides.app.value: UPSERT needs a value"));
}

TEST(TelemetryTest, RejectsTwoCustomTagKinds) {
  EXPECT_THAT(telemetryErrors("  tracing:\n  - customTags:\n      t: {literal: {value: a}, "
                              "header: {name: b}}\n"),
              ElementsAre("t.yaml:7: error: Telemetry default/x: spec.tracing[0].customTags.t."
                          "header: only one of 'literal', 'environment', 'header', 'formatter' "
                          "may be set (found 'literal', 'header')"));
}

} // namespace
} // namespace meshd::control::config
