// Route policies for the HTTP route translation (route_policies.h), after Istio's route.go and
// retry.go.
#include "control/translate/route_policies.h"

#include "control/translate/cluster_support.h"

#include <chrono>

#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "control/config/host_names.h"
#include "control/translate/names.h"
#include "envoy/extensions/retry/host/previous_hosts/v3/previous_hosts.pb.h"

namespace meshd::control::translate {
namespace {

namespace route = envoy::config::route::v3;
using envoy::config::core::v3::HeaderValueOption;

bool isAuthorityHeader(std::string_view name) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower == ":authority" || lower == "host";
}

// Pseudo-headers and Host cannot be changed by header operations.
bool isInternalHeader(std::string_view name) {
  return name.starts_with(':') || isAuthorityHeader(name);
}

void addHeaders(const std::map<std::string, std::string>& headers,
                HeaderValueOption::HeaderAppendAction action, std::vector<HeaderValueOption>& out,
                std::string* authority) {
  for (const auto& [name, value] : headers) {
    if (authority != nullptr && isAuthorityHeader(name)) {
      *authority = value;
    }
    if (isInternalHeader(name)) {
      continue;
    }
    HeaderValueOption option;
    option.mutable_header()->set_key(name);
    option.mutable_header()->set_value(value);
    option.set_append_action(action);
    out.push_back(std::move(option));
  }
}

std::vector<std::string> removable(const std::vector<std::string>& names) {
  std::vector<std::string> out;
  std::copy_if(names.begin(), names.end(), std::back_inserter(out),
               [](const std::string& name) { return !isInternalHeader(name); });
  return out;
}

// Go's http.StatusText table: the integers Istio's retryOn reads as status codes.
bool isKnownHttpStatus(int code) {
  static constexpr int kCodes[] = {100, 101, 102, 103, 200, 201, 202, 203, 204, 205, 206, 207, 208,
                                   226, 300, 301, 302, 303, 304, 305, 307, 308, 400, 401, 402, 403,
                                   404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416,
                                   417, 418, 421, 422, 423, 424, 425, 426, 428, 429, 431, 451, 500,
                                   501, 502, 503, 504, 505, 506, 507, 508, 510, 511};
  return std::find(std::begin(kCodes), std::end(kCodes), code) != std::end(kCodes);
}

uint32_t grpcStatusCode(std::string_view name) {
  static constexpr std::string_view kNames[] = {"OK",
                                                "CANCELLED",
                                                "UNKNOWN",
                                                "INVALID_ARGUMENT",
                                                "DEADLINE_EXCEEDED",
                                                "NOT_FOUND",
                                                "ALREADY_EXISTS",
                                                "PERMISSION_DENIED",
                                                "RESOURCE_EXHAUSTED",
                                                "FAILED_PRECONDITION",
                                                "ABORTED",
                                                "OUT_OF_RANGE",
                                                "UNIMPLEMENTED",
                                                "INTERNAL",
                                                "UNAVAILABLE",
                                                "DATA_LOSS",
                                                "UNAUTHENTICATED"};
  for (uint32_t code = 0; code < std::size(kNames); ++code) {
    if (kNames[code] == name) {
      return code;
    }
  }
  return 2; // UNKNOWN (validation accepts only the names above)
}

std::optional<route::RouteAction::HashPolicy>
hashPolicyOf(const std::optional<config::ConsistentHashLb>& hash) {
  if (!hash) {
    return std::nullopt;
  }
  route::RouteAction::HashPolicy out;
  switch (hash->key) {
  case config::ConsistentHashLb::Key::kHttpHeaderName:
    out.mutable_header()->set_header_name(hash->name);
    break;
  case config::ConsistentHashLb::Key::kHttpCookie:
    out.mutable_cookie()->set_name(hash->name);
    out.mutable_cookie()->set_path(hash->cookiePath);
    if (hash->cookieTtl) {
      *out.mutable_cookie()->mutable_ttl() = toProtoDuration(*hash->cookieTtl);
    }
    break;
  case config::ConsistentHashLb::Key::kUseSourceIp:
    out.mutable_connection_properties()->set_source_ip(true);
    break;
  case config::ConsistentHashLb::Key::kHttpQueryParameterName:
    out.mutable_query_parameter()->set_name(hash->name);
    break;
  }
  return out;
}

std::optional<config::ConsistentHashLb>
consistentHashOf(const std::optional<config::LoadBalancerSettings>& lb) {
  return lb ? lb->consistentHash : std::nullopt;
}

// The port-level consistent hash of `policy` for `port` (0: none).
std::optional<config::ConsistentHashLb>
portLevelHash(const std::optional<config::TrafficPolicy>& policy, uint32_t port) {
  if (!policy || port == 0) {
    return std::nullopt;
  }
  for (const config::PortTrafficPolicy& setting : policy->portLevelSettings) {
    if (setting.port == port) {
      return consistentHashOf(setting.loadBalancer);
    }
  }
  return std::nullopt;
}

std::optional<config::ConsistentHashLb>
topLevelHash(const std::optional<config::TrafficPolicy>& policy) {
  return policy ? consistentHashOf(policy->loadBalancer) : std::nullopt;
}

} // namespace

