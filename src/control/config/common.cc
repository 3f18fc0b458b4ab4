// Shared types and checks (common.h).
#include "control/config/common.h"

#include <arpa/inet.h>

#include <algorithm>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "fmt/format.h"
#include "fmt/ranges.h"
#include "re2/re2.h"

namespace meshd::control::config {
namespace {

bool isAlnum(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c));
}

// Letters and digits at both ends, `middle` characters inside.
bool isToken(std::string_view value, std::string_view middle, size_t maxLength) {
  if (value.empty() || value.size() > maxLength || !isAlnum(value.front()) ||
      !isAlnum(value.back())) {
    return false;
  }
  return std::all_of(value.begin(), value.end(), [&](char c) {
    return isAlnum(c) || middle.find(c) != std::string_view::npos;
  });
}

bool isAnyCaseDnsLabel(std::string_view value) {
  return isToken(value, "-", 63);
}

} // namespace

bool isDnsLabel(std::string_view value) {
  return isAnyCaseDnsLabel(value) && std::none_of(value.begin(), value.end(), [](char c) {
           return absl::ascii_isupper(static_cast<unsigned char>(c));
         });
}

std::string checkFqdn(std::string_view host) {
  if (host.empty()) {
    return "host name must not be empty";
  }
  if (host.size() > 255) {
    return fmt::format("host name is longer than 255 characters");
  }
  std::string_view rest = host;
  if (rest.back() == '.') {
    rest.remove_suffix(1); // a trailing dot is allowed in an FQDN
  }
  while (true) {
    const size_t dot = rest.find('.');
    if (!isAnyCaseDnsLabel(rest.substr(0, dot))) {
      return fmt::format("'{}' is not a valid host name (labels of letters, digits and '-', at "
                         "most 63 characters each, separated by '.')",
                         host);
    }
    if (dot == std::string_view::npos) {
      return "";
    }
    rest.remove_prefix(dot + 1);
  }
}

std::string checkWildcardHost(std::string_view host) {
  if (host == "*") {
    return "";
  }
  if (host.starts_with("*.")) {
    return checkFqdn(host.substr(2)).empty()
               ? ""
               : fmt::format("'{}' is not a valid wildcard host (\"*\" or \"*.\" followed by "
                             "a host name)",
                             host);
  }
  if (host.find('*') != std::string_view::npos) {
    return fmt::format("'{}' is not a valid host: a wildcard must be the whole name or its "
                       "first label (\"*.example.com\")",
                       host);
  }
  return checkFqdn(host);
}

bool isIpAddress(std::string_view value) {
  const std::string text(value);
  unsigned char buffer[16];
  return inet_pton(AF_INET, text.c_str(), buffer) == 1 ||
         inet_pton(AF_INET6, text.c_str(), buffer) == 1;
}

std::string checkCidrOrIp(std::string_view value) {
  const size_t slash = value.find('/');
  const std::string_view address = value.substr(0, slash);
  if (!isIpAddress(address)) {
    return fmt::format("'{}' is not an IP address or CIDR block", value);
  }
  if (slash == std::string_view::npos) {
    return "";
  }
  const std::string_view bits = value.substr(slash + 1);
  const int maxBits = address.find(':') == std::string_view::npos ? 32 : 128;
  int prefix = 0;
  if (bits.empty() || bits.size() > 3 ||
      !std::all_of(bits.begin(), bits.end(),
                   [](char c) { return absl::ascii_isdigit(static_cast<unsigned char>(c)); }) ||
      (prefix = std::stoi(std::string(bits))) > maxBits) {
    return fmt::format("'{}' is not a valid CIDR block (prefix length 0-{})", value, maxBits);
  }
  return "";
}

std::string checkLabelKey(std::string_view key) {
  std::string_view name = key;
  if (const size_t slash = key.find('/'); slash != std::string_view::npos) {
    const std::string_view prefix = key.substr(0, slash);
    name = key.substr(slash + 1);
    if (prefix.empty() || prefix.size() > 253 || !checkFqdn(prefix).empty() ||
        !isDnsLabel(prefix.substr(0, prefix.find('.')))) {
      return fmt::format("'{}' is not a valid label key: the prefix must be a lowercase DNS "
                         "subdomain",
                         key);
    }
  }
  if (!isToken(name, "-_.", 63)) {
    return fmt::format("'{}' is not a valid label key (letters, digits, '-', '_' and '.', "
                       "starting and ending with a letter or digit, at most 63 characters, "
                       "optionally after a DNS prefix and '/')",
                       key);
  }
  return "";
}

