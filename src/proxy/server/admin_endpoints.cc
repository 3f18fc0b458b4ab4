// The proxy's admin endpoints (Envoy's names and formats where users and tools expect them).
#include <algorithm>

#include "core/logging.h"
#include "core/stats/prometheus.h"
#include "core/status.h"
#include "envoy/admin/v3/config_dump.pb.h"
#include "fmt/format.h"
#include "google/protobuf/util/json_util.h"
#include "nlohmann/json.hpp"
#include "proxy/server/proxy_server.h"

namespace meshd::proxy::server {
namespace {

// Envoy's spelling of a host's health flags: "healthy", or each flag set, in Envoy's order.
std::string healthFlags(const config::HostConfig& host) {
  std::string flags;
  flags += host.failedActiveHc ? "/failed_active_hc" : "";
  flags += host.ejected ? "/failed_outlier_check" : "";
  flags += host.healthy ? "" : "/failed_eds_health";
  flags += host.pendingActiveHc ? "/pending_active_hc" : "";
  return flags.empty() ? "healthy" : flags;
}

using core::AdminRequest;
using core::AdminResponse;

constexpr const char* kJson = "application/json";
constexpr const char* kVersion = "meshd-0.1.0";

// Envoy's flat stat name: each tag value goes back into the dotted name after its segment
// ("cluster.upstream_cx_total" + envoy_cluster_name=backend ->
// "cluster.backend.upstream_cx_total").
std::string flatName(const stats::MetricInfo& info) {
  // The i-th tag's value follows the i-th component of the name ("vhost.vcluster.x" with two
  // tags -> "vhost.<host>.vcluster.<cluster>.x").
  for (const auto& [key, value] : info.tags) {
    if (!key.starts_with("envoy_")) {
      return info.name;
    }
  }
  std::string out;
  size_t start = 0;
  for (const auto& [key, value] : info.tags) {
    const size_t dot = info.name.find('.', start);
    if (dot == std::string::npos) {
      return info.name;
    }
    out += info.name.substr(start, dot - start + 1) + value + ".";
    start = dot + 1;
  }
  return out + info.name.substr(start);
}

std::string statsText(const stats::Store& store) {
  std::vector<std::string> lines;
  store.forEach([&](const stats::MetricInfo& info) {
    switch (info.type) {
    case stats::MetricType::kCounter:
      lines.push_back(fmt::format("{}: {}", flatName(info), store.sumSlot(info.slot)));
      break;
    case stats::MetricType::kGauge:
      lines.push_back(
          fmt::format("{}: {}", flatName(info), static_cast<int64_t>(store.sumSlot(info.slot))));
      break;
    case stats::MetricType::kHistogram: {
      const auto snapshot = store.histogramSnapshot(info.slot, *info.bounds);
      lines.push_back(fmt::format("{}: P50({}) P90({}) P99({}) count({})", flatName(info),
                                  snapshot.quantile(0.5), snapshot.quantile(0.9),
                                  snapshot.quantile(0.99), snapshot.count));
      break;
    }
    }
  });
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (const auto& line : lines) {
    out += line;
    out += '\n';
  }
  return out;
}

AdminResponse methodNotAllowed() {
  return AdminResponse{405, "text/plain; charset=UTF-8", "this endpoint needs POST\n"};
}

} // namespace

namespace {

template <class Dynamic>
void fillFailure(const xds::AcceptedResources& held, Dynamic& entry) {
  if (held.lastRejected) {
    entry.mutable_error_state()->set_details(held.lastRejected->details);
    entry.mutable_error_state()->set_version_info(held.lastRejected->version);
  }
}

} // namespace

void ProxyServer::addDynamicConfig(envoy::admin::v3::ConfigDump& dump) const {
  // What came over ADS: each resource with the version it came with; a rejected update shows as
  // the error_state of the resources it would have changed (of every resource of the type here).
  if (listeners_) {
    envoy::admin::v3::ListenersConfigDump listeners;
    listeners.set_version_info(listeners_->listeners().version);
    for (const auto& [name, any] : listeners_->listeners().byName) {
      auto* entry = listeners.add_dynamic_listeners();
      entry->set_name(name);
      // A warming listener: the version received waits for its routes (the previous one, if
      // any, still serves).
      auto* state = warmingListeners_.contains(name) ? entry->mutable_warming_state()
                                                     : entry->mutable_active_state();
      state->set_version_info(listeners_->listeners().version);
      *state->mutable_listener() = any;
      fillFailure(listeners_->listeners(), *entry);
    }
    dump.add_configs()->PackFrom(listeners);
  }
  envoy::admin::v3::ClustersConfigDump clusters;
  clusters.set_version_info(discovery_->clusters().version);
  for (const auto& [name, any] : discovery_->clusters().byName) {
    auto* entry = discovery_->warmingClusters().contains(name)
                      ? clusters.add_dynamic_warming_clusters()
                      : clusters.add_dynamic_active_clusters();
    entry->set_version_info(discovery_->clusters().version);
    *entry->mutable_cluster() = any;
    fillFailure(discovery_->clusters(), *entry);
  }
  dump.add_configs()->PackFrom(clusters);
  envoy::admin::v3::EndpointsConfigDump endpoints;
  for (const auto& [name, any] : discovery_->endpoints().byName) {
    auto* entry = endpoints.add_dynamic_endpoint_configs();
    entry->set_version_info(discovery_->endpoints().version);
    *entry->mutable_endpoint_config() = any;
  }
  dump.add_configs()->PackFrom(endpoints);
  envoy::admin::v3::RoutesConfigDump routes;
  for (const auto& [name, any] : routes_->routes().byName) {
    auto* entry = routes.add_dynamic_route_configs();
    entry->set_version_info(routes_->routes().version);
    *entry->mutable_route_config() = any;
    fillFailure(routes_->routes(), *entry);
  }
  dump.add_configs()->PackFrom(routes);
}

void ProxyServer::registerAdminEndpoints() {
  admin_.route("/ready", "200 LIVE when serving, 503 otherwise", [this](const AdminRequest&) {
    switch (state_) {
    case ServerState::kLive: return AdminResponse{200, "text/plain; charset=UTF-8", "LIVE\n"};
    case ServerState::kDraining:
      return AdminResponse{503, "text/plain; charset=UTF-8", "DRAINING\n"};
    case ServerState::kInitializing: break;
    }
    return AdminResponse{503, "text/plain; charset=UTF-8", "PRE_INITIALIZING\n"};
  });

  admin_.route("/stats", "all stats, one 'name: value' per line", [this](const AdminRequest&) {
    return AdminResponse{200, "text/plain; charset=UTF-8", statsText(store_)};
  });

  admin_.route("/stats/prometheus", "all stats in Prometheus text format",
               [this](const AdminRequest&) {
                 return AdminResponse{200, "text/plain; version=0.0.4; charset=UTF-8",
                                      stats::prometheusText(store_, "envoy_")};
               });

  admin_.route("/server_info", "version, state, uptime, node, options",
               [this](const AdminRequest&) {
                 const auto uptime = std::chrono::duration_cast<std::chrono::seconds>(
                     std::chrono::steady_clock::now() - startedAt_);
                 const auto& config = runtime_.latest()->config;
                 nlohmann::json info = {
                     {"version", kVersion},
                     {"state", state_ == ServerState::kLive       ? "LIVE"
                               : state_ == ServerState::kDraining ? "DRAINING"
                                                                  : "PRE_INITIALIZING"},
                     {"uptime_current_epoch", fmt::format("{}s", uptime.count())},
                     {"node", {{"id", config.nodeId}, {"cluster", config.nodeCluster}}},
                     {"command_line_options",
                      {{"config_path", options_.configPath},
                       {"concurrency", options_.concurrency},
                       {"drain_time", fmt::format("{}s", options_.drainTime.count())}}},
                 };
                 return AdminResponse{200, kJson, info.dump(2) + "\n"};
               });

  admin_.route("/listeners", "listeners and their bound addresses (?format=json)",
               [this](const AdminRequest& request) {
                 if (request.query.contains("format") && request.query.at("format") == "json") {
                   nlohmann::json statuses = nlohmann::json::array();
                   for (const auto& listener : boundListeners_) {
                     statuses.push_back({{"name", listener.name},
                                         {"local_address",
                                          {{"socket_address",
                                            {{"address", listener.endpoint.address().to_string()},
                                             {"port_value", listener.endpoint.port()}}}}}});
                   }
                   return AdminResponse{
                       200, kJson, nlohmann::json{{"listener_statuses", statuses}}.dump(2) + "\n"};
                 }
                 std::string out;
                 for (const auto& listener : boundListeners_) {
                   out += fmt::format("{}::{}:{}\n", listener.name,
                                      listener.endpoint.address().to_string(),
                                      listener.endpoint.port());
                 }
                 return AdminResponse{200, "text/plain; charset=UTF-8", out};
               });

  admin_.route("/clusters", "clusters, endpoints and their counters", [this](const AdminRequest&) {
    std::string out;
    for (const auto& [name, cluster] : runtime_.latest()->clusters) {
      const auto& stats = cluster->stats();
      out += fmt::format("{}::default_priority::max_connections::1024\n", name);
      for (const auto& host : cluster->config().hosts) {
        const std::string id =
            fmt::format("{}::{}:{}", name, host.address.address().to_string(), host.address.port());
        out += fmt::format("{}::health_flags::{}\n{}::weight::{}\n{}::priority::{}\n", id,
                           healthFlags(host), id, host.weight, id, host.priority);
        if (!host.hostname.empty()) {
          out += fmt::format("{}::hostname::{}\n", id, host.hostname);
        }
      }
      out += fmt::format("{}::upstream_cx_total::{}\n{}::upstream_cx_active::{}\n"
                         "{}::upstream_cx_connect_fail::{}\n",
                         name, stats.cxTotal.value(), name, stats.cxActive.value(), name,
                         stats.cxConnectFail.value());
    }
    return AdminResponse{200, "text/plain; charset=UTF-8", out};
  });

  admin_.route("/config_dump", "the active configuration as Envoy's ConfigDump JSON",
               [this](const AdminRequest&) {
                 envoy::admin::v3::BootstrapConfigDump bootstrapDump;
                 *bootstrapDump.mutable_bootstrap() = runtime_.latest()->config.bootstrap;
                 envoy::admin::v3::ConfigDump dump;
                 dump.add_configs()->PackFrom(bootstrapDump);
                 if (discovery_) {
                   addDynamicConfig(dump);
                 }
                 std::string json;
                 google::protobuf::util::JsonPrintOptions options;
                 options.add_whitespace = true;
                 options.preserve_proto_field_names = true;
                 const auto status =
                     google::protobuf::util::MessageToJsonString(dump, &json, options);
                 if (!status.ok()) {
                   return AdminResponse{500, "text/plain; charset=UTF-8",
                                        fmt::format("{}\n", status.message().as_string())};
                 }
                 return AdminResponse{200, kJson, json};
               });

  admin_.route("/logging", "GET lists levels; POST ?level=L (all) or ?COMPONENT=L changes them",
               [](const AdminRequest& request) {
                 if (request.method == "POST") {
                   for (const auto& [key, value] : request.query) {
                     auto level = log::parseLevel(value);
                     if (!level.ok()) {
                       return AdminResponse{400, "text/plain; charset=UTF-8",
                                            fmt::format("{}\n", level.status().message())};
                     }
                     if (key == "level") {
                       log::setAllLevels(*level);
                     } else if (!log::setLevel(key, *level).ok()) {
                       return AdminResponse{404, "text/plain; charset=UTF-8",
                                            fmt::format("no component '{}'\n", key)};
                     }
                   }
                 }
                 std::string out = "active loggers:\n";
                 for (const auto& entry : log::levels()) {
                   const auto name = spdlog::level::to_string_view(entry.level);
                   out += fmt::format("  {}: {}\n", entry.component,
                                      std::string_view(name.data(), name.size()));
                 }
                 return AdminResponse{200, "text/plain; charset=UTF-8", out};
               });

  admin_.route("/drain_listeners", "POST: stop accepting; open connections continue",
               [this](const AdminRequest& request) {
                 if (request.method != "POST") {
                   return methodNotAllowed();
                 }
                 drainListeners();
                 return AdminResponse{200, "text/plain; charset=UTF-8", "OK\n"};
               });

  admin_.route("/quitquitquit", "POST: drain and exit", [this](const AdminRequest& request) {
    if (request.method != "POST") {
      return methodNotAllowed();
    }
    main_.post([this] { shutdown(); });
    return AdminResponse{200, "text/plain; charset=UTF-8", "OK\n"};
  });
}

} // namespace meshd::proxy::server
