// Kubernetes core/v1 Service and Namespace, the parts the mesh uses: a Service's ports and
// selector make a mesh service "<name>.<namespace>.svc.cluster.local"; a Namespace's labels.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "control/config/common.h"
#include "control/config/config_object.h"
#include "control/config/diagnostic.h"

namespace meshd::control::config {

struct KubeServicePort {
  std::string name;             // required (a DNS label) when the Service has more than one port
  uint32_t port = 0;            // the service port clients connect to
  uint32_t targetPort = 0;      // the workload's port; 0 when named (targetPortName) or not given
  std::string targetPortName;   // a named container port
  std::string protocol = "TCP"; // TCP, UDP or SCTP (L4, unlike Istio's protocols)
  std::string appProtocol;      // e.g. "http", "grpc", "kubernetes.io/h2c"; "" when not given
};

struct KubeService {
  enum class Type { kClusterIP, kNodePort, kLoadBalancer, kExternalName };
  ObjectMeta meta;
  Type type = Type::kClusterIP;
  std::string clusterIP;    // "" (allocate), "None" (headless) or an address
  std::string externalName; // ExternalName services only
  Labels selector;          // pods (workloads) that back the service; empty = none selected
  std::vector<KubeServicePort> ports;

  // The target port of `port` as a number (targetPort, or port when neither is given); 0 when it
  // is named and must be looked up in the workload.
  static uint32_t numericTargetPort(const KubeServicePort& port) {
    return port.targetPort != 0 ? port.targetPort : (port.targetPortName.empty() ? port.port : 0);
  }
};

struct KubeNamespace {
  ObjectMeta meta; // meta.labels, e.g. istio-injection
};

std::optional<KubeService> parseKubeService(const ConfigObject& object,
                                            std::vector<Diagnostic>& out);
std::optional<KubeNamespace> parseKubeNamespace(const ConfigObject& object,
                                                std::vector<Diagnostic>& out);

} // namespace meshd::control::config
