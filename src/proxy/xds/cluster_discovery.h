// CDS and EDS over ADS: the clusters the control plane sends join the bootstrap's static ones
// (which CDS may not replace), and the EDS clusters whose eds_config says `ads` get their hosts
// from ClusterLoadAssignments, asked for by service name as clusters come and go. A response is
// validated whole, as strictly as a bootstrap: one bad resource rejects it (NACK) and the
// previous config stays. An accepted one is handed to the owner as a change to the config,
// which rebuilds the runtime: in-flight requests finish where they are. STRICT_DNS and
// LOGICAL_DNS clusters are resolved by the DnsClusterRefresher from their arrival, and warm
// until their first round of lookups ended; the resolution of a removed or changed cluster is
// stopped. Main thread only.
#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/stats/store.h"
#include "proxy/config/proxy_config.h"
#include "proxy/upstream/dns_cluster_refresher.h"
#include "proxy/xds/accepted_resources.h"
#include "proxy/xds/ads_client.h"

namespace meshd::proxy::xds {

inline constexpr const char* kClusterType = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
inline constexpr const char* kEndpointType =
    "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";

class ClusterDiscovery : public AdsClient::Handler {
public:
  using ConfigChange = std::function<void(config::ProxyConfig&)>;

  // `dns` resolves the DNS clusters of CDS (null: they are rejected); it must outlive this.
  ClusterDiscovery(const config::ProxyConfig& bootstrap, std::function<void(ConfigChange)> apply,
                   stats::Store& store, upstream::DnsClusterRefresher* dns = nullptr);
  ~ClusterDiscovery() override;

  // Subscribes (CDS as a wildcard; EDS for the static clusters on ADS). `initialized` runs once,
  // when CDS and the assignments of every ADS EDS cluster have arrived, and every DNS cluster of
  // CDS had its first answer.
  void start(AdsClient& client, std::function<void()> initialized);

  absl::Status onResponse(const DiscoveryResponse& response) override;
  void onConnected(bool connected) override;

  const AcceptedResources& clusters() const { return clustersHeld_; }
  const AcceptedResources& endpoints() const { return endpointsHeld_; }
  // CDS clusters accepted but not in use yet: their endpoints have not arrived, or their names
  // not resolved.
  const std::set<std::string>& warmingClusters() const { return warming_; }

private:
  absl::Status applyClusters(const DiscoveryResponse& response);
  absl::Status applyAssignments(const DiscoveryResponse& response);
  // EDS services of the ADS EDS clusters, static and dynamic.
  std::set<std::string> adsServices() const;
  void checkInitialized();
  // DNS clusters: stops resolving the ones gone or changed, starts the new and changed ones.
  // Returns the names of `next` whose resolution (re)started.
  std::set<std::string> updateDnsClusters(const DiscoveryResponse& response,
                                          const std::map<std::string, config::ClusterConfig>& next);
  void onDnsHosts(const std::string& name, std::vector<config::HostConfig> hosts);
  void onDnsResolved(const std::string& name);
  void updateWarmingGauge();

  std::function<void(ConfigChange)> apply_;
  AdsClient* client_ = nullptr;
  bool cds_ = false;
  std::map<std::string, config::ClusterConfig> static_;
  std::map<std::string, config::ClusterConfig> dynamic_; // from CDS, hosts not filled in
  std::set<std::string> warming_;                        // of dynamic_
  upstream::DnsClusterRefresher* dns_ = nullptr;
  std::set<std::string> dnsResolving_; // DNS clusters of dynamic_ handed to dns_
  std::set<std::string> dnsWarming_;   // of dnsResolving_: no answer yet
  std::map<std::string, std::vector<config::HostConfig>> dnsHosts_;    // the latest, by cluster
  std::map<std::string, std::vector<config::HostConfig>> assignments_; // by service name
  bool cdsReceived_ = false;
  AcceptedResources clustersHeld_;
  AcceptedResources endpointsHeld_;
  std::function<void()> initialized_;
  struct Stats {
    stats::Counter attempt;
    stats::Counter success;
    stats::Counter rejected;
  };
  Stats cdsStats_;
  Stats edsStats_;
  stats::SetGauge connected_;
  stats::SetGauge warmingGauge_;
};

} // namespace meshd::proxy::xds
