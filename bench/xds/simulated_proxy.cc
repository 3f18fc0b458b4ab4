// Type URL → benchmark type index for the simulated proxies (see simulated_proxy.h).
#include "bench/xds/simulated_proxy.h"

#include "control/xds/type_urls.h"

namespace meshd::bench::xds {

int typeIndex(const std::string& type_url) {
  using namespace meshd::control::xds;
  if (type_url == kClusterType) {
    return kClusters;
  }
  if (type_url == kClusterLoadAssignmentType) {
    return kEndpoints;
  }
  if (type_url == kListenerType) {
    return kListeners;
  }
  if (type_url == kRouteConfigurationType) {
    return kRoutes;
  }
  return -1;
}

} // namespace meshd::bench::xds
