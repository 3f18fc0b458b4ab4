// meshctl proxy-status (see proxy_status.h).
#include "cli/proxy_status.h"

#include <algorithm>
#include <map>

#include "cli/table.h"

namespace meshd::cli {
namespace {

constexpr std::string_view kClusterType = "envoy.config.cluster.v3.Cluster";
constexpr std::string_view kListenerType = "envoy.config.listener.v3.Listener";
constexpr std::string_view kEndpointType = "envoy.config.endpoint.v3.ClusterLoadAssignment";
constexpr std::string_view kRouteType = "envoy.config.route.v3.RouteConfiguration";

std::string stringField(const nlohmann::json& object, const char* name) {
  if (!object.is_object()) {
    return {};
  }
  const auto found = object.find(name);
  return found != object.end() && found->is_string() ? found->get<std::string>() : std::string();
}

bool nackPending(const nlohmann::json& type) {
  const auto nack = type.find("last_nack");
  if (nack == type.end() || !nack->is_object()) {
    return false;
  }
  // The NACK answered the response last sent (same nonce) or names the version last sent.
  const std::string sentNonce = stringField(type, "last_nonce_sent");
  const std::string nackNonce = stringField(*nack, "nonce");
  if (!sentNonce.empty() && !nackNonce.empty()) {
    return sentNonce == nackNonce;
  }
  return stringField(type, "last_acked_version") != stringField(type, "last_version_sent");
}

const nlohmann::json* findType(const nlohmann::json& stream, std::string_view typeName) {
  const auto types = stream.find("types");
  if (types == stream.end() || !types->is_array()) {
    return nullptr;
  }
  for (const auto& type : *types) {
    if (stringField(type, "type_url").ends_with(typeName)) {
      return &type;
    }
  }
  return nullptr;
}

} // namespace

std::string_view toString(SyncState state) {
  switch (state) {
  case SyncState::kSynced: return "SYNCED";
  case SyncState::kStale: return "STALE";
  case SyncState::kNotSent: return "NOT SENT";
  }
  return "?";
}

SyncState syncStateOf(const nlohmann::json& type) {
  if (!type.is_object()) {
    return SyncState::kNotSent;
  }
  // meshd's own verdict when it gives one: does the proxy hold what meshd would send now?
  const auto upToDate = type.find("up_to_date");
  const bool behind = upToDate != type.end() && upToDate->is_boolean() && !upToDate->get<bool>();
  const std::string sent = stringField(type, "last_version_sent");
  if (sent.empty()) {
    return behind ? SyncState::kStale : SyncState::kNotSent;
  }
  if (behind || stringField(type, "last_acked_version") != sent || nackPending(type)) {
    return SyncState::kStale;
  }
  return SyncState::kSynced;
}

bool ProxySync::synced() const {
  return cds != SyncState::kStale && lds != SyncState::kStale && eds != SyncState::kStale &&
         rds != SyncState::kStale;
}

std::vector<ProxySync> proxySyncs(const nlohmann::json& syncz) {
  // The newest stream of each node: the highest stream id.
  std::map<std::string, const nlohmann::json*> newest;
  // An array of streams, or an object holding it under "streams".
  const nlohmann::json& streams =
      syncz.is_object() && syncz.contains("streams") ? syncz["streams"] : syncz;
  if (streams.is_array()) {
    for (const auto& stream : streams) {
      std::string node = stringField(stream, "node_id");
      if (node.empty()) {
        node = stringField(stream.value("node", nlohmann::json()), "id");
      }
      const auto [it, inserted] = newest.emplace(node, &stream);
      if (!inserted && stream.value("stream_id", 0) > it->second->value("stream_id", 0)) {
        it->second = &stream;
      }
    }
  }
  std::vector<ProxySync> proxies;
  for (const auto& [node, stream] : newest) {
    ProxySync proxy{.node = node};
    const std::pair<std::string_view, SyncState*> columns[] = {{kClusterType, &proxy.cds},
                                                               {kListenerType, &proxy.lds},
                                                               {kEndpointType, &proxy.eds},
                                                               {kRouteType, &proxy.rds}};
    const char* const labels[] = {"CDS", "LDS", "EDS", "RDS"};
    for (size_t i = 0; i < 4; ++i) {
      const nlohmann::json* type = findType(*stream, columns[i].first);
      *columns[i].second = type != nullptr ? syncStateOf(*type) : SyncState::kNotSent;
      if (type != nullptr && nackPending(*type)) {
        proxy.nacks.push_back(std::string(labels[i]) + ": " +
                              stringField((*type)["last_nack"], "message"));
      }
    }
    proxies.push_back(std::move(proxy));
  }
  return proxies;
}

std::string renderProxyStatus(const std::vector<ProxySync>& proxies) {
  Table table({"NAME", "CDS", "LDS", "EDS", "RDS"});
  for (const ProxySync& proxy : proxies) {
    table.addRow({proxy.node, std::string(toString(proxy.cds)), std::string(toString(proxy.lds)),
                  std::string(toString(proxy.eds)), std::string(toString(proxy.rds))});
  }
  std::string text = table.render();
  for (const ProxySync& proxy : proxies) {
    for (const std::string& nack : proxy.nacks) {
      text += proxy.node + " rejected " + nack + "\n";
    }
  }
  return text;
}

nlohmann::json proxyStatusJson(const std::vector<ProxySync>& proxies) {
  nlohmann::json json = nlohmann::json::array();
  for (const ProxySync& proxy : proxies) {
    json.push_back({{"name", proxy.node},
                    {"cds", toString(proxy.cds)},
                    {"lds", toString(proxy.lds)},
                    {"eds", toString(proxy.eds)},
                    {"rds", toString(proxy.rds)},
                    {"nacks", proxy.nacks},
                    {"synced", proxy.synced()}});
  }
  return json;
}

std::vector<std::string> connectedNodes(const nlohmann::json& syncz) {
  std::vector<std::string> nodes;
  for (const ProxySync& proxy : proxySyncs(syncz)) {
    nodes.push_back(proxy.node);
  }
  return nodes;
}

int runProxyStatus(Context& ctx) {
  const MeshdCall response = callMeshd(ctx, "GET", "/debug/syncz");
  if (!response) {
    return response.exitCode;
  }
  if (response->status != 200 || response->body.is_null()) {
    ctx.err << "meshctl: cannot read meshd's sync state: " << errorMessage(*response.response)
            << "\n";
    return kExitFailed;
  }
  const std::vector<ProxySync> proxies = proxySyncs(response->body);
  if (ctx.options.output == "json" || ctx.options.output == "yaml") {
    ctx.out << formatStructured(proxyStatusJson(proxies), ctx.options.output);
  } else {
    ctx.out << renderProxyStatus(proxies);
  }
  const bool allSynced =
      std::all_of(proxies.begin(), proxies.end(), [](const ProxySync& p) { return p.synced(); });
  return allSynced ? kExitOk : kExitFailed;
}

} // namespace meshd::cli
