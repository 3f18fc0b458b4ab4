// AuthorizationPolicy parsing and Istio's checks for actions, sources, operations and
// conditions (authorization_policy.h).
#include "control/config/security/authorization_policy.h"

#include "fmt/format.h"

namespace meshd::control::config {
namespace {

using Action = AuthorizationPolicy::Action;

constexpr EnumName<Action> kActions[] = {
    {"ALLOW", Action::kAllow},
    {"DENY", Action::kDeny},
    {"AUDIT", Action::kAudit},
    {"CUSTOM", Action::kCustom},
};

std::string checkPortString(std::string_view port) {
  const bool digits = port.size() <= 5 && port.find_first_not_of("0123456789") == std::string::npos;
  const int number = digits ? std::stoi(std::string(port)) : 0;
  return number >= 1 && number <= 65535
             ? ""
             : fmt::format("'{}' is not a port number between 1 and 65535", port);
}

std::optional<AuthzSource> readSource(ReadContext& ctx, const nlohmann::json& value,
                                      const std::string& pointer) {
  const MessageReader reader(
      ctx, value, pointer,
      {"principals", "notPrincipals", "requestPrincipals", "notRequestPrincipals", "namespaces",
       "notNamespaces", "serviceAccounts", "notServiceAccounts", "ipBlocks", "notIpBlocks",
       "remoteIpBlocks", "notRemoteIpBlocks", "trustDomains", "notTrustDomains"});
  if (!reader.ok()) {
    return std::nullopt;
  }
  if (value.empty()) {
    ctx.error(pointer, "a source must have at least one field");
  }
  AuthzSource source;
  source.principals = readStrings(reader, "principals", nullptr, false);
  source.notPrincipals = readStrings(reader, "notPrincipals", nullptr, false);
  source.requestPrincipals = readStrings(reader, "requestPrincipals", nullptr, false);
  source.notRequestPrincipals = readStrings(reader, "notRequestPrincipals", nullptr, false);
  source.namespaces = readStrings(reader, "namespaces", nullptr, false);
  source.notNamespaces = readStrings(reader, "notNamespaces", nullptr, false);
  source.serviceAccounts = readStrings(reader, "serviceAccounts", nullptr, false);
  source.notServiceAccounts = readStrings(reader, "notServiceAccounts", nullptr, false);
  source.ipBlocks = readStrings(reader, "ipBlocks", checkCidrOrIp, false);
  source.notIpBlocks = readStrings(reader, "notIpBlocks", checkCidrOrIp, false);
  source.remoteIpBlocks = readStrings(reader, "remoteIpBlocks", checkCidrOrIp, false);
  source.notRemoteIpBlocks = readStrings(reader, "notRemoteIpBlocks", checkCidrOrIp, false);
  source.trustDomains = readStrings(reader, "trustDomains", nullptr, false);
  source.notTrustDomains = readStrings(reader, "notTrustDomains", nullptr, false);
  if ((reader.has("serviceAccounts") || reader.has("notServiceAccounts")) &&
      (reader.has("principals") || reader.has("notPrincipals") || reader.has("namespaces") ||
       reader.has("notNamespaces"))) {
    reader.error("serviceAccounts", "serviceAccounts cannot be combined with namespaces or "
                                    "principals");
  }
  return source;
}

std::optional<AuthzOperation> readOperation(ReadContext& ctx, const nlohmann::json& value,
                                            const std::string& pointer) {
  const MessageReader reader(
      ctx, value, pointer,
      {"hosts", "notHosts", "ports", "notPorts", "methods", "notMethods", "paths", "notPaths"});
  if (!reader.ok()) {
    return std::nullopt;
  }
  if (value.empty()) {
    ctx.error(pointer, "an operation must have at least one field");
  }
  AuthzOperation operation;
  operation.hosts = readStrings(reader, "hosts", nullptr, false);
  operation.notHosts = readStrings(reader, "notHosts", nullptr, false);
  operation.ports = readStrings(reader, "ports", checkPortString, false);
  operation.notPorts = readStrings(reader, "notPorts", checkPortString, false);
  operation.methods = readStrings(reader, "methods", nullptr, false);
  operation.notMethods = readStrings(reader, "notMethods", nullptr, false);
  operation.paths = readStrings(reader, "paths", nullptr, false);
  operation.notPaths = readStrings(reader, "notPaths", nullptr, false);
  return operation;
}

// The condition keys Istio knows, and what their values must look like.
std::string checkConditionKey(std::string_view key) {
  auto bracketed = [&](std::string_view prefix) {
    return key.starts_with(prefix) && key.ends_with("]") && key.size() > prefix.size() + 1;
  };
  static constexpr std::string_view kPlain[] = {"source.ip",
                                                "remote.ip",
                                                "source.namespace",
                                                "source.principal",
                                                "source.serviceAccount",
                                                "source.trustDomain",
                                                "request.auth.principal",
                                                "request.auth.audiences",
                                                "request.auth.presenter",
                                                "destination.ip",
                                                "destination.port",
                                                "connection.sni"};
  if (std::find(std::begin(kPlain), std::end(kPlain), key) != std::end(kPlain) ||
      bracketed("request.headers[") || bracketed("request.auth.claims[") ||
      key.starts_with("experimental.envoy.filters.")) {
    return "";
  }
  return fmt::format("unknown attribute '{}' (e.g. source.ip, request.headers[name], "
                     "request.auth.claims[name], destination.port)",
                     key);
}

std::optional<AuthzCondition> readCondition(ReadContext& ctx, const nlohmann::json& value,
                                            const std::string& pointer) {
  const MessageReader reader(ctx, value, pointer, {"key", "values", "notValues"});
  if (!reader.ok()) {
    return std::nullopt;
  }
  AuthzCondition condition;
  if (reader.require("key")) {
    condition.key = reader.string("key").value_or("");
    if (std::string error = checkConditionKey(condition.key); !error.empty()) {
      reader.error("key", std::move(error));
    }
  }
  std::string (*check)(std::string_view) = nullptr;
  if (condition.key == "source.ip" || condition.key == "remote.ip" ||
      condition.key == "destination.ip") {
    check = checkCidrOrIp;
  } else if (condition.key == "destination.port") {
    check = checkPortString;
  }
  condition.values = readStrings(reader, "values", check, false);
  condition.notValues = readStrings(reader, "notValues", check, false);
  if (condition.values.empty() && condition.notValues.empty() && reader.has("key")) {
    reader.error("values", fmt::format("at least one of 'values' or 'notValues' must be set for "
                                       "key '{}'",
                                       condition.key));
  }
  return condition;
}

// `from: [{source: ...}]` and `to: [{operation: ...}]`: lists of one-field wrappers.
template <class T, class F>
std::vector<T> readWrapped(const MessageReader& rule, std::string_view field,
                           std::string_view inner, F&& read) {
  if (const nlohmann::json* raw = rule.raw(field);
      raw != nullptr && raw->is_array() && raw->empty()) {
    rule.error(field, fmt::format("'{}' must not be an empty list", field));
  }
  return rule.list(field,
                   [&](ReadContext& ctx, const nlohmann::json& value,
                       const std::string& pointer) -> std::optional<T> {
                     const MessageReader reader(ctx, value, pointer, {inner});
                     if (!reader.require(inner)) {
                       return std::nullopt;
                     }
                     return reader.message(inner, read);
                   });
}

std::optional<AuthzRule> readRule(ReadContext& ctx, const nlohmann::json& value,
                                  const std::string& pointer) {
  const MessageReader reader(ctx, value, pointer, {"from", "to", "when"});
  if (!reader.ok()) {
    return std::nullopt;
  }
  AuthzRule rule;
  rule.from = readWrapped<AuthzSource>(reader, "from", "source", readSource);
  rule.to = readWrapped<AuthzOperation>(reader, "to", "operation", readOperation);
  rule.when = reader.list("when", readCondition);
  return rule;
}

// The external authorizer runs before the mesh knows the peer's or the user's identity, so
// CUSTOM rules cannot match on them (as Istio says).
void checkCustomRules(ReadContext& ctx, const std::vector<AuthzRule>& rules) {
  for (size_t r = 0; r < rules.size(); ++r) {
    const std::string at = fmt::format("/spec/rules/{}", r);
    for (size_t f = 0; f < rules[r].from.size(); ++f) {
      const AuthzSource& source = rules[r].from[f];
      const std::pair<std::string_view, bool> identities[] = {
          {"namespaces", !source.namespaces.empty()},
          {"notNamespaces", !source.notNamespaces.empty()},
          {"serviceAccounts", !source.serviceAccounts.empty()},
          {"notServiceAccounts", !source.notServiceAccounts.empty()},
          {"principals", !source.principals.empty()},
          {"notPrincipals", !source.notPrincipals.empty()},
          {"requestPrincipals", !source.requestPrincipals.empty()},
          {"notRequestPrincipals", !source.notRequestPrincipals.empty()},
      };
      for (const auto& [field, used] : identities) {
        if (used) {
          ctx.error(fmt::format("{}/from/{}/source/{}", at, f, field),
                    fmt::format("{} is not supported with the CUSTOM action", field));
        }
      }
    }
    for (size_t w = 0; w < rules[r].when.size(); ++w) {
      const std::string& key = rules[r].when[w].key;
      if (key == "source.namespace" || key == "source.serviceAccount" ||
          key == "source.principal" || key.starts_with("request.auth.")) {
        ctx.error(fmt::format("{}/when/{}/key", at, w),
                  fmt::format("'{}' is not supported with the CUSTOM action", key));
      }
    }
  }
}

} // namespace

std::optional<AuthorizationPolicy> parseAuthorizationPolicy(const ConfigObject& object,
                                                            std::vector<Diagnostic>& out) {
  return parseKind<AuthorizationPolicy>(
      object, out, [&](ReadContext& ctx, AuthorizationPolicy& policy) {
        const MessageReader spec =
            readSpec(ctx, {"selector", "targetRef", "targetRefs", "rules", "action", "provider"});
        policy.targets = readPolicyTargets(spec);
        policy.action = spec.enumeration<Action>("action", kActions).value_or(Action::kAllow);
        if (std::optional<std::string> provider =
                spec.message("provider", [](ReadContext& inner, const nlohmann::json& json,
                                            const std::string& at) {
                  const MessageReader reader(inner, json, at, {"name"});
                  reader.require("name");
                  return reader.nonEmpty("name");
                })) {
          policy.provider = *provider;
        }
        const bool customOrDeny =
            policy.action == Action::kCustom || policy.action == Action::kDeny;
        if (customOrDeny && !spec.has("rules")) {
          spec.error("action", fmt::format("{} without rules never applies; add an empty rule {{}} "
                                           "to apply it to every request",
                                           policy.action == Action::kCustom ? "CUSTOM" : "DENY"));
        }
        if (policy.action == Action::kCustom && spec.has("rules") && !spec.has("provider")) {
          spec.error("action", "the CUSTOM action needs a provider");
        }
        if (policy.action != Action::kCustom && spec.has("provider")) {
          spec.error("provider", "a provider can only be given with the CUSTOM action");
        }
        policy.rules = spec.list("rules", readRule);
        if (policy.action == Action::kCustom) {
          checkCustomRules(ctx, policy.rules);
        }
      });
}

} // namespace meshd::control::config
