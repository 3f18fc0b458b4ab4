// Compiling a RouteConfiguration into a RouteTable (route_table.h); matching is in
// route_matching.cc.
#include "proxy/router/route_table.h"

#include "proxy/filters/http/cors/cors_policy.h"
#include "proxy/filters/http/fault/fault_config.h"
#include "proxy/filters/http/local_ratelimit/local_ratelimit_config.h"

#include <set>

#include "core/status.h"
#include "envoy/extensions/retry/host/previous_hosts/v3/previous_hosts.pb.h"
#include "fmt/format.h"
#include "proxy/config/conversions.h"

// Configs still use the deprecated HeaderMatcher and HeaderValueOption fields (exact_match,
// append, ...); Envoy honours them, and so do we.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace meshd::proxy::router {
namespace {

using config::invalid;
using config::toMillis;
using http::toLower;

using envoy::config::core::v3::HeaderValueOption;
using envoy::config::route::v3::HeaderMatcher;
using google::protobuf::RepeatedPtrField;

absl::StatusOr<std::shared_ptr<const re2::RE2>> compileRegex(const std::string& pattern,
                                                             const std::string& where) {
  auto regex = std::make_shared<const re2::RE2>(pattern, re2::RE2::Quiet);
  if (!regex->ok()) {
    return invalid(where, fmt::format("invalid regex '{}': {}", pattern, regex->error()));
  }
  return regex;
}

HeaderMutation buildMutation(const RepeatedPtrField<HeaderValueOption>& add,
                             const RepeatedPtrField<std::string>& remove) {
  HeaderMutation out;
  for (const auto& option : add) {
    HeaderMutation::Mode mode = HeaderMutation::Mode::kAppend;
    switch (option.append_action()) {
    case HeaderValueOption::ADD_IF_ABSENT: mode = HeaderMutation::Mode::kAddIfAbsent; break;
    case HeaderValueOption::OVERWRITE_IF_EXISTS_OR_ADD:
      mode = HeaderMutation::Mode::kOverwrite;
      break;
    case HeaderValueOption::OVERWRITE_IF_EXISTS:
      mode = HeaderMutation::Mode::kOverwriteIfExists;
      break;
    default:
      // The deprecated `append` flag (default true) still decides when no action is given.
      if (option.has_append() && !option.append().value()) {
        mode = HeaderMutation::Mode::kOverwrite;
      }
    }
    out.add.push_back({toLower(option.header().key()), option.header().value(), mode});
  }
  for (const auto& name : remove) {
    out.remove.push_back(toLower(name));
  }
  return out;
}

} // namespace

absl::StatusOr<StringMatch> buildStringMatch(const envoy::type::matcher::v3::StringMatcher& m,
                                             const std::string& where) {
  StringMatch out;
  out.ignoreCase = m.ignore_case();
  using P = envoy::type::matcher::v3::StringMatcher;
  switch (m.match_pattern_case()) {
  case P::kExact:
    out.kind = StringMatch::Kind::kExact;
    out.value = m.exact();
    break;
  case P::kPrefix:
    out.kind = StringMatch::Kind::kPrefix;
    out.value = m.prefix();
    break;
  case P::kSuffix:
    out.kind = StringMatch::Kind::kSuffix;
    out.value = m.suffix();
    break;
  case P::kContains:
    out.kind = StringMatch::Kind::kContains;
    out.value = m.contains();
    break;
  case P::kSafeRegex: {
    out.kind = StringMatch::Kind::kRegex;
    ASSIGN_OR_RETURN(out.regex, compileRegex(m.safe_regex().regex(), where + ".safe_regex.regex"));
    break;
  }
  default:
    return invalid(where, "a string matcher needs exact, prefix, suffix, contains or safe_regex");
  }
  if (out.ignoreCase) {
    out.value = toLower(out.value);
  }
  return out;
}

