// mesh-proxy: the sidecar and gateway proxy. Parses the command line and runs the server.
#include <cstdlib>
#include <iostream>
#include <thread>

#include "CLI/CLI.hpp"
#include "core/logging.h"
#include "core/signals.h"
#include "proxy/server/proxy_server.h"

int main(int argc, char** argv) {
  using meshd::proxy::server::ServerOptions;
  ServerOptions options;
  std::string logLevel = "info";
  uint32_t drainSeconds = 5;
  options.concurrency = std::max(1u, std::thread::hardware_concurrency());

  CLI::App app{"mesh-proxy: the meshd sidecar and gateway proxy (Envoy v3 configuration)"};
  app.add_option("-c,--config-path", options.configPath, "Envoy v3 Bootstrap file (YAML or JSON)")
      ->required();
  app.add_option("--concurrency", options.concurrency, "worker threads (default: number of cores)")
      ->check(CLI::Range(1u, 256u));
  app.add_option("-l,--log-level", logLevel, "trace, debug, info, warning, error, critical or off");
  app.add_option("--drain-time-s", drainSeconds,
                 "seconds open connections may take to finish at shutdown");
  app.add_option("--xds-cache-dir", options.xdsCacheDir,
                 "keep the last accepted xDS config here and start from it");
  app.add_option("--admin-address-path", options.adminAddressPath,
                 "write the admin listener's ip:port to this file once listening");
  // Who this proxy is, for the control plane (Istio's agent derives these from the pod).
  meshd::proxy::server::NodeIdentity identity;
  std::vector<std::string> labels;
  auto* proxyType = app.add_option("--proxy-type", identity.proxyType,
                                   "sidecar or router (a gateway); sets the node id and metadata")
                        ->group("Node identity");
  app.add_option("--namespace", identity.ns, "the workload's namespace")->group("Node identity");
  app.add_option("--workload", identity.workloadName, "the workload's name")
      ->group("Node identity");
  app.add_option("--pod-name", identity.podName, "the instance's name (default: the workload's)")
      ->group("Node identity");
  app.add_option("--service-account", identity.serviceAccount, "the workload's service account")
      ->group("Node identity");
  app.add_option("--ip", identity.ips, "the instance's IP addresses (repeatable)")
      ->group("Node identity");
  app.add_option("--label", labels, "a workload label KEY=VALUE (repeatable)")
      ->group("Node identity");
  CLI11_PARSE(app, argc, argv);
  for (const auto& label : labels) {
    const size_t equals = label.find('=');
    if (equals == std::string::npos || equals == 0) {
      std::cerr << "mesh-proxy: --label '" << label << "' is not KEY=VALUE\n";
      return 2;
    }
    identity.labels[label.substr(0, equals)] = label.substr(equals + 1);
  }
  if (proxyType->count() > 0 || !identity.workloadName.empty()) {
    options.nodeIdentity = identity;
  }

  auto level = meshd::log::parseLevel(logLevel);
  if (!level.ok()) {
    std::cerr << "mesh-proxy: " << level.status().message() << "\n";
    return 2;
  }
  meshd::log::initialize(*level);
  meshd::core::ignoreSigpipe();
  options.drainTime = std::chrono::seconds(drainSeconds);

  meshd::proxy::server::ProxyServer server(options);
  if (const absl::Status status = server.start(); !status.ok()) {
    std::cerr << "mesh-proxy: " << status.message() << "\n";
    return 1;
  }
  server.run();
  return 0;
}
