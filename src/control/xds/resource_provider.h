// The xDS server's only dependency on the control plane: given a proxy's node identity, the
// snapshot of resources it should have now. The server asks when a stream starts and again for
// the streams a push targets (XdsServer::push). Implementations must be thread-safe and quick
// (the server calls it from gRPC and push threads); translation belongs before the push, not here.
#pragma once

#include "control/xds/resource_snapshot.h"
#include "envoy/config/core/v3/base.pb.h"

namespace meshd::control::xds {

class ResourceProvider {
public:
  virtual ~ResourceProvider() = default;
  // Never null: a proxy the control plane knows nothing about gets an empty snapshot.
  virtual SnapshotPtr snapshotFor(const envoy::config::core::v3::Node& node) = 0;
};

} // namespace meshd::control::xds
