// The per-route pieces of Istio's HTTP route translation that stand alone: string matchers,
// durations and percentages, header operations, destination cluster names, consistent-hash
// policies from DestinationRules, retry policies, fault and CORS filter configs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "control/config/networking/virtual_service.h"
#include "control/translate/http_routes.h"
#include "envoy/config/core/v3/base.pb.h"
#include "envoy/config/route/v3/route.pb.h"
#include "envoy/extensions/filters/http/cors/v3/cors.pb.h"
#include "envoy/extensions/filters/http/fault/v3/fault.pb.h"
#include "envoy/type/matcher/v3/string.pb.h"
#include "envoy/type/v3/percent.pb.h"
#include "google/protobuf/duration.pb.h"

namespace meshd::control::translate {

inline constexpr std::string_view kFaultFilterName = "envoy.filters.http.fault";
inline constexpr std::string_view kCorsFilterName = "envoy.filters.http.cors";

// Istio's percentages: a `Percent` value as parts per million, an integer as parts per hundred.
envoy::type::v3::FractionalPercent percentPerMillion(double percent);
envoy::type::v3::FractionalPercent percentPerHundred(uint32_t percent);
// exact / prefix / safe_regex (kAny is the caller's presence check).
envoy::type::matcher::v3::StringMatcher envoyStringMatcher(const config::StringMatch& match);

// Istio's TranslateHeadersOperations: `set` overwrites, `add` appends (each sorted by name),
// removals; "host" and ":authority" become the authority rewrite and are never sent as headers.
struct HeaderOperations {
  std::vector<envoy::config::core::v3::HeaderValueOption> requestAdd;
  std::vector<std::string> requestRemove;
  std::vector<envoy::config::core::v3::HeaderValueOption> responseAdd;
  std::vector<std::string> responseRemove;
  std::string authority;

  template <class T> // Route or WeightedCluster::ClusterWeight
  void appendTo(T& out) const {
    for (const auto& header : requestAdd) {
      *out.add_request_headers_to_add() = header;
    }
    for (const auto& name : requestRemove) {
      out.add_request_headers_to_remove(name);
    }
    for (const auto& header : responseAdd) {
      *out.add_response_headers_to_add() = header;
    }
    for (const auto& name : responseRemove) {
      out.add_response_headers_to_remove(name);
    }
  }
};
HeaderOperations headerOperations(const config::Headers& headers);

// Istio's GetDestinationCluster: outbound|port|subset|host, the port being the destination's,
// else the only port of the service, else the route configuration's. Short hosts resolve in `ns`.
std::string destinationCluster(const RouteScope& scope, const config::Destination& destination,
                               std::string_view ns);

// The consistent hash of the destination's DestinationRule (subset port-level, subset, port-level,
// then top-level), as a route hash policy; nullopt when it has none.
std::optional<envoy::config::route::v3::RouteAction::HashPolicy>
destinationHashPolicy(const RouteScope& scope, const config::Destination& destination,
                      std::string_view ns);
// The same for a service's default route on `port` (port-level, then top-level).
std::optional<envoy::config::route::v3::RouteAction::HashPolicy>
serviceHashPolicy(const RouteScope& scope, const registry::Service& service, uint32_t port);

// Istio's retry.ConvertPolicy: nullopt input → the default policy (2 retries on
// connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes with 503);
// attempts 0 → no policy (nullopt).
std::optional<envoy::config::route::v3::RetryPolicy>
retryPolicy(const std::optional<config::HttpRetry>& retries);

// Istio's TranslateFault; nullopt when neither a delay nor an abort remains.
std::optional<envoy::extensions::filters::http::fault::v3::HTTPFault>
faultFilterConfig(const config::HttpFaultInjection& fault);
// Istio's TranslateCORSPolicy (the per-route config of envoy.filters.http.cors).
envoy::extensions::filters::http::cors::v3::CorsPolicy
corsFilterConfig(const config::CorsPolicy& cors);

} // namespace meshd::control::translate
