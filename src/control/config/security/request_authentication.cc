// RequestAuthentication parsing and Istio's checks for JWT rules (request_authentication.h).
#include "control/config/security/request_authentication.h"

#include "fmt/format.h"

namespace meshd::control::config {
namespace {

// An http(s) URL with a host, as Istio requires of jwksUri.
std::string checkJwksUri(const std::string& uri) {
  std::string_view rest = uri;
  if (rest.starts_with("https://")) {
    rest.remove_prefix(8);
  } else if (rest.starts_with("http://")) {
    rest.remove_prefix(7);
  } else {
    return fmt::format("'{}' is not an http:// or https:// URL", uri);
  }
  std::string_view host = rest.substr(0, rest.find_first_of("/?#"));
  if (const size_t colon = host.rfind(':');
      colon != std::string_view::npos && host.find(']') == std::string_view::npos) {
    host = host.substr(0, colon);
  }
  if (host.starts_with("[") && host.ends_with("]")) {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty() || (!isIpAddress(host) && !checkFqdn(host).empty())) {
    return fmt::format("'{}' does not name a valid host", uri);
  }
  return "";
}

std::optional<JwtRule> readJwtRule(ReadContext& ctx, const nlohmann::json& value,
                                   const std::string& pointer) {
  const MessageReader reader(ctx, value, pointer,
                             {"issuer", "audiences", "jwksUri", "jwks", "fromHeaders", "fromParams",
                              "outputPayloadToHeader", "fromCookies", "forwardOriginalToken",
                              "outputClaimToHeaders", "timeout", "spaceDelimitedClaims"});
  if (!reader.ok()) {
    return std::nullopt;
  }
  JwtRule rule;
  rule.issuer = reader.string("issuer").value_or("");
  if (reader.ok() && rule.issuer.empty() && reader.string("jwksUri").value_or("").empty()) {
    reader.error("issuer", "issuer or jwksUri is required");
  }
  rule.audiences = readStrings(reader, "audiences", nullptr, false);
  rule.jwksUri = reader.string("jwksUri").value_or("");
  if (reader.has("jwksUri")) {
    if (std::string error = checkJwksUri(rule.jwksUri); !error.empty()) {
      reader.error("jwksUri", std::move(error));
    }
  }
  rule.jwks = reader.string("jwks").value_or("");
  if (!rule.jwks.empty() && !nlohmann::json::accept(rule.jwks)) {
    reader.error("jwks", "jwks must be a JSON Web Key Set (JSON text)");
  }
  rule.fromHeaders = reader.list(
      "fromHeaders",
      [](ReadContext& inner, const nlohmann::json& json,
         const std::string& at) -> std::optional<JwtHeader> {
        const MessageReader header(inner, json, at, {"name", "prefix"});
        if (!header.require("name")) {
          return std::nullopt;
        }
        JwtHeader out{header.string("name").value_or(""), header.string("prefix").value_or("")};
        if (std::string error = checkHeaderName(out.name); !error.empty()) {
          header.error("name", std::move(error));
        }
        return out;
      });
  rule.fromParams = readStrings(reader, "fromParams", nullptr, false);
  rule.fromCookies = readStrings(reader, "fromCookies", nullptr, false);
  rule.outputPayloadToHeader = reader.string("outputPayloadToHeader").value_or("");
  if (!rule.outputPayloadToHeader.empty()) {
    if (std::string error = checkHeaderName(rule.outputPayloadToHeader); !error.empty()) {
      reader.error("outputPayloadToHeader", std::move(error));
    }
  }
  rule.forwardOriginalToken = reader.boolean("forwardOriginalToken").value_or(false);
  rule.outputClaimToHeaders =
      reader.list("outputClaimToHeaders",
                  [](ReadContext& inner, const nlohmann::json& json,
                     const std::string& at) -> std::optional<ClaimToHeader> {
                    const MessageReader entry(inner, json, at, {"header", "claim"});
                    ClaimToHeader out;
                    if (entry.require("header")) {
                      out.header = entry.string("header").value_or("");
                      if (std::string error = checkHeaderName(out.header); !error.empty()) {
                        entry.error("header", std::move(error));
                      }
                    }
                    if (entry.require("claim")) {
                      out.claim = entry.nonEmpty("claim").value_or("");
                    }
                    return out;
                  });
  rule.timeout = reader.duration("timeout");
  rule.spaceDelimitedClaims = readStrings(reader, "spaceDelimitedClaims", nullptr, false);
  return rule;
}

} // namespace

std::optional<RequestAuthentication> parseRequestAuthentication(const ConfigObject& object,
                                                                std::vector<Diagnostic>& out) {
  return parseKind<
      RequestAuthentication>(object, out, [&](ReadContext& ctx, RequestAuthentication& policy) {
    const MessageReader spec = readSpec(ctx, {"selector", "targetRef", "targetRefs", "jwtRules"});
    policy.targets = readPolicyTargets(spec);
    policy.jwtRules = spec.list("jwtRules", readJwtRule);
  });
}

} // namespace meshd::control::config
