// ControlPlane (control_plane.h).
#include "control/server/control_plane.h"

#include "control/api/api_json.h"
#include "control/model/mesh_config_file.h"
#include "control/xds/debug_json.h"
#include "control/xds/response_builder.h"
#include "control/xds/version_hash.h"
#include "core/logging.h"
#include "core/stats/prometheus.h"
#include "core/status.h"
#include "fmt/format.h"
#include "google/protobuf/util/json_util.h"

namespace meshd::control::server {
namespace {

spdlog::logger& logger() {
  static spdlog::logger& instance = log::get("meshd");
  return instance;
}

core::AdminResponse jsonResponse(const nlohmann::json& body) {
  return {200, "application/json",
          body.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n"};
}

// Protobuf JSON of each message, with the proto field names (as Envoy's config_dump).
template <class Message>
nlohmann::json protoArray(const std::vector<Message>& messages) {
  nlohmann::json out = nlohmann::json::array();
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  for (const Message& message : messages) {
    std::string text;
    if (google::protobuf::util::MessageToJsonString(message, &text, options).ok()) {
      out.push_back(nlohmann::json::parse(text, nullptr, false));
    }
  }
  return out;
}

// meshd's MeshConfig before the file and the flags: Istio's defaults, but auto-mTLS off until
// mesh-proxy speaks TLS.
model::MeshConfig meshdDefaults() {
  model::MeshConfig mesh;
  mesh.enableAutoMtls = false;
  return mesh;
}

std::string joinDiagnostics(const std::vector<config::Diagnostic>& diagnostics) {
  std::string out;
  for (const config::Diagnostic& diagnostic : diagnostics) {
    out += (out.empty() ? "" : "\n") + diagnostic.toString();
  }
  return out;
}

void logDiagnostics(const std::vector<config::Diagnostic>& diagnostics) {
  for (const config::Diagnostic& diagnostic : diagnostics) {
    if (diagnostic.severity == config::Diagnostic::Severity::kError) {
      MESHD_LOG(logger(), err, "{}", diagnostic.toString());
    } else {
      MESHD_LOG(logger(), warn, "{}", diagnostic.toString());
    }
  }
}

} // namespace

ControlPlane::ControlPlane(ControlPlaneOptions options, const config::ConfigValidator& validator)
    : options_(std::move(options)), store_(options_.configDir, validator),
      configMetrics_(store_, stats_), provider_(&stats_), http_(main_, options_.maxRequestBytes),
      api_(store_, stats_), instances_([this] { instancesChanged(); }),
      snapshotBuilds_(stats_.counter("meshd_snapshot_builds_total", {},
                                     "MeshSnapshot builds (full and endpoint-only)")),
      snapshotBuildSeconds_(stats_.histogram("meshd_snapshot_build_seconds", {},
                                             {0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5},
                                             "Time to build one MeshSnapshot")),
      proxiesConnected_(
          stats_.setGauge("meshd_proxies_connected", {}, "xDS streams open (at the last scrape)")),
      pushesSkipped_(stats_.counter("meshd_pushes_skipped_total", {},
                                    "xDS streams an endpoint-only snapshot did not push to (the "
                                    "proxy sees no changed service)")),
      meshConfigReloads_(stats_.counter("meshd_mesh_config_reloads_total", {},
                                        "MeshConfig file changes applied (snapshot rebuilt)")),
      meshConfigRejects_(stats_.counter("meshd_mesh_config_rejected_total", {},
                                        "MeshConfig file changes rejected as invalid (the "
                                        "previous MeshConfig keeps serving; see /debug/meshz)")) {
  if (!options_.meshConfigFile.empty()) {
    std::error_code ignored;
    const std::filesystem::path absolute =
        std::filesystem::absolute(options_.meshConfigFile, ignored);
    if (!absolute.empty()) {
      options_.meshConfigFile = absolute.lexically_normal();
    }
  }
}

ControlPlane::~ControlPlane() {
  store_.stopWatching();
  meshConfigWatcher_.reset();
  if (xds_ != nullptr) {
    xds_->shutdown(std::chrono::milliseconds(0));
  }
}

model::MeshConfig ControlPlane::withFlags(model::MeshConfig mesh) const {
  if (options_.autoMtls) {
    mesh.enableAutoMtls = true;
  }
  return mesh;
}

absl::Status ControlPlane::loadMeshConfig() {
  meshConfigLoaded_ = true;
  if (options_.meshConfigFile.empty()) {
    meshConfig_ = withFlags(meshdDefaults());
    return absl::OkStatus();
  }
  std::vector<config::Diagnostic> problems;
  const std::optional<model::MeshConfig> mesh = model::loadMeshConfigFile(
      options_.meshConfigFile, meshdDefaults(), problems, &meshConfigText_);
  meshConfigProblems_ = problems;
  if (!mesh) {
    return absl::InvalidArgumentError(
        fmt::format("invalid MeshConfig:\n{}", joinDiagnostics(problems)));
  }
  logDiagnostics(problems);
  meshConfig_ = withFlags(*mesh);
  MESHD_LOG(logger(), info, "MeshConfig from {}: {}", options_.meshConfigFile.string(),
            model::meshConfigJson(meshConfig_).dump());
  return absl::OkStatus();
}

void ControlPlane::reloadMeshConfig() {
  std::vector<config::Diagnostic> problems;
  std::string text;
  const std::optional<model::MeshConfig> mesh =
      model::loadMeshConfigFile(options_.meshConfigFile, meshdDefaults(), problems, &text);
  const bool lastReadFailed = config::hasErrors(meshConfigProblems_);
  if (text == meshConfigText_ && mesh.has_value() != lastReadFailed) {
    return; // another file in the directory changed, or the same content was written again
  }
  meshConfigText_ = std::move(text);
  meshConfigProblems_ = problems;
  logDiagnostics(problems);
  if (!mesh) {
    meshConfigRejects_.inc();
    MESHD_LOG(logger(), err, "MeshConfig {} rejected; the previous MeshConfig keeps serving",
              options_.meshConfigFile.string());
    return;
  }
  model::MeshConfig next = withFlags(*mesh);
  if (model::meshConfigJson(next) == model::meshConfigJson(meshConfig_)) {
    return; // nothing meshd uses changed
  }
  meshConfig_ = std::move(next);
  meshConfigReloads_.inc();
  MESHD_LOG(logger(), info, "MeshConfig reloaded from {}: {}", options_.meshConfigFile.string(),
            model::meshConfigJson(meshConfig_).dump());
  configDirty_ = true;
  rebuildPending_ = true;
  debouncer_->request(xds::PushTargets::everyone());
}

nlohmann::json ControlPlane::meshz() const {
  nlohmann::json problems = nlohmann::json::array();
  for (const config::Diagnostic& diagnostic : meshConfigProblems_) {
    problems.push_back(diagnostic.toString());
  }
  return {{"file", options_.meshConfigFile.string()},
          {"autoMtlsFlag", options_.autoMtls},
          {"meshConfig", model::meshConfigJson(meshConfig_)},
          {"lastReadProblems", std::move(problems)}};
}

absl::Status ControlPlane::start() {
  if (!meshConfigLoaded_) {
    RETURN_IF_ERROR(loadMeshConfig());
  }
  RETURN_IF_ERROR(store_.load());
  configMetrics_.updateAll();
  debouncer_ = std::make_unique<xds::PushDebouncer>(
      options_.debounceQuietPeriod, options_.debounceMaxDelay, core::RealTimeSource::instance(),
      main_, [this](const xds::PushTargets&) { rebuildSnapshot(); });
  store_.watch(
      [this](const std::vector<config::ConfigChange>& changes) { configChanged(changes); });

  xds::ServerOptions xdsOptions;
  // gRPC wants IPv6 addresses in brackets ("[::1]:15010").
  const bool ipv6 = options_.listenAddress.find(':') != std::string::npos;
  xdsOptions.listenAddress = ipv6 ? fmt::format("[{}]:{}", options_.listenAddress, options_.xdsPort)
                                  : fmt::format("{}:{}", options_.listenAddress, options_.xdsPort);
  xdsOptions.stats = &stats_;
  xdsOptions.debounceQuietPeriod = std::chrono::milliseconds(0); // rebuilds are debounced
  xds_ = std::make_unique<xds::XdsServer>(provider_, xdsOptions);
  rebuildSnapshot(); // the loaded config, before any proxy connects
  RETURN_IF_ERROR(xds_->start());
  xdsPort_ = static_cast<uint16_t>(xds_->port());

  registerEndpoints();
  ASSIGN_OR_RETURN(const auto bound, http_.listen(options_.listenAddress, options_.httpPort));
  httpPort_ = bound.port();

  RETURN_IF_ERROR(store_.startWatching(main_));
  if (!options_.meshConfigFile.empty()) {
    // The directory, not the file: editors and Kubernetes ConfigMap mounts replace the file
    // (rename into place, or swap a symlinked directory), which a watch on the file misses.
    meshConfigWatcher_ = std::make_unique<config::DirectoryWatcher>(
        main_, options_.meshConfigFile.parent_path(), 0,
        [this](const std::vector<std::filesystem::path>&, bool) { reloadMeshConfig(); });
    RETURN_IF_ERROR(meshConfigWatcher_->start());
  }
  signals_ = std::make_unique<core::ShutdownSignals>(main_, [this](int) { shutdown(); });
  MESHD_LOG(logger(), info, "config in {}; xDS on {}:{}; HTTP on {}:{}",
            options_.configDir.string(), options_.listenAddress, xdsPort_, options_.listenAddress,
            httpPort_);
  ready_ = true;
  return absl::OkStatus();
}

void ControlPlane::run() {
  main_.run();
}

void ControlPlane::shutdown() {
  ready_ = false;
  http_.close();
  store_.stopWatching();
  if (meshConfigWatcher_ != nullptr) {
    meshConfigWatcher_->stop();
  }
  if (xds_ != nullptr) {
    xds_->shutdown(options_.shutdownGrace);
  }
  main_.stop();
}

void ControlPlane::configChanged(const std::vector<config::ConfigChange>& changes) {
  configMetrics_.update(changes);
  for (const config::ConfigChange& change : changes) {
    MESHD_LOG(logger(), debug, "config {}: {} (resourceVersion {})", config::toString(change.type),
              change.key.toString(), change.resourceVersion);
  }
  configDirty_ = true;
  rebuildPending_ = true;
  debouncer_->request(xds::PushTargets::everyone());
}

void ControlPlane::instancesChanged() {
  rebuildPending_ = true;
  debouncer_->request(xds::PushTargets::everyone());
}

void ControlPlane::rebuildSnapshot() {
  rebuildPending_ = false;
  const auto started = std::chrono::steady_clock::now();
  std::vector<registry::WorkloadInstance> instances = instances_.instances();
  const size_t instanceCount = instances.size();
  std::shared_ptr<const model::MeshSnapshot> next;
  const bool full = configDirty_;
  size_t objectCount = 0;
  if (full) {
    const std::vector<config::ConfigObject> objects = store_.list();
    objectCount = objects.size();
    std::vector<config::Diagnostic> diagnostics;
    next = model::MeshSnapshot::build(objects, std::move(instances), meshConfig_, diagnostics);
    for (const config::Diagnostic& diagnostic : diagnostics) {
      MESHD_LOG(logger(), warn, "snapshot: {}", diagnostic.message);
    }
    configDirty_ = false;
  } else {
    next = provider_.snapshot()->withInstances(std::move(instances));
  }
  const serve::SnapshotUpdate update = provider_.setSnapshot(next);
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
  snapshotBuilds_.inc();
  snapshotBuildSeconds_.record(took.count());
  MESHD_LOG(logger(), info,
            "snapshot {} built in {:.1f} ms ({}; {} objects, {} instances, {} services)",
            next->version(), took.count() * 1000, full ? "full" : "endpoints only", objectCount,
            instanceCount, next->registry().services().size());
  if (xds_ != nullptr) {
    pushFor(update);
  }
}

void ControlPlane::pushFor(const serve::SnapshotUpdate& update) {
  if (update.full) {
    xds_->push();
    return;
  }
  // A stream not listed here registers later and reads the new snapshot when it starts (the
  // server registers a stream before it fetches its first snapshot).
  std::vector<std::string> targets;
  uint64_t skipped = 0;
  for (const xds::StreamInfo& stream : xds_->streams()) {
    const std::string key = serve::proxyCacheKey(translate::ProxyContext::fromNode(stream.node));
    if (update.unchanged.contains(key)) {
      ++skipped;
    } else {
      targets.push_back(stream.node.id());
    }
  }
  if (skipped > 0) {
    pushesSkipped_.inc(skipped);
  }
  MESHD_LOG(logger(), debug, "endpoint-only snapshot: pushing {} streams, {} see no change",
            targets.size(), skipped);
  if (!targets.empty()) {
    xds_->push(targets);
  }
}

void ControlPlane::registerEndpoints() {
  api_.registerOn(http_);
  instances_.registerOn(http_);
  registerDebugEndpoints();
  http_.route("/ready", "200 once serving, 503 before and while shutting down",
              [this](const core::AdminRequest&) {
                return ready_
                           ? core::AdminResponse{200, "text/plain; charset=UTF-8", "ready\n"}
                           : core::AdminResponse{503, "text/plain; charset=UTF-8", "not ready\n"};
              });
  http_.route("/metrics", "Prometheus metrics", [this](const core::AdminRequest&) {
    configMetrics_.setFileProblems(store_.problems().size());
    proxiesConnected_.set(static_cast<int64_t>(xds_->streamCount()));
    return core::AdminResponse{200, "text/plain; version=0.0.4; charset=utf-8",
                               stats::prometheusText(stats_)};
  });
  http_.route("/debug/configz", "all config, and the files in the config directory not served",
              [this](const core::AdminRequest&) {
                nlohmann::json problems = nlohmann::json::object();
                for (const auto& [path, diagnostics] : store_.problems()) {
                  problems[path] = api::diagnosticsJson(diagnostics);
                }
                const int64_t version = store_.resourceVersion();
                nlohmann::json body = api::listJson(store_.list(), version);
                body["configDir"] = options_.configDir.string();
                body["fileProblems"] = std::move(problems);
                return jsonResponse(body);
              });
}

void ControlPlane::registerDebugEndpoints() {
  http_.route("/debug/meshz",
              "the MeshConfig in force (file, --auto-mtls, Istio's defaults) and the problems of "
              "the file's last read",
              [this](const core::AdminRequest&) { return jsonResponse(meshz()); });
  http_.route("/debug/syncz",
              "xDS streams: each proxy's subscriptions, ACKed versions, last NACK, and whether it "
              "holds what meshd would send now",
              [this](const core::AdminRequest&) { return jsonResponse(syncz()); });
  http_.route(
      "/debug/config_dump",
      "?proxy=<node id>: the clusters, endpoints, listeners and routes meshd translates for "
      "a connected proxy",
      [this](const core::AdminRequest& request) {
        auto it = request.query.find("proxy");
        if (it == request.query.end()) {
          return core::AdminResponse{400, "text/plain; charset=UTF-8",
                                     "missing ?proxy=<node id>\n"};
        }
        for (const xds::StreamInfo& stream : xds_->streams()) {
          if (stream.node.id() != it->second) {
            continue;
          }
          const translate::ProxyResources resources = provider_.resourcesFor(stream.node);
          return jsonResponse({{"proxy", stream.node.id()},
                               {"snapshotVersion", provider_.snapshot()->version()},
                               {"clusters", protoArray(resources.clusters)},
                               {"endpoints", protoArray(resources.endpoints)},
                               {"listeners", protoArray(resources.listeners)},
                               {"routes", protoArray(resources.routes)}});
        }
        return core::AdminResponse{404, "text/plain; charset=UTF-8",
                                   fmt::format("no connected proxy {}\n", it->second)};
      });
}

nlohmann::json ControlPlane::syncz() {
  const std::vector<xds::StreamInfo> streams = xds_->streams();
  nlohmann::json body = xds::toJson(streams);
  // A change meshd has taken but not yet built (the debounce) is in no proxy yet: every type
  // is behind until the build.
  const bool pending = rebuildPending_.load();
  for (size_t i = 0; i < streams.size(); ++i) {
    const xds::StreamInfo& stream = streams[i];
    const xds::SnapshotPtr now = provider_.snapshotFor(stream.node);
    bool inSync = true;
    std::string lastNack;
    core::SystemTime lastNackTime{};
    for (size_t j = 0; j < stream.types.size(); ++j) {
      const xds::TypeInfo& type = stream.types[j];
      const std::string expected =
          xds::subscriptionVersion(now->resources(type.typeUrl), type.wildcard, type.names);
      // Up to date: the client ACKed what meshd would send now; or it ACKed everything it was
      // sent and holds every resource of its (since changed) subscription at today's version.
      const bool holdsCurrent =
          type.lastAckedVersion == expected ||
          (type.lastAckedVersion.empty() && expected == xds::hexVersion(0)) ||
          (!type.lastAckedVersion.empty() && type.lastAckedVersion == type.lastVersionSent &&
           xds::holdsSubscription(now->resources(type.typeUrl), type.wildcard, type.names,
                                  type.heldVersions));
      const bool upToDate = holdsCurrent && !pending;
      inSync = inSync && upToDate;
      body[i]["types"][j]["expected_version"] = expected;
      body[i]["types"][j]["up_to_date"] = upToDate;
      if (type.lastNack && type.lastNack->time >= lastNackTime) {
        lastNackTime = type.lastNack->time;
        lastNack = type.lastNack->message;
      }
    }
    body[i]["node_id"] = stream.node.id();
    body[i]["rebuild_pending"] = pending;
    body[i]["in_sync"] = inSync;
    body[i]["last_nack_reason"] = lastNack;
  }
  return body;
}

} // namespace meshd::control::server
