// ClusterDiscovery (cluster_discovery.h).
#include "proxy/xds/cluster_discovery.h"

#include "core/logging.h"
#include "core/status.h"
#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "fmt/format.h"
#include "proxy/config/supported_fields.h"

namespace meshd::proxy::xds {
namespace {

spdlog::logger& logger() {
  static spdlog::logger& instance = log::get("xds");
  return instance;
}

bool onAds(const config::ClusterConfig& cluster) {
  return cluster.type == config::ClusterType::kEds && cluster.edsPath.empty();
}

// Unpacks and checks one resource of a response: the right type, every field supported.
template <class Message>
absl::Status unpack(const google::protobuf::Any& any, const std::string& where, Message& out) {
  if (!any.UnpackTo(&out)) {
    return absl::InvalidArgumentError(
        fmt::format("{}: not a {}", where, Message::descriptor()->full_name()));
  }
  return config::checkSupportedFields(out, where);
}

} // namespace

ClusterDiscovery::ClusterDiscovery(const config::ProxyConfig& bootstrap,
                                   std::function<void(ConfigChange)> apply, stats::Store& store)
    : apply_(std::move(apply)), cds_(bootstrap.xds && bootstrap.xds->cds),
      static_(bootstrap.clusters) {
  auto statsFor = [&](const char* type) {
    return Stats{
        store.counter(fmt::format("cluster_manager.{}.update_attempt", type), {},
                      "xDS responses received"),
        store.counter(fmt::format("cluster_manager.{}.update_success", type), {},
                      "xDS responses accepted"),
        store.counter(fmt::format("cluster_manager.{}.update_rejected", type), {},
                      "xDS responses rejected (NACKed)"),
    };
  };
  cdsStats_ = statsFor("cds");
  edsStats_ = statsFor("eds");
  connected_ = store.setGauge("control_plane.connected_state", {},
                              "1 while the ADS stream to the control plane is up");
  warmingGauge_ = store.setGauge("cluster_manager.warming_clusters", {},
                                 "CDS clusters waiting for their endpoints before use");
}

void ClusterDiscovery::start(AdsClient& client, std::function<void()> initialized) {
  client_ = &client;
  initialized_ = std::move(initialized);
  if (cds_) {
    client.subscribe(kClusterType, {}, /*wildcard=*/true);
  }
  if (const auto services = adsServices(); !services.empty()) {
    client.subscribe(kEndpointType, services);
  }
  checkInitialized();
}

void ClusterDiscovery::onConnected(bool connected) {
  connected_.set(connected ? 1 : 0);
}

absl::Status ClusterDiscovery::onResponse(const DiscoveryResponse& response) {
  const bool clusters = response.type_url() == kClusterType;
  Stats& stats = clusters ? cdsStats_ : edsStats_;
  stats.attempt.inc();
  absl::Status status = clusters ? applyClusters(response)
                        : response.type_url() == kEndpointType
                            ? applyAssignments(response)
                            : absl::InvalidArgumentError("type not subscribed");
  if (!status.ok()) {
    (clusters ? clustersHeld_ : endpointsHeld_).reject(response, std::string(status.message()));
  }
  (status.ok() ? stats.success : stats.rejected).inc();
  checkInitialized();
  return status;
}

absl::Status ClusterDiscovery::applyClusters(const DiscoveryResponse& response) {
  std::map<std::string, config::ClusterConfig> next;
  std::map<std::string, google::protobuf::Any> held;
  for (int i = 0; i < response.resources_size(); ++i) {
    envoy::config::cluster::v3::Cluster proto;
    const std::string where =
        fmt::format("CDS version {} resources[{}]", response.version_info(), i);
    RETURN_IF_ERROR(unpack(response.resources(i), where, proto));
    ASSIGN_OR_RETURN(config::ClusterConfig cluster,
                     config::buildCluster(proto, fmt::format("cluster '{}'", proto.name())));
    if (cluster.type == config::ClusterType::kStrictDns) {
      return absl::InvalidArgumentError(
          fmt::format("cluster '{}': STRICT_DNS is only supported in the bootstrap", cluster.name));
    }
    if (cluster.type == config::ClusterType::kEds && !cluster.edsPath.empty()) {
      return absl::InvalidArgumentError(fmt::format(
          "cluster '{}': EDS from a file is only supported in the bootstrap", cluster.name));
    }
    if (static_.contains(cluster.name)) {
      return absl::InvalidArgumentError(
          fmt::format("cluster '{}' is static: CDS may not replace it", cluster.name));
    }
    const std::string name = cluster.name;
    held[name] = response.resources(i);
    if (!next.emplace(name, std::move(cluster)).second) {
      return absl::InvalidArgumentError(fmt::format("cluster '{}' appears twice", name));
    }
  }
  // Accepted: clusters CDS no longer names go, the others are added or replaced, EDS ones with
  // the hosts already known for their service.
  std::vector<std::string> removed;
  for (const auto& [name, cluster] : dynamic_) {
    if (!next.contains(name)) {
      removed.push_back(name);
    }
  }
  dynamic_ = next;
  cdsReceived_ = true;
  clustersHeld_.replaceAll(response, std::move(held));
  // As Envoy, an EDS cluster whose service has no assignment yet warms: it is not used (a
  // previous version of it serves on) until its endpoints arrive. Once the proxy is live, that
  // is; during start-up every cluster joins at once, as the listeners wait for all of them.
  warming_.clear();
  std::map<std::string, config::ClusterConfig> ready;
  for (auto& [name, cluster] : next) {
    if (onAds(cluster)) {
      const auto hosts = assignments_.find(cluster.edsServiceName);
      if (hosts == assignments_.end() && initialized_ == nullptr) {
        warming_.insert(name);
        continue;
      }
      cluster.hosts =
          hosts == assignments_.end() ? std::vector<config::HostConfig>{} : hosts->second;
    }
    ready.emplace(name, std::move(cluster));
  }
  warmingGauge_.set(static_cast<int64_t>(warming_.size()));
  MESHD_LOG(logger(), info, "CDS version {}: {} cluster(s) ({} warming), {} removed",
            response.version_info(), next.size(), warming_.size(), removed.size());
  apply_([ready = std::move(ready), removed](config::ProxyConfig& config) {
    for (const auto& name : removed) {
      config.clusters.erase(name);
    }
    for (const auto& [name, cluster] : ready) {
      config.clusters[name] = cluster;
    }
  });
  client_->subscribe(kEndpointType, adsServices());
  return absl::OkStatus();
}

absl::Status ClusterDiscovery::applyAssignments(const DiscoveryResponse& response) {
  std::map<std::string, std::vector<config::HostConfig>> updated;
  std::map<std::string, google::protobuf::Any> held;
  for (int i = 0; i < response.resources_size(); ++i) {
    envoy::config::endpoint::v3::ClusterLoadAssignment assignment;
    const std::string where =
        fmt::format("EDS version {} resources[{}]", response.version_info(), i);
    RETURN_IF_ERROR(unpack(response.resources(i), where, assignment));
    ASSIGN_OR_RETURN(
        auto hosts,
        config::buildHosts(assignment, fmt::format("assignment '{}'", assignment.cluster_name())));
    updated[assignment.cluster_name()] = std::move(hosts);
    held[assignment.cluster_name()] = response.resources(i);
  }
  endpointsHeld_.update(response, std::move(held));
  for (const auto& [service, hosts] : updated) {
    assignments_[service] = hosts;
  }
  // Warming clusters whose endpoints came are ready now.
  std::map<std::string, config::ClusterConfig> warmed;
  for (auto it = warming_.begin(); it != warming_.end();) {
    const config::ClusterConfig& cluster = dynamic_.at(*it);
    if (const auto hosts = assignments_.find(cluster.edsServiceName); hosts != assignments_.end()) {
      config::ClusterConfig& ready = warmed[*it] = cluster;
      ready.hosts = hosts->second;
      it = warming_.erase(it);
    } else {
      ++it;
    }
  }
  warmingGauge_.set(static_cast<int64_t>(warming_.size()));
  apply_([updated = std::move(updated), warmed = std::move(warmed)](config::ProxyConfig& config) {
    for (const auto& [name, cluster] : warmed) {
      config.clusters[name] = cluster;
    }
    for (auto& [name, cluster] : config.clusters) {
      if (!onAds(cluster)) {
        continue;
      }
      if (const auto found = updated.find(cluster.edsServiceName); found != updated.end()) {
        cluster.hosts = found->second;
      }
    }
  });
  return absl::OkStatus();
}

std::set<std::string> ClusterDiscovery::adsServices() const {
  std::set<std::string> out;
  for (const auto* clusters : {&static_, &dynamic_}) {
    for (const auto& [name, cluster] : *clusters) {
      if (onAds(cluster)) {
        out.insert(cluster.edsServiceName);
      }
    }
  }
  return out;
}

void ClusterDiscovery::checkInitialized() {
  if (!initialized_ || (cds_ && !cdsReceived_)) {
    return;
  }
  for (const auto& service : adsServices()) {
    if (!assignments_.contains(service)) {
      return;
    }
  }
  auto done = std::move(initialized_);
  initialized_ = nullptr;
  done();
}

} // namespace meshd::proxy::xds
