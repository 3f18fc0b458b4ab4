// UpstreamRequest (upstream_request.h).
#include "proxy/router/upstream_request.h"

#include <algorithm>

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
constexpr std::string_view kRemoteReset =
    "upstream connect error or disconnect/reset before headers. reset reason: remote reset";
constexpr std::string_view kRefusedStream = "upstream connect error or disconnect/reset before "
                                            "headers. reset reason: remote refused stream reset";
constexpr std::string_view kOverflow =
    "upstream connect error or disconnect/reset before headers. reset reason: overflow";
} // namespace

UpstreamRequest::UpstreamRequest(core::EventLoop& loop, upstream::HttpPool& pool,
                                 upstream::WorkerLoadBalancers& balancers,
                                 core::RandomGenerator& random,
                                 std::shared_ptr<const upstream::Cluster> cluster,
                                 upstream::PickedHost host, HostPicker pick_host,
                                 http::HeaderMap headers, bool end_stream, Options options,
                                 Callbacks& callbacks)
    : loop_(loop), pool_(pool), balancers_(balancers), random_(random),
      cluster_(std::move(cluster)), host_(host), pickHost_(std::move(pick_host)),
      headers_(std::move(headers)), requestEnded_(end_stream), options_(std::move(options)),
      callbacks_(callbacks), replayable_(options_.retry.has_value()),
      retriesLeft_(options_.retry ? options_.retry->numRetries : 0) {
  cluster_->stats().rqActive.inc();
}

UpstreamRequest::~UpstreamRequest() {
  *alive_ = false;
  if (!done_) {
    cluster_->stats().rqActive.dec();
  }
  endAttempt(false);
}

void UpstreamRequest::start() {
  started_ = true;
  requestSlot_ = cluster_->resources().tryAcquire(upstream::ResourceManager::Kind::kRequests);
  if (!requestSlot_) {
    // max_requests: failed at once (on the loop's next turn: the caller is still setting up).
    cluster_->stats().rqPendingOverflow.inc();
    loop_.post([this, alive = alive_] {
      if (*alive) {
        fail(Failure::kOverflow);
      }
    });
    return;
  }
  if (requestEnded_) {
    startRouteTimeout();
  }
  attempt();
}

void UpstreamRequest::attempt() {
  ++attempts_;
  triedHosts_.record(host_);
  headSent_ = false;
  hostActive_ = true;
  balancers_.requestStarted(*cluster_, host_.index);
  using Protocol = upstream::HttpPool::Protocol;
  pendingId_ = pool_.acquire(
      cluster_, host_.address,
      [this, alive = alive_](std::shared_ptr<upstream::HttpExchange> client,
                             upstream::HttpPool::Failure failure) {
        if (!*alive) {
          if (client) {
            client->abort();
          }
          return;
        }
        pendingId_ = 0;
        onConnected(std::move(client), failure);
      },
      useHttp2() ? Protocol::kHttp2 : Protocol::kHttp1);
}

bool UpstreamRequest::useHttp2() const {
  using config::UpstreamProtocol;
  const UpstreamProtocol protocol = cluster_->config().upstreamProtocol;
  const bool wanted = protocol == UpstreamProtocol::kHttp2 ||
                      (protocol == UpstreamProtocol::kDownstream && options_.downstreamHttp2);
  return wanted && !headers_.has("upgrade") && headers_.method() != "CONNECT";
}

void UpstreamRequest::onConnected(std::shared_ptr<upstream::HttpExchange> client,
                                  upstream::HttpPool::Failure failure) {
  if (!client) {
    using PoolFailure = upstream::HttpPool::Failure;
    fail(failure == PoolFailure::kOverflow       ? Failure::kOverflow
         : failure == PoolFailure::kPoolOverflow ? Failure::kPoolOverflow
                                                 : Failure::kConnect);
    return;
  }
  client_ = std::move(client);
  // As Envoy, upstream_rq_total counts what goes out on a connection: each attempt once, and
  // neither an overflowed request nor an attempt whose connection failed.
  cluster_->stats().rqTotal.inc();
  sentAt_ = std::chrono::steady_clock::now();
  // A retry replays everything the client has sent so far.
  const core::Buffer& body = attempts_ == 1 ? pendingBody_ : replayBody_;
  const bool endNow = requestEnded_ && body.empty() && !requestTrailers_;
  if (options_.attemptCountInRequest) {
    headers_.set("x-envoy-attempt-count", std::to_string(attempts_));
  }
  client_->sendHead(headers_, endNow, options_.requestBodyChunked, this);
  headSent_ = true;
  if (!body.empty()) {
    client_->sendBody(body.toString(), requestEnded_ && !requestTrailers_);
  }
  if (requestTrailers_) {
    client_->sendTrailers(*requestTrailers_);
  }
  pendingBody_.clear();
  if (requestEnded_) {
    startTimeouts();
  }
}

