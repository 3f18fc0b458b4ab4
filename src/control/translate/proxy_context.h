// Who a translation is for: the proxy's kind, namespace, labels and addresses, read from the xDS
// Node it connected with (Istio's node id "<type>~<ip>~<pod>.<ns>~<ns>.svc.cluster.local" and
// metadata NAMESPACE, LABELS, WORKLOAD_NAME, INSTANCE_IPS, SERVICE_ACCOUNT, GENERATOR — what
// mesh-proxy's --proxy-type/--namespace/--label flags send).
#pragma once

#include <string>
#include <vector>

#include "control/config/common.h"
#include "envoy/config/core/v3/base.pb.h"

namespace meshd::control::translate {

struct ProxyContext {
  enum class Type {
    kSidecar,       // node id "sidecar~..."
    kRouter,        // node id "router~..." (a gateway)
    kProxylessGrpc, // metadata GENERATOR: grpc (a gRPC client speaking xDS itself)
  };
  Type type = Type::kSidecar;
  std::string id;
  std::string ns = "default";
  std::string workloadName;
  std::string podName;
  config::Labels labels;
  std::vector<std::string> ips;
  std::string serviceAccount = "default";
  // Metadata MESHD_EXPLICIT_PROXY_PORT (a number or a numeric string): the port of the
  // "explicitProxy" listener on 127.0.0.1 that applications use as their http_proxy (local
  // mode, without iptables capture); 0: no such listener.
  uint32_t explicitProxyPort = 0;
  // Metadata INTERCEPTION_MODE (Istio's): "NONE" means no iptables capture (meshctl's local
  // mode, where every proxy shares the host's network): the proxy gets no virtualOutbound and
  // virtualInbound listeners but one inbound listener per port, and every listener binds the
  // proxy's own address (bindAddress()) instead of 0.0.0.0.
  bool captured = true;
  // Metadata MESHD_APP_ADDRESS: where this proxy's application listens, when not on the instance
  // address (local mode: the sidecar holds the instance address and fronts the app).
  std::string appAddress;

  // "0.0.0.0", or the proxy's first IP when it is not captured (and has one).
  std::string bindAddress() const;

  // Unknown or missing parts keep the defaults above (a bare node id is a sidecar in "default").
  static ProxyContext fromNode(const envoy::config::core::v3::Node& node);
};

} // namespace meshd::control::translate
