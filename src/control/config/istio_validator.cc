// Single-object and cross-object validation (istio_validator.h).
#include "control/config/istio_validator.h"

#include <algorithm>
#include <map>

#include "control/config/host_names.h"
#include "control/config/istio_types.h"
#include "fmt/format.h"

namespace meshd::control::config {
namespace {

template <class T>
struct Typed {
  const ConfigObject* object;
  T value;
};

// The resulting config, typed; objects with errors are left out (their writer is told).
struct ConfigIndex {
  std::vector<Typed<DestinationRule>> destinationRules;
  std::vector<Typed<Gateway>> gateways;
  std::vector<Typed<VirtualService>> virtualServices;
  std::vector<Typed<Sidecar>> sidecars;
  std::vector<std::string> serviceHosts; // Service FQDNs and ServiceEntry hosts (resolved)

  explicit ConfigIndex(const std::vector<ConfigObject>& resulting) {
    for (const ConfigObject& object : resulting) {
      std::vector<Diagnostic> ignored;
      std::optional<TypedObject> typed = parseTyped(object, ignored);
      if (!typed) {
        continue;
      }
      if (auto* rule = std::get_if<DestinationRule>(&*typed)) {
        destinationRules.push_back({&object, std::move(*rule)});
      } else if (auto* gateway = std::get_if<Gateway>(&*typed)) {
        gateways.push_back({&object, std::move(*gateway)});
      } else if (auto* vs = std::get_if<VirtualService>(&*typed)) {
        virtualServices.push_back({&object, std::move(*vs)});
      } else if (auto* sidecar = std::get_if<Sidecar>(&*typed)) {
        sidecars.push_back({&object, std::move(*sidecar)});
      } else if (auto* service = std::get_if<KubeService>(&*typed)) {
        serviceHosts.push_back(resolveShortHost(service->meta.name, service->meta.ns));
      } else if (auto* entry = std::get_if<ServiceEntry>(&*typed)) {
        for (const std::string& host : entry->hosts) {
          serviceHosts.push_back(resolveShortHost(host, entry->meta.ns));
        }
      }
    }
  }

  bool hostExists(const std::string& fqdn) const {
    return std::any_of(serviceHosts.begin(), serviceHosts.end(),
                       [&](const std::string& host) { return hostCovers(host, fqdn); });
  }

  bool subsetExists(const std::string& fqdn, const std::string& subset) const {
    return std::any_of(destinationRules.begin(), destinationRules.end(), [&](const auto& rule) {
      return hostCovers(resolveShortHost(rule.value.host, rule.value.meta.ns), fqdn) &&
             std::any_of(rule.value.subsets.begin(), rule.value.subsets.end(),
                         [&](const Subset& s) { return s.name == subset; });
    });
  }

  // "name", "namespace/name" or the legacy "name.namespace.svc.cluster.local", from `ns`.
  bool gatewayExists(const std::string& reference, const std::string& ns) const {
    std::string gatewayNs = ns;
    std::string name = reference;
    if (const size_t slash = reference.find('/'); slash != std::string::npos) {
      gatewayNs = reference.substr(0, slash);
      name = reference.substr(slash + 1);
    } else if (const size_t dot = reference.find('.'); dot != std::string::npos) {
      name = reference.substr(0, dot);
      const size_t next = reference.find('.', dot + 1);
      gatewayNs = reference.substr(dot + 1, next == std::string::npos ? next : next - dot - 1);
    }
    return std::any_of(gateways.begin(), gateways.end(), [&](const auto& gateway) {
      return gateway.value.meta.name == name && gateway.value.meta.ns == gatewayNs;
    });
  }
};

class CrossChecker {
public:
  CrossChecker(const ConfigIndex& index, std::vector<Diagnostic>& out) : index_(index), out_(out) {}

  void check(const ConfigObject& object, const TypedObject& typed) {
    if (const auto* vs = std::get_if<VirtualService>(&typed)) {
      checkVirtualService(object, *vs);
    } else if (const auto* rule = std::get_if<DestinationRule>(&typed)) {
      checkDestinationRule(object, *rule);
    } else if (const auto* gateway = std::get_if<Gateway>(&typed)) {
      checkGateway(object, *gateway);
    } else if (const auto* sidecar = std::get_if<Sidecar>(&typed)) {
      checkSidecar(object, *sidecar);
    }
  }

private:
  void checkDestination(const ConfigObject& object, const std::string& pointer,
                        const Destination& destination) {
    const std::string fqdn = resolveShortHost(destination.host, object.key.ns);
    if (fqdn.starts_with("*")) {
      return;
    }
    if (!index_.hostExists(fqdn)) {
      out_.push_back(warningAt(object, pointer + "/host",
                               fmt::format("Referenced host not found: \"{}\" (no Service or "
                                           "ServiceEntry has it)",
                                           destination.host)));
    }
    if (!destination.subset.empty() && !index_.subsetExists(fqdn, destination.subset)) {
      out_.push_back(errorAt(object, pointer + "/subset",
                             fmt::format("Referenced host+subset in destinationrule not found: "
                                         "\"{}+{}\"",
                                         destination.host, destination.subset)));
    }
  }

