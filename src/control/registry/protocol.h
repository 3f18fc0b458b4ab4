// Istio's protocol selection for Kubernetes Service ports: the appProtocol when set, else the
// port name's prefix ("http", "http-web", "grpc-web", ...), else sniffed (docs/registry.md).
#pragma once

#include "control/config/common.h"
#include "control/config/kube/service.h"

namespace meshd::control::registry {

// kUnspecified means "sniff": neither the appProtocol nor the name says, and the port is not one
// of the server-first ports (25, 53, 3306, 27017) that Istio always treats as TCP.
config::Protocol kubePortProtocol(const config::KubeServicePort& port);

} // namespace meshd::control::registry
