// Which requests may steer the router with x-envoy-* request headers (timeouts, retries). As
// Envoy's connection manager: at the edge (use_remote_address: true) a request from an external
// peer has them removed before routing; internal peers, and every request to a proxy that is not
// the edge (a sidecar: use_remote_address false, the default), keep them.
#pragma once

#include <string_view>

#include "boost/asio/ip/address.hpp"
#include "proxy/http/header_map.h"

namespace meshd::proxy::http {

// Envoy's default notion of an internal peer: RFC 1918 (10/8, 172.16/12, 192.168/16), loopback
// (127/8, ::1) and IPv6 unique local addresses (fd00::/8).
bool isInternalAddress(const boost::asio::ip::address& address);

// Removes the x-envoy-* request headers Envoy drops from external requests at the edge.
void removeEnvoyRequestControlHeaders(HeaderMap& headers);

} // namespace meshd::proxy::http
