// MeshSnapshot (mesh_snapshot.h).
#include "control/model/mesh_snapshot.h"

#include <algorithm>
#include <atomic>
#include <tuple>
#include <unordered_map>

#include "control/config/host_names.h"

namespace meshd::control::model {
namespace {

std::atomic<uint64_t> nextVersion{1};

// Istio orders conflicting config by creation time, then namespace and name.
std::tuple<std::string, std::string, std::string> age(const config::ConfigObject& object) {
  const auto& metadata = object.json.value("metadata", nlohmann::json::object());
  const auto created = metadata.find("creationTimestamp");
  return {created != metadata.end() && created->is_string() ? created->get<std::string>() : "",
          object.key.ns, object.key.name};
}

template <class T, class Parse>
void collect(const config::ConfigObject& object, int64_t order, Parse parse,
             std::vector<Entry<T>>& out, std::vector<config::Diagnostic>& diagnostics) {
  if (auto spec = parse(object, diagnostics)) {
    out.push_back(Entry<T>{std::move(*spec), object.key, order});
  }
}

} // namespace

struct MeshSnapshot::Config {
  // DestinationRules without a workloadSelector, by namespace: exact hosts (the oldest rule per
  // host) and wildcard hosts, so a lookup does not scan every rule.
  struct RulesInNamespace {
    std::unordered_map<std::string, const Entry<config::DestinationRule>*> exact;
    std::vector<std::pair<std::string, const Entry<config::DestinationRule>*>> wildcards;
  };
  std::vector<Entry<config::VirtualService>> virtualServices;
  std::vector<Entry<config::DestinationRule>> destinationRules;
  std::unordered_map<std::string, RulesInNamespace> rulesByNamespace;
  std::vector<Entry<config::Gateway>> gateways;
  std::vector<Entry<config::Sidecar>> sidecars;
  std::vector<Entry<config::PeerAuthentication>> peerAuthentications;
  std::vector<Entry<config::AuthorizationPolicy>> authorizationPolicies;
  std::vector<Entry<config::RequestAuthentication>> requestAuthentications;
};

std::shared_ptr<const MeshSnapshot>
MeshSnapshot::build(const std::vector<config::ConfigObject>& objects,
                    std::vector<registry::WorkloadInstance> instances, MeshConfig mesh,
                    std::vector<config::Diagnostic>& diagnostics) {
  // Oldest first, so every list below is in Istio's precedence order.
  std::vector<const config::ConfigObject*> ordered;
  for (const auto& object : objects) {
    ordered.push_back(&object);
  }
  std::stable_sort(ordered.begin(), ordered.end(),
                   [](const auto* a, const auto* b) { return age(*a) < age(*b); });
  auto built = std::make_shared<Config>();
  int64_t order = 0;
  for (const config::ConfigObject* object : ordered) {
    const std::string& kind = object->key.kind;
    ++order;
    if (kind == "VirtualService") {
      collect(*object, order, config::parseVirtualService, built->virtualServices, diagnostics);
    } else if (kind == "DestinationRule") {
      collect(*object, order, config::parseDestinationRule, built->destinationRules, diagnostics);
    } else if (kind == "Gateway") {
      collect(*object, order, config::parseGateway, built->gateways, diagnostics);
    } else if (kind == "Sidecar") {
      collect(*object, order, config::parseSidecar, built->sidecars, diagnostics);
    } else if (kind == "PeerAuthentication") {
      collect(*object, order, config::parsePeerAuthentication, built->peerAuthentications,
              diagnostics);
    } else if (kind == "AuthorizationPolicy") {
      collect(*object, order, config::parseAuthorizationPolicy, built->authorizationPolicies,
              diagnostics);
    } else if (kind == "RequestAuthentication") {
      collect(*object, order, config::parseRequestAuthentication, built->requestAuthentications,
              diagnostics);
    }
  }
  for (const auto& rule : built->destinationRules) {
    if (rule.spec.workloadSelector) {
      continue;
    }
    auto& rules = built->rulesByNamespace[rule.key.ns];
    std::string host = config::resolveShortHost(rule.spec.host, rule.key.ns);
    if (host.starts_with("*")) {
      rules.wildcards.emplace_back(std::move(host), &rule);
    } else {
      rules.exact.emplace(std::move(host), &rule); // the oldest stays
    }
  }
  std::shared_ptr<MeshSnapshot> snapshot(new MeshSnapshot());
  snapshot->config_ = std::move(built);
  snapshot->registry_ = registry::Registry::build(objects, std::move(instances), diagnostics);
  snapshot->mesh_ = std::move(mesh);
  snapshot->version_ = nextVersion.fetch_add(1);
  return snapshot;
}

std::shared_ptr<const MeshSnapshot>
MeshSnapshot::withInstances(std::vector<registry::WorkloadInstance> instances) const {
  std::shared_ptr<MeshSnapshot> snapshot(new MeshSnapshot(*this));
  snapshot->registry_ = registry_.withInstances(std::move(instances));
  snapshot->version_ = nextVersion.fetch_add(1);
  return snapshot;
}

const std::vector<Entry<config::VirtualService>>& MeshSnapshot::virtualServices() const {
  return config_->virtualServices;
}
const std::vector<Entry<config::DestinationRule>>& MeshSnapshot::destinationRules() const {
  return config_->destinationRules;
}
const std::vector<Entry<config::Gateway>>& MeshSnapshot::gateways() const {
  return config_->gateways;
}
const std::vector<Entry<config::Sidecar>>& MeshSnapshot::sidecars() const {
  return config_->sidecars;
}
const std::vector<Entry<config::PeerAuthentication>>& MeshSnapshot::peerAuthentications() const {
  return config_->peerAuthentications;
}
const std::vector<Entry<config::AuthorizationPolicy>>& MeshSnapshot::authorizationPolicies() const {
  return config_->authorizationPolicies;
}
const std::vector<Entry<config::RequestAuthentication>>&
MeshSnapshot::requestAuthentications() const {
  return config_->requestAuthentications;
}

const Entry<config::DestinationRule>*
MeshSnapshot::destinationRuleFor(std::string_view host, std::string_view clientNs,
                                 std::string_view serviceNs) const {
  // In one namespace: the exact host first, then the most specific wildcard covering it.
  auto inNamespace = [&](std::string_view ns) -> const Entry<config::DestinationRule>* {
    const auto rules = config_->rulesByNamespace.find(std::string(ns));
    if (rules == config_->rulesByNamespace.end()) {
      return nullptr;
    }
    auto visible = [&](const Entry<config::DestinationRule>* rule) {
      const auto& exportTo =
          rule->spec.exportTo.empty() ? mesh_.defaultDestinationRuleExportTo : rule->spec.exportTo;
      return exportedTo(exportTo, rule->key.ns, clientNs);
    };
    if (const auto exact = rules->second.exact.find(std::string(host));
        exact != rules->second.exact.end() && visible(exact->second)) {
      return exact->second;
    }
    const Entry<config::DestinationRule>* best = nullptr;
    size_t bestLength = 0;
    for (const auto& [pattern, rule] : rules->second.wildcards) {
      if (config::hostCovers(pattern, host) && visible(rule) &&
          (best == nullptr || pattern.size() > bestLength)) {
        best = rule;
        bestLength = pattern.size();
      }
    }
    return best;
  };
  for (std::string_view ns : {clientNs, serviceNs, std::string_view(mesh_.rootNamespace)}) {
    if (const auto* rule = inNamespace(ns)) {
      return rule;
    }
  }
  return nullptr;
}

std::vector<const Entry<config::VirtualService>*>
MeshSnapshot::virtualServicesFor(std::string_view gateway, std::string_view clientNs) const {
  std::vector<const Entry<config::VirtualService>*> out;
  for (const auto& vs : config_->virtualServices) {
    const auto& exportTo =
        vs.spec.exportTo.empty() ? mesh_.defaultVirtualServiceExportTo : vs.spec.exportTo;
    if (vs.spec.isDelegate() || !exportedTo(exportTo, vs.key.ns, clientNs)) {
      continue;
    }
    const auto& gateways = vs.spec.gateways;
    bool bound = gateways.empty() && gateway == "mesh";
    for (const auto& name : gateways) {
      // "name" alone means a Gateway in the VirtualService's own namespace.
      const std::string full =
          name == "mesh" || name.find('/') != std::string::npos ? name : vs.key.ns + "/" + name;
      bound = bound || full == gateway;
    }
    if (bound) {
      out.push_back(&vs);
    }
  }
  return out;
}

const Entry<config::VirtualService>* MeshSnapshot::delegate(std::string_view ns,
                                                            std::string_view name) const {
  for (const auto& vs : config_->virtualServices) {
    if (vs.key.ns == ns && vs.key.name == name) {
      return &vs;
    }
  }
  return nullptr;
}

const Entry<config::Sidecar>* MeshSnapshot::sidecarFor(std::string_view ns,
                                                       const Labels& labels) const {
  const Entry<config::Sidecar>* namespaceDefault = nullptr;
  const Entry<config::Sidecar>* rootDefault = nullptr;
  for (const auto& sidecar : config_->sidecars) {
    if (sidecar.key.ns == ns) {
      if (sidecar.spec.workloadSelector) {
        if (labelsMatch(*sidecar.spec.workloadSelector, labels)) {
          return &sidecar; // the oldest matching one
        }
      } else if (namespaceDefault == nullptr) {
        namespaceDefault = &sidecar;
      }
    } else if (sidecar.key.ns == mesh_.rootNamespace && !sidecar.spec.workloadSelector &&
               rootDefault == nullptr) {
      rootDefault = &sidecar;
    }
  }
  return namespaceDefault != nullptr ? namespaceDefault : rootDefault;
}

std::vector<const Entry<config::Gateway>*> MeshSnapshot::gatewaysFor(const Labels& labels) const {
  std::vector<const Entry<config::Gateway>*> out;
  for (const auto& gateway : config_->gateways) {
    if (!gateway.spec.selector.empty() && labelsMatch(gateway.spec.selector, labels)) {
      out.push_back(&gateway);
    }
  }
  return out;
}

bool labelsMatch(const Labels& selector, const Labels& labels) {
  return std::all_of(selector.begin(), selector.end(), [&](const auto& entry) {
    const auto found = labels.find(entry.first);
    return found != labels.end() && found->second == entry.second;
  });
}

bool exportedTo(const std::vector<std::string>& exportTo, std::string_view ownNs,
                std::string_view clientNs) {
  if (exportTo.empty()) {
    return true;
  }
  return std::any_of(exportTo.begin(), exportTo.end(), [&](const std::string& to) {
    return to == "*" || (to == "." && ownNs == clientNs) || to == clientNs;
  });
}

} // namespace meshd::control::model
