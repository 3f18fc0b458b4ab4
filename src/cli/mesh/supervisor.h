// The process that runs a local mesh (docs/local-mesh.md): `meshctl up` starts it in the
// background. It creates the mesh's network, starts meshd, the ingress gateway and the relays that
// make them reachable on the host's 127.0.0.1, then keeps the workload instances in line with the
// LocalWorkload objects meshd holds (like a kubelet): each instance gets its namespace and sidecar,
// its app starts once the sidecar has its config, and it is registered with meshd as an endpoint
// once its port answers. SIGTERM tears everything down.
#pragma once

#include <filesystem>
#include <string>

namespace meshd::cli::mesh {

struct SupervisorOptions {
  std::filesystem::path stateDir;
  std::string mode = "netns";   // netns or local
  int ingressPort = 8080;       // on the host's 127.0.0.1; 0 picks one (see status.json)
  int xdsPort = 15010;          // meshd's, on the host's 127.0.0.1; 0 picks one
  int httpPort = 15014;         // meshd's REST API, /metrics, /debug; 0 picks one
  std::filesystem::path binDir; // where meshd and mesh-proxy are
  std::string proxyLogLevel = "warning";
  std::filesystem::path meshConfig; // meshd's --mesh-config (absolute); empty: none
};

// Runs until SIGTERM or SIGINT; returns the exit status.
int runSupervisor(const SupervisorOptions& options);

} // namespace meshd::cli::mesh
