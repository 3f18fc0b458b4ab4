// Upstream socket options (upstream_socket.h).
#include "proxy/network/upstream_socket.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "core/logging.h"

namespace meshd::proxy::network {
namespace {

spdlog::logger& logger() {
  static spdlog::logger& instance = log::get("upstream");
  return instance;
}

void setIntOption(boost::asio::ip::tcp::socket& socket, int level, int name, int value,
                  const char* what) {
  if (::setsockopt(socket.native_handle(), level, name, &value, sizeof(value)) != 0) {
    logger().warn("upstream socket: cannot set {}: errno {}", what, errno);
  }
}

void applyKeepalive(boost::asio::ip::tcp::socket& socket, const config::TcpKeepalive& keepalive) {
  setIntOption(socket, SOL_SOCKET, SO_KEEPALIVE, 1, "SO_KEEPALIVE");
  if (keepalive.probes) {
    setIntOption(socket, IPPROTO_TCP, TCP_KEEPCNT, static_cast<int>(*keepalive.probes),
                 "TCP_KEEPCNT");
  }
  if (keepalive.timeSeconds) {
    setIntOption(socket, IPPROTO_TCP, TCP_KEEPIDLE, static_cast<int>(*keepalive.timeSeconds),
                 "TCP_KEEPIDLE");
  }
  if (keepalive.intervalSeconds) {
    setIntOption(socket, IPPROTO_TCP, TCP_KEEPINTVL, static_cast<int>(*keepalive.intervalSeconds),
                 "TCP_KEEPINTVL");
  }
}

} // namespace

void openUpstreamSocket(boost::asio::ip::tcp::socket& socket, const config::Endpoint& endpoint,
                        const config::ClusterConfig& cluster) {
  boost::system::error_code error;
  socket.open(endpoint.protocol(), error);
  if (error) {
    return; // async_connect opens it again and reports the failure
  }
  if (cluster.tcpKeepalive) {
    applyKeepalive(socket, *cluster.tcpKeepalive);
  }
}

} // namespace meshd::proxy::network
