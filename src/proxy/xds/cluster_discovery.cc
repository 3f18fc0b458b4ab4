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
                                   std::function<void(ConfigChange)> apply, stats::Store& store,
                                   upstream::DnsClusterRefresher* dns)
    : apply_(std::move(apply)), cds_(bootstrap.xds && bootstrap.xds->cds),
      static_(bootstrap.clusters), dns_(dns) {
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

ClusterDiscovery::~ClusterDiscovery() {
  // The refresher outlives this: its callbacks for these clusters must not run any more.
  for (const auto& name : dnsResolving_) {
    dns_->remove(name);
  }
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
    if (upstream::isDnsCluster(cluster) && dns_ == nullptr) {
      return absl::InvalidArgumentError(
          fmt::format("cluster '{}': no DNS resolution for CDS clusters here", cluster.name));
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
  const std::set<std::string> restarted = updateDnsClusters(response, next);
  dynamic_ = next;
  cdsReceived_ = true;
  clustersHeld_.replaceAll(response, std::move(held));
  // As Envoy, an EDS cluster whose service has no assignment yet warms: it is not used (a
  // previous version of it serves on) until its endpoints arrive. Once the proxy is live, that
  // is; during start-up every cluster joins at once, as the listeners wait for all of them.
  // A DNS cluster warms until its first round of lookups ended, during start-up too (the
  // listeners wait for it, as Envoy's cluster initialization does).
  warming_ = dnsWarming_;
  std::map<std::string, config::ClusterConfig> ready;
  for (auto& [name, cluster] : next) {
    if (upstream::isDnsCluster(cluster)) {
      if (dnsWarming_.contains(name)) {
        continue;
      }
      cluster.hosts = dnsHosts_[name];
    } else if (onAds(cluster)) {
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
  updateWarmingGauge();
  MESHD_LOG(logger(), info,
            "CDS version {}: {} cluster(s) ({} warming, {} DNS resolution(s) started), {} removed",
            response.version_info(), next.size(), warming_.size(), restarted.size(),
            removed.size());
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
    if (dnsWarming_.contains(*it)) {
      ++it; // waits for DNS, not EDS
      continue;
    }
    const config::ClusterConfig& cluster = dynamic_.at(*it);
    if (const auto hosts = assignments_.find(cluster.edsServiceName); hosts != assignments_.end()) {
      config::ClusterConfig& ready = warmed[*it] = cluster;
      ready.hosts = hosts->second;
      it = warming_.erase(it);
    } else {
      ++it;
    }
  }
  updateWarmingGauge();
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

std::set<std::string>
ClusterDiscovery::updateDnsClusters(const DiscoveryResponse& response,
                                    const std::map<std::string, config::ClusterConfig>& next) {
  std::map<std::string, std::string> sources; // the serialized Cluster, to tell a change
  for (const auto& any : response.resources()) {
    envoy::config::cluster::v3::Cluster proto;
    if (any.UnpackTo(&proto)) {
      sources[proto.name()] = any.value();
    }
  }
  std::set<std::string> restarted;
  for (auto it = dnsResolving_.begin(); it != dnsResolving_.end();) {
    const auto kept = next.find(*it);
    const auto before = clustersHeld_.byName.find(*it);
    const bool unchanged = kept != next.end() && upstream::isDnsCluster(kept->second) &&
                           before != clustersHeld_.byName.end() &&
                           before->second.value() == sources[*it];
    if (unchanged) {
      ++it;
      continue;
    }
    dns_->remove(*it);
    dnsWarming_.erase(*it);
    dnsHosts_.erase(*it);
    it = dnsResolving_.erase(it);
  }
  for (const auto& [name, cluster] : next) {
    if (!upstream::isDnsCluster(cluster) || dnsResolving_.contains(name)) {
      continue;
    }
    const std::string clusterName = name;
    const absl::Status started = dns_->add(
        cluster,
        [this](const std::string& resolvedName, std::vector<config::HostConfig> hosts) {
          onDnsHosts(resolvedName, std::move(hosts));
        },
        [this, clusterName] { onDnsResolved(clusterName); });
    if (!started.ok()) {
      // Only a resolver address c-ares refuses gets here: the cluster never leaves warming.
      MESHD_LOG(logger(), err, "{}", started.message());
    }
    dnsResolving_.insert(name);
    dnsWarming_.insert(name);
    restarted.insert(name);
  }
  return restarted;
}

void ClusterDiscovery::onDnsHosts(const std::string& name, std::vector<config::HostConfig> hosts) {
  dnsHosts_[name] = hosts;
  if (dnsWarming_.contains(name)) {
    return; // joins with these hosts once resolved
  }
  apply_([&name, &hosts](config::ProxyConfig& config) {
    if (const auto found = config.clusters.find(name); found != config.clusters.end()) {
      found->second.hosts = hosts;
    }
  });
}

void ClusterDiscovery::onDnsResolved(const std::string& name) {
  if (dnsWarming_.erase(name) == 0) {
    return;
  }
  warming_.erase(name);
  updateWarmingGauge();
  config::ClusterConfig cluster = dynamic_.at(name);
  cluster.hosts = dnsHosts_[name];
  MESHD_LOG(logger(), info, "cluster '{}': resolved, {} host(s)", name, cluster.hosts.size());
  apply_([&cluster](config::ProxyConfig& config) { config.clusters[cluster.name] = cluster; });
  checkInitialized();
}

void ClusterDiscovery::updateWarmingGauge() {
  warmingGauge_.set(static_cast<int64_t>(warming_.size()));
}

void ClusterDiscovery::checkInitialized() {
  if (!initialized_ || (cds_ && !cdsReceived_) || !dnsWarming_.empty()) {
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
