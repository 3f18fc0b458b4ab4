// Building ProxyConfig from a Bootstrap (proxy_config.h).
#include "proxy/config/proxy_config.h"

#include <set>

#include "core/status.h"
#include "envoy/extensions/filters/http/router/v3/router.pb.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.pb.h"
#include "fmt/format.h"

namespace meshd::proxy::config {
namespace {

using google::protobuf::Duration;

absl::Status invalid(const std::string& where, const std::string& why) {
  return absl::InvalidArgumentError(fmt::format("{}: {}", where, why));
}

std::chrono::milliseconds toMillis(const Duration& duration) {
  return std::chrono::milliseconds(duration.seconds() * 1000 + duration.nanos() / 1000000);
}

absl::StatusOr<Endpoint> toEndpoint(const envoy::config::core::v3::Address& address,
                                    const std::string& where) {
  if (!address.has_socket_address()) {
    return invalid(where, "socket_address is required");
  }
  const auto& socket = address.socket_address();
  boost::system::error_code error;
  const auto ip = boost::asio::ip::make_address(socket.address(), error);
  if (error) {
    return invalid(where + ".socket_address.address",
                   fmt::format("'{}' is not an IP address", socket.address()));
  }
  if (socket.port_value() > 65535) {
    return invalid(where + ".socket_address.port_value",
                   fmt::format("{} is not a port", socket.port_value()));
  }
  return Endpoint(ip, static_cast<uint16_t>(socket.port_value()));
}

absl::StatusOr<ClusterConfig> buildCluster(const envoy::config::cluster::v3::Cluster& cluster,
                                           const std::string& where) {
  ClusterConfig out;
  out.name = cluster.name();
  if (out.name.empty()) {
    return invalid(where + ".name", "a cluster needs a name");
  }
  if (cluster.has_connect_timeout()) {
    out.connectTimeout = toMillis(cluster.connect_timeout());
    if (out.connectTimeout.count() <= 0) {
      return invalid(where + ".connect_timeout", "must be positive");
    }
  }
  if (cluster.has_per_connection_buffer_limit_bytes()) {
    out.perConnectionBufferLimitBytes = cluster.per_connection_buffer_limit_bytes().value();
  }
  using Cluster = envoy::config::cluster::v3::Cluster;
  switch (cluster.lb_policy()) {
  case Cluster::ROUND_ROBIN: out.lbPolicy = LbPolicy::kRoundRobin; break;
  case Cluster::LEAST_REQUEST: out.lbPolicy = LbPolicy::kLeastRequest; break;
  case Cluster::RANDOM: out.lbPolicy = LbPolicy::kRandom; break;
  case Cluster::RING_HASH: out.lbPolicy = LbPolicy::kRingHash; break;
  case Cluster::MAGLEV: out.lbPolicy = LbPolicy::kMaglev; break;
  default: return invalid(where + ".lb_policy", "not supported");
  }
  if (cluster.least_request_lb_config().has_choice_count()) {
    out.leastRequestChoiceCount = cluster.least_request_lb_config().choice_count().value();
    if (out.leastRequestChoiceCount < 2) {
      return invalid(where + ".least_request_lb_config.choice_count", "must be at least 2");
    }
  }
  if (cluster.ring_hash_lb_config().has_minimum_ring_size()) {
    out.ringHashMinimumSize = cluster.ring_hash_lb_config().minimum_ring_size().value();
  }
  if (cluster.ring_hash_lb_config().has_maximum_ring_size()) {
    out.ringHashMaximumSize = cluster.ring_hash_lb_config().maximum_ring_size().value();
  }
  if (out.ringHashMinimumSize == 0 || out.ringHashMinimumSize > out.ringHashMaximumSize) {
    return invalid(where + ".ring_hash_lb_config",
                   "need 0 < minimum_ring_size <= maximum_ring_size");
  }
  if (cluster.maglev_lb_config().has_table_size()) {
    out.maglevTableSize = cluster.maglev_lb_config().table_size().value();
    if (out.maglevTableSize < 2) {
      return invalid(where + ".maglev_lb_config.table_size", "must be at least 2");
    }
  }
  const auto& assignment = cluster.load_assignment();
  for (int l = 0; l < assignment.endpoints_size(); ++l) {
    const auto& locality = assignment.endpoints(l);
    for (int e = 0; e < locality.lb_endpoints_size(); ++e) {
      const auto& lbEndpoint = locality.lb_endpoints(e);
      const std::string at =
          fmt::format("{}.load_assignment.endpoints[{}].lb_endpoints[{}]", where, l, e);
      HostConfig host;
      ASSIGN_OR_RETURN(host.address,
                       toEndpoint(lbEndpoint.endpoint().address(), at + ".endpoint.address"));
      if (lbEndpoint.has_load_balancing_weight()) {
        host.weight = lbEndpoint.load_balancing_weight().value();
        if (host.weight == 0) {
          return invalid(at + ".load_balancing_weight", "must be at least 1");
        }
      }
      host.priority = locality.priority();
      host.localityWeight =
          locality.has_load_balancing_weight() ? locality.load_balancing_weight().value() : 0;
      host.zone = locality.locality().zone();
      out.hosts.push_back(std::move(host));
    }
  }
  return out;
}

absl::StatusOr<TcpProxyConfig>
buildTcpProxy(const envoy::extensions::filters::network::tcp_proxy::v3::TcpProxy& proto,
              const std::string& where, const std::map<std::string, ClusterConfig>& clusters) {
  TcpProxyConfig out;
  out.statPrefix = proto.stat_prefix();
  if (out.statPrefix.empty()) {
    return invalid(where + ".stat_prefix", "is required");
  }
  out.cluster = proto.cluster();
  if (!clusters.contains(out.cluster)) {
    return invalid(where + ".cluster", fmt::format("unknown cluster '{}'", out.cluster));
  }
  if (proto.has_idle_timeout()) {
    out.idleTimeout = toMillis(proto.idle_timeout());
  }
  return out;
}

// Every cluster a static route names must exist (Envoy's validate_clusters default).
absl::Status checkRouteClusters(const envoy::config::route::v3::RouteConfiguration& routes,
                                const std::string& where,
                                const std::map<std::string, ClusterConfig>& clusters) {
  for (int v = 0; v < routes.virtual_hosts_size(); ++v) {
    const auto& vhost = routes.virtual_hosts(v);
    for (int r = 0; r < vhost.routes_size(); ++r) {
      const auto& action = vhost.routes(r).route();
      const std::string at = fmt::format("{}.virtual_hosts[{}].routes[{}].route", where, v, r);
      if (!action.cluster().empty() && !clusters.contains(action.cluster())) {
        return invalid(at + ".cluster", fmt::format("unknown cluster '{}'", action.cluster()));
      }
      for (int c = 0; c < action.weighted_clusters().clusters_size(); ++c) {
        const std::string& name = action.weighted_clusters().clusters(c).name();
        if (!clusters.contains(name)) {
          return invalid(fmt::format("{}.weighted_clusters.clusters[{}].name", at, c),
                         fmt::format("unknown cluster '{}'", name));
        }
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<HttpConnectionManagerConfig> buildHttpConnectionManager(
    const envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager&
        proto,
    const std::string& where, const std::map<std::string, ClusterConfig>& clusters) {
  HttpConnectionManagerConfig out;
  out.statPrefix = proto.stat_prefix();
  if (out.statPrefix.empty()) {
    return invalid(where + ".stat_prefix", "is required");
  }
  if (!proto.has_route_config()) {
    return invalid(where, "route_config is required (rds arrives with xDS)");
  }
  RETURN_IF_ERROR(checkRouteClusters(proto.route_config(), where + ".route_config", clusters));
  ASSIGN_OR_RETURN(out.routes,
                   router::RouteTable::build(proto.route_config(), where + ".route_config"));
  const int filters = proto.http_filters_size();
  envoy::extensions::filters::http::router::v3::Router router;
  if (filters == 0 || !proto.http_filters(filters - 1).typed_config().UnpackTo(&router)) {
    return invalid(where + ".http_filters", "the last HTTP filter must be the router");
  }
  if (filters > 1) {
    return invalid(where + ".http_filters[0]", "only the router HTTP filter is supported so far");
  }
  if (!proto.server_name().empty()) {
    out.serverName = proto.server_name();
  }
  out.useRemoteAddress = proto.has_use_remote_address() && proto.use_remote_address().value();
  if (proto.has_max_request_headers_kb()) {
    out.maxRequestHeadersBytes = proto.max_request_headers_kb().value() * 1024;
  }
  for (const auto& upgrade : proto.upgrade_configs()) {
    if (!upgrade.has_enabled() || upgrade.enabled().value()) {
      out.upgradeTypes.insert(http::toLower(upgrade.upgrade_type()));
    }
  }
  if (proto.common_http_protocol_options().has_max_headers_count()) {
    out.maxHeadersCount = proto.common_http_protocol_options().max_headers_count().value();
  }
  return out;
}

absl::StatusOr<ListenerConfig> buildListener(const envoy::config::listener::v3::Listener& listener,
                                             const std::string& where,
                                             const std::map<std::string, ClusterConfig>& clusters) {
  ListenerConfig out;
  out.name = listener.name();
  if (out.name.empty()) {
    return invalid(where + ".name", "a listener needs a name");
  }
  ASSIGN_OR_RETURN(out.address, toEndpoint(listener.address(), where + ".address"));
  if (listener.has_per_connection_buffer_limit_bytes()) {
    out.perConnectionBufferLimitBytes = listener.per_connection_buffer_limit_bytes().value();
  }
  if (listener.filter_chains_size() != 1 || listener.filter_chains(0).filters_size() != 1) {
    return invalid(where + ".filter_chains",
                   "exactly one filter chain with one network filter (tcp_proxy or "
                   "http_connection_manager) is supported");
  }
  const auto& filter = listener.filter_chains(0).filters(0);
  const std::string filterPath = where + ".filter_chains[0].filters[0].typed_config";
  envoy::extensions::filters::network::tcp_proxy::v3::TcpProxy tcpProxy;
  envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager hcm;
  if (filter.typed_config().UnpackTo(&tcpProxy)) {
    ASSIGN_OR_RETURN(out.tcpProxy, buildTcpProxy(tcpProxy, filterPath, clusters));
  } else if (filter.typed_config().UnpackTo(&hcm)) {
    ASSIGN_OR_RETURN(out.http, buildHttpConnectionManager(hcm, filterPath, clusters));
  } else {
    return invalid(filterPath, "expected a tcp_proxy or http_connection_manager filter");
  }
  return out;
}

} // namespace

absl::StatusOr<ProxyConfig> buildProxyConfig(const Bootstrap& bootstrap) {
  ProxyConfig out;
  out.bootstrap = bootstrap;
  out.nodeId = bootstrap.node().id();
  out.nodeCluster = bootstrap.node().cluster();
  if (bootstrap.has_admin()) {
    ASSIGN_OR_RETURN(out.adminAddress, toEndpoint(bootstrap.admin().address(), "admin.address"));
  }
  const auto& resources = bootstrap.static_resources();
  for (int i = 0; i < resources.clusters_size(); ++i) {
    const std::string where = fmt::format("static_resources.clusters[{}]", i);
    ASSIGN_OR_RETURN(ClusterConfig cluster, buildCluster(resources.clusters(i), where));
    if (out.clusters.contains(cluster.name)) {
      return invalid(where + ".name", fmt::format("duplicate cluster name '{}'", cluster.name));
    }
    out.clusters.emplace(cluster.name, std::move(cluster));
  }
  std::set<std::string> listenerNames;
  for (int i = 0; i < resources.listeners_size(); ++i) {
    const std::string where = fmt::format("static_resources.listeners[{}]", i);
    ASSIGN_OR_RETURN(ListenerConfig listener,
                     buildListener(resources.listeners(i), where, out.clusters));
    if (!listenerNames.insert(listener.name).second) {
      return invalid(where + ".name", fmt::format("duplicate listener name '{}'", listener.name));
    }
    out.listeners.push_back(std::move(listener));
  }
  return out;
}

} // namespace meshd::proxy::config
