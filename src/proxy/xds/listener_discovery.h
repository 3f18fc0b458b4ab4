// LDS over ADS: the listeners the control plane sends join the bootstrap's static ones (which
// LDS may not replace). A response is validated whole, as strictly as a bootstrap, and new
// listeners are bound before it is accepted, so an address in use rejects it (NACK) and the
// previous listeners stay. The owner applies an accepted set: added listeners start accepting,
// removed ones stop (their connections finish), changed ones keep their socket and drain the
// connections accepted under the old config.
#pragma once

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "core/stats/store.h"
#include "proxy/config/proxy_config.h"
#include "proxy/xds/accepted_resources.h"
#include "proxy/xds/ads_client.h"

namespace meshd::proxy::xds {

inline constexpr const char* kListenerType =
    "type.googleapis.com/envoy.config.listener.v3.Listener";

class ListenerDiscovery : public AdsClient::Handler {
public:
  // Binds what is new and applies the set; an error rejects the update with nothing changed.
  using ApplyListeners = std::function<absl::Status(std::vector<config::ListenerConfig>)>;
  // The route configuration names the listeners need (for RDS).
  using RouteNames = std::function<void(std::set<std::string>)>;

  ListenerDiscovery(const config::ProxyConfig& bootstrap, ApplyListeners apply,
                    RouteNames route_names, stats::Store& store);

  // Subscribes (wildcard); `initialized` runs once the first response was accepted.
  void start(AdsClient& client, std::function<void()> initialized);

  absl::Status onResponse(const DiscoveryResponse& response) override;
  void onConnected(bool) override {}

  const AcceptedResources& listeners() const { return held_; }

private:
  ApplyListeners apply_;
  RouteNames routeNames_;
  std::set<std::string> staticNames_;
  std::map<std::string, config::ClusterConfig> staticClusters_;
  bool cds_ = false;
  std::function<void()> initialized_;
  AcceptedResources held_;
  stats::Counter attempt_;
  stats::Counter success_;
  stats::Counter rejected_;
};

} // namespace meshd::proxy::xds
