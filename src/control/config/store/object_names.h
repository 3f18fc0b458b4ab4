// Checks that an ObjectKey is one the store may hold: a known kind, a namespace exactly when the
// kind is namespaced, and Kubernetes names. The parser checks what objects say; the store checks
// again because keys also come from elsewhere (a namespace from a URL or a query parameter), and
// FileConfigStore turns keys into paths, where ".." must never get through.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "control/config/config_object.h"

namespace meshd::control::config {

// A DNS-1123 label: lowercase letters, digits and '-', at most 63, alphanumeric at both ends.
bool isNamespaceName(std::string_view name);
// A DNS-1123 subdomain: labels joined by '.', at most 253 characters.
bool isObjectName(std::string_view name);
// InvalidArgument naming what is wrong with `key`.
absl::Status checkObjectKey(const ObjectKey& key);

} // namespace meshd::control::config
