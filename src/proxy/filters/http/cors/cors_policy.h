// envoy.filters.http.cors: Cross-Origin Resource Sharing answered by the proxy (Istio's
// VirtualService `corsPolicy`). The policy comes from the typed_per_filter_config of the route
// and of its virtual host (envoy.extensions.filters.http.cors.v3.CorsPolicy), the route's fields
// over the virtual host's one by one, as Envoy merges them; it applies only when the connection
// manager has the CORS filter. A preflight (OPTIONS with Origin and Access-Control-Request-Method)
// is answered here with 200; other requests from an allowed origin get Access-Control-Allow-Origin
// (and -Credentials, -Expose-Headers) on their response. Origins that no matcher allows get no
// CORS headers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/random.h"
#include "envoy/extensions/filters/http/cors/v3/cors.pb.h"
#include "google/protobuf/any.pb.h"
#include "proxy/http/header_map.h"
#include "proxy/router/route_table.h"

namespace meshd::proxy::filters {

inline constexpr const char* kCorsFilterName = "envoy.filters.http.cors";

struct CorsPolicy {
  static constexpr uint32_t kMillion = 1000000;
  std::vector<router::StringMatch> allowOrigins; // allow_origin_string_match
  std::string allowMethods;                      // "*": the preflight's requested method
  std::string allowHeaders;                      // "*": the preflight's requested headers
  std::string exposeHeaders;
  std::string maxAge;
  std::optional<bool> allowCredentials;
  std::optional<bool> allowPrivateNetworkAccess;
  std::optional<bool> forwardNotMatchingPreflights; // unset: true
  // filter_enabled (unset: every request) and shadow_enabled (origins checked and counted, nothing
  // enforced), as shares of requests.
  uint32_t enabledPerMillion = kMillion;
  uint32_t shadowPerMillion = 0;
};

absl::StatusOr<CorsPolicy>
buildCorsPolicy(const envoy::extensions::filters::http::cors::v3::CorsPolicy& proto,
                const std::string& where);
// From an Any that must hold a CorsPolicy.
absl::StatusOr<CorsPolicy> buildCorsPolicy(const google::protobuf::Any& any,
                                           const std::string& where);
// A route's policy over its virtual host's: each field from the route when it sets it, else from
// the virtual host; the enabled shares from the route (Envoy reads them from the most specific).
CorsPolicy mergeCorsPolicies(const CorsPolicy& route, const CorsPolicy& virtual_host);

// Whether `origin` is allowed: a matcher matches it, or matches "*" (Envoy's wildcard).
bool corsOriginAllowed(const CorsPolicy& policy, std::string_view origin);

struct CorsDecision {
  enum class Origin { kNotCors, kValid, kInvalid };
  Origin origin = Origin::kNotCors; // for the origin_valid / origin_invalid stats
  // Set: answer the request with 200 and these headers, without forwarding it.
  std::optional<http::HeaderMap> preflightResponse;
  // The allowed origin, for the response's CORS headers (empty: none are added).
  std::string allowedOrigin;
};

// What the CORS filter does with `request`, routed to a route with `policy`.
CorsDecision decideCors(const CorsPolicy& policy, const http::HeaderMap& request,
                        core::RandomGenerator& random);

// Adds the CORS headers to the response of a request whose decision allowed `origin`.
void addCorsResponseHeaders(const CorsPolicy& policy, const std::string& origin,
                            http::HeaderMap& response);

} // namespace meshd::proxy::filters
