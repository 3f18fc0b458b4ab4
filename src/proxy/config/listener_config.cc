// Building ListenerConfig (listener_config.h).
#include "proxy/config/listener_config.h"

#include "proxy/filters/http/cors/cors_policy.h"
#include "proxy/filters/http/fault/fault_config.h"
#include "proxy/filters/http/local_ratelimit/local_ratelimit_config.h"

#include "core/status.h"
#include "envoy/extensions/filters/http/router/v3/router.pb.h"
#include "envoy/extensions/filters/listener/http_inspector/v3/http_inspector.pb.h"
#include "envoy/extensions/filters/listener/original_dst/v3/original_dst.pb.h"
#include "envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector.pb.h"
#include "envoy/extensions/filters/network/connection_limit/v3/connection_limit.pb.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.pb.h"
#include "fmt/format.h"
#include "proxy/config/conversions.h"
#include "proxy/http/header_map.h"

namespace meshd::proxy::config {
namespace {

absl::StatusOr<TcpProxyConfig>
buildTcpProxy(const envoy::extensions::filters::network::tcp_proxy::v3::TcpProxy& proto,
              const std::string& where, const ClusterCatalog& clusters) {
  TcpProxyConfig out;
  out.statPrefix = proto.stat_prefix();
  if (out.statPrefix.empty()) {
    return invalid(where + ".stat_prefix", "is required");
  }
  if (proto.has_weighted_clusters()) {
    const auto& weighted = proto.weighted_clusters();
    for (int i = 0; i < weighted.clusters_size(); ++i) {
      const auto& candidate = weighted.clusters(i);
      const std::string at = fmt::format("{}.weighted_clusters.clusters[{}]", where, i);
      if (!clusters.known(candidate.name())) {
        return invalid(at + ".name", fmt::format("unknown cluster '{}'", candidate.name()));
      }
      if (candidate.weight() == 0) {
        return invalid(at + ".weight", "must be at least 1");
      }
      out.weightedClusters.push_back({candidate.name(), candidate.weight()});
      out.totalWeight += candidate.weight();
    }
    if (out.weightedClusters.empty()) {
      return invalid(where + ".weighted_clusters.clusters", "needs at least one cluster");
    }
  } else {
    out.cluster = proto.cluster();
    if (!clusters.known(out.cluster)) {
      return invalid(where + ".cluster", fmt::format("unknown cluster '{}'", out.cluster));
    }
  }
  if (proto.has_idle_timeout()) {
    out.idleTimeout = toMillis(proto.idle_timeout());
  }
  return out;
}

// Every cluster a static route names must exist (Envoy's validate_clusters default for a route
// configuration given inline).
absl::Status checkRouteClusters(const envoy::config::route::v3::RouteConfiguration& routes,
                                const std::string& where, const ClusterCatalog& clusters) {
  if (routes.has_validate_clusters() && !routes.validate_clusters().value()) {
    return absl::OkStatus();
  }
  for (int v = 0; v < routes.virtual_hosts_size(); ++v) {
    const auto& vhost = routes.virtual_hosts(v);
    for (int r = 0; r < vhost.routes_size(); ++r) {
      const auto& action = vhost.routes(r).route();
      const std::string at = fmt::format("{}.virtual_hosts[{}].routes[{}].route", where, v, r);
      if (!action.cluster().empty() && !clusters.known(action.cluster())) {
        return invalid(at + ".cluster", fmt::format("unknown cluster '{}'", action.cluster()));
      }
      for (int c = 0; c < action.weighted_clusters().clusters_size(); ++c) {
        const std::string& name = action.weighted_clusters().clusters(c).name();
        if (!clusters.known(name)) {
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
    const std::string& where, const ClusterCatalog& clusters) {
  HttpConnectionManagerConfig out;
  out.statPrefix = proto.stat_prefix();
  if (out.statPrefix.empty()) {
    return invalid(where + ".stat_prefix", "is required");
  }
  if (proto.has_rds()) {
    RETURN_IF_ERROR(
        noInitialFetchTimeout(proto.rds().config_source(), where + ".rds.config_source"));
    if (!proto.rds().config_source().has_ads()) {
      return invalid(where + ".rds.config_source", "mesh-proxy takes RDS over ADS (ads: {})");
    }
    out.rdsName = proto.rds().route_config_name();
    if (out.rdsName.empty()) {
      return invalid(where + ".rds.route_config_name", "is required");
    }
  } else if (!proto.has_route_config()) {
    return invalid(where, "route_config or rds is required");
  } else {
    RETURN_IF_ERROR(checkRouteClusters(proto.route_config(), where + ".route_config", clusters));
    ASSIGN_OR_RETURN(out.routes,
                     router::RouteTable::build(proto.route_config(), where + ".route_config"));
  }
  const int filters = proto.http_filters_size();
  envoy::extensions::filters::http::router::v3::Router router;
  if (filters == 0 || !proto.http_filters(filters - 1).typed_config().UnpackTo(&router)) {
    return invalid(where + ".http_filters", "the last HTTP filter must be the router");
  }
  // Before the router: the CORS, fault and local rate limit filters (each at most once). CORS
  // acts first whatever its place; the fault and rate limit filters in the order given. The CORS
  // filter's own config is empty (envoy.extensions.filters.http.cors.v3.Cors): its policies are
  // the routes'.
  for (int i = 0; i + 1 < filters; ++i) {
    const auto& filter = proto.http_filters(i);
    const std::string at = fmt::format("{}.http_filters[{}]", where, i);
    envoy::extensions::filters::http::cors::v3::Cors cors;
    if (filter.name() == filters::kCorsFilterName && !out.cors &&
        filter.typed_config().UnpackTo(&cors)) {
      out.cors = true;
    } else if (filter.name() == filters::kFaultFilterName && !out.fault) {
      ASSIGN_OR_RETURN(auto fault, filters::buildFaultConfig(filter.typed_config(), at));
      out.fault = std::make_shared<const filters::FaultConfig>(std::move(fault));
    } else if (filter.name() == filters::kLocalRateLimitFilterName && !out.localRateLimit) {
      ASSIGN_OR_RETURN(out.localRateLimit,
                       filters::buildLocalRateLimitConfig(filter.typed_config(), at,
                                                          /*per_route=*/false));
      out.localRateLimitBeforeFault = !out.fault;
    } else {
      return invalid(at,
                     fmt::format("HTTP filter '{}' is not supported here (supported before "
                                 "the router, once each: {}, {}, {})",
                                 filter.name(), filters::kCorsFilterName, filters::kFaultFilterName,
                                 filters::kLocalRateLimitFilterName));
    }
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
  const auto& common = proto.common_http_protocol_options();
  if (common.has_max_connection_duration()) {
    // Honoured for upstream connections (clusters); downstream ones have no such limit yet.
    return invalid(where + ".common_http_protocol_options.max_connection_duration",
                   "not supported for downstream connections");
  }
  if (common.has_max_headers_count()) {
    out.maxHeadersCount = common.max_headers_count().value();
  }
  if (common.has_idle_timeout()) {
    out.idleTimeout = toMillis(common.idle_timeout());
  }
  if (common.has_max_requests_per_connection()) {
    out.maxRequestsPerConnection = common.max_requests_per_connection().value();
  }
  if (proto.has_stream_idle_timeout()) {
    out.streamIdleTimeout = toMillis(proto.stream_idle_timeout());
  }
  using Hcm =
      envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager;
  switch (proto.codec_type()) {
  case Hcm::HTTP1: out.codecType = CodecType::kHttp1; break;
  case Hcm::HTTP2: out.codecType = CodecType::kHttp2; break;
  default: out.codecType = CodecType::kAuto; break;
  }
  if (proto.has_http2_protocol_options()) {
    ASSIGN_OR_RETURN(out.http2, buildHttp2Options(proto.http2_protocol_options(),
                                                  where + ".http2_protocol_options"));
  }
  return out;
}

absl::StatusOr<FilterChainMatch> buildMatch(const envoy::config::listener::v3::FilterChainMatch& m,
                                            const std::string& where) {
  FilterChainMatch out;
  if (m.has_destination_port()) {
    if (m.destination_port().value() > 65535) {
      return invalid(where + ".destination_port", "is not a port");
    }
    out.destinationPort = static_cast<uint16_t>(m.destination_port().value());
  }
  for (int i = 0; i < m.prefix_ranges_size(); ++i) {
    ASSIGN_OR_RETURN(CidrRange range,
                     toCidr(m.prefix_ranges(i), fmt::format("{}.prefix_ranges[{}]", where, i)));
    out.prefixRanges.push_back(range);
  }
  for (const auto& name : m.server_names()) {
    out.serverNames.push_back(http::toLower(name));
  }
  out.transportProtocol = m.transport_protocol();
  if (!out.transportProtocol.empty() && out.transportProtocol != "raw_buffer" &&
      out.transportProtocol != "tls") {
    return invalid(where + ".transport_protocol",
                   fmt::format("'{}' is not raw_buffer or tls", out.transportProtocol));
  }
  out.applicationProtocols.assign(m.application_protocols().begin(),
                                  m.application_protocols().end());
  for (int i = 0; i < m.source_prefix_ranges_size(); ++i) {
    ASSIGN_OR_RETURN(CidrRange range, toCidr(m.source_prefix_ranges(i),
                                             fmt::format("{}.source_prefix_ranges[{}]", where, i)));
    out.sourcePrefixRanges.push_back(range);
  }
  for (uint32_t port : m.source_ports()) {
    out.sourcePorts.push_back(static_cast<uint16_t>(port));
  }
  return out;
}

absl::StatusOr<FilterChainConfig>
buildFilterChain(const envoy::config::listener::v3::FilterChain& chain, const std::string& where,
                 const ClusterCatalog& clusters) {
  FilterChainConfig out;
  out.name = chain.name();
  ASSIGN_OR_RETURN(out.match,
                   buildMatch(chain.filter_chain_match(), where + ".filter_chain_match"));
  // Optionally connection_limit, then exactly one terminal filter.
  const int terminal = chain.filters_size() - 1;
  if (terminal < 0 || terminal > 1) {
    return invalid(where + ".filters",
                   "expected [connection_limit,] then tcp_proxy or http_connection_manager");
  }
  if (terminal == 1) {
    const std::string limitPath = where + ".filters[0].typed_config";
    envoy::extensions::filters::network::connection_limit::v3::ConnectionLimit limit;
    if (!chain.filters(0).typed_config().UnpackTo(&limit)) {
      return invalid(limitPath, "only connection_limit may precede the terminal filter");
    }
    if (limit.stat_prefix().empty()) {
      return invalid(limitPath + ".stat_prefix", "is required");
    }
    if (!limit.has_max_connections() || limit.max_connections().value() == 0) {
      return invalid(limitPath + ".max_connections", "must be at least 1");
    }
    out.connectionLimit = ConnectionLimitConfig{
        limit.stat_prefix(), limit.max_connections().value(),
        limit.has_delay() ? toMillis(limit.delay()) : std::chrono::milliseconds(0)};
  }
  const std::string filterPath = fmt::format("{}.filters[{}].typed_config", where, terminal);
  const auto& typed = chain.filters(terminal).typed_config();
  envoy::extensions::filters::network::tcp_proxy::v3::TcpProxy tcpProxy;
  envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager hcm;
  if (typed.UnpackTo(&tcpProxy)) {
    ASSIGN_OR_RETURN(out.tcpProxy, buildTcpProxy(tcpProxy, filterPath, clusters));
  } else if (typed.UnpackTo(&hcm)) {
    ASSIGN_OR_RETURN(out.http, buildHttpConnectionManager(hcm, filterPath, clusters));
  } else {
    return invalid(filterPath, "expected a tcp_proxy or http_connection_manager filter");
  }
  return out;
}

} // namespace

absl::StatusOr<ListenerConfig> buildListener(const envoy::config::listener::v3::Listener& listener,
                                             const std::string& where,
                                             const ClusterCatalog& clusters) {
  ListenerConfig out;
  out.name = listener.name();
  out.version = std::hash<std::string>{}(listener.ShortDebugString());
  if (out.name.empty()) {
    return invalid(where + ".name", "a listener needs a name");
  }
  ASSIGN_OR_RETURN(out.address, toEndpoint(listener.address(), where + ".address"));
  if (listener.has_per_connection_buffer_limit_bytes()) {
    out.perConnectionBufferLimitBytes = listener.per_connection_buffer_limit_bytes().value();
  }
  if (listener.filter_chains_size() == 0 && !listener.has_default_filter_chain()) {
    return invalid(where + ".filter_chains", "a listener needs a filter chain");
  }
  for (int i = 0; i < listener.filter_chains_size(); ++i) {
    ASSIGN_OR_RETURN(FilterChainConfig chain,
                     buildFilterChain(listener.filter_chains(i),
                                      fmt::format("{}.filter_chains[{}]", where, i), clusters));
    out.filterChains.push_back(std::move(chain));
  }
  if (listener.has_default_filter_chain()) {
    ASSIGN_OR_RETURN(out.defaultFilterChain,
                     buildFilterChain(listener.default_filter_chain(),
                                      where + ".default_filter_chain", clusters));
  }
  out.originalDst = listener.has_use_original_dst() && listener.use_original_dst().value();
  for (int i = 0; i < listener.listener_filters_size(); ++i) {
    const auto& typed = listener.listener_filters(i).typed_config();
    if (typed.Is<envoy::extensions::filters::listener::original_dst::v3::OriginalDst>()) {
      out.originalDst = true;
    } else if (typed.Is<envoy::extensions::filters::listener::tls_inspector::v3::TlsInspector>()) {
      out.tlsInspector = true;
    } else if (typed
                   .Is<envoy::extensions::filters::listener::http_inspector::v3::HttpInspector>()) {
      out.httpInspector = true;
    } else {
      return invalid(fmt::format("{}.listener_filters[{}].typed_config", where, i),
                     "expected original_dst, tls_inspector or http_inspector");
    }
  }
  if (listener.has_listener_filters_timeout()) {
    out.listenerFiltersTimeout = toMillis(listener.listener_filters_timeout());
  }
  out.continueOnListenerFiltersTimeout = listener.continue_on_listener_filters_timeout();
  return out;
}

} // namespace meshd::proxy::config
