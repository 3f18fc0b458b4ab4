// The translation golden cases (test/testdata/translate/<case>/, docs/translation.md "Golden
// files"): loading a case's config, instances, MeshConfig and proxies, building its snapshot, and
// printing a proxy's resources as the stable JSON the golden files hold. Shared by the golden test
// and by the mesh-proxy acceptance test (test/integration/xds/translate_accept_test.cc).
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "control/config/config_object.h"
#include "control/model/mesh_snapshot.h"
#include "control/translate/translator.h"
#include "envoy/config/core/v3/base.pb.h"

namespace meshd::testing {

// One proxy to translate for: a file name (<name>.json) and the xDS node it connects with.
struct CaseProxy {
  std::string name;
  envoy::config::core::v3::Node node;
};

struct TranslateCase {
  std::string name;
  std::filesystem::path dir;
  // include.txt's files (paths relative to the source tree), then config.yaml.
  std::vector<control::config::ConfigObject> objects;
  control::model::MeshConfig mesh; // mesh.yaml, when present
  std::vector<CaseProxy> proxies;  // proxies.yaml
};

// <source>/test/testdata/translate.
std::filesystem::path translateCasesDir();
// Every case directory, sorted.
std::vector<std::filesystem::path> translateCaseDirs();
// The case's directory name as a gtest parameter name ("reviews-v3" → "reviews_v3").
std::string caseTestName(const std::filesystem::path& dir);
absl::StatusOr<TranslateCase> loadTranslateCase(const std::filesystem::path& dir);

// The running instances of the case's LocalWorkloads: one per replica, at the addresses in the
// annotation "test.meshd.io/addresses" ("10.1.0.1,10.1.0.2"), else at 127.0.0.<n> counting from
// 10 in document order.
std::vector<control::registry::WorkloadInstance>
caseInstances(const std::vector<control::config::ConfigObject>& objects);
// The snapshot of the case's objects (an error when any of them has a diagnostic).
absl::StatusOr<std::shared_ptr<const control::model::MeshSnapshot>>
caseSnapshot(const std::vector<control::config::ConfigObject>& objects,
             const control::model::MeshConfig& mesh);

// {"clusters": [...], "endpoints": [...], "listeners": [...], "routes": [...]}: protobuf's JSON
// with proto field names, keys sorted, indented by two, ending with a newline.
std::string resourcesJson(const control::translate::ProxyResources& resources);

} // namespace meshd::testing
