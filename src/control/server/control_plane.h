// ControlPlane: meshd's process wiring (DESIGN.md §1, §4). The main thread's event loop runs the
// HTTP port (config REST API, /metrics, /ready, /debug/*), follows hand edits of the config
// directory and handles signals; the xDS server has its own gRPC and push threads.
//
// Ingest → snapshot → translate → serve (DESIGN.md §2): config writes and instance changes are
// debounced on the main loop, which rebuilds the MeshSnapshot (or derives an endpoint-only one)
// and publishes it to the MeshResourceProvider; the xDS server then pushes, translating per
// proxy on demand (docs/meshd.md "From config to xDS").
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "control/api/config_api.h"
#include "control/config/store/directory_watcher.h"
#include "control/config/store/file_config_store.h"
#include "control/model/mesh_snapshot.h"
#include "control/serve/mesh_resource_provider.h"
#include "control/server/config_metrics.h"
#include "control/server/instance_api.h"
#include "control/xds/push_debouncer.h"
#include "control/xds/xds_server.h"
#include "core/event_loop.h"
#include "core/http/admin_http_server.h"
#include "core/signals.h"
#include "core/stats/store.h"

namespace meshd::control::server {

struct ControlPlaneOptions {
  std::filesystem::path configDir = "meshd-config";
  std::string listenAddress = "127.0.0.1";
  uint16_t xdsPort = 15010;  // 0: any free port (xdsPort() says which)
  uint16_t httpPort = 15014; // 0: any free port (httpPort() says which)
  size_t maxRequestBytes = 4 << 20;
  std::chrono::milliseconds shutdownGrace{5000};
  // Changes (config writes, instances) within the quiet period of each other make one snapshot
  // build, never later than maxDelay after the first; 0: build at once.
  std::chrono::milliseconds debounceQuietPeriod{100};
  std::chrono::milliseconds debounceMaxDelay{1000};
  // --auto-mtls: MeshConfig.enableAutoMtls on, whatever the MeshConfig file says. Without it the
  // file decides, and without a file it is off (until mesh-proxy speaks TLS).
  bool autoMtls = false;
  // Istio MeshConfig (YAML/JSON); empty: Istio's defaults. Watched: a valid edit rebuilds the
  // snapshot, an invalid one is logged and the previous MeshConfig keeps serving.
  std::filesystem::path meshConfigFile;
};

class ControlPlane {
public:
  // `validator` decides which config is accepted; it must outlive the control plane.
  ControlPlane(ControlPlaneOptions options, const config::ConfigValidator& validator);
  ~ControlPlane();
  ControlPlane(const ControlPlane&) = delete;
  ControlPlane& operator=(const ControlPlane&) = delete;

  // Reads options.meshConfigFile (a no-op without one); an error names the file, line and field
  // of each problem. start() calls it unless it was called already; call it first to tell a bad
  // MeshConfig from other start failures.
  absl::Status loadMeshConfig();
  // Loads the config directory, starts the xDS server and the HTTP port, watches the directory
  // and installs the signal handlers. Errors if a port cannot be bound or the directory used.
  absl::Status start();
  // Runs the main loop until shutdown() (or SIGTERM/SIGINT) has completed.
  void run();
  // Stops serving: readiness off, HTTP closed, xDS streams ended (within the grace period).
  // Call on the main loop's thread.
  void shutdown();

  uint16_t xdsPort() const { return xdsPort_; }
  uint16_t httpPort() const { return httpPort_; }
  const std::string& listenAddress() const { return options_.listenAddress; }

private:
  // Called with every accepted config change, on the writer's thread (the main loop): marks the
  // config dirty and asks the debouncer for a snapshot build.
  void configChanged(const std::vector<config::ConfigChange>& changes);
  void instancesChanged();
  // On the main loop, after the debounce: a full build when the config changed, else the
  // current snapshot with the new instances; then publishes it and pushes to every proxy.
  void rebuildSnapshot();
  // Pushes what a new snapshot changed: every stream after a full build; after an
  // endpoint-only one, the streams of proxies that see a changed service.
  void pushFor(const serve::SnapshotUpdate& update);
  // On the main loop when the MeshConfig file's directory changed: re-reads the file and, if it
  // changed and is valid, rebuilds the snapshot with it.
  void reloadMeshConfig();
  // The file's MeshConfig with the command line's overrides (--auto-mtls).
  model::MeshConfig withFlags(model::MeshConfig mesh) const;
  nlohmann::json meshz() const;
  void registerEndpoints();
  void registerDebugEndpoints();
  nlohmann::json syncz();

  ControlPlaneOptions options_;
  core::EventLoop main_{"main"};
  stats::Store stats_;
  config::FileConfigStore store_;
  ConfigMetrics configMetrics_;
  serve::MeshResourceProvider provider_;
  std::unique_ptr<xds::XdsServer> xds_;
  core::AdminHttpServer http_;
  api::ConfigApi api_;
  InstanceApi instances_;
  std::unique_ptr<xds::PushDebouncer> debouncer_; // main loop only
  bool configDirty_ = true;
  // A config or instance change waits for its snapshot build (syncz: nobody is in sync yet).
  std::atomic<bool> rebuildPending_{false};
  stats::Counter snapshotBuilds_;
  stats::Histogram snapshotBuildSeconds_;
  stats::SetGauge proxiesConnected_;
  stats::Counter pushesSkipped_;
  // MeshConfig state, main loop only. meshConfigText_ is the file's text last read (valid or
  // not), so that a write that changes nothing, or an editor's temporary file, rebuilds nothing.
  bool meshConfigLoaded_ = false;
  model::MeshConfig meshConfig_;
  std::string meshConfigText_;
  std::vector<config::Diagnostic> meshConfigProblems_; // of the last read
  std::unique_ptr<config::DirectoryWatcher> meshConfigWatcher_;
  stats::Counter meshConfigReloads_;
  stats::Counter meshConfigRejects_;
  std::unique_ptr<core::ShutdownSignals> signals_;
  uint16_t xdsPort_ = 0;
  uint16_t httpPort_ = 0;
  std::atomic<bool> ready_{false};
};

} // namespace meshd::control::server
