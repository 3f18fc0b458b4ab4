// HttpConnectionManager (Envoy's envoy.filters.network.http_connection_manager) for one
// downstream HTTP/1.1 connection: parses requests one at a time (pipelined ones wait), applies
// the connection manager's header rules, routes each request (RouteTable) and hands it to an
// UpstreamRequest, then writes the response back with the right framing. Local replies (no route,
// direct responses, redirects, upstream failures, malformed requests) carry Envoy's status codes
// and response flags.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "core/event_loop.h"
#include "core/random.h"
#include "core/snapshot_slot.h"
#include "proxy/filters/http/cors/cors_policy.h"
#include "proxy/filters/http/fault/fault_config.h"
#include "proxy/filters/http/local_ratelimit/local_ratelimit_config.h"
#include "proxy/http/header_map.h"
#include "proxy/http/http1/message_parser.h"
#include "proxy/http/idle_timers.h"
#include "proxy/network/connection_info.h"
#include "proxy/network/connection_tracker.h"
#include "proxy/network/stream_socket.h"
#include "proxy/router/shadow_request.h"
#include "proxy/router/upstream_request.h"
#include "proxy/server/overload_manager.h"
#include "proxy/server/runtime.h"
#include "proxy/upstream/cluster.h"
#include "proxy/upstream/http_pool.h"

