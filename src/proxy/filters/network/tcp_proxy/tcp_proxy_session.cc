// The tcp_proxy relay (tcp_proxy_session.h). Each pending socket operation holds a shared_ptr to
// the session, so it lives until its last operation completes; close() cancels them all.
#include "proxy/filters/network/tcp_proxy/tcp_proxy_session.h"

#include <array>

#include "core/logging.h"
#include "proxy/network/upstream_socket.h"

namespace meshd::proxy::filters {
namespace {

constexpr size_t kReadSize = 16 * 1024;

spdlog::logger& logger() {
  static spdlog::logger& instance = log::get("tcp_proxy");
  return instance;
}

} // namespace

const std::string& pickTcpProxyCluster(const config::TcpProxyConfig& config,
                                       core::RandomGenerator& random) {
  if (config.weightedClusters.empty()) {
    return config.cluster;
  }
  uint64_t point = random.uniform(config.totalWeight);
  for (const auto& candidate : config.weightedClusters) {
    if (point < candidate.weight) {
      return candidate.name;
    }
    point -= candidate.weight;
  }
  return config.weightedClusters.back().name;
}

TcpProxySession::TcpProxySession(core::EventLoop& loop, boost::asio::ip::tcp::socket downstream,
                                 std::shared_ptr<const server::Runtime> runtime,
                                 const config::ListenerConfig& listener,
                                 const config::FilterChainConfig& chain,
                                 const network::ConnectionInfo& info,
                                 upstream::WorkerLoadBalancers& balancers,
                                 std::shared_ptr<const upstream::Cluster> cluster)
    : loop_(loop), downstream_(std::move(downstream)), upstream_(loop.context()),
      runtime_(std::move(runtime)), listener_(listener), config_(*chain.tcpProxy),
      originalDestination_(info.localAddress), listenerStats_(runtime_->chainStats.at(&chain)),
      cluster_(std::move(cluster)), balancers_(balancers), limitSlot_(info.limitSlot) {
  toUpstream_.from = &downstream_;
  toUpstream_.to = &upstream_;
  toUpstream_.readBytes = listenerStats_.tcpDownstreamRxBytes;
  toUpstream_.writtenBytes = cluster_->stats().cxTxBytes;
  toDownstream_.from = &upstream_;
  toDownstream_.to = &downstream_;
  toDownstream_.readBytes = cluster_->stats().cxRxBytes;
  toDownstream_.writtenBytes = listenerStats_.tcpDownstreamTxBytes;
  listenerStats_.downstreamCxTotal.inc();
  listenerStats_.downstreamCxActive.inc();
  listenerStats_.tcpDownstreamCxTotal.inc();
}

TcpProxySession::~TcpProxySession() {
  listenerStats_.downstreamCxActive.dec();
  if (upstreamConnected_) {
    cluster_->stats().cxActive.dec();
  }
}

void TcpProxySession::start() {
  boost::system::error_code ignored;
  downstream_.set_option(boost::asio::ip::tcp::no_delay(true), ignored);
  std::weak_ptr<TcpProxySession> weak = weak_from_this();
  connectTimer_ = loop_.createTimer([weak] {
    if (auto self = weak.lock(); self && !self->upstreamConnected_) {
      self->cluster_->stats().cxConnectTimeout.inc();
      MESHD_LOG(logger(), debug, "connect to cluster {} timed out", self->cluster_->name());
      self->close();
    }
  });
  idleTimer_ = loop_.createTimer([weak] {
    if (auto self = weak.lock()) {
      const auto idle = std::chrono::steady_clock::now() - self->lastActivity_;
      if (idle >= self->config_.idleTimeout) {
        self->listenerStats_.tcpIdleTimeout.inc();
        self->close();
      } else {
        self->idleTimer_->enable(self->config_.idleTimeout - idle);
      }
    }
  });
  lastActivity_ = std::chrono::steady_clock::now();
  armIdleTimer();
  connect();
}

void TcpProxySession::connect() {
  const auto endpoint =
      balancers_.pick(*cluster_, upstream::PickContext{std::nullopt, originalDestination_});
  if (!endpoint) {
    cluster_->stats().cxNoneHealthy.inc();
    close();
    return;
  }
  // max_connections: over it the downstream connection is closed, as Envoy's tcp_proxy does.
  connectionSlot_ = cluster_->resources().tryAcquire(upstream::ResourceManager::Kind::kConnections);
  if (!connectionSlot_) {
    cluster_->stats().cxOverflow.inc();
    close();
    return;
  }
  cluster_->stats().cxTotal.inc();
  connectTimer_->enable(cluster_->config().connectTimeout);
  network::openUpstreamSocket(upstream_, endpoint->address, cluster_->config());
  upstream_.async_connect(endpoint->address, [self = shared_from_this(), host = endpoint->index](
                                                 const boost::system::error_code& error) {
    self->connectTimer_->disable();
    if (self->closed_) {
      return;
    }
    using Outcome = upstream::OutlierDetector::Outcome;
    self->cluster_->reportOutcome(host, error ? Outcome::kLocalOriginFailure : Outcome::kSuccess);
    if (error) {
      self->cluster_->stats().cxConnectFail.inc();
      MESHD_LOG(logger(), debug, "connect to cluster {} failed: {}", self->cluster_->name(),
                error.message());
      self->close();
      return;
    }
    self->onConnected();
  });
}

void TcpProxySession::onConnected() {
  upstreamConnected_ = true;
  cluster_->stats().cxActive.inc();
  boost::system::error_code ignored;
  upstream_.set_option(boost::asio::ip::tcp::no_delay(true), ignored);
  read(toUpstream_);
  read(toDownstream_);
}

uint32_t TcpProxySession::bufferLimit(const Pipe& pipe) const {
  // Bytes from the upstream wait under the cluster's limit, bytes from the client under the
  // listener's (per_connection_buffer_limit_bytes on each, as in Envoy).
  return &pipe == &toDownstream_ ? cluster_->config().perConnectionBufferLimitBytes
                                 : listener_.perConnectionBufferLimitBytes;
}

void TcpProxySession::read(Pipe& pipe) {
  // Back-pressure: a full outbound buffer stops reading until the peer takes the data.
  if (pipe.reading || pipe.eof || closed_ || pipe.buffer.length() >= bufferLimit(pipe)) {
    return;
  }
  pipe.reading = true;
  const auto space = pipe.buffer.reserve(kReadSize);
  pipe.from->async_read_some(
      boost::asio::buffer(space.data(), space.size()),
      [self = shared_from_this(), &pipe](const boost::system::error_code& error, size_t n) {
        pipe.reading = false;
        if (self->closed_) {
          return;
        }
        pipe.buffer.commit(n);
        if (n > 0) {
          pipe.readBytes.inc(n);
          self->lastActivity_ = std::chrono::steady_clock::now();
        }
        if (error == boost::asio::error::eof) {
          pipe.eof = true;
        } else if (error) {
          self->close(); // reset or other failure: tear down both sides
          return;
        }
        self->write(pipe);
        self->read(pipe);
        self->maybeFinish(pipe);
      });
}

void TcpProxySession::write(Pipe& pipe) {
  if (pipe.writing || pipe.buffer.empty() || closed_) {
    return;
  }
  pipe.writing = true;
  std::array<std::span<const uint8_t>, std::tuple_size_v<decltype(pipe.writingSlices)>> spans;
  const size_t count = pipe.buffer.slices(spans);
  for (size_t i = 0; i < count; ++i) {
    pipe.writingSlices[i] = boost::asio::const_buffer(spans[i].data(), spans[i].size());
  }
  pipe.to->async_write_some(
      std::span<const boost::asio::const_buffer>(pipe.writingSlices.data(), count),
      [self = shared_from_this(), &pipe](const boost::system::error_code& error, size_t n) {
        pipe.writing = false;
        if (self->closed_) {
          return;
        }
        if (error) {
          self->close();
          return;
        }
        pipe.buffer.drain(n);
        pipe.writtenBytes.inc(n);
        self->lastActivity_ = std::chrono::steady_clock::now();
        self->write(pipe);
        self->read(pipe); // resumes a read paused by back-pressure
        self->maybeFinish(pipe);
      });
}

void TcpProxySession::maybeFinish(Pipe& pipe) {
  if (closed_ || !pipe.eof || !pipe.buffer.empty() || pipe.writing || pipe.shutDown) {
    return;
  }
  // Everything `from` sent has been delivered: pass the half-close on.
  pipe.shutDown = true;
  boost::system::error_code ignored;
  pipe.to->shutdown(boost::asio::ip::tcp::socket::shutdown_send, ignored);
  if (toUpstream_.shutDown && toDownstream_.shutDown) {
    close();
  }
}

void TcpProxySession::armIdleTimer() {
  if (config_.idleTimeout.count() > 0) {
    idleTimer_->enable(config_.idleTimeout);
  }
}

void TcpProxySession::close() {
  if (closed_) {
    return;
  }
  closed_ = true;
  connectTimer_->disable();
  idleTimer_->disable();
  boost::system::error_code ignored;
  downstream_.close(ignored);
  upstream_.close(ignored);
}

} // namespace meshd::proxy::filters
