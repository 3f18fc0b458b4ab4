// A ConfigValidator for store and API tests, driven by the objects themselves: `spec.invalid: true`
// is an error, `spec.warn: true` a warning, and `spec.requires: "Kind ns/name"` is an error unless
// that object is in the resulting config (a cross-object check, like a VirtualService's subset).
#pragma once

#include <atomic>
#include <string>
#include <vector>

#include "control/config/diagnostic.h"
#include "control/config/object_parser.h"
#include "gtest/gtest.h"

namespace meshd::control::config {

class FakeValidator final : public ConfigValidator {
public:
  std::vector<Diagnostic> validate(const std::vector<ConfigObject>& incoming,
                                   const std::vector<ConfigObject>& resulting) const override {
    ++calls;
    std::vector<Diagnostic> out;
    for (const ConfigObject& object : incoming) {
      const nlohmann::json& spec = object.spec();
      if (spec.value("invalid", false)) {
        out.push_back(errorAt(object, "/spec/invalid", "this object is invalid"));
      }
      if (spec.value("warn", false)) {
        out.push_back(warningAt(object, "/spec/warn", "this object is dubious"));
      }
      const std::string required = spec.value("requires", "");
      if (!required.empty() && !contains(resulting, required)) {
        out.push_back(errorAt(object, "/spec/requires", required + " does not exist"));
      }
    }
    return out;
  }

  mutable std::atomic<int> calls{0};

private:
  static bool contains(const std::vector<ConfigObject>& objects, const std::string& key) {
    for (const ConfigObject& object : objects) {
      if (object.key.toString() == key) {
        return true;
      }
    }
    return false;
  }
};

// One object from YAML (the test fails if it does not parse).
inline ConfigObject objectFromYaml(const std::string& yaml, const std::string& file = "test.yaml") {
  ParseResult parsed = parseObjects(yaml, file);
  EXPECT_TRUE(parsed.diagnostics.empty())
      << (parsed.diagnostics.empty() ? "" : parsed.diagnostics[0].toString());
  EXPECT_EQ(parsed.objects.size(), 1u);
  return parsed.objects.empty() ? ConfigObject{} : parsed.objects[0];
}

// A Gateway named `name` in `ns` whose spec is `spec` (flow-style YAML).
inline ConfigObject gateway(const std::string& name, const std::string& spec = "{}",
                            const std::string& ns = "default") {
  return objectFromYaml("apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata:\n  name: " +
                        name + "\n  namespace: " + ns + "\nspec: " + spec + "\n");
}

} // namespace meshd::control::config
