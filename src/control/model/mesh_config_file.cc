// MeshConfig file parsing (mesh_config_file.h).
#include "control/model/mesh_config_file.h"

#include <algorithm>
#include <fstream>
#include <span>
#include <sstream>

#include "control/config/common.h"
#include "control/config/json_reader.h"
#include "core/yaml_json.h"
#include "fmt/format.h"

namespace meshd::control::model {
namespace {

using config::Diagnostic;
using config::EnumName;
using config::MessageReader;
using config::ReadContext;

// The MeshConfig fields meshd translates with (docs/meshd.md "MeshConfig").
constexpr std::string_view kUsedFields[] = {
    "rootNamespace",
    "trustDomain",
    "outboundTrafficPolicy",
    "proxyListenPort",
    "proxyInboundListenPort",
    "connectTimeout",
    "dnsRefreshRate",
    "enableAutoMtls",
    "defaultVirtualServiceExportTo",
    "defaultDestinationRuleExportTo",
};

// Istio MeshConfig fields (current and removed ones still found in old configs) meshd does not
// act on: accepted with a warning so that a mesh config written for Istio loads unchanged.
constexpr std::string_view kIgnoredIstioFields[] = {
    "proxyHttpPort",
    "hboneIdleTimeout",
    "zoneAwareLbSetting",
    "defaultTrafficPolicy",
    "serviceEntryVisibility",
    "protocolDetectionTimeout",
    "tcpKeepalive",
    "ingressClass",
    "ingressService",
    "ingressControllerMode",
    "ingressSelector",
    "enableTracing",
    "accessLogFile",
    "accessLogFormat",
    "accessLogEncoding",
    "enableEnvoyAccessLogService",
    "disableEnvoyListenerLog",
    "defaultConfig",
    "inboundTrafficPolicy",
    "configSources",
    "trustDomainAliases",
    "caCertificates",
    "defaultServiceExportTo",
    "localityLbSetting",
    "h2UpgradePolicy",
    "inboundClusterStatName",
    "outboundClusterStatName",
    "certificates",
    "serviceSettings",
    "enablePrometheusMerge",
    "verifyCertificateAtClient",
    "ca",
    "extensionProviders",
    "defaultProviders",
    "discoverySelectors",
    "pathNormalization",
    "defaultHttpRetryPolicy",
    "meshMTLS",
    "tlsDefaults",
    "serviceScopeConfigs",
    "sdsUdsPath",
    "enableSdsTokenMount",
    "thriftConfig",
    "mixerCheckServer",
    "mixerReportServer",
    "disablePolicyChecks",
    "policyCheckFailOpen",
    "sidecarToTelemetrySessionAffinity",
    "reportBatchMaxEntries",
    "reportBatchMaxTime",
    "authPolicy",
};

// Keys of a Kubernetes object: a ConfigMap or IstioOperator given where the MeshConfig belongs.
constexpr std::string_view kKubernetesKeys[] = {"apiVersion", "kind", "metadata", "data", "spec"};

constexpr EnumName<MeshConfig::OutboundTrafficPolicy> kOutboundModes[] = {
    {"ALLOW_ANY", MeshConfig::OutboundTrafficPolicy::kAllowAny},
    {"REGISTRY_ONLY", MeshConfig::OutboundTrafficPolicy::kRegistryOnly},
};

template <class Names>
bool contains(const Names& names, std::string_view name) {
  return std::find(std::begin(names), std::end(names), name) != std::end(names);
}

std::string ignoredMessage(std::string_view field) {
  return fmt::format("'{}' is an Istio MeshConfig field meshd does not use; ignored", field);
}

// Warns about Istio fields meshd ignores and reports fields Istio does not have; returns the
// document with only the fields meshd reads, for MessageReader's own checks.
nlohmann::json usedFieldsOf(ReadContext& ctx, const nlohmann::json& document) {
  std::vector<std::string_view> known(std::begin(kUsedFields), std::end(kUsedFields));
  known.insert(known.end(), std::begin(kIgnoredIstioFields), std::end(kIgnoredIstioFields));
  nlohmann::json used = nlohmann::json::object();
  for (const auto& [name, value] : document.items()) {
    const std::string pointer = config::childPointer("", name);
    if (contains(kUsedFields, name)) {
      used[name] = value;
    } else if (contains(kIgnoredIstioFields, name)) {
      ctx.warning(pointer, ignoredMessage(name));
    } else if (contains(kKubernetesKeys, name)) {
      ctx.error(pointer, fmt::format("unknown field '{}': the file must hold the MeshConfig "
                                     "itself (the istio ConfigMap's data.mesh, or IstioOperator "
                                     "spec.meshConfig), not a Kubernetes object",
                                     name));
    } else {
      const std::string suggestion = config::closestName(name, known);
      ctx.error(pointer, suggestion.empty() ? fmt::format("unknown field '{}'", name)
                                            : fmt::format("unknown field '{}' (did you mean '{}'?)",
                                                          name, suggestion));
    }
  }
  return used;
}

// OutboundTrafficPolicy's fields besides `mode` (tls, and egressProxy of some releases).
constexpr std::string_view kIgnoredOutboundFields[] = {"tls", "egressProxy"};

void readOutboundTrafficPolicy(ReadContext& ctx, const nlohmann::json& value,
                               const std::string& pointer, MeshConfig& mesh) {
  nlohmann::json used = value;
  if (used.is_object()) {
    for (std::string_view field : kIgnoredOutboundFields) {
      if (used.contains(field)) {
        ctx.warning(config::childPointer(pointer, field),
                    fmt::format("'outboundTrafficPolicy.{}' is an Istio MeshConfig field meshd "
                                "does not use; ignored",
                                field));
        used.erase(std::string(field));
      }
    }
  }
  const MessageReader reader(ctx, used, pointer, {"mode"});
  if (auto mode = reader.enumeration<MeshConfig::OutboundTrafficPolicy>("mode", kOutboundModes)) {
    mesh.outboundTrafficPolicy = *mode;
  }
}

// A default exportTo: ".", "*" or namespace names, not empty, no duplicates, "*" alone (Istio's
// check of exportTo on a VirtualService or DestinationRule).
std::vector<std::string> readDefaultExportTo(const MessageReader& reader, std::string_view field) {
  std::vector<std::string> values = reader.strings(field);
  if (reader.has(field) && reader.raw(field)->is_array() && values.empty()) {
    reader.error(field, "must not be empty (\"*\" exports to every namespace)");
  }
  std::vector<std::string> seen;
  for (size_t i = 0; i < values.size(); ++i) {
    const std::string& value = values[i];
    const std::string pointer = config::childPointer(reader.pointer(field), std::to_string(i));
    if (value != "." && value != "*" && !config::isDnsLabel(value)) {
      reader.context().error(pointer,
                             fmt::format("'{}' is not '.', '*' or a namespace name", value));
    } else if (contains(seen, value)) {
      reader.context().error(pointer, fmt::format("duplicate exportTo value '{}'", value));
    } else if (value == "*" && values.size() > 1) {
      reader.context().error(pointer, "'*' cannot be combined with other exportTo values");
    }
    seen.push_back(value);
  }
  return values;
}

void readFields(ReadContext& ctx, const nlohmann::json& used, MeshConfig& mesh) {
  // `used` holds only kUsedFields (usedFieldsOf), so this list only has to name them.
  const MessageReader reader(ctx, used, "",
                             {"rootNamespace", "trustDomain", "outboundTrafficPolicy",
                              "proxyListenPort", "proxyInboundListenPort", "connectTimeout",
                              "dnsRefreshRate", "enableAutoMtls", "defaultVirtualServiceExportTo",
                              "defaultDestinationRuleExportTo"});
  if (reader.has("rootNamespace")) {
    const std::string ns = config::readDnsLabel(reader, "rootNamespace", "namespace name", false);
    if (!ns.empty() && config::isDnsLabel(ns)) {
      mesh.rootNamespace = ns;
    }
  }
  if (auto trustDomain = reader.nonEmpty("trustDomain")) {
    mesh.trustDomain = *trustDomain;
  }
  if (const nlohmann::json* policy = reader.raw("outboundTrafficPolicy")) {
    readOutboundTrafficPolicy(ctx, *policy, reader.pointer("outboundTrafficPolicy"), mesh);
  }
  if (auto port = reader.port("proxyListenPort")) {
    mesh.outboundListenerPort = *port;
  }
  if (auto port = reader.port("proxyInboundListenPort")) {
    mesh.inboundListenerPort = *port;
  }
  if (auto timeout = reader.duration("connectTimeout")) {
    mesh.connectTimeout = std::chrono::duration_cast<std::chrono::milliseconds>(*timeout);
  }
  if (auto rate = reader.duration("dnsRefreshRate")) {
    mesh.dnsRefreshRate = std::chrono::duration_cast<std::chrono::milliseconds>(*rate);
  }
  if (auto autoMtls = reader.boolean("enableAutoMtls")) {
    mesh.enableAutoMtls = *autoMtls;
  }
  if (reader.has("defaultVirtualServiceExportTo")) {
    mesh.defaultVirtualServiceExportTo =
        readDefaultExportTo(reader, "defaultVirtualServiceExportTo");
  }
  if (reader.has("defaultDestinationRuleExportTo")) {
    mesh.defaultDestinationRuleExportTo =
        readDefaultExportTo(reader, "defaultDestinationRuleExportTo");
  }
}

Diagnostic fileError(const std::string& file, std::string message) {
  Diagnostic out;
  out.file = file;
  out.message = std::move(message);
  return out;
}

std::string durationText(std::chrono::milliseconds value) {
  return value.count() % 1000 == 0 ? fmt::format("{}s", value.count() / 1000)
                                   : fmt::format("{}ms", value.count());
}

} // namespace

std::optional<MeshConfig> parseMeshConfig(std::string_view text, const std::string& file,
                                          const MeshConfig& base,
                                          std::vector<Diagnostic>& diagnostics) {
  auto documents = core::yamlDocumentsWithLines(text);
  if (!documents.ok()) {
    diagnostics.push_back(fileError(file, std::string(documents.status().message())));
    return std::nullopt;
  }
  if (documents->size() > 1) {
    diagnostics.push_back(fileError(
        file, fmt::format("expected one MeshConfig document, found {}", documents->size())));
    return std::nullopt;
  }
  MeshConfig mesh = base;
  if (documents->empty() || documents->front().value.is_null()) {
    return mesh; // an empty mesh config: every default
  }
  config::ConfigObject object;
  object.file = file;
  object.json = std::move(documents->front().value);
  object.lines = std::move(documents->front().lines);
  ReadContext ctx(object, diagnostics);
  if (!object.json.is_object()) {
    ctx.error("", fmt::format("a MeshConfig must be an object (got {})",
                              config::jsonTypeName(object.json)));
    return std::nullopt;
  }
  const nlohmann::json used = usedFieldsOf(ctx, object.json);
  readFields(ctx, used, mesh);
  if (ctx.failed()) {
    return std::nullopt;
  }
  return mesh;
}

std::optional<MeshConfig> loadMeshConfigFile(const std::filesystem::path& path,
                                             const MeshConfig& base,
                                             std::vector<Diagnostic>& diagnostics,
                                             std::string* text) {
  std::error_code error;
  std::ifstream in(path, std::ios::binary);
  if (!in || !std::filesystem::is_regular_file(path, error)) {
    if (text != nullptr) {
      text->clear();
    }
    diagnostics.push_back(fileError(path.string(), "cannot read the MeshConfig file"));
    return std::nullopt;
  }
  std::stringstream content;
  content << in.rdbuf();
  std::string read = content.str();
  if (text != nullptr) {
    *text = read;
  }
  return parseMeshConfig(read, path.string(), base, diagnostics);
}

nlohmann::json meshConfigJson(const MeshConfig& mesh) {
  const bool registryOnly =
      mesh.outboundTrafficPolicy == MeshConfig::OutboundTrafficPolicy::kRegistryOnly;
  return {
      {"rootNamespace", mesh.rootNamespace},
      {"trustDomain", mesh.trustDomain},
      {"outboundTrafficPolicy", {{"mode", registryOnly ? "REGISTRY_ONLY" : "ALLOW_ANY"}}},
      {"proxyListenPort", mesh.outboundListenerPort},
      {"proxyInboundListenPort", mesh.inboundListenerPort},
      {"connectTimeout", durationText(mesh.connectTimeout)},
      {"dnsRefreshRate", durationText(mesh.dnsRefreshRate)},
      {"enableAutoMtls", mesh.enableAutoMtls},
      {"defaultVirtualServiceExportTo", mesh.defaultVirtualServiceExportTo},
      {"defaultDestinationRuleExportTo", mesh.defaultDestinationRuleExportTo},
  };
}

} // namespace meshd::control::model
