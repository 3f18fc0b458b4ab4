// HttpConnectionManager (conn_manager.h).
#include "proxy/http/conn_manager.h"

#include <algorithm>
#include <string>
#include <string_view>

#include "core/logging.h"
#include "proxy/http/http1_connection.h"
#include "proxy/http/http2_connection.h"

namespace meshd::proxy::http {
namespace {

// RFC 9113 §3.4: what an HTTP/2 client sends first.
constexpr std::string_view kHttp2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

spdlog::logger& logger() {
  static spdlog::logger& instance = log::get("http");
  return instance;
}

} // namespace

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
  const server::ListenerStats& stats = context_.stats;
  stats.downstreamCxTotal.inc();
  stats.downstreamCxActive.inc();
  stats.httpDownstreamCxTotal.inc();
  stats.httpDownstreamCxActive.inc();
  switch (context_.config.codecType) {
  case config::CodecType::kHttp2:
    codec_ = std::make_unique<Http2ServerConnection>(context_, *socket_);
    stats.httpDownstreamCxHttp2Total.inc();
    break;
  case config::CodecType::kHttp1:
    codec_ = std::make_unique<Http1ServerConnection>(context_, *socket_);
    stats.httpDownstreamCxHttp1Total.inc();
    break;
  case config::CodecType::kAuto:
    // HTTP/1 until the first bytes say otherwise: it keeps the connection idle timeout meanwhile
    // and has seen nothing when HTTP/2 replaces it.
    codec_ = std::make_unique<Http1ServerConnection>(context_, *socket_);
    sniffing_ = true;
    break;
  }
}

HttpConnectionManager::~HttpConnectionManager() {
  codec_.reset();
  socket_->close();
  context_.stats.downstreamCxActive.dec();
  context_.stats.httpDownstreamCxActive.dec();
}

void HttpConnectionManager::start() {
  MESHD_LOG(logger(), trace, "HTTP connection from {}", context_.peerAddress);
  socket_->start(shared_from_this());
  codec_->start();
}

bool HttpConnectionManager::pickCodec(const core::Buffer& input, bool eof) {
  const size_t length = std::min(input.length(), kHttp2Preface.size());
  std::string head(length, '\0');
  input.copyOut(0, length, head.data());
  if (kHttp2Preface.starts_with(head) && length < kHttp2Preface.size() && !eof) {
    return false; // a prefix of the preface: wait for the rest
  }
  if (head == kHttp2Preface) {
    useHttp2();
    return true;
  }
  context_.stats.httpDownstreamCxHttp1Total.inc();
  return true;
}

void HttpConnectionManager::useHttp2() {
  MESHD_LOG(logger(), debug, "HTTP/2 connection from {}", context_.peerAddress);
  context_.stats.httpDownstreamCxHttp2Total.inc();
  codec_ = std::make_unique<Http2ServerConnection>(context_, *socket_);
  codec_->start();
}

void HttpConnectionManager::onReadable(core::Buffer& input, bool eof) {
  if (sniffing_) {
    if (!pickCodec(input, eof)) {
      return;
    }
    sniffing_ = false;
  }
  codec_->onReadable(input, eof);
}

void HttpConnectionManager::onWriteDrained() {
  codec_->onWriteDrained();
}

void HttpConnectionManager::onSocketError() {
  codec_->onSocketError();
}

void HttpConnectionManager::endDrain() {
  codec_->endDrain();
}

} // namespace meshd::proxy::http
