// What a sidecar (or proxyless gRPC client) sees for routing: the services and VirtualServices
// visible from its namespace and narrowed by its Sidecar's egress hosts, which VirtualService
// routes each service (Istio: an exact host first, else the most specific wildcard; among equals
// the oldest VirtualService), and the domains its virtual hosts answer to.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "control/model/mesh_snapshot.h"
#include "control/translate/proxy_context.h"

namespace meshd::control::translate {

// HTTP, HTTP2, gRPC, gRPC-Web, or unspecified (sniffed): the ports that get HTTP routes.
bool isHttpProtocol(config::Protocol protocol);

class SidecarView {
public:
  SidecarView(const model::MeshSnapshot& snapshot, const ProxyContext& proxy);

  const model::MeshSnapshot& snapshot;
  const ProxyContext& proxy;
  std::vector<const registry::Service*> services;                           // by hostname
  std::vector<const model::Entry<config::VirtualService>*> virtualServices; // oldest first

  // The VirtualService routing `service`, or null.
  const model::Entry<config::VirtualService>* ownerOf(const registry::Service& service) const;
  const std::vector<const registry::Service*>&
  servicesOwnedBy(const model::Entry<config::VirtualService>* vs) const;
  // The VirtualService's hosts (resolved) that are no visible service: external names, and
  // wildcards that cover none.
  std::vector<std::string>
  hostsWithoutService(const model::Entry<config::VirtualService>& vs) const;
  // The Sidecar's outboundTrafficPolicy, else the mesh's.
  bool allowAnyOutbound() const;

private:
  const model::Entry<config::Sidecar>* sidecar_ = nullptr;
  // Indexes built once, so that per-service and per-VirtualService questions do not scan every
  // service (meshes with thousands of services).
  std::unordered_map<std::string, const model::Entry<config::VirtualService>*> owners_;
  std::unordered_map<const model::Entry<config::VirtualService>*,
                     std::vector<const registry::Service*>>
      owned_;
  std::unordered_set<std::string> hostnames_; // of `services`

  bool egressAllows(std::string_view ns, std::string_view host, bool overlap) const;
  void assignOwners();
};

// Istio's virtual host domains for a service port: the FQDN and, for Kubernetes services, the
// short forms a client may use from the proxy's namespace (name, name.ns, name.ns.svc in the
// same namespace; name.ns, name.ns.svc from another), each also with ":port", then the VIPs.
std::vector<std::string> serviceDomains(const SidecarView& view, const registry::Service& service,
                                        uint32_t port);

} // namespace meshd::control::translate
