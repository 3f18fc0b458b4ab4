// The immutable runtime snapshot workers use: the validated config plus the objects built from it
// (clusters with their stats). A new config builds a new Runtime; workers switch between requests.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "core/stats/store.h"
#include "proxy/config/proxy_config.h"
#include "proxy/upstream/cluster.h"

namespace meshd::proxy::server {

struct ListenerStats {
  stats::Counter downstreamCxTotal;
  stats::Gauge downstreamCxActive;
  stats::Counter tcpDownstreamCxTotal;
  stats::Counter tcpIdleTimeout;
  stats::Counter tcpDownstreamRxBytes;
  stats::Counter tcpDownstreamTxBytes;

  // `bound` is the address the listener really listens on (port 0 resolved).
  static ListenerStats create(stats::Store& store, const config::ListenerConfig& listener,
                              const boost::asio::ip::tcp::endpoint& bound);
};

struct Runtime {
  config::ProxyConfig config;
  std::map<std::string, std::shared_ptr<const upstream::Cluster>> clusters;
  std::map<std::string, ListenerStats> listenerStats; // by listener name

  const config::ListenerConfig* listener(const std::string& name) const;

  static std::shared_ptr<const Runtime>
  build(config::ProxyConfig config,
        const std::map<std::string, boost::asio::ip::tcp::endpoint>& bound_listeners,
        stats::Store& store);
};

} // namespace meshd::proxy::server
