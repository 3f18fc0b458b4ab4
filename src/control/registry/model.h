// The service registry's model (docs/registry.md): mesh services (from Kubernetes Services and
// ServiceEntries), the workload instances that run them (LocalWorkload processes, WorkloadEntries)
// and the endpoints that join the two. Plain values; the Registry (registry.h) builds and indexes
// them.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "control/config/common.h"
#include "control/config/config_object.h"

namespace meshd::control::registry {

using config::Labels;
using config::Protocol;

// The label Istio's injector puts on pods that run a sidecar; "istio" means the endpoint accepts
// Istio mutual TLS.
inline constexpr std::string_view kTlsModeLabel = "security.istio.io/tlsMode";
inline constexpr std::string_view kTlsModeIstio = "istio";
inline constexpr std::string_view kTlsModeDisabled = "disabled";

// Where an instance comes from: a process meshctl runs with a sidecar (a pod, in Istio terms) or a
// WorkloadEntry (a VM or other workload the mesh does not run).
enum class InstanceKind { kProcess, kWorkloadEntry };

// (namespace, name): an instance's identity.
using InstanceId = std::pair<std::string, std::string>;

// One running copy of a workload, with the address it can be reached at.
struct WorkloadInstance {
  std::string name; // unique in its namespace among instances of the same kind
  std::string ns;
  Labels labels;
  std::string address; // IP, host name or "unix:///path"; instances without one are not endpoints
  std::string serviceAccount;
  // Processes: container port name → port (a Kubernetes Service's named targetPort looks here).
  // WorkloadEntries: service port name → port (their `ports` map).
  std::map<std::string, uint32_t> namedPorts;
  std::string locality; // "region/zone/subzone"
  std::string network;
  uint32_t weight = 0; // 0 = unset (the load balancer's default)
  bool healthy = true;
  InstanceKind kind = InstanceKind::kProcess;
  std::string source; // for messages: "LocalWorkload default/reviews-v1 #0"

  bool operator==(const WorkloadInstance&) const = default;
};

// How the proxy finds a service's endpoints (Istio's model.Resolution).
enum class Resolution {
  kClientSideLb, // the endpoints listed here (EDS)
  kDns,          // endpoints are host names the proxy resolves (STRICT_DNS)
  kDnsRoundRobin,
  kDynamicDns,
  kPassthrough, // no endpoints: connect to the original destination (ORIGINAL_DST)
};
std::string_view resolutionName(Resolution resolution);

enum class Location { kMeshInternal, kMeshExternal };

struct ServicePort {
  std::string name;
  uint32_t number = 0;
  Protocol protocol = Protocol::kUnspecified; // kUnspecified: the proxy sniffs
  uint32_t targetPort = 0;                    // 0: the same as number, or named
  std::string targetPortName;                 // a container port name (Kubernetes only)

  bool operator==(const ServicePort&) const = default;
};

struct Service {
  std::string hostname; // FQDN, or "*.example.com" for a wildcard ServiceEntry host
  std::string ns;
  std::vector<ServicePort> ports;     // as declared
  std::vector<std::string> addresses; // VIPs: the clusterIP or the ServiceEntry's addresses
  Resolution resolution = Resolution::kClientSideLb;
  Location location = Location::kMeshInternal;
  std::vector<std::string> exportTo = {"*"}; // "*", ".", "~" or namespace names
  std::vector<std::string> subjectAltNames;  // from the ServiceEntry
  std::string externalName;                  // Kubernetes ExternalName services only
  config::ObjectKey owner;                   // the object that defines the service
  std::string creationTimestamp;             // owner's metadata.creationTimestamp; "" unknown

  const ServicePort* port(uint32_t number) const;
  const ServicePort* portNamed(std::string_view name) const;
  // Whether workloads in namespace `ns` may use the service (exportTo).
  bool visibleFrom(std::string_view ns) const;

  bool operator==(const Service&) const = default;
};

enum class AddressKind { kIp, kHostName, kUnixSocket };
AddressKind addressKindOf(std::string_view address);

// One address of a service on one of its ports.
struct ServiceEndpoint {
  std::string address;
  AddressKind addressKind = AddressKind::kIp; // kHostName: resolved by the proxy (DNS)
  uint32_t port = 0;                          // the workload's port; 0 for unix sockets
  uint32_t servicePort = 0;
  std::string servicePortName;
  Labels labels; // what DestinationRule subsets select on
  std::string serviceAccount;
  std::string locality;
  std::string network;
  uint32_t weight = 0;
  bool healthy = true;
  std::string workloadName; // the instance, or the ServiceEntry for its inline endpoints
  std::string workloadNamespace;
  std::string tlsMode = std::string(kTlsModeDisabled); // kTlsModeIstio when a sidecar is in front

  bool operator==(const ServiceEndpoint&) const = default;
};

} // namespace meshd::control::registry
