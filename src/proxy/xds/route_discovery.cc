// RouteDiscovery (route_discovery.h).
#include "proxy/xds/route_discovery.h"

#include "core/logging.h"
#include "core/status.h"
#include "envoy/config/route/v3/route.pb.h"
#include "fmt/format.h"
#include "proxy/config/supported_fields.h"

namespace meshd::proxy::xds {
namespace {

spdlog::logger& logger() {
  static spdlog::logger& instance = log::get("xds");
  return instance;
}

} // namespace

RouteDiscovery::RouteDiscovery(const config::ProxyConfig& bootstrap,
                               std::function<void(ConfigChange)> apply, stats::Store& store)
    : apply_(std::move(apply)),
      attempt_(store.counter("rds.update_attempt", {}, "RDS responses received")),
      success_(store.counter("rds.update_success", {}, "RDS responses accepted")),
      rejected_(store.counter("rds.update_rejected", {}, "RDS responses rejected (NACKed)")) {
  for (const auto& listener : bootstrap.listeners) {
    for (const auto& chain : listener.filterChains) {
      if (chain.http && !chain.http->rdsName.empty()) {
        staticNames_.insert(chain.http->rdsName);
      }
    }
    if (listener.defaultFilterChain && listener.defaultFilterChain->http &&
        !listener.defaultFilterChain->http->rdsName.empty()) {
      staticNames_.insert(listener.defaultFilterChain->http->rdsName);
    }
  }
  names_ = staticNames_;
  waitForListeners_ = bootstrap.xds && bootstrap.xds->lds;
}

void RouteDiscovery::setListenerNames(std::set<std::string> names) {
  names.insert(staticNames_.begin(), staticNames_.end());
  names_ = std::move(names);
  waitForListeners_ = false;
  if (client_ != nullptr && !names_.empty()) {
    client_->subscribe(kRouteType, names_);
  }
  checkInitialized();
}

void RouteDiscovery::start(AdsClient& client, std::function<void()> initialized) {
  initialized_ = std::move(initialized);
  client_ = &client;
  if (!names_.empty()) {
    client.subscribe(kRouteType, names_);
  }
  checkInitialized();
}

absl::Status RouteDiscovery::onResponse(const DiscoveryResponse& response) {
  attempt_.inc();
  std::map<std::string, std::shared_ptr<const router::RouteTable>> tables;
  std::map<std::string, google::protobuf::Any> held;
  for (int i = 0; i < response.resources_size(); ++i) {
    envoy::config::route::v3::RouteConfiguration proto;
    const std::string where =
        fmt::format("RDS version {} resources[{}]", response.version_info(), i);
    absl::Status status = response.resources(i).UnpackTo(&proto)
                              ? config::checkSupportedFields(proto, where)
                              : absl::InvalidArgumentError(where + ": not a RouteConfiguration");
    if (status.ok()) {
      auto table = router::RouteTable::build(proto, fmt::format("route '{}'", proto.name()));
      if (table.ok()) {
        tables[proto.name()] = std::move(*table);
        held[proto.name()] = response.resources(i);
      } else {
        status = table.status();
      }
    }
    if (!status.ok()) {
      rejected_.inc();
      held_.reject(response, std::string(status.message()));
      return status;
    }
  }
  success_.inc();
  held_.update(response, std::move(held));
  MESHD_LOG(logger(), info, "RDS version {}: {} route configuration(s)", response.version_info(),
            tables.size());
  apply_([tables = std::move(tables)](config::ProxyConfig& config) {
    for (const auto& [name, table] : tables) {
      config.routeTables[name] = table;
    }
  });
  checkInitialized();
  return absl::OkStatus();
}

void RouteDiscovery::checkInitialized() {
  if (!initialized_ || waitForListeners_) {
    return;
  }
  for (const auto& name : names_) {
    if (!held_.byName.contains(name)) {
      return;
    }
  }
  auto done = std::move(initialized_);
  initialized_ = nullptr;
  done();
}

} // namespace meshd::proxy::xds
