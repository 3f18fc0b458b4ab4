// Opening upstream connections (upstream_connect.h).
#include "proxy/upstream/upstream_connect.h"

#include "proxy/network/upstream_socket.h"

namespace meshd::proxy::upstream {

void connectUpstream(core::EventLoop& loop, const std::shared_ptr<const Cluster>& cluster,
                     const config::Endpoint& endpoint, std::unique_ptr<core::Timer>& timeout,
                     std::function<void(ConnectedSocket)> done) {
  cluster->stats().cxTotal.inc();
  auto raw = std::make_shared<boost::asio::ip::tcp::socket>(loop.context());
  network::openUpstreamSocket(*raw, endpoint, cluster->config());
  timeout = loop.createTimer([raw, cluster] {
    cluster->stats().cxConnectTimeout.inc();
    boost::system::error_code ignored;
    raw->close(ignored); // completes the connect with operation_aborted
  });
  timeout->enable(cluster->config().connectTimeout);
  raw->async_connect(
      endpoint, [raw, cluster, done = std::move(done)](const boost::system::error_code& error) {
        if (error) {
          cluster->stats().cxConnectFail.inc();
          done(nullptr);
          return;
        }
        done(raw);
      });
}

std::unique_ptr<core::Timer> connectionDurationTimer(core::EventLoop& loop, const Cluster& cluster,
                                                     std::function<void()> expired) {
  const auto limit = cluster.config().maxConnectionDuration;
  if (limit.count() <= 0) {
    return nullptr;
  }
  auto timer = loop.createTimer(std::move(expired));
  timer->enable(limit);
  return timer;
}

} // namespace meshd::proxy::upstream
