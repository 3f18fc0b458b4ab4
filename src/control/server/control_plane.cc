// ControlPlane (control_plane.h).
#include "control/server/control_plane.h"

#include "control/api/api_json.h"
#include "control/xds/debug_json.h"
#include "core/logging.h"
#include "core/stats/prometheus.h"
#include "core/status.h"
#include "fmt/format.h"

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

} // namespace

ControlPlane::ControlPlane(ControlPlaneOptions options, const config::ConfigValidator& validator)
    : options_(std::move(options)), store_(options_.configDir, validator),
      configMetrics_(store_, stats_), http_(main_, options_.maxRequestBytes), api_(store_, stats_) {
}

ControlPlane::~ControlPlane() {
  store_.stopWatching();
  if (xds_ != nullptr) {
    xds_->shutdown(std::chrono::milliseconds(0));
  }
}

absl::Status ControlPlane::start() {
  RETURN_IF_ERROR(store_.load());
  configMetrics_.updateAll();
  store_.watch(
      [this](const std::vector<config::ConfigChange>& changes) { configChanged(changes); });

  xds::ServerOptions xdsOptions;
  // gRPC wants IPv6 addresses in brackets ("[::1]:15010").
  const bool ipv6 = options_.listenAddress.find(':') != std::string::npos;
  xdsOptions.listenAddress = ipv6 ? fmt::format("[{}]:{}", options_.listenAddress, options_.xdsPort)
                                  : fmt::format("{}:{}", options_.listenAddress, options_.xdsPort);
  xdsOptions.stats = &stats_;
  xds_ = std::make_unique<xds::XdsServer>(cache_, xdsOptions);
  RETURN_IF_ERROR(xds_->start());
  xdsPort_ = static_cast<uint16_t>(xds_->port());

  registerEndpoints();
  ASSIGN_OR_RETURN(const auto bound, http_.listen(options_.listenAddress, options_.httpPort));
  httpPort_ = bound.port();

  RETURN_IF_ERROR(store_.startWatching(main_));
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
}

void ControlPlane::registerEndpoints() {
  api_.registerOn(http_);
  http_.route("/ready", "200 once serving, 503 before and while shutting down",
              [this](const core::AdminRequest&) {
                return ready_
                           ? core::AdminResponse{200, "text/plain; charset=UTF-8", "ready\n"}
                           : core::AdminResponse{503, "text/plain; charset=UTF-8", "not ready\n"};
              });
  http_.route("/metrics", "Prometheus metrics", [this](const core::AdminRequest&) {
    configMetrics_.setFileProblems(store_.problems().size());
    return core::AdminResponse{200, "text/plain; version=0.0.4; charset=utf-8",
                               stats::prometheusText(stats_)};
  });
  http_.route(
      "/debug/syncz", "xDS streams: each proxy's subscriptions, ACKed versions, last NACK",
      [this](const core::AdminRequest&) { return jsonResponse(xds::toJson(xds_->streams())); });
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

} // namespace meshd::control::server
