// UpstreamRequest: the router's work for one request once a route picked a cluster. It takes a
// connection from the worker's pool, sends the request (buffering body bytes that arrive before
// the connection is ready), relays the response, and enforces the route timeout (whole request)
// and the retry policy (per-try timeout, retry conditions, jittered exponential backoff, another
// host for each attempt). Failures before the response head become local replies with Envoy's
// status codes and response flags; failures after it reset the downstream.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/buffer.h"
#include "core/event_loop.h"
#include "proxy/http/header_map.h"
#include "proxy/router/retry_host_selection.h"
#include "proxy/router/route_table.h"
#include "proxy/upstream/http_pool.h"

namespace meshd::proxy::router {

// Destroyed through EventLoop::deferredDelete: its callbacks often end the request that runs them.
class UpstreamRequest : public upstream::ResponseHandler, public core::DeferredDeletable {
public:
  class Callbacks {
  public:
    virtual ~Callbacks() = default;
    virtual void onUpstreamHead(http::HeaderMap&& headers, bool end_stream) = 0;
    virtual void onUpstreamBody(std::string_view data) = 0;
    // Response trailers, between the last body bytes and onUpstreamComplete. An HTTP/1.1
    // downstream has no use for them (the default drops them).
    virtual void onUpstreamTrailers(http::HeaderMap&& /*trailers*/) {}
    virtual void onUpstreamComplete() = 0;
    // Before the head: answer with `status`/`body` and set `flag`; after it: reset downstream.
    virtual void onUpstreamFailure(int status, uint32_t flag, std::string_view body) = 0;
    // The upstream took the request body queued so far (resume reading the downstream).
    virtual void onUpstreamRequestDrained() = 0;
    // A response flag that does not end the request (URX: the retries ran out).
    virtual void addResponseFlag(uint32_t flag) = 0;
  };

  // Picks the host for an attempt (the balancer, for retries).
  using HostPicker = router::HostPicker;

  struct Options {
    std::chrono::milliseconds timeout{15000}; // 0: none
    // Bounds each attempt from when it is sent (the retry policy's per_try_timeout, or
    // x-envoy-upstream-rq-per-try-timeout-ms); 0: none. Applies without a retry policy too.
    std::chrono::milliseconds perTryTimeout{0};
    // The virtual host's include_request_attempt_count / include_attempt_count_in_response.
    bool attemptCountInRequest = false;
    bool attemptCountInResponse = false;
    bool requestBodyChunked = false;
    // The downstream request came over HTTP/2: a use_downstream_protocol_config cluster gets it
    // over HTTP/2 too.
    bool downstreamHttp2 = false;
    uint32_t bufferLimitBytes = 1 << 20;
    std::optional<RetryPolicy> retry;
  };

  UpstreamRequest(core::EventLoop& loop, upstream::HttpPool& pool,
                  upstream::WorkerLoadBalancers& balancers, core::RandomGenerator& random,
                  std::shared_ptr<const upstream::Cluster> cluster, upstream::PickedHost host,
                  HostPicker pick_host, http::HeaderMap headers, bool end_stream, Options options,
                  Callbacks& callbacks);
  ~UpstreamRequest() override;

  void start();
  // Abandons the request now: its connection is closed before anything still queued is sent.
  void cancel() { finish(false); }
  void sendBody(std::string_view data, bool end_stream);
  // Ends the request with trailers (from an HTTP/2 or gRPC client): sent as such to an HTTP/2
  // upstream; an HTTP/1.1 upstream gets the end of the body only.
  void sendTrailers(http::HeaderMap trailers);
  // Bytes waiting to reach the upstream (buffered here or queued on the socket).
  size_t pendingRequestBytes() const;
  void pauseResponse();
  void resumeResponse();

private:
  enum class Failure {
    kConnect,
    kReset,         // the connection ended under the request (UC)
    kRemoteReset,   // the HTTP/2 server reset the stream (UR)
    kRefusedStream, // the HTTP/2 server refused the stream: it was not processed (UR)
    kPerTryTimeout,
    kProtocol,
    kOverflow,
    kPoolOverflow,
  };

  void attempt();
  void onConnected(std::shared_ptr<upstream::HttpExchange> client,
                   upstream::HttpPool::Failure failure);
  // HTTP/2 for this request: the cluster wants it (or wants the downstream's protocol and the
  // request came over HTTP/2), and it is not an upgrade or CONNECT (which need HTTP/1.1 here).
  bool useHttp2() const;
  void startTimeouts();
  void startRouteTimeout();
  void endAttempt(bool reuse);
  void finish(bool reuse);
  void dropClient();
  void fail(Failure failure);
  bool retryAllowed(Failure failure) const;
  // A retry needs a max_retries unit and a host; false (nothing changed) without them.
  bool reserveRetry();
  // Then: the next attempt after the backoff.
  void startRetry();

  // upstream::ResponseHandler
  void onResponseHead(http::HeaderMap&& headers, bool end_stream) override;
  void onResponseBody(std::string_view data) override;
  void onResponseTrailers(http::HeaderMap&& trailers) override;
  void onResponseComplete() override;
  void onResponseError(bool protocol_error) override;
  void onResponseReset(upstream::ResetReason reason) override;
  void onRequestDrained() override;

  core::EventLoop& loop_;
  upstream::HttpPool& pool_;
  upstream::WorkerLoadBalancers& balancers_;
  core::RandomGenerator& random_;
  std::shared_ptr<const upstream::Cluster> cluster_;
  upstream::PickedHost host_;
  std::optional<upstream::PickedHost> nextHost_; // reserved for the retry being scheduled
  HostPicker pickHost_;
  PreviousHosts triedHosts_; // for the previous_hosts retry host predicate
  http::HeaderMap headers_;
  bool requestEnded_;
  Options options_;
  Callbacks& callbacks_;
  std::shared_ptr<upstream::HttpExchange> client_;
  core::Buffer pendingBody_; // arrived before this attempt's connection was ready
  core::Buffer replayBody_;  // everything sent so far, kept while a retry could need it
  std::optional<http::HeaderMap> requestTrailers_; // end the request (and every retry) with them
  bool replayable_; // the body fits the buffer limit (or there is none)
  uint32_t retriesLeft_ = 0;
  uint32_t attempts_ = 0;
  bool headSent_ = false;
  bool hostActive_ = false;
  bool done_ = false;
  // start() was called: before it (during a fault delay) no timeout runs, as in Envoy, where the
  // router has not seen the request yet.
  bool started_ = false;
  std::chrono::steady_clock::time_point sentAt_;
  std::unique_ptr<core::Timer> timeoutTimer_;
  std::unique_ptr<core::Timer> perTryTimer_;
  std::unique_ptr<core::Timer> backoffTimer_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  // Circuit breakers: this request (max_requests), the retry under way (max_retries), and the
  // pool's id while waiting for a connection (max_pending_requests).
  upstream::ResourceManager::Slot requestSlot_;
  upstream::ResourceManager::Slot retrySlot_;
  uint64_t pendingId_ = 0;
};

} // namespace meshd::proxy::router
