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

absl::StatusOr<ListenerConfig> buildListener(const envoy::config::listener::v3::Listener& listener,
                                             const std::string& where,
                                             const std::map<std::string, ClusterConfig>& clusters);

} // namespace meshd::proxy::config
