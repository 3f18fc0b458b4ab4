// ActiveStream (active_stream.h): the request's way in (header rules, routing), the response's
// way out (header rules, local replies) and the upstream request's callbacks.
#include "proxy/http/active_stream.h"

#include "core/logging.h"
#include "fmt/format.h"
#include "proxy/http/envoy_request_headers.h"
#include "proxy/http/grpc_local_reply.h"
#include "proxy/http/hop_by_hop.h"
#include "proxy/http/stream_info.h"
#include "proxy/router/redirect.h"

namespace meshd::proxy::http {
namespace {

spdlog::logger& logger() {
  static spdlog::logger& instance = log::get("http");
  return instance;
}

} // namespace

ActiveStream::ActiveStream(ConnectionContext& connection, ResponseEncoder& encoder)
    : connection_(connection), encoder_(encoder) {}

ActiveStream::~ActiveStream() = default;

void ActiveStream::decodeHeaders(HeaderMap&& headers, bool end_stream, std::string upgrade) {
  request_ = std::move(headers);
  requestComplete_ = end_stream;
  upgrade_ = std::move(upgrade);
  connection_.stats.httpDownstreamRqTotal.inc();
  prepareRequest();
  const server::OverloadManager* overload = connection_.worker.overload;
  if (overload != nullptr && overload->active(server::OverloadAction::kStopAcceptingRequests)) {
    // As Envoy: before any filter, the request is answered here and goes nowhere.
    connection_.stats.httpDownstreamRqOverloadClose.inc();
    sendLocalReply(503, "envoy overloaded", kOverloadManager);
    return;
  }
  routeRequest(end_stream);
}

void ActiveStream::prepareRequest() {
  HeaderMap& request = request_;
  headRequest_ = request.method() == "HEAD";
  grpc_ = request.get("content-type").value_or("").starts_with("application/grpc");
  // A body of unknown length: chunked on HTTP/1, DATA frames without content-length on HTTP/2.
  requestChunked_ = !request.has("content-length") &&
                    (encoder_.http2() ? !requestComplete_ : request.has("transfer-encoding"));
  if (!request.has(":scheme")) {
    request.add(":scheme", "http");
  }
  if (!request.has("x-forwarded-proto")) {
    request.add("x-forwarded-proto", "http");
  }
  const config::HttpConnectionManagerConfig& config = connection_.config;
  const std::string& peerAddress = connection_.peerAddress;
  if (config.useRemoteAddress) {
    // The edge: an external client may not steer timeouts and retries (as Envoy).
    boost::system::error_code error;
    const auto peer = boost::asio::ip::make_address(peerAddress, error);
    if (error || !isInternalAddress(peer)) {
      removeEnvoyRequestControlHeaders(request);
    }
  }
  if (config.useRemoteAddress && !peerAddress.empty()) {
    if (const auto xff = request.get("x-forwarded-for")) {
      request.set("x-forwarded-for", fmt::format("{},{}", *xff, peerAddress));
    } else {
      request.add("x-forwarded-for", peerAddress);
    }
  }
  if (!request.has("x-request-id")) {
    request.add("x-request-id", connection_.worker.random.uuid());
  }
}

void ActiveStream::routeRequest(bool end_stream) {
  const config::HttpConnectionManagerConfig& config = connection_.config;
  const server::ListenerStats& stats = connection_.stats;
  if (!upgrade_.empty() && !config.upgradeTypes.contains(upgrade_)) {
    // Upgrades are relayed only when enabled in upgrade_configs.
    sendLocalReply(403, "upgrade not enabled", 0);
    return;
  }
  routes_ = config.routes;
  if (!routes_) {
    // RDS: the route configuration as it is now (none yet: no route, as in Envoy).
    const auto& tables = connection_.worker.runtimes.onWorker()->config.routeTables;
    if (const auto found = tables.find(config.rdsName); found != tables.end()) {
      routes_ = found->second;
    }
  }
  route_ = routes_ ? routes_->findRoute(request_, &virtualHost_) : nullptr;
  // The local rate limit acts before the router answers, so requests that get no route, a direct
  // response or a redirect take tokens too (as in Envoy); routed requests meet it in
  // runDecodeFilters, in its order with the fault filter.
  const bool routed = route_ != nullptr && route_->actionKind == router::Route::ActionKind::kRoute;
  if (!routed && applyLocalRateLimit()) {
    return;
  }
  if (route_ == nullptr) {
    stats.httpNoRoute.inc();
    sendLocalReply(404, "", kNoRouteFound);
    return;
  }
  switch (route_->actionKind) {
  case router::Route::ActionKind::kDirectResponse:
    stats.httpRqDirectResponse.inc();
    sendLocalReply(route_->directResponse.status, route_->directResponse.body, 0);
    return;
  case router::Route::ActionKind::kRedirect:
    stats.httpRqRedirect.inc();
    sendRedirect(route_->redirect);
    return;
  case router::Route::ActionKind::kRoute:
    if (applyCors()) {
      return;
    }
    if (runDecodeFilters(end_stream)) {
      forward(route_->route, end_stream);
    }
    return;
  }
}

void ActiveStream::decodeData(std::string_view data, bool end_stream) {
  if (!data.empty()) {
    for (const auto& weak : shadows_) {
      if (const auto shadow = weak.lock()) {
        shadow->sendBody(data, false);
      }
    }
    if (upstream_ && !done_) {
      upstream_->sendBody(data, false);
      if (upstream_->pendingRequestBytes() > connection_.listener.perConnectionBufferLimitBytes) {
        encoder_.pauseRequestBody();
      }
    } // else answered locally: the body is read and dropped
  }
  if (!end_stream) {
    return;
  }
  requestComplete_ = true;
  if (!upgrade_.empty()) {
    return; // the request head was all; tunnel bytes may follow
  }
  for (const auto& weak : shadows_) {
    if (const auto shadow = weak.lock()) {
      shadow->sendBody("", true);
    }
  }
  if (upstream_ && !done_) {
    upstream_->sendBody("", true);
  }
}

void ActiveStream::decodeTrailers(HeaderMap&& trailers) {
  if (!upstream_ || done_ || !upgrade_.empty()) {
    decodeData("", true);
    return;
  }
  requestComplete_ = true;
  for (const auto& weak : shadows_) {
    if (const auto shadow = weak.lock()) {
      shadow->sendBody("", true);
    }
  }
  upstream_->sendTrailers(std::move(trailers));
}

void ActiveStream::onUpstreamRequestDrained() {
  if (!done_) {
    encoder_.resumeRequestBody();
  }
}

void ActiveStream::onResponseDrained() {
  if (upstream_ && !done_) {
    upstream_->resumeResponse();
  }
}

void ActiveStream::encodeResponseHead(HeaderMap& headers, bool end_stream) {
  responseStarted_ = true;
  status_ = headers.status();
  countResponse(status_);
  removeHopByHop(headers);
  if (route_ != nullptr) {
    if (weightedCluster_ != nullptr) {
      weightedCluster_->responseHeaders.apply(headers);
    }
    route_->responseHeaders.apply(headers);
    virtualHost_->responseHeaders.apply(headers);
    routes_->responseHeaders().apply(headers);
    if (!corsOrigin_.empty()) {
      filters::addCorsResponseHeaders(*route_->cors, corsOrigin_, headers);
    }
  }
  for (const auto& [name, value] : rateLimitHeaders_) {
    headers.set(name, value);
  }
  if (generatedCookie_) {
    headers.add("set-cookie", *generatedCookie_);
  }
  headers.set("server", connection_.config.serverName);
  encoder_.encodeHead(headers, end_stream);
}

void ActiveStream::encodeData(std::string_view data, bool end_stream) {
  if (end_stream) {
    done_ = true; // the connection disposes of this stream from inside the call
  }
  encoder_.encodeData(data, end_stream);
}

void ActiveStream::onUpstreamHead(HeaderMap&& headers, bool end_stream) {
  if (done_) {
    return;
  }
  encoder_.streamActivity();
  encodeResponseHead(headers, end_stream);
}

void ActiveStream::onUpstreamBody(std::string_view data) {
  if (done_ || headRequest_) {
    return;
  }
  encoder_.streamActivity();
  encoder_.encodeData(data, false);
  if (encoder_.responseBufferFull() && upstream_) {
    upstream_->pauseResponse(); // resumed in onResponseDrained
  }
}

void ActiveStream::onUpstreamTrailers(HeaderMap&& trailers) {
  if (!done_) {
    responseTrailers_ = std::move(trailers);
  }
}

void ActiveStream::onUpstreamComplete() {
  if (done_) {
    return;
  }
  if (!responseTrailers_) {
    encodeData("", true);
    return;
  }
  done_ = true; // the connection disposes of this stream from inside the call
  encoder_.encodeTrailers(std::move(*responseTrailers_));
}

void ActiveStream::onUpstreamFailure(int status, uint32_t flag, std::string_view body) {
  if (done_) {
    return;
  }
  responseFlags_ |= flag;
  if (flag == kUpstreamRequestTimeout) {
    connection_.stats.httpDownstreamRqTimeout.inc();
  }
  dropUpstream(false);
  if (responseStarted_) {
    // Too late for a status code: the client sees its stream (HTTP/1: its connection) reset.
    MESHD_LOG(logger(), debug, "upstream failed mid-response ({}); resetting the downstream",
              responseFlagsToString(flag));
    done_ = true;
    encoder_.resetStream();
    return;
  }
  sendLocalReply(status, body, flag);
}

void ActiveStream::onDownstreamReset() {
  done_ = true;
  dropUpstream(true);
}

void ActiveStream::onIdleTimeout() {
  connection_.stats.httpDownstreamRqIdleTimeout.inc();
  if (done_) {
    return;
  }
  dropUpstream(true);
  if (responseStarted_) {
    done_ = true;
    encoder_.resetStream(); // too late for a status
    return;
  }
  // As Envoy: 408 "stream timeout", flag SI.
  sendLocalReply(408, "stream timeout", kStreamIdleTimeout);
}

void ActiveStream::dropUpstream(bool cancel) {
  if (!upstream_) {
    return;
  }
  if (cancel) {
    upstream_->cancel();
  }
  connection_.worker.loop.deferredDelete(std::move(upstream_));
}

void ActiveStream::sendLocalReply(int status, std::string_view body, uint32_t flag,
                                  const HeaderMap* extra_headers,
                                  std::optional<uint32_t> grpc_status) {
  if (done_) {
    return;
  }
  responseFlags_ |= flag;
  if (grpc_) {
    HeaderMap headers = grpcLocalReplyHeaders(status, body, grpc_status);
    if (extra_headers != nullptr) {
      for (const auto& [name, value] : extra_headers->entries()) {
        if (!headers.has(name)) {
          headers.add(name, value);
        }
      }
    }
    encodeResponseHead(headers, true);
    encodeData("", true);
    return;
  }
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
  headers.add("content-length", std::to_string(headRequest_ ? 0 : body.size()));
  encodeResponseHead(headers, body.empty());
  encodeData(headRequest_ ? std::string_view() : body, true);
}

void ActiveStream::sendRedirect(const router::RedirectAction& redirect) {
  HeaderMap location;
  location.add("location", router::redirectLocation(redirect, *route_, request_));
  sendLocalReply(redirect.status, "", 0, &location);
}

void ActiveStream::countResponse(int status) {
  if (status < 100 || status >= 600) {
    return;
  }
  const auto statusClass = static_cast<size_t>(status / 100 - 1);
  connection_.stats.httpDownstreamRqByClass[statusClass].inc();
  if (cluster_ && virtualHost_ != nullptr) {
    const auto& virtualHostStats = connection_.worker.runtimes.onWorker()->virtualHostStats;
    const auto found = virtualHostStats.find(virtualHost_);
    if (found != virtualHostStats.end()) {
      found->second.rqTotal.inc();
      found->second.rqByClass[statusClass].inc();
      found->second.rqTime.record(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - startedAt_)
              .count());
    }
  }
}

} // namespace meshd::proxy::http
