// Text (YAML or JSON, one or many documents) to ConfigObjects: reads apiVersion, kind and
// metadata, checks that the kind is one meshd knows (kinds.h) in a version it accepts, defaults
// the namespace. What the spec says is checked later, by the validator.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "control/config/config_object.h"
#include "control/config/diagnostic.h"

namespace meshd::control::config {

struct ParseResult {
  std::vector<ConfigObject> objects;
  std::vector<Diagnostic> diagnostics; // errors: the objects they name are not in `objects`
};

// `defaultNamespace` is used for namespaced objects that do not name one. A YAML syntax error
// is a single diagnostic with the line.
ParseResult parseObjects(std::string_view text, std::string_view file,
                         const std::string& defaultNamespace = "default");

// One object from JSON already parsed (the REST API); `lines` is empty.
ParseResult parseObject(nlohmann::json json, const std::string& defaultNamespace = "default");

} // namespace meshd::control::config
