// meshctl proxy-config (see proxy_config.h). The config is Envoy's protos as JSON with their
// proto field names; fields at their default are absent (proto3 JSON), hence the defaults here.
#include "cli/proxy_config.h"

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "cli/proxy_status.h"
#include "cli/table.h"
#include "fmt/format.h"

namespace meshd::cli {
namespace {

using Json = nlohmann::json;

const Json& field(const Json& object, const char* name) {
  static const Json kNull;
  if (!object.is_object()) {
    return kNull;
  }
  const auto found = object.find(name);
  return found != object.end() ? *found : kNull;
}

std::string text(const Json& value) {
  if (value.is_string()) {
    return value.get<std::string>();
  }
  if (value.is_number_integer()) {
    return std::to_string(value.get<int64_t>());
  }
  return {};
}

std::string joinTexts(const Json& values, std::string_view separator = ",") {
  std::vector<std::string> parts;
  if (values.is_array()) {
    for (const auto& value : values) {
      parts.push_back(text(value));
    }
  }
  return absl::StrJoin(parts, std::string(separator));
}

const Json& items(const Json& list) {
  static const Json kEmpty = Json::array();
  return list.is_array() ? list : kEmpty;
}

// "10.0.0.1:9080" from an Address with a socket_address.
std::pair<std::string, std::string> socketAddress(const Json& address) {
  const Json& socket = field(address, "socket_address");
  const std::string port = text(field(socket, "port_value"));
  return {text(field(socket, "address")), port.empty() ? "0" : port};
}

// What a filter chain matches: "ALL" when its match is empty.
std::string describeMatch(const Json& chain) {
  const Json& match = field(chain, "filter_chain_match");
  std::vector<std::string> parts;
  if (const std::string port = text(field(match, "destination_port")); !port.empty()) {
    parts.push_back("port " + port);
  }
  if (const Json& ranges = field(match, "prefix_ranges"); ranges.is_array()) {
    std::vector<std::string> cidrs;
    for (const auto& range : ranges) {
      const std::string length = text(field(range, "prefix_len"));
      cidrs.push_back(text(field(range, "address_prefix")) + "/" + (length.empty() ? "0" : length));
    }
    parts.push_back("addr " + absl::StrJoin(cidrs, ","));
  }
  if (const std::string sni = joinTexts(field(match, "server_names")); !sni.empty()) {
    parts.push_back("SNI " + sni);
  }
  if (const std::string transport = text(field(match, "transport_protocol")); !transport.empty()) {
    parts.push_back("trans " + transport);
  }
  if (const std::string alpn = joinTexts(field(match, "application_protocols")); !alpn.empty()) {
    parts.push_back("ALPN " + alpn);
  }
  return parts.empty() ? "ALL" : absl::StrJoin(parts, "; ");
}

// Where a filter chain sends traffic: its HCM's routes or its tcp_proxy's cluster(s).
std::string describeDestination(const Json& chain) {
  std::vector<std::string> parts;
  for (const auto& filter : items(field(chain, "filters"))) {
    const Json& config = field(filter, "typed_config");
    if (const Json& rds = field(config, "rds"); rds.is_object()) {
      parts.push_back("Route: " + text(field(rds, "route_config_name")));
    } else if (const Json& inlineRoutes = field(config, "route_config"); inlineRoutes.is_object()) {
      const std::string name = text(field(inlineRoutes, "name"));
      parts.push_back("Inline Route: " + (name.empty() ? std::string("(unnamed)") : name));
    } else if (const std::string cluster = text(field(config, "cluster")); !cluster.empty()) {
      parts.push_back("Cluster: " + cluster);
    } else if (const Json& weighted = field(config, "weighted_clusters"); weighted.is_object()) {
      std::vector<std::string> clusters;
      for (const auto& entry : items(field(weighted, "clusters"))) {
        clusters.push_back(text(field(entry, "name")));
      }
      parts.push_back("Clusters: " + absl::StrJoin(clusters, ","));
    }
  }
  if (parts.empty()) {
    for (const auto& filter : items(field(chain, "filters"))) {
      parts.push_back(text(field(filter, "name")));
    }
  }
  return absl::StrJoin(parts, "; ");
}

std::string describeRouteMatch(const Json& route) {
  const Json& match = field(route, "match");
  std::string out;
  if (const std::string prefix = text(field(match, "prefix")); field(match, "prefix").is_string()) {
    out = prefix + "*";
  } else if (const std::string path = text(field(match, "path")); !path.empty()) {
    out = path;
  } else if (const Json& regex = field(match, "safe_regex"); regex.is_object()) {
    out = "~" + text(field(regex, "regex"));
  } else if (const std::string separated = text(field(match, "path_separated_prefix"));
             !separated.empty()) {
    out = separated + "/*";
  } else {
    out = "*";
  }
  if (field(match, "headers").is_array()) {
    out += " (+headers)";
  }
  if (field(match, "query_parameters").is_array()) {
    out += " (+query)";
  }
  return out;
}

std::string describeRouteAction(const Json& route) {
  const Json& action = field(route, "route");
  if (action.is_object()) {
    if (const std::string cluster = text(field(action, "cluster")); !cluster.empty()) {
      return cluster;
    }
    std::vector<std::string> clusters;
    for (const auto& entry : items(field(field(action, "weighted_clusters"), "clusters"))) {
      const std::string weight = text(field(entry, "weight"));
      clusters.push_back(text(field(entry, "name")) + (weight.empty() ? "" : " (" + weight + ")"));
    }
    return absl::StrJoin(clusters, ", ");
  }
  if (field(route, "redirect").is_object()) {
    return "redirect";
  }
  if (const Json& direct = field(route, "direct_response"); direct.is_object()) {
    return "direct response " + text(field(direct, "status"));
  }
  return "-";
}

// At most two domains, then "+N more" (istioctl does the same to keep rows short).
std::string describeDomains(const Json& domains) {
  std::vector<std::string> all;
  for (const auto& domain : items(domains)) {
    all.push_back(text(domain));
  }
  if (all.size() <= 2) {
    return absl::StrJoin(all, ", ");
  }
  return fmt::format("{}, {} + {} more", all[0], all[1], all.size() - 2);
}

} // namespace

ClusterName parseClusterName(std::string_view name) {
  const std::vector<std::string> parts = absl::StrSplit(std::string(name), '|');
  if (parts.size() == 4 && (parts[0] == "outbound" || parts[0] == "inbound")) {
    return {.fqdn = parts[3],
            .port = parts[1],
            .subset = parts[2].empty() ? "-" : parts[2],
            .direction = parts[0]};
  }
  return {.fqdn = std::string(name)};
}

std::string renderClusters(const Json& clusters) {
  Table table({"SERVICE FQDN", "PORT", "SUBSET", "DIRECTION", "TYPE"});
  for (const auto& cluster : items(clusters)) {
    ClusterName name = parseClusterName(text(field(cluster, "name")));
    std::string type = text(field(cluster, "type"));
    if (type.empty()) {
      type = field(cluster, "cluster_type").is_object()
                 ? text(field(field(cluster, "cluster_type"), "name"))
                 : "STATIC";
    }
    table.addRow({name.fqdn, name.port, name.subset, name.direction, type});
  }
  return table.render();
}

std::string renderListeners(const Json& listeners) {
  Table table({"NAME", "ADDRESS", "PORT", "MATCH", "DESTINATION"});
  for (const auto& listener : items(listeners)) {
    const std::string name = text(field(listener, "name"));
    const auto [address, port] = socketAddress(field(listener, "address"));
    for (const auto& chain : items(field(listener, "filter_chains"))) {
      table.addRow({name, address, port, describeMatch(chain), describeDestination(chain)});
    }
    if (const Json& fallback = field(listener, "default_filter_chain"); fallback.is_object()) {
      table.addRow({name, address, port, "default", describeDestination(fallback)});
    }
    if (items(field(listener, "filter_chains")).empty() &&
        !field(listener, "default_filter_chain").is_object()) {
      table.addRow({name, address, port, "-", "-"});
    }
  }
  return table.render();
}

std::string renderRoutes(const Json& routes) {
  Table table({"NAME", "VIRTUAL HOST", "DOMAINS", "MATCH", "CLUSTER"});
  for (const auto& config : items(routes)) {
    const std::string name = text(field(config, "name"));
    for (const auto& host : items(field(config, "virtual_hosts"))) {
      const std::string hostName = text(field(host, "name"));
      const std::string domains = describeDomains(field(host, "domains"));
      for (const auto& route : items(field(host, "routes"))) {
        table.addRow(
            {name, hostName, domains, describeRouteMatch(route), describeRouteAction(route)});
      }
    }
  }
  return table.render();
}

std::string renderEndpoints(const Json& endpoints) {
  Table table({"ENDPOINT", "STATUS", "CLUSTER"});
  for (const auto& assignment : items(endpoints)) {
    const std::string cluster = text(field(assignment, "cluster_name"));
    for (const auto& locality : items(field(assignment, "endpoints"))) {
      for (const auto& lb : items(field(locality, "lb_endpoints"))) {
        const auto [address, port] = socketAddress(field(field(lb, "endpoint"), "address"));
        std::string status = text(field(lb, "health_status"));
        // Envoy routes to UNKNOWN endpoints as to healthy ones, and so does its admin output.
        if (status.empty() || status == "UNKNOWN") {
          status = "HEALTHY";
        }
        table.addRow({address + ":" + port, status, cluster});
      }
    }
  }
  return table.render();
}

absl::StatusOr<std::string> resolveProxy(const std::vector<std::string>& nodes,
                                         const std::string& query) {
  std::vector<std::string> matches;
  for (const std::string& node : nodes) {
    if (node == query) {
      return node;
    }
    if (node.starts_with(query)) {
      matches.push_back(node);
    }
  }
  if (matches.empty()) {
    // Then by instance, as istioctl takes a pod: the id's third part "<pod>.<namespace>"
    // ("productpage" finds "sidecar~10.77.1.3~productpage-v1-0.default~...").
    for (const std::string& node : nodes) {
      const std::vector<std::string> parts = absl::StrSplit(node, '~');
      if (parts.size() >= 3 && parts[2].starts_with(query)) {
        matches.push_back(node);
      }
    }
  }
  if (matches.size() == 1) {
    return matches.front();
  }
  if (matches.empty()) {
    return absl::NotFoundError(
        nodes.empty() ? fmt::format("no proxy named '{}': no proxy is connected to meshd", query)
                      : fmt::format("no proxy named '{}' (connected: {})", query,
                                    absl::StrJoin(nodes, ", ")));
  }
  return absl::FailedPreconditionError(
      fmt::format("'{}' names more than one proxy: {}", query, absl::StrJoin(matches, ", ")));
}

namespace {

// "listener" and "lds" → "listeners"; empty for an unknown kind of config.
std::string configSection(const std::string& what) {
  static const std::pair<const char*, std::vector<std::string_view>> kSections[] = {
      {"clusters", {"clusters", "cluster", "cds", "c"}},
      {"listeners", {"listeners", "listener", "lds", "l"}},
      {"routes", {"routes", "route", "rds", "r"}},
      {"endpoints", {"endpoints", "endpoint", "eds", "ep", "e"}},
  };
  for (const auto& [section, names] : kSections) {
    if (std::find(names.begin(), names.end(), what) != names.end()) {
      return section;
    }
  }
  return {};
}

} // namespace

int runProxyConfig(Context& ctx, const ProxyConfigOptions& options) {
  const std::string section = configSection(options.what);
  if (section.empty()) {
    ctx.err << "meshctl: proxy-config shows listeners, routes, clusters or endpoints, not '"
            << options.what << "'\n";
    return kExitUsage;
  }
  const MeshdCall syncz = callMeshd(ctx, "GET", "/debug/syncz");
  if (!syncz) {
    return syncz.exitCode;
  }
  absl::StatusOr<std::string> node = resolveProxy(connectedNodes(syncz->body), options.proxy);
  if (!node.ok()) {
    return reportError(ctx, node.status());
  }
  const MeshdCall dump = callMeshd(ctx, "GET", "/debug/config_dump?proxy=" + urlEncode(*node));
  if (!dump) {
    return dump.exitCode;
  }
  if (dump->status != 200 || !dump->body.is_object()) {
    ctx.err << "meshctl: cannot read the config of " << *node << ": "
            << (dump->status == 404 && dump->text.starts_with("no admin endpoint")
                    ? "this meshd does not serve /debug/config_dump"
                    : errorMessage(*dump.response))
            << "\n";
    return kExitFailed;
  }
  const Json& config = field(dump->body, section.c_str());
  if (ctx.options.output == "json" || ctx.options.output == "yaml") {
    ctx.out << formatStructured(config.is_null() ? Json::array() : config, ctx.options.output);
    return kExitOk;
  }
  if (section == "clusters") {
    ctx.out << renderClusters(config);
  } else if (section == "listeners") {
    ctx.out << renderListeners(config);
  } else if (section == "routes") {
    ctx.out << renderRoutes(config);
  } else {
    ctx.out << renderEndpoints(config);
  }
  return kExitOk;
}

} // namespace meshd::cli
