// The CORS filter's policy and per-request decision (cors_policy.h).
#include "proxy/filters/http/cors/cors_policy.h"

#include "core/status.h"
#include "fmt/format.h"
#include "proxy/config/conversions.h"

namespace meshd::proxy::filters {
namespace {

bool drawn(uint32_t per_million, core::RandomGenerator& random) {
  return per_million >= CorsPolicy::kMillion ||
         (per_million > 0 && random.uniform(CorsPolicy::kMillion) < per_million);
}

std::optional<bool> optionalBool(bool present, const google::protobuf::BoolValue& value) {
  return present ? std::optional<bool>(value.value()) : std::nullopt;
}

} // namespace

absl::StatusOr<CorsPolicy>
buildCorsPolicy(const envoy::extensions::filters::http::cors::v3::CorsPolicy& proto,
                const std::string& where) {
  CorsPolicy out;
  for (int i = 0; i < proto.allow_origin_string_match_size(); ++i) {
    ASSIGN_OR_RETURN(auto match, router::buildStringMatch(
                                     proto.allow_origin_string_match(i),
                                     fmt::format("{}.allow_origin_string_match[{}]", where, i)));
    out.allowOrigins.push_back(std::move(match));
  }
  out.allowMethods = proto.allow_methods();
  out.allowHeaders = proto.allow_headers();
  out.exposeHeaders = proto.expose_headers();
  out.maxAge = proto.max_age();
  out.allowCredentials = optionalBool(proto.has_allow_credentials(), proto.allow_credentials());
  out.allowPrivateNetworkAccess =
      optionalBool(proto.has_allow_private_network_access(), proto.allow_private_network_access());
  out.forwardNotMatchingPreflights = optionalBool(proto.has_forward_not_matching_preflights(),
                                                  proto.forward_not_matching_preflights());
  if (proto.has_filter_enabled()) {
    out.enabledPerMillion = config::perMillion(proto.filter_enabled().default_value());
  }
  if (proto.has_shadow_enabled()) {
    out.shadowPerMillion = config::perMillion(proto.shadow_enabled().default_value());
  }
  return out;
}

absl::StatusOr<CorsPolicy> buildCorsPolicy(const google::protobuf::Any& any,
                                           const std::string& where) {
  envoy::extensions::filters::http::cors::v3::CorsPolicy proto;
  if (!any.UnpackTo(&proto)) {
    return config::invalid(where, fmt::format("expected a CorsPolicy, got {}", any.type_url()));
  }
  return buildCorsPolicy(proto, where);
}

CorsPolicy mergeCorsPolicies(const CorsPolicy& route, const CorsPolicy& virtual_host) {
  CorsPolicy out = route;
  auto fallBack = [](std::string& field, const std::string& outer) {
    if (field.empty()) {
      field = outer;
    }
  };
  if (out.allowOrigins.empty()) {
    out.allowOrigins = virtual_host.allowOrigins;
  }
  fallBack(out.allowMethods, virtual_host.allowMethods);
  fallBack(out.allowHeaders, virtual_host.allowHeaders);
  fallBack(out.exposeHeaders, virtual_host.exposeHeaders);
  fallBack(out.maxAge, virtual_host.maxAge);
  if (!out.allowCredentials) {
    out.allowCredentials = virtual_host.allowCredentials;
  }
  if (!out.allowPrivateNetworkAccess) {
    out.allowPrivateNetworkAccess = virtual_host.allowPrivateNetworkAccess;
  }
  if (!out.forwardNotMatchingPreflights) {
    out.forwardNotMatchingPreflights = virtual_host.forwardNotMatchingPreflights;
  }
  return out;
}

bool corsOriginAllowed(const CorsPolicy& policy, std::string_view origin) {
  for (const auto& match : policy.allowOrigins) {
    if (match.matches("*") || match.matches(origin)) {
      return true;
    }
  }
  return false;
}

CorsDecision decideCors(const CorsPolicy& policy, const http::HeaderMap& request,
                        core::RandomGenerator& random) {
  CorsDecision out;
  const bool enabled = drawn(policy.enabledPerMillion, random);
  if (!enabled && !drawn(policy.shadowPerMillion, random)) {
    return out;
  }
  const std::string_view origin = request.get("origin").value_or("");
  if (origin.empty()) {
    return out; // not a cross-origin request
  }
  const bool allowed = corsOriginAllowed(policy, origin);
  out.origin = allowed ? CorsDecision::Origin::kValid : CorsDecision::Origin::kInvalid;
  if (!enabled) {
    return out; // shadow mode: counted only
  }
  if (allowed) {
    out.allowedOrigin = std::string(origin);
  }
  const std::string_view requestedMethod =
      request.get("access-control-request-method").value_or("");
  if (request.method() != "OPTIONS" || requestedMethod.empty()) {
    return out; // not a preflight
  }
  if (!allowed && policy.forwardNotMatchingPreflights.value_or(true)) {
    return out; // the upstream answers it
  }
  http::HeaderMap& response = out.preflightResponse.emplace();
  if (allowed) {
    response.add("access-control-allow-origin", origin);
  }
  if (policy.allowCredentials.value_or(false)) {
    response.add("access-control-allow-credentials", "true");
  }
  if (!policy.allowMethods.empty()) {
    response.add("access-control-allow-methods",
                 policy.allowMethods == "*" ? requestedMethod : policy.allowMethods);
  }
  if (!policy.allowHeaders.empty()) {
    response.add("access-control-allow-headers",
                 policy.allowHeaders == "*"
                     ? request.get("access-control-request-headers").value_or("")
                     : policy.allowHeaders);
  }
  if (!policy.maxAge.empty()) {
    response.add("access-control-max-age", policy.maxAge);
  }
  if (policy.allowPrivateNetworkAccess.value_or(false) &&
      request.get("access-control-request-private-network") == "true") {
    response.add("access-control-allow-private-network", "true");
  }
  out.allowedOrigin.clear(); // answered here: the preflight response carries what it needs
  return out;
}

void addCorsResponseHeaders(const CorsPolicy& policy, const std::string& origin,
                            http::HeaderMap& response) {
  response.set("access-control-allow-origin", origin);
  if (policy.allowCredentials.value_or(false)) {
    response.set("access-control-allow-credentials", "true");
  }
  if (!policy.exposeHeaders.empty()) {
    response.set("access-control-expose-headers", policy.exposeHeaders);
  }
}

} // namespace meshd::proxy::filters
