// The compiled form of an Envoy RouteConfiguration: virtual hosts chosen by domain, routes tried
// in order (first match wins), and what a matched route does. Built once per config on the main
// thread, immutable, shared by every worker. Semantics follow Envoy's route.v3 API.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "envoy/config/route/v3/route.pb.h"
#include "proxy/http/header_map.h"
#include "re2/re2.h"

namespace meshd::proxy::filters {
struct FaultConfig;
struct CorsPolicy;
struct LocalRateLimitConfig;
} // namespace meshd::proxy::filters

namespace meshd::proxy::router {

// envoy.type.matcher.v3.StringMatcher.
struct StringMatch {
  enum class Kind { kExact, kPrefix, kSuffix, kContains, kRegex };
  Kind kind = Kind::kExact;
  std::string value;
  bool ignoreCase = false;
  std::shared_ptr<const re2::RE2> regex;
  bool matches(std::string_view input) const;
};

// Errors name the field under `where`.
absl::StatusOr<StringMatch> buildStringMatch(const envoy::type::matcher::v3::StringMatcher& m,
                                             const std::string& where);

struct HeaderMatch {
  std::string name;
  enum class Kind { kString, kPresent, kRange } kind = Kind::kPresent;
  StringMatch string;
  bool present = true;
  int64_t rangeStart = 0; // [start, end)
  int64_t rangeEnd = 0;
  bool invert = false;
  // treat_missing_header_as_empty: an absent header is matched as "". Without it, an absent
  // header fails every match but a presence one, whatever `invert` says (Envoy's semantics).
  bool treatMissingAsEmpty = false;
  bool matches(const http::HeaderMap& headers) const;
};

// envoy.config.route.v3.HeaderMatcher; errors name the field under `where`.
absl::StatusOr<HeaderMatch> buildHeaderMatch(const envoy::config::route::v3::HeaderMatcher& m,
                                             const std::string& where);

struct QueryMatch {
  std::string name;
  std::optional<StringMatch> string; // absent: presence is enough
  bool matches(std::string_view query) const;
};

// request/response_headers_to_add and _to_remove at one level (route config, virtual host,
// route, weighted cluster). Removals apply first, then additions in order.
struct HeaderMutation {
  // envoy.config.core.v3.HeaderValueOption.HeaderAppendAction
  enum class Mode { kAppend, kAddIfAbsent, kOverwrite, kOverwriteIfExists };
  struct Addition {
    std::string name;
    std::string value;
    Mode mode = Mode::kAppend;
  };
  std::vector<Addition> add;
  std::vector<std::string> remove;
  void apply(http::HeaderMap& headers) const;
  bool empty() const { return add.empty() && remove.empty(); }
};

struct WeightedCluster {
  std::string name;
  uint32_t weight = 0;
  HeaderMutation requestHeaders;
  HeaderMutation responseHeaders;
};

struct RedirectAction {
  std::string scheme; // empty: keep
  std::string host;   // empty: keep
  uint32_t port = 0;  // 0: keep
  std::string path;   // replaces the whole path when set
  std::string prefix; // replaces the matched prefix when set
  bool stripQuery = false;
  int status = 301;
};

struct DirectResponseAction {
  int status = 200;
  std::string body;
};

// envoy.config.route.v3.RouteAction.HashPolicy: what a consistent-hash balancer hashes.
struct HashPolicy {
  enum class Kind { kHeader, kCookie, kSourceIp, kQueryParameter } kind = Kind::kHeader;
  std::string name; // header, cookie or query parameter name
  bool terminal = false;
  // Cookie policies with a `ttl`: a request without the cookie gets one made from its source
  // address (and hashed by it), sent back in the response's set-cookie with this Max-Age (0: a
  // session cookie) and `cookiePath`.
  std::optional<std::chrono::seconds> cookieTtl;
  std::string cookiePath;
};

// envoy.config.route.v3.RetryPolicy (the conditions HTTP/1 and HTTP/2 upstreams can produce).
struct RetryPolicy {
  enum On : uint32_t {
    k5xx = 1u << 0,            // any 5xx, or no response at all (connect failure, reset, timeout)
    kGatewayError = 1u << 1,   // 502, 503, 504, connect failure, per-try timeout
    kConnectFailure = 1u << 2, // the connection could not be made
    kReset = 1u << 3,          // no response: reset, disconnect, per-try timeout
    kRetriable4xx = 1u << 4,   // 409
    kRetriableStatusCodes = 1u << 5,
    kRefusedStream = 1u << 6, // an HTTP/2 upstream refused the stream (REFUSED_STREAM, GOAWAY)
    // gRPC: the grpc-status of a trailers-only response (in its head), as Envoy checks it.
    kGrpcCancelled = 1u << 7,         // 1
    kGrpcDeadlineExceeded = 1u << 8,  // 4
    kGrpcResourceExhausted = 1u << 9, // 8
    kGrpcInternal = 1u << 10,         // 13
    kGrpcUnavailable = 1u << 11,      // 14
  };
  uint32_t retryOn = 0;
  uint32_t numRetries = 1;
  std::chrono::milliseconds perTryTimeout{0}; // 0: none
  std::vector<uint32_t> retriableStatusCodes;
  std::chrono::milliseconds backoffBase{25};
  std::chrono::milliseconds backoffMax{250};
  // retry_host_predicate envoy.retry_host_predicates.previous_hosts: a retry re-picks a host it
  // already tried, up to `hostSelectionMaxAttempts` times (host_selection_retry_max_attempts;
  // unset: once, as Envoy documents), then goes to the last pick.
  bool avoidPreviousHosts = false;
  uint32_t hostSelectionMaxAttempts = 1;

