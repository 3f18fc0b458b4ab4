// Scaffolding: the listener generator is being written (issue 5); until then it generates nothing.
#include "control/translate/translator.h"

namespace meshd::control::translate {

std::vector<envoy::config::listener::v3::Listener> buildListeners(const model::MeshSnapshot&,
                                                                  const ProxyContext&) {
  return {};
}

} // namespace meshd::control::translate
