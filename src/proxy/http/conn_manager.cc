// HttpConnectionManager (conn_manager.h): request handling, routing and response encoding.
#include "proxy/http/conn_manager.h"

#include <charconv>

#include "core/logging.h"
#include "fmt/format.h"
#include "proxy/http/envoy_request_headers.h"
#include "proxy/http/http1/serializer.h"
#include "proxy/http/stream_info.h"
#include "proxy/router/redirect.h"

namespace meshd::proxy::http {
namespace {

spdlog::logger& logger() {
  static spdlog::logger& instance = log::get("http");
  return instance;
}

// Hop-by-hop fields (RFC 9110 §7.6.1) never cross the proxy; nor do the ones Connection names.
void removeHopByHop(HeaderMap& headers) {
  if (const auto connection = headers.getJoined("connection")) {
    std::string_view rest = *connection;
    while (!rest.empty()) {
      const size_t comma = rest.find(',');
      std::string_view token = rest.substr(0, comma);
      while (!token.empty() && token.front() == ' ') {
        token.remove_prefix(1);
      }
      while (!token.empty() && token.back() == ' ') {
        token.remove_suffix(1);
      }
      const std::string lower = toLower(token);
      // Never let a client strip the fields the mesh relies on.
      if (!lower.empty() && lower[0] != ':' && lower != "host" && !lower.starts_with("x-envoy") &&
          lower != "x-request-id") {
        headers.remove(lower);
      }
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
  }
  for (const char* name : {"connection", "keep-alive", "proxy-connection", "transfer-encoding",
                           "upgrade", "te", "trailer"}) {
    headers.remove(name);
  }
}

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

HttpConnectionManager::HttpConnectionManager(WorkerContext context,
                                             boost::asio::ip::tcp::socket socket,
                                             std::shared_ptr<const server::Runtime> runtime,
                                             const config::ListenerConfig& listener,
                                             const config::FilterChainConfig& chain,
                                             const network::ConnectionInfo& info)
    : context_(context), runtime_(std::move(runtime)), listener_(listener), config_(*chain.http),
      stats_(runtime_->chainStats.at(&chain)), localAddress_(info.localAddress),
      parser_(http1::MessageParser::Kind::kRequest, *this,
              http1::ParserLimits{config_.maxRequestHeadersBytes, config_.maxHeadersCount}),
      idleTimers_(context_.loop, core::RealTimeSource::instance(), *this, config_.idleTimeout),
      limitSlot_(info.limitSlot) {
  boost::system::error_code error;
  const auto peer = socket.remote_endpoint(error);
  if (!error) {
    peerAddress_ = peer.address().to_string();
  }
  socket_ = std::make_shared<network::StreamSocket>(std::move(socket), this);
  stats_.downstreamCxTotal.inc();
  stats_.downstreamCxActive.inc();
  stats_.httpDownstreamCxTotal.inc();
  stats_.httpDownstreamCxActive.inc();
}

HttpConnectionManager::~HttpConnectionManager() {
  if (stream_) {
    stats_.httpDownstreamRqActive.dec();
  }
  stream_.reset();
  socket_->close();
  stats_.downstreamCxActive.dec();
  stats_.httpDownstreamCxActive.dec();
}

void HttpConnectionManager::start() {
  socket_->start(shared_from_this());
  idleTimers_.connectionIdle();
}

void HttpConnectionManager::onReadable(core::Buffer& input, bool eof) {
  idleTimers_.streamActivity();
  parseMore(input);
  if (eof && stream_ && stream_->tunnel) {
    closeConnection(); // the client ended the tunnel
    return;
  }
  if (eof && !closing_) {
    if (stream_) {
      // The client went away (or half-closed: as Envoy's connection manager, which does not keep
      // half-closed connections, that ends it) with a request in progress, whether still being
      // sent, waiting for a pooled connection or for its response. The request is abandoned:
      // closeConnection() takes a waiting one out of the pool's queue and resets an active one,
      // so the upstream never sees a request nobody waits for.
      stats_.httpDownstreamCxDestroyRemoteActiveRq.inc();
      stream_->responseFlags |= kDownstreamConnectionTermination;
    }
    closeConnection();
  }
}

void HttpConnectionManager::parseMore(core::Buffer& input) {
  using Result = http1::MessageParser::Result;
  while (!closing_ && !input.empty()) {
    if (stream_ && stream_->tunnel) {
      forwardTunnelBytes(input);
      return;
    }
    if (stream_ && stream_->requestComplete) {
      // Pipelined bytes wait until the current response is done; stop reading meanwhile so a
      // client cannot make us buffer without bound.
      socket_->pauseReading();
      readingPausedForResponse_ = true;
      return;
    }
    const Result result = parser_.parse(input);
    switch (result) {
    case Result::kNeedMore: return;
    case Result::kMessageDone: continue;
    case Result::kUpgrade:
      if (declinedUpgrade_) {
        parser_.resumeAfterUpgrade(); // still HTTP/1.1 on this connection
        continue;
      }
      if (stream_ && !stream_->upgrade.empty() && stream_->upstream) {
        stream_->tunnel = true; // what follows the head goes to the upstream as is
        forwardTunnelBytes(input);
        return;
      }
      // CONNECT, or an upgrade that was refused: what follows is not HTTP.
      if (stream_ && !stream_->responseStarted) {
        sendLocalReply(404, "", kNoRouteFound);
      }
      if (stream_) {
        stream_->closeAfterResponse = true;
      }
      input.clear();
      return;
    case Result::kError: protocolError(parser_.error()); return;
    }
  }
}

void HttpConnectionManager::forwardTunnelBytes(core::Buffer& input) {
  if (input.empty() || !stream_->upstream) {
    input.clear();
    return;
  }
  stream_->upstream->sendBody(input.toString(), false);
  input.clear();
  if (stream_->upstream->pendingRequestBytes() > listener_.perConnectionBufferLimitBytes) {
    socket_->pauseReading();
  }
}

void HttpConnectionManager::protocolError(const http1::ParseError& error) {
  stats_.httpDownstreamCxProtocolError.inc();
  MESHD_LOG(logger(), debug, "downstream protocol error from {}: {} ({})", peerAddress_,
            error.status, error.detail);
  if (stream_ && stream_->responseStarted) {
    closeConnection();
    return;
  }
  if (!stream_) {
    stream_ = std::make_unique<Stream>();
    stream_->startedAt = std::chrono::steady_clock::now();
    stats_.httpDownstreamRqActive.inc();
  }
  stream_->closeAfterResponse = true;
  if (stream_->upstream) {
    // Nothing of a malformed request may reach the upstream, not even a head already queued.
    stream_->upstream->cancel();
    context_.loop.deferredDelete(std::move(stream_->upstream));
  }
  sendLocalReply(error.status, "", kDownstreamProtocolError);
}

void HttpConnectionManager::onHead(HeaderMap&& headers, bool end_stream) {
  stream_ = std::make_unique<Stream>();
  stream_->startedAt = std::chrono::steady_clock::now();
  stream_->request = std::move(headers);
  declinedUpgrade_ = false;
  stream_->requestComplete = end_stream;
  stats_.httpDownstreamRqTotal.inc();
  stats_.httpDownstreamRqActive.inc();
  idleTimers_.streamStarted(config_.streamIdleTimeout);
  // The listener changed or went away since this connection was accepted (LDS): it drains,
  // this response being its last. Only a newer runtime can say so (no lookup otherwise).
  const auto& latest = context_.runtimes.onWorker();
  if (latest != runtime_) {
    const config::ListenerConfig* current = latest->listener(listener_.name);
    if (current == nullptr || current->version != listener_.version) {
      stream_->closeAfterResponse = true;
    }
  }
  if (++requestCount_ == config_.maxRequestsPerConnection) {
    stats_.httpDownstreamCxMaxRequestsReached.inc();
    stream_->closeAfterResponse = true; // answered with Connection: close, then closed
  }
  prepareRequest(*stream_);
  if (context_.overload != nullptr) {
    using server::OverloadAction;
    if (context_.overload->active(OverloadAction::kDisableHttpKeepalive) &&
        !stream_->closeAfterResponse) {
      stats_.httpDownstreamCxOverloadDisableKeepalive.inc();
      stream_->closeAfterResponse = true;
    }
    if (context_.overload->active(OverloadAction::kStopAcceptingRequests)) {
      // As Envoy: before any filter, the request is answered here and goes nowhere.
      stats_.httpDownstreamRqOverloadClose.inc();
      sendLocalReply(503, "envoy overloaded", kOverloadManager);
      return;
    }
  }
  routeRequest(end_stream);
}

void HttpConnectionManager::prepareRequest(Stream& stream) {
  HeaderMap& request = stream.request;
  stream.headRequest = request.method() == "HEAD";
  stream.requestChunked = request.has("transfer-encoding") && !request.has("content-length");
  if (parser_.httpMinor() == 0 && !request.has("connection")) {
    stream.closeAfterResponse = true; // HTTP/1.0 without keep-alive
  }
  if (const auto connection = request.get("connection");
      connection && toLower(*connection) == "close") {
    stream.closeAfterResponse = true;
  }
  // Expect: 100-continue is answered here (Envoy's default) and not forwarded.
  if (const auto expect = request.get("expect");
      expect && toLower(*expect) == "100-continue" && parser_.httpMinor() == 1) {
    core::Buffer interim("HTTP/1.1 100 Continue\r\n\r\n");
    socket_->write(interim);
    request.remove("expect");
  }
  if (!request.has(":scheme")) {
    request.add(":scheme", "http");
  }
  if (!request.has("x-forwarded-proto")) {
    request.add("x-forwarded-proto", "http");
  }
  if (config_.useRemoteAddress) {
    // The edge: an external client may not steer timeouts and retries (as Envoy).
    boost::system::error_code error;
    const auto peer = boost::asio::ip::make_address(peerAddress_, error);
    if (error || !isInternalAddress(peer)) {
      removeEnvoyRequestControlHeaders(request);
    }
  }
  if (config_.useRemoteAddress && !peerAddress_.empty()) {
    if (const auto xff = request.get("x-forwarded-for")) {
      request.set("x-forwarded-for", fmt::format("{},{}", *xff, peerAddress_));
    } else {
      request.add("x-forwarded-for", peerAddress_);
    }
  }
  if (!request.has("x-request-id")) {
    request.add("x-request-id", context_.random.uuid());
  }
}

void HttpConnectionManager::routeRequest(bool end_stream) {
  Stream& stream = *stream_;
  if (stream.request.method() == "CONNECT") {
    stream.closeAfterResponse = true; // no CONNECT support: nothing after it is HTTP
  } else if (const auto upgrade = stream.request.get("upgrade")) {
    const std::string type = toLower(*upgrade);
    // Upgrade means something only when Connection lists it (RFC 9110 §7.8), as Envoy checks.
    const std::string connection = toLower(stream.request.getJoined("connection").value_or(""));
    if (type == "h2c" || connection.find("upgrade") == std::string::npos) {
      // Declined (a cleartext HTTP/2 offer, or no Connection: upgrade): the request is served as
      // HTTP/1.1 without the offer, as Envoy does.
      declinedUpgrade_ = true; // the parser will stop at this head's end: resume it there
      stream.request.remove("upgrade");
      stream.request.remove("http2-settings");
      stream.request.remove("connection");
    } else {
      // Other upgrades are relayed only when enabled in upgrade_configs; the connection never
      // returns to HTTP/1 afterwards.
      stream.closeAfterResponse = true;
      stream.upgrade = type;
      if (!config_.upgradeTypes.contains(stream.upgrade)) {
        sendLocalReply(403, "upgrade not enabled", 0);
        return;
      }
    }
  }
  stream.routes = config_.routes;
  if (!stream.routes) {
    // RDS: the route configuration as it is now (none yet: no route, as in Envoy).
    const auto& tables = context_.runtimes.onWorker()->config.routeTables;
    if (const auto found = tables.find(config_.rdsName); found != tables.end()) {
      stream.routes = found->second;
    }
  }
  stream.route =
      stream.routes ? stream.routes->findRoute(stream.request, &stream.virtualHost) : nullptr;
  // The local rate limit acts before the router answers, so requests that get no route, a direct
  // response or a redirect take tokens too (as in Envoy); routed requests meet it in
  // runDecodeFilters, in its order with the fault filter.
  const bool routed =
      stream.route != nullptr && stream.route->actionKind == router::Route::ActionKind::kRoute;
  if (!routed && applyLocalRateLimit()) {
    return;
  }
  if (stream.route == nullptr) {
    stats_.httpNoRoute.inc();
    sendLocalReply(404, "", kNoRouteFound);
    return;
  }
  switch (stream.route->actionKind) {
  case router::Route::ActionKind::kDirectResponse:
    stats_.httpRqDirectResponse.inc();
    sendLocalReply(stream.route->directResponse.status, stream.route->directResponse.body, 0);
    return;
  case router::Route::ActionKind::kRedirect:
    stats_.httpRqRedirect.inc();
    sendRedirect(stream.route->redirect);
    return;
  case router::Route::ActionKind::kRoute:
    if (applyCors()) {
      return;
    }
    if (runDecodeFilters(end_stream)) {
      forward(stream.route->route, end_stream);
    }
    return;
  }
}

std::shared_ptr<const upstream::Cluster>
HttpConnectionManager::pickCluster(const router::RouteAction& action, const HeaderMap& request) {
  std::string_view name = action.cluster;
  if (!action.clusterHeader.empty()) {
    name = request.get(action.clusterHeader).value_or("");
  } else if (!action.weightedClusters.empty()) {
    uint64_t point = context_.random.uniform(action.totalWeight);
    for (const auto& candidate : action.weightedClusters) {
      if (point < candidate.weight) {
        stream_->weightedCluster = &candidate;
        name = candidate.name;
        break;
      }
      point -= candidate.weight;
    }
  }
  // The connection's runtime holds its listener and routes; clusters come from the latest one.
  // (The worker's current runtime cannot change during this call: no copy needed.)
  const auto& clusters = context_.runtimes.onWorker()->clusters;
  const auto it = clusters.find(name);
  return it == clusters.end() ? nullptr : it->second;
}

std::optional<config::Endpoint>
HttpConnectionManager::originalDestination(const upstream::Cluster& cluster,
                                           const HeaderMap& request) const {
  if (cluster.config().type != config::ClusterType::kOriginalDst) {
    return std::nullopt;
  }
  if (cluster.config().originalDstUseHttpHeader) {
    return parseHostAndPort(request.get("x-envoy-original-dst-host").value_or(""));
  }
  return localAddress_;
}

void HttpConnectionManager::forward(const router::RouteAction& action, bool end_stream,
                                    std::chrono::milliseconds delay) {
  Stream& stream = *stream_;
  HeaderMap& request = stream.request;
  if (action.idleTimeout) {
    idleTimers_.setStreamIdleTimeout(*action.idleTimeout);
  }
  stream.cluster = pickCluster(action, request);
  if (!stream.cluster) {
    stats_.httpNoCluster.inc();
    sendLocalReply(503, "", kNoClusterFound);
    return;
  }
  // The first pick and every retry's use the same hash and destination, computed once here.
  auto pickHost = [this, cluster = stream.cluster,
                   pickContext = upstream::PickContext{
                       action.requestHash(request, peerAddress_),
                       originalDestination(*stream.cluster, request)}](uint32_t selection_attempt) {
    upstream::PickContext attemptContext = pickContext;
    attemptContext.selectionAttempt = selection_attempt;
    return context_.balancers.pick(*cluster, attemptContext);
  };
  const auto endpoint = pickHost(0);
  if (!endpoint) {
    stream.cluster->stats().cxNoneHealthy.inc();
    sendLocalReply(503, "no healthy upstream", kNoHealthyUpstream);
    return;
  }
  // Path and host rewrites, then header mutations from the most specific level to the least.
  if (!action.prefixRewrite.empty() && stream.route->pathKind != router::Route::PathKind::kRegex) {
    const std::string path(request.path());
    const size_t matched =
        stream.route->pathKind == router::Route::PathKind::kPrefix ||
                stream.route->pathKind == router::Route::PathKind::kSeparatedPrefix
            ? stream.route->path.size()
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
  } else if (action.autoHostRewrite && endpoint->index != upstream::PickedHost::kNoIndex) {
    // The host's DNS name; STATIC and ORIGINAL_DST hosts have none, so (as in Envoy) nothing
    // changes for them. A retry to another host keeps the first host's name.
    const std::string& hostname = stream.cluster->config().hosts[endpoint->index].hostname;
    if (!hostname.empty()) {
      request.set(":authority", hostname);
    }
  }
  if (stream.weightedCluster != nullptr) {
    stream.weightedCluster->requestHeaders.apply(request);
  }
  stream.route->requestHeaders.apply(request);
  stream.virtualHost->requestHeaders.apply(request);
  stream.routes->requestHeaders().apply(request);

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
  options.attemptCountInRequest = stream.virtualHost->includeRequestAttemptCount;
  options.attemptCountInResponse = stream.virtualHost->includeAttemptCountInResponse;
  options.requestBodyChunked = stream.requestChunked;
  options.bufferLimitBytes = listener_.perConnectionBufferLimitBytes;
  const std::string upgrade(request.get("upgrade").value_or(""));
  // The stream does not read its request headers after this: they move to the upstream.
  HeaderMap upstreamHeaders = std::move(request);
  removeHopByHop(upstreamHeaders);
  if (!stream.upgrade.empty()) {
    upstreamHeaders.add("connection", "upgrade");
    upstreamHeaders.add("upgrade", upgrade);
    end_stream = false; // the tunnel, if accepted, carries more bytes
  }
  options.retry = action.retryPolicy;
  if (!action.mirrors.empty() && stream.upgrade.empty()) {
    startShadows(action, upstreamHeaders, end_stream, options);
  }
  stream.upstream = std::make_unique<router::UpstreamRequest>(
      context_.loop, context_.pool, context_.balancers, context_.random, stream.cluster, *endpoint,
      std::move(pickHost), std::move(upstreamHeaders), end_stream, options, *this);
  if (delay.count() > 0) {
    // The request waits; body bytes that arrive meanwhile queue in the upstream request.
    stream.faultDelay = context_.loop.createTimer([this] { stream_->upstream->start(); });
    stream.faultDelay->enable(delay);
    return;
  }
  stream.upstream->start();
}

void HttpConnectionManager::onBody(std::string_view data) {
  for (const auto& weak : stream_ ? stream_->shadows : decltype(stream_->shadows){}) {
    if (const auto shadow = weak.lock()) {
      shadow->sendBody(data, false);
    }
  }
  if (!stream_ || !stream_->upstream) {
    return; // answered locally: the body is read and dropped
  }
  stream_->upstream->sendBody(data, false);
  if (stream_->upstream->pendingRequestBytes() > listener_.perConnectionBufferLimitBytes) {
    socket_->pauseReading();
  }
}

void HttpConnectionManager::onComplete() {
  if (!stream_) {
    return;
  }
  stream_->requestComplete = true;
  if (!stream_->upgrade.empty()) {
    return; // the request head was all; tunnel bytes may follow
  }
  for (const auto& weak : stream_->shadows) {
    if (const auto shadow = weak.lock()) {
      shadow->sendBody("", true);
    }
  }
  if (stream_->upstream) {
    stream_->upstream->sendBody("", true);
  }
}

void HttpConnectionManager::addResponseFlag(uint32_t flag) {
  if (stream_) {
    stream_->responseFlags |= flag;
  }
}

void HttpConnectionManager::onUpstreamRequestDrained() {
  if (!closing_ && !readingPausedForResponse_) {
    socket_->resumeReading();
  }
}

void HttpConnectionManager::encodeResponseHead(HeaderMap& headers, bool end_stream) {
  Stream& stream = *stream_;
  stream.responseStarted = true;
  stream.status = headers.status();
  countResponse(stream.status);
  removeHopByHop(headers);
  if (stream.route != nullptr) {
    if (stream.weightedCluster != nullptr) {
      stream.weightedCluster->responseHeaders.apply(headers);
    }
    stream.route->responseHeaders.apply(headers);
    stream.virtualHost->responseHeaders.apply(headers);
    stream.routes->responseHeaders().apply(headers);
    if (!stream.corsOrigin.empty()) {
      filters::addCorsResponseHeaders(*stream.route->cors, stream.corsOrigin, headers);
    }
  }
  for (const auto& [name, value] : stream.rateLimitHeaders) {
    headers.set(name, value);
  }
  headers.set("server", config_.serverName);
  if (stream.status == 101 && !stream.upgrade.empty()) {
    // The upstream accepted the upgrade: relay its 101 with the upgrade fields, then bytes.
    headers.set("connection", "upgrade");
    headers.set("upgrade", stream.upgrade);
    stream.tunnel = true;
    core::Buffer out;
    http1::encodeResponseHead(headers, false, out);
    socket_->write(out);
    if (readingPausedForResponse_) {
      readingPausedForResponse_ = false;
      socket_->resumeReading(); // bytes the client sent after its request head flow now
    }
    return;
  }
  const bool bodiless = stream.headRequest || stream.status == 204 || stream.status == 304 ||
                        (stream.status >= 100 && stream.status < 200);
  if (!bodiless && !headers.has("content-length")) {
    if (end_stream) {
      headers.add("content-length", "0");
    } else if (parser_.httpMinor() == 1) {
      stream.responseChunked = true;
    } else {
      stream.closeAfterResponse = true; // HTTP/1.0: the body ends when the connection does
    }
  }
  const bool requestUnfinished = !stream.requestComplete;
  if (stream.closeAfterResponse || requestUnfinished || closing_) {
    stream.closeAfterResponse = true;
    headers.set("connection", "close");
  }
  core::Buffer out;
  http1::encodeResponseHead(headers, stream.responseChunked, out);
  socket_->write(out);
}

void HttpConnectionManager::onUpstreamHead(HeaderMap&& headers, bool end_stream) {
  if (!stream_) {
    return;
  }
  idleTimers_.streamActivity();
  encodeResponseHead(headers, end_stream);
}

void HttpConnectionManager::onUpstreamBody(std::string_view data) {
  if (!stream_ || stream_->headRequest) {
    return;
  }
  idleTimers_.streamActivity();
  core::Buffer out;
  if (stream_->responseChunked) {
    http1::encodeChunk(data, out);
  } else {
    out.add(data);
  }
  socket_->write(out);
  if (socket_->bytesQueued() > listener_.perConnectionBufferLimitBytes && stream_->upstream) {
    stream_->upstream->pauseResponse(); // resumed in onWriteDrained
  }
}

void HttpConnectionManager::onUpstreamComplete() {
  if (!stream_) {
    return;
  }
  if (stream_->responseChunked) {
    core::Buffer out;
    http1::encodeLastChunk(out);
    socket_->write(out);
  }
  endStream();
}

void HttpConnectionManager::onUpstreamFailure(int status, uint32_t flag, std::string_view body) {
  if (!stream_) {
    return;
  }
  stream_->responseFlags |= flag;
  if (flag == kUpstreamRequestTimeout) {
    stats_.httpDownstreamRqTimeout.inc();
  }
  if (stream_->responseStarted) {
    // Too late for a status code: the client sees the connection reset.
    MESHD_LOG(logger(), debug, "upstream failed mid-response ({}); resetting the downstream",
              responseFlagsToString(flag));
    if (stream_->upstream) {
      context_.loop.deferredDelete(std::move(stream_->upstream));
    }
    closeConnection();
    return;
  }
  if (stream_->upstream) {
    context_.loop.deferredDelete(std::move(stream_->upstream));
  }
  sendLocalReply(status, body, flag);
}

void HttpConnectionManager::onWriteDrained() {
  idleTimers_.streamActivity();
  if (stream_ && stream_->upstream) {
    stream_->upstream->resumeResponse();
  }
}

void HttpConnectionManager::onSocketError() {
  if (stream_) {
    stream_->responseFlags |= kDownstreamConnectionTermination;
  }
  closeConnection();
}

void HttpConnectionManager::sendLocalReply(int status, std::string_view body, uint32_t flag,
                                           const HeaderMap* extra_headers) {
  Stream& stream = *stream_;
  stream.responseFlags |= flag;
  HeaderMap headers;
  headers.add(":status", std::to_string(status));
  if (extra_headers != nullptr) {
    for (const auto& [name, value] : extra_headers->entries()) {
      headers.add(name, value);
    }
  }
  if (!body.empty()) {
    headers.add("content-type", "text/plain");
  }
  headers.add("content-length", std::to_string(stream.headRequest ? 0 : body.size()));
  encodeResponseHead(headers, body.empty());
  if (!body.empty() && !stream.headRequest) {
    core::Buffer out(body);
    socket_->write(out);
  }
  endStream();
}

void HttpConnectionManager::sendRedirect(const router::RedirectAction& redirect) {
  HeaderMap location;
  location.add("location", router::redirectLocation(redirect, *stream_->route, stream_->request));
  sendLocalReply(redirect.status, "", 0, &location);
}

void HttpConnectionManager::countResponse(int status) {
  if (status < 100 || status >= 600) {
    return;
  }
  const auto statusClass = static_cast<size_t>(status / 100 - 1);
  stats_.httpDownstreamRqByClass[statusClass].inc();
  if (stream_ && stream_->cluster && stream_->virtualHost != nullptr) {
    const auto& virtualHostStats = context_.runtimes.onWorker()->virtualHostStats;
    const auto found = virtualHostStats.find(stream_->virtualHost);
    if (found != virtualHostStats.end()) {
      found->second.rqTotal.inc();
      found->second.rqByClass[statusClass].inc();
      found->second.rqTime.record(std::chrono::duration<double, std::milli>(
                                      std::chrono::steady_clock::now() - stream_->startedAt)
                                      .count());
    }
  }
}

void HttpConnectionManager::endStream() {
  if (!stream_) {
    return;
  }
  const bool close = stream_->closeAfterResponse || !stream_->requestComplete;
  if (stream_->upstream) {
    context_.loop.deferredDelete(std::move(stream_->upstream));
  }
  stream_.reset();
  stats_.httpDownstreamRqActive.dec();
  // A client that half-closed cannot send another request: finish the connection.
  if (close || !parser_.keepAlive() || socket_->peerClosed()) {
    closing_ = true;
    idleTimers_.stop();
    socket_->closeAfterFlush();
    return;
  }
  idleTimers_.connectionIdle();
  if (readingPausedForResponse_) {
    readingPausedForResponse_ = false;
    socket_->resumeReading(); // hands over pipelined bytes already read
  }
}

void HttpConnectionManager::closeConnection() {
  if (closing_) {
    return;
  }
  closing_ = true;
  idleTimers_.stop();
  if (stream_ && stream_->upstream) {
    stream_->upstream->cancel();
    context_.loop.deferredDelete(std::move(stream_->upstream));
  }
  socket_->close();
}

void HttpConnectionManager::endDrain() {
  if (stream_ && !stream_->tunnel) {
    stream_->closeAfterResponse = true;
    return;
  }
  closeConnection();
}

void HttpConnectionManager::onConnectionIdleTimeout() {
  stats_.httpDownstreamCxIdleTimeout.inc();
  closing_ = true;
  socket_->closeAfterFlush();
}

void HttpConnectionManager::onStreamIdleTimeout() {
  stats_.httpDownstreamRqIdleTimeout.inc();
  if (!stream_ || stream_->responseStarted || stream_->tunnel) {
    closeConnection(); // too late for a status: reset
    return;
  }
  // As Envoy: 408 "stream timeout", flag SI; the request may be unfinished, so close after it.
  stream_->closeAfterResponse = true;
  if (stream_->upstream) {
    stream_->upstream->cancel();
    context_.loop.deferredDelete(std::move(stream_->upstream));
  }
  sendLocalReply(408, "stream timeout", kStreamIdleTimeout);
}

} // namespace meshd::proxy::http