std::string checkLabelValue(std::string_view value) {
  if (value.empty() || isToken(value, "-_.", 63)) {
    return "";
  }
  return fmt::format("'{}' is not a valid label value (letters, digits, '-', '_' and '.', "
                     "starting and ending with a letter or digit, at most 63 characters)",
                     value);
}

std::string checkHeaderName(std::string_view name) {
  if (name.empty()) {
    return "header name must not be empty";
  }
  const bool valid = std::all_of(name.begin(), name.end(),
                                 [](char c) { return isAlnum(c) || c == '-' || c == '_'; });
  return valid
             ? ""
             : fmt::format("'{}' is not a valid header name (letters, digits, '-' and '_')", name);
}

std::string checkRegex(std::string_view regex) {
  if (regex.empty()) {
    return "regex must not be empty";
  }
  if (regex.size() > 1024) {
    // Istio's limit: Envoy bounds the RE2 program size, which is always larger than the length.
    return fmt::format("regex is too large ({} characters; at most 1024)", regex.size());
  }
  RE2::Options options;
  options.set_log_errors(false);
  const RE2 compiled(re2::StringPiece(regex.data(), regex.size()), options);
  return compiled.ok() ? ""
                       : fmt::format("'{}' is not a valid RE2 regex: {}", regex, compiled.error());
}

namespace {

constexpr std::pair<std::string_view, Protocol> kProtocols[] = {
    {"HTTP", Protocol::kHttp},   {"HTTPS", Protocol::kHttps},      {"HTTP2", Protocol::kHttp2},
    {"GRPC", Protocol::kGrpc},   {"GRPC-Web", Protocol::kGrpcWeb}, {"TCP", Protocol::kTcp},
    {"TLS", Protocol::kTls},     {"Mongo", Protocol::kMongo},      {"MySQL", Protocol::kMySql},
    {"Redis", Protocol::kRedis}, {"UDP", Protocol::kUdp},
};

} // namespace

std::string_view protocolName(Protocol protocol) {
  for (const auto& [name, value] : kProtocols) {
    if (value == protocol) {
      return name;
    }
  }
  return "";
}

std::optional<Protocol> parseProtocol(std::string_view text) {
  for (const auto& [name, value] : kProtocols) {
    if (absl::EqualsIgnoreCase(absl::string_view(name.data(), name.size()),
                               absl::string_view(text.data(), text.size()))) {
      return value;
    }
  }
  return std::nullopt;
}

std::optional<Protocol> readProtocol(const MessageReader& reader, std::string_view field) {
  const std::optional<std::string> text = reader.string(field);
  if (!text) {
    return std::nullopt;
  }
  std::optional<Protocol> protocol = parseProtocol(*text);
  if (!protocol) {
    std::vector<std::string_view> names;
    for (const auto& entry : kProtocols) {
      names.push_back(entry.first);
    }
    reader.error(field, fmt::format("'{}' is not a valid protocol (one of {})", *text,
                                    fmt::join(names, ", ")));
  }
  return protocol;
}

void checkTopLevel(ReadContext& ctx) {
  const MessageReader top(ctx, ctx.object().json, "",
                          {"apiVersion", "kind", "metadata", "spec", "status"});
  const nlohmann::json& json = ctx.object().json;
  if (auto spec = json.find("spec"); spec != json.end() && !spec->is_null() && !spec->is_object()) {
    ctx.error("/spec", fmt::format("must be an object (got {})", jsonTypeName(*spec)));
  }
}

MessageReader readSpec(ReadContext& ctx, std::initializer_list<std::string_view> fields) {
  static const nlohmann::json kEmpty = nlohmann::json::object();
  const nlohmann::json& json = ctx.object().json;
  checkTopLevel(ctx);
  auto spec = json.find("spec");
  return MessageReader(ctx, spec == json.end() || !spec->is_object() ? kEmpty : *spec, "/spec",
                       fields);
}

