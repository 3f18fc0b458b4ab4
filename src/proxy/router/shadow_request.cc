// Request mirroring (shadow_request.h).
#include "proxy/router/shadow_request.h"

#include <algorithm>

namespace meshd::proxy::router {

std::string shadowHost(std::string_view authority) {
  const size_t colon = authority.rfind(':');
  const size_t bracket = authority.rfind(']');
  const bool hasPort =
      colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket);
  if (!hasPort) {
    return std::string(authority) + "-shadow";
  }
  return std::string(authority.substr(0, colon)) + "-shadow" + std::string(authority.substr(colon));
}

ShadowRequests::~ShadowRequests() {
  live_.clear();
}

std::weak_ptr<ShadowRequest> ShadowRequests::start(std::shared_ptr<const upstream::Cluster> cluster,
                                                   http::HeaderMap headers, bool end_stream,
                                                   const UpstreamRequest::Options& options) {
  const auto host = balancers_.pick(*cluster);
  if (!host) {
    cluster->stats().cxNoneHealthy.inc();
    return {};
  }
  headers.set(":authority", shadowHost(headers.get(":authority").value_or("")));
  auto shadow = std::make_shared<ShadowRequest>(*this, std::move(cluster), *host,
                                                std::move(headers), end_stream, options);
  live_.push_back(shadow);
  shadow->start();
  return shadow;
}

void ShadowRequests::finished(ShadowRequest* shadow) {
  // Called from inside the shadow's own callbacks: let go of it on the loop's next turn.
  const auto found = std::find_if(live_.begin(), live_.end(),
                                  [&](const auto& live) { return live.get() == shadow; });
  if (found != live_.end()) {
    loop_.post([doomed = std::move(*found)] {});
    live_.erase(found);
  }
}

ShadowRequest::ShadowRequest(ShadowRequests& owner,
                             std::shared_ptr<const upstream::Cluster> cluster,
                             upstream::PickedHost host, http::HeaderMap headers, bool end_stream,
                             const UpstreamRequest::Options& options)
    : owner_(owner), bufferLimitBytes_(options.bufferLimitBytes) {
  UpstreamRequest::Options shadowOptions = options;
  shadowOptions.retry.reset(); // a shadow is never retried
  shadowOptions.perTryTimeout = std::chrono::milliseconds(0);
  upstream_ = std::make_unique<UpstreamRequest>(
      owner.loop_, owner.pool_, owner.balancers_, owner.random_, std::move(cluster), host,
      [](uint32_t) { return std::optional<upstream::PickedHost>(); }, std::move(headers),
      end_stream, shadowOptions, *this);
}

ShadowRequest::~ShadowRequest() {
  upstream_.reset(); // cancels whatever is still under way
}

void ShadowRequest::sendBody(std::string_view data, bool end_stream) {
  upstream_->sendBody(data, end_stream);
  if (upstream_->pendingRequestBytes() > bufferLimitBytes_) {
    upstream_->cancel();
    owner_.finished(this); // too slow to keep up: dropped, the client is not held back
  }
}

} // namespace meshd::proxy::router
