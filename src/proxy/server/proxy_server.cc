// ProxyServer (proxy_server.h): start-up, worker wiring and graceful shutdown.
#include "proxy/server/proxy_server.h"
#include "proxy/server/worker_state.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "boost/asio/steady_timer.hpp"
#include "core/logging.h"
#include "core/status.h"
#include "fmt/format.h"
#include "proxy/config/bootstrap_loader.h"
#include "proxy/config/eds_file.h"
#include "proxy/filters/network/tcp_proxy/tcp_proxy_session.h"
#include "proxy/http/conn_manager.h"
#include "proxy/network/filter_chain_matcher.h"
#include "proxy/network/listener_filters.h"

namespace meshd::proxy::server {
namespace {

spdlog::logger& logger() {
  static spdlog::logger& instance = log::get("main");
  return instance;
}

constexpr auto kDrainPollInterval = std::chrono::milliseconds(50);

std::string xdsTarget(const config::XdsConfig& xds) {
  return fmt::format("cluster '{}' ({}:{})", xds.clusterName, xds.server.address().to_string(),
                     xds.server.port());
}

// A connection over a connection_limit: closed at once, or after the filter's delay (the socket
// stays open meanwhile, reading nothing, as Envoy does).
void closeOverLimit(core::EventLoop& loop, boost::asio::ip::tcp::socket socket,
                    std::chrono::milliseconds delay) {
  if (delay.count() == 0) {
    return; // the socket closes as it goes out of scope
  }
  auto timer = std::make_shared<boost::asio::steady_timer>(loop.context(), delay);
  timer->async_wait([timer, held = std::make_shared<boost::asio::ip::tcp::socket>(
                                std::move(socket))](const boost::system::error_code&) {});
}

// Registers a downstream connection (an HttpConnectionManager or a TcpProxySession) so that a
// drained listener's stragglers can be closed (closeDrainedConnections).
template <class Connection>
void trackConnection(network::ConnectionTracker& tracker, const Runtime& runtime,
                     const config::ListenerConfig& listener,
                     const std::shared_ptr<Connection>& connection) {
  connection->track(tracker.add(listener.name, listener.version, runtime.generation,
                                [weak = std::weak_ptr<Connection>(connection)] {
                                  if (auto alive = weak.lock()) {
                                    alive->endDrain();
                                  }
                                }));
}

// One slot holding two (the global connection limit's and a connection_limit filter's).
std::shared_ptr<void> holdBoth(std::shared_ptr<void> first, std::shared_ptr<void> second) {
  if (!first) {
    return second;
  }
  return std::make_shared<std::pair<std::shared_ptr<void>, std::shared_ptr<void>>>(
      std::move(first), std::move(second));
}

} // namespace

ProxyServer::ProxyServer(ServerOptions options)
    : options_(std::move(options)), store_(options_.concurrency + 1),
      workers_("worker_", options_.concurrency), runtime_(main_, workers_),
      healthChecks_([this](const std::string& cluster, const config::HealthCheckConfig& config) {
        return std::make_unique<upstream::HealthChecker>(
            main_, mainRandom_, store_, cluster, config,
            upstream::networkHealthProbes(main_.context(), cluster, config),
            [this] { hostHealthChanged(); });
      }),
      admin_(main_) {
  outlierDetectors_ = [this](const std::string& cluster,
                             const config::OutlierDetectionConfig& config) {
    return upstream::OutlierDetector::create(
        main_, [this](std::function<void()> task) { main_.post(std::move(task)); },
        core::RealTimeSource::instance(), mainRandom_, store_, cluster, config,
        [this] { hostHealthChanged(); });
  };
  for (uint32_t i = 0; i < options_.concurrency; ++i) {
    workerStates_.push_back(std::make_unique<WorkerState>(workers_.loop(i)));
  }
}

ProxyServer::~ProxyServer() {
  workers_.stop();
  // The loops are stopped, so worker-owned objects can be touched here without racing them.
  // Sockets must close while their loop still exists: acceptors and idle connections go first.
  for (auto& state : workerStates_) {
    state->acceptors.clear();
    state->pool.closeAll();
  }
}

absl::Status ProxyServer::start() {
  startedAt_ = std::chrono::steady_clock::now();
  store_.bindCurrentThread();
  auto bootstrap = config::loadBootstrapFile(options_.configPath);
  if (!bootstrap.ok()) {
    return bootstrap.status();
  }
  if (options_.nodeIdentity) {
    RETURN_IF_ERROR(validateNodeIdentity(*options_.nodeIdentity));
    applyNodeIdentity(*options_.nodeIdentity, *bootstrap->mutable_node());
    MESHD_LOG(logger(), info, "node id {}", bootstrap->node().id());
  }
  auto config = config::buildProxyConfig(*bootstrap);
  if (!config.ok()) {
    return absl::InvalidArgumentError(
        fmt::format("{}: {}", options_.configPath, config.status().message()));
  }
  // EDS clusters start with their file's assignment; a bad file fails the start, naming it.
  for (auto& [name, cluster] : config->clusters) {
    if (cluster.type == config::ClusterType::kEds) {
      auto hosts = config::loadEdsFile(cluster.edsPath, cluster.edsServiceName);
      if (!hosts.ok()) {
        return absl::InvalidArgumentError(
            fmt::format("cluster '{}': {}", name, hosts.status().message()));
      }
      cluster.hosts = std::move(*hosts);
    }
  }
  if (config->overload) {
    overload_ = std::make_unique<OverloadManager>(*config->overload, store_);
    // Measured before the first accept, so the first connection already sees the state.
    overload_->refresh();
    overload_->onActionChange([this](OverloadAction action, bool active) {
      if (action == OverloadAction::kStopAcceptingConnections) {
        setAcceptorsPaused(active);
      }
    });
    overload_->start(main_);
  }
  if (absl::Status status = bindListeners(*config); !status.ok()) {
    return status;
  }
  healthChecks_.apply(*config);
  const std::shared_ptr<const Runtime> runtime =
      Runtime::build(std::move(*config), boundEndpoints_, store_, nullptr, &outlierDetectors_);

  workers_.start([this](uint32_t) { store_.bindCurrentThread(); });
  runtime_.publish(runtime);
  // As Envoy, listeners accept once every cluster is initialized (DNS clusters resolved).
  auto onHosts = [this](const std::string& cluster, std::vector<config::HostConfig> hosts) {
    updateClusterHosts(cluster, std::move(hosts));
  };
  dns_ = std::make_unique<upstream::DnsClusterRefresher>(main_, store_, onHosts);
  waitingForFirstHealthChecks_ = healthChecks_.pendingHosts() > 0;
  pendingInit_ = (runtime->config.xds ? 2 : 1) + (waitingForFirstHealthChecks_ ? 1 : 0);
  if (absl::Status status = dns_->start(runtime->config, [this] { initDone(); }); !status.ok()) {
    return status;
  }
  if (runtime->config.xds) {
    startXds(runtime->config, bootstrap->node());
  }
  eds_ = std::make_unique<upstream::EdsFileWatcher>(main_, store_, onHosts);
  eds_->start(runtime->config);

  registerAdminEndpoints();
  if (const auto& admin = runtime->config.adminAddress) {
    auto bound = admin_.listen(admin->address().to_string(), admin->port());
    if (!bound.ok()) {
      return bound.status();
    }
    MESHD_LOG(logger(), info, "admin listening on {}:{}", bound->address().to_string(),
              bound->port());
    if (!options_.adminAddressPath.empty()) {
      std::ofstream(options_.adminAddressPath)
          << bound->address().to_string() << ":" << bound->port() << "\n";
    }
  }

  signals_ = std::make_unique<core::ShutdownSignals>(main_, [this](int) { shutdown(); });
  return absl::OkStatus();
}

void ProxyServer::startXds(const config::ProxyConfig& config,
                           const envoy::config::core::v3::Node& node) {
  const config::XdsConfig& xds = *config.xds;
  auto apply = [this](const std::function<void(config::ProxyConfig&)>& change) {
    publishConfig(change);
  };
  discovery_ = std::make_unique<xds::ClusterDiscovery>(config, apply, store_, dns_.get());
  routes_ = std::make_unique<xds::RouteDiscovery>(
      config,
      [this](const std::function<void(config::ProxyConfig&)>& change) {
        publishConfig(change);
        applyWarmedListeners();
      },
      store_);
  dispatcher_.route(xds::kClusterType, *discovery_);
  dispatcher_.route(xds::kEndpointType, *discovery_);
  dispatcher_.route(xds::kRouteType, *routes_);
  if (xds.lds) {
    listeners_ = std::make_unique<xds::ListenerDiscovery>(
        config,
        [this](std::vector<config::ListenerConfig> listeners) {
          return updateDynamicListeners(std::move(listeners));
        },
        [this](std::set<std::string> names) { routes_->setListenerNames(std::move(names)); },
        store_);
    dispatcher_.route(xds::kListenerType, *listeners_);
    listenersWarming_ = store_.setGauge("listener_manager.total_listeners_warming", {},
                                        "LDS listeners waiting for their routes before use");
  }
  ads_ = std::make_unique<xds::AdsClient>(main_, xds.server, node, dispatcher_,
                                          xds.delta ? xds::AdsClient::Mode::kDelta
                                                    : xds::AdsClient::Mode::kStateOfTheWorld);
  // Initialized when clusters (with endpoints), listeners and routes arrived.
  auto initialized = std::make_shared<int>(xds.lds ? 3 : 2);
  auto done = [this, initialized] {
    if (--*initialized == 0) {
      initDone();
    }
  };
  discovery_->start(*ads_, done);
  if (listeners_) {
    listeners_->start(*ads_, done);
  }
  routes_->start(*ads_, done);
  if (!options_.xdsCacheDir.empty()) {
    std::error_code error;
    std::filesystem::create_directories(options_.xdsCacheDir, error);
    if (error) {
      MESHD_LOG(logger(), warn, "xDS cache directory {}: {}", options_.xdsCacheDir,
                error.message());
    }
    ads_->setCacheDir(options_.xdsCacheDir);
    // The last good config first: a restart while the control plane is away comes up serving.
    ads_->replayCache({xds::kClusterType, xds::kEndpointType, xds::kListenerType, xds::kRouteType});
  }
  ads_->start();
  // As Envoy's initial_fetch_timeout: without an answer in time, start with what there is.
  initialFetchTimer_ = main_.createTimer([this, initialized] {
    if (*initialized > 0) {
      MESHD_LOG(logger(), warn, "no initial xDS config from {} within the initial fetch timeout",
                xdsTarget(*runtime_.latest()->config.xds));
      *initialized = 0;
      initDone();
    }
  });
  initialFetchTimer_->enable(xds.initialFetchTimeout);
}

void ProxyServer::initDone() {
  if (--pendingInit_ == 0) {
    becomeLive();
  }
}

void ProxyServer::becomeLive() {
  if (state_ == ServerState::kDraining) {
    return; // shut down before the clusters were ready
  }
  startAccepting();
  state_ = ServerState::kLive;
  const auto runtime = runtime_.latest();
  MESHD_LOG(logger(), info, "mesh-proxy live: {} listener(s), {} cluster(s), {} worker(s)",
            runtime->config.listeners.size(), runtime->clusters.size(), options_.concurrency);
}

void ProxyServer::updateClusterHosts(const std::string& cluster,
                                     std::vector<config::HostConfig> hosts) {
  publishConfig([&](config::ProxyConfig& config) {
    if (const auto found = config.clusters.find(cluster); found != config.clusters.end()) {
      found->second.hosts = std::move(hosts);
    }
  });
}

void ProxyServer::firstHealthChecksMaybeDone() {
  if (waitingForFirstHealthChecks_ && healthChecks_.pendingHosts() == 0) {
    waitingForFirstHealthChecks_ = false;
    initDone();
  }
}

void ProxyServer::hostHealthChanged() {
  firstHealthChecksMaybeDone();
  if (healthRebuildPending_) {
    return;
  }
  healthRebuildPending_ = true;
  main_.post([this] {
    healthRebuildPending_ = false;
    // Ejections are applied in Runtime::build, health check results in publishConfig.
    publishConfig([](config::ProxyConfig&) {});
  });
}

void ProxyServer::publishConfig(const std::function<void(config::ProxyConfig&)>& change) {
  // A new runtime from the current config and the change; requests already routed keep the old
  // one.
  const std::shared_ptr<const Runtime> current = runtime_.latest();
  config::ProxyConfig config = current->config;
  change(config);
  healthChecks_.apply(config);
  std::vector<std::string> removed;
  for (const auto& [name, cluster] : current->config.clusters) {
    if (!config.clusters.contains(name)) {
      removed.push_back(name);
    }
  }
  runtime_.publish(Runtime::build(std::move(config), boundEndpoints_, store_, current.get(),
                                  &outlierDetectors_));
  firstHealthChecksMaybeDone(); // the hosts still pending may have gone
  // A removed cluster's pooled connections go too (requests still using it finish first).
  if (!removed.empty()) {
    const uint64_t watermark = upstream::Cluster::idWatermark();
    for (uint32_t i = 0; i < workers_.size(); ++i) {
      workers_.loop(i).post([this, i, removed, watermark] {
        for (const auto& name : removed) {
          workerStates_[i]->pool.closeCluster(name, watermark);
        }
      });
    }
  }
}

void ProxyServer::onAccept(uint32_t worker, core::EventLoop& loop, const std::string& listener_name,
                           boost::asio::ip::tcp::socket socket) {
  // The snapshot current on this worker at accept time serves the whole connection.
  std::shared_ptr<const Runtime> runtime = runtime_.onWorker();
  const config::ListenerConfig* listener = runtime->listener(listener_name);
  if (listener == nullptr) {
    return;
  }
  network::ConnectionInfo info;
  boost::system::error_code error;
  info.localAddress = socket.local_endpoint(error);
  if (!error) {
    info.remoteAddress = socket.remote_endpoint(error);
  }
  if (error) {
    return; // already gone
  }
  if (overload_ != nullptr) {
    // An accept already under way when stop_accepting_connections turned on is closed here.
    if (overload_->active(OverloadAction::kStopAcceptingConnections)) {
      runtime->listenerStats.at(listener->name).downstreamCxOverloadReject.inc();
      return;
    }
    // The global limit counts every listener's connections on every worker, from accept on.
    info.limitSlot = overload_->tryAcquireConnection();
    if (!info.limitSlot) {
      runtime->listenerStats.at(listener->name).downstreamGlobalCxOverflow.inc();
      return;
    }
  }
  if (listener->originalDst) {
    if (const auto original = network::originalDestination(socket.native_handle())) {
      info.localAddress = *original;
    }
  }
  auto dispatch = [this, worker, &loop, runtime, listener](boost::asio::ip::tcp::socket accepted,
                                                           network::ConnectionInfo inspected) {
    const config::FilterChainConfig* chain = network::selectFilterChain(*listener, inspected);
    if (chain == nullptr) {
      runtime->listenerStats.at(listener->name).noFilterChainMatch.inc();
      return; // closing the socket is the answer, as in Envoy
    }
    if (chain->connectionLimit) {
      std::shared_ptr<void> chainSlot = runtime->connectionLimiters.at(chain)->tryAcquire();
      if (!chainSlot) {
        closeOverLimit(loop, std::move(accepted), chain->connectionLimit->delay);
        return;
      }
      inspected.limitSlot = holdBoth(std::move(inspected.limitSlot), std::move(chainSlot));
    }
    WorkerState& state = *workerStates_[worker];
    if (chain->http) {
      auto connection = std::make_shared<http::HttpConnectionManager>(
          http::WorkerContext{loop, runtime_, state.balancers, state.pool, state.random,
                              state.shadows, overload_.get()},
          std::move(accepted), runtime, *listener, *chain, inspected);
      trackConnection(state.connections, *runtime, *listener, connection);
      connection->start();
    } else {
      const auto cluster =
          runtime->clusters.find(filters::pickTcpProxyCluster(*chain->tcpProxy, state.random));
      if (cluster == runtime->clusters.end()) {
        // Gone from CDS (or never came): as Envoy, the connection is closed.
        runtime->chainStats.at(chain).tcpNoRoute.inc();
        return;
      }
      auto session = std::make_shared<filters::TcpProxySession>(loop, std::move(accepted), runtime,
                                                                *listener, *chain, inspected,
                                                                state.balancers, cluster->second);
      trackConnection(state.connections, *runtime, *listener, session);
      session->start();
    }
  };
  if (listener->tlsInspector || listener->httpInspector) {
    std::make_shared<network::ListenerInspection>(
        loop, std::move(socket), std::move(info), listener->tlsInspector, listener->httpInspector,
        listener->listenerFiltersTimeout, listener->continueOnListenerFiltersTimeout,
        std::move(dispatch))
        ->start();
    return;
  }
  dispatch(std::move(socket), std::move(info));
}

void ProxyServer::run() {
  main_.run();
}

void ProxyServer::drainListeners() {
  for (uint32_t i = 0; i < workers_.size(); ++i) {
    workers_.loop(i).post([this, i] {
      for (auto& [name, acceptor] : workerStates_[i]->acceptors) {
        acceptor->close();
      }
    });
  }
}

void ProxyServer::setAcceptorsPaused(bool paused) {
  MESHD_LOG(logger(), warn, "overload: {} accepting connections", paused ? "stopped" : "resumed");
  for (uint32_t i = 0; i < workers_.size(); ++i) {
    workers_.loop(i).post([this, i, paused] {
      for (auto& [name, acceptor] : workerStates_[i]->acceptors) {
        acceptor->setPaused(paused);
      }
    });
  }
}

int64_t ProxyServer::activeDownstreamConnections() const {
  int64_t active = 0;
  if (const auto& runtime = runtime_.latest()) {
    for (const auto& [name, listenerStats] : runtime->listenerStats) {
      active += listenerStats.downstreamCxActive.value();
    }
  }
  return active;
}

void ProxyServer::shutdown() {
  if (state_ == ServerState::kDraining) {
    return;
  }
  state_ = ServerState::kDraining;
  MESHD_LOG(logger(), info, "draining: no new connections; waiting up to {}s for {} open one(s)",
            options_.drainTime.count(), activeDownstreamConnections());
  drainListeners(); // admin stays up: /ready reports the drain
  drainDeadline_ = std::chrono::steady_clock::now() + options_.drainTime;
  drainTimer_ = main_.createTimer([this] {
    if (activeDownstreamConnections() > 0 && std::chrono::steady_clock::now() < drainDeadline_) {
      drainTimer_->enable(kDrainPollInterval);
      return;
    }
    MESHD_LOG(logger(), info, "drained; exiting with {} connection(s) still open",
              activeDownstreamConnections());
    workers_.stop();
    main_.stop();
  });
  drainTimer_->enable(kDrainPollInterval);
}

} // namespace meshd::proxy::server
