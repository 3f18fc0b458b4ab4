// Istio VirtualService: how requests for a set of hosts are routed (HTTP, TLS by SNI, TCP), with
// the checks of Istio's admission webhook. Read by parseVirtualService; the HTTP route parts are
// read in http_route.cc.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "control/config/common.h"
#include "control/config/config_object.h"
#include "control/config/diagnostic.h"
#include "control/config/json_reader.h"

namespace meshd::control::config {

struct Destination {
  std::string host;   // as written; resolveShortHost(host, vs namespace) for the FQDN
  std::string subset; // "" = all endpoints
  uint32_t port = 0;  // 0 = the only port of the service (or the request's port)
};

struct HeaderOperations {
  std::map<std::string, std::string> set;
  std::map<std::string, std::string> add;
  std::vector<std::string> remove;
};

struct Headers {
  HeaderOperations request;
  HeaderOperations response;
};

struct HttpMatchRequest {
  std::string name;
  std::optional<StringMatch> uri;
  std::optional<StringMatch> scheme;
  std::optional<StringMatch> method;
  std::optional<StringMatch> authority;
  std::map<std::string, StringMatch> headers;
  std::map<std::string, StringMatch> queryParams;
  std::map<std::string, StringMatch> withoutHeaders;
  uint32_t port = 0;
  Labels sourceLabels;
  std::vector<std::string> gateways;
  bool ignoreUriCase = false;
  std::string sourceNamespace;
  std::string statPrefix;
};

struct HttpRouteDestination {
  Destination destination;
  int32_t weight = 0; // relative; 0 with a single destination means all traffic
  std::optional<Headers> headers;
};

struct HttpRedirect {
  enum class DerivePort { kFromProtocolDefault, kFromRequestPort };
  std::string uri;
  std::string authority;
  uint32_t port = 0; // 0 = unchanged
  std::optional<DerivePort> derivePort;
  std::string scheme;
  uint32_t redirectCode = 301;
};

struct HttpDirectResponse {
  uint32_t status = 0;
  std::optional<std::string> body; // the string, or the decoded bytes
};

struct RegexRewrite {
  std::string match;
  std::string rewrite;
};

struct HttpRewrite {
  std::string uri;
  std::string authority;
  std::optional<RegexRewrite> uriRegexRewrite;
};

struct HttpRetry {
  int32_t attempts = 0;
  std::optional<Duration> perTryTimeout;
  std::string retryOn; // comma-separated Envoy retry conditions and status codes
  std::optional<bool> retryRemoteLocalities;
  std::optional<bool> retryIgnorePreviousHosts;
  std::optional<Duration> backoff;
};

struct CorsPolicy {
  enum class UnmatchedPreflights { kUnspecified, kForward, kIgnore };
  std::vector<StringMatch> allowOrigins; // the deprecated allowOrigin is folded in as exact
  std::vector<std::string> allowMethods;
  std::vector<std::string> allowHeaders;
  std::vector<std::string> exposeHeaders;
  std::optional<Duration> maxAge;
  std::optional<bool> allowCredentials;
  UnmatchedPreflights unmatchedPreflights = UnmatchedPreflights::kUnspecified;
};

struct FaultDelay {
  Duration fixedDelay{0};
  std::optional<double> percentage; // nullopt: every request (the deprecated percent folded in)
};

struct FaultAbort {
  // httpStatus | grpcStatus ("UNAVAILABLE"); http2Error is refused, as Istio does.
  std::variant<uint32_t, std::string> error;
  std::optional<double> percentage;
};

struct HttpFaultInjection {
  std::optional<FaultDelay> delay;
  std::optional<FaultAbort> abort;
};

struct HttpMirrorPolicy {
  Destination destination;
  std::optional<double> percentage; // nullopt = 100
};

struct Delegate {
  std::string name;
  std::string ns; // "" = the root VirtualService's namespace
};

struct HttpRoute {
  std::string name;
  std::vector<HttpMatchRequest> match; // empty: every request
  std::vector<HttpRouteDestination> route;
  std::optional<HttpRedirect> redirect;
  std::optional<HttpDirectResponse> directResponse;
  std::optional<Delegate> delegate;
  std::optional<HttpRewrite> rewrite;
  std::optional<Duration> timeout; // 0 = disabled
  std::optional<HttpRetry> retries;
  std::optional<HttpFaultInjection> fault;
  // `mirror` + `mirrorPercentage` (or the deprecated mirrorPercent) become one entry here.
  std::vector<HttpMirrorPolicy> mirrors;
  std::optional<CorsPolicy> corsPolicy;
  std::optional<Headers> headers;
};

struct L4MatchAttributes {
  std::vector<std::string> destinationSubnets;
  uint32_t port = 0;
  std::string sourceSubnet;
  Labels sourceLabels;
  std::vector<std::string> gateways;
  std::string sourceNamespace;
};

struct TlsMatchAttributes {
  std::vector<std::string> sniHosts;
  std::vector<std::string> destinationSubnets;
  uint32_t port = 0;
  Labels sourceLabels;
  std::vector<std::string> gateways;
  std::string sourceNamespace;
};

struct RouteDestination {
  Destination destination;
  int32_t weight = 0;
};

struct TcpRoute {
  std::vector<L4MatchAttributes> match;
  std::vector<RouteDestination> route;
};

struct TlsRoute {
  std::vector<TlsMatchAttributes> match;
  std::vector<RouteDestination> route;
};

struct VirtualService {
  ObjectMeta meta;
  std::vector<std::string> hosts;    // empty: a delegate, used only through http[].delegate
  std::vector<std::string> gateways; // empty: "mesh" (all sidecars)
  std::vector<HttpRoute> http;
  std::vector<TlsRoute> tls;
  std::vector<TcpRoute> tcp;
  std::vector<std::string> exportTo;

  bool isDelegate() const { return hosts.empty(); }
  bool appliesToMesh() const;
};

std::optional<VirtualService> parseVirtualService(const ConfigObject& object,
                                                  std::vector<Diagnostic>& out);

// Parts shared with other kinds and with http_route.cc.
std::optional<Destination> readDestination(ReadContext& ctx, const nlohmann::json& value,
                                           const std::string& pointer);
// One `http[]` entry; `delegate` says whether the VirtualService is itself a delegate.
std::optional<HttpRoute> readHttpRoute(ReadContext& ctx, const nlohmann::json& value,
                                       const std::string& pointer, bool delegate);
// A gateway reference: "mesh", "name", "namespace/name" or the legacy "name.namespace.svc...".
std::string checkGatewayName(std::string_view name);
// Whether an HTTP match condition matches every request (no conditions, or only uri prefix "/").
bool matchesEveryRequest(const HttpMatchRequest& match);

} // namespace meshd::control::config
