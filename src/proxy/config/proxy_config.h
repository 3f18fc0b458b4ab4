// The proxy's own config model, built from Envoy resources and validated as a whole: what the
// listeners, filters and clusters need at run time, with Envoy's defaults filled in. Immutable
// once built; workers receive it as a snapshot.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "boost/asio/ip/tcp.hpp"
#include "proxy/config/bootstrap_loader.h"
#include "proxy/config/cluster_config.h"
#include "proxy/config/overload_config.h"
#include "proxy/router/route_table.h"

namespace meshd::proxy::config {

struct TcpProxyConfig {
  struct WeightedCluster {
    std::string name;
    uint32_t weight = 0;
  };
  std::string statPrefix;
  std::string cluster;                           // or, when set, one of:
  std::vector<WeightedCluster> weightedClusters; // picked per connection by weight
  uint64_t totalWeight = 0;
  // Envoy's default is one hour; zero disables the timeout.
  std::chrono::milliseconds idleTimeout{std::chrono::hours(1)};
};

// envoy.filters.network.http_connection_manager, with the router as its (only) HTTP filter.
// codec_type: AUTO tells HTTP/2 (its connection preface) from HTTP/1.1 on each connection.
enum class CodecType { kAuto, kHttp1, kHttp2 };

struct HttpConnectionManagerConfig {
  std::string statPrefix;
  CodecType codecType = CodecType::kAuto;
  Http2Options http2;                               // http2_protocol_options
  std::shared_ptr<const router::RouteTable> routes; // inline route_config; null with RDS
  std::string rdsName;                              // rds.route_config_name (over ADS)
  std::string serverName = "envoy";                 // Envoy's default `server` header
  bool useRemoteAddress = false;                    // append the peer to x-forwarded-for
  size_t maxRequestHeadersBytes = 60 * 1024;
  uint32_t maxHeadersCount = 100;
  std::set<std::string> upgradeTypes; // enabled upgrade_configs, lowercase ("websocket")
  // common_http_protocol_options.idle_timeout: a connection without a request for this long is
  // closed (Envoy's default: one hour; zero: never).
  std::chrono::milliseconds idleTimeout{std::chrono::hours(1)};
  // No activity on a request for this long: 408 (Envoy's default: five minutes; zero: never).
  std::chrono::milliseconds streamIdleTimeout{std::chrono::minutes(5)};
  uint32_t maxRequestsPerConnection = 0; // zero: no limit
  // The fault filter, when the chain has one: its config applies to routes without their own.
  std::shared_ptr<const filters::FaultConfig> fault;
  // The CORS filter is in the chain: routes' CORS policies apply (before the fault filter).
  bool cors = false;
  // The local rate limit filter, likewise; it acts before the fault filter when it comes first
  // in http_filters.
  std::shared_ptr<const filters::LocalRateLimitConfig> localRateLimit;
  bool localRateLimitBeforeFault = true;
};

// An IP prefix (CidrRange).
struct CidrRange {
  boost::asio::ip::address address;
  uint32_t prefixLength = 0;
  bool contains(const boost::asio::ip::address& ip) const;
};

// envoy.config.listener.v3.FilterChainMatch (the fields mesh-proxy matches on).
struct FilterChainMatch {
  std::optional<uint16_t> destinationPort;
  std::vector<CidrRange> prefixRanges;           // destination IP
  std::vector<std::string> serverNames;          // SNI, exact or "*.suffix"
  std::string transportProtocol;                 // "raw_buffer" or "tls"; empty: any
  std::vector<std::string> applicationProtocols; // ALPN or sniffed ("http/1.1", "h2c")
  std::vector<CidrRange> sourcePrefixRanges;
  std::vector<uint16_t> sourcePorts;
};

// envoy.filters.network.connection_limit, ahead of the chain's terminal filter.
struct ConnectionLimitConfig {
  std::string statPrefix;
  uint64_t maxConnections = 0;
  std::chrono::milliseconds delay{0}; // before closing a connection over the limit
};

struct FilterChainConfig {
  std::string name;
  FilterChainMatch match;
  std::optional<ConnectionLimitConfig> connectionLimit;
  // Exactly one of these network filters.
  std::optional<TcpProxyConfig> tcpProxy;
  std::optional<HttpConnectionManagerConfig> http;
};

struct ListenerConfig {
  std::string name;
  // Tells one config of the listener from another (a hash of its Envoy resource): connections
  // accepted under another version drain.
  uint64_t version = 0;
  Endpoint address;
  uint32_t perConnectionBufferLimitBytes = 1 << 20;
  std::vector<FilterChainConfig> filterChains;
  std::optional<FilterChainConfig> defaultFilterChain;
  // Listener filters.
  bool originalDst = false; // original_dst filter or use_original_dst
  bool tlsInspector = false;
  bool httpInspector = false;
  std::chrono::milliseconds listenerFiltersTimeout{15000};
  bool continueOnListenerFiltersTimeout = false;
};

// dynamic_resources: one ADS stream (gRPC, state of the world) to the control plane, which a
// static cluster names. CDS (and EDS for the clusters whose eds_config says `ads`) come over it.
struct XdsConfig {
  std::string clusterName;                              // the static cluster of the control plane
  Endpoint server;                                      // its first host
  bool cds = false;                                     // cds_config: { ads: {} }
  bool lds = false;                                     // lds_config: { ads: {} }
  bool delta = false;                                   // ads_config.api_type DELTA_GRPC
  std::chrono::milliseconds initialFetchTimeout{15000}; // Envoy's default
};

struct ProxyConfig {
  std::string nodeId;
  std::string nodeCluster;
  std::optional<Endpoint> adminAddress;
  std::vector<ListenerConfig> listeners;
  std::map<std::string, ClusterConfig> clusters;
  std::optional<XdsConfig> xds;
  std::optional<OverloadConfig> overload; // bootstrap overload_manager
  // Route configurations from RDS, by name (the connection managers' rdsName).
  std::map<std::string, std::shared_ptr<const router::RouteTable>> routeTables;
  Bootstrap bootstrap; // as given, for /config_dump
};

// Validates references and values across the whole bootstrap; the first error names the object
// and field.
absl::StatusOr<ProxyConfig> buildProxyConfig(const Bootstrap& bootstrap);

} // namespace meshd::proxy::config
