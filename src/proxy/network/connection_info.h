// What is known about an accepted connection before a filter chain is chosen: its addresses
// (the original destination when the listener recovers it) and what the listener filters saw.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "boost/asio/ip/tcp.hpp"

namespace meshd::proxy::network {

struct ConnectionInfo {
  boost::asio::ip::tcp::endpoint localAddress; // original destination when recovered
  boost::asio::ip::tcp::endpoint remoteAddress;
  std::string transportProtocol = "raw_buffer";  // "tls" when tls_inspector saw a ClientHello
  std::string serverName;                        // SNI
  std::vector<std::string> applicationProtocols; // ALPN, or "http/1.1"/"h2c" from http_inspector
  // Held for the connection's lifetime: its connection_limit slot, if the chain has a limit.
  std::shared_ptr<void> limitSlot;
};

} // namespace meshd::proxy::network
