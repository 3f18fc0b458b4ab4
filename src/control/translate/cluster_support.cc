// Helpers shared by the cluster and endpoint generators (cluster_support.h).
#include "control/translate/cluster_support.h"

#include <map>
#include <set>
#include <string>

#include "absl/strings/str_split.h"
#include "control/config/host_names.h"
#include "fmt/format.h"

namespace meshd::control::translate {
namespace {

using envoy::config::endpoint::v3::LbEndpoint;
using envoy::config::endpoint::v3::LocalityLbEndpoints;

LbEndpoint lbEndpointOf(const registry::ServiceEndpoint& endpoint, bool tlsModeMetadata) {
  LbEndpoint out;
  auto* socket = out.mutable_endpoint()->mutable_address()->mutable_socket_address();
  if (endpoint.addressKind == registry::AddressKind::kUnixSocket) {
    std::string_view path = endpoint.address;
    if (path.starts_with("unix://")) {
      path.remove_prefix(7);
    }
    out.mutable_endpoint()->mutable_address()->mutable_pipe()->set_path(std::string(path));
  } else {
    socket->set_address(endpoint.address);
    socket->set_port_value(endpoint.port);
  }
  out.mutable_load_balancing_weight()->set_value(endpoint.weight == 0 ? 1 : endpoint.weight);
  out.set_health_status(endpoint.healthy ? envoy::config::core::v3::HEALTHY
                                         : envoy::config::core::v3::UNHEALTHY);
  if (tlsModeMetadata && endpoint.tlsMode == registry::kTlsModeIstio) {
    auto& match =
        (*out.mutable_metadata()->mutable_filter_metadata())[std::string(kTransportSocketMatchKey)];
    (*match.mutable_fields())[std::string(kTlsModeKey)].set_string_value(
        std::string(registry::kTlsModeIstio));
  }
  return out;
}

void setLocality(std::string_view locality, envoy::config::core::v3::Locality& out) {
  const std::vector<std::string> parts =
      absl::StrSplit(absl::string_view(locality.data(), locality.size()), absl::MaxSplits('/', 2));
  out.set_region(parts.size() > 0 ? parts[0] : "");
  out.set_zone(parts.size() > 1 ? parts[1] : "");
  out.set_sub_zone(parts.size() > 2 ? parts[2] : "");
}

} // namespace

bool egressHostSelects(std::string_view egressHost, std::string_view proxyNs,
                       const registry::Service& service) {
  const size_t slash = egressHost.find('/');
  if (slash == std::string_view::npos) {
    return false; // validation requires "ns/host"
  }
  const std::string_view ns = egressHost.substr(0, slash);
  const std::string_view host = egressHost.substr(slash + 1);
  const bool nsMatches = ns == "*" || (ns == "." && service.ns == proxyNs) || ns == service.ns;
  return nsMatches && ns != "~" && config::hostCovers(host, service.hostname);
}

std::vector<const registry::Service*> outboundServices(const model::MeshSnapshot& snapshot,
                                                       const ProxyContext& proxy) {
  std::vector<const registry::Service*> visible = snapshot.registry().servicesVisibleFrom(proxy.ns);
  const auto* sidecar = proxy.type == ProxyContext::Type::kSidecar
                            ? snapshot.sidecarFor(proxy.ns, proxy.labels)
                            : nullptr;
  if (sidecar == nullptr || sidecar->spec.egress.empty()) {
    return visible;
  }
  std::vector<const registry::Service*> out;
  for (const registry::Service* service : visible) {
    bool selected = false;
    for (const config::SidecarEgressListener& egress : sidecar->spec.egress) {
      for (const std::string& host : egress.hosts) {
        selected = selected || egressHostSelects(host, proxy.ns, *service);
      }
    }
    if (selected) {
      out.push_back(service);
    }
  }
  return out;
}

std::vector<std::string> serviceAccounts(const model::MeshSnapshot& snapshot,
                                         const registry::Service& service) {
  std::set<std::string> out(service.subjectAltNames.begin(), service.subjectAltNames.end());
  for (const registry::ServiceEndpoint& endpoint :
       snapshot.registry().endpoints(service.hostname)) {
    if (!endpoint.serviceAccount.empty()) {
      out.insert(fmt::format("spiffe://{}/ns/{}/sa/{}", snapshot.mesh().trustDomain,
                             endpoint.workloadNamespace, endpoint.serviceAccount));
    }
  }
  return {out.begin(), out.end()};
}

const config::DestinationRule* destinationRuleFor(const model::MeshSnapshot& snapshot,
                                                  const ProxyContext& proxy,
                                                  const registry::Service& service) {
  const auto* entry = snapshot.destinationRuleFor(service.hostname, proxy.ns, service.ns);
  return entry == nullptr ? nullptr : &entry->spec;
}

const config::Subset* findSubset(const config::DestinationRule* rule, std::string_view name) {
  if (rule == nullptr) {
    return nullptr;
  }
  for (const config::Subset& subset : rule->subsets) {
    if (subset.name == name) {
      return &subset;
    }
  }
  return nullptr;
}

std::vector<LocalityLbEndpoints>
localityLbEndpoints(std::span<const registry::ServiceEndpoint> endpoints,
                    const config::Labels* subsetLabels, bool tlsModeMetadata) {
  // Registry order (address, port, workload) within each locality; localities sorted.
  std::map<std::string, LocalityLbEndpoints> byLocality;
  for (const registry::ServiceEndpoint& endpoint : endpoints) {
    if (subsetLabels != nullptr && !model::labelsMatch(*subsetLabels, endpoint.labels)) {
      continue;
    }
    LocalityLbEndpoints& group = byLocality[endpoint.locality];
    // Always present, empty when unknown (as Istio): gRPC clients reject a group without one.
    if (group.lb_endpoints().empty()) {
      setLocality(endpoint.locality, *group.mutable_locality());
    }
    LbEndpoint& added = *group.add_lb_endpoints() = lbEndpointOf(endpoint, tlsModeMetadata);
    group.mutable_load_balancing_weight()->set_value(group.load_balancing_weight().value() +
                                                     added.load_balancing_weight().value());
  }
  std::vector<LocalityLbEndpoints> out;
  for (auto& [locality, group] : byLocality) {
    out.push_back(std::move(group));
  }
  return out;
}

google::protobuf::Duration toProtoDuration(std::chrono::nanoseconds duration) {
  google::protobuf::Duration out;
  out.set_seconds(duration.count() / 1'000'000'000);
  out.set_nanos(static_cast<int32_t>(duration.count() % 1'000'000'000));
  return out;
}

} // namespace meshd::control::translate
