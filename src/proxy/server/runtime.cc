// Runtime snapshot construction (runtime.h).
#include "proxy/server/runtime.h"

#include "fmt/format.h"

namespace meshd::proxy::server {

ListenerStats ListenerStats::create(stats::Store& store, const config::ListenerConfig& listener,
                                    const boost::asio::ip::tcp::endpoint& bound) {
  const std::string address = fmt::format("{}_{}", bound.address().to_string(), bound.port());
  const stats::Tags listenerTags = {{"envoy_listener_address", address}};
  const stats::Tags tcpTags = {{"envoy_tcp_prefix", listener.tcpProxy.statPrefix}};
  return ListenerStats{
      .downstreamCxTotal =
          store.counter("listener.downstream_cx_total", listenerTags, "Connections accepted"),
      .downstreamCxActive =
          store.gauge("listener.downstream_cx_active", listenerTags, "Open downstream connections"),
      .tcpDownstreamCxTotal =
          store.counter("tcp.downstream_cx_total", tcpTags, "Connections handled by tcp_proxy"),
      .tcpIdleTimeout =
          store.counter("tcp.idle_timeout", tcpTags, "Connections closed by the idle timeout"),
      .tcpDownstreamRxBytes = store.counter("tcp.downstream_cx_rx_bytes_total", tcpTags,
                                            "Bytes received from downstream"),
      .tcpDownstreamTxBytes =
          store.counter("tcp.downstream_cx_tx_bytes_total", tcpTags, "Bytes sent to downstream"),
  };
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
               stats::Store& store) {
  auto runtime = std::make_shared<Runtime>();
  for (const auto& [name, cluster] : config.clusters) {
    runtime->clusters.emplace(name, std::make_shared<const upstream::Cluster>(cluster, store));
  }
  for (const auto& listener : config.listeners) {
    const auto bound = bound_listeners.find(listener.name);
    runtime->listenerStats.emplace(
        listener.name,
        ListenerStats::create(store, listener,
                              bound != bound_listeners.end() ? bound->second : listener.address));
  }
  runtime->config = std::move(config);
  return runtime;
}

} // namespace meshd::proxy::server
