// Scaffolding: the route generator is being written (issue 5); until then it generates nothing.
#include "control/translate/translator.h"

namespace meshd::control::translate {

std::vector<envoy::config::route::v3::RouteConfiguration> buildRoutes(const model::MeshSnapshot&,
                                                                      const ProxyContext&) {
  return {};
}

} // namespace meshd::control::translate
