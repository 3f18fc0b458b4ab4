// YAML (or JSON, a subset of YAML) to JSON text, for loading config files into protobuf messages
// with protobuf's JSON parser. Plain scalars become numbers, booleans or null when they look like
// them (as YAML 1.2's core schema says); quoted scalars stay strings.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace meshd::core {

// One document. Errors carry "line L, column C" of the offending input.
absl::StatusOr<std::string> yamlToJson(std::string_view yaml);

// Every document of a multi-document stream ("---" separated), in order; empty ones are skipped.
absl::StatusOr<std::vector<std::string>> yamlDocumentsToJson(std::string_view yaml);

// 1-based source line of every value of a document, keyed by RFC 6901 JSON pointer ("" is the
// root, "/spec/http/0/route" a nested value).
using JsonLineMap = std::map<std::string, int>;

struct LocatedJson {
  nlohmann::json value;
  JsonLineMap lines;
};

// RFC 6901 escaping of one reference token ("a/b" → "a~1b"), for building JSON pointers.
std::string jsonPointerToken(std::string_view key);

// Every document of a multi-document stream as JSON values, with the line each value came from,
// so that errors found later (e.g. by Istio config validation) can name the line.
absl::StatusOr<std::vector<LocatedJson>> yamlDocumentsWithLines(std::string_view yaml);

} // namespace meshd::core
