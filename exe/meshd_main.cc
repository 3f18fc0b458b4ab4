// meshd: the control plane. Parses the command line, picks the config validator and runs the
// ControlPlane (docs/meshd.md).
#include <cstdlib>
#include <iostream>

#include "CLI/CLI.hpp"
#include "control/config/istio_validator.h"
#include "control/server/control_plane.h"
#include "core/logging.h"
#include "core/signals.h"

int main(int argc, char** argv) {
  meshd::control::server::ControlPlaneOptions options;
  std::string configDir = options.configDir.string();
  std::string logLevel = "info";

  CLI::App app{"meshd: the meshd control plane (Istio API config in, Envoy v3 xDS out)"};
  app.add_option("--config-dir", configDir,
                 "directory of config files, one per object (created if missing)")
      ->capture_default_str();
  app.add_option("--listen-address", options.listenAddress, "address the ports bind to")
      ->capture_default_str();
  app.add_option("--xds-port", options.xdsPort, "xDS (ADS) gRPC port, plaintext; 0 picks one")
      ->capture_default_str();
  app.add_option("--http-port", options.httpPort,
                 "HTTP port: config API, /metrics, /ready, /debug/*; 0 picks one")
      ->capture_default_str();
  app.add_option("-l,--log-level", logLevel, "trace, debug, info, warning, error, critical or off");
  int64_t debounceMs = options.debounceQuietPeriod.count();
  int64_t debounceMaxMs = options.debounceMaxDelay.count();
  app.add_option("--debounce-ms", debounceMs,
                 "quiet period: changes closer than this make one snapshot build (0: none)")
      ->capture_default_str();
  app.add_option("--debounce-max-ms", debounceMaxMs,
                 "a snapshot build is never delayed longer than this after the first change")
      ->capture_default_str();
  app.add_flag("--auto-mtls", options.autoMtls,
               "MeshConfig enableAutoMtls on, whatever --mesh-config says: ISTIO_MUTUAL to sidecar "
               "endpoints without a DestinationRule tls setting (default off: mesh-proxy has no "
               "TLS yet)");
  std::string meshConfigFile;
  app.add_option("--mesh-config", meshConfigFile,
                 "Istio MeshConfig file (YAML or JSON: the istio ConfigMap's data.mesh); watched, "
                 "a valid change applies at once, an invalid one is logged and ignored");
  CLI11_PARSE(app, argc, argv);
  options.debounceQuietPeriod = std::chrono::milliseconds(debounceMs);
  options.debounceMaxDelay = std::chrono::milliseconds(debounceMaxMs);

  auto level = meshd::log::parseLevel(logLevel);
  if (!level.ok()) {
    std::cerr << "meshd: " << level.status().message() << "\n";
    return 2;
  }
  meshd::log::initialize(*level);
  meshd::core::ignoreSigpipe();
  options.configDir = configDir;
  options.meshConfigFile = meshConfigFile;

  const meshd::control::config::IstioValidator validator;
  meshd::control::server::ControlPlane controlPlane(options, validator);
  // A bad MeshConfig is a usage error (exit 2, like a bad flag), told apart from start failures.
  if (const absl::Status status = controlPlane.loadMeshConfig(); !status.ok()) {
    std::cerr << "meshd: " << status.message() << "\n";
    return 2;
  }
  if (const absl::Status status = controlPlane.start(); !status.ok()) {
    std::cerr << "meshd: " << status.message() << "\n";
    return 1;
  }
  // One line per port on stdout, for scripts and tests that asked for port 0.
  std::cout << "xds listening on " << controlPlane.listenAddress() << ":" << controlPlane.xdsPort()
            << "\nhttp listening on " << controlPlane.listenAddress() << ":"
            << controlPlane.httpPort() << std::endl;
  controlPlane.run();
  return 0;
}
