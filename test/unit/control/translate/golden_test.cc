// Golden files of translation (docs/translation.md, "Golden files"): for every case under
// test/testdata/translate/ and every proxy of its proxies.yaml, the whole ProxyResources as JSON
// must equal <proxy>.json; translating twice must give the same bytes. With MESHD_UPDATE_GOLDEN=1
// in the environment the files are rewritten instead (and the test reports what changed).
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "control/translate/translator.h"
#include "translate_case.h"
#include "gtest/gtest.h"

namespace meshd::testing {
namespace {

bool updating() {
  const char* update = std::getenv("MESHD_UPDATE_GOLDEN");
  return update != nullptr && std::string(update) == "1";
}

std::string readOrEmpty(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class TranslateGoldenTest : public ::testing::TestWithParam<std::filesystem::path> {};

TEST_P(TranslateGoldenTest, MatchesTheGoldenFiles) {
  const auto loaded = loadTranslateCase(GetParam());
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const auto snapshot = caseSnapshot(loaded->objects, loaded->mesh);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  ASSERT_FALSE(loaded->proxies.empty()) << "proxies.yaml lists no proxy";
  for (const auto& proxy : loaded->proxies) {
    SCOPED_TRACE(proxy.name);
    const auto context = control::translate::ProxyContext::fromNode(proxy.node);
    const std::string actual = resourcesJson(control::translate::translate(**snapshot, context));
    EXPECT_EQ(actual, resourcesJson(control::translate::translate(**snapshot, context)))
        << "translation is not deterministic";
    const auto golden = GetParam() / (proxy.name + ".json");
    if (updating()) {
      std::ofstream(golden) << actual;
      continue;
    }
    ASSERT_TRUE(std::filesystem::exists(golden))
        << golden << " is missing: run with MESHD_UPDATE_GOLDEN=1 (docs/translation.md)";
    EXPECT_EQ(actual, readOrEmpty(golden))
        << golden << " differs; if the change is intended, regenerate with MESHD_UPDATE_GOLDEN=1";
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, TranslateGoldenTest, ::testing::ValuesIn(translateCaseDirs()),
                         [](const auto& param_info) { return caseTestName(param_info.param); });

} // namespace
} // namespace meshd::testing
