// The endpoint generator (translator.h, docs/translation.md "Clusters and endpoints"): one
// ClusterLoadAssignment per EDS cluster, named by its service_name, with the registry's
// endpoints of the cluster's service port narrowed to its DestinationRule subset.
#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "control/translate/cluster_support.h"
#include "control/translate/translator.h"

namespace meshd::control::translate {

using envoy::config::cluster::v3::Cluster;
using envoy::config::endpoint::v3::ClusterLoadAssignment;

std::optional<OutboundKey> parseOutboundName(std::string_view name) {
  const std::vector<std::string> parts =
      absl::StrSplit(absl::string_view(name.data(), name.size()), absl::MaxSplits('|', 3));
  OutboundKey key;
  if (parts.size() != 4 || parts[0] != "outbound" || !absl::SimpleAtoi(parts[1], &key.port)) {
    return std::nullopt;
  }
  key.subset = parts[2];
  key.host = parts[3];
  return key;
}

std::optional<ClusterLoadAssignment> buildEndpoint(const model::MeshSnapshot& snapshot,
                                                   const ProxyContext& proxy,
                                                   const Cluster& cluster) {
  const std::string& name = cluster.eds_cluster_config().service_name().empty()
                                ? cluster.name()
                                : cluster.eds_cluster_config().service_name();
  const auto key = parseOutboundName(name);
  const registry::Service* service = key ? snapshot.registry().service(key->host) : nullptr;
  if (service == nullptr) {
    return std::nullopt;
  }
  const config::Labels* labels = nullptr;
  if (!key->subset.empty()) {
    const config::Subset* subset =
        findSubset(destinationRuleFor(snapshot, proxy, *service), key->subset);
    if (subset == nullptr) {
      return std::nullopt; // the cluster came from another snapshot
    }
    labels = &subset->labels;
  }
  ClusterLoadAssignment out;
  out.set_cluster_name(name);
  // The tlsMode metadata matters only to a cluster that matches on it (auto-mTLS).
  const bool tlsMode = !cluster.transport_socket_matches().empty();
  for (auto& group : localityLbEndpoints(
           snapshot.registry().endpoints(service->hostname, key->port), labels, tlsMode)) {
    *out.add_endpoints() = std::move(group);
  }
  return out;
}

std::vector<ClusterLoadAssignment> buildEndpoints(const model::MeshSnapshot& snapshot,
                                                  const ProxyContext& proxy,
                                                  const std::vector<Cluster>& clusters) {
  std::vector<ClusterLoadAssignment> out;
  for (const Cluster& cluster : clusters) {
    if (cluster.type() != Cluster::EDS) {
      continue;
    }
    if (auto assignment = buildEndpoint(snapshot, proxy, cluster)) {
      out.push_back(std::move(*assignment));
    }
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.cluster_name() < b.cluster_name(); });
  return out;
}

} // namespace meshd::control::translate
