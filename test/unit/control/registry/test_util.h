// Helpers for the registry tests: config objects from YAML, a registry from them, and endpoints
// as short strings ("10.0.0.1:9080 v1") that a failing assertion prints readably.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "control/config/object_parser.h"
#include "control/registry/registry.h"
#include "fmt/format.h"
#include "gtest/gtest.h"

namespace meshd::control::registry::testing {

inline std::vector<config::ConfigObject> objectsFrom(std::string_view yaml) {
  config::ParseResult result = config::parseObjects(yaml, "t.yaml");
  EXPECT_TRUE(result.diagnostics.empty())
      << (result.diagnostics.empty() ? "" : result.diagnostics[0].toString());
  return std::move(result.objects);
}

inline std::vector<std::string> strings(const std::vector<config::Diagnostic>& diagnostics) {
  std::vector<std::string> out;
  for (const config::Diagnostic& diagnostic : diagnostics) {
    out.push_back(diagnostic.toString());
  }
  return out;
}

// A registry from `yaml` and `instances`, failing the test on any diagnostic.
inline Registry registryFrom(std::string_view yaml, std::vector<WorkloadInstance> instances = {}) {
  std::vector<config::Diagnostic> diagnostics;
  Registry registry = Registry::build(objectsFrom(yaml), std::move(instances), diagnostics);
  EXPECT_TRUE(diagnostics.empty()) << (diagnostics.empty() ? "" : diagnostics[0].toString());
  return registry;
}

inline WorkloadInstance process(std::string name, std::string ns, Labels labels,
                                std::string address,
                                std::map<std::string, uint32_t> namedPorts = {}) {
  WorkloadInstance instance;
  instance.name = std::move(name);
  instance.ns = std::move(ns);
  instance.labels = std::move(labels);
  instance.address = std::move(address);
  instance.serviceAccount = "default";
  instance.namedPorts = std::move(namedPorts);
  instance.source = fmt::format("process {}/{}", instance.ns, instance.name);
  return instance;
}

// "address:port" for each endpoint, with " <version label>" when the endpoint has one.
inline std::vector<std::string> addresses(std::span<const ServiceEndpoint> endpoints) {
  std::vector<std::string> out;
  for (const ServiceEndpoint& endpoint : endpoints) {
    auto version = endpoint.labels.find("version");
    out.push_back(fmt::format("{}:{}{}", endpoint.address, endpoint.port,
                              version == endpoint.labels.end() ? "" : " " + version->second));
  }
  return out;
}

inline std::vector<std::string> hostnames(const std::vector<const Service*>& services) {
  std::vector<std::string> out;
  for (const Service* service : services) {
    out.push_back(service->hostname);
  }
  return out;
}

} // namespace meshd::control::registry::testing