  void checkGatewayRefs(const ConfigObject& object, const std::string& pointer,
                        const std::vector<std::string>& gateways) {
    for (size_t i = 0; i < gateways.size(); ++i) {
      if (gateways[i] != "mesh" && !index_.gatewayExists(gateways[i], object.key.ns)) {
        out_.push_back(warningAt(object, fmt::format("{}/{}", pointer, i),
                                 fmt::format("Referenced gateway not found: \"{}\"", gateways[i])));
      }
    }
  }

  void checkHttpRoutes(const ConfigObject& object, const VirtualService& vs) {
    std::vector<bool> matchesAll;
    for (const HttpRoute& route : vs.http) {
      matchesAll.push_back(
          route.match.empty() ||
          std::any_of(route.match.begin(), route.match.end(), matchesEveryRequest));
    }
    checkUnreachableRules(object, "http", matchesAll);
    for (size_t i = 0; i < vs.http.size(); ++i) {
      const HttpRoute& route = vs.http[i];
      const std::string at = fmt::format("/spec/http/{}", i);
      for (size_t m = 0; m < route.match.size(); ++m) {
        checkGatewayRefs(object, fmt::format("{}/match/{}/gateways", at, m),
                         route.match[m].gateways);
      }
      for (size_t d = 0; d < route.route.size(); ++d) {
        checkDestination(object, fmt::format("{}/route/{}/destination", at, d),
                         route.route[d].destination);
      }
      // `mirror` (one destination) and `mirrors` both became route.mirrors; name the field
      // the author wrote. The route was parsed from spec.http[i], so it exists.
      const bool singleMirror = object.spec()["http"][i].contains("mirror");
      for (size_t m = 0; m < route.mirrors.size(); ++m) {
        checkDestination(
            object, singleMirror ? at + "/mirror" : fmt::format("{}/mirrors/{}/destination", at, m),
            route.mirrors[m].destination);
      }
      if (route.delegate) {
        checkDelegate(object, at + "/delegate", *route.delegate);
      }
    }
  }

  // Rules after one that matches everything, and matches an earlier rule already has, as
  // Istio's VirtualServiceUnreachableRule and VirtualServiceIneffectiveMatch warnings.
  void checkUnreachableRules(const ConfigObject& object, const std::string& kind,
                             const std::vector<bool>& matchesAll) {
    if (matchesAll.empty()) {
      return;
    }
    const nlohmann::json& rules = object.spec()[kind]; // the rules were parsed from it
    const std::string_view what = kind == "http" ? "request" : "connection";
    std::optional<size_t> catchAll;
    std::map<std::string, size_t> seen; // a match's JSON (without its name) → first rule
    for (size_t i = 0; i < matchesAll.size(); ++i) {
      const std::string at = fmt::format("/spec/{}/{}", kind, i);
      if (catchAll) {
        out_.push_back(warningAt(object, at,
                                 fmt::format("rule {}[{}] is unreachable: {}[{}] matches every {}",
                                             kind, i, kind, *catchAll, what)));
        continue;
      }
      if (matchesAll[i]) {
        catchAll = i;
      }
      auto matches = rules[i].find("match");
      if (matches == rules[i].end() || !matches->is_array() || matches->empty()) {
        continue;
      }
      size_t duplicates = 0;
      for (size_t m = 0; m < matches->size(); ++m) {
        nlohmann::json match = (*matches)[m];
        match.erase("name");
        const auto [first, inserted] = seen.emplace(jsonText(match), i);
        if (!inserted && first->second != i) {
          ++duplicates;
          out_.push_back(warningAt(
              object, fmt::format("{}/match/{}", at, m),
              fmt::format("this match is not used: {}[{}] has the same one", kind, first->second)));
        }
      }
      if (duplicates == matches->size()) {
        out_.push_back(warningAt(object, at,
                                 fmt::format("rule {}[{}] is unreachable: earlier rules have all "
                                             "its matches",
                                             kind, i)));
      }
    }
  }

  void checkDelegate(const ConfigObject& object, const std::string& pointer,
                     const Delegate& delegate) {
    const std::string ns = delegate.ns.empty() ? object.key.ns : delegate.ns;
    const auto it = std::find_if(
        index_.virtualServices.begin(), index_.virtualServices.end(), [&](const auto& vs) {
          return vs.value.meta.name == delegate.name && vs.value.meta.ns == ns;
        });
    if (it == index_.virtualServices.end()) {
      out_.push_back(warningAt(object, pointer,
                               fmt::format("Referenced delegate VirtualService "
                                           "not found: \"{}/{}\"",
                                           ns, delegate.name)));
    } else if (!it->value.isDelegate()) {
      out_.push_back(errorAt(object, pointer,
                             fmt::format("VirtualService {}/{} has hosts, so it cannot be a "
                                         "delegate",
                                         ns, delegate.name)));
    }
  }

