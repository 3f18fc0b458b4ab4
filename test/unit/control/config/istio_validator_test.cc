// IstioValidator: single-object errors come through, and the cross-object checks against the
// resulting config (subsets, hosts, gateways, unreachable rules, duplicates, conflicts).
#include "control/config/istio_validator.h"

#include "control/config/object_parser.h"
#include "test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace meshd::control::config {
namespace {

using ::testing::ElementsAre;
using testing::strings;

constexpr std::string_view kReviewsService = R"(apiVersion: v1
kind: Service
metadata: {name: reviews}
spec:
  selector: {app: reviews}
  ports: [{name: http, port: 9080}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews}
spec:
  host: reviews
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
)";

std::vector<ConfigObject> parse(std::string_view yaml, std::string_view file) {
  ParseResult result = parseObjects(yaml, file);
  EXPECT_TRUE(result.diagnostics.empty())
      << (result.diagnostics.empty() ? "" : result.diagnostics[0].toString());
  return result.objects;
}

// Validates `incoming` (from in.yaml) written into a store holding `existing` (base.yaml).
std::vector<std::string> validate(std::string_view incomingYaml,
                                  std::string_view existingYaml = kReviewsService) {
  const std::vector<ConfigObject> incoming = parse(incomingYaml, "in.yaml");
  std::vector<ConfigObject> resulting = parse(existingYaml, "base.yaml");
  for (const ConfigObject& object : incoming) {
    std::erase_if(resulting, [&](const ConfigObject& old) { return old.key == object.key; });
    resulting.push_back(object);
  }
  return strings(IstioValidator().validate(incoming, resulting));
}

TEST(IstioValidatorTest, AcceptsRoutesToDefinedSubsets) {
  EXPECT_THAT(validate(R"(apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - route:
    - {destination: {host: reviews, subset: v1}, weight: 75}
    - {destination: {host: reviews.default.svc.cluster.local, subset: v2}, weight: 25}
)"),
              ElementsAre());
}

TEST(IstioValidatorTest, RejectsUndefinedSubset) {
  EXPECT_THAT(validate(R"(apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews, subset: v3}
)"),
              ElementsAre("in.yaml:8: error: VirtualService default/reviews: spec.http[0]."
                          "route[0].destination.subset: Referenced host+subset in "
                          "destinationrule not found: \"reviews+v3\""));
}

TEST(IstioValidatorTest, SubsetOfADestinationRuleInTheSameWrite) {
  EXPECT_THAT(validate(R"(apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews, subset: v3}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews}
spec:
  host: reviews
  subsets: [{name: v3, labels: {version: v3}}]
)"),
              ElementsAre());
}

TEST(IstioValidatorTest, WarnsAboutUnknownHostAndMirrorSubset) {
  EXPECT_THAT(validate(R"(apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ratings}
spec:
  hosts: [ratings]
  http:
  - route:
    - destination: {host: ratings}
    mirror: {host: reviews, subset: v9}
)"),
              ElementsAre("in.yaml:8: warning: VirtualService default/ratings: spec.http[0]."
                          "route[0].destination.host: Referenced host not found: \"ratings\" (no "
                          "Service or ServiceEntry has it)",
                          "in.yaml:9: error: VirtualService default/ratings: spec.http[0].mirror."
                          "subset: Referenced host+subset in destinationrule not found: "
                          "\"reviews+v9\""));
}

TEST(IstioValidatorTest, ServiceEntryHostsCount) {
  EXPECT_THAT(validate(R"(apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: api}
spec:
  hosts: [api.example.com]
  tcp:
  - route: [{destination: {host: api.example.com}}]
)",
                       R"(apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: api, namespace: egress}
spec:
  hosts: ["*.example.com"]
  ports: [{number: 443, name: tls, protocol: TLS}]
)"),
              ElementsAre());
}

TEST(IstioValidatorTest, WarnsAboutMissingGateway) {
  EXPECT_THAT(validate(R"(apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews.example.com]
  gateways: [mesh, edge, istio-system/ingress]
  http:
  - route: [{destination: {host: reviews}}]
)",
                       R"(apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: ingress, namespace: istio-system}
spec:
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
---
apiVersion: v1
kind: Service
metadata: {name: reviews}
)"),
              ElementsAre("in.yaml:6: warning: VirtualService default/reviews: spec.gateways[1]: "
                          "Referenced gateway not found: \"edge\""));
}

TEST(IstioValidatorTest, WarnsAboutUnreachableRule) {
  EXPECT_THAT(validate(R"(apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - match: [{uri: {prefix: /}}]
    route: [{destination: {host: reviews, subset: v1}}]
  - match: [{headers: {end-user: {exact: jason}}}]
    route: [{destination: {host: reviews, subset: v2}}]
)"),
              ElementsAre("in.yaml:9: warning: VirtualService default/reviews: spec.http[1]: rule "
                          "http[1] is unreachable: http[0] matches every request"));
}

