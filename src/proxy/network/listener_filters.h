// Listener filters: what a listener learns about a connection before choosing its filter chain.
// original_dst reads the pre-redirect destination (iptables REDIRECT); tls_inspector reads the
// TLS ClientHello (SNI, ALPN) and http_inspector sniffs HTTP/1 or HTTP/2 prior knowledge, both by
// peeking without consuming, bounded by the listener's listener_filters_timeout.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <span>

#include "boost/asio/ip/tcp.hpp"
#include "core/event_loop.h"
#include "proxy/network/connection_info.h"

namespace meshd::proxy::network {

// The destination a connection had before an iptables REDIRECT, or nullopt if it was not
// redirected (the local address is then the real destination).
std::optional<boost::asio::ip::tcp::endpoint> originalDestination(int fd);

enum class InspectResult { kNeedMore, kDone };
// Parse what has arrived so far; fill `info` when done. Exposed for unit tests and fuzzing.
InspectResult inspectTls(std::span<const uint8_t> data, ConnectionInfo& info);
InspectResult inspectHttp(std::span<const uint8_t> data, ConnectionInfo& info);

// Runs the enabled inspectors on an accepted socket, then calls `done(socket, info)` on the
// socket's loop; on timeout it calls `done` with what is known when `continue_on_timeout`, or
// closes the socket. Shared-owned: keeps itself alive until done.
class ListenerInspection : public std::enable_shared_from_this<ListenerInspection> {
public:
  using Done = std::function<void(boost::asio::ip::tcp::socket, ConnectionInfo)>;
  ListenerInspection(core::EventLoop& loop, boost::asio::ip::tcp::socket socket,
                     ConnectionInfo info, bool tls, bool http, std::chrono::milliseconds timeout,
                     bool continue_on_timeout, Done done);
  void start();

private:
  void waitForData();
  void finish();

  core::EventLoop& loop_;
  boost::asio::ip::tcp::socket socket_;
  ConnectionInfo info_;
  bool tls_;
  bool http_;
  bool continueOnTimeout_;
  std::chrono::milliseconds timeout_;
  Done done_;
  std::unique_ptr<core::Timer> timer_;
  bool finished_ = false;
};

} // namespace meshd::proxy::network
