// VirtualService HTTP routes → Envoy routes, following Istio's route.go rule by rule (see
// docs/translation.md "Routes" for the rules and where meshd departs from them).
#include "control/translate/http_routes.h"

#include "control/translate/cluster_support.h"

#include <algorithm>
#include <array>
#include <optional>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "control/config/host_names.h"
#include "control/translate/names.h"
#include "control/translate/route_policies.h"

namespace meshd::control::translate {
namespace {

namespace route = envoy::config::route::v3;

constexpr std::string_view kMethodHeader = ":method";
constexpr std::string_view kAuthorityHeader = ":authority";
constexpr std::string_view kSchemeHeader = ":scheme";

// Istio turns a missing match, an empty one ({}) and the regex "*" into a presence check.
bool isPresenceMatch(const config::StringMatch& match) {
  return match.kind == config::StringMatch::Kind::kAny ||
         (match.kind == config::StringMatch::Kind::kRegex && match.value == "*");
}

route::HeaderMatcher headerMatcher(std::string_view name, const config::StringMatch& match) {
  route::HeaderMatcher out;
  out.set_name(std::string(name));
  if (isPresenceMatch(match)) {
    out.set_present_match(true);
  } else {
    *out.mutable_string_match() = envoyStringMatcher(match);
  }
  return out;
}

route::RouteMatch routeMatch(const config::HttpMatchRequest* in) {
  route::RouteMatch out;
  out.set_prefix("/");
  if (in == nullptr) {
    return out;
  }
  std::vector<route::HeaderMatcher> headers;
  for (const auto& [name, match] : in->headers) {
    headers.push_back(headerMatcher(name, match));
  }
  for (const auto& [name, match] : in->withoutHeaders) {
    route::HeaderMatcher matcher = headerMatcher(name, match);
    matcher.set_invert_match(true);
    if (!isPresenceMatch(match)) {
      matcher.set_treat_missing_header_as_empty(true); // a missing header is not the value
    }
    headers.push_back(std::move(matcher));
  }
  std::stable_sort(headers.begin(), headers.end(),
                   [](const auto& a, const auto& b) { return a.name() < b.name(); });
  if (in->uri) {
    switch (in->uri->kind) {
    case config::StringMatch::Kind::kExact: out.set_path(in->uri->value); break;
    case config::StringMatch::Kind::kRegex:
      out.mutable_safe_regex()->set_regex(in->uri->value);
      break;
    case config::StringMatch::Kind::kPrefix: out.set_prefix(in->uri->value); break;
    case config::StringMatch::Kind::kAny: break;
    }
  }
  out.mutable_case_sensitive()->set_value(!in->ignoreUriCase);
  const std::array<std::pair<std::string_view, const std::optional<config::StringMatch>*>, 3>
      pseudo = {{{kMethodHeader, &in->method},
                 {kAuthorityHeader, &in->authority},
                 {kSchemeHeader, &in->scheme}}};
  for (const auto& [name, match] : pseudo) {
    if (match->has_value()) {
      headers.push_back(headerMatcher(name, **match));
    }
  }
  for (auto& header : headers) {
    *out.add_headers() = std::move(header);
  }
  for (const auto& [name, match] : in->queryParams) {
    route::QueryParameterMatcher* query = out.add_query_parameters();
    query->set_name(name);
    if (isPresenceMatch(match)) {
      query->set_present_match(true);
    } else {
      *query->mutable_string_match() = envoyStringMatcher(match);
    }
  }
  return out;
}

std::string fullGatewayName(std::string_view name, std::string_view vsNamespace) {
  if (name == "mesh" || name.find('/') != std::string_view::npos) {
    return std::string(name);
  }
  return std::string(vsNamespace) + "/" + std::string(name);
}

// Istio's sourceMatchHTTP: a match naming gateways applies only through one of them; otherwise
// its sourceLabels and sourceNamespace must describe this proxy (decided here, at translation).
bool appliesToProxy(const config::HttpMatchRequest& match, const RouteScope& scope,
                    std::string_view vsNamespace) {
  if (!match.gateways.empty()) {
    return std::any_of(match.gateways.begin(), match.gateways.end(), [&](const auto& name) {
      return fullGatewayName(name, vsNamespace) == scope.gateway;
    });
  }
  return model::labelsMatch(match.sourceLabels, scope.proxy.labels) &&
         (match.sourceNamespace.empty() || match.sourceNamespace == scope.proxy.ns);
}

struct RouteTarget {
  route::Route& out;
  route::RouteAction& action;
};

void applyRedirect(const config::HttpRedirect& redirect, const RouteScope& scope,
                   route::Route& out) {
  route::RedirectAction* action = out.mutable_redirect();
  action->set_host_redirect(redirect.authority);
  action->set_path_redirect(redirect.uri);
  if (!redirect.scheme.empty()) {
    action->set_scheme_redirect(redirect.scheme);
  }
  if (redirect.port != 0 || redirect.derivePort) {
    uint32_t port = redirect.port;
    if (redirect.derivePort == config::HttpRedirect::DerivePort::kFromRequestPort) {
      port = scope.port; // Envoy keeps the request's port only when told it
    }
    std::string scheme = redirect.scheme.empty() ? (scope.tls ? "https" : "http") : redirect.scheme;
    if ((port == 80 && scheme == "http") || (port == 443 && scheme == "https")) {
      port = 0;
    }
    action->set_port_redirect(port);
  }
  switch (redirect.redirectCode) {
  case 302: action->set_response_code(route::RedirectAction::FOUND); break;
  case 303: action->set_response_code(route::RedirectAction::SEE_OTHER); break;
  case 307: action->set_response_code(route::RedirectAction::TEMPORARY_REDIRECT); break;
  case 308: action->set_response_code(route::RedirectAction::PERMANENT_REDIRECT); break;
  default: // 301 (validation refuses other codes)
    action->set_response_code(route::RedirectAction::MOVED_PERMANENTLY);
    break;
  }
}

void applyDirectResponse(const config::HttpDirectResponse& response, route::Route& out) {
  route::DirectResponseAction* action = out.mutable_direct_response();
  action->set_status(response.status);
  if (response.body) {
    action->mutable_body()->set_inline_string(*response.body);
  }
}

// Where one destination goes, with its headers and hash policy added to the route.
void applySingleDestination(const config::HttpRouteDestination& dst, const RouteScope& scope,
                            std::string_view ns, RouteTarget target) {
  target.action.set_cluster(destinationCluster(scope, dst.destination, ns));
  if (dst.headers) {
    HeaderOperations ops = headerOperations(*dst.headers);
    ops.appendTo(target.out);
    if (!ops.authority.empty() && !target.action.has_host_rewrite_literal()) {
      target.action.set_host_rewrite_literal(ops.authority);
    }
  }
}

void applyWeightedDestinations(const std::vector<config::HttpRouteDestination>& destinations,
                               const RouteScope& scope, std::string_view ns,
                               route::RouteAction& action) {
  route::WeightedCluster* weighted = action.mutable_weighted_clusters();
  for (const config::HttpRouteDestination& dst : destinations) {
    if (dst.weight == 0) {
      continue; // Istio drops zero-weight destinations when there are several
    }
    route::WeightedCluster::ClusterWeight* cluster = weighted->add_clusters();
    cluster->set_name(destinationCluster(scope, dst.destination, ns));
    cluster->mutable_weight()->set_value(static_cast<uint32_t>(dst.weight));
    if (dst.headers) {
      HeaderOperations ops = headerOperations(*dst.headers);
      ops.appendTo(*cluster);
      if (!ops.authority.empty()) {
        cluster->set_host_rewrite_literal(ops.authority);
      }
    }
  }
}

void applyRewrite(const config::HttpRewrite& rewrite, route::RouteAction& action,
                  std::string& authority) {
  if (rewrite.uriRegexRewrite) {
    auto* regex = action.mutable_regex_rewrite();
    regex->mutable_pattern()->set_regex(rewrite.uriRegexRewrite->match);
    regex->set_substitution(rewrite.uriRegexRewrite->rewrite);
  } else if (!rewrite.uri.empty()) {
    // Envoy replaces what the path match matched: the prefix, or the whole path of an exact match.
    action.set_prefix_rewrite(rewrite.uri);
  }
  if (!rewrite.authority.empty()) {
    authority = rewrite.authority;
  }
}

void applyRouteAction(const config::HttpRoute& in, const RouteScope& scope, std::string_view ns,
                      std::string authority, route::Route& out) {
  route::RouteAction& action = *out.mutable_route();
  *action.mutable_timeout() = toProtoDuration(in.timeout.value_or(config::Duration{0}));
  if (scope.proxy.type == ProxyContext::Type::kProxylessGrpc) {
    *action.mutable_max_stream_duration()->mutable_max_stream_duration() = action.timeout();
  }
  if (in.rewrite) {
    applyRewrite(*in.rewrite, action, authority);
  }
  if (!authority.empty()) {
    action.set_host_rewrite_literal(authority);
  }
  for (const config::HttpMirrorPolicy& mirror : in.mirrors) {
    if (mirror.percentage && *mirror.percentage <= 0) {
      continue; // an explicit 0% mirrors nothing
    }
    auto* policy = action.add_request_mirror_policies();
    policy->set_cluster(destinationCluster(scope, mirror.destination, ns));
    *policy->mutable_runtime_fraction()->mutable_default_value() =
        mirror.percentage ? percentPerMillion(*mirror.percentage) : percentPerHundred(100);
    policy->mutable_trace_sampled()->set_value(false);
  }
  if (in.route.size() == 1) {
    applySingleDestination(in.route[0], scope, ns, {out, action});
  } else {
    applyWeightedDestinations(in.route, scope, ns, action);
  }
  // Each destination's consistent hash, in order (Istio appends them all).
  for (const config::HttpRouteDestination& dst : in.route) {
    if (in.route.size() > 1 && dst.weight == 0) {
      continue;
    }
    if (auto hash = destinationHashPolicy(scope, dst.destination, ns)) {
      *action.add_hash_policy() = std::move(*hash);
    }
  }
  if (auto retry = retryPolicy(in.retries)) {
    *action.mutable_retry_policy() = std::move(*retry);
  }
}

route::Route translateRoute(const ScopedHttpRoute& scoped, const config::HttpMatchRequest* match,
                            const RouteScope& scope) {
  const config::HttpRoute& in = scoped.route;
  route::Route out;
  std::string name = in.name;
  if (match != nullptr && !match->name.empty()) {
    name += "." + match->name;
  }
  out.set_name(name);
  *out.mutable_match() = routeMatch(match);
  std::string authority;
  if (in.headers) {
    HeaderOperations ops = headerOperations(*in.headers);
    ops.appendTo(out);
    authority = ops.authority;
  }
  if (in.redirect) {
    applyRedirect(*in.redirect, scope, out);
  } else if (in.directResponse) {
    applyDirectResponse(*in.directResponse, out);
  } else {
    applyRouteAction(in, scope, scoped.ns, authority, out);
  }
  if (in.fault) {
    if (auto fault = faultFilterConfig(*in.fault)) {
      (*out.mutable_typed_per_filter_config())[std::string(kFaultFilterName)].PackFrom(*fault);
    }
  }
  if (in.corsPolicy) {
    (*out.mutable_typed_per_filter_config())[std::string(kCorsFilterName)].PackFrom(
        corsFilterConfig(*in.corsPolicy));
  }
  return out;
}

} // namespace

bool isCatchAllRoute(const route::Route& r) {
  const route::RouteMatch& m = r.match();
  const bool everyPath = (m.has_prefix() && m.prefix() == "/") ||
                         (m.has_path_separated_prefix() && m.path_separated_prefix() == "/") ||
                         (m.has_safe_regex() && m.safe_regex().regex() == ".*");
  return everyPath && m.headers().empty() && m.query_parameters().empty();
}

std::vector<route::Route>
buildVirtualServiceRoutes(const RouteScope& scope, const model::Entry<config::VirtualService>& vs) {
  std::vector<route::Route> out;
  for (const ScopedHttpRoute& scoped : expandDelegates(scope.snapshot, vs)) {
    bool catchAll = false;
    if (scoped.route.match.empty()) {
      out.push_back(translateRoute(scoped, nullptr, scope));
      catchAll = true;
    }
    for (const config::HttpMatchRequest& match : scoped.route.match) {
      if ((match.port != 0 && match.port != scope.port) ||
          !appliesToProxy(match, scope, vs.key.ns)) {
        continue;
      }
      out.push_back(translateRoute(scoped, &match, scope));
      if (isCatchAllRoute(out.back())) {
        catchAll = true; // later routes could never match
        break;
      }
    }
    if (catchAll) {
      break;
    }
  }
  return out;
}

route::Route defaultServiceRoute(const RouteScope& scope, const registry::Service& service,
                                 uint32_t port) {
  route::Route out;
  out.set_name("default");
  out.mutable_match()->set_prefix("/");
  route::RouteAction& action = *out.mutable_route();
  action.set_cluster(outboundClusterName(port, "", service.hostname));
  *action.mutable_retry_policy() = *retryPolicy(std::nullopt);
  *action.mutable_timeout() = toProtoDuration(config::Duration{0});
  if (scope.proxy.type == ProxyContext::Type::kProxylessGrpc) {
    *action.mutable_max_stream_duration()->mutable_max_stream_duration() = action.timeout();
  }
  if (auto hash = serviceHashPolicy(scope, service, port)) {
    *action.add_hash_policy() = std::move(*hash);
  }
  return out;
}

} // namespace meshd::control::translate
