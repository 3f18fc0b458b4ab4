// Istio AuthorizationPolicy: which requests a workload accepts (ALLOW/DENY/AUDIT, or CUSTOM
// through an external authorizer), by source identity, operation and conditions.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "control/config/common.h"
#include "control/config/config_object.h"
#include "control/config/diagnostic.h"

namespace meshd::control::config {

struct AuthzSource {
  std::vector<std::string> principals, notPrincipals;
  std::vector<std::string> requestPrincipals, notRequestPrincipals;
  std::vector<std::string> namespaces, notNamespaces;
  std::vector<std::string> serviceAccounts, notServiceAccounts;
  std::vector<std::string> ipBlocks, notIpBlocks;
  std::vector<std::string> remoteIpBlocks, notRemoteIpBlocks;
  std::vector<std::string> trustDomains, notTrustDomains;
};

struct AuthzOperation {
  std::vector<std::string> hosts, notHosts;
  std::vector<std::string> ports, notPorts; // port numbers, as strings in the API
  std::vector<std::string> methods, notMethods;
  std::vector<std::string> paths, notPaths;
};

struct AuthzCondition {
  std::string key; // "request.headers[x-token]", "source.ip", "request.auth.claims[groups]", ...
  std::vector<std::string> values;
  std::vector<std::string> notValues;
};

struct AuthzRule {
  std::vector<AuthzSource> from;    // OR of sources; empty: any source
  std::vector<AuthzOperation> to;   // OR of operations; empty: any operation
  std::vector<AuthzCondition> when; // AND of conditions
};

struct AuthorizationPolicy {
  enum class Action { kAllow, kDeny, kAudit, kCustom };
  ObjectMeta meta;
  PolicyTargets targets;
  std::vector<AuthzRule> rules; // none: matches nothing (ALLOW with no rules allows nothing)
  Action action = Action::kAllow;
  std::string provider; // CUSTOM only: the mesh extension provider's name
};

std::optional<AuthorizationPolicy> parseAuthorizationPolicy(const ConfigObject& object,
                                                            std::vector<Diagnostic>& out);

} // namespace meshd::control::config
