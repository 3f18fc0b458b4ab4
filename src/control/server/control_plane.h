// ControlPlane: meshd's process wiring (DESIGN.md §1, §4). The main thread's event loop runs the
// HTTP port (config REST API, /metrics, /ready, /debug/*), follows hand edits of the config
// directory and handles signals; the xDS server has its own gRPC and push threads.
//
// Ingest → snapshot → translate → serve (DESIGN.md §2): today the config store (ingest) and the
// xDS server (serve) are wired; configChanged() is the seam where snapshot building and
// translation will plug in.
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
#include "control/config/store/file_config_store.h"
#include "control/server/config_metrics.h"
#include "control/xds/snapshot_cache.h"
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
};

class ControlPlane {
public:
  // `validator` decides which config is accepted; it must outlive the control plane.
  ControlPlane(ControlPlaneOptions options, const config::ConfigValidator& validator);
  ~ControlPlane();
  ControlPlane(const ControlPlane&) = delete;
  ControlPlane& operator=(const ControlPlane&) = delete;

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
  // Called with every accepted config change, on the writer's thread (the main loop). The
  // translation seam: it will post `changes` to the snapshot thread, which debounces them
  // (DESIGN.md §2 step 2), builds the Snapshot, translates it to Envoy resources, publishes them
  // with cache_.setDefault()/setForNode() and calls xds_->push().
  void configChanged(const std::vector<config::ConfigChange>& changes);
  void registerEndpoints();

  ControlPlaneOptions options_;
  core::EventLoop main_{"main"};
  stats::Store stats_;
  config::FileConfigStore store_;
  ConfigMetrics configMetrics_;
  xds::SnapshotCache cache_;
  std::unique_ptr<xds::XdsServer> xds_;
  core::AdminHttpServer http_;
  api::ConfigApi api_;
  std::unique_ptr<core::ShutdownSignals> signals_;
  uint16_t xdsPort_ = 0;
  uint16_t httpPort_ = 0;
  std::atomic<bool> ready_{false};
};

} // namespace meshd::control::server
