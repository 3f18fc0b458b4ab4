// Http2ServerStream: one request stream of an HTTP/2 downstream connection. It is the codec's
// StreamHandler (request head, body, trailers, close) and the ActiveStream's ResponseEncoder
// (response head, body, trailers, RST_STREAM). Flow control is the request body's back-pressure:
// received bytes are consumed (their window reopened) only once the upstream took them. Each
// stream has its own stream idle timeout.
#pragma once

#include <cstdint>
#include <memory>

#include "core/event_loop.h"
#include "proxy/http/active_stream.h"
#include "proxy/http/http2/stream_handler.h"
#include "proxy/http/idle_timers.h"
#include "proxy/http/response_encoder.h"

namespace meshd::proxy::http {

class Http2ServerConnection;

// Destroyed through EventLoop::deferredDelete (it ends from inside its own callbacks).
class Http2ServerStream : public http2::StreamHandler,
                          public ResponseEncoder,
                          public IdleTimers::Callbacks,
                          public core::DeferredDeletable {
public:
  Http2ServerStream(Http2ServerConnection& connection, int32_t id);
  ~Http2ServerStream() override;

  // The socket, or this stream's send queue, can take response bytes again.
  void onSocketDrained();

private:
  // StreamHandler
  void onHead(HeaderMap&& headers, bool end_stream) override;
  void onData(std::string_view data, bool end_stream) override;
  void onTrailers(HeaderMap&& trailers) override;
  void onClose(const http2::StreamClose& close) override;
  void onSendDrained() override;
  // ResponseEncoder
  void encodeHead(HeaderMap& headers, bool end_stream) override;
  void encodeData(std::string_view data, bool end_stream) override;
  void encodeTrailers(HeaderMap&& trailers) override;
  void resetStream() override;
  bool responseBufferFull() const override;
  void pauseRequestBody() override {}
  void resumeRequestBody() override { consumeTaken(); }
  void streamActivity() override { idleTimer_.streamActivity(); }
  void setStreamIdleTimeout(std::chrono::milliseconds timeout) override {
    idleTimer_.setStreamIdleTimeout(timeout);
  }
  bool http2() const override { return true; }
  // IdleTimers::Callbacks
  void onConnectionIdleTimeout() override {}
  void onStreamIdleTimeout() override;

  // Opens the windows for the request bytes the upstream took (all of them once the request was
  // answered locally).
  void consumeTaken();
  // The response ended (or the stream was reset): the request stops counting as active.
  void responseEnded();
  // Resets the stream with `error_code` and lets the connection forget it.
  void reset(uint32_t error_code);

  Http2ServerConnection& connection_;
  const int32_t id_;
  IdleTimers idleTimer_;
  std::unique_ptr<ActiveStream> active_;
  size_t unconsumed_ = 0; // request bytes handed to the ActiveStream, not consumed yet
  bool counted_ = false;  // counted in downstream_rq_active
  bool gone_ = false;     // reset by us or closed: no more session calls for it
};

} // namespace meshd::proxy::http
