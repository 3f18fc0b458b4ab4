// Types and checks shared by several kinds: label maps and workload selectors, policy target
// references, string matches, exportTo lists, host names, CIDRs, header names and regexes, each
// checked the way Istio's admission webhook checks them.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "control/config/json_reader.h"

namespace meshd::control::config {

using Labels = std::map<std::string, std::string>;

// What every typed object carries from its metadata.
struct ObjectMeta {
  std::string name;
  std::string ns; // empty for cluster-scoped kinds
  Labels labels;
  std::map<std::string, std::string> annotations;
};

// Istio's port protocols (`Port.protocol`, `ServicePort.protocol`), parsed case-insensitively.
enum class Protocol {
  kUnspecified, // not given: the proxy sniffs
  kHttp,
  kHttps,
  kHttp2,
  kGrpc,
  kGrpcWeb,
  kTcp,
  kTls,
  kMongo,
  kMySql,
  kRedis,
  kUdp,
};
// "HTTP", "GRPC-Web", ... (Istio's spelling); "" for kUnspecified.
std::string_view protocolName(Protocol protocol);
std::optional<Protocol> parseProtocol(std::string_view text);

// `type.v1beta1.PolicyTargetReference` (security and telemetry `targetRef(s)`).
struct PolicyTargetReference {
  std::string group;
  std::string kind;
  std::string name;
  std::string ns; // "namespace"; empty = the policy's own
};

// Which workloads a security or telemetry policy applies to: a label selector or target
// references (targetRef folds into targetRefs); neither means the whole namespace (the mesh when
// the namespace is the root namespace).
struct PolicyTargets {
  std::optional<Labels> selector;
  std::vector<PolicyTargetReference> targetRefs;
};

// `StringMatch`: oneof(exact | prefix | regex); an empty match (`{}`) matches any value (for a
// header: the header is present).
struct StringMatch {
  enum class Kind { kAny, kExact, kPrefix, kRegex };
  Kind kind = Kind::kExact;
  std::string value;
};

// --- checks on single values; each returns an error message, or "" when the value is fine ----

// A DNS-1123 label (Kubernetes namespace, port and service names): lowercase, ≤ 63.
bool isDnsLabel(std::string_view value);
// A fully qualified or short host name, each label a DNS label (any case), ≤ 255 in all.
std::string checkFqdn(std::string_view host);
// Istio's ValidateWildcardDomain: an FQDN, optionally prefixed with "*." or just "*".
std::string checkWildcardHost(std::string_view host);
// An IPv4 or IPv6 address.
bool isIpAddress(std::string_view value);
// "10.0.0.0/8", "2001:db8::/32" or a bare address.
std::string checkCidrOrIp(std::string_view value);
// A Kubernetes label key ("app", "example.com/tier") and value.
std::string checkLabelKey(std::string_view key);
std::string checkLabelValue(std::string_view value);
// An HTTP header name (letters, digits, '-' and '_').
std::string checkHeaderName(std::string_view name);
// A regex that RE2 (and therefore the proxy) accepts.
std::string checkRegex(std::string_view regex);

// --- readers of shared messages and lists -------------------------------------------------

// Checks the object's top-level fields (apiVersion, kind, metadata, spec, status) and returns a
// reader of its spec with `fields` (an empty spec when there is none).
MessageReader readSpec(ReadContext& ctx, std::initializer_list<std::string_view> fields);
// Only the top-level fields, for kinds whose spec is read by a shared message reader.
void checkTopLevel(ReadContext& ctx);
// metadata.name/namespace (already checked by the object parser), labels and annotations.
ObjectMeta readObjectMeta(ReadContext& ctx);
// A protocol name at `field` (nullopt when absent or unknown; unknown is reported).
std::optional<Protocol> readProtocol(const MessageReader& reader, std::string_view field);

// Label map at `field` with every key and value checked.
Labels readLabels(const MessageReader& reader, std::string_view field);
// `{labels: {...}}` (networking `workloadSelector`) or `{matchLabels: {...}}` (security
// `selector`, `labelsField` = "matchLabels").
std::optional<Labels> readSelector(const MessageReader& reader, std::string_view field,
                                   std::string_view labelsField);
std::optional<PolicyTargetReference> readTargetRef(ReadContext& ctx, const nlohmann::json& value,
                                                   const std::string& pointer);
// `Percent` ({value: 0..100}).
std::optional<double> readPercent(ReadContext& ctx, const nlohmann::json& value,
                                  const std::string& pointer);
std::optional<StringMatch> readStringMatch(ReadContext& ctx, const nlohmann::json& value,
                                           const std::string& pointer);
// `exportTo` values: ".", "*" or a namespace, and "~" (nobody) when `noneAllowed` (ServiceEntry
// only); no duplicates; "*" and "~" stand alone.
std::vector<std::string> readExportTo(const MessageReader& reader, bool noneAllowed = false);
// A list of strings, each checked with `check` when given (e.g. checkWildcardHost); empty
// strings are refused unless `allowEmpty`.
std::vector<std::string> readStrings(const MessageReader& reader, std::string_view field,
                                     std::string (*check)(std::string_view) = nullptr,
                                     bool allowEmpty = true);
// A DNS label (a port or subset name); `what` names it in the message ("port name").
std::string readDnsLabel(const MessageReader& reader, std::string_view field, std::string_view what,
                         bool required);

// `selector` ({matchLabels}), `targetRef` and `targetRefs`, which exclude each other.
PolicyTargets readPolicyTargets(const MessageReader& reader);

// The frame of every parseX(object, out): metadata, then `fill(ctx, value)` reads the spec;
// nullopt when anything about the object was an error.
template <class T, class Fill>
std::optional<T> parseKind(const ConfigObject& object, std::vector<Diagnostic>& out, Fill&& fill) {
  ReadContext ctx(object, out);
  T value;
  value.meta = readObjectMeta(ctx);
  fill(ctx, value);
  if (ctx.failed()) {
    return std::nullopt;
  }
  return value;
}

} // namespace meshd::control::config
