// Runtime snapshot construction (runtime.h).
#include "proxy/server/runtime.h"

#include "fmt/format.h"
#include "proxy/filters/http/local_ratelimit/local_ratelimit_config.h"

namespace meshd::proxy::server {

ListenerStats ListenerStats::create(stats::Store& store, const config::ListenerConfig& /*listener*/,
                                    const config::FilterChainConfig* chain,
                                    const boost::asio::ip::tcp::endpoint& bound) {
  const std::string address = fmt::format("{}_{}", bound.address().to_string(), bound.port());
  const stats::Tags listenerTags = {{"envoy_listener_address", address}};
  ListenerStats out{
      .downstreamCxTotal =
          store.counter("listener.downstream_cx_total", listenerTags, "Connections accepted"),
      .downstreamCxActive =
          store.gauge("listener.downstream_cx_active", listenerTags, "Open downstream connections"),
      .noFilterChainMatch = store.counter("listener.no_filter_chain_match", listenerTags,
                                          "Connections closed because no filter chain matched"),
      .downstreamGlobalCxOverflow = store.counter(
          "listener.downstream_global_cx_overflow", listenerTags,
          "Connections closed at accept by the overload manager's global connection limit"),
      .downstreamCxOverloadReject =
          store.counter("listener.downstream_cx_overload_reject", listenerTags,
                        "Connections closed at accept while stop_accepting_connections is active"),
  };
  if (chain == nullptr) {
    return out;
  }
  if (chain->tcpProxy) {
    const stats::Tags tags = {{"envoy_tcp_prefix", chain->tcpProxy->statPrefix}};
    out.tcpDownstreamCxTotal =
        store.counter("tcp.downstream_cx_total", tags, "Connections handled by tcp_proxy");
    out.tcpIdleTimeout =
        store.counter("tcp.idle_timeout", tags, "Connections closed by the idle timeout");
    out.tcpNoRoute = store.counter("tcp.downstream_cx_no_route", tags,
                                   "Connections closed because their cluster does not exist");
    out.tcpDownstreamRxBytes =
        store.counter("tcp.downstream_cx_rx_bytes_total", tags, "Bytes received from downstream");
    out.tcpDownstreamTxBytes =
        store.counter("tcp.downstream_cx_tx_bytes_total", tags, "Bytes sent to downstream");
  }
  if (chain->http) {
    const stats::Tags tags = {{"envoy_http_conn_manager_prefix", chain->http->statPrefix}};
    out.httpDownstreamCxTotal =
        store.counter("http.downstream_cx_total", tags, "HTTP connections accepted");
    out.httpDownstreamCxActive =
        store.gauge("http.downstream_cx_active", tags, "Open HTTP connections");
    out.httpDownstreamCxHttp1Total =
        store.counter("http.downstream_cx_http1_total", tags, "HTTP/1.1 connections");
    out.httpDownstreamCxHttp2Total =
        store.counter("http.downstream_cx_http2_total", tags, "HTTP/2 connections");
    out.httpDownstreamRqRxReset =
        store.counter("http.downstream_rq_rx_reset", tags, "Streams the client reset");
    out.httpDownstreamRqTxReset =
        store.counter("http.downstream_rq_tx_reset", tags, "Streams the proxy reset");
    out.httpDownstreamRqTotal = store.counter("http.downstream_rq_total", tags, "HTTP requests");
    out.httpDownstreamRqActive =
        store.gauge("http.downstream_rq_active", tags, "HTTP requests in progress");
    for (int i = 0; i < 5; ++i) {
      out.httpDownstreamRqByClass[static_cast<size_t>(i)] =
          store.counter(fmt::format("http.downstream_rq_{}xx", i + 1), tags,
                        fmt::format("Responses with a {}xx status", i + 1));
    }
    out.httpNoRoute = store.counter("http.no_route", tags, "Requests no route matched");
    out.httpNoCluster =
        store.counter("http.no_cluster", tags, "Requests routed to a cluster that does not exist");
    out.httpRqDirectResponse =
        store.counter("http.rq_direct_response", tags, "Requests answered by a direct response");
    out.httpRqRedirect = store.counter("http.rq_redirect", tags, "Requests answered by a redirect");
    out.httpDownstreamRqTimeout =
        store.counter("http.downstream_rq_timeout", tags, "Requests whose route timeout expired");
    out.httpDownstreamCxProtocolError = store.counter("http.downstream_cx_protocol_error", tags,
                                                      "Connections closed for a protocol error");
    out.httpDownstreamCxIdleTimeout =
        store.counter("http.downstream_cx_idle_timeout", tags,
                      "Connections closed by the connection idle timeout");
    out.httpDownstreamCxMaxRequestsReached =
        store.counter("http.downstream_cx_max_requests_reached", tags,
                      "Connections closed after max_requests_per_connection requests");
    out.httpDownstreamRqIdleTimeout = store.counter("http.downstream_rq_idle_timeout", tags,
                                                    "Requests ended by the stream idle timeout");
    out.httpDownstreamRqOverloadClose =
        store.counter("http.downstream_rq_overload_close", tags,
                      "Requests answered 503 while stop_accepting_requests is active");
    out.httpDownstreamCxOverloadDisableKeepalive =
        store.counter("http.downstream_cx_overload_disable_keepalive", tags,
                      "Connections closed after a response while disable_http_keepalive is active");
    out.httpDownstreamCxDestroyRemoteActiveRq =
        store.counter("http.downstream_cx_destroy_remote_active_rq", tags,
                      "Connections the client closed with a request in progress");
    out.httpFaultDelaysInjected =
        store.counter("http.fault.delays_injected", tags, "Requests delayed by the fault filter");
    out.httpFaultAbortsInjected =
        store.counter("http.fault.aborts_injected", tags, "Requests aborted by the fault filter");
    out.httpCorsOriginValid = store.counter("http.cors.origin_valid", tags,
                                            "Requests whose Origin the CORS policy allows");
    out.httpCorsOriginInvalid = store.counter(
        "http.cors.origin_invalid", tags, "Requests whose Origin the CORS policy does not allow");
  }
  return out;
}

VirtualHostStats VirtualHostStats::create(stats::Store& store, const std::string& virtual_host) {
  const stats::Tags tags = {{"envoy_virtual_host", virtual_host},
                            {"envoy_virtual_cluster", "other"}};
  VirtualHostStats out{
      .rqTotal = store.counter("vhost.vcluster.upstream_rq_total", tags,
                               "Requests the virtual host routed upstream"),
      .rqByClass = {},
      .rqTime = store.histogram("vhost.vcluster.upstream_rq_time", tags,
                                stats::defaultDurationBucketsMs(),
                                "Time to the response head in milliseconds"),
  };
  for (int i = 0; i < 5; ++i) {
    out.rqByClass[static_cast<size_t>(i)] =
        store.counter(fmt::format("vhost.vcluster.upstream_rq_{}xx", i + 1), tags,
                      fmt::format("Upstream responses with a {}xx status", i + 1));
  }
  return out;
}

const config::ListenerConfig* Runtime::listener(const std::string& name) const {
  for (const auto& candidate : config.listeners) {
    if (candidate.name == name) {
      return &candidate;
    }
  }
  return nullptr;
}

std::shared_ptr<const Runtime>
Runtime::build(config::ProxyConfig config,
               const std::map<std::string, boost::asio::ip::tcp::endpoint>& bound_listeners,
               stats::Store& store, const Runtime* previous, const OutlierDetectorFactory* outliers,
               const core::TimeSource& time) {
  auto runtime = std::make_shared<Runtime>();
  runtime->generation = previous != nullptr ? previous->generation + 1 : 1;
  for (auto& [name, cluster] : config.clusters) {
    // A cluster that stays keeps its circuit-breaker counts, and its outlier detector while that
    // config stays the same.
    upstream::Cluster::Shared shared;
    const auto old =
        previous != nullptr ? previous->clusters.find(name) : decltype(previous->clusters.end()){};
    if (previous != nullptr && old != previous->clusters.end()) {
      shared.resources = old->second->sharedResources();
      if (old->second->outlierDetector() != nullptr && cluster.outlierDetection &&
          old->second->outlierDetector()->config() == *cluster.outlierDetection) {
        shared.outlierDetector = old->second->sharedOutlierDetector();
      }
    }
    if (!shared.outlierDetector && cluster.outlierDetection && outliers != nullptr) {
      shared.outlierDetector = (*outliers)(name, *cluster.outlierDetection);
    }
    if (cluster.slowStart) {
      // A host keeps the time it first joined while it stays; a new one joins now. By address,
      // looked up in a map: an EDS update of a large cluster stays linear in its hosts.
      std::map<config::Endpoint, core::MonotonicTime> joined;
      if (previous != nullptr && old != previous->clusters.end()) {
        const upstream::Cluster& before = *old->second;
        for (size_t i = 0; i < before.config().hosts.size(); ++i) {
          joined.emplace(before.config().hosts[i].address, before.joinedAt(i));
        }
      }
      const core::MonotonicTime now = time.monotonicNow();
      for (const auto& host : cluster.hosts) {
        const auto found = joined.find(host.address);
        shared.hostJoinTimes.push_back(found != joined.end() ? found->second : now);
      }
    }
    if (shared.outlierDetector) {
      for (auto& host : cluster.hosts) {
        host.ejected = shared.outlierDetector->ejected(host.address);
      }
    }
    runtime->clusters.emplace(name,
                              std::make_shared<const upstream::Cluster>(cluster, store, shared));
  }
  // Chain stats are keyed by the chains' addresses inside the runtime's own copy of the config.
  runtime->config = std::move(config);
  auto addVirtualHostStats = [&](const router::RouteTable& table) {
    for (const auto& virtualHost : table.virtualHosts()) {
      runtime->virtualHostStats.emplace(&virtualHost,
                                        VirtualHostStats::create(store, virtualHost.name));
      // Local rate limit configs get their stats before any worker sees them.
      if (virtualHost.localRateLimit) {
        virtualHost.localRateLimit->bindStats(store);
      }
      for (const auto& route : virtualHost.routes) {
        if (route.localRateLimit) {
          route.localRateLimit->bindStats(store);
        }
      }
    }
  };
  for (const auto& [name, table] : runtime->config.routeTables) {
    addVirtualHostStats(*table);
  }
  for (const auto& listener : runtime->config.listeners) {
    const auto found = bound_listeners.find(listener.name);
    const auto bound = found != bound_listeners.end() ? found->second : listener.address;
    runtime->listenerStats.emplace(listener.name,
                                   ListenerStats::create(store, listener, nullptr, bound));
    const config::ListenerConfig* before = previous ? previous->listener(listener.name) : nullptr;
    // `chain` is the index'th chain of `listener` (the default chain: index -1).
    auto addChain = [&](const config::FilterChainConfig& chain, int index) {
      runtime->chainStats.emplace(&chain, ListenerStats::create(store, listener, &chain, bound));
      if (chain.http && chain.http->routes) {
        addVirtualHostStats(*chain.http->routes);
      }
      if (chain.http && chain.http->localRateLimit) {
        chain.http->localRateLimit->bindStats(store);
      }
      if (!chain.connectionLimit) {
        return;
      }
      const config::FilterChainConfig* old = nullptr;
      if (before != nullptr) {
        old = index < 0 ? (before->defaultFilterChain ? &*before->defaultFilterChain : nullptr)
              : static_cast<size_t>(index) < before->filterChains.size()
                  ? &before->filterChains[static_cast<size_t>(index)]
                  : nullptr;
      }
      if (old != nullptr && old->connectionLimit &&
          old->connectionLimit->maxConnections == chain.connectionLimit->maxConnections &&
          old->connectionLimit->statPrefix == chain.connectionLimit->statPrefix) {
        runtime->connectionLimiters.emplace(&chain, previous->connectionLimiters.at(old));
        return;
      }
      runtime->connectionLimiters.emplace(&chain, std::make_shared<filters::ConnectionLimiter>(
                                                      chain.connectionLimit->maxConnections, store,
                                                      chain.connectionLimit->statPrefix));
    };
    for (size_t i = 0; i < listener.filterChains.size(); ++i) {
      addChain(listener.filterChains[i], static_cast<int>(i));
    }
    if (listener.defaultFilterChain) {
      addChain(*listener.defaultFilterChain, -1);
    }
  }
  return runtime;
}

} // namespace meshd::proxy::server
