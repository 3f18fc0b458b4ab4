// Checks that an ObjectKey is one the store may hold (a known kind, a namespace exactly when the
// kind is namespaced, and Kubernetes names) and that an object's text is UTF-8. The parser checks
// what objects say; the store checks again because keys also come from elsewhere (a namespace from
// a URL or a query parameter), and FileConfigStore turns keys into paths, where ".." must never get
// through.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "control/config/config_object.h"
#include "nlohmann/json.hpp"

namespace meshd::control::config {

// A DNS-1123 label: lowercase letters, digits and '-', at most 63, alphanumeric at both ends.
bool isNamespaceName(std::string_view name);
// A DNS-1123 subdomain: labels joined by '.', at most 253 characters.
bool isObjectName(std::string_view name);
// InvalidArgument naming what is wrong with `key`.
absl::Status checkObjectKey(const ObjectKey& key);

bool isValidUtf8(std::string_view text);
// The JSON pointer of the first key or string in `value` that is not valid UTF-8 (YAML and JSON
// text is UTF-8, and the files the store writes could not hold it), or nullopt.
std::optional<std::string> findInvalidUtf8(const nlohmann::json& value);

} // namespace meshd::control::config
