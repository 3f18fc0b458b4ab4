// The HTTP routes of a VirtualService (`http[]`) and Istio's checks for them (virtual_service.h).
#include <algorithm>
#include <set>

#include "control/config/networking/virtual_service.h"
#include "fmt/format.h"

namespace meshd::control::config {
namespace {

constexpr EnumName<HttpRedirect::DerivePort> kDerivePorts[] = {
    {"FROM_PROTOCOL_DEFAULT", HttpRedirect::DerivePort::kFromProtocolDefault},
    {"FROM_REQUEST_PORT", HttpRedirect::DerivePort::kFromRequestPort},
};
constexpr EnumName<CorsPolicy::UnmatchedPreflights> kUnmatchedPreflights[] = {
    {"UNSPECIFIED", CorsPolicy::UnmatchedPreflights::kUnspecified},
    {"FORWARD", CorsPolicy::UnmatchedPreflights::kForward},
    {"IGNORE", CorsPolicy::UnmatchedPreflights::kIgnore},
};

// Envoy's retry conditions that Istio accepts in `retryOn` (besides status codes).
constexpr std::string_view kRetryOn[] = {"5xx",
                                         "gateway-error",
                                         "reset",
                                         "connect-failure",
                                         "retriable-4xx",
                                         "refused-stream",
                                         "retriable-status-codes",
                                         "retriable-headers",
                                         "envoy-ratelimited",
                                         "http3-post-connect-failure",
                                         "reset-before-request",
                                         "cancelled",
                                         "deadline-exceeded",
                                         "internal",
                                         "resource-exhausted",
                                         "unavailable"};

constexpr std::string_view kGrpcCodes[] = {
    "OK",        "CANCELLED",      "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
    "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED",   "OUT_OF_RANGE",   "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
    "DATA_LOSS", "UNAUTHENTICATED"};

// Header names in match conditions: a header, or a JWT claim ("@request.auth.claims.groups").
void checkMatchHeaderNames(const MessageReader& reader, std::string_view field,
                           const std::map<std::string, StringMatch>& headers) {
  for (const auto& entry : headers) {
    const std::string& name = entry.first;
    if (name.starts_with("@request.auth.claims.") && name.size() > 21) {
      continue;
    }
    if (std::string error = checkHeaderName(name); !error.empty()) {
      reader.context().error(childPointer(reader.pointer(field), name), std::move(error));
    }
  }
}

std::optional<HttpMatchRequest> readMatch(ReadContext& ctx, const nlohmann::json& value,
                                          const std::string& pointer) {
  const MessageReader reader(ctx, value, pointer,
                             {"name", "uri", "scheme", "method", "authority", "headers", "port",
                              "sourceLabels", "gateways", "queryParams", "ignoreUriCase",
                              "withoutHeaders", "sourceNamespace", "statPrefix"});
  if (!reader.ok()) {
    return std::nullopt;
  }
  HttpMatchRequest match;
  match.name = reader.string("name").value_or("");
  match.uri = reader.message("uri", readStringMatch);
  match.scheme = reader.message("scheme", readStringMatch);
  match.method = reader.message("method", readStringMatch);
  match.authority = reader.message("authority", readStringMatch);
  match.headers = reader.map("headers", readStringMatch);
  checkMatchHeaderNames(reader, "headers", match.headers);
  match.withoutHeaders = reader.map("withoutHeaders", readStringMatch);
  checkMatchHeaderNames(reader, "withoutHeaders", match.withoutHeaders);
  match.queryParams = reader.map("queryParams", readStringMatch);
  match.port = reader.port("port").value_or(0);
  match.sourceLabels = readLabels(reader, "sourceLabels");
  match.gateways =
      readStrings(reader, "gateways", [](std::string_view name) { return checkGatewayName(name); });
  match.ignoreUriCase = reader.boolean("ignoreUriCase").value_or(false);
  match.sourceNamespace = reader.string("sourceNamespace").value_or("");
  match.statPrefix = reader.string("statPrefix").value_or("");
  return match;
}

std::optional<HeaderOperations> readHeaderOperations(ReadContext& ctx, const nlohmann::json& value,
                                                     const std::string& pointer) {
  const MessageReader reader(ctx, value, pointer, {"set", "add", "remove"});
  HeaderOperations operations;
  operations.set = reader.stringMap("set");
  operations.add = reader.stringMap("add");
  operations.remove = reader.strings("remove");
  auto check = [&](std::string_view field, const std::string& name, const std::string& at) {
    // Only the request's authority may be rewritten among the pseudo-headers.
    if (name == ":authority" && field != "remove") {
      return;
    }
    if (std::string error = checkHeaderName(name); !error.empty()) {
      ctx.error(at, std::move(error));
    }
  };
  for (std::string_view field : {"set", "add"}) {
    for (const auto& entry : field == "set" ? operations.set : operations.add) {
      check(field, entry.first, childPointer(reader.pointer(field), entry.first));
    }
  }
  for (size_t i = 0; i < operations.remove.size(); ++i) {
    check("remove", operations.remove[i],
          childPointer(reader.pointer("remove"), std::to_string(i)));
  }
  return operations;
}

std::optional<Headers> readHeaders(ReadContext& ctx, const nlohmann::json& value,
                                   const std::string& pointer) {
  const MessageReader reader(ctx, value, pointer, {"request", "response"});
  Headers headers;
  headers.request = reader.message("request", readHeaderOperations).value_or(HeaderOperations{});
  headers.response = reader.message("response", readHeaderOperations).value_or(HeaderOperations{});
  return headers;
}

std::optional<HttpRouteDestination>
readRouteDestination(ReadContext& ctx, const nlohmann::json& value, const std::string& pointer) {
  const MessageReader reader(ctx, value, pointer, {"destination", "weight", "headers"});
  if (!reader.ok()) {
    return std::nullopt;
  }
  HttpRouteDestination destination;
  if (reader.require("destination")) {
    destination.destination =
        reader.message("destination", readDestination).value_or(Destination{});
  }
  destination.weight = static_cast<int32_t>(reader.integer("weight", 0, INT32_MAX).value_or(0));
  destination.headers = reader.message("headers", readHeaders);
  return destination;
}

std::optional<HttpRedirect> readRedirect(ReadContext& ctx, const nlohmann::json& value,
                                         const std::string& pointer) {
  const MessageReader reader(ctx, value, pointer,
                             {"uri", "authority", "port", "derivePort", "scheme", "redirectCode"});
  HttpRedirect redirect;
  redirect.uri = reader.string("uri").value_or("");
  redirect.authority = reader.string("authority").value_or("");
  reader.oneOf({"port", "derivePort"});
  redirect.port = reader.port("port").value_or(0);
  redirect.derivePort = reader.enumeration<HttpRedirect::DerivePort>("derivePort", kDerivePorts);
  redirect.scheme = reader.string("scheme").value_or("");
  if (reader.has("redirectCode")) {
    redirect.redirectCode =
        static_cast<uint32_t>(reader.integer("redirectCode", 300, 399).value_or(301));
  }
  if (reader.ok() && redirect.uri.empty() && redirect.authority.empty() &&
      redirect.scheme.empty() && !reader.has("port") && !reader.has("derivePort")) {
    ctx.error(pointer, "a redirect must change at least one of uri, authority, scheme or port");
  }
  if (!redirect.scheme.empty() && redirect.scheme != "http" && redirect.scheme != "https") {
    reader.error("scheme", fmt::format("'{}' is not http or https", redirect.scheme));
  }
  return redirect;
}

std::optional<HttpDirectResponse> readDirectResponse(ReadContext& ctx, const nlohmann::json& value,
                                                     const std::string& pointer) {
  const MessageReader reader(ctx, value, pointer, {"status", "body"});
  HttpDirectResponse response;
  if (reader.require("status")) {
    response.status = static_cast<uint32_t>(reader.integer("status", 200, 599).value_or(0));
  }
  response.body =
      reader.message("body",
                     [](ReadContext& inner, const nlohmann::json& body,
                        const std::string& at) -> std::optional<std::string> {
                       const MessageReader bodyReader(inner, body, at, {"string", "bytes"});
                       const std::string_view which = bodyReader.oneOf({"string", "bytes"}, true);
                       // `bytes` is base64 in YAML; it is kept as written for the translator to
                       // decode.
                       return which.empty() ? std::nullopt : bodyReader.string(which);
                     });
  constexpr size_t kWarnBodySize = 100 * 1024;
  constexpr size_t kMaxBodySize = 1024 * 1024;
  if (response.body && response.body->size() > kMaxBodySize) {
    reader.error("body", "a direct response body must be smaller than 1MB (large bodies slow "
                         "down every config push)");
  } else if (response.body && response.body->size() > kWarnBodySize) {
    reader.warning("body", "large direct response bodies slow down every config push");
  }
  return response;
}

std::optional<HttpRewrite> readRewrite(ReadContext& ctx, const nlohmann::json& value,
                                       const std::string& pointer) {
  const MessageReader reader(ctx, value, pointer, {"uri", "authority", "uriRegexRewrite"});
  HttpRewrite rewrite;
  rewrite.uri = reader.string("uri").value_or("");
  rewrite.authority = reader.string("authority").value_or("");
  reader.oneOf({"uri", "uriRegexRewrite"});
  rewrite.uriRegexRewrite =
      reader.message("uriRegexRewrite",
                     [](ReadContext& inner, const nlohmann::json& json,
                        const std::string& at) -> std::optional<RegexRewrite> {
                       const MessageReader regex(inner, json, at, {"match", "rewrite"});
                       RegexRewrite out;
                       if (regex.require("match")) {
                         out.match = regex.string("match").value_or("");
                         if (std::string error = checkRegex(out.match); !error.empty()) {
                           regex.error("match", std::move(error));
                         }
                       }
                       if (regex.require("rewrite")) {
                         out.rewrite = regex.string("rewrite").value_or("");
                       }
                       return out;
                     });
  if (reader.ok() && rewrite.uri.empty() && rewrite.authority.empty() &&
      !reader.has("uriRegexRewrite")) {
    ctx.error(pointer, "a rewrite must set at least one of uri, uriRegexRewrite or authority");
  }
  return rewrite;
}

std::optional<HttpRetry> readRetries(ReadContext& ctx, const nlohmann::json& value,
                                     const std::string& pointer) {
  const MessageReader reader(ctx, value, pointer,
                             {"attempts", "perTryTimeout", "retryOn", "retryRemoteLocalities",
                              "retryIgnorePreviousHosts", "backoff"});
  HttpRetry retry;
  retry.attempts = static_cast<int32_t>(reader.integer("attempts", 0, INT32_MAX).value_or(0));
  retry.perTryTimeout = reader.duration("perTryTimeout");
  retry.retryOn = reader.string("retryOn").value_or("");
  size_t start = 0;
  while (!retry.retryOn.empty() && start <= retry.retryOn.size()) {
    const size_t comma = std::min(retry.retryOn.find(',', start), retry.retryOn.size());
    const std::string policy = retry.retryOn.substr(start, comma - start);
    const bool status =
        !policy.empty() && policy.size() == 3 &&
        std::all_of(policy.begin(), policy.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
        policy >= "100" && policy <= "599";
    if (!status &&
        std::find(std::begin(kRetryOn), std::end(kRetryOn), policy) == std::end(kRetryOn)) {
      reader.error("retryOn", fmt::format("'{}' is not a valid retryOn policy (an Envoy retry "
                                          "condition such as 5xx or connect-failure, or a status "
                                          "code)",
                                          policy));
    }
    start = comma + 1;
  }
  retry.retryRemoteLocalities = reader.boolean("retryRemoteLocalities");
  retry.retryIgnorePreviousHosts = reader.boolean("retryIgnorePreviousHosts");
  retry.backoff = reader.duration("backoff");
  if (retry.attempts == 0 &&
      (retry.perTryTimeout || !retry.retryOn.empty() || retry.retryRemoteLocalities)) {
    reader.error("attempts", "a retry policy is configured but attempts is 0 (retries disabled)");
  }
  return retry;
}

std::optional<CorsPolicy> readCors(ReadContext& ctx, const nlohmann::json& value,
                                   const std::string& pointer) {
  const MessageReader reader(ctx, value, pointer,
                             {"allowOrigin", "allowOrigins", "allowMethods", "allowHeaders",
                              "exposeHeaders", "maxAge", "allowCredentials",
                              "unmatchedPreflights"});
  CorsPolicy cors;
  reader.deprecated("allowOrigin", "allowOrigins");
  for (std::string& origin : reader.strings("allowOrigin")) {
    cors.allowOrigins.push_back({StringMatch::Kind::kExact, std::move(origin)});
  }
  for (StringMatch& origin : reader.list("allowOrigins", readStringMatch)) {
    cors.allowOrigins.push_back(std::move(origin));
  }
  for (size_t i = 0; i < cors.allowOrigins.size(); ++i) {
    if (cors.allowOrigins[i].kind == StringMatch::Kind::kAny) {
      reader.error("allowOrigins", "an allowed origin must be an exact, prefix or regex match");
      break;
    }
  }
  cors.allowMethods = readStrings(reader, "allowMethods", [](std::string_view method) {
    static constexpr std::string_view kMethods[] = {
        "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "*"};
    return std::find(std::begin(kMethods), std::end(kMethods), method) != std::end(kMethods)
               ? std::string()
               : fmt::format("'{}' is not a supported HTTP method", method);
  });
  for (std::string_view field : {"allowHeaders", "exposeHeaders"}) {
    std::vector<std::string> names = readStrings(reader, field, [](std::string_view name) {
      return name == "*" ? std::string() : checkHeaderName(name);
    });
    (field == "allowHeaders" ? cors.allowHeaders : cors.exposeHeaders) = std::move(names);
  }
  cors.maxAge = reader.duration("maxAge");
  if (cors.maxAge && cors.maxAge->count() % 1000000000 != 0) {
    reader.error("maxAge", "maxAge is accurate only to seconds (write it in whole seconds)");
  }
  cors.allowCredentials = reader.boolean("allowCredentials");
  cors.unmatchedPreflights =
      reader
          .enumeration<CorsPolicy::UnmatchedPreflights>("unmatchedPreflights", kUnmatchedPreflights)
          .value_or(CorsPolicy::UnmatchedPreflights::kUnspecified);
  return cors;
}

std::optional<FaultDelay> readDelay(ReadContext& ctx, const nlohmann::json& value,
                                    const std::string& pointer) {
  const MessageReader reader(ctx, value, pointer,
                             {"percent", "fixedDelay", "exponentialDelay", "percentage"});
  FaultDelay delay;
  const std::string_view which = reader.oneOf({"fixedDelay", "exponentialDelay"}, true);
  if (which == "exponentialDelay") {
    reader.error("exponentialDelay", "exponentialDelay is not supported");
  }
  delay.fixedDelay = reader.duration("fixedDelay").value_or(Duration(0));
  reader.deprecated("percent", "percentage");
  reader.oneOf({"percent", "percentage"});
  if (std::optional<int64_t> percent = reader.integer("percent", 0, 100)) {
    delay.percentage = static_cast<double>(*percent);
  }
  if (std::optional<double> percentage = reader.message("percentage", readPercent)) {
    delay.percentage = percentage;
  }
  return delay;
}

std::optional<FaultAbort> readAbort(ReadContext& ctx, const nlohmann::json& value,
                                    const std::string& pointer) {
  const MessageReader reader(ctx, value, pointer,
                             {"httpStatus", "grpcStatus", "http2Error", "percentage"});
  FaultAbort abort;
  const std::string_view which = reader.oneOf({"httpStatus", "grpcStatus", "http2Error"});
  if (reader.ok() && which.empty()) {
    ctx.warning(pointer, "abort is configured without an error type (httpStatus or grpcStatus)");
  }
  if (which == "httpStatus") {
    abort.error = static_cast<uint32_t>(reader.integer("httpStatus", 200, 599).value_or(0));
  } else if (which == "grpcStatus") {
    const std::string code = reader.string("grpcStatus").value_or("");
    if (std::find(std::begin(kGrpcCodes), std::end(kGrpcCodes), code) == std::end(kGrpcCodes)) {
      reader.error("grpcStatus", fmt::format("'{}' is not a gRPC status code name (such as "
                                             "UNAVAILABLE)",
                                             code));
    }
    abort.error = code;
  } else if (which == "http2Error") {
    reader.error("http2Error", "HTTP/2 abort fault injection is not supported");
  }
  abort.percentage = reader.message("percentage", readPercent);
  return abort;
}

std::optional<HttpFaultInjection> readFault(ReadContext& ctx, const nlohmann::json& value,
                                            const std::string& pointer) {
  const MessageReader reader(ctx, value, pointer, {"delay", "abort"});
  HttpFaultInjection fault;
  fault.delay = reader.message("delay", readDelay);
  fault.abort = reader.message("abort", readAbort);
  if (reader.ok() && !reader.has("delay") && !reader.has("abort")) {
    ctx.error(pointer, "fault must have a delay or an abort");
  }
  return fault;
}

std::optional<HttpMirrorPolicy> readMirrorPolicy(ReadContext& ctx, const nlohmann::json& value,
                                                 const std::string& pointer) {
  const MessageReader reader(ctx, value, pointer, {"destination", "percentage"});
  if (!reader.ok()) {
    return std::nullopt;
  }
  HttpMirrorPolicy mirror;
  if (reader.require("destination")) {
    mirror.destination = reader.message("destination", readDestination).value_or(Destination{});
  }
  mirror.percentage = reader.message("percentage", readPercent);
  return mirror;
}

std::optional<Delegate> readDelegate(ReadContext& ctx, const nlohmann::json& value,
                                     const std::string& pointer) {
  const MessageReader reader(ctx, value, pointer, {"name", "namespace"});
  Delegate delegate;
  if (reader.require("name")) {
    delegate.name = reader.nonEmpty("name").value_or("");
  }
  delegate.ns = reader.string("namespace").value_or("");
  if (!delegate.ns.empty() && !isDnsLabel(delegate.ns)) {
    reader.error("namespace", fmt::format("'{}' is not a valid namespace name", delegate.ns));
  }
  return delegate;
}

// Istio's rule: weights are relative and non-negative; with several destinations they may not
// all be 0 (they need not add up to 100 since Istio 1.9).
void checkWeights(const MessageReader& reader, const std::vector<HttpRouteDestination>& route) {
  int64_t total = 0;
  for (const HttpRouteDestination& destination : route) {
    total += destination.weight;
  }
  if (route.size() > 1 && total == 0) {
    reader.error("route", "total destination weight = 0 (give at least one destination a weight)");
  }
}

// route, redirect, directResponse and delegate are alternatives; a rewrite makes no sense with a
// redirect or a direct response.
void checkActions(const MessageReader& reader, bool delegate) {
  const std::string_view action = reader.oneOf({"route", "redirect", "directResponse", "delegate"});
  if (action.empty() && reader.ok()) {
    reader.context().error(reader.pointer(),
                           "an HTTP route needs one of 'route', 'redirect', 'directResponse' or "
                           "'delegate'");
  }
  if (reader.has("rewrite") && (reader.has("redirect") || reader.has("directResponse"))) {
    reader.error("rewrite", fmt::format("'rewrite' cannot be combined with '{}'",
                                        reader.has("redirect") ? "redirect" : "directResponse"));
  }
  if (delegate && reader.has("delegate")) {
    reader.error("delegate", "a delegate VirtualService cannot delegate again");
  }
}

} // namespace

std::optional<HttpRoute> readHttpRoute(ReadContext& ctx, const nlohmann::json& value,
                                       const std::string& pointer, bool delegate) {
  const MessageReader reader(ctx, value, pointer,
                             {"name", "match", "route", "redirect", "directResponse", "delegate",
                              "rewrite", "timeout", "retries", "fault", "mirror", "mirrors",
                              "mirrorPercent", "mirrorPercentage", "corsPolicy", "headers"});
  if (!reader.ok()) {
    return std::nullopt;
  }
  HttpRoute route;
  route.name = reader.string("name").value_or("");
  route.match = reader.list("match", readMatch);
  checkActions(reader, delegate);
  route.route = reader.list("route", readRouteDestination);
  if (reader.has("route") && route.route.empty() && reader.ok()) {
    reader.error("route", "route must have at least one destination");
  }
  checkWeights(reader, route.route);
  route.redirect = reader.message("redirect", readRedirect);
  route.directResponse = reader.message("directResponse", readDirectResponse);
  route.delegate = reader.message("delegate", readDelegate);
  route.rewrite = reader.message("rewrite", readRewrite);
  route.timeout = reader.duration("timeout", /*zeroAllowed=*/true);
  route.retries = reader.message("retries", readRetries);
  route.fault = reader.message("fault", readFault);
  reader.oneOf({"mirror", "mirrors"});
  reader.deprecated("mirrorPercent", "mirrorPercentage");
  reader.oneOf({"mirrorPercent", "mirrorPercentage"});
  if (std::optional<Destination> mirror = reader.message("mirror", readDestination)) {
    HttpMirrorPolicy policy{std::move(*mirror), std::nullopt};
    if (std::optional<int64_t> percent = reader.integer("mirrorPercent", 0, 100)) {
      policy.percentage = static_cast<double>(*percent);
    }
    policy.percentage =
        reader.message("mirrorPercentage", readPercent).value_or(policy.percentage.value_or(100));
    route.mirrors.push_back(std::move(policy));
  } else if (reader.has("mirrorPercentage") || reader.has("mirrorPercent")) {
    reader.error(reader.has("mirrorPercentage") ? "mirrorPercentage" : "mirrorPercent",
                 "a mirror percentage needs 'mirror'");
  }
  for (HttpMirrorPolicy& mirror : reader.list("mirrors", readMirrorPolicy)) {
    route.mirrors.push_back(std::move(mirror));
  }
  route.corsPolicy = reader.message("corsPolicy", readCors);
  route.headers = reader.message("headers", readHeaders);
  return route;
}

bool matchesEveryRequest(const HttpMatchRequest& match) {
  const bool uriMatchesAll =
      !match.uri || match.uri->kind == StringMatch::Kind::kAny ||
      (match.uri->kind == StringMatch::Kind::kPrefix && match.uri->value == "/") ||
      (match.uri->kind == StringMatch::Kind::kRegex &&
       (match.uri->value == ".*" || match.uri->value == "/.*"));
  return uriMatchesAll && !match.scheme && !match.method && !match.authority &&
         match.headers.empty() && match.queryParams.empty() && match.withoutHeaders.empty() &&
         match.port == 0 && match.sourceLabels.empty() && match.gateways.empty() &&
         match.sourceNamespace.empty();
}

} // namespace meshd::control::config
