// SchemaLessValidator: the stand-in ConfigValidator meshd uses until IstioValidator
// (control/config/istio_validator.h, branch config-model) lands. It adds no check of its own: an
// object is accepted when the parser accepted it (known kind and version, valid names and
// namespace: object_parser.h). exe/meshd_main.cc constructs the validator; switching to
// IstioValidator is that one line.
#pragma once

#include <vector>

#include "control/config/diagnostic.h"

namespace meshd::control::server {

class SchemaLessValidator final : public config::ConfigValidator {
public:
  std::vector<config::Diagnostic>
  validate(const std::vector<config::ConfigObject>&,
           const std::vector<config::ConfigObject>&) const override {
    return {};
  }
};

} // namespace meshd::control::server
