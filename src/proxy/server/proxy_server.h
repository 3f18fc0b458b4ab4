// mesh-proxy's process: the main thread (config, admin, signals, shutdown) and the workers
// (listeners and connections), wired together. DESIGN §4.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "core/event_loop.h"
#include "core/http/admin_http_server.h"
#include "core/signals.h"
#include "core/snapshot_slot.h"
#include "core/stats/store.h"
#include "core/worker_pool.h"
#include "envoy/admin/v3/config_dump.pb.h"
#include "proxy/network/listener.h"
#include "proxy/server/health_checks.h"
#include "proxy/server/node_identity.h"
#include "proxy/server/overload_manager.h"
#include "proxy/server/runtime.h"
#include "proxy/upstream/dns_cluster_refresher.h"
#include "proxy/upstream/eds_file_watcher.h"
#include "proxy/xds/ads_client.h"
#include "proxy/xds/ads_dispatcher.h"
#include "proxy/xds/cluster_discovery.h"
#include "proxy/xds/listener_discovery.h"
#include "proxy/xds/route_discovery.h"

namespace meshd::proxy::server {

struct ServerOptions {
  std::string configPath;
  uint32_t concurrency = 2;
  std::chrono::seconds drainTime{5};
  std::string adminAddressPath; // where to write "ip:port" of the admin listener, if set
  // Where the last accepted xDS responses are kept, so a restart without the control plane
  // serves them; empty: not kept.
  std::string xdsCacheDir;
  // Replaces the bootstrap node's id, cluster and identity metadata when set (node_identity.h).
  std::optional<NodeIdentity> nodeIdentity;
};

enum class ServerState { kInitializing, kLive, kDraining };

class ProxyServer {
public:
  explicit ProxyServer(ServerOptions options);
  ~ProxyServer();

  // Loads and validates the bootstrap, binds every listener, starts workers and admin.
  absl::Status start();
  // Runs the main loop until shutdown has completed.
  void run();
  // Stops accepting, lets open connections finish for up to the drain time, then exits run().
  void shutdown();

private:
  struct WorkerState; // owned by one worker thread once started
  struct BoundListener {
    std::string name;
    boost::asio::ip::tcp::endpoint endpoint;
    std::vector<int> fds; // one per worker, handed over by startAccepting()
  };

  // Binds every listener on the main thread, so errors surface at start and port 0 resolves.
  absl::Status bindListeners(const config::ProxyConfig& config);
  absl::Status bindListener(const config::ListenerConfig& listener);
  void startAccepting();
  void startAccepting(BoundListener& bound);
  void stopAccepting(const std::string& name);
  // Drops the bound entries of `name` that were (`started`) or were not yet handed to workers.
  void forgetBound(const std::string& name, bool started);
  // On a worker: listener filters, filter chain selection, then the chain's network filter.
  void onAccept(uint32_t worker, core::EventLoop& loop, const std::string& listener_name,
                boost::asio::ip::tcp::socket socket);
  // ADS: CDS and EDS from the control plane.
  void startXds(const config::ProxyConfig& config, const envoy::config::core::v3::Node& node);
  // One initialization (DNS clusters, xDS) finished; the last one makes the server live.
  void initDone();
  // Once every cluster is initialized: listeners start accepting.
  void becomeLive();
  // LDS: binds the new listeners (an error rejects the update whole), publishes, starts the new
  // acceptors and stops the removed ones.
  // After the drain time, closes the connections still open on old versions of `listeners` that
  // were accepted before the runtime `generation` (the one that changed them).
  void closeDrainedConnectionsLater(std::set<std::string> listeners, uint64_t generation);
  // After an RDS update: applies the LDS listeners whose routes have now arrived.
  void applyWarmedListeners();
  absl::Status updateDynamicListeners(std::vector<config::ListenerConfig> listeners);
  // Publishes a runtime built from the current config with `change` applied.
  void publishConfig(const std::function<void(config::ProxyConfig&)>& change);
  void updateClusterHosts(const std::string& cluster, std::vector<config::HostConfig> hosts);
  // An outlier detector or a health checker changed a host's health: rebuild the runtime on the
  // next turn.
  void hostHealthChanged();
  // At start: once every host known then has had its first health check, one initialization
  // is done.
  void firstHealthChecksMaybeDone();
  void registerAdminEndpoints();
  // /config_dump: the clusters, endpoints and routes held from ADS, with versions.
  void addDynamicConfig(envoy::admin::v3::ConfigDump& dump) const;
  void drainListeners();
  // stop_accepting_connections turned on or off: every worker's acceptors pause or resume.
  void setAcceptorsPaused(bool paused);
  int64_t activeDownstreamConnections() const;

  ServerOptions options_;
  std::chrono::steady_clock::time_point startedAt_;
  core::EventLoop main_{"main"};
  stats::Store store_;
  // bootstrap overload_manager (null without one); workers read its action states.
  std::unique_ptr<OverloadManager> overload_;
  // Declared before workers_ so it is destroyed after the workers' loops: objects left in a loop
  // (connections, requests) refer to their worker's state while they are torn down.
  std::vector<std::unique_ptr<WorkerState>> workerStates_;
  core::WorkerPool workers_;
  core::SnapshotSlot<Runtime> runtime_;
  // Outlier detectors and health checkers are made on the main thread; an ejection or a health
  // change rebuilds the runtime (once for all changes of a loop turn).
  core::DefaultRandomGenerator mainRandom_;
  Runtime::OutlierDetectorFactory outlierDetectors_;
  bool healthRebuildPending_ = false;
  HealthChecks healthChecks_;
  // As Envoy's cluster warming: at start, listeners wait for the first check of every host.
  bool waitingForFirstHealthChecks_ = false;
  std::vector<BoundListener> boundListeners_;
  std::map<std::string, boost::asio::ip::tcp::endpoint> boundEndpoints_; // by listener name
  core::AdminHttpServer admin_;
  std::unique_ptr<core::ShutdownSignals> signals_;
  std::unique_ptr<core::Timer> drainTimer_;
  std::chrono::steady_clock::time_point drainDeadline_;
  ServerState state_ = ServerState::kInitializing;
  // Last: destroyed first, while the main loop they use still exists.
  std::unique_ptr<upstream::DnsClusterRefresher> dns_;
  std::unique_ptr<upstream::EdsFileWatcher> eds_;
  std::unique_ptr<core::Timer> initialFetchTimer_;
  int pendingInit_ = 1;
  std::unique_ptr<xds::ClusterDiscovery> discovery_;
  std::unique_ptr<xds::RouteDiscovery> routes_;
  std::unique_ptr<xds::ListenerDiscovery> listeners_;
  std::set<std::string> dynamicListeners_; // names of the listeners from LDS
  // The last LDS update as received, and the names of its listeners waiting for their routes.
  std::vector<config::ListenerConfig> requestedListeners_;
  std::set<std::string> warmingListeners_;
  stats::SetGauge listenersWarming_;
  xds::AdsDispatcher dispatcher_;
  std::unique_ptr<xds::AdsClient> ads_; // after discovery_: stops before its handler goes
};

} // namespace meshd::proxy::server
