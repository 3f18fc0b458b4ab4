// translate() (translator.h): every generator, for one proxy.
#include "control/translate/translator.h"

namespace meshd::control::translate {

ProxyResources translate(const model::MeshSnapshot& snapshot, const ProxyContext& proxy) {
  ProxyResources out;
  out.clusters = buildClusters(snapshot, proxy);
  out.endpoints = buildEndpoints(snapshot, proxy, out.clusters);
  out.listeners = buildListeners(snapshot, proxy);
  out.routes = buildRoutes(snapshot, proxy);
  return out;
}

} // namespace meshd::control::translate
