// Http2ServerConnection (http2_connection.h).
#include "proxy/http/http2_connection.h"

#include <vector>

#include "core/logging.h"
#include "proxy/http/http2_stream.h"
#include "proxy/http/stream_info.h"

namespace meshd::proxy::http {
namespace {

spdlog::logger& logger() {
  static spdlog::logger& instance = log::get("http");
  return instance;
}

// What we announce and enforce: the connection manager's http2_protocol_options and its header
// limits (max_request_headers_kb, max_headers_count), which the session applies to header blocks.
http2::SessionSettings sessionSettings(const config::HttpConnectionManagerConfig& config) {
  http2::SessionSettings settings;
  settings.maxConcurrentStreams = config.http2.maxConcurrentStreams;
  settings.initialStreamWindowSize = config.http2.initialStreamWindowSize;
  settings.initialConnectionWindowSize = config.http2.initialConnectionWindowSize;
  settings.maxHeaderListSize = static_cast<uint32_t>(config.maxRequestHeadersBytes);
  settings.maxHeaderCount = config.maxHeadersCount;
  return settings;
}

} // namespace

Http2ServerConnection::Http2ServerConnection(ConnectionContext& context,
                                             network::StreamSocket& socket)
    : context_(context), socket_(socket), session_(*this, sessionSettings(context.config)),
      idleTimer_(context.worker.loop, core::RealTimeSource::instance(), *this,
                 context.config.idleTimeout) {}

Http2ServerConnection::~Http2ServerConnection() = default;

void Http2ServerConnection::start() {
  session_.start();
  idleTimer_.connectionIdle();
}

void Http2ServerConnection::onReadable(core::Buffer& input, bool eof) {
  if (closing_) {
    input.clear();
    return;
  }
  if (!session_.receive(input)) {
    // A connection error (a bad preface, a protocol violation, a flood): the session queued
    // GOAWAY and reports its end.
    countProtocolError();
  }
  input.clear();
  if (goAwayPending_ && !closing_) {
    goAwayPending_ = false;
    shutdownGracefully();
  }
  if (eof && !closing_) {
    connectionLost(); // the client closed: its streams can get no answer
  }
}

void Http2ServerConnection::onWriteDrained() {
  // Every stream may write again. A stream may end meanwhile and leave the map: walk the ids.
  std::vector<int32_t> ids;
  ids.reserve(streams_.size());
  for (const auto& entry : streams_) {
    ids.push_back(entry.first);
  }
  for (const int32_t id : ids) {
    if (const auto found = streams_.find(id); found != streams_.end()) {
      found->second->onSocketDrained();
    }
  }
}

void Http2ServerConnection::resumeStreamLater(int32_t stream_id) {
  context_.worker.loop.post([this, alive = std::weak_ptr<bool>(alive_), stream_id] {
    if (alive.expired()) {
      return;
    }
    if (const auto found = streams_.find(stream_id); found != streams_.end()) {
      found->second->onSocketDrained();
    }
  });
}

void Http2ServerConnection::onSocketError() {
  connectionLost();
}

void Http2ServerConnection::endDrain() {
  shutdownGracefully();
}

void Http2ServerConnection::shutdownGracefully() {
  if (closing_) {
    return;
  }
  shutdownRequested_ = true;
  MESHD_LOG(logger(), debug, "HTTP/2 connection from {}: GOAWAY, {} open streams",
            context_.peerAddress, streams_.size());
  if (!session_.goingAway()) {
    session_.shutdownGracefully();
  }
  if (streams_.empty() && !closing_) {
    closing_ = true; // nothing to wait for: the GOAWAY goes, then the connection
    idleTimer_.stop();
    socket_.closeAfterFlush();
  }
}

http2::StreamHandler* Http2ServerConnection::onNewStream(int32_t stream_id) {
  if (closing_) {
    return nullptr;
  }
  MESHD_LOG(logger(), debug, "HTTP/2 stream {} from {}", stream_id, context_.peerAddress);
  auto stream = std::make_unique<Http2ServerStream>(*this, stream_id);
  Http2ServerStream* handler = stream.get();
  streams_[stream_id] = std::move(stream);
  idleTimer_.streamStarted(std::chrono::milliseconds(0)); // each stream keeps its own timeout
  // What ends an HTTP/1 connection after its response ends this one after its open streams
  // (GOAWAY once the session's call returns, so that this stream counts as processed).
  if (context_.listenerOutdated()) {
    goAwayPending_ = true; // the listener drains
  }
  if (++requestCount_ == context_.config.maxRequestsPerConnection) {
    context_.stats.httpDownstreamCxMaxRequestsReached.inc();
    goAwayPending_ = true;
  }
  const server::OverloadManager* overload = context_.worker.overload;
  if (overload != nullptr && overload->active(server::OverloadAction::kDisableHttpKeepalive) &&
      !goAwayPending_ && !session_.goingAway()) {
    context_.stats.httpDownstreamCxOverloadDisableKeepalive.inc();
    goAwayPending_ = true;
  }
  return handler;
}

void Http2ServerConnection::removeStream(int32_t stream_id) {
  const auto found = streams_.find(stream_id);
  if (found == streams_.end()) {
    return;
  }
  context_.worker.loop.deferredDelete(std::move(found->second));
  streams_.erase(found);
  if (streams_.empty() && !closing_) {
    idleTimer_.connectionIdle();
  }
}

void Http2ServerConnection::onOutput(core::Buffer& data) {
  if (socket_.open()) {
    socket_.write(data);
  }
  data.clear();
}

void Http2ServerConnection::countProtocolError() {
  if (protocolErrorCounted_) {
    return;
  }
  protocolErrorCounted_ = true;
  context_.stats.httpDownstreamCxProtocolError.inc();
  MESHD_LOG(logger(), debug, "HTTP/2 connection error from {}", context_.peerAddress);
}

void Http2ServerConnection::onSessionDone() {
  if (closing_) {
    return;
  }
  // Neither side asked to end: nghttp2 ended the session over a connection error it answered
  // with GOAWAY itself (e.g. no SETTINGS after the preface).
  if (!shutdownRequested_ && !session_.goAwayReceived()) {
    countProtocolError();
  }
  closing_ = true;
  idleTimer_.stop();
  MESHD_LOG(logger(), debug, "HTTP/2 connection from {} done", context_.peerAddress);
  socket_.closeAfterFlush();
}

void Http2ServerConnection::onConnectionIdleTimeout() {
  context_.stats.httpDownstreamCxIdleTimeout.inc();
  shutdownGracefully();
}

void Http2ServerConnection::connectionLost() {
  if (closing_ && !socket_.open()) {
    return;
  }
  closing_ = true;
  idleTimer_.stop();
  if (!streams_.empty()) {
    context_.stats.httpDownstreamCxDestroyRemoteActiveRq.inc();
  }
  session_.closeAllStreams(); // each open stream's onClose abandons its request
  socket_.close();
}

} // namespace meshd::proxy::http
