// The listener generator (translator.h, docs/translation.md "Listeners"): which listeners a proxy
// gets by kind — sidecars virtualOutbound/virtualInbound (and explicitProxy in local mode),
// gateways a listener per Gateway server port, proxyless gRPC clients an API listener per
// gRPC-capable service port — sorted by name.
#include "control/translate/listener_parts.h"
#include "control/translate/names.h"
#include "control/translate/translator.h"
#include "envoy/extensions/filters/http/router/v3/router.pb.h"

namespace meshd::control::translate {

std::vector<Listener> proxylessGrpcListeners(const model::MeshSnapshot& snapshot,
                                             const ProxyContext& proxy) {
  std::vector<Listener> out;
  for (const registry::Service* service : snapshot.registry().servicesVisibleFrom(proxy.ns)) {
    for (const registry::ServicePort& port : service->ports) {
      if (!grpcCapable(port.protocol)) {
        continue;
      }
      const std::string name = grpcListenerName(service->hostname, port.number);
      // What gRPC's xDS client accepts (gRFC A27): an API listener whose connection manager takes
      // its routes over ADS and has the router as its only filter.
      HttpConnectionManager manager;
      manager.mutable_rds()->set_route_config_name(name);
      manager.mutable_rds()->mutable_config_source()->mutable_ads();
      auto* router = manager.add_http_filters();
      router->set_name("envoy.filters.http.router");
      router->mutable_typed_config()->PackFrom(
          envoy::extensions::filters::http::router::v3::Router());
      Listener listener;
      listener.set_name(name);
      listener.mutable_api_listener()->mutable_api_listener()->PackFrom(manager);
      out.push_back(std::move(listener));
    }
  }
  return out;
}

std::vector<Listener> buildListeners(const model::MeshSnapshot& snapshot,
                                     const ProxyContext& proxy) {
  std::vector<Listener> out;
  switch (proxy.type) {
  case ProxyContext::Type::kSidecar:
    if (proxy.captured) {
      out.push_back(sidecarOutboundListener(snapshot, proxy));
      out.push_back(sidecarInboundListener(snapshot, proxy));
    } else {
      out = sidecarInboundPortListeners(snapshot, proxy);
    }
    if (proxy.explicitProxyPort != 0) {
      out.push_back(explicitProxyListener(proxy));
    }
    break;
  case ProxyContext::Type::kRouter: out = gatewayListeners(snapshot, proxy); break;
  case ProxyContext::Type::kProxylessGrpc: out = proxylessGrpcListeners(snapshot, proxy); break;
  }
  sortByName(out);
  return out;
}

} // namespace meshd::control::translate
