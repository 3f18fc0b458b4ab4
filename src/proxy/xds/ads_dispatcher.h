// Hands each ADS response to the handler of its type (CDS and EDS to ClusterDiscovery, LDS to
// ListenerDiscovery, RDS to RouteDiscovery) and the stream's state to all of them.
#pragma once

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "fmt/format.h"
#include "proxy/xds/ads_client.h"

namespace meshd::proxy::xds {

class AdsDispatcher : public AdsClient::Handler {
public:
  void route(const std::string& type_url, AdsClient::Handler& handler) {
    byType_[type_url] = &handler;
    if (std::find(all_.begin(), all_.end(), &handler) == all_.end()) {
      all_.push_back(&handler);
    }
  }

  absl::Status onResponse(const DiscoveryResponse& response) override {
    const auto found = byType_.find(response.type_url());
    if (found == byType_.end()) {
      return absl::InvalidArgumentError(fmt::format("type {} not subscribed", response.type_url()));
    }
    return found->second->onResponse(response);
  }

  void onConnected(bool connected) override {
    for (auto* handler : all_) {
      handler->onConnected(connected);
    }
  }

private:
  std::map<std::string, AdsClient::Handler*> byType_;
  std::vector<AdsClient::Handler*> all_;
};

} // namespace meshd::proxy::xds
