// Istio RequestAuthentication: the JWT issuers whose tokens a workload accepts (and where to find
// the token, the keys, and which claims to copy to headers).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "control/config/common.h"
#include "control/config/config_object.h"
#include "control/config/diagnostic.h"
#include "control/config/json_reader.h"

namespace meshd::control::config {

struct JwtHeader {
  std::string name;
  std::string prefix; // e.g. "Bearer "
};

struct ClaimToHeader {
  std::string header;
  std::string claim;
};

struct JwtRule {
  std::string issuer;
  std::vector<std::string> audiences;
  std::string jwksUri;
  std::string jwks;                   // inline JWKS (JSON text); takes precedence over jwksUri
  std::vector<JwtHeader> fromHeaders; // empty: "Authorization: Bearer <token>"
  std::vector<std::string> fromParams;
  std::vector<std::string> fromCookies;
  std::string outputPayloadToHeader;
  bool forwardOriginalToken = false;
  std::vector<ClaimToHeader> outputClaimToHeaders;
  std::optional<Duration> timeout; // JWKS fetch timeout
  std::vector<std::string> spaceDelimitedClaims;
};

struct RequestAuthentication {
  ObjectMeta meta;
  PolicyTargets targets;
  std::vector<JwtRule> jwtRules;
};

std::optional<RequestAuthentication> parseRequestAuthentication(const ConfigObject& object,
                                                                std::vector<Diagnostic>& out);

} // namespace meshd::control::config
