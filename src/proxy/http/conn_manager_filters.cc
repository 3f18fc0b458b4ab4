// The HTTP filters of the connection manager that act before the router (conn_manager.h): CORS
// (envoy.filters.http.cors), local rate limiting (envoy.filters.http.local_ratelimit), fault
// injection (envoy.filters.http.fault) and request mirroring (route request_mirror_policies).
#include "proxy/http/conn_manager.h"
#include "proxy/http/stream_info.h"

namespace meshd::proxy::http {

bool HttpConnectionManager::applyCors() {
  Stream& stream = *stream_;
  if (!config_.cors || !stream.route->cors) {
    return false; // no CORS filter in this chain, or no policy for the route: as in Envoy
  }
  filters::CorsDecision decision =
      filters::decideCors(*stream.route->cors, stream.request, context_.random);
  if (decision.origin == filters::CorsDecision::Origin::kValid) {
    stats_.httpCorsOriginValid.inc();
  } else if (decision.origin == filters::CorsDecision::Origin::kInvalid) {
    stats_.httpCorsOriginInvalid.inc();
  }
  if (decision.preflightResponse) {
    sendLocalReply(200, "", 0, &*decision.preflightResponse);
    return true;
  }
  stream.corsOrigin = std::move(decision.allowedOrigin);
  return false;
}

const filters::FaultConfig* HttpConnectionManager::faultConfig() const {
  if (!config_.fault) {
    return nullptr; // no fault filter in this chain: per-route configs do nothing, as in Envoy
  }
  if (stream_->route->fault) {
    return stream_->route->fault.get();
  }
  return stream_->virtualHost->fault ? stream_->virtualHost->fault.get() : config_.fault.get();
}

bool HttpConnectionManager::runDecodeFilters(bool end_stream) {
  const bool rateLimitFirst = config_.localRateLimitBeforeFault;
  if (rateLimitFirst && applyLocalRateLimit()) {
    return false;
  }
  filters::FaultDecision fault;
  if (const filters::FaultConfig* faultFilter = faultConfig()) {
    fault = filters::decideFault(*faultFilter, stream_->request, context_.random);
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

bool HttpConnectionManager::applyLocalRateLimit() {
  if (!config_.localRateLimit) {
    return false; // no filter in this chain: per-route configs do nothing, as in Envoy
  }
  Stream& stream = *stream_;
  // The most specific config: the route's, its virtual host's, else the filter's.
  const std::shared_ptr<const filters::LocalRateLimitConfig>& config =
      stream.route != nullptr && stream.route->localRateLimit ? stream.route->localRateLimit
      : stream.virtualHost != nullptr && stream.virtualHost->localRateLimit
          ? stream.virtualHost->localRateLimit
          : config_.localRateLimit;
  filters::TokenBucket* bucket =
      config->perConnection ? connectionBucket(config) : config->sharedBucket.get();
  filters::LocalRateLimitDecision decision =
      filters::decideLocalRateLimit(*config, bucket, context_.random);
  stream.rateLimitHeaders = std::move(decision.responseHeaders);
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

filters::TokenBucket* HttpConnectionManager::connectionBucket(
    const std::shared_ptr<const filters::LocalRateLimitConfig>& config) {
  auto& entry = connectionBuckets_[config.get()];
  if (!entry.first) {
    entry = {config, config->newBucket()};
  }
  return entry.second.get();
}

void HttpConnectionManager::injectFault(const filters::FaultDecision& fault, bool end_stream) {
  Stream& stream = *stream_;
  if (fault.delay.count() == 0) {
    abortForFault(fault);
    return;
  }
  // Envoy's order: the delay first, then (if drawn) the abort.
  stats_.httpFaultDelaysInjected.inc();
  stream.responseFlags |= kDelayInjected;
  if (!fault.aborts()) {
    forward(stream.route->route, end_stream, fault.delay);
    return;
  }
  stream.faultDelay = context_.loop.createTimer([this, fault] { abortForFault(fault); });
  stream.faultDelay->enable(fault.delay);
}

void HttpConnectionManager::abortForFault(const filters::FaultDecision& fault) {
  stats_.httpFaultAbortsInjected.inc();
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

void HttpConnectionManager::startShadows(const router::RouteAction& action,
                                         const HeaderMap& headers, bool end_stream,
                                         const router::UpstreamRequest::Options& options) {
  const auto& clusters = context_.runtimes.onWorker()->clusters;
  for (const auto& mirror : action.mirrors) {
    if (context_.random.uniform(1000000) >= mirror.perMillion) {
      continue;
    }
    const auto cluster = clusters.find(mirror.cluster);
    if (cluster == clusters.end()) {
      continue; // as Envoy: a mirror to a cluster that does not exist is skipped
    }
    stream_->shadows.push_back(
        context_.shadows.start(cluster->second, headers, end_stream, options));
  }
}

} // namespace meshd::proxy::http
