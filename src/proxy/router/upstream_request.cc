// UpstreamRequest (upstream_request.h).
#include "proxy/router/upstream_request.h"

#include "proxy/http/stream_info.h"

namespace meshd::proxy::router {
namespace {
constexpr std::string_view kConnectFailure =
    "upstream connect error or disconnect/reset before headers. reset reason: connection failure";
constexpr std::string_view kConnectionTermination =
    "upstream connect error or disconnect/reset before headers. reset reason: connection "
    "termination";
constexpr std::string_view kProtocolError =
    "upstream connect error or disconnect/reset before headers. reset reason: protocol error";
} // namespace

UpstreamRequest::UpstreamRequest(core::EventLoop& loop, upstream::HttpPool& pool,
                                 upstream::WorkerLoadBalancers& balancers,
                                 std::shared_ptr<const upstream::Cluster> cluster,
                                 upstream::PickedHost host, http::HeaderMap headers,
                                 bool end_stream, Options options, Callbacks& callbacks)
    : loop_(loop), pool_(pool), balancers_(balancers), cluster_(std::move(cluster)), host_(host),
      headers_(std::move(headers)), requestEnded_(end_stream), options_(options),
      callbacks_(callbacks) {
  cluster_->stats().rqTotal.inc();
  cluster_->stats().rqActive.inc();
  balancers_.requestStarted(*cluster_, host_.index);
}

UpstreamRequest::~UpstreamRequest() {
  *alive_ = false;
  if (!done_) {
    cluster_->stats().rqActive.dec();
    balancers_.requestFinished(*cluster_, host_.index);
  }
  dropClient();
}

void UpstreamRequest::dropClient() {
  if (client_) {
    // Mid-exchange: the connection cannot carry another request. It may be running the callback
    // that brought us here, so its last reference is released after that.
    client_->abort();
    loop_.post([doomed = std::move(client_)] {});
  }
}

void UpstreamRequest::start() {
  pool_.acquire(cluster_, host_.address,
                [this, alive = alive_](std::shared_ptr<upstream::HttpClient> client) {
                  if (!*alive) {
                    if (client) {
                      client->close();
                    }
                    return;
                  }
                  onConnected(std::move(client));
                });
}

void UpstreamRequest::onConnected(std::shared_ptr<upstream::HttpClient> client) {
  if (!client) {
    finish(false);
    callbacks_.onUpstreamFailure(503, http::kUpstreamConnectionFailure, kConnectFailure);
    return;
  }
  client_ = std::move(client);
  sentAt_ = std::chrono::steady_clock::now();
  const bool endNow = requestEnded_ && pendingBody_.empty();
  client_->sendHead(headers_, endNow, options_.requestBodyChunked, this);
  headSent_ = true;
  if (!pendingBody_.empty() || (requestEnded_ && !endNow)) {
    const std::string body = pendingBody_.toString();
    pendingBody_.clear();
    client_->sendBody(body, pendingEnd_);
  }
  if (requestEnded_) {
    startTimeout();
  }
}

void UpstreamRequest::sendBody(std::string_view data, bool end_stream) {
  if (end_stream) {
    requestEnded_ = true;
  }
  if (!headSent_) {
    pendingBody_.add(data);
    pendingEnd_ = end_stream;
    return;
  }
  if (client_) {
    client_->sendBody(data, end_stream);
  }
  if (end_stream) {
    startTimeout();
  }
}

size_t UpstreamRequest::pendingRequestBytes() const {
  return pendingBody_.length() + (client_ ? client_->bytesQueued() : 0);
}

void UpstreamRequest::pauseResponse() {
  if (client_) {
    client_->pauseReading();
  }
}

void UpstreamRequest::resumeResponse() {
  if (client_) {
    client_->resumeReading();
  }
}

void UpstreamRequest::startTimeout() {
  // Envoy's route timeout runs from the end of the downstream request to the end of the response.
  if (options_.timeout.count() == 0 || timeoutTimer_) {
    return;
  }
  timeoutTimer_ = loop_.createTimer([this] {
    cluster_->stats().rqTimeout.inc();
    finish(false);
    callbacks_.onUpstreamFailure(504, http::kUpstreamRequestTimeout, "upstream request timeout");
  });
  timeoutTimer_->enable(options_.timeout);
}

void UpstreamRequest::finish(bool reuse) {
  if (done_) {
    return;
  }
  done_ = true;
  cluster_->stats().rqActive.dec();
  balancers_.requestFinished(*cluster_, host_.index);
  if (timeoutTimer_) {
    timeoutTimer_->disable();
  }
  if (reuse && client_) {
    pool_.release(std::move(client_));
  }
  dropClient();
}

void UpstreamRequest::onResponseHead(http::HeaderMap&& headers, bool end_stream) {
  responseStarted_ = true;
  const int status = headers.status();
  if (status >= 100 && status < 600) {
    cluster_->stats().rqByClass[static_cast<size_t>(status / 100 - 1)].inc();
  }
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - sentAt_);
  headers.set("x-envoy-upstream-service-time", std::to_string(elapsed.count()));
  callbacks_.onUpstreamHead(std::move(headers), end_stream);
}

void UpstreamRequest::onResponseBody(std::string_view data) {
  callbacks_.onUpstreamBody(data);
}

void UpstreamRequest::onResponseComplete() {
  const auto elapsed =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - sentAt_);
  cluster_->stats().rqTime.record(elapsed.count());
  // The client cleared its handler before calling; it can go back to the pool.
  finish(requestEnded_);
  callbacks_.onUpstreamComplete();
}

void UpstreamRequest::onResponseError(bool protocol_error) {
  finish(false);
  if (protocol_error) {
    callbacks_.onUpstreamFailure(502, http::kUpstreamProtocolError, kProtocolError);
  } else {
    callbacks_.onUpstreamFailure(503, http::kUpstreamConnectionTermination, kConnectionTermination);
  }
}

void UpstreamRequest::onRequestDrained() {
  callbacks_.onUpstreamRequestDrained();
}

} // namespace meshd::proxy::router