ObjectMeta readObjectMeta(ReadContext& ctx) {
  const ConfigObject& object = ctx.object();
  ObjectMeta meta{object.key.name, object.key.ns, {}, {}};
  auto it = object.json.find("metadata");
  if (it == object.json.end()) {
    return meta;
  }
  // Kubernetes metadata fields the mesh does not use (uid, generation, ...) are accepted as they
  // come from `kubectl get -o yaml`.
  const MessageReader reader(ctx, *it, "/metadata",
                             {"name", "namespace", "labels", "annotations", "uid",
                              "resourceVersion", "generation", "creationTimestamp", "managedFields",
                              "ownerReferences", "finalizers", "generateName", "deletionTimestamp",
                              "deletionGracePeriodSeconds", "selfLink"});
  meta.labels = readLabels(reader, "labels");
  meta.annotations = reader.stringMap("annotations");
  return meta;
}

Labels readLabels(const MessageReader& reader, std::string_view field) {
  Labels labels = reader.stringMap(field);
  for (const auto& [key, value] : labels) {
    const std::string pointer = childPointer(reader.pointer(field), key);
    if (std::string error = checkLabelKey(key); !error.empty()) {
      reader.context().error(pointer, std::move(error));
    } else if (std::string valueError = checkLabelValue(value); !valueError.empty()) {
      reader.context().error(pointer, std::move(valueError));
    }
  }
  return labels;
}

std::optional<Labels> readSelector(const MessageReader& reader, std::string_view field,
                                   std::string_view labelsField) {
  return reader.message(field,
                        [&](ReadContext& ctx, const nlohmann::json& value,
                            const std::string& pointer) -> std::optional<Labels> {
                          const MessageReader selector(ctx, value, pointer, {labelsField});
                          if (!selector.ok()) {
                            return std::nullopt;
                          }
                          return readLabels(selector, labelsField);
                        });
}

std::optional<PolicyTargetReference> readTargetRef(ReadContext& ctx, const nlohmann::json& value,
                                                   const std::string& pointer) {
  const MessageReader reader(ctx, value, pointer, {"group", "kind", "name", "namespace"});
  if (!reader.ok()) {
    return std::nullopt;
  }
  PolicyTargetReference ref;
  ref.group = reader.string("group").value_or("");
  ref.ns = reader.string("namespace").value_or("");
  if (reader.require("kind")) {
    ref.kind = reader.nonEmpty("kind").value_or("");
  }
  if (reader.require("name")) {
    ref.name = reader.nonEmpty("name").value_or("");
  }
  if (reader.has("namespace")) {
    reader.error("namespace", "targetRef namespace must not be set (cross-namespace references "
                              "are not supported)");
  }
  // What Istio lets a policy target: a Service, a ServiceEntry, a Gateway API Gateway or class.
  const std::string group = ref.group.empty() ? "core" : ref.group;
  const bool allowed = (ref.kind == "Service" && group == "core") ||
                       (ref.kind == "ServiceEntry" && group == "networking.istio.io") ||
                       ((ref.kind == "Gateway" || ref.kind == "GatewayClass") &&
                        group == "gateway.networking.k8s.io");
  if (!ref.kind.empty() && !allowed) {
    reader.error("kind", fmt::format("a targetRef must be a Service, a networking.istio.io "
                                     "ServiceEntry or a gateway.networking.k8s.io Gateway or "
                                     "GatewayClass (got {}/{})",
                                     ref.group, ref.kind));
  }
  return ref;
}

std::optional<double> readPercent(ReadContext& ctx, const nlohmann::json& value,
                                  const std::string& pointer) {
  return MessageReader(ctx, value, pointer, {"value"}).number("value", 0, 100);
}

