// Istio Sidecar: narrows what a sidecar listens for (ingress) and which services it learns
// (egress hosts "namespace/dnsName"), per namespace or per selected workload.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "control/config/common.h"
#include "control/config/config_object.h"
#include "control/config/diagnostic.h"
#include "control/config/networking/gateway.h"
#include "control/config/networking/traffic_policy.h"
#include "control/config/networking/virtual_service.h"

namespace meshd::control::config {

enum class CaptureMode { kDefault, kIptables, kNone };

struct SidecarIngressListener {
  GatewayPort port;
  std::string bind;
  CaptureMode captureMode = CaptureMode::kDefault;
  std::string defaultEndpoint; // "127.0.0.1:PORT", "0.0.0.0:PORT", "[::1]:PORT" or "unix://..."
  std::optional<ServerTlsSettings> tls;
  std::optional<ConnectionPoolSettings> connectionPool;
};

struct SidecarEgressListener {
  std::optional<GatewayPort> port; // nullopt: every port (only the last listener)
  std::string bind;
  CaptureMode captureMode = CaptureMode::kDefault;
  std::vector<std::string> hosts; // "namespace/dnsName": namespace "*", ".", "~" or a name
};

struct Sidecar {
  enum class OutboundMode { kRegistryOnly, kAllowAny };
  ObjectMeta meta;
  std::optional<Labels> workloadSelector; // nullopt: every workload in the namespace
  std::vector<SidecarIngressListener> ingress;
  std::vector<SidecarEgressListener> egress;
  std::optional<ConnectionPoolSettings> inboundConnectionPool;
  std::optional<OutboundMode> outboundMode;
  std::optional<Destination> egressProxy;
};

std::optional<Sidecar> parseSidecar(const ConfigObject& object, std::vector<Diagnostic>& out);

} // namespace meshd::control::config