absl::StatusOr<HeaderMatch> buildHeaderMatch(const HeaderMatcher& m, const std::string& where) {
  HeaderMatch out;
  out.name = toLower(m.name());
  out.invert = m.invert_match();
  out.treatMissingAsEmpty = m.treat_missing_header_as_empty();
  switch (m.header_match_specifier_case()) {
  case HeaderMatcher::kStringMatch: {
    out.kind = HeaderMatch::Kind::kString;
    ASSIGN_OR_RETURN(out.string, buildStringMatch(m.string_match(), where + ".string_match"));
    break;
  }
  case HeaderMatcher::kPresentMatch:
    out.kind = HeaderMatch::Kind::kPresent;
    out.present = m.present_match();
    break;
  case HeaderMatcher::kRangeMatch:
    out.kind = HeaderMatch::Kind::kRange;
    out.rangeStart = m.range_match().start();
    out.rangeEnd = m.range_match().end();
    break;
  case HeaderMatcher::kExactMatch: // deprecated forms, still common in configs
    out.kind = HeaderMatch::Kind::kString;
    out.string = StringMatch{StringMatch::Kind::kExact, m.exact_match(), false, nullptr};
    break;
  case HeaderMatcher::kPrefixMatch:
    out.kind = HeaderMatch::Kind::kString;
    out.string = StringMatch{StringMatch::Kind::kPrefix, m.prefix_match(), false, nullptr};
    break;
  case HeaderMatcher::kSuffixMatch:
    out.kind = HeaderMatch::Kind::kString;
    out.string = StringMatch{StringMatch::Kind::kSuffix, m.suffix_match(), false, nullptr};
    break;
  case HeaderMatcher::kContainsMatch:
    out.kind = HeaderMatch::Kind::kString;
    out.string = StringMatch{StringMatch::Kind::kContains, m.contains_match(), false, nullptr};
    break;
  case HeaderMatcher::kSafeRegexMatch: {
    out.kind = HeaderMatch::Kind::kString;
    out.string.kind = StringMatch::Kind::kRegex;
    ASSIGN_OR_RETURN(out.string.regex,
                     compileRegex(m.safe_regex_match().regex(), where + ".safe_regex_match.regex"));
    break;
  }
  default: // no specifier: the header must be present
    out.kind = HeaderMatch::Kind::kPresent;
    out.present = true;
  }
  return out;
}

