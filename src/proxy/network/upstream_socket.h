// Opening the socket of an upstream connection with the cluster's socket options
// (upstream_connection_options), before it connects.
#pragma once

#include "boost/asio/ip/tcp.hpp"
#include "proxy/config/cluster_config.h"

namespace meshd::proxy::network {

// Opens `socket` for `endpoint`'s protocol and applies `cluster`'s options. A failure to set an
// option is logged, not fatal: the connection still works, without it.
void openUpstreamSocket(boost::asio::ip::tcp::socket& socket, const config::Endpoint& endpoint,
                        const config::ClusterConfig& cluster);

} // namespace meshd::proxy::network
