// The HTTP filters of a request that act before the router (active_stream.h): CORS
// (envoy.filters.http.cors), local rate limiting (envoy.filters.http.local_ratelimit), fault
// injection (envoy.filters.http.fault) and request mirroring (route request_mirror_policies).
#include "proxy/http/active_stream.h"
#include "proxy/http/stream_info.h"

namespace meshd::proxy::http {

bool ActiveStream::applyCors() {
  if (!connection_.config.cors || !route_->cors) {
    return false; // no CORS filter in this chain, or no policy for the route: as in Envoy
  }
  filters::CorsDecision decision =
      filters::decideCors(*route_->cors, request_, connection_.worker.random);
  if (decision.origin == filters::CorsDecision::Origin::kValid) {
    connection_.stats.httpCorsOriginValid.inc();
  } else if (decision.origin == filters::CorsDecision::Origin::kInvalid) {
    connection_.stats.httpCorsOriginInvalid.inc();
  }
  if (decision.preflightResponse) {
    sendLocalReply(200, "", 0, &*decision.preflightResponse);
    return true;
  }
  corsOrigin_ = std::move(decision.allowedOrigin);
  return false;
}

const filters::FaultConfig* ActiveStream::faultConfig() const {
  if (!connection_.config.fault) {
    return nullptr; // no fault filter in this chain: per-route configs do nothing, as in Envoy
  }
  if (route_->fault) {
    return route_->fault.get();
  }
  return virtualHost_->fault ? virtualHost_->fault.get() : connection_.config.fault.get();
}

bool ActiveStream::runDecodeFilters(bool end_stream) {
  const bool rateLimitFirst = connection_.config.localRateLimitBeforeFault;
  if (rateLimitFirst && applyLocalRateLimit()) {
    return false;
  }
  filters::FaultDecision fault;
  if (const filters::FaultConfig* faultFilter = faultConfig()) {
    fault = filters::decideFault(*faultFilter, request_, connection_.worker.random);
  }
  // With the fault filter first, an abort answers before the rate limit is asked; a delayed
  // request is counted by the rate limit before it waits (Envoy would count it after).
  if (!rateLimitFirst && !fault.aborts() && applyLocalRateLimit()) {
    return false;
  }
  if (fault.delay.count() > 0 || fault.aborts()) {
    injectFault(fault, end_stream);
    return false;
  }
  return true;
}

bool ActiveStream::applyLocalRateLimit() {
  if (!connection_.config.localRateLimit) {
    return false; // no filter in this chain: per-route configs do nothing, as in Envoy
  }
  // The most specific config: the route's, its virtual host's, else the filter's.
  const std::shared_ptr<const filters::LocalRateLimitConfig>& config =
      route_ != nullptr && route_->localRateLimit               ? route_->localRateLimit
      : virtualHost_ != nullptr && virtualHost_->localRateLimit ? virtualHost_->localRateLimit
                                                                : connection_.config.localRateLimit;
  filters::TokenBucket* bucket =
      config->perConnection ? connection_.connectionBucket(config) : config->sharedBucket.get();
  filters::LocalRateLimitDecision decision =
      filters::decideLocalRateLimit(*config, bucket, connection_.worker.random);
  rateLimitHeaders_ = std::move(decision.responseHeaders);
  if (!decision.limited) {
    return false;
  }
  HeaderMap extra;
  for (const auto& [name, value] : config->responseHeadersToAdd) {
    extra.add(name, value);
  }
  sendLocalReply(static_cast<int>(config->status), "local_rate_limited", kRateLimited, &extra);
  return true;
}

void ActiveStream::injectFault(const filters::FaultDecision& fault, bool end_stream) {
  if (fault.delay.count() == 0) {
    abortForFault(fault);
    return;
  }
  // Envoy's order: the delay first, then (if drawn) the abort.
  connection_.stats.httpFaultDelaysInjected.inc();
  responseFlags_ |= kDelayInjected;
  if (!fault.aborts()) {
    forward(route_->route, end_stream, fault.delay);
    return;
  }
  faultDelay_ = connection_.worker.loop.createTimer([this, fault] { abortForFault(fault); });
  faultDelay_->enable(fault.delay);
}

void ActiveStream::abortForFault(const filters::FaultDecision& fault) {
  connection_.stats.httpFaultAbortsInjected.inc();
  if (fault.abortGrpcStatus && grpc_) {
    // A gRPC request: the local reply is trailers-only, with the configured status.
    sendLocalReply(200, "fault filter abort", kFaultInjected, nullptr, *fault.abortGrpcStatus);
    return;
  }
  if (fault.abortGrpcStatus) {
    // A gRPC trailers-only answer: HTTP 200 with the status in the head.
    HeaderMap grpc;
    grpc.add("content-type", "application/grpc");
    grpc.add("grpc-status", std::to_string(*fault.abortGrpcStatus));
    grpc.add("grpc-message", "fault filter abort");
    sendLocalReply(200, "", kFaultInjected, &grpc);
    return;
  }
  sendLocalReply(static_cast<int>(*fault.abortHttpStatus), "fault filter abort", kFaultInjected);
}

void ActiveStream::startShadows(const router::RouteAction& action, const HeaderMap& headers,
                                bool end_stream, const router::UpstreamRequest::Options& options) {
  const auto& clusters = connection_.worker.runtimes.onWorker()->clusters;
  for (const auto& mirror : action.mirrors) {
    if (connection_.worker.random.uniform(1000000) >= mirror.perMillion) {
      continue;
    }
    const auto cluster = clusters.find(mirror.cluster);
    if (cluster == clusters.end()) {
      continue; // as Envoy: a mirror to a cluster that does not exist is skipped
    }
    shadows_.push_back(
        connection_.worker.shadows.start(cluster->second, headers, end_stream, options));
  }
}

} // namespace meshd::proxy::http
