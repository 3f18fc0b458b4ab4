// The pure parts of running a local mesh: the workloads meshd holds (LocalWorkload objects) as
// instances to run, cluster IPs for Services that have none (as Kubernetes allocates them), the
// /etc/hosts each instance sees (Kubernetes DNS names), and a proxy's bootstrap.
#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "nlohmann/json.hpp"

namespace meshd::cli::mesh {

struct WorkloadPort {
  std::string name;
  int port = 0;
};

// One LocalWorkload (docs/config.md) as meshd serves it.
struct WorkloadSpec {
  std::string ns;
  std::string name;
  std::map<std::string, std::string> labels;
  std::string serviceAccount = "default";
  std::vector<WorkloadPort> ports;
  std::vector<std::string> command;
  std::map<std::string, std::string> env;
  std::string workingDir;
  int replicas = 1;
  std::string fingerprint; // the spec as text: a change restarts the instances
};

// From meshd's list answer (`{"items": [...]}` of /apis/v1/localworkloads). Objects that do not
// have the shape (meshd validated them, so only a newer meshd could send those) are skipped.
std::vector<WorkloadSpec> workloadsFromList(const nlohmann::json& list);

// Local mode's loopback addresses (Linux routes all of 127.0.0.0/8 to the loopback interface):
// the k-th instance's sidecar on 127.77.x.y, its app on 127.78.x.y, the ingress gateway on
// 127.77.0.2, the egress gateway on 127.77.0.3.
inline constexpr const char* kLocalGatewayAddress = "127.77.0.2";
inline constexpr const char* kLocalEgressGatewayAddress = "127.77.0.3";
std::string localPodAddress(int index);
std::string localAppAddress(int index);

// FNV-1a of `text`: stable names and addresses derived from paths and object names.
uint32_t fnv1a(std::string_view text);

// The name of a workload's replica `index` (0-based), like a pod's: "<workload>-<index>".
std::string instanceName(const WorkloadSpec& workload, int index);

struct ServiceAddress {
  std::string ns;
  std::string name;
  std::string clusterIp; // "" when none was allocated yet; "None" for headless
};
std::vector<ServiceAddress> servicesFromList(const nlohmann::json& list);

// A cluster IP in 10.96.0.0/16 for a Service: chosen from its name so it stays the same across
// runs, moved on past addresses already `taken`.
std::string allocateClusterIp(const std::string& ns, const std::string& name,
                              const std::set<std::string>& taken);

// A ServiceEntry host with an address of its own (`addresses`, not a CIDR range): resolvable by
// its name in every instance, as Istio's DNS proxy answers for it.
struct HostAddress {
  std::string host;
  std::string address;
};
std::vector<HostAddress> serviceEntryHostsFromList(const nlohmann::json& list);

// The /etc/hosts of an instance: itself, every Service with a cluster IP by
// `<name>.<ns>.svc.cluster.local` and `<name>.<ns>`, and by `<name>` in its own namespace, and
// the ServiceEntry hosts that have an address.
std::string hostsFileFor(const std::string& podIp, const std::string& podName,
                         const std::string& podNs, const std::vector<ServiceAddress>& services,
                         const std::vector<HostAddress>& entryHosts = {});

// The Services of the mesh's own gateways (in istio-system, as Istio installs them): port 80 to
// the gateways' 8080 and 443 to 8443, so that routes can name
// `istio-egressgateway.istio-system.svc.cluster.local` as Istio's egress task does. Port 80 is
// named `http`, not Istio's `http2`: mesh-proxy has no HTTP/2 upstreams yet.
std::string gatewayServicesYaml();

// A resolv.conf that makes no DNS query leave the instance: names come from /etc/hosts only.
std::string isolatedResolvConf(const std::string& podNs);

// The bootstrap of a proxy that gets everything else from meshd over ADS at xds address:port.
std::string proxyBootstrap(const std::string& xdsAddress, int xdsPort,
                           const std::string& adminAddress, int adminPort,
                           const std::map<std::string, std::string>& extraMetadata);

// Istio's node id of a sidecar or router: `<type>~<ip>~<pod>.<ns>~<ns>.svc.cluster.local`.
std::string nodeIdOf(const std::string& proxyType, const std::string& ip, const std::string& pod,
                     const std::string& ns);

} // namespace meshd::cli::mesh