void UpstreamRequest::sendBody(std::string_view data, bool end_stream) {
  if (end_stream) {
    requestEnded_ = true;
  }
  if (replayable_) {
    replayBody_.add(data);
    if (replayBody_.length() > options_.bufferLimitBytes) {
      replayable_ = false; // too large to keep for a retry: this attempt is the only one
      replayBody_.clear();
    }
  }
  if (!headSent_ || !client_) {
    pendingBody_.add(data);
    if (end_stream && started_) {
      startRouteTimeout(); // it also bounds the wait for a connection
    }
    return;
  }
  client_->sendBody(data, end_stream);
  if (end_stream) {
    startTimeouts();
  }
}

void UpstreamRequest::sendTrailers(http::HeaderMap trailers) {
  requestEnded_ = true;
  requestTrailers_ = std::move(trailers);
  if (!headSent_ || !client_) {
    if (started_) {
      startRouteTimeout(); // sent with the head once the connection is ready
    }
    return;
  }
  client_->sendTrailers(*requestTrailers_);
  startTimeouts();
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

void UpstreamRequest::startTimeouts() {
  startRouteTimeout();
  // The per-try timeout bounds each attempt from when it is sent.
  if (options_.perTryTimeout.count() > 0) {
    if (!perTryTimer_) {
      perTryTimer_ = loop_.createTimer([this] { fail(Failure::kPerTryTimeout); });
    }
    perTryTimer_->enable(options_.perTryTimeout);
  }
}

void UpstreamRequest::startRouteTimeout() {
  // Envoy's route timeout runs from the end of the downstream request to the end of the response,
  // across all attempts, time waiting for a connection included.
  if (options_.timeout.count() > 0 && !timeoutTimer_) {
    timeoutTimer_ = loop_.createTimer([this] {
      cluster_->stats().rqTimeout.inc();
      finish(false);
      callbacks_.onUpstreamFailure(504, http::kUpstreamRequestTimeout, "upstream request timeout");
    });
    timeoutTimer_->enable(options_.timeout);
  }
}

void UpstreamRequest::endAttempt(bool reuse) {
  if (perTryTimer_) {
    perTryTimer_->disable();
  }
  if (pendingId_ != 0) {
    pool_.cancel(pendingId_); // still waiting for a connection
    pendingId_ = 0;
  }
  if (hostActive_) {
    hostActive_ = false;
    balancers_.requestFinished(*cluster_, host_.index);
  }
  if (reuse && client_) {
    pool_.release(std::move(client_));
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

void UpstreamRequest::finish(bool reuse) {
  if (done_) {
    return;
  }
  done_ = true;
  cluster_->stats().rqActive.dec();
  requestSlot_.reset();
  retrySlot_.reset();
  if (timeoutTimer_) {
    timeoutTimer_->disable();
  }
  if (backoffTimer_) {
    backoffTimer_->disable();
  }
  endAttempt(reuse);
}

bool UpstreamRequest::retryAllowed(Failure failure) const {
  if (!options_.retry || retriesLeft_ == 0 || !replayable_ || done_) {
    return false;
  }
  const uint32_t on = options_.retry->retryOn;
  constexpr uint32_t kAnyReset =
      RetryPolicy::k5xx | RetryPolicy::kGatewayError | RetryPolicy::kReset;
  switch (failure) {
  case Failure::kConnect: return (on & (kAnyReset | RetryPolicy::kConnectFailure)) != 0;
  case Failure::kReset:
  case Failure::kRemoteReset:
  case Failure::kPerTryTimeout:
  case Failure::kProtocol: return (on & kAnyReset) != 0;
  case Failure::kRefusedStream: return (on & (kAnyReset | RetryPolicy::kRefusedStream)) != 0;
  case Failure::kOverflow:
  case Failure::kPoolOverflow: return false;
  }
  return false;
}

bool UpstreamRequest::reserveRetry() {
  // The unit of the retry before (if any) goes back first: at most one per request is held, from
  // the retry's scheduling to the next retry decision or the request's end (as Envoy).
  retrySlot_.reset();
  retrySlot_ = cluster_->resources().tryAcquire(upstream::ResourceManager::Kind::kRetries);
  if (!retrySlot_) {
    cluster_->stats().rqRetryOverflow.inc(); // max_retries or the retry budget: no retry
    return false;
  }
  nextHost_ = pickRetryHost(pickHost_, triedHosts_, options_.retry->avoidPreviousHosts,
                            options_.retry->hostSelectionMaxAttempts);
  if (!nextHost_) {
    retrySlot_.reset();
    return false;
  }
  return true;
}

void UpstreamRequest::startRetry() {
  host_ = *nextHost_;
  --retriesLeft_;
  cluster_->stats().rqRetry.inc();
  // Jittered exponential backoff: uniform in [0, min(base * 2^(n-1), max)].
  const RetryPolicy& policy = *options_.retry;
  const int64_t base = policy.backoffBase.count();
  const int64_t ceiling =
      std::min<int64_t>(base << std::min<uint32_t>(attempts_ - 1, 20), policy.backoffMax.count());
  const auto delay = std::chrono::milliseconds(random_.uniform(static_cast<uint64_t>(ceiling) + 1));
  if (!backoffTimer_) {
    backoffTimer_ = loop_.createTimer([this] { attempt(); });
  }
  backoffTimer_->enable(delay);
}

void UpstreamRequest::fail(Failure failure) {
  using Outcome = upstream::OutlierDetector::Outcome;
  if (failure == Failure::kPerTryTimeout) {
    // Envoy's count of every per-try timeout; upstream_rq_timeout is the route timeout's only.
    cluster_->stats().rqPerTryTimeout.inc();
  }
  if (failure == Failure::kProtocol) {
    cluster_->reportOutcome(host_.index, Outcome::kGatewayError);
  } else if (failure != Failure::kOverflow && failure != Failure::kPoolOverflow) {
    cluster_->reportOutcome(host_.index, Outcome::kLocalOriginFailure);
  }
  endAttempt(false);
  if (retryAllowed(failure) && reserveRetry()) {
    startRetry();
    return;
  }
  if (attempts_ > 1) {
    cluster_->stats().rqRetryLimitExceeded.inc();
    callbacks_.addResponseFlag(http::kUpstreamRetryLimitExceeded);
  }
  finish(false);
  switch (failure) {
  case Failure::kConnect:
    callbacks_.onUpstreamFailure(503, http::kUpstreamConnectionFailure, kConnectFailure);
    return;
  case Failure::kPerTryTimeout:
    callbacks_.onUpstreamFailure(504, http::kUpstreamRequestTimeout, "upstream request timeout");
    return;
  case Failure::kReset:
    callbacks_.onUpstreamFailure(503, http::kUpstreamConnectionTermination, kConnectionTermination);
    return;
  case Failure::kRemoteReset:
    callbacks_.onUpstreamFailure(503, http::kUpstreamRemoteReset, kRemoteReset);
    return;
  case Failure::kRefusedStream:
    callbacks_.onUpstreamFailure(503, http::kUpstreamRemoteReset, kRefusedStream);
    return;
  case Failure::kProtocol:
    callbacks_.onUpstreamFailure(502, http::kUpstreamProtocolError, kProtocolError);
    return;
  case Failure::kOverflow:
    callbacks_.onUpstreamFailure(503, http::kUpstreamOverflow, kOverflow);
    return;
  case Failure::kPoolOverflow:
    // As Envoy's router when the cluster gives it no connection pool.
    callbacks_.onUpstreamFailure(503, http::kNoHealthyUpstream, "no healthy upstream");
    return;
  }
}

void UpstreamRequest::onResponseHead(http::HeaderMap&& headers, bool end_stream) {
  const int status = headers.status();
  using Outcome = upstream::OutlierDetector::Outcome;
  cluster_->reportOutcome(host_.index, status == 502 || status == 503 || status == 504
                                           ? Outcome::kGatewayError
                                       : status >= 500 ? Outcome::kServerError
                                                       : Outcome::kSuccess);
  if (status >= 100 && status < 600) {
    cluster_->stats().rqByClass[static_cast<size_t>(status / 100 - 1)].inc();
  }
  if (options_.retry &&
      (options_.retry->retriableStatus(status) || options_.retry->retriableGrpcStatus(headers))) {
    // Reserved before the attempt ends: without a retry this response is the answer.
    if (retriesLeft_ > 0 && replayable_ && reserveRetry()) {
      endAttempt(false); // the response is dropped with its connection
      startRetry();
      return;
    }
    if (attempts_ > 1) {
      cluster_->stats().rqRetryLimitExceeded.inc();
      callbacks_.addResponseFlag(http::kUpstreamRetryLimitExceeded);
    }
  } else if (attempts_ > 1) {
    cluster_->stats().rqRetrySuccess.inc();
  }
  if (perTryTimer_) {
    perTryTimer_->disable(); // the attempt answered; the route timeout still bounds the body
  }
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - sentAt_);
  headers.set("x-envoy-upstream-service-time", std::to_string(elapsed.count()));
  if (options_.attemptCountInResponse) {
    headers.set("x-envoy-attempt-count", std::to_string(attempts_));
  }
  callbacks_.onUpstreamHead(std::move(headers), end_stream);
}

void UpstreamRequest::onResponseBody(std::string_view data) {
  callbacks_.onUpstreamBody(data);
}

void UpstreamRequest::onResponseTrailers(http::HeaderMap&& trailers) {
  callbacks_.onUpstreamTrailers(std::move(trailers));
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
  fail(protocol_error ? Failure::kProtocol : Failure::kReset);
}

void UpstreamRequest::onResponseReset(upstream::ResetReason reason) {
  using Reason = upstream::ResetReason;
  switch (reason) {
  case Reason::kConnectionTermination: fail(Failure::kReset); return;
  case Reason::kRemoteReset: fail(Failure::kRemoteReset); return;
  case Reason::kRefusedStream: fail(Failure::kRefusedStream); return;
  case Reason::kProtocolError: fail(Failure::kProtocol); return;
  }
}

void UpstreamRequest::onRequestDrained() {
  callbacks_.onUpstreamRequestDrained();
}

} // namespace meshd::proxy::router
