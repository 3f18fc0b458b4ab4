// Request mirroring (route request_mirror_policies, Istio's VirtualService `mirror`): a copy of a
// request goes to the mirror cluster with "-shadow" appended to its host (before the port, as
// Envoy does), and its response is read and dropped. A shadow belongs to its worker's
// ShadowRequests, not to the request it copies, so it never changes that request's response or
// latency; the request only feeds it the body as it arrives. A shadow whose body backs up beyond
// the buffer limit is abandoned rather than slowing the client.
#pragma once

#include <list>
#include <memory>
#include <string>

#include "core/event_loop.h"
#include "core/random.h"
#include "proxy/http/header_map.h"
#include "proxy/router/upstream_request.h"
#include "proxy/upstream/cluster.h"
#include "proxy/upstream/http_pool.h"
#include "proxy/upstream/load_balancer.h"

namespace meshd::proxy::router {

// "reviews:9080" -> "reviews-shadow:9080" ("[::1]:80" keeps its brackets).
std::string shadowHost(std::string_view authority);

class ShadowRequest;

// One worker's shadows in flight.
class ShadowRequests {
public:
  ShadowRequests(core::EventLoop& loop, upstream::HttpPool& pool,
                 upstream::WorkerLoadBalancers& balancers, core::RandomGenerator& random)
      : loop_(loop), pool_(pool), balancers_(balancers), random_(random) {}
  ~ShadowRequests();

  // Sends a copy of a request (`headers` as sent upstream) to `cluster`. Null when the cluster
  // has no host. The shadow is kept until its response ends or it fails.
  std::weak_ptr<ShadowRequest> start(std::shared_ptr<const upstream::Cluster> cluster,
                                     http::HeaderMap headers, bool end_stream,
                                     const UpstreamRequest::Options& options);
  size_t inFlight() const { return live_.size(); }

private:
  friend class ShadowRequest;
  void finished(ShadowRequest* shadow);

  core::EventLoop& loop_;
  upstream::HttpPool& pool_;
  upstream::WorkerLoadBalancers& balancers_;
  core::RandomGenerator& random_;
  std::list<std::shared_ptr<ShadowRequest>> live_;
};

class ShadowRequest final : public UpstreamRequest::Callbacks {
public:
  ShadowRequest(ShadowRequests& owner, std::shared_ptr<const upstream::Cluster> cluster,
                upstream::PickedHost host, http::HeaderMap headers, bool end_stream,
                const UpstreamRequest::Options& options);
  ~ShadowRequest() override;
  void start() { upstream_->start(); }
  // More of the request body (from the request being mirrored).
  void sendBody(std::string_view data, bool end_stream);

private:
  // UpstreamRequest::Callbacks: the response is dropped; its end, or a failure, ends the shadow.
  void onUpstreamHead(http::HeaderMap&&, bool) override {}
  void onUpstreamBody(std::string_view) override {}
  void onUpstreamComplete() override { owner_.finished(this); }
  void onUpstreamFailure(int, uint32_t, std::string_view) override { owner_.finished(this); }
  void onUpstreamRequestDrained() override {}
  void addResponseFlag(uint32_t) override {}

  ShadowRequests& owner_;
  uint32_t bufferLimitBytes_;
  std::unique_ptr<UpstreamRequest> upstream_;
};

} // namespace meshd::proxy::router