envoy::type::v3::FractionalPercent percentPerMillion(double percent) {
  envoy::type::v3::FractionalPercent out;
  out.set_numerator(static_cast<uint32_t>(percent * 10000));
  out.set_denominator(envoy::type::v3::FractionalPercent::MILLION);
  return out;
}

envoy::type::v3::FractionalPercent percentPerHundred(uint32_t percent) {
  envoy::type::v3::FractionalPercent out;
  out.set_numerator(percent);
  out.set_denominator(envoy::type::v3::FractionalPercent::HUNDRED);
  return out;
}

envoy::type::matcher::v3::StringMatcher envoyStringMatcher(const config::StringMatch& match) {
  envoy::type::matcher::v3::StringMatcher out;
  switch (match.kind) {
  case config::StringMatch::Kind::kPrefix: out.set_prefix(match.value); break;
  case config::StringMatch::Kind::kRegex: out.mutable_safe_regex()->set_regex(match.value); break;
  case config::StringMatch::Kind::kExact:
  case config::StringMatch::Kind::kAny: out.set_exact(match.value); break;
  }
  return out;
}

HeaderOperations headerOperations(const config::Headers& headers) {
  HeaderOperations out;
  std::string setAuthority;
  std::string addAuthority;
  addHeaders(headers.request.set, HeaderValueOption::OVERWRITE_IF_EXISTS_OR_ADD, out.requestAdd,
             &setAuthority);
  addHeaders(headers.request.add, HeaderValueOption::APPEND_IF_EXISTS_OR_ADD, out.requestAdd,
             &addAuthority);
  addHeaders(headers.response.set, HeaderValueOption::OVERWRITE_IF_EXISTS_OR_ADD, out.responseAdd,
             nullptr);
  addHeaders(headers.response.add, HeaderValueOption::APPEND_IF_EXISTS_OR_ADD, out.responseAdd,
             nullptr);
  out.requestRemove = removable(headers.request.remove);
  out.responseRemove = removable(headers.response.remove);
  out.authority = setAuthority.empty() ? addAuthority : setAuthority;
  return out;
}

std::string destinationCluster(const RouteScope& scope, const config::Destination& destination,
                               std::string_view ns) {
  const std::string host = config::resolveShortHost(destination.host, ns);
  const registry::Service* service = scope.snapshot.registry().service(host);
  uint32_t port = scope.port;
  if (destination.port != 0) {
    port = destination.port;
  } else if (service != nullptr && service->ports.size() == 1) {
    port = service->ports[0].number;
  }
  return outboundClusterName(port, destination.subset, host);
}

std::optional<route::RouteAction::HashPolicy>
destinationHashPolicy(const RouteScope& scope, const config::Destination& destination,
                      std::string_view ns) {
  const std::string host = config::resolveShortHost(destination.host, ns);
  const registry::Service* service = scope.snapshot.registry().service(host);
  const auto* rule = scope.snapshot.destinationRuleFor(
      host, scope.proxy.ns, service != nullptr ? std::string_view(service->ns) : ns);
  if (rule == nullptr) {
    return std::nullopt;
  }
  const config::DestinationRule& dr = rule->spec;
  std::optional<config::ConsistentHashLb> subsetHash;
  std::optional<config::ConsistentHashLb> subsetPortHash;
  for (const config::Subset& subset : dr.subsets) {
    if (subset.name == destination.subset) {
      subsetHash = topLevelHash(subset.trafficPolicy);
      subsetPortHash = portLevelHash(subset.trafficPolicy, destination.port);
      break;
    }
  }
  if (subsetPortHash) {
    return hashPolicyOf(subsetPortHash);
  }
  if (subsetHash) {
    return hashPolicyOf(subsetHash);
  }
  if (auto portHash = portLevelHash(dr.trafficPolicy, destination.port)) {
    return hashPolicyOf(portHash);
  }
  return hashPolicyOf(topLevelHash(dr.trafficPolicy));
}

std::optional<route::RouteAction::HashPolicy>
serviceHashPolicy(const RouteScope& scope, const registry::Service& service, uint32_t port) {
  const auto* rule =
      scope.snapshot.destinationRuleFor(service.hostname, scope.proxy.ns, service.ns);
  if (rule == nullptr) {
    return std::nullopt;
  }
  if (auto portHash = portLevelHash(rule->spec.trafficPolicy, port)) {
    return hashPolicyOf(portHash);
  }
  return hashPolicyOf(topLevelHash(rule->spec.trafficPolicy));
}