namespace meshd::proxy::http {

// Per-worker state the connection manager uses.
struct WorkerContext {
  core::EventLoop& loop;
  // The runtimes published to this worker: each request takes its clusters from the latest, so a
  // keep-alive connection follows endpoint and cluster changes.
  const core::SnapshotSlot<server::Runtime>& runtimes;
  upstream::WorkerLoadBalancers& balancers;
  upstream::HttpPool& pool;
  core::RandomGenerator& random;
  router::ShadowRequests& shadows;                   // mirrored requests in flight on this worker
  const server::OverloadManager* overload = nullptr; // null: no overload_manager configured
};

class HttpConnectionManager : public network::StreamSocket::Handler,
                              public http1::MessageParser::Callbacks,
                              public router::UpstreamRequest::Callbacks,
                              public IdleTimers::Callbacks,
                              public std::enable_shared_from_this<HttpConnectionManager> {
public:
  HttpConnectionManager(WorkerContext context, boost::asio::ip::tcp::socket socket,
                        std::shared_ptr<const server::Runtime> runtime,
                        const config::ListenerConfig& listener,
                        const config::FilterChainConfig& chain,
                        const network::ConnectionInfo& info);
  ~HttpConnectionManager() override;

  void start();
  // Leaves the tracker when this connection ends.
  void track(network::ConnectionTracker::Registration registration) {
    tracking_ = std::move(registration);
  }
  // A draining listener's time is up: an idle connection (or a tunnel) closes now; one with a
  // request in flight closes after its response.
  void endDrain();

private:
  // One request/response exchange.
  struct Stream {
    HeaderMap request;
    bool requestComplete = false;
    bool requestChunked = false;
    bool headRequest = false;
    bool responseStarted = false;
    bool responseChunked = false;
    bool closeAfterResponse = false;
    std::string upgrade; // the enabled upgrade this request asks for ("websocket"), if any
    bool tunnel = false; // upgrade accepted: raw bytes both ways from now on
    int status = 0;
    uint32_t responseFlags = 0;
    std::chrono::steady_clock::time_point startedAt;
    // The route table this request was routed with: inline, or RDS's latest (kept alive here).
    std::shared_ptr<const router::RouteTable> routes;
    const router::Route* route = nullptr;
    const router::VirtualHost* virtualHost = nullptr;
    std::shared_ptr<const upstream::Cluster> cluster;
    const router::WeightedCluster* weightedCluster = nullptr;
    std::unique_ptr<router::UpstreamRequest> upstream;
    std::unique_ptr<core::Timer> faultDelay; // an injected delay (fault filter) under way
    std::string corsOrigin; // allowed by the route's CORS policy: its response says so
    // x-ratelimit-* headers the local rate limit filter adds to the response.
    std::vector<std::pair<std::string, std::string>> rateLimitHeaders;
    std::vector<std::weak_ptr<router::ShadowRequest>> shadows; // fed the request body
  };

  // StreamSocket::Handler
  void onReadable(core::Buffer& input, bool eof) override;
  void onWriteDrained() override;
  void onSocketError() override;
  // MessageParser::Callbacks
  void onHead(HeaderMap&& headers, bool end_stream) override;
  void onBody(std::string_view data) override;
  void onComplete() override;
  // UpstreamRequest::Callbacks
  void onUpstreamHead(HeaderMap&& headers, bool end_stream) override;
  void onUpstreamBody(std::string_view data) override;
  void onUpstreamComplete() override;
  void onUpstreamFailure(int status, uint32_t flag, std::string_view body) override;
  void onUpstreamRequestDrained() override;
  void addResponseFlag(uint32_t flag) override;
  // IdleTimers::Callbacks
  void onConnectionIdleTimeout() override;
  void onStreamIdleTimeout() override;

  void parseMore(core::Buffer& input);
  void forwardTunnelBytes(core::Buffer& input);
  void prepareRequest(Stream& stream);
  void routeRequest(bool end_stream);
  // `delay`: the upstream request starts that much later (a fault delay); the body waits.
  void forward(const router::RouteAction& action, bool end_stream,
               std::chrono::milliseconds delay = std::chrono::milliseconds(0));
  // The CORS filter (filters/http/cors): counts the origin, and answers a preflight (true).
  bool applyCors();
  // The fault filter (filters/http/fault): the route's own config, the virtual host's, else the
  // chain's.
  const filters::FaultConfig* faultConfig() const;
  // The filters before the router, in the chain's order; false when one answered the request.
  bool runDecodeFilters(bool end_stream);
  // The local rate limit filter (filters/http/local_ratelimit); true when it answered.
  bool applyLocalRateLimit();
  // The bucket of a per-connection config, made on first use.
  filters::TokenBucket*
  connectionBucket(const std::shared_ptr<const filters::LocalRateLimitConfig>& config);
  void injectFault(const filters::FaultDecision& fault, bool end_stream);
  // request_mirror_policies: copies of the request (headers as sent upstream) to the mirrors.
  void startShadows(const router::RouteAction& action, const HeaderMap& headers, bool end_stream,
                    const router::UpstreamRequest::Options& options);
  void abortForFault(const filters::FaultDecision& fault);
  std::optional<config::Endpoint> originalDestination(const upstream::Cluster& cluster,
                                                      const HeaderMap& request) const;
  std::shared_ptr<const upstream::Cluster> pickCluster(const router::RouteAction& action,
                                                       const HeaderMap& request);
  void sendLocalReply(int status, std::string_view body, uint32_t flag,
                      const HeaderMap* extra_headers = nullptr);
  void sendRedirect(const router::RedirectAction& redirect);
  void encodeResponseHead(HeaderMap& headers, bool end_stream);
  void endStream();
  void protocolError(const http1::ParseError& error);
  void closeConnection();
  void countResponse(int status);

  WorkerContext context_;
  std::shared_ptr<network::StreamSocket> socket_;
  std::shared_ptr<const server::Runtime> runtime_;
  const config::ListenerConfig& listener_;
  const config::HttpConnectionManagerConfig& config_;
  const server::ListenerStats& stats_;
  std::string peerAddress_;
  config::Endpoint localAddress_; // the original destination when the listener recovered it
  http1::MessageParser parser_;
  std::unique_ptr<Stream> stream_;
  IdleTimers idleTimers_;
  uint32_t requestCount_ = 0;
  std::shared_ptr<void> limitSlot_; // connection_limit
  bool closing_ = false;
  bool readingPausedForResponse_ = false;
  bool declinedUpgrade_ = false; // the current request offered h2c; it stays HTTP/1.1
  network::ConnectionTracker::Registration tracking_;
  // local_rate_limit_per_downstream_connection: this connection's buckets, by config (held so
  // that its address is not reused).
  std::map<const filters::LocalRateLimitConfig*,
           std::pair<std::shared_ptr<const filters::LocalRateLimitConfig>,
                     std::unique_ptr<filters::TokenBucket>>>
      connectionBuckets_;
};

} // namespace meshd::proxy::http
