// Services from Kubernetes Services and ServiceEntries, and which one wins a hostname (catalog.h).
#include "control/registry/catalog.h"

#include <algorithm>
#include <optional>
#include <tuple>

#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "control/config/host_names.h"
#include "control/config/kube/service.h"
#include "control/config/networking/service_entry.h"
#include "control/config/networking/workload_entry.h"
#include "control/registry/endpoints.h"
#include "control/registry/instances.h"
#include "control/registry/protocol.h"
#include "fmt/format.h"

namespace meshd::control::registry {
namespace {

// The annotation with which a Kubernetes Service sets its exportTo (comma-separated).
constexpr std::string_view kExportToAnnotation = "networking.istio.io/exportTo";

// A service some object defines, before duplicates are settled.
struct Candidate {
  ServiceRecord record;
  const config::ConfigObject* object = nullptr;
  std::string pointer; // where the hostname comes from, for the duplicate warning
};

std::string creationTimestampOf(const config::ConfigObject& object) {
  auto metadata = object.json.find("metadata");
  if (metadata == object.json.end() || !metadata->is_object()) {
    return "";
  }
  auto it = metadata->find("creationTimestamp");
  return it != metadata->end() && it->is_string() ? it->get<std::string>() : "";
}

std::vector<std::string> exportToAnnotation(const config::ObjectMeta& meta) {
  auto it = meta.annotations.find(std::string(kExportToAnnotation));
  if (it == meta.annotations.end()) {
    return {"*"};
  }
  std::vector<std::string> out;
  for (absl::string_view part : absl::StrSplit(it->second, ',', absl::SkipWhitespace())) {
    out.emplace_back(absl::StripAsciiWhitespace(part));
  }
  return out.empty() ? std::vector<std::string>{"*"} : out;
}

Candidate fromKubeService(const config::KubeService& kube, const config::ConfigObject& object) {
  Candidate candidate{{}, &object, "/metadata/name"};
  ServiceRecord& record = candidate.record;
  Service& service = record.service;
  service.hostname = fmt::format("{}.{}.{}", kube.meta.name, kube.meta.ns, config::kDomainSuffix);
  service.ns = kube.meta.ns;
  service.owner = object.key;
  service.creationTimestamp = creationTimestampOf(object);
  service.exportTo = exportToAnnotation(kube.meta);
  for (const config::KubeServicePort& port : kube.ports) {
    service.ports.push_back({port.name, port.port, kubePortProtocol(port),
                             config::KubeService::numericTargetPort(port), port.targetPortName});
  }
  if (kube.type == config::KubeService::Type::kExternalName) {
    // As Istio: a DNS service of the external name, outside the mesh, on the service's ports.
    service.resolution = Resolution::kDns;
    service.location = Location::kMeshExternal;
    service.externalName = kube.externalName;
    for (const ServicePort& port : service.ports) {
      WorkloadInstance target;
      target.name = kube.meta.name;
      target.ns = kube.meta.ns;
      target.address = kube.externalName;
      target.kind = InstanceKind::kWorkloadEntry;
      record.fixedEndpoints.push_back(endpointOf(target, port, port.number));
    }
    return candidate;
  }
  if (kube.clusterIP == "None") {
    service.resolution = Resolution::kPassthrough; // headless: clients reach instances directly
  } else if (!kube.clusterIP.empty()) {
    service.addresses.push_back(kube.clusterIP);
  }
  if (!kube.selector.empty()) {
    record.selects = ServiceRecord::Selects::kKubeSelector;
    record.selector = kube.selector;
  }
  return candidate;
}

Resolution resolutionOf(config::ServiceEntry::Resolution resolution) {
  using SeResolution = config::ServiceEntry::Resolution;
  switch (resolution) {
  case SeResolution::kNone: return Resolution::kPassthrough;
  case SeResolution::kStatic: return Resolution::kClientSideLb;
  case SeResolution::kDns: return Resolution::kDns;
  case SeResolution::kDnsRoundRobin: return Resolution::kDnsRoundRobin;
  case SeResolution::kDynamicDns: return Resolution::kDynamicDns;
  }
  return Resolution::kPassthrough;
}

// The endpoints a ServiceEntry lists, or for DNS without any, its host itself.
std::vector<ServiceEndpoint> entryEndpoints(const config::ServiceEntry& entry,
                                            const Service& service) {
  std::vector<ServiceEndpoint> out;
  const bool dns =
      service.resolution == Resolution::kDns || service.resolution == Resolution::kDnsRoundRobin;
  if (service.resolution == Resolution::kPassthrough ||
      service.resolution == Resolution::kDynamicDns) {
    return out;
  }
  std::vector<config::WorkloadEntry> listed = entry.endpoints;
  if (listed.empty() && dns && !entry.workloadSelector && !service.hostname.starts_with("*")) {
    listed.push_back(config::WorkloadEntry{.address = service.hostname});
  }
  for (const config::WorkloadEntry& listedEntry : listed) {
    if (listedEntry.address.empty()) {
      continue; // reachable only through a network gateway: not supported
    }
    const WorkloadInstance instance =
        instanceOf(config::WorkloadEntryObject{entry.meta, listedEntry});
    for (const ServicePort& port : service.ports) {
      out.push_back(endpointOf(instance, port, *workloadPort(false, port, instance)));
    }
  }
  return out;
}

std::vector<Candidate> fromServiceEntry(const config::ServiceEntry& entry,
                                        const config::ConfigObject& object) {
  std::vector<Candidate> out;
  for (size_t i = 0; i < entry.hosts.size(); ++i) {
    Candidate candidate{{}, &object, fmt::format("/spec/hosts/{}", i)};
    ServiceRecord& record = candidate.record;
    Service& service = record.service;
    service.hostname = config::resolveShortHost(entry.hosts[i], entry.meta.ns);
    service.ns = entry.meta.ns;
    service.owner = object.key;
    service.creationTimestamp = creationTimestampOf(object);
    for (const config::ServiceEntryPort& port : entry.ports) {
      service.ports.push_back({port.name, port.number, port.protocol, port.targetPort, ""});
    }
    service.addresses = entry.addresses;
    service.resolution = resolutionOf(entry.resolution);
    service.location = entry.location == config::ServiceEntry::Location::kMeshInternal
                           ? Location::kMeshInternal
                           : Location::kMeshExternal;
    if (!entry.exportTo.empty()) {
      service.exportTo = entry.exportTo;
    }
    service.subjectAltNames = entry.subjectAltNames;
    if (entry.workloadSelector) {
      record.selects = ServiceRecord::Selects::kWorkloadSelector;
      record.selector = *entry.workloadSelector;
    }
    record.fixedEndpoints = entryEndpoints(entry, service);
    out.push_back(std::move(candidate));
  }
  return out;
}

// Istio's order for services that share a hostname: the oldest first (objects without a
// creation time after those with one), then by namespace and name.
bool precedes(const Candidate& a, const Candidate& b) {
  const Service& x = a.record.service;
  const Service& y = b.record.service;
  auto key = [](const Service& s) {
    return std::make_tuple(s.creationTimestamp.empty(), std::cref(s.creationTimestamp),
                           std::cref(s.owner.ns), std::cref(s.owner.name), std::cref(s.owner.kind));
  };
  return key(x) < key(y);
}

config::Diagnostic duplicateWarning(const Candidate& winner, const Candidate& loser) {
  const Service& won = winner.record.service;
  const Service& lost = loser.record.service;
  const bool older =
      !won.creationTimestamp.empty() && won.creationTimestamp != lost.creationTimestamp;
  return config::warningAt(
      *loser.object, loser.pointer,
      fmt::format("host '{}' is also defined by {}, which takes precedence ({}); this "
                  "definition is ignored",
                  lost.hostname, won.owner.toString(),
                  older ? "created earlier" : "first by namespace and name"));
}

void addCandidates(const config::ConfigObject& object, std::vector<Candidate>& candidates,
                   Catalog& catalog, std::vector<config::Diagnostic>& diagnostics) {
  const std::string& kind = object.key.kind;
  if (kind == "Service") {
    if (auto kube = config::parseKubeService(object, diagnostics)) {
      candidates.push_back(fromKubeService(*kube, object));
    }
  } else if (kind == "ServiceEntry") {
    if (auto entry = config::parseServiceEntry(object, diagnostics)) {
      for (Candidate& candidate : fromServiceEntry(*entry, object)) {
        candidates.push_back(std::move(candidate));
      }
    }
  } else if (kind == "WorkloadEntry") {
    if (auto entry = config::parseWorkloadEntry(object, diagnostics)) {
      WorkloadInstance instance = instanceOf(*entry);
      InstanceId id{instance.ns, instance.name};
      catalog.entryInstances.emplace(std::move(id), std::move(instance));
    }
  }
}

} // namespace

std::string selectorKey(std::string_view ns, const std::string& key, const std::string& value) {
  std::string out(ns);
  out.append(1, '\n').append(key).append(1, '=').append(value);
  return out;
}

bool ServiceRecord::selectsInstance(const WorkloadInstance& instance) const {
  if (selects == Selects::kNothing || instance.ns != service.ns) {
    return false;
  }
  return std::all_of(selector.begin(), selector.end(), [&](const auto& entry) {
    auto it = instance.labels.find(entry.first);
    return it != instance.labels.end() && it->second == entry.second;
  });
}

Catalog buildCatalog(const std::vector<config::ConfigObject>& objects,
                     std::vector<config::Diagnostic>& diagnostics) {
  Catalog catalog;
  std::vector<Candidate> candidates;
  for (const config::ConfigObject& object : objects) {
    addCandidates(object, candidates, catalog, diagnostics);
  }
  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const Candidate& a, const Candidate& b) {
                     if (a.record.service.hostname != b.record.service.hostname) {
                       return a.record.service.hostname < b.record.service.hostname;
                     }
                     return precedes(a, b);
                   });
  const Candidate* winner = nullptr;
  for (const Candidate& candidate : candidates) {
    if (winner != nullptr && candidate.record.service.hostname == winner->record.service.hostname) {
      diagnostics.push_back(duplicateWarning(*winner, candidate));
      continue;
    }
    winner = &candidate;
    const size_t index = catalog.records.size();
    catalog.byHostname.emplace(candidate.record.service.hostname, index);
    if (candidate.record.selects != ServiceRecord::Selects::kNothing) {
      const ServiceRecord& record = candidate.record;
      catalog.selectingByNamespace[record.service.ns].push_back(index);
      if (record.selector.empty()) {
        catalog.selectingAll[record.service.ns].push_back(index);
      } else {
        const auto& [key, value] = *record.selector.begin();
        catalog.selectingByLabel[selectorKey(record.service.ns, key, value)].push_back(index);
      }
    }
    catalog.records.push_back(candidate.record);
  }
  return catalog;
}

} // namespace meshd::control::registry
