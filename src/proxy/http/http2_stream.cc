// Http2ServerStream (http2_stream.h).
#include "proxy/http/http2_stream.h"

#include "core/logging.h"
#include "proxy/http/http2_connection.h"
#include "proxy/http/stream_info.h"

namespace meshd::proxy::http {
namespace {

spdlog::logger& logger() {
  static spdlog::logger& instance = log::get("http");
  return instance;
}

// HTTP/2 requests carry :authority (the codec takes it from a Host field when missing, and joins
// split cookies). A Host field itself goes, as the HTTP/1 codec does, so that routing and an
// HTTP/1.1 upstream see one authority.
void dropHost(HeaderMap& headers) {
  if (const auto host = headers.get("host")) {
    if (!headers.has(":authority")) {
      headers.add(":authority", std::string(*host));
    }
    headers.remove("host");
  }
}

} // namespace

Http2ServerStream::Http2ServerStream(Http2ServerConnection& connection, int32_t id)
    : connection_(connection), id_(id),
      idleTimer_(connection.context().worker.loop, core::RealTimeSource::instance(), *this,
                 std::chrono::milliseconds(0)) {
  idleTimer_.streamStarted(connection.context().config.streamIdleTimeout);
}

Http2ServerStream::~Http2ServerStream() {
  if (counted_) {
    connection_.context().stats.httpDownstreamRqActive.dec();
  }
}

void Http2ServerStream::onHead(HeaderMap&& headers, bool end_stream) {
  ConnectionContext& context = connection_.context();
  active_ = std::make_unique<ActiveStream>(context, *this);
  counted_ = true;
  context.stats.httpDownstreamRqActive.inc();
  dropHost(headers);
  // Expect: 100-continue is answered here (as on HTTP/1) and not forwarded.
  if (const auto expect = headers.get("expect"); expect && toLower(*expect) == "100-continue") {
    HeaderMap interim;
    interim.add(":status", "100");
    (void)connection_.session().respond(id_, interim, false);
    headers.remove("expect");
  }
  active_->decodeHeaders(std::move(headers), end_stream);
}

void Http2ServerStream::onData(std::string_view data, bool end_stream) {
  idleTimer_.streamActivity();
  unconsumed_ += data.size();
  if (active_) {
    active_->decodeData(data, end_stream);
  }
  consumeTaken();
}

void Http2ServerStream::onTrailers(HeaderMap&& trailers) {
  if (active_) {
    active_->decodeTrailers(std::move(trailers));
  }
}

void Http2ServerStream::consumeTaken() {
  if (gone_) {
    return;
  }
  const size_t pending = active_ ? active_->pendingRequestBytes() : 0;
  if (unconsumed_ > pending) {
    connection_.session().consume(id_, unconsumed_ - pending);
    unconsumed_ = pending;
  }
}

void Http2ServerStream::onClose(const http2::StreamClose& close) {
  MESHD_LOG(logger(), debug, "stream {} closed (error {}{}{})", id_, close.errorCode,
            close.resetByPeer ? ", reset by the client" : "",
            close.connectionLost ? ", connection lost" : "");
  gone_ = true;
  ConnectionContext& context = connection_.context();
  if (active_ && !active_->done()) {
    // The client reset the stream, or the connection went away, before the response ended.
    if (close.resetByPeer) {
      context.stats.httpDownstreamRqRxReset.inc();
    }
    active_->addResponseFlag(kDownstreamConnectionTermination);
    active_->onDownstreamReset();
  }
  if (unconsumed_ > 0) {
    connection_.session().discard(id_);
  }
  responseEnded();
  connection_.removeStream(id_);
}

void Http2ServerStream::onSendDrained() {
  // The session reports this from inside whatever call emptied the queue, often our own
  // encodeData running inside the upstream's parser: resuming that upstream there would re-enter
  // it. The resume runs from the event loop instead.
  connection_.resumeStreamLater(id_);
}

void Http2ServerStream::onSocketDrained() {
  if (active_) {
    active_->onResponseDrained();
  }
}

void Http2ServerStream::encodeHead(HeaderMap& headers, bool end_stream) {
  if (gone_) {
    return;
  }
  MESHD_LOG(logger(), debug, "stream {}: response {}{}", id_, headers.status(),
            end_stream ? " (no body)" : "");
  if (const absl::Status status = connection_.session().respond(id_, headers, end_stream);
      !status.ok()) {
    MESHD_LOG(logger(), debug, "stream {}: response head not sent ({}); resetting", id_,
              std::string(status.message()));
    connection_.context().stats.httpDownstreamRqTxReset.inc();
    reset(NGHTTP2_INTERNAL_ERROR);
  }
}

void Http2ServerStream::encodeData(std::string_view data, bool end_stream) {
  if (!gone_ && (!data.empty() || end_stream)) {
    connection_.session().sendData(id_, data, end_stream);
  }
  if (end_stream) {
    responseEnded();
  }
}

void Http2ServerStream::encodeTrailers(HeaderMap&& trailers) {
  if (!gone_) {
    if (trailers.empty()) {
      connection_.session().sendData(id_, std::string_view(), true);
    } else {
      connection_.session().sendTrailers(id_, trailers);
    }
  }
  responseEnded();
}

void Http2ServerStream::resetStream() {
  connection_.context().stats.httpDownstreamRqTxReset.inc();
  reset(NGHTTP2_INTERNAL_ERROR);
}

bool Http2ServerStream::responseBufferFull() const {
  const size_t queued = gone_ ? 0 : connection_.session().queuedBytes(id_);
  return queued + connection_.socketBytesQueued() >
         connection_.context().listener.perConnectionBufferLimitBytes;
}

void Http2ServerStream::onStreamIdleTimeout() {
  if (active_ && !active_->done()) {
    active_->onIdleTimeout(); // 408, or a reset once the response started
    return;
  }
  // The response went out but the request never ended: stop waiting for it.
  connection_.context().stats.httpDownstreamRqIdleTimeout.inc();
  reset(NGHTTP2_NO_ERROR);
}

void Http2ServerStream::responseEnded() {
  if (counted_) {
    counted_ = false;
    connection_.context().stats.httpDownstreamRqActive.dec();
  }
  // What the client still sends of its request is read and dropped from now on; bytes held for
  // an upstream that is gone must not keep its windows shut.
  consumeTaken();
}

void Http2ServerStream::reset(uint32_t error_code) {
  if (gone_) {
    return;
  }
  gone_ = true;
  idleTimer_.stop();
  if (active_ && !active_->done()) {
    active_->onDownstreamReset();
  }
  connection_.session().resetStream(id_, error_code);
  responseEnded();
  connection_.removeStream(id_);
}

} // namespace meshd::proxy::http
