// Tests for the mesh snapshot's Istio lookups: DestinationRule precedence, VirtualService gateway
// binding and visibility, Sidecar scoping, Gateway selection.
#include "control/model/mesh_snapshot.h"

#include "control/config/object_parser.h"
#include "gtest/gtest.h"

namespace meshd::control::model {
namespace {

std::shared_ptr<const MeshSnapshot> snapshotOf(const std::string& yaml) {
  auto parsed = config::parseObjects(yaml, "test.yaml");
  EXPECT_TRUE(parsed.diagnostics.empty()) << parsed.diagnostics[0].toString();
  std::vector<config::Diagnostic> diagnostics;
  auto snapshot = MeshSnapshot::build(parsed.objects, {}, MeshConfig{}, diagnostics);
  EXPECT_TRUE(diagnostics.empty()) << diagnostics[0].toString();
  return snapshot;
}

std::string drName(const Entry<config::DestinationRule>* rule) {
  return rule == nullptr ? "none" : rule->key.ns + "/" + rule->key.name;
}

TEST(MeshSnapshotTest, DestinationRulePrecedence) {
  const auto snapshot = snapshotOf(R"(
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: root-wide, namespace: istio-system}
spec: {host: "*.svc.cluster.local"}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: service-ns, namespace: backend}
spec: {host: reviews}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: client-ns, namespace: frontend}
spec: {host: reviews.backend.svc.cluster.local}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: private, namespace: backend}
spec: {host: ratings, exportTo: ["."]}
)");
  const std::string reviews = "reviews.backend.svc.cluster.local";
  EXPECT_EQ(drName(snapshot->destinationRuleFor(reviews, "frontend", "backend")),
            "frontend/client-ns");
  EXPECT_EQ(drName(snapshot->destinationRuleFor(reviews, "other", "backend")),
            "backend/service-ns");
  EXPECT_EQ(
      drName(snapshot->destinationRuleFor("details.backend.svc.cluster.local", "other", "backend")),
      "istio-system/root-wide");
  EXPECT_EQ(
      drName(snapshot->destinationRuleFor("ratings.backend.svc.cluster.local", "other", "backend")),
      "istio-system/root-wide")
      << "not exported to 'other'";
  EXPECT_EQ(drName(snapshot->destinationRuleFor("ratings.backend.svc.cluster.local", "backend",
                                                "backend")),
            "backend/private");
  EXPECT_EQ(drName(snapshot->destinationRuleFor("example.com", "x", "x")), "none");
}

TEST(MeshSnapshotTest, VirtualServiceBindingSidecarsAndGateways) {
  const auto snapshot = snapshotOf(R"(
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: mesh-only, namespace: default}
spec: {hosts: [reviews], http: [{route: [{destination: {host: reviews}}]}]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ingress, namespace: default}
spec:
  hosts: ["*"]
  gateways: [bookinfo-gateway]
  http: [{route: [{destination: {host: productpage}}]}]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: bookinfo-gateway, namespace: default}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 8080, name: http, protocol: HTTP}, hosts: ["*"]}]
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: default}
spec: {egress: [{hosts: ["./*"]}]}
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: special, namespace: default}
spec:
  workloadSelector: {labels: {app: ratings}}
  egress: [{hosts: ["*/*"]}]
)");
  const auto mesh = snapshot->virtualServicesFor("mesh", "default");
  ASSERT_EQ(mesh.size(), 1u);
  EXPECT_EQ(mesh[0]->key.name, "mesh-only");
  const auto gateway = snapshot->virtualServicesFor("default/bookinfo-gateway", "istio-system");
  ASSERT_EQ(gateway.size(), 1u);
  EXPECT_EQ(gateway[0]->key.name, "ingress");
  EXPECT_EQ(snapshot->gatewaysFor({{"istio", "ingressgateway"}, {"app", "gw"}}).size(), 1u);
  EXPECT_TRUE(snapshot->gatewaysFor({{"app", "reviews"}}).empty());
  EXPECT_EQ(snapshot->sidecarFor("default", {{"app", "ratings"}})->key.name, "special");
  EXPECT_EQ(snapshot->sidecarFor("default", {{"app", "reviews"}})->key.name, "default");
  EXPECT_EQ(snapshot->sidecarFor("other", {}), nullptr);
}

TEST(MeshSnapshotTest, EndpointOnlyChangeKeepsTheConfig) {
  const auto snapshot = snapshotOf(R"(
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs, namespace: default}
spec: {hosts: [reviews], http: [{route: [{destination: {host: reviews}}]}]}
)");
  const auto next = snapshot->withInstances({});
  EXPECT_NE(next->version(), snapshot->version());
  EXPECT_EQ(&next->virtualServices(), &snapshot->virtualServices()) << "shared, not copied";
}

} // namespace
} // namespace meshd::control::model
