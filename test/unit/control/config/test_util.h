// Helpers for the config model tests: one object from YAML, and the diagnostics a parser reports
// about it as the strings a user would see.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "control/config/object_parser.h"
#include "gtest/gtest.h"

namespace meshd::control::config::testing {

inline ConfigObject objectFrom(std::string_view yaml) {
  ParseResult result = parseObjects(yaml, "t.yaml");
  EXPECT_TRUE(result.diagnostics.empty())
      << (result.diagnostics.empty() ? "" : result.diagnostics[0].toString());
  EXPECT_EQ(result.objects.size(), 1u);
  return result.objects.empty() ? ConfigObject{} : result.objects[0];
}

inline std::vector<std::string> strings(const std::vector<Diagnostic>& diagnostics) {
  std::vector<std::string> out;
  for (const Diagnostic& diagnostic : diagnostics) {
    out.push_back(diagnostic.toString());
  }
  return out;
}

// Every diagnostic `parse` reports for the single object in `yaml`.
template <class Parse>
std::vector<std::string> diagnosticsOf(std::string_view yaml, Parse parse) {
  const ConfigObject object = objectFrom(yaml);
  std::vector<Diagnostic> out;
  parse(object, out);
  return strings(out);
}

// The typed value `parse` yields for `yaml`, failing the test on any diagnostic.
template <class Parse>
auto parsedFrom(std::string_view yaml, Parse parse) {
  const ConfigObject object = objectFrom(yaml);
  std::vector<Diagnostic> out;
  auto value = parse(object, out);
  EXPECT_TRUE(out.empty()) << (out.empty() ? "" : out[0].toString());
  return value;
}

} // namespace meshd::control::config::testing
