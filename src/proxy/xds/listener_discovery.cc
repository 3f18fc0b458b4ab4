// ListenerDiscovery (listener_discovery.h).
#include "proxy/xds/listener_discovery.h"

#include "core/logging.h"
#include "core/status.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "fmt/format.h"
#include "proxy/config/listener_config.h"
#include "proxy/config/supported_fields.h"

namespace meshd::proxy::xds {
namespace {

spdlog::logger& logger() {
  static spdlog::logger& instance = log::get("xds");
  return instance;
}

} // namespace

ListenerDiscovery::ListenerDiscovery(const config::ProxyConfig& bootstrap, ApplyListeners apply,
                                     RouteNames route_names, stats::Store& store)
    : apply_(std::move(apply)), routeNames_(std::move(route_names)),
      staticClusters_(bootstrap.clusters), cds_(bootstrap.xds && bootstrap.xds->cds),
      attempt_(store.counter("listener_manager.lds.update_attempt", {}, "LDS responses received")),
      success_(store.counter("listener_manager.lds.update_success", {}, "LDS responses accepted")),
      rejected_(store.counter("listener_manager.lds.update_rejected", {},
                              "LDS responses rejected (NACKed)")) {
  for (const auto& listener : bootstrap.listeners) {
    staticNames_.insert(listener.name);
  }
}

void ListenerDiscovery::start(AdsClient& client, std::function<void()> initialized) {
  initialized_ = std::move(initialized);
  client.subscribe(kListenerType, {}, /*wildcard=*/true);
}

absl::Status ListenerDiscovery::onResponse(const DiscoveryResponse& response) {
  attempt_.inc();
  auto reject = [&](absl::Status status) {
    rejected_.inc();
    held_.reject(response, std::string(status.message()));
    return status;
  };
  std::vector<config::ListenerConfig> listeners;
  std::map<std::string, google::protobuf::Any> held;
  std::set<std::string> routeNames;
  const config::ClusterCatalog catalog{staticClusters_, cds_};
  for (int i = 0; i < response.resources_size(); ++i) {
    envoy::config::listener::v3::Listener proto;
    const std::string where =
        fmt::format("LDS version {} resources[{}]", response.version_info(), i);
    if (!response.resources(i).UnpackTo(&proto)) {
      return reject(absl::InvalidArgumentError(where + ": not a Listener"));
    }
    if (absl::Status status = config::checkSupportedFields(proto, where); !status.ok()) {
      return reject(status);
    }
    auto listener =
        config::buildListener(proto, fmt::format("listener '{}'", proto.name()), catalog);
    if (!listener.ok()) {
      return reject(listener.status());
    }
    if (staticNames_.contains(listener->name) || held.contains(listener->name)) {
      return reject(absl::InvalidArgumentError(fmt::format(
          "listener '{}' is static or appears twice: LDS may not replace it", listener->name)));
    }
    for (const auto& chain : listener->filterChains) {
      if (chain.http && !chain.http->rdsName.empty()) {
        routeNames.insert(chain.http->rdsName);
      }
    }
    held[listener->name] = response.resources(i);
    listeners.push_back(std::move(*listener));
  }
  if (absl::Status status = apply_(std::move(listeners)); !status.ok()) {
    return reject(status); // e.g. an address already in use
  }
  success_.inc();
  MESHD_LOG(logger(), info, "LDS version {}: {} listener(s)", response.version_info(), held.size());
  held_.replaceAll(response, std::move(held));
  routeNames_(std::move(routeNames));
  if (initialized_) {
    auto done = std::move(initialized_);
    initialized_ = nullptr;
    done();
  }
  return absl::OkStatus();
}

} // namespace meshd::proxy::xds
