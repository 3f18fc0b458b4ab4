// The network of a local mesh in netns mode (docs/local-mesh.md): a mesh-owned "hub" network
// namespace holding a bridge, and one network namespace per workload instance linked to it by a
// veth pair, with iptables rules that send the instance's TCP traffic through its sidecar as
// Istio's init container does. Nothing is changed in the host's own network namespace.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace meshd::cli::mesh {

// The addresses every mesh uses inside its own namespaces (they never reach the host's network,
// so meshes of different state directories can use the same ones).
inline constexpr const char* kHubAddress = "10.77.0.1";     // the bridge, the gateway of every pod
inline constexpr const char* kGatewayAddress = "10.77.0.2"; // the ingress gateway
inline constexpr const char* kEgressGatewayAddress = "10.77.0.3"; // the egress gateway
inline constexpr int kPodPrefixLength = 16;

// The uid and gid sidecars run as; their own traffic is not captured (Istio's 1337).
inline constexpr unsigned kProxyUid = 1337;
inline constexpr unsigned kProxyGid = 1337;

// The ports of a sidecar that inbound capture leaves alone (admin, health, metrics).
inline constexpr int kProxyOutboundPort = 15001;
inline constexpr int kProxyInboundPort = 15006;

// The address of the k-th pod (k ≥ 0): 10.77.1.1, 10.77.1.2, ... skipping .0 and .255.
std::string podAddress(int index);

// The iptables-restore input that captures a pod's TCP traffic: inbound to 15006 except the
// proxy's own ports, outbound to 15001 except the proxy's own traffic (uid/gid 1337) and loopback.
std::string captureRules();

class NetnsNetwork {
public:
  // `prefix` starts every namespace name of this mesh (so several meshes can coexist and a
  // later run can find what a crashed one left behind).
  explicit NetnsNetwork(std::string prefix) : prefix_(std::move(prefix)) {}

  const std::string& prefix() const { return prefix_; }
  std::string hubNamespace() const { return prefix_ + "-hub"; }
  // The namespace of one instance: "<prefix>-<namespace>-<name>".
  std::string podNamespace(const std::string& ns, const std::string& name) const;

  absl::Status createHub();
  // Creates the pod's namespace, links it to the hub's bridge with `address`, and when
  // `capture` installs the traffic capture rules. `link` is the veth's index (unique per mesh).
  absl::Status addPod(const std::string& netns, const std::string& address, int link, bool capture);
  // Deletes a namespace after killing whatever still runs in it.
  static absl::Status removeNamespace(const std::string& netns);
  // Every namespace of this mesh (pods and hub), from /run/netns.
  std::vector<std::string> namespaces() const;
  // Removes every namespace of this mesh, pods first. Best effort; the first error is returned.
  absl::Status removeAll() const;

private:
  std::string prefix_;
};

// Whether netns mode can work here (root, `ip` and `iptables-restore` present).
absl::Status netnsModeAvailable();

} // namespace meshd::cli::mesh
