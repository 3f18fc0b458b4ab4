// Text to ConfigObjects (object_parser.h).
#include "control/config/object_parser.h"

#include <regex>
#include <set>

#include "absl/strings/str_join.h"
#include "control/config/kinds.h"
#include "core/status.h"
#include "fmt/format.h"

namespace meshd::control::config {
namespace {

// Kubernetes object names: a DNS-1123 subdomain; namespaces: a DNS-1123 label.
bool isDnsSubdomain(const std::string& s) {
  static const std::regex kSubdomain(
      "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$");
  return !s.empty() && s.size() <= 253 && std::regex_match(s, kSubdomain);
}

bool isDnsLabel(const std::string& s) {
  static const std::regex kLabel("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$");
  return !s.empty() && s.size() <= 63 && std::regex_match(s, kLabel);
}

const nlohmann::json* stringField(const nlohmann::json& object, const char* name) {
  auto it = object.find(name);
  return it != object.end() && it->is_string() ? &*it : nullptr;
}

// Checks apiVersion, kind and metadata of `object` (whose json/lines/file are set) and fills its
// key. Returns false with diagnostics when the object cannot be used.
bool readHeader(ConfigObject& object, const std::string& defaultNamespace,
                std::vector<Diagnostic>& diagnostics) {
  const nlohmann::json& json = object.json;
  auto fail = [&](const std::string& pointer, std::string message) {
    diagnostics.push_back(errorAt(object, pointer, std::move(message)));
    return false;
  };
  if (!json.is_object()) {
    return fail("", "a document must be an object with apiVersion, kind and metadata");
  }
  const nlohmann::json* kind = stringField(json, "kind");
  const nlohmann::json* apiVersion = stringField(json, "apiVersion");
  if (kind == nullptr) {
    return fail("/kind", "kind is required and must be a string");
  }
  object.key.kind = kind->get<std::string>();
  const KindInfo* info = findKind(object.key.kind);
  if (info == nullptr || info->kind != object.key.kind) {
    std::vector<std::string> names;
    for (const KindInfo& known : knownKinds()) {
      names.emplace_back(known.kind);
    }
    return fail("/kind", fmt::format("unknown kind '{}' (known: {})", object.key.kind,
                                     absl::StrJoin(names, ", ")));
  }
  if (apiVersion == nullptr) {
    return fail("/apiVersion", "apiVersion is required and must be a string");
  }
  object.apiVersion = apiVersion->get<std::string>();
  bool versionKnown = false;
  std::vector<std::string> accepted;
  for (std::string_view version : info->versions) {
    const std::string full =
        info->group.empty() ? std::string(version) : fmt::format("{}/{}", info->group, version);
    versionKnown = versionKnown || full == object.apiVersion;
    accepted.push_back(full);
  }
  if (!versionKnown) {
    return fail("/apiVersion", fmt::format("{} is not served as '{}' (use {})", info->kind,
                                           object.apiVersion, absl::StrJoin(accepted, ", ")));
  }
  auto metadata = json.find("metadata");
  if (metadata == json.end() || !metadata->is_object()) {
    return fail("/metadata", "metadata is required and must be an object");
  }
  const nlohmann::json* name = stringField(*metadata, "name");
  if (name == nullptr) {
    return fail("/metadata/name", "metadata.name is required and must be a string");
  }
  object.key.name = name->get<std::string>();
  if (!isDnsSubdomain(object.key.name)) {
    return fail("/metadata/name",
                fmt::format("'{}' is not a valid name (lowercase letters, digits, '-' and '.', "
                            "starting and ending with a letter or digit, at most 253 characters)",
                            object.key.name));
  }
  if (!info->namespaced) {
    if (metadata->contains("namespace")) {
      return fail("/metadata/namespace",
                  fmt::format("{} is cluster-scoped and has no namespace", info->kind));
    }
    return true;
  }
  if (metadata->contains("namespace")) {
    const nlohmann::json* ns = stringField(*metadata, "namespace");
    if (ns == nullptr || !isDnsLabel(ns->get<std::string>())) {
      return fail("/metadata/namespace",
                  "metadata.namespace must be a DNS label (lowercase letters, digits and '-', at "
                  "most 63 characters)");
    }
    object.key.ns = ns->get<std::string>();
  } else {
    object.key.ns = defaultNamespace;
    object.json["metadata"]["namespace"] = defaultNamespace;
  }
  return true;
}

void addObject(ConfigObject object, const std::string& defaultNamespace, ParseResult& result,
               std::set<ObjectKey>& seen) {
  if (!readHeader(object, defaultNamespace, result.diagnostics)) {
    return;
  }
  if (!seen.insert(object.key).second) {
    result.diagnostics.push_back(
        errorAt(object, "/metadata/name", "the same object appears twice in this input"));
    return;
  }
  result.objects.push_back(std::move(object));
}

} // namespace

ParseResult parseObjects(std::string_view text, std::string_view file,
                         const std::string& defaultNamespace) {
  ParseResult result;
  auto documents = core::yamlDocumentsWithLines(text);
  if (!documents.ok()) {
    Diagnostic syntax;
    syntax.file = std::string(file);
    syntax.message = fmt::format("not valid YAML or JSON: {}", documents.status().message());
    result.diagnostics.push_back(std::move(syntax));
    return result;
  }
  std::set<ObjectKey> seen;
  for (core::LocatedJson& document : *documents) {
    ConfigObject object;
    object.json = std::move(document.value);
    object.lines = std::move(document.lines);
    object.file = std::string(file);
    addObject(std::move(object), defaultNamespace, result, seen);
  }
  return result;
}

ParseResult parseObject(nlohmann::json json, const std::string& defaultNamespace) {
  ParseResult result;
  std::set<ObjectKey> seen;
  ConfigObject object;
  object.json = std::move(json);
  addObject(std::move(object), defaultNamespace, result, seen);
  return result;
}

} // namespace meshd::control::config
