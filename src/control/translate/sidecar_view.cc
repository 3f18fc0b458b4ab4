// The services and VirtualServices a sidecar routes to (sidecar_view.h).
#include "control/translate/sidecar_view.h"

#include <algorithm>

#include "control/config/host_names.h"
#include "control/config/networking/gateway.h"

namespace meshd::control::translate {
namespace {

std::string withPort(const std::string& host, uint32_t port) {
  if (host.find(':') != std::string::npos) { // an IPv6 address
    return "[" + host + "]:" + std::to_string(port);
  }
  return host + ":" + std::to_string(port);
}

} // namespace

bool isHttpProtocol(config::Protocol protocol) {
  switch (protocol) {
  case config::Protocol::kUnspecified:
  case config::Protocol::kHttp:
  case config::Protocol::kHttp2:
  case config::Protocol::kGrpc:
  case config::Protocol::kGrpcWeb: return true;
  default: return false;
  }
}

SidecarView::SidecarView(const model::MeshSnapshot& snap, const ProxyContext& node)
    : snapshot(snap), proxy(node), sidecar_(snap.sidecarFor(node.ns, node.labels)) {
  for (const registry::Service* service : snap.registry().servicesVisibleFrom(node.ns)) {
    if (egressAllows(service->ns, service->hostname, false)) {
      services.push_back(service);
    }
  }
  for (const auto* vs : snap.virtualServicesFor("mesh", node.ns)) {
    const bool selected = std::any_of(vs->spec.hosts.begin(), vs->spec.hosts.end(), [&](auto& h) {
      return egressAllows(vs->key.ns, config::resolveShortHost(h, vs->key.ns), true);
    });
    if (selected) {
      virtualServices.push_back(vs);
    }
  }
  assignOwners();
}

// Whether an egress host "ns/dnsName" of the Sidecar admits `host` from namespace `ns` (no
// Sidecar: everything). `overlap`: a wildcard `host` (VirtualServices) needs only to overlap.
bool SidecarView::egressAllows(std::string_view ns, std::string_view host, bool overlap) const {
  if (sidecar_ == nullptr) {
    return true;
  }
  for (const config::SidecarEgressListener& listener : sidecar_->spec.egress) {
    for (const std::string& written : listener.hosts) {
      const auto [hostNs, dnsName] = config::splitNamespacedHost(written);
      const bool nsOk = hostNs == "*" || hostNs == ns || (hostNs == "." && ns == sidecar_->key.ns);
      const bool hostOk =
          overlap ? config::hostsOverlap(dnsName, host) : config::hostCovers(dnsName, host);
      if (nsOk && hostOk) {
        return true;
      }
    }
  }
  return false;
}

void SidecarView::assignOwners() {
  for (const registry::Service* service : services) {
    hostnames_.insert(service->hostname);
  }
  for (const auto* vs : virtualServices) { // exact hosts: the oldest VirtualService wins
    for (const std::string& written : vs->spec.hosts) {
      const std::string host = config::resolveShortHost(written, vs->key.ns);
      if (!host.starts_with('*')) {
        owners_.try_emplace(host, vs);
      }
    }
  }
  for (const registry::Service* service : services) { // then the most specific wildcard
    if (owners_.contains(service->hostname)) {
      continue;
    }
    size_t best = 0;
    for (const auto* vs : virtualServices) {
      for (const std::string& written : vs->spec.hosts) {
        const std::string host = config::resolveShortHost(written, vs->key.ns);
        if (host.starts_with('*') && config::hostCovers(host, service->hostname) &&
            host.size() > best) {
          owners_[service->hostname] = vs;
          best = host.size();
        }
      }
    }
  }
  for (const registry::Service* service : services) { // in hostname order, as `services`
    if (const auto owner = owners_.find(service->hostname); owner != owners_.end()) {
      owned_[owner->second].push_back(service);
    }
  }
}

const model::Entry<config::VirtualService>*
SidecarView::ownerOf(const registry::Service& service) const {
  const auto found = owners_.find(service.hostname);
  return found == owners_.end() ? nullptr : found->second;
}

const std::vector<const registry::Service*>&
SidecarView::servicesOwnedBy(const model::Entry<config::VirtualService>* vs) const {
  static const std::vector<const registry::Service*> kNone;
  const auto found = owned_.find(vs);
  return found == owned_.end() ? kNone : found->second;
}

std::vector<std::string>
SidecarView::hostsWithoutService(const model::Entry<config::VirtualService>& vs) const {
  std::vector<std::string> out;
  for (const std::string& written : vs.spec.hosts) {
    const std::string host = config::resolveShortHost(written, vs.key.ns);
    const bool isService = host.starts_with('*')
                               ? std::any_of(services.begin(), services.end(),
                                             [&](const registry::Service* service) {
                                               return config::hostCovers(host, service->hostname);
                                             })
                               : hostnames_.contains(host);
    if (!isService) {
      out.push_back(host);
    }
  }
  return out;
}

bool SidecarView::allowAnyOutbound() const {
  if (sidecar_ != nullptr && sidecar_->spec.outboundMode) {
    return *sidecar_->spec.outboundMode == config::Sidecar::OutboundMode::kAllowAny;
  }
  return snapshot.mesh().outboundTrafficPolicy ==
         model::MeshConfig::OutboundTrafficPolicy::kAllowAny;
}

std::vector<std::string> serviceDomains(const SidecarView& view, const registry::Service& service,
                                        uint32_t port) {
  const std::string& host = service.hostname;
  std::vector<std::string> out = {host, withPort(host, port)};
  const std::string suffix = "." + view.snapshot.mesh().domainSuffix; // ".svc.cluster.local"
  if (host.ends_with(suffix)) {
    const std::string nameNs = host.substr(0, host.size() - suffix.size()); // "reviews.default"
    const size_t dot = nameNs.find('.');
    if (dot != std::string::npos && nameNs.find('.', dot + 1) == std::string::npos) {
      const std::string name = nameNs.substr(0, dot);
      const std::string svc = nameNs + ".svc";
      std::vector<std::string> alt;
      if (nameNs.substr(dot + 1) == view.proxy.ns) {
        alt = {name, svc, nameNs};
      } else {
        alt = {nameNs, svc};
      }
      for (const std::string& a : alt) {
        out.push_back(a);
        out.push_back(withPort(a, port));
      }
    }
  }
  for (const std::string& vip : service.addresses) {
    out.push_back(vip);
    out.push_back(withPort(vip, port));
  }
  return out;
}

} // namespace meshd::control::translate
