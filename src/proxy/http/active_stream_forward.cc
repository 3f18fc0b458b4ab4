// ActiveStream (active_stream.h): the router's part once a route matched: the cluster and host
// picks, the route's rewrites and header mutations, the upstream request's options, and the
// UpstreamRequest (and its mirrors) that carry the request on.
#include <charconv>

#include "proxy/http/active_stream.h"
#include "proxy/http/hop_by_hop.h"
#include "proxy/http/stream_info.h"

namespace meshd::proxy::http {
namespace {

// "ip:port" (IPv6 in brackets), as x-envoy-original-dst-host carries it.
std::optional<config::Endpoint> parseHostAndPort(std::string_view value) {
  const size_t colon = value.rfind(':');
  if (colon == std::string_view::npos) {
    return std::nullopt;
  }
  std::string host(value.substr(0, colon));
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  uint32_t port = 0;
  const std::string_view portText = value.substr(colon + 1);
  boost::system::error_code error;
  const auto ip = boost::asio::ip::make_address(host, error);
  if (error ||
      std::from_chars(portText.data(), portText.data() + portText.size(), port).ec != std::errc() ||
      port == 0 || port > 65535) {
    return std::nullopt;
  }
  return config::Endpoint(ip, static_cast<uint16_t>(port));
}

// A timeout in milliseconds from an x-envoy-* request header; nullopt when absent or malformed.
std::optional<std::chrono::milliseconds> timeoutHeader(const HeaderMap& headers,
                                                       std::string_view name) {
  const auto value = headers.get(name);
  uint64_t ms = 0;
  if (!value ||
      std::from_chars(value->data(), value->data() + value->size(), ms).ec != std::errc()) {
    return std::nullopt;
  }
  return std::chrono::milliseconds(ms);
}

} // namespace

std::shared_ptr<const upstream::Cluster>
ActiveStream::pickCluster(const router::RouteAction& action) {
  std::string_view name = action.cluster;
  if (!action.clusterHeader.empty()) {
    name = request_.get(action.clusterHeader).value_or("");
  } else if (!action.weightedClusters.empty()) {
    uint64_t point = connection_.worker.random.uniform(action.totalWeight);
    for (const auto& candidate : action.weightedClusters) {
      if (point < candidate.weight) {
        weightedCluster_ = &candidate;
        name = candidate.name;
        break;
      }
      point -= candidate.weight;
    }
  }
  // The connection's runtime holds its listener and routes; clusters come from the latest one.
  // (The worker's current runtime cannot change during this call: no copy needed.)
  const auto& clusters = connection_.worker.runtimes.onWorker()->clusters;
  const auto it = clusters.find(name);
  return it == clusters.end() ? nullptr : it->second;
}

std::optional<config::Endpoint>
ActiveStream::originalDestination(const upstream::Cluster& cluster) const {
  if (cluster.config().type != config::ClusterType::kOriginalDst) {
    return std::nullopt;
  }
  if (cluster.config().originalDstUseHttpHeader) {
    return parseHostAndPort(request_.get("x-envoy-original-dst-host").value_or(""));
  }
  return connection_.localAddress;
}

void ActiveStream::rewriteRequest(const router::RouteAction& action,
                                  const upstream::PickedHost& endpoint) {
  HeaderMap& request = request_;
  // Path and host rewrites, then header mutations from the most specific level to the least.
  if (!action.prefixRewrite.empty() && route_->pathKind != router::Route::PathKind::kRegex) {
    const std::string path(request.path());
    const size_t matched = route_->pathKind == router::Route::PathKind::kPrefix ||
                                   route_->pathKind == router::Route::PathKind::kSeparatedPrefix
                               ? route_->path.size()
                           : path.find('?') == std::string::npos ? path.size()
                                                                 : path.find('?');
    request.set(":path", action.prefixRewrite + path.substr(std::min(matched, path.size())));
  } else if (action.regexRewrite) {
    std::string path(request.path());
    const size_t question = path.find('?');
    std::string query = question == std::string::npos ? "" : path.substr(question);
    path = path.substr(0, question);
    re2::RE2::GlobalReplace(&path, *action.regexRewrite, action.regexRewriteSubstitution);
    request.set(":path", path + query);
  }
  if (!action.hostRewriteLiteral.empty()) {
    request.set(":authority", action.hostRewriteLiteral);
  } else if (action.autoHostRewrite && endpoint.index != upstream::PickedHost::kNoIndex) {
    // The host's DNS name; STATIC and ORIGINAL_DST hosts have none, so (as in Envoy) nothing
    // changes for them. A retry to another host keeps the first host's name.
    const std::string& hostname = cluster_->config().hosts[endpoint.index].hostname;
    if (!hostname.empty()) {
      request.set(":authority", hostname);
    }
  }
  if (weightedCluster_ != nullptr) {
    weightedCluster_->requestHeaders.apply(request);
  }
  route_->requestHeaders.apply(request);
  virtualHost_->requestHeaders.apply(request);
  routes_->requestHeaders().apply(request);
}

router::UpstreamRequest::Options ActiveStream::upstreamOptions(const router::RouteAction& action) {
  HeaderMap& request = request_;
  router::UpstreamRequest::Options options;
  // Envoy's router: the headers override the route's timeouts and are consumed; a per-try timeout
  // not below the route timeout is ignored (the route timeout would fire first anyway).
  options.timeout =
      timeoutHeader(request, "x-envoy-upstream-rq-timeout-ms").value_or(action.timeout);
  options.perTryTimeout = timeoutHeader(request, "x-envoy-upstream-rq-per-try-timeout-ms")
                              .value_or(action.retryPolicy ? action.retryPolicy->perTryTimeout
                                                           : std::chrono::milliseconds(0));
  if (options.timeout.count() > 0 && options.perTryTimeout >= options.timeout) {
    options.perTryTimeout = std::chrono::milliseconds(0);
  }
  request.remove("x-envoy-upstream-rq-timeout-ms");
  request.remove("x-envoy-upstream-rq-per-try-timeout-ms");
  options.attemptCountInRequest = virtualHost_->includeRequestAttemptCount;
  options.attemptCountInResponse = virtualHost_->includeAttemptCountInResponse;
  options.requestBodyChunked = requestChunked_;
  options.downstreamHttp2 = encoder_.http2();
  options.bufferLimitBytes = connection_.listener.perConnectionBufferLimitBytes;
  options.retry = action.retryPolicy;
  return options;
}

void ActiveStream::forward(const router::RouteAction& action, bool end_stream,
                           std::chrono::milliseconds delay) {
  if (action.idleTimeout) {
    encoder_.setStreamIdleTimeout(*action.idleTimeout);
  }
  cluster_ = pickCluster(action);
  if (!cluster_) {
    connection_.stats.httpNoCluster.inc();
    sendLocalReply(503, "", kNoClusterFound);
    return;
  }
  WorkerContext& worker = connection_.worker;
  // The first pick and every retry's use the same hash and destination, computed once here. A
  // cookie hash policy with a ttl may make up the cookie: the response sets it.
  const auto hash = action.requestHash(request_, connection_.peerAddress, &generatedCookie_);
  auto pickHost = [&balancers = worker.balancers, cluster = cluster_,
                   pickContext = upstream::PickContext{hash, originalDestination(*cluster_)}](
                      uint32_t selection_attempt) {
    upstream::PickContext attemptContext = pickContext;
    attemptContext.selectionAttempt = selection_attempt;
    return balancers.pick(*cluster, attemptContext);
  };
  const auto endpoint = pickHost(0);
  if (!endpoint) {
    cluster_->stats().cxNoneHealthy.inc();
    sendLocalReply(503, "no healthy upstream", kNoHealthyUpstream);
    return;
  }
  rewriteRequest(action, *endpoint);
  router::UpstreamRequest::Options options = upstreamOptions(action);
  const std::string upgradeValue(request_.get("upgrade").value_or(""));
  // The stream does not read its request headers after this: they move to the upstream.
  HeaderMap upstreamHeaders = std::move(request_);
  removeHopByHop(upstreamHeaders, encoder_.http2());
  if (!upgrade_.empty()) {
    upstreamHeaders.add("connection", "upgrade");
    upstreamHeaders.add("upgrade", upgradeValue);
    end_stream = false; // the tunnel, if accepted, carries more bytes
  }
  if (!action.mirrors.empty() && upgrade_.empty()) {
    startShadows(action, upstreamHeaders, end_stream, options);
  }
  upstream_ = std::make_unique<router::UpstreamRequest>(
      worker.loop, worker.pool, worker.balancers, worker.random, cluster_, *endpoint,
      std::move(pickHost), std::move(upstreamHeaders), end_stream, options, *this);
  if (delay.count() > 0) {
    // The request waits; body bytes that arrive meanwhile queue in the upstream request.
    faultDelay_ = worker.loop.createTimer([this] {
      if (upstream_) {
        upstream_->start();
      }
    });
    faultDelay_->enable(delay);
    return;
  }
  upstream_->start();
}

} // namespace meshd::proxy::http
