// Listener config: filter chains with their match criteria and network filters (tcp_proxy,
// http_connection_manager), and the listener filters (original_dst, tls_inspector,
// http_inspector), validated with field paths.
#pragma once

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "proxy/config/proxy_config.h"

namespace meshd::proxy::config {

// The clusters a listener's filters may name: the static ones, or any name when clusters also
// come from CDS (a missing one is then answered at run time: 503 NC, or a closed connection).
struct ClusterCatalog {
  const std::map<std::string, ClusterConfig>& clusters;
  bool dynamic = false;
  bool known(const std::string& name) const { return dynamic || clusters.contains(name); }
};

absl::StatusOr<ListenerConfig> buildListener(const envoy::config::listener::v3::Listener& listener,
                                             const std::string& where,
                                             const ClusterCatalog& clusters);

} // namespace meshd::proxy::config