namespace {

absl::StatusOr<RetryPolicy> buildRetryPolicy(const envoy::config::route::v3::RetryPolicy& proto,
                                             const std::string& where) {
  RetryPolicy out;
  std::string_view on = proto.retry_on();
  while (!on.empty()) {
    const size_t comma = on.find(',');
    std::string_view token = on.substr(0, comma);
    while (!token.empty() && token.front() == ' ') {
      token.remove_prefix(1);
    }
    while (!token.empty() && token.back() == ' ') {
      token.remove_suffix(1);
    }
    if (token == "5xx") {
      out.retryOn |= RetryPolicy::k5xx;
    } else if (token == "gateway-error") {
      out.retryOn |= RetryPolicy::kGatewayError;
    } else if (token == "connect-failure") {
      out.retryOn |= RetryPolicy::kConnectFailure;
    } else if (token == "reset") {
      out.retryOn |= RetryPolicy::kReset;
    } else if (token == "retriable-4xx") {
      out.retryOn |= RetryPolicy::kRetriable4xx;
    } else if (token == "retriable-status-codes") {
      out.retryOn |= RetryPolicy::kRetriableStatusCodes;
    } else if (token == "refused-stream") {
      out.retryOn |= RetryPolicy::kRefusedStream;
    } else if (token == "cancelled") {
      out.retryOn |= RetryPolicy::kGrpcCancelled;
    } else if (token == "deadline-exceeded") {
      out.retryOn |= RetryPolicy::kGrpcDeadlineExceeded;
    } else if (token == "resource-exhausted") {
      out.retryOn |= RetryPolicy::kGrpcResourceExhausted;
    } else if (token == "internal") {
      out.retryOn |= RetryPolicy::kGrpcInternal;
    } else if (token == "unavailable") {
      out.retryOn |= RetryPolicy::kGrpcUnavailable;
    } else if (token == "envoy-ratelimited" || token == "http3-post-connect-failure") {
      // Accepted and never met: no upstream sends x-envoy-ratelimited here, and there is no
      // HTTP/3.
    } else if (!token.empty()) {
      return invalid(where + ".retry_on", fmt::format("unknown retry condition '{}'", token));
    }
    on = comma == std::string_view::npos ? std::string_view() : on.substr(comma + 1);
  }
  if (proto.has_num_retries()) {
    out.numRetries = proto.num_retries().value();
  }
  if (proto.has_per_try_timeout()) {
    out.perTryTimeout = toMillis(proto.per_try_timeout());
  }
  out.retriableStatusCodes.assign(proto.retriable_status_codes().begin(),
                                  proto.retriable_status_codes().end());
  for (int i = 0; i < proto.retry_host_predicate_size(); ++i) {
    const auto& predicate = proto.retry_host_predicate(i);
    const std::string at = fmt::format("{}.retry_host_predicate[{}]", where, i);
    // The name is only a label in Envoy; the typed config says which extension it is.
    if (predicate.has_typed_config() &&
        predicate.typed_config()
            .Is<envoy::extensions::retry::host::previous_hosts::v3::PreviousHostsPredicate>()) {
      out.avoidPreviousHosts = true;
    } else if (!predicate.has_typed_config() &&
               predicate.name() == "envoy.retry_host_predicates.previous_hosts") {
      out.avoidPreviousHosts = true;
    } else {
      return invalid(at, fmt::format("retry host predicate '{}' is not supported (supported: "
                                     "envoy.retry_host_predicates.previous_hosts)",
                                     predicate.name()));
    }
  }
  if (proto.host_selection_retry_max_attempts() < 0) {
    return invalid(where + ".host_selection_retry_max_attempts", "must not be negative");
  }
  if (proto.host_selection_retry_max_attempts() > 0) {
    // Bounded: each re-pick is a balancer call on the worker.
    out.hostSelectionMaxAttempts =
        static_cast<uint32_t>(std::min<int64_t>(proto.host_selection_retry_max_attempts(), 100));
  }
  if (proto.has_retry_back_off()) {
    out.backoffBase = toMillis(proto.retry_back_off().base_interval());
    if (out.backoffBase.count() <= 0) {
      return invalid(where + ".retry_back_off.base_interval", "must be positive");
    }
    out.backoffMax = proto.retry_back_off().has_max_interval()
                         ? toMillis(proto.retry_back_off().max_interval())
                         : out.backoffBase * 10;
    if (out.backoffMax < out.backoffBase) {
      return invalid(where + ".retry_back_off.max_interval", "must be at least base_interval");
    }
  }
  return out;
}

absl::Status buildAction(const envoy::config::route::v3::Route& proto, Route& route,
                         const std::string& where) {
  using R = envoy::config::route::v3::Route;
  switch (proto.action_case()) {
  case R::kRoute: {
    const auto& a = proto.route();
    RouteAction& out = route.route;
    out.cluster = a.cluster();
    out.clusterHeader = toLower(a.cluster_header());
    for (int i = 0; i < a.weighted_clusters().clusters_size(); ++i) {
      const auto& c = a.weighted_clusters().clusters(i);
      WeightedCluster wc;
      wc.name = c.name();
      wc.weight = c.has_weight() ? c.weight().value() : 0;
      wc.requestHeaders = buildMutation(c.request_headers_to_add(), c.request_headers_to_remove());
      wc.responseHeaders =
          buildMutation(c.response_headers_to_add(), c.response_headers_to_remove());
      out.totalWeight += wc.weight;
      out.weightedClusters.push_back(std::move(wc));
    }
    if (a.has_weighted_clusters() && out.totalWeight == 0) {
      return invalid(where + ".route.weighted_clusters", "the weights sum to zero");
    }
    if (out.cluster.empty() && out.clusterHeader.empty() && out.weightedClusters.empty()) {
      return invalid(where + ".route", "needs cluster, cluster_header or weighted_clusters");
    }
    out.prefixRewrite = a.prefix_rewrite();
    if (a.has_regex_rewrite()) {
      ASSIGN_OR_RETURN(out.regexRewrite,
                       compileRegex(a.regex_rewrite().pattern().regex(),
                                    where + ".route.regex_rewrite.pattern.regex"));
      out.regexRewriteSubstitution = a.regex_rewrite().substitution();
    }
    out.hostRewriteLiteral = a.host_rewrite_literal();
    out.autoHostRewrite = a.has_auto_host_rewrite() && a.auto_host_rewrite().value();
    if (a.has_idle_timeout()) {
      out.idleTimeout = toMillis(a.idle_timeout());
    }
    if (a.has_timeout()) {
      out.timeout = toMillis(a.timeout());
    }
    if (a.has_retry_policy()) {
      ASSIGN_OR_RETURN(out.retryPolicy,
                       buildRetryPolicy(a.retry_policy(), where + ".route.retry_policy"));
    }
    for (int m = 0; m < a.request_mirror_policies_size(); ++m) {
      const auto& policy = a.request_mirror_policies(m);
      const std::string at = fmt::format("{}.route.request_mirror_policies[{}]", where, m);
      if (policy.cluster().empty()) {
        return invalid(at + ".cluster", "is required");
      }
      RouteAction::Mirror mirror{policy.cluster()};
      if (policy.has_runtime_fraction()) {
        mirror.perMillion = config::perMillion(policy.runtime_fraction().default_value());
      }
      out.mirrors.push_back(std::move(mirror));
    }
    for (int h = 0; h < a.hash_policy_size(); ++h) {
      const auto& policy = a.hash_policy(h);
      HashPolicy hash;
      hash.terminal = policy.terminal();
      using P = envoy::config::route::v3::RouteAction::HashPolicy;
      switch (policy.policy_specifier_case()) {
      case P::kHeader:
        hash.kind = HashPolicy::Kind::kHeader;
        hash.name = toLower(policy.header().header_name());
        break;
      case P::kCookie:
        hash.kind = HashPolicy::Kind::kCookie;
        hash.name = policy.cookie().name();
        if (policy.cookie().has_ttl()) {
          hash.cookieTtl = std::chrono::seconds(policy.cookie().ttl().seconds());
        }
        hash.cookiePath = policy.cookie().path();
        break;
      case P::kConnectionProperties: hash.kind = HashPolicy::Kind::kSourceIp; break;
      case P::kQueryParameter:
        hash.kind = HashPolicy::Kind::kQueryParameter;
        hash.name = policy.query_parameter().name();
        break;
      default:
        return invalid(fmt::format("{}.route.hash_policy[{}]", where, h),
                       "needs header, cookie, connection_properties or query_parameter");
      }
      out.hashPolicies.push_back(std::move(hash));
    }
    route.actionKind = Route::ActionKind::kRoute;
    return absl::OkStatus();
  }
  case R::kRedirect: {
    const auto& r = proto.redirect();
    RedirectAction& out = route.redirect;
    out.scheme = r.https_redirect() ? "https" : r.scheme_redirect();
    out.host = r.host_redirect();
    out.port = r.port_redirect();
    out.path = r.path_redirect();
    out.prefix = r.prefix_rewrite();
    out.stripQuery = r.strip_query();
    static constexpr int kCodes[] = {301, 302, 303, 307, 308};
    out.status = kCodes[static_cast<int>(r.response_code()) % 5];
    route.actionKind = Route::ActionKind::kRedirect;
    return absl::OkStatus();
  }
  case R::kDirectResponse: {
    const auto& d = proto.direct_response();
    if (d.status() < 200 || d.status() > 599) {
      return invalid(where + ".direct_response.status",
                     fmt::format("{} is not in 200-599", d.status()));
    }
    route.directResponse.status = static_cast<int>(d.status());
    route.directResponse.body =
        d.body().has_inline_string() ? d.body().inline_string() : d.body().inline_bytes();
    route.actionKind = Route::ActionKind::kDirectResponse;
    return absl::OkStatus();
  }
  default: return invalid(where, "a route needs route, redirect or direct_response");
  }
}

// typed_per_filter_config of a route or virtual host: the fault and local rate limit filters'.
absl::Status
buildPerFilterConfigs(const google::protobuf::Map<std::string, google::protobuf::Any>& configs,
                      const std::string& where, std::shared_ptr<const filters::FaultConfig>& fault,
                      std::shared_ptr<const filters::LocalRateLimitConfig>& local_rate_limit,
                      std::shared_ptr<const filters::CorsPolicy>& cors) {
  for (const auto& [name, any] : configs) {
    const std::string at = fmt::format("{}.typed_per_filter_config['{}']", where, name);
    if (name == filters::kFaultFilterName) {
      ASSIGN_OR_RETURN(auto parsed, filters::buildFaultConfig(any, at));
      fault = std::make_shared<const filters::FaultConfig>(std::move(parsed));
    } else if (name == filters::kLocalRateLimitFilterName) {
      ASSIGN_OR_RETURN(local_rate_limit,
                       filters::buildLocalRateLimitConfig(any, at, /*per_route=*/true));
    } else if (name == filters::kCorsFilterName) {
      ASSIGN_OR_RETURN(auto policy, filters::buildCorsPolicy(any, at));
      cors = std::make_shared<const filters::CorsPolicy>(std::move(policy));
    } else {
      return invalid(at, fmt::format("only {}, {} and {} take a per-route config",
                                     filters::kFaultFilterName, filters::kLocalRateLimitFilterName,
                                     filters::kCorsFilterName));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Route> buildRoute(const envoy::config::route::v3::Route& proto,
                                 const std::string& where) {
  Route route;
  route.name = proto.name();
  const auto& m = proto.match();
  using M = envoy::config::route::v3::RouteMatch;
  switch (m.path_specifier_case()) {
  case M::kPrefix:
    route.pathKind = Route::PathKind::kPrefix;
    route.path = m.prefix();
    break;
  case M::kPath:
    route.pathKind = Route::PathKind::kExact;
    route.path = m.path();
    break;
  case M::kPathSeparatedPrefix:
    route.pathKind = Route::PathKind::kSeparatedPrefix;
    route.path = m.path_separated_prefix();
    if (route.path.empty() || route.path[0] != '/' ||
        (route.path.size() > 1 && route.path.back() == '/')) {
      return invalid(where + ".match.path_separated_prefix",
                     "must start with '/' and not end with '/'");
    }
    break;
  case M::kSafeRegex: {
    route.pathKind = Route::PathKind::kRegex;
    ASSIGN_OR_RETURN(route.pathRegex,
                     compileRegex(m.safe_regex().regex(), where + ".match.safe_regex.regex"));
    break;
  }
  default:
    return invalid(where + ".match", "needs prefix, path, safe_regex or path_separated_prefix");
  }
  route.caseSensitive = !m.has_case_sensitive() || m.case_sensitive().value();
  if (!route.caseSensitive) {
    route.path = toLower(route.path);
  }
  for (int i = 0; i < m.headers_size(); ++i) {
    ASSIGN_OR_RETURN(HeaderMatch h,
                     buildHeaderMatch(m.headers(i), fmt::format("{}.match.headers[{}]", where, i)));
    route.headers.push_back(std::move(h));
  }
  for (int i = 0; i < m.query_parameters_size(); ++i) {
    const auto& q = m.query_parameters(i);
    QueryMatch query;
    query.name = q.name();
    if (q.has_string_match()) {
      ASSIGN_OR_RETURN(
          query.string,
          buildStringMatch(q.string_match(),
                           fmt::format("{}.match.query_parameters[{}].string_match", where, i)));
    }
    route.queryParameters.push_back(std::move(query));
  }
  RETURN_IF_ERROR(buildAction(proto, route, where));
  route.requestHeaders =
      buildMutation(proto.request_headers_to_add(), proto.request_headers_to_remove());
  route.responseHeaders =
      buildMutation(proto.response_headers_to_add(), proto.response_headers_to_remove());
  RETURN_IF_ERROR(buildPerFilterConfigs(proto.typed_per_filter_config(), where, route.fault,
                                        route.localRateLimit, route.cors));
  return route;
}

} // namespace

absl::StatusOr<std::shared_ptr<const RouteTable>>
RouteTable::build(const envoy::config::route::v3::RouteConfiguration& config,
                  const std::string& where) {
  auto table = std::make_shared<RouteTable>();
  table->name_ = config.name();
  table->requestHeaders_ =
      buildMutation(config.request_headers_to_add(), config.request_headers_to_remove());
  table->responseHeaders_ =
      buildMutation(config.response_headers_to_add(), config.response_headers_to_remove());
  std::set<std::string> seenDomains;
  for (int v = 0; v < config.virtual_hosts_size(); ++v) {
    const auto& proto = config.virtual_hosts(v);
    const std::string at = fmt::format("{}.virtual_hosts[{}]", where, v);
    VirtualHost vhost;
    vhost.name = proto.name();
    if (proto.domains_size() == 0) {
      return invalid(at + ".domains", "a virtual host needs at least one domain");
    }
    for (const auto& domain : proto.domains()) {
      const std::string lower = toLower(domain);
      if (!seenDomains.insert(lower).second) {
        return invalid(at + ".domains",
                       fmt::format("domain '{}' is already used by another virtual host", domain));
      }
      vhost.domains.push_back(lower);
    }
    // The virtual host's filter configs: fault and rate limit apply to routes without their
    // own; a CORS policy is merged into each route's field by field.
    std::shared_ptr<const filters::CorsPolicy> hostCors;
    RETURN_IF_ERROR(buildPerFilterConfigs(proto.typed_per_filter_config(), at, vhost.fault,
                                          vhost.localRateLimit, hostCors));
    for (int r = 0; r < proto.routes_size(); ++r) {
      ASSIGN_OR_RETURN(Route route,
                       buildRoute(proto.routes(r), fmt::format("{}.routes[{}]", at, r)));
      if (hostCors) {
        route.cors = std::make_shared<const filters::CorsPolicy>(
            route.cors ? filters::mergeCorsPolicies(*route.cors, *hostCors) : *hostCors);
      }
      vhost.routes.push_back(std::move(route));
    }
    vhost.requestHeaders =
        buildMutation(proto.request_headers_to_add(), proto.request_headers_to_remove());
    vhost.responseHeaders =
        buildMutation(proto.response_headers_to_add(), proto.response_headers_to_remove());
    vhost.includeRequestAttemptCount = proto.include_request_attempt_count();
    vhost.includeAttemptCountInResponse = proto.include_attempt_count_in_response();
    table->virtualHosts_.push_back(std::move(vhost));
  }
  return std::shared_ptr<const RouteTable>(std::move(table));
}

} // namespace meshd::proxy::router