  void checkVirtualService(const ConfigObject& object, const VirtualService& vs) {
    checkGatewayRefs(object, "/spec/gateways", vs.gateways);
    checkHttpRoutes(object, vs);
    std::vector<bool> tcpMatchesAll;
    for (const TcpRoute& route : vs.tcp) {
      tcpMatchesAll.push_back(route.match.empty());
    }
    checkUnreachableRules(object, "tcp", tcpMatchesAll);
    checkUnreachableRules(object, "tls", std::vector<bool>(vs.tls.size(), false));
    for (size_t i = 0; i < vs.tcp.size(); ++i) {
      for (size_t d = 0; d < vs.tcp[i].route.size(); ++d) {
        checkDestination(object, fmt::format("/spec/tcp/{}/route/{}/destination", i, d),
                         vs.tcp[i].route[d].destination);
      }
    }
    for (size_t i = 0; i < vs.tls.size(); ++i) {
      for (size_t d = 0; d < vs.tls[i].route.size(); ++d) {
        checkDestination(object, fmt::format("/spec/tls/{}/route/{}/destination", i, d),
                         vs.tls[i].route[d].destination);
      }
    }
  }

  void checkDestinationRule(const ConfigObject& object, const DestinationRule& rule) {
    if (rule.workloadSelector) {
      return; // rules for different workloads may share a host
    }
    const std::string fqdn = resolveShortHost(rule.host, rule.meta.ns);
    for (const auto& other : index_.destinationRules) {
      if (other.object->key != object.key && other.value.meta.ns == rule.meta.ns &&
          !other.value.workloadSelector &&
          resolveShortHost(other.value.host, other.value.meta.ns) == fqdn) {
        out_.push_back(warningAt(object, "/spec/host",
                                 fmt::format("{} also applies to host '{}' in "
                                             "this namespace; Istio merges them and the first "
                                             "one's traffic policy wins",
                                             other.object->key.toString(), fqdn)));
        return;
      }
    }
  }

  // Two servers for the same gateway workloads on one port must agree on the protocol when
  // their hosts overlap (Istio's "ConflictingGateways").
  void checkGateway(const ConfigObject& object, const Gateway& gateway) {
    for (size_t s = 0; s < gateway.servers.size(); ++s) {
      const GatewayServer& server = gateway.servers[s];
      for (const auto& other : index_.gateways) {
        if (other.object->key == object.key || other.value.selector != gateway.selector) {
          continue;
        }
        for (const GatewayServer& otherServer : other.value.servers) {
          if (otherServer.port.number != server.port.number ||
              otherServer.port.protocol == server.port.protocol ||
              !hostsOverlap(server, otherServer)) {
            continue;
          }
          out_.push_back(
              errorAt(object, fmt::format("/spec/servers/{}/port", s),
                      fmt::format("conflicts with {}: port {} is {} there and {} here for "
                                  "overlapping hosts on the same workloads",
                                  other.object->key.toString(), server.port.number,
                                  protocolName(otherServer.port.protocol),
                                  protocolName(server.port.protocol))));
        }
      }
    }
  }

  static bool hostsOverlap(const GatewayServer& a, const GatewayServer& b) {
    for (const std::string& hostA : a.hosts) {
      for (const std::string& hostB : b.hosts) {
        if (config::hostsOverlap(splitNamespacedHost(hostA).second,
                                 splitNamespacedHost(hostB).second)) {
          return true;
        }
      }
    }
    return false;
  }

  void checkSidecar(const ConfigObject& object, const Sidecar& sidecar) {
    for (const auto& other : index_.sidecars) {
      if (other.object->key == object.key || other.value.meta.ns != sidecar.meta.ns) {
        continue;
      }
      const bool bothDefault = !sidecar.workloadSelector && !other.value.workloadSelector;
      const bool sameSelector = sidecar.workloadSelector && other.value.workloadSelector &&
                                *sidecar.workloadSelector == *other.value.workloadSelector;
      if (bothDefault || sameSelector) {
        out_.push_back(
            errorAt(object, bothDefault ? "/spec" : "/spec/workloadSelector",
                    fmt::format("{} {}; a workload may have only one", other.object->key.toString(),
                                bothDefault ? "also has no workloadSelector"
                                            : "has the same workloadSelector")));
        return;
      }
    }
  }

  const ConfigIndex& index_;
  std::vector<Diagnostic>& out_;
};

} // namespace

std::vector<Diagnostic> IstioValidator::validate(const std::vector<ConfigObject>& incoming,
                                                 const std::vector<ConfigObject>& resulting) const {
  std::vector<Diagnostic> out;
  std::vector<std::pair<const ConfigObject*, TypedObject>> valid;
  for (const ConfigObject& object : incoming) {
    if (std::optional<TypedObject> typed = parseTyped(object, out)) {
      valid.emplace_back(&object, std::move(*typed));
    }
  }
  if (valid.empty()) {
    return out;
  }
  const ConfigIndex index(resulting);
  CrossChecker checker(index, out);
  for (const auto& [object, typed] : valid) {
    checker.check(*object, typed);
  }
  return out;
}

} // namespace meshd::control::config
