// The immutable runtime snapshot workers use: the validated config plus the objects built from it
// (clusters with their stats). A new config builds a new Runtime; workers switch between requests.
#pragma once

#include <array>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>

#include "core/stats/store.h"
#include "core/time_source.h"
#include "proxy/config/proxy_config.h"
#include "proxy/filters/network/connection_limit/connection_limiter.h"
#include "proxy/upstream/cluster.h"

namespace meshd::proxy::server {

struct ListenerStats {
  stats::Counter downstreamCxTotal;
  stats::Gauge downstreamCxActive;
  stats::Counter noFilterChainMatch;
  stats::Counter downstreamGlobalCxOverflow; // overload manager: global connection limit
  stats::Counter downstreamCxOverloadReject; // overload manager: stop_accepting_connections
  // tcp_proxy (tag envoy_tcp_prefix)
  stats::Counter tcpDownstreamCxTotal;
  stats::Counter tcpIdleTimeout;
  stats::Counter tcpNoRoute; // the cluster does not exist (any more)
  stats::Counter tcpDownstreamRxBytes;
  stats::Counter tcpDownstreamTxBytes;
  // http_connection_manager (tag envoy_http_conn_manager_prefix)
  stats::Counter httpDownstreamCxTotal;
  stats::Gauge httpDownstreamCxActive;
  stats::Counter httpDownstreamCxHttp1Total; // by the codec the connection turned out to speak
  stats::Counter httpDownstreamCxHttp2Total;
  stats::Counter httpDownstreamRqRxReset; // HTTP/2 streams the client reset
  stats::Counter httpDownstreamRqTxReset; // HTTP/2 streams the proxy reset
  stats::Counter httpDownstreamRqTotal;
  stats::Gauge httpDownstreamRqActive;
  std::array<stats::Counter, 5> httpDownstreamRqByClass; // 1xx..5xx
  stats::Counter httpNoRoute;
  stats::Counter httpNoCluster;
  stats::Counter httpRqDirectResponse;
  stats::Counter httpRqRedirect;
  stats::Counter httpDownstreamRqTimeout;
  stats::Counter httpDownstreamCxProtocolError;
  stats::Counter httpDownstreamCxIdleTimeout;
  stats::Counter httpDownstreamCxMaxRequestsReached;
  stats::Counter httpDownstreamRqIdleTimeout;
  stats::Counter httpDownstreamRqOverloadClose;            // stop_accepting_requests
  stats::Counter httpDownstreamCxOverloadDisableKeepalive; // disable_http_keepalive
  // The client closed its connection while a request was still in progress.
  stats::Counter httpDownstreamCxDestroyRemoteActiveRq;
  stats::Counter httpFaultDelaysInjected; // fault filter
  stats::Counter httpFaultAbortsInjected;
  stats::Counter httpCorsOriginValid; // CORS filter: requests with an Origin it allows
  stats::Counter httpCorsOriginInvalid;

  // `bound` is the address the listener really listens on (port 0 resolved); `chain` adds its
  // network filter's stats (null: the listener's own stats only).
  static ListenerStats create(stats::Store& store, const config::ListenerConfig& listener,
                              const config::FilterChainConfig* chain,
                              const boost::asio::ip::tcp::endpoint& bound);
};

// Envoy's catch-all virtual cluster stats of one virtual host (vhost.<name>.vcluster.other.*):
// requests the virtual host routed upstream, by response class, and their time.
struct VirtualHostStats {
  stats::Counter rqTotal;
  std::array<stats::Counter, 5> rqByClass; // 1xx..5xx
  stats::Histogram rqTime;                 // milliseconds, to the response head

  static VirtualHostStats create(stats::Store& store, const std::string& virtual_host);
};

struct Runtime {
  config::ProxyConfig config;
  uint64_t generation = 1; // one more than the runtime it replaced
  // Transparent: looked up by string_view per request without building a string.
  std::map<std::string, std::shared_ptr<const upstream::Cluster>, std::less<>> clusters;
  std::map<std::string, ListenerStats> listenerStats; // by listener name
  std::map<const config::FilterChainConfig*, ListenerStats> chainStats;
  std::unordered_map<const router::VirtualHost*, VirtualHostStats> virtualHostStats;
  // connection_limit filters, by the chain they guard.
  std::map<const config::FilterChainConfig*, std::shared_ptr<filters::ConnectionLimiter>>
      connectionLimiters;

  const config::ListenerConfig* listener(const std::string& name) const;

  // Makes the outlier detector of a cluster whose outlier_detection is new (main thread).
  using OutlierDetectorFactory = std::function<std::shared_ptr<upstream::OutlierDetector>(
      const std::string& cluster, const config::OutlierDetectionConfig& config)>;

  // `previous` (the runtime being replaced, if any) hands over what must outlive a rebuild: the
  // connection_limit counters of chains whose limit did not change, the clusters' circuit
  // breakers and outlier detectors. Hosts the detectors have ejected are marked in the copy of the
  // config the runtime keeps. Without `outliers`, outlier_detection has no effect.
  static std::shared_ptr<const Runtime>
  build(config::ProxyConfig config,
        const std::map<std::string, boost::asio::ip::tcp::endpoint>& bound_listeners,
        stats::Store& store, const Runtime* previous = nullptr,
        const OutlierDetectorFactory* outliers = nullptr,
        const core::TimeSource& time = core::RealTimeSource::instance());
};

} // namespace meshd::proxy::server