  bool retriableStatus(int status) const;
  // A response head whose grpc-status (a trailers-only response) a gRPC condition retries.
  bool retriableGrpcStatus(const http::HeaderMap& response) const;
};

struct RouteAction {
  std::string cluster;
  std::string clusterHeader;
  std::vector<WeightedCluster> weightedClusters;
  uint32_t totalWeight = 0;
  std::string prefixRewrite;
  std::shared_ptr<const re2::RE2> regexRewrite;
  std::string regexRewriteSubstitution;
  std::string hostRewriteLiteral;
  bool autoHostRewrite = false;
  std::chrono::milliseconds timeout{15000}; // Envoy's default; 0 disables
  // Overrides the connection manager's stream_idle_timeout for this route (0 disables).
  std::optional<std::chrono::milliseconds> idleTimeout;
  std::vector<HashPolicy> hashPolicies;
  std::optional<RetryPolicy> retryPolicy;
  // request_mirror_policies: copies of the request to these clusters, each for a share (per
  // million) of requests.
  struct Mirror {
    std::string cluster;
    uint32_t perMillion = 1000000;
  };
  std::vector<Mirror> mirrors;

  // The request's hash under hashPolicies (combined in order, stopping after a terminal policy
  // that produced a value); nullopt when no policy applies.
  // `set_cookie`, when given, receives the set-cookie value of a cookie the hash made up (a cookie
  // policy with a ttl whose cookie the request lacks).
  std::optional<uint64_t> requestHash(const http::HeaderMap& headers, std::string_view source_ip,
                                      std::optional<std::string>* set_cookie = nullptr) const;
};

struct Route {
  std::string name;
  // Path match: exactly one kind.
  enum class PathKind { kPrefix, kExact, kRegex, kSeparatedPrefix } pathKind = PathKind::kPrefix;
  std::string path;
  std::shared_ptr<const re2::RE2> pathRegex;
  bool caseSensitive = true;
  std::vector<HeaderMatch> headers;
  std::vector<QueryMatch> queryParameters;

  enum class ActionKind { kRoute, kRedirect, kDirectResponse } actionKind = ActionKind::kRoute;
  RouteAction route;
  RedirectAction redirect;
  DirectResponseAction directResponse;
  HeaderMutation requestHeaders;
  HeaderMutation responseHeaders;
  // typed_per_filter_config of the fault filter: replaces the connection manager's for this route.
  std::shared_ptr<const filters::FaultConfig> fault;
  // ... and of the local rate limit filter (with its own bucket).
  std::shared_ptr<const filters::LocalRateLimitConfig> localRateLimit;
  // The CORS filter's policy: the route's typed_per_filter_config over its virtual host's
  // (merged when the table is built); null: neither has one.
  std::shared_ptr<const filters::CorsPolicy> cors;

  bool matches(const http::HeaderMap& headers) const;
};

struct VirtualHost {
  std::string name;
  std::vector<std::string> domains;
  std::vector<Route> routes;
  HeaderMutation requestHeaders;
  HeaderMutation responseHeaders;
  // x-envoy-attempt-count (1 for the first attempt) on each upstream request / on the response.
  bool includeRequestAttemptCount = false;
  bool includeAttemptCountInResponse = false;
  // typed_per_filter_config: used by the routes that have none of their own.
  std::shared_ptr<const filters::FaultConfig> fault;
  std::shared_ptr<const filters::LocalRateLimitConfig> localRateLimit;
};

class RouteTable {
public:
  // Validates and compiles; errors name the field path under `where`.
  static absl::StatusOr<std::shared_ptr<const RouteTable>>
  build(const envoy::config::route::v3::RouteConfiguration& config, const std::string& where);

  // The virtual host for `authority`, compared as-is (with its port, as Envoy does): exact, then
  // the longest suffix wildcard ("*.example.com"), the longest prefix wildcard ("example.*"),
  // then "*".
  const VirtualHost* findVirtualHost(std::string_view authority) const;
  // The first matching route of the matching virtual host.
  const Route* findRoute(const http::HeaderMap& headers, const VirtualHost** vhost_out) const;

  const std::string& name() const { return name_; }
  const std::vector<VirtualHost>& virtualHosts() const { return virtualHosts_; }
  const HeaderMutation& requestHeaders() const { return requestHeaders_; }
  const HeaderMutation& responseHeaders() const { return responseHeaders_; }

private:
  std::string name_;
  std::vector<VirtualHost> virtualHosts_;
  HeaderMutation requestHeaders_;
  HeaderMutation responseHeaders_;
};

} // namespace meshd::proxy::router
