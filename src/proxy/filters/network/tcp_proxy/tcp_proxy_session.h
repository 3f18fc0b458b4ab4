// tcp_proxy (Envoy's envoy.filters.network.tcp_proxy): one downstream connection relayed to one
// upstream endpoint of the configured cluster, both directions, with half-close, back-pressure
// (a direction stops reading while its peer's outbound buffer is over the connection buffer
// limit), connect and idle timeouts, and stats.
#pragma once

#include <array>
#include <chrono>
#include <memory>

#include "boost/asio/ip/tcp.hpp"
#include "core/buffer.h"
#include "core/event_loop.h"
#include "core/random.h"
#include "proxy/network/connection_info.h"
#include "proxy/network/connection_tracker.h"
#include "proxy/server/runtime.h"
#include "proxy/upstream/cluster.h"

namespace meshd::proxy::filters {

// The cluster for one connection: the configured one, or one of the weighted clusters by weight.
const std::string& pickTcpProxyCluster(const config::TcpProxyConfig& config,
                                       core::RandomGenerator& random);

class TcpProxySession : public std::enable_shared_from_this<TcpProxySession> {
public:
  TcpProxySession(core::EventLoop& loop, boost::asio::ip::tcp::socket downstream,
                  std::shared_ptr<const server::Runtime> runtime,
                  const config::ListenerConfig& listener, const config::FilterChainConfig& chain,
                  const network::ConnectionInfo& info, upstream::WorkerLoadBalancers& balancers,
                  std::shared_ptr<const upstream::Cluster> cluster);
  ~TcpProxySession();

  void start();
  // Leaves the tracker when this session ends.
  void track(network::ConnectionTracker::Registration registration) {
    tracking_ = std::move(registration);
  }
  // A draining listener's time is up: both sides close now.
  void endDrain() { close(); }

private:
  // One direction of the relay: bytes read from `from` wait in `buffer` until written to `to`.
  struct Pipe {
    boost::asio::ip::tcp::socket* from = nullptr;
    boost::asio::ip::tcp::socket* to = nullptr;
    core::Buffer buffer;
    // The slices of `buffer` being written; kept here because the write completes later.
    std::array<boost::asio::const_buffer, 16> writingSlices;
    stats::Counter readBytes;
    stats::Counter writtenBytes;
    bool reading = false;
    bool writing = false;
    bool eof = false;      // `from` has no more data
    bool shutDown = false; // `to` has been told (shutdown of its send side)
  };

  void connect();
  void onConnected();
  uint32_t bufferLimit(const Pipe& pipe) const;
  void read(Pipe& pipe);
  void write(Pipe& pipe);
  void maybeFinish(Pipe& pipe);
  void armIdleTimer();
  void close();

  core::EventLoop& loop_;
  boost::asio::ip::tcp::socket downstream_;
  boost::asio::ip::tcp::socket upstream_;
  std::shared_ptr<const server::Runtime> runtime_;
  const config::ListenerConfig& listener_;
  const config::TcpProxyConfig& config_;
  config::Endpoint originalDestination_;
  const server::ListenerStats& listenerStats_;
  std::shared_ptr<const upstream::Cluster> cluster_;
  upstream::WorkerLoadBalancers& balancers_;
  std::shared_ptr<void> limitSlot_; // connection_limit
  Pipe toUpstream_;
  Pipe toDownstream_;
  std::unique_ptr<core::Timer> connectTimer_;
  std::unique_ptr<core::Timer> idleTimer_;
  std::chrono::steady_clock::time_point lastActivity_;
  bool upstreamConnected_ = false;
  bool closed_ = false;
  network::ConnectionTracker::Registration tracking_;
  upstream::ResourceManager::Slot connectionSlot_; // max_connections, until the session ends
};

} // namespace meshd::proxy::filters
