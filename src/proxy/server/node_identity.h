// Who this proxy is, told to the control plane in the xDS Node: the workload's namespace, name,
// pod, labels, service account and IPs, and whether it is a sidecar or a gateway ("router"). In
// Istio the agent fills these in from the pod; here meshctl passes them as flags. The node id
// takes Istio's form `<type>~<ip>~<pod>.<namespace>~<namespace>.svc.cluster.local`, and the
// metadata Istio's keys (NAMESPACE, WORKLOAD_NAME, LABELS, SERVICE_ACCOUNT, INSTANCE_IPS, ...),
// so a control plane that knows Istio's conventions reads them unchanged.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "envoy/config/core/v3/base.pb.h"

namespace meshd::proxy::server {

struct NodeIdentity {
  std::string proxyType = "sidecar"; // "sidecar" or "router"
  std::string podName;               // default: the workload name
  std::string ns = "default";
  std::string workloadName;
  std::string serviceAccount;   // default: "default"
  std::vector<std::string> ips; // the first one goes into the node id
  std::map<std::string, std::string> labels;
  std::string clusterId = "Kubernetes";
  std::string meshId = "cluster.local";
};

// Checks the identity (proxy type, names as DNS labels, IPs parse).
absl::Status validateNodeIdentity(const NodeIdentity& identity);

// Sets `node`'s id, cluster (`<app label or workload>.<namespace>`) and metadata from `identity`;
// metadata keys the bootstrap set and the identity does not name are kept.
void applyNodeIdentity(const NodeIdentity& identity, envoy::config::core::v3::Node& node);

} // namespace meshd::proxy::server
