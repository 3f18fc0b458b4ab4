// UpstreamRequest: the router's work for one request once a route picked a cluster and an
// endpoint. It takes a connection from the worker's pool, sends the request (buffering body bytes
// that arrive before the connection is ready), relays the response back, and enforces the route
// timeout. Failures before the response head become local replies with Envoy's status codes and
// response flags; failures after it reset the downstream.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "core/buffer.h"
#include "core/event_loop.h"
#include "proxy/http/header_map.h"
#include "proxy/upstream/http_pool.h"

namespace meshd::proxy::router {

// Destroyed through EventLoop::deferredDelete: its callbacks often end the request that runs them.
class UpstreamRequest : public upstream::HttpClient::ResponseHandler,
                        public core::DeferredDeletable {
public:
  class Callbacks {
  public:
    virtual ~Callbacks() = default;
    virtual void onUpstreamHead(http::HeaderMap&& headers, bool end_stream) = 0;
    virtual void onUpstreamBody(std::string_view data) = 0;
    virtual void onUpstreamComplete() = 0;
    // Before the head: answer with `status`/`body` and set `flag`; after it: reset downstream.
    virtual void onUpstreamFailure(int status, uint32_t flag, std::string_view body) = 0;
    // The upstream took the request body queued so far (resume reading the downstream).
    virtual void onUpstreamRequestDrained() = 0;
  };

  struct Options {
    std::chrono::milliseconds timeout{15000}; // 0: none
    bool requestBodyChunked = false;
    uint32_t bufferLimitBytes = 1 << 20;
  };

  UpstreamRequest(core::EventLoop& loop, upstream::HttpPool& pool,
                  upstream::WorkerLoadBalancers& balancers,
                  std::shared_ptr<const upstream::Cluster> cluster, upstream::PickedHost host,
                  http::HeaderMap headers, bool end_stream, Options options, Callbacks& callbacks);
  ~UpstreamRequest() override;

  void start();
  void sendBody(std::string_view data, bool end_stream);
  // Bytes waiting to reach the upstream (buffered here or queued on the socket).
  size_t pendingRequestBytes() const;
  void pauseResponse();
  void resumeResponse();

private:
  void onConnected(std::shared_ptr<upstream::HttpClient> client);
  void startTimeout();
  void finish(bool reuse);
  void dropClient();

  // HttpClient::ResponseHandler
  void onResponseHead(http::HeaderMap&& headers, bool end_stream) override;
  void onResponseBody(std::string_view data) override;
  void onResponseComplete() override;
  void onResponseError(bool protocol_error) override;
  void onRequestDrained() override;

  core::EventLoop& loop_;
  upstream::HttpPool& pool_;
  upstream::WorkerLoadBalancers& balancers_;
  std::shared_ptr<const upstream::Cluster> cluster_;
  upstream::PickedHost host_;
  http::HeaderMap headers_;
  bool requestEnded_;
  Options options_;
  Callbacks& callbacks_;
  std::shared_ptr<upstream::HttpClient> client_;
  core::Buffer pendingBody_;
  bool pendingEnd_ = false;
  bool headSent_ = false;
  bool responseStarted_ = false;
  bool done_ = false;
  std::chrono::steady_clock::time_point sentAt_;
  std::unique_ptr<core::Timer> timeoutTimer_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

} // namespace meshd::proxy::router
