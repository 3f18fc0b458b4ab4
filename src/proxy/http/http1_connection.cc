// Http1ServerConnection (http1_connection.h).
#include "proxy/http/http1_connection.h"

#include "core/logging.h"
#include "proxy/http/http1/serializer.h"
#include "proxy/http/stream_info.h"

namespace meshd::proxy::http {
namespace {

spdlog::logger& logger() {
  static spdlog::logger& instance = log::get("http");
  return instance;
}

} // namespace

Http1ServerConnection::Http1ServerConnection(ConnectionContext& context,
                                             network::StreamSocket& socket)
    : context_(context), socket_(socket),
      parser_(http1::MessageParser::Kind::kRequest, *this,
              http1::ParserLimits{context.config.maxRequestHeadersBytes,
                                  context.config.maxHeadersCount}),
      idleTimers_(context.worker.loop, core::RealTimeSource::instance(), *this,
                  context.config.idleTimeout) {}

Http1ServerConnection::~Http1ServerConnection() {
  if (stream_) {
    context_.stats.httpDownstreamRqActive.dec();
  }
}

void Http1ServerConnection::start() {
  idleTimers_.connectionIdle();
}

void Http1ServerConnection::onReadable(core::Buffer& input, bool eof) {
  idleTimers_.streamActivity();
  parseMore(input);
  if (eof && stream_ && exchange_.tunnel) {
    closeConnection(); // the client ended the tunnel
    return;
  }
  if (eof && !closing_) {
    if (stream_) {
      // The client went away (or half-closed: as Envoy's connection manager, which does not keep
      // half-closed connections, that ends it) with a request in progress, whether still being
      // sent, waiting for a pooled connection or for its response. The request is abandoned:
      // closeConnection() takes a waiting one out of the pool's queue and resets an active one,
      // so the upstream never sees a request nobody waits for.
      context_.stats.httpDownstreamCxDestroyRemoteActiveRq.inc();
      stream_->addResponseFlag(kDownstreamConnectionTermination);
    }
    closeConnection();
  }
}

void Http1ServerConnection::parseMore(core::Buffer& input) {
  using Result = http1::MessageParser::Result;
  while (!closing_ && !input.empty()) {
    if (stream_ && exchange_.tunnel) {
      forwardTunnelBytes(input);
      return;
    }
    if (stream_ && exchange_.requestComplete) {
      // Pipelined bytes wait until the current response is done; stop reading meanwhile so a
      // client cannot make us buffer without bound.
      socket_.pauseReading();
      readingPausedForResponse_ = true;
      return;
    }
    const Result result = parser_.parse(input);
    switch (result) {
    case Result::kNeedMore: return;
    case Result::kMessageDone: continue;
    case Result::kUpgrade:
      if (declinedUpgrade_) {
        parser_.resumeAfterUpgrade(); // still HTTP/1.1 on this connection
        continue;
      }
      if (stream_ && !exchange_.upgrade.empty() && stream_->hasUpstream()) {
        exchange_.tunnel = true; // what follows the head goes to the upstream as is
        forwardTunnelBytes(input);
        return;
      }
      // CONNECT, or an upgrade that was refused: what follows is not HTTP.
      if (stream_) {
        exchange_.closeAfterResponse = true;
      }
      if (stream_ && !stream_->responseStarted()) {
        stream_->sendLocalReply(404, "", kNoRouteFound);
      }
      input.clear();
      return;
    case Result::kError: protocolError(parser_.error()); return;
    }
  }
}

void Http1ServerConnection::forwardTunnelBytes(core::Buffer& input) {
  if (input.empty() || !stream_->hasUpstream()) {
    input.clear();
    return;
  }
  const std::string bytes = input.toString();
  input.clear();
  stream_->decodeData(bytes, false);
}

void Http1ServerConnection::protocolError(const http1::ParseError& error) {
  context_.stats.httpDownstreamCxProtocolError.inc();
  MESHD_LOG(logger(), debug, "downstream protocol error from {}: {} ({})", context_.peerAddress,
            error.status, error.detail);
  if (stream_ && stream_->responseStarted()) {
    closeConnection();
    return;
  }
  if (!stream_) {
    startStream();
  }
  exchange_.closeAfterResponse = true;
  // Nothing of a malformed request may reach the upstream, not even a head already queued.
  stream_->cancelUpstream();
  stream_->sendLocalReply(error.status, "", kDownstreamProtocolError);
}

void Http1ServerConnection::startStream() {
  stream_ = std::make_unique<ActiveStream>(context_, *this);
  exchange_ = Exchange{};
  context_.stats.httpDownstreamRqActive.inc();
}

void Http1ServerConnection::onHead(HeaderMap&& headers, bool end_stream) {
  startStream();
  exchange_.requestComplete = end_stream;
  exchange_.headRequest = headers.method() == "HEAD";
  declinedUpgrade_ = false;
  idleTimers_.streamStarted(context_.config.streamIdleTimeout);
  if (context_.listenerOutdated()) {
    exchange_.closeAfterResponse = true; // the listener drains: this response is its last
  }
  if (++requestCount_ == context_.config.maxRequestsPerConnection) {
    context_.stats.httpDownstreamCxMaxRequestsReached.inc();
    exchange_.closeAfterResponse = true; // answered with Connection: close, then closed
  }
  applyConnectionRules(headers);
  const server::OverloadManager* overload = context_.worker.overload;
  if (overload != nullptr && overload->active(server::OverloadAction::kDisableHttpKeepalive) &&
      !exchange_.closeAfterResponse) {
    context_.stats.httpDownstreamCxOverloadDisableKeepalive.inc();
    exchange_.closeAfterResponse = true;
  }
  std::string upgrade = takeUpgrade(headers);
  // The stream may answer at once, which ends it here (stream_ is then reset).
  stream_->decodeHeaders(std::move(headers), end_stream, std::move(upgrade));
}

void Http1ServerConnection::applyConnectionRules(HeaderMap& request) {
  if (parser_.httpMinor() == 0 && !request.has("connection")) {
    exchange_.closeAfterResponse = true; // HTTP/1.0 without keep-alive
  }
  if (const auto connection = request.get("connection");
      connection && toLower(*connection) == "close") {
    exchange_.closeAfterResponse = true;
  }
  // Expect: 100-continue is answered here (Envoy's default) and not forwarded.
  if (const auto expect = request.get("expect");
      expect && toLower(*expect) == "100-continue" && parser_.httpMinor() == 1) {
    core::Buffer interim("HTTP/1.1 100 Continue\r\n\r\n");
    socket_.write(interim);
    request.remove("expect");
  }
}

std::string Http1ServerConnection::takeUpgrade(HeaderMap& request) {
  if (request.method() == "CONNECT") {
    exchange_.closeAfterResponse = true; // no CONNECT support: nothing after it is HTTP
    return {};
  }
  const auto upgrade = request.get("upgrade");
  if (!upgrade) {
    return {};
  }
  std::string type = toLower(*upgrade);
  // Upgrade means something only when Connection lists it (RFC 9110 §7.8), as Envoy checks.
  const std::string connection = toLower(request.getJoined("connection").value_or(""));
  if (type == "h2c" || connection.find("upgrade") == std::string::npos) {
    // Declined (a cleartext HTTP/2 offer, or no Connection: upgrade): the request is served as
    // HTTP/1.1 without the offer, as Envoy does.
    declinedUpgrade_ = true; // the parser will stop at this head's end: resume it there
    request.remove("upgrade");
    request.remove("http2-settings");
    request.remove("connection");
    return {};
  }
  // The connection never returns to HTTP/1 after an upgrade (or its refusal).
  exchange_.closeAfterResponse = true;
  exchange_.upgrade = type;
  return type;
}

void Http1ServerConnection::onBody(std::string_view data) {
  if (stream_) {
    stream_->decodeData(data, false);
  }
}

void Http1ServerConnection::onComplete() {
  if (!stream_) {
    return;
  }
  exchange_.requestComplete = true;
  stream_->decodeData("", true);
}

void Http1ServerConnection::encodeHead(HeaderMap& headers, bool end_stream) {
  const int status = headers.status();
  if (status == 101 && !exchange_.upgrade.empty()) {
    // The upstream accepted the upgrade: relay its 101 with the upgrade fields, then bytes.
    headers.set("connection", "upgrade");
    headers.set("upgrade", exchange_.upgrade);
    exchange_.tunnel = true;
    core::Buffer out;
    http1::encodeResponseHead(headers, false, out);
    socket_.write(out);
    if (readingPausedForResponse_) {
      readingPausedForResponse_ = false;
      socket_.resumeReading(); // bytes the client sent after its request head flow now
    }
    return;
  }
  const bool bodiless =
      exchange_.headRequest || status == 204 || status == 304 || (status >= 100 && status < 200);
  if (!bodiless && !headers.has("content-length")) {
    if (end_stream) {
      headers.add("content-length", "0");
    } else if (parser_.httpMinor() == 1) {
      exchange_.responseChunked = true;
    } else {
      exchange_.closeAfterResponse = true; // HTTP/1.0: the body ends when the connection does
    }
  }
  if (exchange_.closeAfterResponse || !exchange_.requestComplete || closing_) {
    exchange_.closeAfterResponse = true;
    headers.set("connection", "close");
  }
  core::Buffer out;
  http1::encodeResponseHead(headers, exchange_.responseChunked, out);
  socket_.write(out);
}

void Http1ServerConnection::encodeData(std::string_view data, bool end_stream) {
  if (!data.empty()) {
    core::Buffer out;
    if (exchange_.responseChunked) {
      http1::encodeChunk(data, out);
    } else {
      out.add(data);
    }
    socket_.write(out);
  }
  if (!end_stream) {
    return;
  }
  if (exchange_.responseChunked) {
    core::Buffer out;
    http1::encodeLastChunk(out);
    socket_.write(out);
  }
  endStream();
}

void Http1ServerConnection::encodeTrailers(HeaderMap&& /*trailers*/) {
  encodeData("", true); // HTTP/1 responses carry no trailers here: they are dropped
}

void Http1ServerConnection::resetStream() {
  closeConnection();
}

bool Http1ServerConnection::responseBufferFull() const {
  return socket_.bytesQueued() > context_.listener.perConnectionBufferLimitBytes;
}

void Http1ServerConnection::pauseRequestBody() {
  socket_.pauseReading();
}

void Http1ServerConnection::resumeRequestBody() {
  if (!closing_ && !readingPausedForResponse_) {
    socket_.resumeReading();
  }
}

void Http1ServerConnection::endStream() {
  if (!stream_) {
    return;
  }
  const bool close = exchange_.closeAfterResponse || !exchange_.requestComplete;
  // The stream is still running the call that ended it.
  context_.worker.loop.deferredDelete(std::move(stream_));
  context_.stats.httpDownstreamRqActive.dec();
  // A client that half-closed cannot send another request: finish the connection.
  if (close || !parser_.keepAlive() || socket_.peerClosed()) {
    closing_ = true;
    idleTimers_.stop();
    socket_.closeAfterFlush();
    return;
  }
  idleTimers_.connectionIdle();
  if (readingPausedForResponse_) {
    readingPausedForResponse_ = false;
    socket_.resumeReading(); // hands over pipelined bytes already read
  }
}

void Http1ServerConnection::closeConnection() {
  if (closing_) {
    return;
  }
  closing_ = true;
  idleTimers_.stop();
  if (stream_) {
    stream_->onDownstreamReset();
  }
  socket_.close();
}

void Http1ServerConnection::onWriteDrained() {
  idleTimers_.streamActivity();
  if (stream_) {
    stream_->onResponseDrained();
  }
}

void Http1ServerConnection::onSocketError() {
  if (stream_) {
    stream_->addResponseFlag(kDownstreamConnectionTermination);
  }
  closeConnection();
}

void Http1ServerConnection::endDrain() {
  if (stream_ && !exchange_.tunnel) {
    exchange_.closeAfterResponse = true;
    return;
  }
  closeConnection();
}

void Http1ServerConnection::onConnectionIdleTimeout() {
  context_.stats.httpDownstreamCxIdleTimeout.inc();
  closing_ = true;
  socket_.closeAfterFlush();
}

void Http1ServerConnection::onStreamIdleTimeout() {
  if (!stream_ || exchange_.tunnel) {
    context_.stats.httpDownstreamRqIdleTimeout.inc();
    closeConnection(); // too late for a status: reset
    return;
  }
  // The request may be unfinished: the connection closes after the 408.
  exchange_.closeAfterResponse = true;
  stream_->onIdleTimeout();
}

} // namespace meshd::proxy::http