namespace {

// envoy.retry_host_predicates.previous_hosts: a retry prefers hosts not tried yet.
route::RetryPolicy::RetryHostPredicate previousHostsPredicate() {
  route::RetryPolicy::RetryHostPredicate out;
  out.set_name("envoy.retry_host_predicates.previous_hosts");
  out.mutable_typed_config()->PackFrom(
      envoy::extensions::retry::host::previous_hosts::v3::PreviousHostsPredicate());
  return out;
}

} // namespace

std::optional<route::RetryPolicy> retryPolicy(const std::optional<config::HttpRetry>& retries) {
  route::RetryPolicy out;
  out.mutable_num_retries()->set_value(2);
  out.set_retry_on("connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes");
  out.add_retriable_status_codes(503);
  // Istio's default policy: retries avoid the hosts already tried, re-picking up to 5 times.
  *out.add_retry_host_predicate() = previousHostsPredicate();
  out.set_host_selection_retry_max_attempts(5);
  if (!retries) {
    return out;
  }
  if (retries->attempts <= 0) {
    return std::nullopt; // retries explicitly disabled
  }
  out.mutable_num_retries()->set_value(static_cast<uint32_t>(retries->attempts));
  if (!retries->retryOn.empty()) {
    std::vector<std::string> conditions;
    out.clear_retriable_status_codes();
    for (absl::string_view part : absl::StrSplit(retries->retryOn, ',')) {
      part = absl::StripAsciiWhitespace(part);
      int code = 0;
      if (part.empty()) {
        continue;
      }
      if (absl::SimpleAtoi(part, &code) && isKnownHttpStatus(code)) {
        out.add_retriable_status_codes(static_cast<uint32_t>(code));
      } else {
        conditions.emplace_back(part);
      }
    }
    std::string on = absl::StrJoin(conditions, ",");
    if (out.retriable_status_codes_size() > 0 &&
        on.find("retriable-status-codes") == std::string::npos) {
      on += on.empty() ? "retriable-status-codes" : ",retriable-status-codes";
    }
    out.set_retry_on(on);
  }
  if (retries->perTryTimeout) {
    *out.mutable_per_try_timeout() = toProtoDuration(*retries->perTryTimeout);
  }
  if (retries->backoff) {
    *out.mutable_retry_back_off()->mutable_base_interval() = toProtoDuration(*retries->backoff);
  }
  // retryIgnorePreviousHosts: false drops the predicate, true keeps it (Istio's ConvertPolicy).
  if (retries->retryIgnorePreviousHosts && !*retries->retryIgnorePreviousHosts) {
    out.clear_retry_host_predicate();
  }
  return out;
}

std::optional<envoy::extensions::filters::http::fault::v3::HTTPFault>
faultFilterConfig(const config::HttpFaultInjection& fault) {
  envoy::extensions::filters::http::fault::v3::HTTPFault out;
  if (fault.delay) {
    auto* delay = out.mutable_delay();
    // Istio: the percentage, else the deprecated integer percent (folded in), else 0%.
    *delay->mutable_percentage() = fault.delay->percentage
                                       ? percentPerMillion(*fault.delay->percentage)
                                       : percentPerHundred(0);
    *delay->mutable_fixed_delay() = toProtoDuration(fault.delay->fixedDelay);
  }
  if (fault.abort) {
    auto* abort = out.mutable_abort();
    if (fault.abort->percentage) {
      *abort->mutable_percentage() = percentPerMillion(*fault.abort->percentage);
    }
    if (const auto* status = std::get_if<uint32_t>(&fault.abort->error)) {
      abort->set_http_status(*status);
    } else {
      abort->set_grpc_status(grpcStatusCode(std::get<std::string>(fault.abort->error)));
    }
  }
  if (!out.has_delay() && !out.has_abort()) {
    return std::nullopt;
  }
  return out;
}

envoy::extensions::filters::http::cors::v3::CorsPolicy
corsFilterConfig(const config::CorsPolicy& cors) {
  envoy::extensions::filters::http::cors::v3::CorsPolicy out;
  out.mutable_forward_not_matching_preflights()->set_value(
      cors.unmatchedPreflights != config::CorsPolicy::UnmatchedPreflights::kIgnore);
  for (const config::StringMatch& origin : cors.allowOrigins) {
    *out.add_allow_origin_string_match() = envoyStringMatcher(origin);
  }
  *out.mutable_filter_enabled()->mutable_default_value() = percentPerHundred(100);
  if (cors.allowCredentials) {
    out.mutable_allow_credentials()->set_value(*cors.allowCredentials);
  }
  out.set_allow_headers(absl::StrJoin(cors.allowHeaders, ","));
  out.set_allow_methods(absl::StrJoin(cors.allowMethods, ","));
  out.set_expose_headers(absl::StrJoin(cors.exposeHeaders, ","));
  if (cors.maxAge) {
    out.set_max_age(
        std::to_string(std::chrono::duration_cast<std::chrono::seconds>(*cors.maxAge).count()));
  }
  return out;
}

} // namespace meshd::control::translate
