// Opening an upstream connection for a cluster, shared by the HTTP/1.1 client and the HTTP/2
// connection: the cluster's socket options, its connect_timeout, the connection stats, and the
// max_connection_duration timer once connected.
#pragma once

#include <functional>
#include <memory>

#include "boost/asio/ip/tcp.hpp"
#include "core/event_loop.h"
#include "proxy/upstream/cluster.h"

namespace meshd::proxy::upstream {

using ConnectedSocket = std::shared_ptr<boost::asio::ip::tcp::socket>;

// Connects to `endpoint` (counting upstream_cx_total, and upstream_cx_connect_timeout or
// upstream_cx_connect_fail when it fails). `timeout` receives the connect_timeout timer: the
// caller owns it, so it dies with the caller, and disables it in `done`. `done(socket)` runs on the
// loop with the connected socket, or null; it should hold the caller alive.
void connectUpstream(core::EventLoop& loop, const std::shared_ptr<const Cluster>& cluster,
                     const config::Endpoint& endpoint, std::unique_ptr<core::Timer>& timeout,
                     std::function<void(ConnectedSocket)> done);

// The cluster's max_connection_duration as a timer calling `expired` (null without one).
std::unique_ptr<core::Timer> connectionDurationTimer(core::EventLoop& loop, const Cluster& cluster,
                                                     std::function<void()> expired);

} // namespace meshd::proxy::upstream
