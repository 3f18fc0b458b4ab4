// The validator the config store asks before a write (ConfigValidator): Istio's admission checks
// on every incoming object, then `istioctl analyze`-style checks of each incoming object against
// the whole resulting config (subsets, hosts and gateways that exist, unreachable routes,
// conflicting gateways, duplicate rules). docs/config.md lists them with their severities.
#pragma once

#include <vector>

#include "control/config/diagnostic.h"

namespace meshd::control::config {

class IstioValidator : public ConfigValidator {
public:
  std::vector<Diagnostic> validate(const std::vector<ConfigObject>& incoming,
                                   const std::vector<ConfigObject>& resulting) const override;
};

} // namespace meshd::control::config
