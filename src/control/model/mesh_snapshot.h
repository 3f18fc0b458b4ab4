// The immutable model of the whole mesh at one moment (DESIGN.md §1, Istio's PushContext): the
// typed Istio config, the service registry and the indexes translation needs, with Istio's
// lookup and precedence rules in one place. Built from the config store's objects and the
// running instances; shared as std::shared_ptr<const MeshSnapshot> and never changed, so every
// reader is lock-free. An endpoint-only change derives a new snapshot that shares the config.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "control/config/config_object.h"
#include "control/config/diagnostic.h"
#include "control/config/networking/destination_rule.h"
#include "control/config/networking/gateway.h"
#include "control/config/networking/service_entry.h"
#include "control/config/networking/sidecar.h"
#include "control/config/networking/virtual_service.h"
#include "control/config/security/authorization_policy.h"
#include "control/config/security/peer_authentication.h"
#include "control/config/security/request_authentication.h"
#include "control/registry/registry.h"

namespace meshd::control::model {

using config::Labels;

// MeshConfig settings that change translation (istio-features.md §1.11).
struct MeshConfig {
  enum class OutboundTrafficPolicy { kAllowAny, kRegistryOnly };
  std::string rootNamespace = "istio-system"; // its Sidecar/DestinationRule apply mesh-wide
  std::string trustDomain = "cluster.local";
  std::string domainSuffix = "svc.cluster.local";
  OutboundTrafficPolicy outboundTrafficPolicy = OutboundTrafficPolicy::kAllowAny;
  uint32_t inboundListenerPort = 15006;
  uint32_t outboundListenerPort = 15001;
  std::chrono::milliseconds connectTimeout{10000}; // clusters' connect_timeout
  std::chrono::milliseconds dnsRefreshRate{60000}; // DNS-resolved ServiceEntry clusters
  // Auto-mTLS: ISTIO_MUTUAL to endpoints with a sidecar when no DestinationRule sets `tls`.
  bool enableAutoMtls = true;
  // exportTo of VirtualServices and DestinationRules that set none ("*": every namespace; "."
  // the object's own).
  std::vector<std::string> defaultVirtualServiceExportTo = {"*"};
  std::vector<std::string> defaultDestinationRuleExportTo = {"*"};
};

// A typed config object with the metadata every lookup needs.
template <class T>
struct Entry {
  T spec;
  config::ObjectKey key;
  int64_t createdOrder = 0; // older first: Istio resolves conflicts by creation time
};

class MeshSnapshot {
public:
  // Objects of every kind (unknown or invalid ones are skipped with their diagnostics appended).
  static std::shared_ptr<const MeshSnapshot>
  build(const std::vector<config::ConfigObject>& objects,
        std::vector<registry::WorkloadInstance> instances, MeshConfig mesh,
        std::vector<config::Diagnostic>& diagnostics);
  // The same config with these running instances (an endpoint-only change).
  std::shared_ptr<const MeshSnapshot>
  withInstances(std::vector<registry::WorkloadInstance> instances) const;

  // Whether this snapshot and `other` were derived from one build by withInstances: the same
  // config and services, only the running instances may differ (an endpoint-only change).
  bool sharesConfigWith(const MeshSnapshot& other) const { return config_ == other.config_; }

  // Changes with every build and withInstances (for xDS versions and caches).
  uint64_t version() const { return version_; }
  const MeshConfig& mesh() const { return mesh_; }
  const registry::Registry& registry() const { return registry_; }

  const std::vector<Entry<config::VirtualService>>& virtualServices() const;
  const std::vector<Entry<config::DestinationRule>>& destinationRules() const;
  const std::vector<Entry<config::Gateway>>& gateways() const;
  const std::vector<Entry<config::Sidecar>>& sidecars() const;
  const std::vector<Entry<config::PeerAuthentication>>& peerAuthentications() const;
  const std::vector<Entry<config::AuthorizationPolicy>>& authorizationPolicies() const;
  const std::vector<Entry<config::RequestAuthentication>>& requestAuthentications() const;

  // --- Istio's lookups -----------------------------------------------------------------------
  // The DestinationRule for `host` (an FQDN) as seen by a client in `clientNs`: one in the
  // client's namespace first, then one in the service's namespace `serviceNs`, then one in the
  // root namespace, each visible to the client (exportTo); a more specific host wins over a
  // wildcard within a namespace; null when none applies.
  const Entry<config::DestinationRule>* destinationRuleFor(std::string_view host,
                                                           std::string_view clientNs,
                                                           std::string_view serviceNs) const;
  // The VirtualServices bound to `gateway` ("mesh" for sidecars; "namespace/name" for a Gateway)
  // and visible from `clientNs`, oldest first (Istio merges their routes in that order).
  // Delegates (no hosts) are left out; delegate() finds them.
  std::vector<const Entry<config::VirtualService>*>
  virtualServicesFor(std::string_view gateway, std::string_view clientNs) const;
  const Entry<config::VirtualService>* delegate(std::string_view ns, std::string_view name) const;
  // The Sidecar that scopes a workload: in its namespace the one whose workloadSelector matches
  // its labels, else the namespace's one without a selector, else the root namespace's one
  // without a selector; null: none (the workload sees every visible service).
  const Entry<config::Sidecar>* sidecarFor(std::string_view ns, const Labels& labels) const;
  // The Gateways whose selector matches a gateway proxy's labels (any namespace, as Istio).
  std::vector<const Entry<config::Gateway>*> gatewaysFor(const Labels& labels) const;

private:
  MeshSnapshot() = default;
  struct Config;
  std::shared_ptr<const Config> config_; // shared by snapshots that differ only in instances
  registry::Registry registry_;
  MeshConfig mesh_;
  uint64_t version_ = 0;
};

// Whether `selector` (a workloadSelector's labels) selects `labels`: every pair present.
bool labelsMatch(const Labels& selector, const Labels& labels);
// Whether an object exported with `exportTo` (from namespace `ownNs`) is visible in `clientNs`.
// Empty exportTo: everywhere.
bool exportedTo(const std::vector<std::string>& exportTo, std::string_view ownNs,
                std::string_view clientNs);

} // namespace meshd::control::model
