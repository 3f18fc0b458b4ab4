// Scaffolding: the endpoint generator is being written (issue 5); until then it generates nothing.
#include "control/translate/translator.h"

namespace meshd::control::translate {

std::vector<envoy::config::endpoint::v3::ClusterLoadAssignment>
buildEndpoints(const model::MeshSnapshot&, const ProxyContext&,
               const std::vector<envoy::config::cluster::v3::Cluster>&) {
  return {};
}

} // namespace meshd::control::translate
