// The proxy's own config model, built from Envoy resources and validated as a whole: what the
// listeners, filters and clusters need at run time, with Envoy's defaults filled in. Immutable
// once built; workers receive it as a snapshot.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "boost/asio/ip/tcp.hpp"
#include "proxy/config/bootstrap_loader.h"

namespace meshd::proxy::config {

using Endpoint = boost::asio::ip::tcp::endpoint;

struct ClusterConfig {
  std::string name;
  std::chrono::milliseconds connectTimeout{5000};   // Envoy's default
  uint32_t perConnectionBufferLimitBytes = 1 << 20; // Envoy's default (1 MiB)
  std::vector<Endpoint> endpoints;
};

struct TcpProxyConfig {
  std::string statPrefix;
  std::string cluster;
  // Envoy's default is one hour; zero disables the timeout.
  std::chrono::milliseconds idleTimeout{std::chrono::hours(1)};
};

struct ListenerConfig {
  std::string name;
  Endpoint address;
  uint32_t perConnectionBufferLimitBytes = 1 << 20;
  TcpProxyConfig tcpProxy;
};

struct ProxyConfig {
  std::string nodeId;
  std::string nodeCluster;
  std::optional<Endpoint> adminAddress;
  std::vector<ListenerConfig> listeners;
  std::map<std::string, ClusterConfig> clusters;
  Bootstrap bootstrap; // as given, for /config_dump
};

// Validates references and values across the whole bootstrap; the first error names the object
// and field.
absl::StatusOr<ProxyConfig> buildProxyConfig(const Bootstrap& bootstrap);

} // namespace meshd::proxy::config