std::optional<StringMatch> readStringMatch(ReadContext& ctx, const nlohmann::json& value,
                                           const std::string& pointer) {
  const MessageReader reader(ctx, value, pointer, {"exact", "prefix", "regex"});
  const std::string_view which = reader.oneOf({"exact", "prefix", "regex"});
  if (!reader.ok()) {
    return std::nullopt;
  }
  StringMatch match;
  match.kind = which.empty()       ? StringMatch::Kind::kAny
               : which == "exact"  ? StringMatch::Kind::kExact
               : which == "prefix" ? StringMatch::Kind::kPrefix
                                   : StringMatch::Kind::kRegex;
  match.value = which.empty() ? "" : reader.string(which).value_or("");
  if (match.kind == StringMatch::Kind::kRegex) {
    if (std::string error = checkRegex(match.value); !error.empty()) {
      reader.error("regex", std::move(error));
    }
  } else if (match.kind == StringMatch::Kind::kPrefix && match.value.empty()) {
    reader.error("prefix", "a prefix match must not be empty");
  }
  return match;
}

std::vector<std::string> readExportTo(const MessageReader& reader, bool noneAllowed) {
  std::vector<std::string> values = reader.strings("exportTo");
  std::set<std::string> seen;
  const std::string& ownNs = reader.context().object().key.ns;
  for (size_t i = 0; i < values.size(); ++i) {
    const std::string& value = values[i];
    const std::string pointer = childPointer(reader.pointer("exportTo"), std::to_string(i));
    if (value != "." && value != "*" && (value != "~" || !noneAllowed) && !isDnsLabel(value)) {
      reader.context().error(
          pointer, noneAllowed ? fmt::format("'{}' is not '.', '*', '~' or a namespace name", value)
                               : fmt::format("'{}' is not '.', '*' or a namespace name", value));
    } else if (!seen.insert(value == "." ? ownNs : value).second) {
      reader.context().error(pointer, fmt::format("duplicate exportTo value '{}'", value));
    } else if ((value == "*" || value == "~") && values.size() > 1) {
      reader.context().error(
          pointer, fmt::format("'{}' cannot be combined with other exportTo values", value));
    }
  }
  return values;
}

std::vector<std::string> readStrings(const MessageReader& reader, std::string_view field,
                                     std::string (*check)(std::string_view), bool allowEmpty) {
  std::vector<std::string> values = reader.strings(field);
  for (size_t i = 0; i < values.size(); ++i) {
    const std::string pointer = childPointer(reader.pointer(field), std::to_string(i));
    if (values[i].empty() && !allowEmpty) {
      reader.context().error(pointer, "must not be empty");
    } else if (check != nullptr) {
      if (std::string error = check(values[i]); !error.empty()) {
        reader.context().error(pointer, std::move(error));
      }
    }
  }
  return values;
}

std::string readDnsLabel(const MessageReader& reader, std::string_view field, std::string_view what,
                         bool required) {
  if (required && !reader.require(field)) {
    return "";
  }
  std::optional<std::string> value = reader.string(field);
  if (value && !isDnsLabel(*value)) {
    reader.error(field, fmt::format("'{}' is not a valid {} (a DNS label: lowercase letters, "
                                    "digits and '-', at most 63 characters)",
                                    *value, what));
  }
  return value.value_or("");
}

PolicyTargets readPolicyTargets(const MessageReader& reader) {
  PolicyTargets targets;
  if (reader.has("targetRef") && reader.has("targetRefs")) {
    reader.error("targetRefs", "only one of 'targetRef' and 'targetRefs' may be set");
  }
  if (reader.has("selector") && (reader.has("targetRef") || reader.has("targetRefs"))) {
    reader.error("selector", "only one of 'selector' and 'targetRef(s)' may be set");
  }
  targets.selector = readSelector(reader, "selector", "matchLabels");
  if (targets.selector && targets.selector->empty()) {
    reader.warning("selector", "selector has no labels: the policy applies to every workload in "
                               "the namespace");
  }
  if (std::optional<PolicyTargetReference> ref = reader.message("targetRef", readTargetRef)) {
    targets.targetRefs.push_back(std::move(*ref));
  }
  for (PolicyTargetReference& ref : reader.list("targetRefs", readTargetRef)) {
    targets.targetRefs.push_back(std::move(ref));
  }
  return targets;
}

} // namespace meshd::control::config
