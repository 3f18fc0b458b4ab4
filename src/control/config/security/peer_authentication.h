// Istio PeerAuthentication: whether a workload's sidecar accepts plaintext, mTLS or both, for
// the mesh (root namespace, no selector), a namespace, a workload, or one of its ports.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "control/config/common.h"
#include "control/config/config_object.h"
#include "control/config/diagnostic.h"

namespace meshd::control::config {

enum class MtlsMode { kUnset, kDisable, kPermissive, kStrict };

struct PeerAuthentication {
  ObjectMeta meta;
  std::optional<Labels> selector;
  std::optional<MtlsMode> mode;               // mtls.mode; nullopt/kUnset inherit from the parent
  std::map<uint32_t, MtlsMode> portLevelMtls; // workload (target) port → mode
};

std::optional<PeerAuthentication> parsePeerAuthentication(const ConfigObject& object,
                                                          std::vector<Diagnostic>& out);

} // namespace meshd::control::config
