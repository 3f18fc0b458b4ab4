// ActiveStream: one request/response exchange of the HTTP connection manager, whatever codec
// carries it. It applies the connection manager's request header rules, runs the decode filters
// (CORS, local rate limit, fault), routes (RouteTable), hands the request to an UpstreamRequest
// (and its mirrors), applies the response header rules, and answers locally (no route, direct
// responses, redirects, upstream failures, gRPC trailers-only replies) with Envoy's status codes
// and response flags. It reaches its connection only through a ResponseEncoder.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/event_loop.h"
#include "proxy/filters/http/cors/cors_policy.h"
#include "proxy/filters/http/fault/fault_config.h"
#include "proxy/http/connection_context.h"
#include "proxy/http/header_map.h"
#include "proxy/http/response_encoder.h"
#include "proxy/router/upstream_request.h"

namespace meshd::proxy::http {

// Destroyed through EventLoop::deferredDelete: the connection disposes of it from inside its
// own calls (the end of its response).
class ActiveStream : public router::UpstreamRequest::Callbacks, public core::DeferredDeletable {
public:
  ActiveStream(ConnectionContext& connection, ResponseEncoder& encoder);
  ~ActiveStream() override;

  // The request head, after the codec's own rules. `upgrade`: the upgrade (lowercase, e.g.
  // "websocket") an HTTP/1 request asks for; it is refused with 403 unless enabled.
  void decodeHeaders(HeaderMap&& headers, bool end_stream, std::string upgrade = {});
  void decodeData(std::string_view data, bool end_stream);
  // The request's trailers end it: an HTTP/2 upstream gets them, an HTTP/1.1 one the end of the
  // body (mirrors too).
  void decodeTrailers(HeaderMap&& trailers);
  // The connection can take response bytes again.
  void onResponseDrained();
  // The client went away or reset the stream: the upstream request is abandoned.
  void onDownstreamReset();
  // No activity for the stream idle timeout: 408, or a reset once the response started.
  void onIdleTimeout();
  // A local reply; to a gRPC request (content-type application/grpc*), a trailers-only response
  // whose grpc-status is `grpc_status`, else the HTTP status mapped as Envoy does.
  void sendLocalReply(int status, std::string_view body, uint32_t flag,
                      const HeaderMap* extra_headers = nullptr,
                      std::optional<uint32_t> grpc_status = std::nullopt);

  // Nothing of this request may reach the upstream any more (a malformed request).
  void cancelUpstream() { dropUpstream(true); }

  bool responseStarted() const { return responseStarted_; }
  bool hasUpstream() const { return upstream_ != nullptr; }
  // Request body bytes handed over that the upstream has not taken yet (0 once answered).
  size_t pendingRequestBytes() const {
    return upstream_ && !done_ ? upstream_->pendingRequestBytes() : 0;
  }
  bool done() const { return done_; }
  void addResponseFlag(uint32_t flag) override { responseFlags_ |= flag; }

private:
  // UpstreamRequest::Callbacks
  void onUpstreamHead(HeaderMap&& headers, bool end_stream) override;
  void onUpstreamBody(std::string_view data) override;
  void onUpstreamTrailers(HeaderMap&& trailers) override;
  void onUpstreamComplete() override;
  void onUpstreamFailure(int status, uint32_t flag, std::string_view body) override;
  void onUpstreamRequestDrained() override;

  void prepareRequest();
  void routeRequest(bool end_stream);
  // `delay`: the upstream request starts that much later (a fault delay); the body waits.
  void forward(const router::RouteAction& action, bool end_stream,
               std::chrono::milliseconds delay = std::chrono::milliseconds(0));
  std::shared_ptr<const upstream::Cluster> pickCluster(const router::RouteAction& action);
  std::optional<config::Endpoint> originalDestination(const upstream::Cluster& cluster) const;
  void rewriteRequest(const router::RouteAction& action, const upstream::PickedHost& endpoint);
  router::UpstreamRequest::Options upstreamOptions(const router::RouteAction& action);
  // The CORS filter (filters/http/cors): counts the origin, and answers a preflight (true).
  bool applyCors();
  // The fault filter (filters/http/fault): the route's own config, the virtual host's, else the
  // chain's.
  const filters::FaultConfig* faultConfig() const;
  // The filters before the router, in the chain's order; false when one answered the request.
  bool runDecodeFilters(bool end_stream);
  // The local rate limit filter (filters/http/local_ratelimit); true when it answered.
  bool applyLocalRateLimit();
  void injectFault(const filters::FaultDecision& fault, bool end_stream);
  void abortForFault(const filters::FaultDecision& fault);
  // request_mirror_policies: copies of the request (headers as sent upstream) to the mirrors.
  void startShadows(const router::RouteAction& action, const HeaderMap& headers, bool end_stream,
                    const router::UpstreamRequest::Options& options);
  void sendRedirect(const router::RedirectAction& redirect);
  void encodeResponseHead(HeaderMap& headers, bool end_stream);
  void encodeData(std::string_view data, bool end_stream);
  void dropUpstream(bool cancel);
  void countResponse(int status);

  ConnectionContext& connection_;
  ResponseEncoder& encoder_;
  HeaderMap request_;
  std::string upgrade_; // the enabled upgrade this request asks for ("websocket"), if any
  bool grpc_ = false;   // content-type application/grpc*: local replies are trailers-only
  bool headRequest_ = false;
  bool requestChunked_ = false; // a body of unknown length
  bool requestComplete_ = false;
  bool responseStarted_ = false;
  bool done_ = false; // the response ended (or the stream was reset)
  int status_ = 0;
  uint32_t responseFlags_ = 0;
  std::chrono::steady_clock::time_point startedAt_ = std::chrono::steady_clock::now();
  // The route table this request was routed with: inline, or RDS's latest (kept alive here).
  std::shared_ptr<const router::RouteTable> routes_;
  const router::Route* route_ = nullptr;
  const router::VirtualHost* virtualHost_ = nullptr;
  std::shared_ptr<const upstream::Cluster> cluster_;
  const router::WeightedCluster* weightedCluster_ = nullptr;
  std::unique_ptr<router::UpstreamRequest> upstream_;
  std::optional<HeaderMap> responseTrailers_; // sent when the upstream response completes
  std::unique_ptr<core::Timer> faultDelay_;   // an injected delay (fault filter) under way
  std::string corsOrigin_; // allowed by the route's CORS policy: its response says so
  // x-ratelimit-* headers the local rate limit filter adds to the response.
  std::vector<std::pair<std::string, std::string>> rateLimitHeaders_;
  // The set-cookie of a cookie a hash policy made up for this request (router/route_table.h).
  std::optional<std::string> generatedCookie_;
  std::vector<std::weak_ptr<router::ShadowRequest>> shadows_; // fed the request body
};

} // namespace meshd::proxy::http
