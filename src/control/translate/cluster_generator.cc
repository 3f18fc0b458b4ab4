// The cluster generator (translator.h, docs/translation.md "Clusters and endpoints"), after
// Istio's pilot/pkg/networking/core/cluster*.go: outbound clusters per visible service port and
// DestinationRule subset, inbound clusters for the proxy's own workload, and the special
// BlackHole/Passthrough clusters. Traffic policies are applied by cluster_policy.cc.
#include <algorithm>
#include <set>

#include "absl/strings/numbers.h"
#include "control/config/host_names.h"
#include "control/translate/cluster_policy.h"
#include "control/translate/cluster_support.h"
#include "control/translate/names.h"
#include "control/translate/translator.h"
#include "fmt/format.h"

namespace meshd::control::translate {
namespace {

using envoy::config::cluster::v3::Cluster;
using registry::Resolution;
using registry::Service;
using registry::ServicePort;

// Istio's BuildDNSSrvSubsetKey: the SNI of Istio mutual TLS.
std::string istioSni(uint32_t port, std::string_view subset, std::string_view host) {
  return fmt::format("outbound_.{}_.{}_.{}", port, subset, host);
}

std::optional<Cluster::DiscoveryType> discoveryType(Resolution resolution) {
  switch (resolution) {
  case Resolution::kClientSideLb: return Cluster::EDS;
  case Resolution::kDns: return Cluster::STRICT_DNS;
  case Resolution::kDnsRoundRobin: return Cluster::LOGICAL_DNS;
  case Resolution::kPassthrough: return Cluster::ORIGINAL_DST;
  case Resolution::kDynamicDns: return std::nullopt; // Istio: a dynamic forward proxy cluster
  }
  return std::nullopt;
}

void setEdsConfig(Cluster& cluster) {
  auto* eds = cluster.mutable_eds_cluster_config();
  eds->set_service_name(cluster.name());
  eds->mutable_eds_config()->mutable_ads();
  eds->mutable_eds_config()->set_resource_api_version(envoy::config::core::v3::V3);
}

// DNS clusters: the lookup family from the proxy's addresses, the mesh's refresh rate and the
// answers' TTL.
void setDnsOptions(const model::MeshSnapshot& snapshot, const ProxyContext& proxy,
                   Cluster& cluster) {
  const bool allV6 = !proxy.ips.empty() &&
                     std::all_of(proxy.ips.begin(), proxy.ips.end(),
                                 [](const auto& ip) { return ip.find(':') != std::string::npos; });
  cluster.set_dns_lookup_family(allV6 ? Cluster::V6_ONLY : Cluster::V4_ONLY);
  *cluster.mutable_dns_refresh_rate() = toProtoDuration(snapshot.mesh().dnsRefreshRate);
  cluster.set_respect_dns_ttl(true);
}

struct OutboundPort {
  const Service& service;
  const ServicePort& port;
  const config::DestinationRule* rule;
  Cluster::DiscoveryType type;
};

// One outbound cluster (the service's, or a subset's when `subset` is set); nullopt for a DNS
// cluster without endpoints (Istio leaves those out).
std::optional<Cluster> outboundCluster(const model::MeshSnapshot& snapshot,
                                       const ProxyContext& proxy, const OutboundPort& out,
                                       const config::Subset* subset) {
  const std::string subsetName = subset == nullptr ? "" : subset->name;
  ClusterDraft draft;
  Cluster& cluster = draft.cluster;
  cluster.set_name(outboundClusterName(out.port.number, subsetName, out.service.hostname));
  cluster.set_type(out.type);
  if (out.type == Cluster::STRICT_DNS || out.type == Cluster::LOGICAL_DNS) {
    setDnsOptions(snapshot, proxy, cluster);
    auto* assignment = cluster.mutable_load_assignment();
    assignment->set_cluster_name(cluster.name());
    for (auto& group :
         localityLbEndpoints(snapshot.registry().endpoints(out.service.hostname, out.port.number),
                             subset == nullptr ? nullptr : &subset->labels, false)) {
      *assignment->add_endpoints() = std::move(group);
    }
    if (assignment->endpoints().empty()) {
      return std::nullopt;
    }
  }
  const auto& rulePolicy = out.rule == nullptr ? std::nullopt : out.rule->trafficPolicy;
  const auto policy = mergeSubsetPolicy(
      rulePolicy, subset == nullptr ? std::nullopt : subset->trafficPolicy, out.port.number);
  PolicyTarget target;
  target.sidecar = proxy.type == ProxyContext::Type::kSidecar;
  target.protocol = out.port.protocol;
  target.autoMtls = snapshot.mesh().enableAutoMtls &&
                    proxy.type != ProxyContext::Type::kProxylessGrpc &&
                    out.service.location == registry::Location::kMeshInternal;
  target.istioSni = istioSni(out.port.number, subsetName, out.service.hostname);
  target.serviceAccounts = serviceAccounts(snapshot, out.service);
  applyTrafficPolicy(policy, snapshot.mesh(), target, draft);
  if (cluster.type() == Cluster::EDS) { // after the policy: PASSTHROUGH changes the type
    setEdsConfig(cluster);
  }
  return std::move(draft).finish();
}

void addOutboundClusters(const model::MeshSnapshot& snapshot, const ProxyContext& proxy,
                         std::vector<Cluster>& clusters) {
  const bool proxyless = proxy.type == ProxyContext::Type::kProxylessGrpc;
  for (const Service* service : outboundServices(snapshot, proxy)) {
    const auto type = discoveryType(service->resolution);
    if (!type || (proxyless && *type != Cluster::EDS)) {
      continue;
    }
    const config::DestinationRule* rule = destinationRuleFor(snapshot, proxy, *service);
    for (const ServicePort& port : service->ports) {
      if (port.protocol == config::Protocol::kUdp ||
          (proxyless && port.protocol != config::Protocol::kGrpc)) {
        continue;
      }
      const OutboundPort out{*service, port, rule, *type};
      if (auto cluster = outboundCluster(snapshot, proxy, out, nullptr)) {
        clusters.push_back(std::move(*cluster));
      }
      for (const config::Subset& subset :
           rule == nullptr ? std::vector<config::Subset>{} : rule->subsets) {
        if (auto cluster = outboundCluster(snapshot, proxy, out, &subset)) {
          clusters.push_back(std::move(*cluster));
        }
      }
    }
  }
}

// --- inbound ------------------------------------------------------------------------------

const registry::WorkloadInstance* proxyInstance(const model::MeshSnapshot& snapshot,
                                                const ProxyContext& proxy) {
  for (const auto& [id, instance] : snapshot.registry().instances()) {
    if (instance.ns != proxy.ns) {
      continue;
    }
    const bool named = (!proxy.podName.empty() && instance.name == proxy.podName) ||
                       (!proxy.workloadName.empty() && instance.name == proxy.workloadName);
    const bool addressed =
        std::find(proxy.ips.begin(), proxy.ips.end(), instance.address) != proxy.ips.end();
    if (named || addressed) {
      return &instance;
    }
  }
  return nullptr;
}

// Where the application listens: the instance's own address (a loopback address of its own in
// local mode, the pod address in netns mode), else the loopback address.
std::string appAddress(const registry::WorkloadInstance* instance, const ProxyContext& proxy) {
  if (!proxy.appAddress.empty()) {
    return proxy.appAddress;
  }
  if (instance != nullptr && config::isIpAddress(instance->address)) {
    return instance->address;
  }
  if (!proxy.ips.empty() && config::isIpAddress(proxy.ips.front())) {
    return proxy.ips.front();
  }
  return "127.0.0.1";
}

struct InboundTarget {
  uint32_t clusterPort = 0;
  std::string address; // IP, or "unix://path"
  uint32_t port = 0;
  config::Protocol protocol = config::Protocol::kUnspecified;
  std::optional<config::TrafficPolicy> policy; // only its connectionPool applies
};

Cluster inboundCluster(const model::MeshSnapshot& snapshot, const InboundTarget& in) {
  ClusterDraft draft;
  Cluster& cluster = draft.cluster;
  cluster.set_name(inboundClusterName(in.clusterPort));
  cluster.set_type(Cluster::STATIC);
  auto* assignment = cluster.mutable_load_assignment();
  assignment->set_cluster_name(cluster.name());
  auto* address =
      assignment->add_endpoints()->add_lb_endpoints()->mutable_endpoint()->mutable_address();
  if (in.address.starts_with("unix://")) {
    address->mutable_pipe()->set_path(in.address.substr(7));
  } else {
    address->mutable_socket_address()->set_address(in.address);
    address->mutable_socket_address()->set_port_value(in.port);
  }
  PolicyTarget target;
  target.outbound = false;
  target.protocol = in.protocol;
  applyTrafficPolicy(in.policy, snapshot.mesh(), target, draft);
  return std::move(draft).finish();
}

// The Sidecar's connection pool for inbound `port` (Istio's InboundConnectionPoolForPort).
const std::optional<config::ConnectionPoolSettings>*
sidecarInboundPool(const config::Sidecar* sidecar, uint32_t port) {
  if (sidecar == nullptr) {
    return nullptr;
  }
  for (const config::SidecarIngressListener& ingress : sidecar->ingress) {
    if (ingress.port.number == port && ingress.connectionPool) {
      return &ingress.connectionPool;
    }
  }
  return sidecar->inboundConnectionPool ? &sidecar->inboundConnectionPool : nullptr;
}

void overridePool(const config::Sidecar* sidecar, InboundTarget& in) {
  if (const auto* pool = sidecarInboundPool(sidecar, in.clusterPort)) {
    if (!in.policy) {
      in.policy.emplace();
    }
    in.policy->connectionPool = *pool;
  }
}

// From the Sidecar's ingress listeners: defaultEndpoint "127.0.0.1:P", "[::1]:P", "0.0.0.0:P"
// (the instance's address) or "unix://path"; none: the instance's address at the port.
InboundTarget ingressTarget(const config::SidecarIngressListener& ingress,
                            const std::string& instanceAddress) {
  InboundTarget in;
  in.clusterPort = ingress.port.number;
  in.protocol = ingress.port.protocol;
  in.address = instanceAddress;
  in.port = ingress.port.number;
  const std::string& endpoint = ingress.defaultEndpoint;
  if (endpoint.starts_with("unix://")) {
    in.address = endpoint;
  } else if (const size_t colon = endpoint.rfind(':'); colon != std::string::npos) {
    std::string host = endpoint.substr(0, colon);
    if (host.size() > 1 && host.front() == '[') {
      host = host.substr(1, host.size() - 2);
    }
    in.address = host == "0.0.0.0" || host == "::" ? instanceAddress : host;
    uint32_t port = 0;
    if (absl::SimpleAtoi(endpoint.substr(colon + 1), &port)) {
      in.port = port;
    }
  }
  return in;
}

void addInboundClusters(const model::MeshSnapshot& snapshot, const ProxyContext& proxy,
                        std::vector<Cluster>& clusters) {
  const registry::WorkloadInstance* instance = proxyInstance(snapshot, proxy);
  const std::string address = appAddress(instance, proxy);
  const auto* sidecarEntry = snapshot.sidecarFor(proxy.ns, proxy.labels);
  const config::Sidecar* sidecar = sidecarEntry == nullptr ? nullptr : &sidecarEntry->spec;
  std::set<uint32_t> done;
  if (sidecar != nullptr && !sidecar->ingress.empty()) {
    for (const config::SidecarIngressListener& ingress : sidecar->ingress) {
      InboundTarget in = ingressTarget(ingress, address);
      overridePool(sidecar, in);
      if (done.insert(in.clusterPort).second) {
        clusters.push_back(inboundCluster(snapshot, in));
      }
    }
    return;
  }
  if (instance == nullptr) {
    return;
  }
  for (const Service* service : snapshot.registry().servicesOf(*instance)) {
    const config::DestinationRule* rule = destinationRuleFor(snapshot, proxy, *service);
    for (const ServicePort& port : service->ports) {
      for (const registry::ServiceEndpoint& endpoint :
           snapshot.registry().endpoints(service->hostname, port.number)) {
        if (endpoint.workloadName != instance->name || endpoint.workloadNamespace != instance->ns ||
            !done.insert(endpoint.port).second) {
          continue;
        }
        InboundTarget in{endpoint.port, address, endpoint.port, port.protocol, std::nullopt};
        if (rule != nullptr) {
          in.policy = portTrafficPolicy(rule->trafficPolicy, port.number);
        }
        overridePool(sidecar, in);
        clusters.push_back(inboundCluster(snapshot, in));
      }
    }
  }
}

// --- special clusters ---------------------------------------------------------------------

Cluster blackHoleCluster(const model::MeshConfig& mesh) {
  Cluster out;
  out.set_name(std::string(kBlackHoleCluster));
  out.set_type(Cluster::STATIC);
  *out.mutable_connect_timeout() = toProtoDuration(mesh.connectTimeout);
  out.set_lb_policy(Cluster::ROUND_ROBIN);
  return out;
}

// Istio's buildDefaultPassthroughCluster: original destination, the client's HTTP version, idle
// upstream connections closed after five minutes, default circuit breakers.
Cluster passthroughCluster(const model::MeshConfig& mesh, std::string_view name) {
  ClusterDraft draft;
  draft.cluster.set_name(std::string(name));
  draft.cluster.set_type(Cluster::ORIGINAL_DST);
  PolicyTarget target;
  target.outbound = false; // no outlier detection, LB or TLS
  applyTrafficPolicy(std::nullopt, mesh, target, draft);
  *draft.httpOptions().mutable_common_http_protocol_options()->mutable_idle_timeout() =
      toProtoDuration(std::chrono::minutes(5));
  return std::move(draft).finish();
}

} // namespace

std::vector<Cluster> buildClusters(const model::MeshSnapshot& snapshot, const ProxyContext& proxy) {
  std::vector<Cluster> clusters;
  addOutboundClusters(snapshot, proxy, clusters);
  if (proxy.type == ProxyContext::Type::kProxylessGrpc) {
    // gRPC clients balance by the cluster's lb_policy only among round robin and ring hash (a
    // LEAST_REQUEST cluster fails their picks: "unsupported lb_policy"), so Istio's default
    // becomes round robin for them.
    for (Cluster& cluster : clusters) {
      if (cluster.lb_policy() == Cluster::LEAST_REQUEST) {
        cluster.set_lb_policy(Cluster::ROUND_ROBIN);
        cluster.clear_least_request_lb_config();
      }
    }
  } else {
    clusters.push_back(blackHoleCluster(snapshot.mesh()));
    clusters.push_back(passthroughCluster(snapshot.mesh(), kPassthroughCluster));
  }
  if (proxy.type == ProxyContext::Type::kSidecar) {
    addInboundClusters(snapshot, proxy, clusters);
    // Istio binds it to 127.0.0.6 so iptables lets it through; not needed without capture.
    clusters.push_back(passthroughCluster(snapshot.mesh(), kInboundPassthroughCluster));
  }
  std::stable_sort(clusters.begin(), clusters.end(),
                   [](const Cluster& a, const Cluster& b) { return a.name() < b.name(); });
  // Istio keeps the first of clusters with the same name.
  clusters.erase(
      std::unique(clusters.begin(), clusters.end(),
                  [](const Cluster& a, const Cluster& b) { return a.name() == b.name(); }),
      clusters.end());
  return clusters;
}

} // namespace meshd::control::translate
