// YAML (or JSON, a subset of YAML) to JSON text, for loading config files into protobuf messages
// with protobuf's JSON parser. Plain scalars become numbers, booleans or null when they look like
// them (as YAML 1.2's core schema says); quoted scalars stay strings.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace meshd::core {

// One document. Errors carry "line L, column C" of the offending input.
absl::StatusOr<std::string> yamlToJson(std::string_view yaml);

// Every document of a multi-document stream ("---" separated), in order; empty ones are skipped.
absl::StatusOr<std::vector<std::string>> yamlDocumentsToJson(std::string_view yaml);

} // namespace meshd::core
