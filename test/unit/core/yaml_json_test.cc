// Unit tests for YAML to JSON conversion.
#include "core/yaml_json.h"

#include "nlohmann/json.hpp"
#include "gtest/gtest.h"

namespace meshd::core {
namespace {

nlohmann::json convert(std::string_view yaml) {
  auto json = yamlToJson(yaml);
  EXPECT_TRUE(json.ok()) << json.status().ToString();
  return json.ok() ? nlohmann::json::parse(*json) : nlohmann::json();
}

TEST(YamlJsonTest, PlainScalarsAreTypedQuotedOnesStayStrings) {
  const auto json = convert(R"(
port: 9080
negative: -3
big: 18446744073709551615
ratio: 0.25
enabled: true
off: false
nothing: ~
name: reviews
quotedNumber: "9080"
quotedBool: 'true'
timeout: 1.5s
)");
  EXPECT_EQ(json["port"], 9080);
  EXPECT_EQ(json["negative"], -3);
  EXPECT_EQ(json["big"].get<uint64_t>(), 18446744073709551615ULL);
  EXPECT_DOUBLE_EQ(json["ratio"].get<double>(), 0.25);
  EXPECT_EQ(json["enabled"], true);
  EXPECT_EQ(json["off"], false);
  EXPECT_TRUE(json["nothing"].is_null());
  EXPECT_EQ(json["name"], "reviews");
  EXPECT_EQ(json["quotedNumber"], "9080");
  EXPECT_EQ(json["quotedBool"], "true");
  EXPECT_EQ(json["timeout"], "1.5s");
}

TEST(YamlJsonTest, NestedMapsAndSequences) {
  const auto json = convert(R"(
listeners:
- name: a
  ports: [1, 2]
- name: b
)");
  ASSERT_TRUE(json["listeners"].is_array());
  EXPECT_EQ(json["listeners"][0]["ports"][1], 2);
  EXPECT_EQ(json["listeners"][1]["name"], "b");
}

TEST(YamlJsonTest, JsonInputWorksToo) {
  const auto json = convert(R"({"a": {"b": [1, "x", null]}})");
  EXPECT_EQ(json["a"]["b"][1], "x");
}

TEST(YamlJsonTest, ErrorsNameTheLine) {
  auto bad = yamlToJson("a: 1\nb: [unclosed\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("line "), std::string::npos);

  auto duplicate = yamlToJson("a: 1\nb: 2\na: 3\n");
  ASSERT_FALSE(duplicate.ok());
  EXPECT_EQ(duplicate.status().message(), "line 3, column 1: duplicate key 'a'");
}

TEST(YamlJsonTest, MalformedFlowInputEndsWithAnError) {
  // yaml-cpp 0.7's LoadAll alone never returns on this (found by test/fuzz/config_fuzz).
  constexpr std::string_view kLooping = "{\"ap\",onnecTIO_TUA},\n";
  const auto documents = yamlDocumentsToJson(kLooping);
  ASSERT_FALSE(documents.ok());
  EXPECT_EQ(documents.status().message(),
            "not valid YAML: the parser makes no progress (a malformed flow collection?)");
  EXPECT_FALSE(yamlDocumentsWithLines(kLooping).ok());
}

TEST(YamlJsonTest, MultipleDocuments) {
  auto documents = yamlDocumentsToJson("a: 1\n---\n---\nb: 2\n");
  ASSERT_TRUE(documents.ok());
  ASSERT_EQ(documents->size(), 2u);
  EXPECT_EQ((*documents)[1], R"({"b":2})");
}

TEST(YamlJsonTest, DocumentsWithLinesMapPointersToLines) {
  auto documents = yamlDocumentsWithLines(R"(a: 1
---
kind: VirtualService
spec:
  http:
  - route:
    - destination: {host: reviews}
  "x/y~z":
  empty:
)");
  ASSERT_TRUE(documents.ok()) << documents.status();
  ASSERT_EQ(documents->size(), 2u);
  const LocatedJson& vs = (*documents)[1];
  EXPECT_EQ(vs.value["spec"]["http"][0]["route"][0]["destination"]["host"], "reviews");
  EXPECT_EQ(vs.lines.at("/kind"), 3);
  EXPECT_EQ(vs.lines.at("/spec/http/0"), 6);
  EXPECT_EQ(vs.lines.at("/spec/http/0/route/0/destination/host"), 7);
  EXPECT_EQ(vs.lines.at("/spec/x~1y~0z"), 8);
  EXPECT_EQ(vs.lines.at("/spec/empty"), 9);
  EXPECT_EQ((*documents)[0].lines.at("/a"), 1);
}

} // namespace
} // namespace meshd::core