TEST(IstioValidatorTest, WarnsAboutMatchesEarlierRulesHave) {
  EXPECT_THAT(validate(R"(apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - match: [{name: a, uri: {prefix: /api}}]
    route: [{destination: {host: reviews, subset: v1}}]
  - match: [{uri: {prefix: /api}}]
    route: [{destination: {host: reviews, subset: v2}}]
  - route: [{destination: {host: reviews, subset: v1}}]
)"),
              ElementsAre("in.yaml:9: warning: VirtualService default/reviews: spec.http[1]."
                          "match[0]: this match is not used: http[0] has the same one",
                          "in.yaml:9: warning: VirtualService default/reviews: spec.http[1]: rule "
                          "http[1] is unreachable: earlier rules have all its matches"));
}

TEST(IstioValidatorTest, WarnsAboutTcpRuleAfterCatchAll) {
  EXPECT_THAT(validate(R"(apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  tcp:
  - route: [{destination: {host: reviews}}]
  - match: [{port: 9080}]
    route: [{destination: {host: reviews}}]
)"),
              ElementsAre("in.yaml:8: warning: VirtualService default/reviews: spec.tcp[1]: rule "
                          "tcp[1] is unreachable: tcp[0] matches every connection"));
}

TEST(IstioValidatorTest, WarnsAboutDuplicateDestinationRule) {
  EXPECT_THAT(validate(R"(apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews-lb}
spec:
  host: reviews.default.svc.cluster.local
  trafficPolicy: {loadBalancer: {simple: RANDOM}}
)"),
              ElementsAre("in.yaml:5: warning: DestinationRule default/reviews-lb: spec.host: "
                          "DestinationRule default/reviews also applies to host "
                          "'reviews.default.svc.cluster.local' in this namespace; Istio merges "
                          "them and the first one's traffic policy wins"));
}

TEST(IstioValidatorTest, RejectsConflictingGatewayProtocols) {
  EXPECT_THAT(validate(R"(apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: tcp-gw}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: tcp, protocol: TCP}
    hosts: ["*.example.com"]
)",
                       R"(apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: http-gw}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: [shop.example.com]
)"),
              ElementsAre("in.yaml:7: error: Gateway default/tcp-gw: spec.servers[0].port: "
                          "conflicts with Gateway default/http-gw: port 80 is HTTP there and TCP "
                          "here for overlapping hosts on the same workloads"));
}

TEST(IstioValidatorTest, GatewaysOnOtherWorkloadsDoNotConflict) {
  EXPECT_THAT(validate(R"(apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: tcp-gw}
spec:
  selector: {istio: egressgateway}
  servers: [{port: {number: 80, name: tcp, protocol: TCP}, hosts: ["*"]}]
)",
                       R"(apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: http-gw}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
)"),
              ElementsAre());
}

TEST(IstioValidatorTest, RejectsSecondSelectorlessSidecar) {
  EXPECT_THAT(validate(R"(apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: b}
spec:
  egress: [{hosts: ["./*"]}]
)",
                       R"(apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: a}
spec:
  egress: [{hosts: ["*/*"]}]
)"),
              ElementsAre("in.yaml:5: error: Sidecar default/b: spec: Sidecar default/a "
                          "also has no workloadSelector; a workload may have only one"));
}

TEST(IstioValidatorTest, WarnsAboutMissingDelegate) {
  EXPECT_THAT(validate(R"(apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: root}
spec:
  hosts: [reviews]
  http:
  - delegate: {name: reviews-team, namespace: team}
)"),
              ElementsAre("in.yaml:7: warning: VirtualService default/root: spec.http[0]."
                          "delegate: Referenced delegate VirtualService not found: "
                          "\"team/reviews-team\""));
}

TEST(IstioValidatorTest, ReportsSingleObjectErrorsAndSkipsCrossChecks) {
  EXPECT_THAT(validate(R"(apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - route: [{destination: {host: reviews, subset: v9}}]
    timeout: 1x
)"),
              ElementsAre("in.yaml:8: error: VirtualService default/reviews: spec.http[0].timeout: "
                          "'1x' is not a duration (write it like 1.5s, 100ms or 1h)"));
}

TEST(IstioValidatorTest, OnlyIncomingObjectsAreReported) {
  const std::vector<ConfigObject> existing = parse(R"(apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: broken}
spec:
  hosts: [reviews]
  http: [{route: [{destination: {host: reviews, subset: v9}}]}]
)",
                                                   "base.yaml");
  const std::vector<ConfigObject> incoming = parse(kReviewsService, "in.yaml");
  std::vector<ConfigObject> resulting = existing;
  resulting.insert(resulting.end(), incoming.begin(), incoming.end());
  EXPECT_THAT(strings(IstioValidator().validate(incoming, resulting)), ElementsAre());
}

} // namespace
} // namespace meshd::control::config
