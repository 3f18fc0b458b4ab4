// HttpConnectionManager (conn_manager.h).
#include "proxy/http/conn_manager.h"

namespace meshd::proxy::http {

HttpConnectionManager::HttpConnectionManager(WorkerContext context,
                                             boost::asio::ip::tcp::socket socket,
                                             std::shared_ptr<const server::Runtime> runtime,
                                             const config::ListenerConfig& listener,
                                             const config::FilterChainConfig& chain,
                                             const network::ConnectionInfo& info)
    : context_(context, std::move(runtime), listener, chain), limitSlot_(info.limitSlot) {
  context_.localAddress = info.localAddress;
  boost::system::error_code error;
  const auto peer = socket.remote_endpoint(error);
  if (!error) {
    context_.peerAddress = peer.address().to_string();
  }
  socket_ = std::make_shared<network::StreamSocket>(std::move(socket), this);
  http1_ = std::make_unique<Http1ServerConnection>(context_, *socket_);
  const server::ListenerStats& stats = context_.stats;
  stats.downstreamCxTotal.inc();
  stats.downstreamCxActive.inc();
  stats.httpDownstreamCxTotal.inc();
  stats.httpDownstreamCxActive.inc();
}

HttpConnectionManager::~HttpConnectionManager() {
  http1_.reset();
  socket_->close();
  context_.stats.downstreamCxActive.dec();
  context_.stats.httpDownstreamCxActive.dec();
}

void HttpConnectionManager::start() {
  socket_->start(shared_from_this());
  http1_->start();
}

void HttpConnectionManager::onReadable(core::Buffer& input, bool eof) {
  http1_->onReadable(input, eof);
}

void HttpConnectionManager::onWriteDrained() {
  http1_->onWriteDrained();
}

void HttpConnectionManager::onSocketError() {
  http1_->onSocketError();
}

void HttpConnectionManager::endDrain() {
  http1_->endDrain();
}

} // namespace meshd::proxy::http
