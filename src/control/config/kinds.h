// The API kinds meshd understands: their API groups, accepted versions and scope.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace meshd::control::config {

struct KindInfo {
  std::string_view kind;                  // "VirtualService"
  std::string_view group;                 // "networking.istio.io"; "" for Kubernetes core (v1)
  std::vector<std::string_view> versions; // accepted, newest first
  bool namespaced = true;
  std::string_view plural; // "virtualservices", for the REST API paths
};

const std::vector<KindInfo>& knownKinds();
// By kind name ("VirtualService") or plural ("virtualservices"), case-insensitively; null if none.
const KindInfo* findKind(std::string_view kindOrPlural);

} // namespace meshd::control::config
