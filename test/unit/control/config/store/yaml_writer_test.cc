// toYaml: what FileConfigStore writes must read back (core/yaml_json.h) as exactly the same JSON.
#include "control/config/store/yaml_writer.h"

#include "core/yaml_json.h"
#include "gtest/gtest.h"

namespace meshd::control::config {
namespace {

nlohmann::json roundTrip(const nlohmann::json& value) {
  const std::string yaml = toYaml(value);
  auto documents = core::yamlDocumentsWithLines(yaml);
  EXPECT_TRUE(documents.ok()) << documents.status() << "\n" << yaml;
  EXPECT_EQ(documents.ok() ? documents->size() : 0u, 1u) << yaml;
  return documents.ok() && documents->size() == 1 ? (*documents)[0].value : nlohmann::json();
}

TEST(YamlWriterTest, ScalarsKeepTheirTypes) {
  const nlohmann::json value = {
      {"strings",
       {"true", "False", "null", "~", "", "080", "1e3", "-.5", "+1", "0x1F", "a: b", "- x", "#c",
        "multi\nline", " padded ", "ünïcode", "'quoted'", "\"dq\""}},
      {"numbers", {0, -3, 18446744073709551615ull, 0.25, 1e300, -0.0}},
      {"other", {true, false, nullptr, nlohmann::json::object(), nlohmann::json::array()}},
      {"key: with colon", 1},
      {"", "empty key"},
      {"123", "numeric key"},
  };
  EXPECT_EQ(roundTrip(value), value);
}

TEST(YamlWriterTest, ControlCharactersAndBytesThatAreNotUtf8) {
  const nlohmann::json value = {
      {"control", std::string("a\x10"
                              "b\tc\x01",
                              6)},
      {std::string("key\x7f\x1b", 5), "x"},
      {"bytes", "\xff\xfe`"},
      {"nul", std::string("a\0b", 3)},
  };
  EXPECT_EQ(roundTrip(value), value) << toYaml(value);
}

} // namespace
} // namespace meshd::control::config
