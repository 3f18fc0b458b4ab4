// Golden translation cases (translate_case.h).
#include "translate_case.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

#include "absl/strings/str_split.h"
#include "control/config/local_workload.h"
#include "control/config/object_parser.h"
#include "control/registry/instances.h"
#include "core/yaml_json.h"
#include "fmt/format.h"
#include "google/protobuf/util/json_util.h"
#include "nlohmann/json.hpp"

namespace meshd::testing {
namespace {

using control::config::ConfigObject;
using control::model::MeshConfig;

absl::StatusOr<std::string> readText(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(fmt::format("cannot read {}", path.string()));
  }
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// One YAML document as JSON.
absl::StatusOr<nlohmann::json> readYaml(const std::filesystem::path& path) {
  auto text = readText(path);
  if (!text.ok()) {
    return text.status();
  }
  auto json = core::yamlToJson(*text);
  if (!json.ok()) {
    return absl::InvalidArgumentError(
        fmt::format("{}: {}", path.string(), json.status().ToString()));
  }
  return nlohmann::json::parse(*json);
}

absl::Status appendObjects(const std::filesystem::path& path, std::vector<ConfigObject>& out) {
  auto text = readText(path);
  if (!text.ok()) {
    return text.status();
  }
  auto parsed = control::config::parseObjects(*text, path.filename().string());
  if (!parsed.diagnostics.empty()) {
    return absl::InvalidArgumentError(parsed.diagnostics.front().toString());
  }
  for (auto& object : parsed.objects) {
    out.push_back(std::move(object));
  }
  return absl::OkStatus();
}

// mesh.yaml: {outboundTrafficPolicy: {mode}, rootNamespace, inboundListenerPort,
// outboundListenerPort}.
absl::StatusOr<MeshConfig> readMesh(const std::filesystem::path& path) {
  MeshConfig mesh;
  if (!std::filesystem::exists(path)) {
    return mesh;
  }
  auto read = readYaml(path);
  if (!read.ok()) {
    return read.status();
  }
  const nlohmann::json& value = *read;
  if (value.contains("outboundTrafficPolicy")) {
    mesh.outboundTrafficPolicy =
        value["outboundTrafficPolicy"].value("mode", "ALLOW_ANY") == "REGISTRY_ONLY"
            ? MeshConfig::OutboundTrafficPolicy::kRegistryOnly
            : MeshConfig::OutboundTrafficPolicy::kAllowAny;
  }
  mesh.rootNamespace = value.value("rootNamespace", mesh.rootNamespace);
  mesh.inboundListenerPort = value.value("inboundListenerPort", mesh.inboundListenerPort);
  mesh.outboundListenerPort = value.value("outboundListenerPort", mesh.outboundListenerPort);
  return mesh;
}

// proxies.yaml: [{name, node: <envoy.config.core.v3.Node as JSON>}].
absl::StatusOr<std::vector<CaseProxy>> readProxies(const std::filesystem::path& path) {
  auto read = readYaml(path);
  if (!read.ok()) {
    return read.status();
  }
  std::vector<CaseProxy> out;
  for (const auto& entry : *read) {
    CaseProxy proxy;
    proxy.name = entry.at("name").get<std::string>();
    const auto status =
        google::protobuf::util::JsonStringToMessage(entry.at("node").dump(), &proxy.node);
    if (!status.ok()) {
      return absl::InvalidArgumentError(
          fmt::format("{}: proxy {}: {}", path.string(), proxy.name, status.ToString()));
    }
    out.push_back(std::move(proxy));
  }
  return out;
}

} // namespace

std::filesystem::path translateCasesDir() {
  return std::filesystem::path(MESHD_SOURCE_DIR) / "test" / "testdata" / "translate";
}

std::vector<std::filesystem::path> translateCaseDirs() {
  std::vector<std::filesystem::path> out;
  for (const auto& entry : std::filesystem::directory_iterator(translateCasesDir())) {
    if (entry.is_directory()) {
      out.push_back(entry.path());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

absl::StatusOr<TranslateCase> loadTranslateCase(const std::filesystem::path& dir) {
  TranslateCase out;
  out.name = dir.filename().string();
  out.dir = dir;
  if (std::filesystem::exists(dir / "include.txt")) {
    auto list = readText(dir / "include.txt");
    if (!list.ok()) {
      return list.status();
    }
    for (const std::string& line :
         std::vector<std::string>(absl::StrSplit(*list, '\n', absl::SkipWhitespace()))) {
      if (!line.starts_with("#")) {
        const auto status =
            appendObjects(std::filesystem::path(MESHD_SOURCE_DIR) / line, out.objects);
        if (!status.ok()) {
          return status;
        }
      }
    }
  }
  if (const auto status = appendObjects(dir / "config.yaml", out.objects); !status.ok()) {
    return status;
  }
  auto mesh = readMesh(dir / "mesh.yaml");
  if (!mesh.ok()) {
    return mesh.status();
  }
  out.mesh = *mesh;
  auto proxies = readProxies(dir / "proxies.yaml");
  if (!proxies.ok()) {
    return proxies.status();
  }
  out.proxies = std::move(*proxies);
  return out;
}

std::string caseTestName(const std::filesystem::path& dir) {
  std::string name = dir.filename().string();
  for (char& c : name) {
    c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  }
  return name;
}

std::vector<control::registry::WorkloadInstance>
caseInstances(const std::vector<ConfigObject>& objects) {
  std::vector<control::registry::WorkloadInstance> out;
  int next = 10;
  for (const ConfigObject& object : objects) {
    if (object.key.kind != "LocalWorkload") {
      continue;
    }
    std::vector<control::config::Diagnostic> diagnostics;
    const auto workload = control::config::parseLocalWorkload(object, diagnostics);
    if (!workload) {
      continue; // caseSnapshot reports it
    }
    std::vector<std::string> addresses;
    if (const auto found = workload->meta.annotations.find("test.meshd.io/addresses");
        found != workload->meta.annotations.end()) {
      addresses = absl::StrSplit(found->second, ',', absl::SkipWhitespace());
    } else {
      for (uint32_t i = 0; i < workload->replicas; ++i) {
        addresses.push_back(fmt::format("127.0.0.{}", next++));
      }
    }
    for (auto& instance : control::registry::instancesOf(*workload, addresses)) {
      out.push_back(std::move(instance));
    }
  }
  return out;
}

absl::StatusOr<std::shared_ptr<const control::model::MeshSnapshot>>
caseSnapshot(const std::vector<ConfigObject>& objects, const MeshConfig& mesh) {
  std::vector<control::config::Diagnostic> diagnostics;
  for (const ConfigObject& object : objects) {
    if (object.key.kind == "LocalWorkload") {
      control::config::parseLocalWorkload(object, diagnostics);
    }
  }
  auto snapshot =
      control::model::MeshSnapshot::build(objects, caseInstances(objects), mesh, diagnostics);
  if (!diagnostics.empty()) {
    return absl::InvalidArgumentError(diagnostics.front().toString());
  }
  return snapshot;
}

namespace {

template <class Message>
nlohmann::json jsonArray(const std::vector<Message>& messages) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  nlohmann::json out = nlohmann::json::array();
  for (const auto& message : messages) {
    std::string text;
    const auto status = google::protobuf::util::MessageToJsonString(message, &text, options);
    out.push_back(status.ok() ? nlohmann::json::parse(text) : nlohmann::json(status.ToString()));
  }
  return out;
}

} // namespace

std::string resourcesJson(const control::translate::ProxyResources& resources) {
  nlohmann::json out = nlohmann::json::object();
  out["clusters"] = jsonArray(resources.clusters);
  out["endpoints"] = jsonArray(resources.endpoints);
  out["listeners"] = jsonArray(resources.listeners);
  out["routes"] = jsonArray(resources.routes);
  return out.dump(2) + "\n"; // nlohmann::json's objects keep their keys sorted
}

} // namespace meshd::testing
