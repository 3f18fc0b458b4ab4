// MeshConfig defaultVirtualServiceExportTo / defaultDestinationRuleExportTo: the visibility of
// VirtualServices and DestinationRules that set no exportTo; their own exportTo still wins.
#include "control/config/object_parser.h"
#include "control/model/mesh_config_file.h"
#include "control/model/mesh_snapshot.h"
#include "gtest/gtest.h"

namespace meshd::control::model {
namespace {

constexpr const char* kConfig = R"(
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: backend}
spec: {host: reviews}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ratings, namespace: backend}
spec: {host: ratings, exportTo: ["*"]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: backend}
spec:
  hosts: [reviews]
  http: [{route: [{destination: {host: reviews}}]}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ratings, namespace: backend}
spec:
  hosts: [ratings]
  exportTo: ["*"]
  http: [{route: [{destination: {host: ratings}}]}]
)";

std::shared_ptr<const MeshSnapshot> snapshotWith(const std::string& meshYaml) {
  std::vector<config::Diagnostic> diagnostics;
  const std::optional<MeshConfig> mesh = parseMeshConfig(meshYaml, "mesh.yaml", {}, diagnostics);
  EXPECT_TRUE(mesh.has_value() && diagnostics.empty());
  auto parsed = config::parseObjects(kConfig, "test.yaml");
  EXPECT_TRUE(parsed.diagnostics.empty());
  auto snapshot = MeshSnapshot::build(parsed.objects, {}, mesh.value_or(MeshConfig{}), diagnostics);
  EXPECT_TRUE(diagnostics.empty());
  return snapshot;
}

// Oldest first; without creation timestamps that is by name.
std::vector<std::string> vsNames(const MeshSnapshot& snapshot, std::string_view clientNs) {
  std::vector<std::string> out;
  for (const auto* vs : snapshot.virtualServicesFor("mesh", clientNs)) {
    out.push_back(vs->key.name);
  }
  return out;
}

bool hasRule(const MeshSnapshot& snapshot, std::string_view service, std::string_view clientNs) {
  return snapshot.destinationRuleFor(std::string(service) + ".backend.svc.cluster.local", clientNs,
                                     "backend") != nullptr;
}

TEST(MeshConfigExportTest, WithoutDefaultsEverythingIsExportedEverywhere) {
  const auto snapshot = snapshotWith("");
  EXPECT_EQ(vsNames(*snapshot, "frontend"), (std::vector<std::string>{"ratings", "reviews"}));
  EXPECT_TRUE(hasRule(*snapshot, "reviews", "frontend"));
}

TEST(MeshConfigExportTest, DefaultsLimitObjectsWithoutExportTo) {
  const auto snapshot = snapshotWith(R"(defaultVirtualServiceExportTo: ["."]
defaultDestinationRuleExportTo: [".", istio-system]
)");
  EXPECT_EQ(vsNames(*snapshot, "frontend"), (std::vector<std::string>{"ratings"}));
  EXPECT_EQ(vsNames(*snapshot, "backend"), (std::vector<std::string>{"ratings", "reviews"}));
  EXPECT_FALSE(hasRule(*snapshot, "reviews", "frontend"));
  EXPECT_TRUE(hasRule(*snapshot, "reviews", "backend"));
  EXPECT_TRUE(hasRule(*snapshot, "reviews", "istio-system"));
  EXPECT_TRUE(hasRule(*snapshot, "ratings", "frontend")) << "its own exportTo wins";
}

} // namespace
} // namespace meshd::control::model
