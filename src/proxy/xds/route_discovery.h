// RDS over ADS: the route configurations the connection managers name (rds.route_config_name),
// asked for by name. Each response is validated whole, as strictly as a bootstrap; an accepted
// one replaces the named tables, which new requests use at once (on existing connections too).
// Main thread only.
#pragma once

#include <functional>
#include <set>
#include <string>

#include "core/stats/store.h"
#include "proxy/config/proxy_config.h"
#include "proxy/xds/accepted_resources.h"
#include "proxy/xds/ads_client.h"

namespace meshd::proxy::xds {

inline constexpr const char* kRouteType =
    "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";

class RouteDiscovery : public AdsClient::Handler {
public:
  using ConfigChange = std::function<void(config::ProxyConfig&)>;

  RouteDiscovery(const config::ProxyConfig& bootstrap, std::function<void(ConfigChange)> apply,
                 stats::Store& store);

  // Subscribes to every name the static listeners use; `initialized` runs once all of them
  // arrived (with LDS: once the names of the first LDS update arrived too).
  void start(AdsClient& client, std::function<void()> initialized);
  // The names the LDS listeners need, added to the static listeners' ones.
  void setListenerNames(std::set<std::string> names);

  absl::Status onResponse(const DiscoveryResponse& response) override;
  void onConnected(bool) override {}

  const AcceptedResources& routes() const { return held_; }

private:
  void checkInitialized();

  std::function<void(ConfigChange)> apply_;
  std::set<std::string> staticNames_;
  std::set<std::string> names_;
  AdsClient* client_ = nullptr;
  bool waitForListeners_ = false; // LDS is on and has not answered yet
  AcceptedResources held_;
  std::function<void()> initialized_;
  stats::Counter attempt_;
  stats::Counter success_;
  stats::Counter rejected_;
};

} // namespace meshd::proxy::xds
