// MeshConfig files: the fields meshd uses are mapped and checked strictly (each rejection names
// the file, line and field), Istio fields meshd ignores load with a warning, fields Istio does
// not have are errors.
#include "control/model/mesh_config_file.h"

#include <fstream>

#include "test/support/temp_dir.h"
#include "gtest/gtest.h"

namespace meshd::control::model {
namespace {

using namespace std::chrono_literals;

struct Parsed {
  std::optional<MeshConfig> mesh;
  std::vector<std::string> messages; // Diagnostic::toString() of each
};

Parsed parse(std::string_view text, const MeshConfig& base = {}) {
  std::vector<config::Diagnostic> diagnostics;
  Parsed out;
  out.mesh = parseMeshConfig(text, "mesh.yaml", base, diagnostics);
  for (const config::Diagnostic& diagnostic : diagnostics) {
    out.messages.push_back(diagnostic.toString());
  }
  return out;
}

TEST(MeshConfigFileTest, TheFieldsMeshdUsesAreMapped) {
  const Parsed parsed = parse(R"(rootNamespace: mesh-root
trustDomain: example.org
outboundTrafficPolicy:
  mode: REGISTRY_ONLY
proxyListenPort: 16001
proxyInboundListenPort: 16006
connectTimeout: 2.5s
dnsRefreshRate: 30s
enableAutoMtls: false
)");
  ASSERT_TRUE(parsed.mesh.has_value());
  EXPECT_TRUE(parsed.messages.empty());
  const MeshConfig& mesh = *parsed.mesh;
  EXPECT_EQ(mesh.rootNamespace, "mesh-root");
  EXPECT_EQ(mesh.trustDomain, "example.org");
  EXPECT_EQ(mesh.outboundTrafficPolicy, MeshConfig::OutboundTrafficPolicy::kRegistryOnly);
  EXPECT_EQ(mesh.outboundListenerPort, 16001u);
  EXPECT_EQ(mesh.inboundListenerPort, 16006u);
  EXPECT_EQ(mesh.connectTimeout, 2500ms);
  EXPECT_EQ(mesh.dnsRefreshRate, 30s);
  EXPECT_FALSE(mesh.enableAutoMtls);
  EXPECT_EQ(meshConfigJson(mesh)["connectTimeout"], "2500ms");
  EXPECT_EQ(meshConfigJson(mesh)["outboundTrafficPolicy"]["mode"], "REGISTRY_ONLY");
}

TEST(MeshConfigFileTest, FieldsNotSetKeepTheBase) {
  MeshConfig base;
  base.enableAutoMtls = false;
  base.connectTimeout = 7s;
  const Parsed parsed = parse("trustDomain: td.example\n", base);
  ASSERT_TRUE(parsed.mesh.has_value());
  EXPECT_EQ(parsed.mesh->trustDomain, "td.example");
  EXPECT_FALSE(parsed.mesh->enableAutoMtls);
  EXPECT_EQ(parsed.mesh->connectTimeout, 7s);
  EXPECT_EQ(parsed.mesh->outboundTrafficPolicy, MeshConfig::OutboundTrafficPolicy::kAllowAny);
}

TEST(MeshConfigFileTest, AnEmptyFileOrJsonObjectIsAllDefaults) {
  const Parsed empty = parse("# nothing set\n");
  ASSERT_TRUE(empty.mesh.has_value());
  EXPECT_EQ(empty.mesh->rootNamespace, "istio-system");
  const Parsed json = parse(R"({"outboundTrafficPolicy": {"mode": "REGISTRY_ONLY"}})");
  ASSERT_TRUE(json.mesh.has_value());
  EXPECT_EQ(json.mesh->outboundTrafficPolicy, MeshConfig::OutboundTrafficPolicy::kRegistryOnly);
}

// A block value's line is that of its first entry (the line map's convention), hence
// defaultConfig on line 3. What `kubectl get cm istio -n istio-system -o jsonpath='{.data.mesh}'`
// gives on a typical install, plus a few fields of newer releases.
TEST(MeshConfigFileTest, ARealIstioMeshConfigLoadsWithWarningsForUnusedFields) {
  const Parsed parsed = parse(R"(accessLogFile: /dev/stdout
defaultConfig:
  discoveryAddress: istiod.istio-system.svc:15012
  proxyMetadata:
    ISTIO_META_DNS_CAPTURE: "true"
  tracing:
    zipkin:
      address: zipkin.istio-system:9411
enablePrometheusMerge: true
enableTracing: true
rootNamespace: istio-system
trustDomain: cluster.local
outboundTrafficPolicy:
  mode: ALLOW_ANY
inboundTrafficPolicy:
  mode: PASSTHROUGH
defaultServiceExportTo: ["*"]
defaultVirtualServiceExportTo: ["*"]
defaultDestinationRuleExportTo: ["*"]
localityLbSetting:
  enabled: true
outboundClusterStatName: "%SERVICE%_%SERVICE_PORT%"
extensionProviders:
- name: otel
  opentelemetry: {service: otel.observability.svc.cluster.local, port: 4317}
discoverySelectors:
- matchLabels: {istio-injection: enabled}
connectTimeout: 10s
)");
  ASSERT_TRUE(parsed.mesh.has_value()) << ::testing::PrintToString(parsed.messages);
  EXPECT_EQ(parsed.mesh->connectTimeout, 10s);
  EXPECT_EQ(parsed.mesh->defaultVirtualServiceExportTo, std::vector<std::string>{"*"});
  EXPECT_EQ(parsed.mesh->defaultDestinationRuleExportTo, std::vector<std::string>{"*"});
  const std::vector<std::string> expected = {
      "mesh.yaml:1: warning: accessLogFile: 'accessLogFile' is an Istio MeshConfig field meshd "
      "does not use; ignored",
      "mesh.yaml:3: warning: defaultConfig: 'defaultConfig' is an Istio MeshConfig field meshd "
      "does not use; ignored",
      "mesh.yaml:17: warning: defaultServiceExportTo: 'defaultServiceExportTo' is an Istio "
      "MeshConfig field meshd does not use; ignored",
      "mesh.yaml:27: warning: discoverySelectors: 'discoverySelectors' is an Istio MeshConfig "
      "field meshd does not use; ignored",
      "mesh.yaml:9: warning: enablePrometheusMerge: 'enablePrometheusMerge' is an Istio "
      "MeshConfig field meshd does not use; ignored",
      "mesh.yaml:10: warning: enableTracing: 'enableTracing' is an Istio MeshConfig field meshd "
      "does not use; ignored",
      "mesh.yaml:24: warning: extensionProviders: 'extensionProviders' is an Istio MeshConfig "
      "field meshd does not use; ignored",
      "mesh.yaml:16: warning: inboundTrafficPolicy: 'inboundTrafficPolicy' is an Istio "
      "MeshConfig field meshd does not use; ignored",
      "mesh.yaml:21: warning: localityLbSetting: 'localityLbSetting' is an Istio MeshConfig "
      "field meshd does not use; ignored",
      "mesh.yaml:22: warning: outboundClusterStatName: 'outboundClusterStatName' is an Istio "
      "MeshConfig field meshd does not use; ignored",
  };
  EXPECT_EQ(parsed.messages, expected);
}

TEST(MeshConfigFileTest, OutboundTrafficPolicyFieldsBesidesModeAreWarnedAbout) {
  const Parsed parsed = parse(R"(outboundTrafficPolicy:
  mode: REGISTRY_ONLY
  tls: {}
)");
  ASSERT_TRUE(parsed.mesh.has_value());
  EXPECT_EQ(parsed.mesh->outboundTrafficPolicy, MeshConfig::OutboundTrafficPolicy::kRegistryOnly);
  EXPECT_EQ(parsed.messages,
            std::vector<std::string>{
                "mesh.yaml:3: warning: outboundTrafficPolicy.tls: 'outboundTrafficPolicy.tls' is "
                "an Istio MeshConfig field meshd does not use; ignored"});
}

struct Rejection {
  std::string name;
  std::string yaml;
  std::string message;
};

// Test names show the case's name rather than its bytes.
void PrintTo(const Rejection& rejection, std::ostream* out) {
  *out << rejection.name;
}

class MeshConfigRejectionTest : public ::testing::TestWithParam<Rejection> {};

TEST_P(MeshConfigRejectionTest, NamesFileLineAndField) {
  const Parsed parsed = parse(GetParam().yaml);
  EXPECT_FALSE(parsed.mesh.has_value());
  ASSERT_EQ(parsed.messages.size(), 1u) << ::testing::PrintToString(parsed.messages);
  EXPECT_EQ(parsed.messages[0], GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    Rejections, MeshConfigRejectionTest,
    ::testing::Values(
        Rejection{"UnknownField", "trustDomain: a.b\nnotAMeshField: 1\n",
                  "mesh.yaml:2: error: notAMeshField: unknown field 'notAMeshField'"},
        Rejection{"Typo", "connectTimout: 1s\n",
                  "mesh.yaml:1: error: connectTimout: unknown field 'connectTimout' (did you mean "
                  "'connectTimeout'?)"},
        Rejection{"BadEnum", "outboundTrafficPolicy:\n  mode: DENY_ALL\n",
                  "mesh.yaml:2: error: outboundTrafficPolicy.mode: 'DENY_ALL' is not one of "
                  "ALLOW_ANY, REGISTRY_ONLY"},
        Rejection{"UnknownNestedField", "outboundTrafficPolicy:\n  mod: ALLOW_ANY\n",
                  "mesh.yaml:2: error: outboundTrafficPolicy.mod: unknown field 'mod' (did you "
                  "mean 'mode'?)"},
        Rejection{"BadDuration", "connectTimeout: 10 seconds\n",
                  "mesh.yaml:1: error: connectTimeout: '10 seconds' is not a duration (write it "
                  "like 1.5s, 100ms or 1h)"},
        Rejection{"ZeroDuration", "dnsRefreshRate: 0s\n",
                  "mesh.yaml:1: error: dnsRefreshRate: duration must be at least 1ms (got 0s)"},
        Rejection{"WrongType", "\nenableAutoMtls: \"yes\"\n",
                  "mesh.yaml:2: error: enableAutoMtls: must be a boolean (got a string)"},
        Rejection{"BadPort", "proxyListenPort: 70000\n",
                  "mesh.yaml:1: error: proxyListenPort: must be between 1 and 65535 (got "
                  "70000)"},
        Rejection{"BadNamespace", "rootNamespace: Istio_System\n",
                  "mesh.yaml:1: error: rootNamespace: 'Istio_System' is not a valid namespace "
                  "name (a DNS label: lowercase letters, digits and '-', at most 63 characters)"},
        Rejection{"EmptyTrustDomain", "trustDomain: \"\"\n",
                  "mesh.yaml:1: error: trustDomain: must not be empty"},
        Rejection{"NotAnObject", "- a\n- b\n",
                  "mesh.yaml:1: error: a MeshConfig must be an object (got a list)"},
        Rejection{"KubernetesObject", "apiVersion: v1\n",
                  "mesh.yaml:1: error: apiVersion: unknown field 'apiVersion': the file must "
                  "hold the MeshConfig itself (the istio ConfigMap's data.mesh, or IstioOperator "
                  "spec.meshConfig), not a Kubernetes object"},
        Rejection{"NoneExportTo", "defaultVirtualServiceExportTo: [\"~\"]\n",
                  "mesh.yaml:1: error: defaultVirtualServiceExportTo[0]: '~' is not '.', '*' or "
                  "a namespace name"},
        Rejection{"StarWithOthers", "defaultDestinationRuleExportTo: [\"*\", \".\"]\n",
                  "mesh.yaml:1: error: defaultDestinationRuleExportTo[0]: '*' cannot be combined "
                  "with other exportTo values"},
        Rejection{"EmptyExportTo", "defaultDestinationRuleExportTo: []\n",
                  "mesh.yaml:1: error: defaultDestinationRuleExportTo: must not be empty (\"*\" "
                  "exports to every namespace)"},
        Rejection{"TwoDocuments", "trustDomain: a\n---\ntrustDomain: b\n",
                  "mesh.yaml: error: expected one MeshConfig document, found 2"}),
    [](const ::testing::TestParamInfo<Rejection>& param_info) { return param_info.param.name; });

TEST(MeshConfigFileTest, ABadYamlFileNamesTheLine) {
  const Parsed parsed = parse("trustDomain: [a\nrootNamespace: x\n");
  EXPECT_FALSE(parsed.mesh.has_value());
  ASSERT_EQ(parsed.messages.size(), 1u);
  EXPECT_TRUE(parsed.messages[0].starts_with("mesh.yaml: error: ")) << parsed.messages[0];
  EXPECT_NE(parsed.messages[0].find("line "), std::string::npos) << parsed.messages[0];
}

TEST(MeshConfigFileTest, LoadsAFileAndReportsAMissingOne) {
  meshd::testing::TempDir dir;
  const std::filesystem::path file = dir.write("mesh.yaml", "enableAutoMtls: true\n");
  std::vector<config::Diagnostic> diagnostics;
  MeshConfig base;
  base.enableAutoMtls = false;
  const auto loaded = loadMeshConfigFile(file, base, diagnostics);
  ASSERT_TRUE(loaded.has_value());
  EXPECT_TRUE(loaded->enableAutoMtls);
  EXPECT_TRUE(diagnostics.empty());

  const auto missing = loadMeshConfigFile(dir.path() / "nope.yaml", base, diagnostics);
  EXPECT_FALSE(missing.has_value());
  ASSERT_EQ(diagnostics.size(), 1u);
  EXPECT_EQ(diagnostics[0].toString(),
            (dir.path() / "nope.yaml").string() + ": error: cannot read the MeshConfig file");
}

TEST(MeshConfigFileTest, TheSampleLoads) {
  std::vector<config::Diagnostic> diagnostics;
  const auto loaded = loadMeshConfigFile(
      std::string(MESHD_SOURCE_DIR) + "/samples/mesh-config/registry-only.yaml", {}, diagnostics);
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->outboundTrafficPolicy, MeshConfig::OutboundTrafficPolicy::kRegistryOnly);
  EXPECT_EQ(loaded->connectTimeout, 5s);
  ASSERT_EQ(diagnostics.size(), 1u); // accessLogFile, kept to show the warning
  EXPECT_EQ(diagnostics[0].severity, config::Diagnostic::Severity::kWarning);
}

} // namespace
} // namespace meshd::control::model
